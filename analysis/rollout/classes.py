"""Target villages and the ministry's classes of villages still without mobile service.

Decision 2269/QĐ-TTg and Circular 14/2022/TT-BTTTT aim at mobile service for 100 % of the
villages *with grid power*; the provincial reports count villages without mobile broadband
(trắng sóng băng rộng di động). :func:`classify_villages` first picks the *target* villages
at the analysis date (``settings.as_of``), by ``settings.rollout_target``:

``no-signal``
    no signal of any technology still in service at the centre (``status_any``);
``no-broadband`` (default)
    no 3G/4G/5G signal (those of them still in service) at the centre;
``no-4g``
    no 4G or 5G signal at the centre.

A target village is judged on the best of those technologies' per-technology status (its
centre covered by one of them → not ``trang``); with ``include_lom=True`` villages where
none of them gives phủ sóng (only lõm) are targets too.

Then every target village goes in one class, by the rule written in its ``class_rule``
column (DESIGN §5):

``quy_vtci`` — rule ``grid_extremely_difficult``
    grid power and an extremely difficult (đặc biệt khó khăn) area → stations paid by the
    public-utility telecom fund (Quỹ Dịch vụ viễn thông công ích), by tender;
    rule ``grid_border`` only when ``settings.border_counts_as_difficult`` (off by default):
    grid power and a border area count as difficult too;
``doanh_nghiep`` — rule ``grid_elsewhere``
    grid power elsewhere → the operators' own investment plans;
``cho_dien`` — rule ``no_grid``
    no grid power → wait for the grid ("điện tới đâu, viễn thông tới đó");
``chua_ro_dien`` — rule ``grid_unknown``
    grid power not recorded (empty, NaN, "unknown") → a class of its own, to be surveyed:
    real data often lacks the field, and a missing value is not "no grid".
"""

from __future__ import annotations

import logging
import unicodedata

import numpy as np
import pandas as pd

from phusong.gis.errors import SchemaError
from phusong.layers.settings import DEFAULT, Settings, in_service_techs
from phusong.layers.validate import as_bool, parse_bool

logger = logging.getLogger(__name__)

__all__ = ["CLASSES", "CLASS_LABELS", "CLASS_RULES", "TARGETS", "TARGET_LABELS",
           "class_counts", "class_label", "classify_villages", "grid_power_state",
           "target_label", "target_techs"]

#: class ids in reporting order
CLASSES: tuple[str, ...] = ("quy_vtci", "doanh_nghiep", "cho_dien", "chua_ro_dien")

#: class id → (Vietnamese, English) label
CLASS_LABELS: dict[str, tuple[str, str]] = {
    "quy_vtci": ("Quỹ Dịch vụ viễn thông công ích (có điện lưới, vùng đặc biệt khó khăn)",
                 "Public-utility telecom fund (grid power, extremely difficult area)"),
    "doanh_nghiep": ("Doanh nghiệp tự đầu tư (có điện lưới)",
                     "Operators' own plans (grid power)"),
    "cho_dien": ("Chờ điện lưới", "Waiting for grid power"),
    "chua_ro_dien": ("Chưa rõ có điện lưới (cần khảo sát)",
                     "Grid power unknown (to be surveyed)"),
}

#: rule id → (Vietnamese, English) wording of the rule that put a village in its class
CLASS_RULES: dict[str, tuple[str, str]] = {
    "grid_extremely_difficult": ("Có điện lưới và thuộc vùng đặc biệt khó khăn → Quỹ VTCI",
                                 "Grid power and extremely difficult area → fund"),
    "grid_border": ("Có điện lưới và thuộc khu vực biên giới (tùy chọn "
                    "border_counts_as_difficult) → Quỹ VTCI",
                    "Grid power and border area (setting border_counts_as_difficult) → fund"),
    "grid_elsewhere": ("Có điện lưới, không thuộc vùng đặc biệt khó khăn → doanh nghiệp",
                       "Grid power, not an extremely difficult area → operator's own plan"),
    "no_grid": ("Chưa có điện lưới → chờ điện lưới", "No grid power → wait for the grid"),
    "grid_unknown": ("Không có dữ liệu điện lưới → nhóm riêng, cần khảo sát",
                     "Grid power not recorded → own class, to be surveyed"),
}

#: target setting → technologies whose signal takes a village off the target list
TARGETS: dict[str, tuple[str, ...]] = {
    "no-signal": ("2G", "3G", "4G", "5G"),
    "no-broadband": ("3G", "4G", "5G"),
    "no-4g": ("4G", "5G"),
}

#: target setting → (Vietnamese, English) definition
TARGET_LABELS: dict[str, tuple[str, str]] = {
    "no-signal": ("Thôn chưa có sóng di động (mọi công nghệ còn hoạt động)",
                  "Villages with no mobile signal (any technology in service)"),
    "no-broadband": ("Thôn chưa có băng rộng di động (3G/4G/5G còn hoạt động)",
                     "Villages with no mobile broadband (3G/4G/5G in service)"),
    "no-4g": ("Thôn chưa có sóng 4G (4G/5G)", "Villages with no 4G (4G/5G)"),
}

_FLAGS = ("has_grid_power", "extremely_difficult", "border_area")
_RANK = {"trang": 0, "lom": 1, "phu": 2}


def class_label(class_id: str, language: str = "vi") -> str:
    """Label of a class in Vietnamese (``"vi"``) or English (``"en"``)."""
    vi, en = CLASS_LABELS[class_id]
    return unicodedata.normalize("NFC", vi if language == "vi" else en)


def target_label(target: str, language: str = "vi") -> str:
    """Definition of a target setting in Vietnamese (``"vi"``) or English (``"en"``)."""
    vi, en = TARGET_LABELS[target]
    return vi if language == "vi" else en


def grid_power_state(s: pd.Series) -> np.ndarray:
    """Grid power as 1 (yes), 0 (no) or -1 (not recorded: empty, NaN, None, unreadable text),
    read by the one yes/no parser (:func:`layers.validate.parse_bool`)."""
    if s.dtype == bool:
        return np.where(s.to_numpy(), 1, 0).astype(np.int8)
    flags = [parse_bool(v)[0] for v in s.tolist()]
    return np.array([-1 if f is None else int(f) for f in flags], dtype=np.int8)


def target_techs(settings: Settings = DEFAULT) -> tuple[str, ...]:
    """Technologies, in service at ``settings.as_of_date()``, whose signal takes a village off
    the target list of ``settings.rollout_target``."""
    on = in_service_techs(settings)
    return tuple(t for t in TARGETS[settings.rollout_target] if t in on)


def _target_status(status: pd.DataFrame, settings: Settings) -> pd.Series:
    """Best status over the target's technologies (``trang`` when none is in service)."""
    if settings.rollout_target == "no-signal":
        return status["status_any"]
    techs = target_techs(settings)
    cols = [f"status_any_{t}" for t in techs]
    missing = [c for c in cols if c not in status.columns]
    if missing:
        raise SchemaError(f"status: missing column(s) {', '.join(missing)} for target "
                          f"{settings.rollout_target!r}; pass analysis.status.village_status "
                          "output or use rollout_target='no-signal'")
    if not cols:
        return pd.Series("trang", index=status.index)
    ranks = np.max(np.column_stack([status[c].map(_RANK).fillna(0).to_numpy(int)
                                    for c in cols]), axis=1)
    return pd.Series(np.array(["trang", "lom", "phu"], dtype=object)[ranks],
                     index=status.index)


def classify_villages(villages: pd.DataFrame, status: pd.DataFrame, *,
                      include_lom: bool = False, settings: Settings = DEFAULT
                      ) -> pd.DataFrame:
    """Pick the target villages and put each in the ministry's class, with its rule.

    Parameters
    ----------
    villages
        The villages layer (``village_id``, ``name``, ``commune_code``, ``population``,
        ``households``, ``has_grid_power``, ``extremely_difficult``, ``border_area``).
    status
        :func:`analysis.status.village_status` output, indexed by ``village_id``, with
        ``status_any`` and, for the broadband targets, ``status_any_<tech>``, each ∈
        {``trang``, ``lom``, ``phu``}.
    include_lom
        Target villages where the target technologies give only lõm too.
    settings
        ``rollout_target`` and ``as_of`` choose the targets; ``border_counts_as_difficult``
        adds the border rule; ``language`` chooses the label columns' language.

    Returns
    -------
    pandas.DataFrame
        One row per target village, indexed by ``village_id`` in the villages layer's order,
        with the village fields, ``status_any``, ``status_target`` (status over the target's
        technologies), ``rollout_class`` (a :data:`CLASSES` id), ``rollout_class_label``,
        ``class_rule`` (a :data:`CLASS_RULES` id) and ``class_rule_label``.
        ``has_grid_power`` is ``True``/``False``/``None`` (not recorded).

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
    st_all = status["status_any"].reindex(v.index)
    unknown = st_all.isna()
    if unknown.any():
        raise SchemaError(f"status: no status_any for village(s) "
                          f"{', '.join(map(str, v.index[unknown][:5]))}"
                          f"{' …' if unknown.sum() > 5 else ''}; recompute the status table "
                          "for this bundle")
    st = _target_status(status, settings).reindex(v.index).fillna("trang")
    gap_states = ("trang", "lom") if include_lom else ("trang",)
    gap = st.isin(gap_states).to_numpy()
    out = v.loc[gap, [c for c in ("village_id", "name", "commune_code", "population",
                                  "households", *_FLAGS) if c in v.columns]].copy()
    out.index.name = "village_id"
    out["status_any"] = st_all[gap].to_numpy()
    out["status_target"] = st[gap].to_numpy()
    grid_state = grid_power_state(out["has_grid_power"])
    for f in ("extremely_difficult", "border_area"):
        out[f] = as_bool(out[f]).astype(bool)
    out["has_grid_power"] = pd.array(np.where(grid_state < 0, None, grid_state == 1),
                                     dtype="boolean")
    difficult = out["extremely_difficult"].to_numpy()
    border = out["border_area"].to_numpy() & bool(settings.border_counts_as_difficult)
    rule = np.select(
        [grid_state < 0, grid_state == 0, difficult, border],
        ["grid_unknown", "no_grid", "grid_extremely_difficult", "grid_border"],
        default="grid_elsewhere")
    cls = pd.Series(rule).map({"grid_unknown": "chua_ro_dien", "no_grid": "cho_dien",
                               "grid_extremely_difficult": "quy_vtci",
                               "grid_border": "quy_vtci",
                               "grid_elsewhere": "doanh_nghiep"}).to_numpy()
    i = 0 if settings.language == "vi" else 1
    out["rollout_class"] = pd.Categorical(cls, categories=list(CLASSES))
    out["rollout_class_label"] = [class_label(c, settings.language) for c in cls]
    out["class_rule"] = rule
    out["class_rule_label"] = [CLASS_RULES[r][i] for r in rule]
    counts = out["rollout_class"].value_counts()
    logger.info("classified %d target villages (%s, as of %s): %s", len(out),
                settings.rollout_target, settings.as_of_date().isoformat(),
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
