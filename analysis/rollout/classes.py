"""The ministry's three classes of villages still without mobile service.

Decision 2269/QĐ-TTg and Circular 14/2022/TT-BTTTT aim at mobile service for 100 % of the
villages *with grid power*. The provincial reports count the remaining white villages
(thôn trắng sóng) in three groups, and so does :func:`classify_villages`:

``quy_vtci``
    grid power and an extremely difficult (đặc biệt khó khăn) or border area → stations paid
    by the public-utility telecom fund (Quỹ Dịch vụ viễn thông công ích), by tender;
``doanh_nghiep``
    grid power elsewhere → the operators' own investment plans;
``cho_dien``
    no grid power → wait for the grid ("điện tới đâu, viễn thông tới đó").

Only white villages are classified by default; ``include_lom=True`` adds the lõm villages
(signal at the centre, too little of the settled area covered).
"""

from __future__ import annotations

import logging
import unicodedata

import numpy as np
import pandas as pd

from phusong.gis.errors import SchemaError
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["CLASSES", "CLASS_LABELS", "as_bool", "class_counts", "class_label",
           "classify_villages"]

#: class ids in reporting order
CLASSES: tuple[str, ...] = ("quy_vtci", "doanh_nghiep", "cho_dien")

#: class id → (Vietnamese, English) label
CLASS_LABELS: dict[str, tuple[str, str]] = {
    "quy_vtci": ("Quỹ Dịch vụ viễn thông công ích (có điện lưới, vùng đặc biệt khó khăn/biên "
                 "giới)", "Public-utility telecom fund (grid power, extremely difficult or "
                 "border area)"),
    "doanh_nghiep": ("Doanh nghiệp tự đầu tư (có điện lưới)",
                     "Operators' own plans (grid power)"),
    "cho_dien": ("Chờ điện lưới", "Waiting for grid power"),
}

_FLAGS = ("has_grid_power", "extremely_difficult", "border_area")


def class_label(class_id: str, language: str = "vi") -> str:
    """Label of a class in Vietnamese (``"vi"``) or English (``"en"``)."""
    vi, en = CLASS_LABELS[class_id]
    return unicodedata.normalize("NFC", vi if language == "vi" else en)


def as_bool(s: pd.Series) -> pd.Series:
    """A flag column as booleans (accepts True/False, 1/0, and text such as 'true', 'có')."""
    if s.dtype == bool:
        return s
    text = s.astype(str).str.strip().str.lower()
    flag = text.isin(["true", "1", "yes", "y", "có", "co", "x"]) | (s == True)  # noqa: E712
    return flag.fillna(False).astype(bool)


def classify_villages(villages: pd.DataFrame, status: pd.DataFrame, *,
                      include_lom: bool = False, settings: Settings = DEFAULT
                      ) -> pd.DataFrame:
    """Put every white (optionally lõm) village in the ministry's class.

    Parameters
    ----------
    villages
        The villages layer (``village_id``, ``name``, ``commune_code``, ``population``,
        ``households``, ``has_grid_power``, ``extremely_difficult``, ``border_area``).
    status
        :func:`analysis.status.village_status` output, indexed by ``village_id``, with
        ``status_any`` ∈ {``trang``, ``lom``, ``phu``}.
    include_lom
        Classify lõm villages too.
    settings
        ``language`` chooses the label column's language.

    Returns
    -------
    pandas.DataFrame
        One row per gap village, indexed by ``village_id`` in the villages layer's order,
        with the village fields, ``status_any``, ``rollout_class`` (a :data:`CLASSES` id) and
        ``rollout_class_label``.

    Raises
    ------
    SchemaError
        If a needed column is missing.
    """
    need_v = ("village_id", "name", "commune_code", "population", *_FLAGS)
    missing = [c for c in need_v if c not in villages.columns]
    if "status_any" not in status.columns:
        missing.append("status_any (in the status table)")
    if missing:
        raise SchemaError(f"villages/status: missing column(s) {', '.join(missing)}; "
                          "pass the bundle's villages layer and analysis.status.village_status "
                          "output")
    v = pd.DataFrame(villages.drop(columns=getattr(villages, "_geometry_column_name", None)
                                   or [], errors="ignore")).set_index("village_id", drop=False)
    st = status["status_any"].reindex(v.index)
    unknown = st.isna()
    if unknown.any():
        raise SchemaError(f"status: no status_any for village(s) "
                          f"{', '.join(map(str, v.index[unknown][:5]))}"
                          f"{' …' if unknown.sum() > 5 else ''}; recompute the status table "
                          "for this bundle")
    gap_states = ("trang", "lom") if include_lom else ("trang",)
    gap = st.isin(gap_states).to_numpy()
    out = v.loc[gap, [c for c in ("village_id", "name", "commune_code", "population",
                                  "households", *_FLAGS) if c in v.columns]].copy()
    out.index.name = "village_id"
    out["status_any"] = st[gap].to_numpy()
    for f in _FLAGS:
        out[f] = as_bool(out[f]).astype(bool)
    grid = out["has_grid_power"].to_numpy()
    priority = (out["extremely_difficult"] | out["border_area"]).to_numpy()
    cls = np.where(~grid, "cho_dien", np.where(priority, "quy_vtci", "doanh_nghiep"))
    out["rollout_class"] = pd.Categorical(cls, categories=list(CLASSES))
    out["rollout_class_label"] = [class_label(c, settings.language) for c in cls]
    counts = out["rollout_class"].value_counts()
    logger.info("classified %d gap villages: %s", len(out),
                ", ".join(f"{c} {int(counts.get(c, 0))}" for c in CLASSES))
    return out


def class_counts(classes: pd.DataFrame, *, settings: Settings = DEFAULT) -> pd.DataFrame:
    """Villages, population and households per class (plus a total row).

    Returns
    -------
    pandas.DataFrame
        Indexed by class id (and ``"total"``), columns ``label``, ``villages``,
        ``population``, ``households``.
    """
    g = classes.groupby("rollout_class", observed=False)
    out = pd.DataFrame({
        "villages": g.size().reindex(list(CLASSES), fill_value=0),
        "population": g["population"].sum().reindex(list(CLASSES), fill_value=0),
    })
    if "households" in classes:
        out["households"] = g["households"].sum().reindex(list(CLASSES), fill_value=0)
    out = out.astype("int64")
    out.loc["total"] = out.sum()
    out.insert(0, "label", [class_label(c, settings.language) for c in CLASSES] +
               ["Tổng" if settings.language == "vi" else "Total"])
    out.index.name = "rollout_class"
    return out
