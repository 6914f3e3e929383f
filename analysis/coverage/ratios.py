"""Coverage ratios per province, district and commune, in the reports' own form.

The yearly reports count villages "with signal" (có sóng): every village that is not white
(trắng), i.e. ``phu`` or ``lom``; lõm villages have signal at their centre but not over their
whole settled area. So ``villages_with_signal = villages_total − villages_trang`` and an
operator's coverage ratio is its villages with signal over all villages ("Tỷ lệ phủ sóng
Viettel: 98%"). Population-weighted ratios divide the population of those villages by the
total population.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS, Operator
from phusong.layers.settings import DEFAULT, TECHNOLOGIES, Settings

logger = logging.getLogger(__name__)

__all__ = ["LEVELS", "coverage_lines", "coverage_ratios", "format_percent", "format_ratio"]

LEVELS = ("province", "district", "commune")


def format_ratio(n: int, total: int) -> str:
    """``"941/948"``."""
    return f"{int(n)}/{int(total)}"


def format_percent(ratio: float, *, digits: int = 0, language: str = "vi") -> str:
    """``0.9826 → "98%"``; Vietnamese uses a decimal comma (``"98,3%"``)."""
    if ratio is None or not np.isfinite(ratio):
        return "–"
    text = f"{100.0 * ratio:.{digits}f}"
    if language == "vi":
        text = text.replace(".", ",")
    return f"{text}%"


def _operators_in(status: pd.DataFrame) -> list[str]:
    known = [o.value for o in OPERATORS]
    present = {c[len("status_"):] for c in status.columns
               if c.startswith("status_") and c.count("_") == 1 and c != "status_any"}
    return [o for o in known if o in present] + sorted(present - set(known))


def _unit_keys(bundle: ProvinceBundle, status: pd.DataFrame, level: str) -> tuple[pd.Series, dict[str, str]]:
    """Unit code per village and unit names for ``level``."""
    admin = bundle.layer("admin_units") if bundle is not None else None
    names: dict[str, str] = {}
    parent: dict[str, str] = {}
    prov_code = ""
    if admin is not None and len(admin):
        codes = admin["code"].astype(str)
        names = dict(zip(codes, admin["name"].astype(str), strict=True))
        parent = dict(zip(codes, admin["parent_code"].astype(str), strict=True))
        prov = admin[admin["level"].astype(str) == "province"]
        if len(prov):
            prov_code = str(prov["code"].iloc[0])
    commune = status["commune_code"].astype(str)
    if level == "commune":
        return commune, names
    if level == "district":
        return commune.map(lambda c: parent.get(c, "?")), names
    if level == "province":
        code = prov_code or (bundle.meta.get("province_code", "") if bundle is not None else "")
        code = code or "province"
        if code not in names:
            names[code] = (bundle.province if bundle is not None and bundle.province
                           else code)
        return pd.Series(code, index=status.index), names
    raise ValueError(f"level={level!r}: use one of {LEVELS}")


def coverage_ratios(bundle: ProvinceBundle, status: pd.DataFrame, *, level: str = "province",
                    settings: Settings = DEFAULT) -> pd.DataFrame:
    """Villages with signal, per operator and technology, per administrative unit.

    Parameters
    ----------
    bundle
        The province bundle (its ``admin_units`` give names and the commune → district link).
    status
        :func:`analysis.status.village_status` output.
    level
        ``"province"``, ``"district"`` or ``"commune"``.

    Returns
    -------
    pandas.DataFrame
        Indexed by unit ``code``: ``name``, ``level``, ``villages_total``,
        ``villages_with_signal``, ``ratio_signal``, ``population_total``,
        ``ratio_pop_signal``, ``villages_phu``, ``villages_lom``, ``villages_trang``,
        ``covered_<op>``, ``ratio_<op>``, ``ratio_pop_<op>``, ``villages_<tech>`` (any operator's
        signal at the centre), ``villages_4g``, ``villages_internet``, ``ratio_internet``.
    """
    if level not in LEVELS:
        raise ValueError(f"level={level!r}: use one of {LEVELS}")
    keys, names = _unit_keys(bundle, status, level)
    pop = pd.to_numeric(status.get("population", pd.Series(0, index=status.index)),
                        errors="coerce").fillna(0.0)
    df = pd.DataFrame({"unit": keys.to_numpy(), "pop": pop.to_numpy()}, index=status.index)
    signal = status["status_any"] != "trang"
    df["signal"] = signal
    df["pop_signal"] = pop.where(signal, 0.0)
    df["phu"] = status["status_any"] == "phu"
    df["lom"] = status["status_any"] == "lom"
    df["trang"] = status["status_any"] == "trang"
    ops = _operators_in(status)
    for op in ops:
        cov = status[f"status_{op}"] != "trang"
        df[f"covered_{op}"] = cov
        df[f"pop_{op}"] = pop.where(cov, 0.0)
    for tech in TECHNOLOGIES:
        col = f"status_any_{tech}"
        df[f"villages_{tech}"] = (status[col] != "trang") if col in status else False
    df["internet"] = status["has_internet"].astype(bool) if "has_internet" in status else False
    g = df.groupby("unit", sort=True)
    out = pd.DataFrame(index=pd.Index(sorted(g.groups), name="code"))
    out["name"] = [names.get(c, c) for c in out.index]
    out["level"] = level
    out["villages_total"] = g.size()
    out["villages_with_signal"] = g["signal"].sum().astype(int)
    out["ratio_signal"] = out["villages_with_signal"] / out["villages_total"]
    out["population_total"] = g["pop"].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["ratio_pop_signal"] = g["pop_signal"].sum() / out["population_total"]
        out["villages_phu"] = g["phu"].sum().astype(int)
        out["villages_lom"] = g["lom"].sum().astype(int)
        out["villages_trang"] = g["trang"].sum().astype(int)
        for op in ops:
            out[f"covered_{op}"] = g[f"covered_{op}"].sum().astype(int)
            out[f"ratio_{op}"] = out[f"covered_{op}"] / out["villages_total"]
            out[f"ratio_pop_{op}"] = g[f"pop_{op}"].sum() / out["population_total"]
        for tech in TECHNOLOGIES:
            out[f"villages_{tech}"] = g[f"villages_{tech}"].sum().astype(int)
        out["villages_4g"] = out["villages_4G"]
        out["villages_internet"] = g["internet"].sum().astype(int)
        out["ratio_internet"] = out["villages_internet"] / out["villages_total"]
    logger.info("coverage ratios per %s: %d units", level, len(out))
    return out


def _op_label(op: str) -> str:
    try:
        return Operator(op).label
    except ValueError:
        return op


def coverage_lines(ratios: pd.DataFrame, *, settings: Settings = DEFAULT,
                   digits: int = 0) -> list[str]:
    """The report's sentences for the first row of ``ratios`` (e.g. the province).

    ``["941/948 thôn bản có sóng", "Tỷ lệ phủ sóng Viettel: 98%", ...]`` in Vietnamese, or
    ``["941/948 villages with signal", "Viettel coverage: 98%", ...]`` in English.
    """
    if len(ratios) == 0:
        return []
    language = settings.language
    r = ratios.iloc[0]
    n_tot = int(r["villages_total"])
    vi = language == "vi"
    lines = [f"{format_ratio(r['villages_with_signal'], n_tot)} "
             + ("thôn bản có sóng" if vi else "villages with signal")]
    ops = [c[len("ratio_"):] for c in ratios.columns
           if c.startswith("ratio_") and not c.startswith(("ratio_pop", "ratio_signal",
                                                           "ratio_internet"))]
    for op in ops:
        pct = format_percent(r[f"ratio_{op}"], digits=digits, language=language)
        lines.append(f"Tỷ lệ phủ sóng {_op_label(op)}: {pct}" if vi
                     else f"{_op_label(op)} coverage: {pct}")
    lines.append(f"{format_ratio(r['villages_internet'], n_tot)} "
                 + ("thôn bản có internet" if vi else "villages with internet"))
    lines.append(f"{format_ratio(r['villages_4g'], n_tot)} "
                 + ("thôn bản có sóng 4G" if vi else "villages with 4G"))
    lines.append((f"Thôn trắng sóng: {int(r['villages_trang'])}; thôn lõm sóng: "
                  f"{int(r['villages_lom'])}") if vi else
                 (f"White villages (no signal): {int(r['villages_trang'])}; dead-spot "
                  f"villages (partial): {int(r['villages_lom'])}"))
    return lines
