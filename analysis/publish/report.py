"""The indicator report: the figures of the yearly telecom and postal reports, traced to data.

:func:`build_report` gathers, per province, district and commune, the indicators in the
reports' own terms — "Số thôn, bản", "Thôn, bản có sóng di động" (x/N), "Tỷ lệ phủ sóng
Viettel", thôn trắng sóng / lõm sóng, thôn có Internet, villages within reach of fibre, "Số vị
trí cột", "Số thiết bị trạm BTS", "Bán kính phục vụ bình quân (km/cột)", "Số dân được phục vụ
bình quân (người/cột)", postal points with their radius and people per point, cable km and
"Tỷ lệ ngầm hóa" — and, when the seeds hold reported figures for the province, a table "Mô
hình vs Báo cáo" with the model's figure beside the reported one and the difference.

:func:`write_report_html` writes one self-contained HTML page (charts drawn with matplotlib
and inlined as PNG; every value HTML-escaped); :func:`write_report_xlsx` writes one sheet per
table through :func:`analysis.export.write_tables` (headers in the report's language, cells
neutralised against formula injection, the sample-data label on generated data).

Where the numbers come from: coverage counts from :func:`analysis.ratios.coverage_ratios`
(a village "có sóng" is any village not trắng), tower/BTS/postal counts and the service radius
R = √(S/(π·N)) from :func:`analysis.service_radius.service_radius_table`, cable lengths from
the ``fibre_routes`` layer cut by the unit polygons in the metric CRS, fibre reach from
:func:`analysis.tables.fibre.fibre_reach`. The service-radius and fibre-reach tables are the
ones the run computed (:func:`analysis.analyses.run_analyses`), passed in; the report computes
nothing else.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import io
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from phusong.analysis.labels import SAMPLE_LABEL
from phusong.gis.atomic import atomic_write_text, check_writable
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS, Operator
from phusong.layers.schema import POST_OFFICE_KINDS
from phusong.layers.settings import DEFAULT, Settings, in_service_techs

if TYPE_CHECKING:
    from phusong.analysis.coverage.engine import CoverageResult

logger = logging.getLogger(__name__)

__all__ = ["REPORT_LABELS", "Report", "build_report", "write_report_html", "write_report_xlsx"]

LEVELS = ("province", "district", "commune")

#: column → (vi, en) headers of the report tables
REPORT_LABELS: dict[str, tuple[str, str]] = {
    "code": ("Mã", "Code"),
    "name": ("Tên đơn vị", "Unit"),
    "population": ("Dân số", "Population"),
    "villages_total": ("Số thôn, bản", "Villages"),
    "villages_with_signal": ("Thôn, bản có sóng di động", "Villages with mobile signal"),
    "with_signal_text": ("Thôn, bản có sóng di động (x/N)", "Villages with signal (x/N)"),
    "ratio_signal_pct": ("Tỷ lệ thôn, bản có sóng (%)", "Villages with signal (%)"),
    "villages_4g": ("Thôn, bản có sóng 4G", "Villages with 4G"),
    "villages_trang": ("Thôn trắng sóng", "White villages (no signal)"),
    "villages_lom": ("Thôn lõm sóng", "Dead-spot villages (lõm)"),
    "villages_internet": ("Thôn, bản có Internet", "Villages with internet"),
    "internet_text": ("Thôn, bản có Internet (x/N)", "Villages with internet (x/N)"),
    "villages_fibre": ("Thôn, bản trong tầm cáp quang", "Villages within reach of fibre"),
    "fibre_text": ("Thôn, bản trong tầm cáp quang (x/N)", "Villages within reach of fibre (x/N)"),
    "towers": ("Số vị trí cột", "Tower positions"),
    "bts": ("Số thiết bị trạm BTS", "BTS"),
    "tower_radius_km": ("Bán kính phục vụ bình quân (km/cột)", "Mean service radius (km/tower)"),
    "people_per_tower": ("Số dân được phục vụ bình quân (người/cột)", "People per tower"),
    "postal_points": ("Số điểm phục vụ bưu chính", "Postal service points"),
    "postal_radius_km": ("Bán kính phục vụ bình quân (km/điểm)",
                         "Mean postal service radius (km/point)"),
    "people_per_postal": ("Số dân phục vụ bình quân (người/điểm)", "People per postal point"),
    "fibre_km": ("Tổng chiều dài cáp (km)", "Cable length (km)"),
    "underground_km": ("Cáp ngầm (km)", "Underground cable (km)"),
    "underground_pct": ("Tỷ lệ ngầm hóa (%)", "Undergrounding ratio (%)"),
    "area_km2": ("Diện tích (km²)", "Area (km²)"),
    # summary / comparison
    "indicator": ("Chỉ tiêu", "Indicator"),
    "value": ("Giá trị", "Value"),
    "model": ("Mô hình", "Model"),
    "reported": ("Báo cáo", "Reported"),
    "difference": ("Chênh lệch (mô hình − báo cáo)", "Difference (model − reported)"),
    "unit": ("Đơn vị", "Unit"),
    "year": ("Năm", "Year"),
    "source": ("Nguồn (báo cáo)", "Source (report)"),
    "quote": ("Trích dẫn", "Quote"),
    "key": ("Mã chỉ tiêu", "Indicator key"),
    # rollout
    "rank": ("Thứ tự", "Rank"),
    "site_id": ("Mã vị trí", "Site id"),
    "kind": ("Loại", "Kind"),
    "site_type": ("Hình thức", "Type"),
    "villages_covered": ("Số thôn được phủ thêm", "Villages added"),
    "population_covered": ("Dân số được phủ thêm", "Population added"),
    "cost_mvnd": ("Chi phí (triệu đồng)", "Cost (million VND)"),
    "cumulative_cost_mvnd": ("Chi phí lũy kế (triệu đồng)", "Cumulative cost (million VND)"),
    "cumulative_population": ("Dân số lũy kế", "Cumulative population"),
    "village_names": ("Thôn được phủ", "Villages covered"),
}
for _op in OPERATORS:
    REPORT_LABELS[f"ratio_{_op.value}_pct"] = (f"Tỷ lệ phủ sóng {_op.label} (%)",
                                               f"{_op.label} coverage (%)")
    REPORT_LABELS[f"covered_{_op.value}"] = (f"Thôn có sóng {_op.label}",
                                             f"Villages with {_op.label} signal")

#: indicator key → (vi, en) of the summary and comparison tables (seed indicator keys)
INDICATOR_LABELS: dict[str, tuple[str, str]] = {
    "villages_total": ("Số thôn, bản", "Villages"),
    "villages_with_signal": ("Thôn, bản có sóng điện thoại di động", "Villages with mobile signal"),
    "villages_with_signal_ratio": ("Tỷ lệ thôn, bản có sóng", "Share of villages with signal"),
    "mobile_coverage_ratio": ("Tỷ lệ phủ sóng di động (thôn, bản)", "Mobile coverage (villages)"),
    "villages_with_internet": ("Thôn, bản có Internet", "Villages with internet"),
    "villages_4g": ("Thôn, bản có sóng 4G", "Villages with 4G"),
    "white_villages_total": ("Thôn trắng sóng", "White villages (no signal)"),
    "villages_without_telecom": ("Thôn chưa có sóng di động", "Villages without mobile signal"),
    "dead_spot_villages_total": ("Thôn lõm sóng", "Dead-spot villages"),
    "villages_without_3g4g": ("Thôn chưa có sóng 3G/4G", "Villages without 3G/4G"),
    "villages_fibre_ratio": ("Tỷ lệ thôn, bản có cáp quang", "Villages reached by fibre"),
    "villages_without_fibre": ("Thôn, bản chưa có cáp quang", "Villages without fibre"),
    "commune_centres_fibre_ratio": ("Tỷ lệ trung tâm xã có cáp quang",
                                    "Commune centres reached by fibre"),
    "mobile_networks": ("Số mạng thông tin di động", "Mobile networks"),
    "tower_positions": ("Số vị trí cột", "Tower positions"),
    "tower_positions_3g": ("Vị trí cột có 3G", "Tower positions with 3G"),
    "tower_positions_4g": ("Vị trí cột có 4G", "Tower positions with 4G"),
    "bts_count": ("Số thiết bị trạm BTS", "BTS"),
    "service_radius_km_per_tower": ("Bán kính phục vụ bình quân (km/cột)",
                                    "Mean service radius (km/tower)"),
    "people_per_tower": ("Số dân được phục vụ bình quân (người/cột)", "People per tower"),
    "cable_km_total": ("Tổng chiều dài cáp (km)", "Cable length (km)"),
    "cable_km_aerial": ("Cáp treo (km)", "Aerial cable (km)"),
    "cable_km_underground": ("Cáp ngầm (km)", "Underground cable (km)"),
    "underground_ratio": ("Tỷ lệ ngầm hóa", "Undergrounding ratio"),
    "aerial_ratio": ("Tỷ lệ cáp treo", "Aerial ratio"),
    "postal_points": ("Số điểm phục vụ bưu chính", "Postal service points"),
    "postal_service_radius_km": ("Bán kính phục vụ bình quân (km/điểm)",
                                 "Mean postal service radius (km/point)"),
    "people_per_postal_point": ("Số dân phục vụ bình quân (người/điểm)",
                                "People per postal point"),
    "bdvhx_public_internet": ("Điểm BĐVHX có Internet công cộng", "BĐVHX with public internet"),
    "bdvhx_public_internet_ratio": ("Tỷ lệ điểm BĐVHX có Internet công cộng",
                                    "Share of BĐVHX with public internet"),
    "bdvhx_multi_service": ("Điểm BĐVHX đa dịch vụ", "Multi-service BĐVHX"),
    "communes_with_postal_point_ratio": ("Tỷ lệ xã có điểm phục vụ bưu chính",
                                         "Communes with a postal point"),
}
for _op in OPERATORS:
    INDICATOR_LABELS[f"coverage_ratio_{_op.value}"] = (f"Tỷ lệ phủ sóng {_op.label}",
                                                       f"{_op.label} coverage")
for _k, _v in POST_OFFICE_KINDS.items():
    INDICATOR_LABELS[f"post_offices_{_k}"] = (_v, _v)

_RATIO_KEYS = {k for k in INDICATOR_LABELS if k.endswith("_ratio") or k.startswith(
    "coverage_ratio_")} | {"mobile_coverage_ratio"}

_TEXT: Mapping[str, tuple[str, str]] = {
    "title": ("Báo cáo chỉ tiêu hạ tầng viễn thông, bưu chính", "Telecom and postal indicators"),
    "summary": ("Chỉ tiêu chính", "Key indicators"),
    "province": ("Toàn tỉnh", "Province"),
    "district": ("Theo huyện", "By district"),
    "commune": ("Theo xã", "By commune"),
    "model_vs_reported": ("Mô hình vs Báo cáo", "Model vs reported"),
    "rollout": ("Trạm viễn thông công ích đề xuất", "Proposed public-utility sites"),
    "calibration": ("Hiệu chỉnh theo số liệu đo (sai số = mô hình − đo)",
                    "Calibration to measurements (error = model − measured)"),
    "charts": ("Biểu đồ", "Charts"),
    "notes": ("Ghi chú, phương pháp", "Notes and method"),
    "as_of": ("Tính đến ngày", "As of"),
    "model_name": ("Mô hình phủ sóng", "Coverage model"),
    "generated": ("Lập lúc", "Generated"),
    "chart_ops": ("Tỷ lệ thôn, bản có sóng theo doanh nghiệp", "Villages with signal by operator"),
    "chart_status": ("Hiện trạng sóng theo đơn vị", "Village status by unit"),
    "chart_rollout": ("Dân số được phủ thêm theo kinh phí (thứ tự tham lam)",
                      "Population covered vs spend (greedy order)"),
    # rollout (issue 12): each target village's class rule and the exact spend frontier
    "rollout_classes": ("Thôn mục tiêu, nhóm, quy tắc", "Target villages, class, rule"),
    "rollout_frontier": ("Đường biên chi phí", "Spend frontier (exact)"),
    "phu": ("Phủ sóng", "Covered"),
    "lom": ("Lõm sóng", "Dead spot"),
    "trang": ("Trắng sóng", "No signal"),
    "model_bar": ("Mô hình", "Model"),
    "reported_bar": ("Báo cáo", "Reported"),
    "spend": ("Kinh phí lũy kế (tỷ đồng)", "Cumulative spend (billion VND)"),
    "people": ("Dân số được phủ thêm (người)", "Population covered (people)"),
    "share_villages": ("Tỷ lệ thôn, bản (%)", "Share of villages (%)"),
}


# -- calibration table columns (analysis.coverage.calibrate.Calibration.table) --
REPORT_LABELS.update({
    "group": ("Công nghệ (@băng tần)", "Technology (@band)"),
    "n": ("Số điểm đo", "Measurements"),
    "offset_db": ("Bù (dB)", "Offset (dB)"),
    "slope_db_per_decade": ("Độ dốc (dB/decade)", "Slope (dB/decade)"),
    "clutter_offsets_db": ("Bù theo lớp địa vật (dB)", "Clutter offsets (dB)"),
    "mean_error_before_db": ("Sai số TB trước (dB)", "Mean error before (dB)"),
    "rmse_before_db": ("RMSE trước (dB)", "RMSE before (dB)"),
    "mean_error_after_db": ("Sai số TB sau (dB)", "Mean error after (dB)"),
    "rmse_after_db": ("RMSE sau (dB)", "RMSE after (dB)"),
    "folds": ("Số phần kiểm định chéo", "Cross-validation folds"),
})


def _tx(key: str, language: str) -> str:
    vi, en = _TEXT[key]
    return vi if language == "vi" else en


def _label(col: str, language: str) -> str:
    entry = REPORT_LABELS.get(col)
    return col if entry is None else entry[0 if language == "vi" else 1]


@dataclasses.dataclass
class Report:
    """A built report, ready to be written.

    Attributes
    ----------
    title
        Report title (province included).
    language
        ``"vi"`` or ``"en"``.
    is_sample
        True for generated sample data (labelled in every output).
    tables
        Table key → DataFrame with machine column names (labels in :data:`REPORT_LABELS`).
        Keys: ``summary``, ``province``, ``district``, ``commune`` and, when available,
        ``model_vs_reported`` and ``rollout``.
    captions
        Table key → caption in the report's language.
    charts
        Chart key → PNG bytes.
    lines
        The report's sentences ("941/948 thôn bản có sóng", ...).
    notes
        Method notes printed at the end.
    meta
        Province, as-of date, coverage model and generation time.
    form
        The telecom and postal sections in the province's own form
        (:class:`~analysis.publish.provincial.ProvinceForm`), also written as Word.
    """

    title: str
    language: str
    is_sample: bool
    tables: dict[str, pd.DataFrame]
    captions: dict[str, str]
    charts: dict[str, bytes]
    lines: list[str]
    notes: list[str]
    meta: dict[str, str]
    # -- province form: the report's telecom and postal sections in the province's own words
    form: Any = None  # analysis.publish.provincial.ProvinceForm
    # -- end province form


# -- gathering -----------------------------------------------------------------------------
def _admin_parent(bundle: ProvinceBundle) -> dict[str, str]:
    au = bundle["admin_units"]
    return {str(c): str(p) for c, p in zip(au["code"], au["parent_code"], strict=True)
            if p is not None and not (isinstance(p, float) and math.isnan(p))}


def _unit_of_village(bundle: ProvinceBundle, commune: pd.Series, level: str,
                     province_code: str) -> pd.Series:
    if level == "commune":
        return commune.astype(str)
    if level == "district":
        parent = _admin_parent(bundle)
        return commune.astype(str).map(lambda c: parent.get(c, "?"))
    return pd.Series(province_code, index=commune.index)


def _fibre_by_unit(bundle: ProvinceBundle, level: str, codes: pd.Index) -> pd.DataFrame:
    """Cable km and underground km inside each unit polygon (metric CRS)."""
    out = pd.DataFrame({"fibre_km": 0.0, "underground_km": 0.0}, index=codes)
    if not bundle.has("fibre_routes"):
        return out
    routes = bundle.to_metric("fibre_routes")
    au = bundle["admin_units"]
    units = au[au["level"] == level] if len(au) else au
    if level == "province":
        total = routes.length / 1000.0
        under = total[routes["kind"].astype(str) == "underground"]
        out.loc[codes[0]] = [float(total.sum()), float(under.sum())]
        return out
    import shapely

    geoms = routes.geometry.to_numpy()
    is_under = (routes["kind"].astype(str) == "underground").to_numpy()
    tree = shapely.STRtree(geoms)
    units = units.to_crs(bundle.metric_crs)
    for code, poly in zip(units["code"].astype(str), units.geometry, strict=True):
        if code not in out.index:
            continue
        idx = tree.query(poly, predicate="intersects")
        if len(idx) == 0:
            continue
        lengths = shapely.length(shapely.intersection(geoms[idx], poly)) / 1000.0
        out.loc[code] = [float(lengths.sum()), float(lengths[is_under[idx]].sum())]
    return out


def _level_table(bundle: ProvinceBundle, status: pd.DataFrame, level: str, *,
                 radius: pd.DataFrame | None, reach: pd.DataFrame | None,
                 settings: Settings) -> pd.DataFrame:
    from phusong.analysis.coverage.ratios import coverage_ratios, format_ratio

    r = coverage_ratios(bundle, status, level=level, settings=settings)
    ops = [o.value for o in OPERATORS if f"ratio_{o.value}" in r.columns]
    t = pd.DataFrame(index=r.index)
    t["name"] = r["name"]
    t["population"] = r["population_total"].round().astype("int64")
    t["villages_total"] = r["villages_total"].astype(int)
    t["villages_with_signal"] = r["villages_with_signal"].astype(int)
    t["with_signal_text"] = [format_ratio(a, b) for a, b in
                             zip(r["villages_with_signal"], r["villages_total"], strict=True)]
    t["ratio_signal_pct"] = (100 * r["ratio_signal"]).round(1)
    for op in ops:
        t[f"ratio_{op}_pct"] = (100 * r[f"ratio_{op}"]).round(1)
    t["villages_4g"] = r["villages_4g"].astype(int)
    t["villages_trang"] = r["villages_trang"].astype(int)
    t["villages_lom"] = r["villages_lom"].astype(int)
    t["villages_internet"] = r["villages_internet"].astype(int)
    t["internet_text"] = [format_ratio(a, b) for a, b in
                          zip(r["villages_internet"], r["villages_total"], strict=True)]
    if reach is not None and len(reach):
        unit = _unit_of_village(bundle, reach["commune_code"], level, str(r.index[0]))
        n = reach["within_reach"].astype(bool).groupby(unit.to_numpy()).sum()
        t["villages_fibre"] = n.reindex(t.index).fillna(0).astype(int)
        t["fibre_text"] = [format_ratio(a, b) for a, b in
                           zip(t["villages_fibre"], t["villages_total"], strict=True)]
    if radius is not None and len(radius):
        sub = radius[radius["level"] == level].copy()
        sub["code"] = sub["code"].astype(str)
        if level == "province" and len(t) == 1:
            sub["code"] = str(t.index[0])
        for kind, cols in (("tower", {"n_points": "towers", "radius_km": "tower_radius_km",
                                      "people_per_point": "people_per_tower"}),
                           ("bts", {"n_points": "bts"}),
                           ("post", {"n_points": "postal_points",
                                     "radius_km": "postal_radius_km",
                                     "people_per_point": "people_per_postal"})):
            k = sub[sub["kind"] == kind].set_index("code")
            for src, dst in cols.items():
                t[dst] = k[src].reindex(t.index)
        area = sub[sub["kind"] == "tower"].set_index("code")["area_km2"].reindex(t.index)
        t["area_km2"] = area.round(1)
        for col in ("towers", "bts", "postal_points"):
            t[col] = t[col].fillna(0).astype(int)
        for col in ("tower_radius_km", "postal_radius_km"):
            t[col] = t[col].round(2)
        for col in ("people_per_tower", "people_per_postal"):
            t[col] = t[col].round(0)
    fib = _fibre_by_unit(bundle, level, t.index)
    t["fibre_km"] = fib["fibre_km"].round(1)
    t["underground_km"] = fib["underground_km"].round(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t["underground_pct"] = (100 * fib["underground_km"] / fib["fibre_km"]).round(1)
    t.index = t.index.astype(str)
    t.index.name = "code"
    return t.reset_index()


def _model_figures(bundle: ProvinceBundle, province_row: pd.Series, status: pd.DataFrame,
                   reach_ind: pd.DataFrame | None) -> dict[str, float]:
    """The model's value of every seed indicator it can compute (province level)."""
    p = province_row
    n = float(p["villages_total"])
    fig: dict[str, float] = {
        "villages_total": n,
        "villages_with_signal": float(p["villages_with_signal"]),
        "villages_with_signal_ratio": float(p["villages_with_signal"]) / n if n else np.nan,
        "mobile_coverage_ratio": float(p["villages_with_signal"]) / n if n else np.nan,
        "villages_with_internet": float(p["villages_internet"]),
        "villages_4g": float(p["villages_4g"]),
        "white_villages_total": float(p["villages_trang"]),
        "villages_without_telecom": float(p["villages_trang"]),
        "dead_spot_villages_total": float(p["villages_lom"]),
    }
    for op in OPERATORS:
        col = f"ratio_{op.value}_pct"
        if col in p.index:
            fig[f"coverage_ratio_{op.value}"] = float(p[col]) / 100.0
    if {"status_any_3G", "status_any_4G"} <= set(status.columns):
        no34 = (status["status_any_3G"] == "trang") & (status["status_any_4G"] == "trang")
        fig["villages_without_3g4g"] = float(no34.sum())
    for col, key in (("towers", "tower_positions"), ("bts", "bts_count"),
                     ("tower_radius_km", "service_radius_km_per_tower"),
                     ("people_per_tower", "people_per_tower"),
                     ("postal_points", "postal_points"),
                     ("postal_radius_km", "postal_service_radius_km"),
                     ("people_per_postal", "people_per_postal_point"),
                     ("fibre_km", "cable_km_total"),
                     ("underground_km", "cable_km_underground")):
        if col in p.index and pd.notna(p[col]):
            fig[key] = float(p[col])
    if "fibre_km" in fig or "cable_km_total" in fig:
        total = fig.get("cable_km_total", np.nan)
        under = fig.get("cable_km_underground", np.nan)
        fig["cable_km_aerial"] = total - under
        if total:
            fig["underground_ratio"] = under / total
            fig["aerial_ratio"] = 1 - under / total
    if "villages_fibre" in p.index and n:
        fig["villages_fibre_ratio"] = float(p["villages_fibre"]) / n
        fig["villages_without_fibre"] = n - float(p["villages_fibre"])
    if reach_ind is not None and len(reach_ind):
        row = reach_ind[reach_ind["indicator"] == "commune_centres_within_fibre_access"]
        if len(row):
            fig["commune_centres_fibre_ratio"] = float(row["ratio"].iloc[0])
    if bundle.has("bts"):
        bts = bundle["bts"]
        fig["mobile_networks"] = float(bts["operator"].astype(str).nunique())
        for tech in ("3G", "4G"):
            fig[f"tower_positions_{tech.lower()}"] = float(
                bts.loc[bts["tech"].astype(str) == tech, "tower_id"].astype(str).nunique())
    if bundle.has("post_offices"):
        po = bundle["post_offices"]
        kind = po["kind"].astype(str)
        for k in POST_OFFICE_KINDS:
            fig[f"post_offices_{k}"] = float((kind == k).sum())
        bd = kind == "bdvhx"
        inet = po["has_public_internet"].astype(str).str.lower().isin(["true", "1"])
        multi = po["multi_service"].astype(str).str.lower().isin(["true", "1"])
        fig["bdvhx_public_internet"] = float((bd & inet).sum())
        fig["bdvhx_multi_service"] = float((bd & multi).sum())
        if bd.sum():
            fig["bdvhx_public_internet_ratio"] = float((bd & inet).sum() / bd.sum())
    return fig


def _comparison(bundle: ProvinceBundle, figures: Mapping[str, float],
                language: str) -> pd.DataFrame | None:
    """Model beside reported for the bundle's province (latest year with figures)."""
    if not bundle.province:
        return None
    try:
        from phusong.seeds.figures import reported
    except ImportError:  # pragma: no cover - seeds ship with the package
        return None
    rep = reported(bundle.province.split(" (")[0])
    if len(rep) == 0:
        return None
    rep = rep[rep["district"].fillna("") == ""]
    year = bundle.meta.get("year")
    if year and str(year).isdigit() and int(year) in set(rep["year"]):
        rep = rep[rep["year"] == int(year)]
    else:
        rep = rep[rep["year"] == rep["year"].max()]
    rows = []
    for rec in rep.to_dict("records"):
        key = rec["indicator"]
        if key not in figures or key not in INDICATOR_LABELS:
            continue
        model = figures[key]
        reported_value = float(rec["value"])
        is_ratio = key in _RATIO_KEYS
        scale = 100.0 if is_ratio else 1.0
        rows.append({
            "key": key,
            "indicator": INDICATOR_LABELS[key][0 if language == "vi" else 1]
            + (" (%)" if is_ratio else ""),
            "model": round(model * scale, 2) if np.isfinite(model) else np.nan,
            "reported": round(reported_value * scale, 2),
            "difference": round((model - reported_value) * scale, 2)
            if np.isfinite(model) else np.nan,
            "unit": "%" if is_ratio else rec["unit"],
            "year": str(int(rec["year"])),
            "source": f"{rec['report_title']} ({int(rec['year'])})",
            "quote": rec["quote"],
        })
    if not rows:
        return None
    return pd.DataFrame(rows).drop_duplicates("key").reset_index(drop=True)


def _comparison_settings(bundle: ProvinceBundle, settings: Settings) -> Settings | None:
    """Settings as of the end of the reported year, when other technologies were on air then.

    ``None`` when there is no reported year for the province or the technologies in service
    are the same at that date and at the analysis date.
    """
    if not bundle.province:
        return None
    from phusong.seeds.figures import reported

    rep = reported(bundle.province.split(" (")[0])
    if len(rep) == 0:
        return None
    year = bundle.meta.get("year")
    years = set(rep["year"])
    year = int(year) if year and str(year).isdigit() and int(year) in years else max(years)
    then = settings.replace(as_of=f"{year}-12-31")
    if then.as_of_date() >= settings.as_of_date():
        return None
    return then if in_service_techs(then) != in_service_techs(settings) else None


def _summary(province_row: pd.Series, figures: Mapping[str, float], ops: list[str],
             language: str) -> pd.DataFrame:
    p = province_row
    vi = language == "vi"
    rows: list[tuple[str, str, Any]] = [
        ("villages_total", INDICATOR_LABELS["villages_total"][0 if vi else 1],
         int(p["villages_total"])),
        ("villages_with_signal", REPORT_LABELS["with_signal_text"][0 if vi else 1],
         p["with_signal_text"]),
    ]
    for op in ops:
        rows.append((f"coverage_ratio_{op}", _label(f"ratio_{op}_pct", language),
                     p[f"ratio_{op}_pct"]))
    for col in ("villages_4g", "villages_trang", "villages_lom", "internet_text", "fibre_text",
                "towers", "bts", "tower_radius_km", "people_per_tower", "postal_points",
                "postal_radius_km", "people_per_postal", "fibre_km", "underground_pct"):
        if col in p.index:
            rows.append((col, _label(col, language), p[col]))
    return pd.DataFrame(rows, columns=["key", "indicator", "value"])


def _rollout_table(rollout: Any) -> pd.DataFrame | None:
    sites = getattr(rollout, "sites", rollout)
    if not isinstance(sites, pd.DataFrame) or len(sites) == 0:
        return None
    t = pd.DataFrame(index=range(len(sites)))
    s = sites.reset_index(drop=True)
    for col in ("rank", "site_id", "kind", "site_type", "villages_covered",
                "population_covered", "cumulative_population", "village_names"):
        if col in s.columns:
            t[col] = s[col].to_numpy()
    for col, dst in (("cost_vnd", "cost_mvnd"), ("cumulative_cost_vnd", "cumulative_cost_mvnd")):
        if col in s.columns:
            t[dst] = (pd.to_numeric(s[col], errors="coerce") / 1e6).round(0).to_numpy()
    return t


# -- charts --------------------------------------------------------------------------------
def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight",
                metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _charts(tables: Mapping[str, pd.DataFrame], ops: list[str], comparison: pd.DataFrame | None,
            rollout: Any, *, language: str, is_sample: bool) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    charts: dict[str, bytes] = {}
    stamp = SAMPLE_LABEL if is_sample else None
    prov = tables["province"].iloc[0]
    # 1. villages with signal per operator (model vs reported)
    labels = [Operator(op).label for op in ops]
    model = [float(prov[f"ratio_{op}_pct"]) for op in ops]
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    x = np.arange(len(ops))
    ax.bar(x - 0.2 if comparison is not None else x, model, width=0.4 if comparison is not None
           else 0.6, color="#2b8cbe", label=_tx("model_bar", language))
    if comparison is not None:
        rep = comparison.set_index("key")["reported"]
        vals = [float(rep.get(f"coverage_ratio_{op}", np.nan)) for op in ops]
        ax.bar(x + 0.2, vals, width=0.4, color="#fdae6b", label=_tx("reported_bar", language))
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 105)
    ax.set_ylabel(_tx("share_villages", language))
    ax.set_title(_tx("chart_ops", language), fontsize=10)
    if stamp:
        ax.text(0.01, 0.97, stamp, transform=ax.transAxes, color="#b00020", fontsize=7,
                va="top")
    charts["operators"] = _png(fig)
    # 2. status per district (or commune)
    level = "district" if len(tables.get("district", ())) else "commune"
    t = tables.get(level)
    if t is not None and len(t):
        t = t.head(30)
        fig, ax = plt.subplots(figsize=(6.4, max(2.4, 0.28 * len(t) + 1)))
        y = np.arange(len(t))
        phu = (t["villages_with_signal"] - t["villages_lom"]).to_numpy(float)
        lom = t["villages_lom"].to_numpy(float)
        trang = t["villages_trang"].to_numpy(float)
        ax.barh(y, phu, color="#1a9641", label=_tx("phu", language))
        ax.barh(y, lom, left=phu, color="#f28e2b", label=_tx("lom", language))
        ax.barh(y, trang, left=phu + lom, color="#d7191c", label=_tx("trang", language))
        # names are text, not mathtext: "$x^$" would raise in savefig
        ax.set_yticks(y, [str(n).replace("$", r"\$") for n in t["name"]], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(_label("villages_total", language))
        ax.set_title(_tx("chart_status", language), fontsize=10)
        ax.legend(loc="lower right", fontsize=7)
        charts["status"] = _png(fig)
    # 3. rollout curve
    curve = getattr(rollout, "curve", None)
    if isinstance(curve, pd.DataFrame) and len(curve) > 1:
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        ax.step(curve["cumulative_cost_vnd"] / 1e9, curve["cumulative_population"],
                where="post", color="#6a3d9a")
        ax.plot(curve["cumulative_cost_vnd"] / 1e9, curve["cumulative_population"], "o",
                color="#6a3d9a", ms=3)
        ax.set_xlabel(_tx("spend", language))
        ax.set_ylabel(_tx("people", language))
        ax.set_title(_tx("chart_rollout", language), fontsize=10)
        charts["rollout"] = _png(fig)
    return charts


# -- public API ----------------------------------------------------------------------------
def build_report(bundle: ProvinceBundle, *, status: pd.DataFrame, service_radius: pd.DataFrame,
                 fibre_reach: tuple[pd.DataFrame, pd.DataFrame],
                 coverage: CoverageResult | None = None, rollout: Any = None,
                 settings: Settings = DEFAULT, progress: Any = None,
                 postal: Mapping[str, pd.DataFrame] | None = None,
                 sunset: Mapping[str, pd.DataFrame] | None = None) -> Report:
    """Gather the indicator tables, the comparison with reported figures and the charts.

    The report computes no analysis of its own: it is given the tables the run computed.

    Parameters
    ----------
    bundle
        The province bundle.
    status
        :func:`analysis.coverage.status.village_status` output.
    service_radius
        The official service-radius table
        (:func:`analysis.tables.service_radius.service_radius_table`;
        ``AnalysesResult.service_radius.official`` of a run).
    fibre_reach
        ``(indicators, villages)`` of :func:`analysis.tables.fibre.fibre_reach`
        (``AnalysesResult.fibre.reach`` and ``.villages``).
    coverage
        The :class:`~analysis.coverage.engine.CoverageResult` (its model is named in the
        report; with it, the model-vs-reported table counts the technologies on air in the
        reported year).
    rollout
        A :class:`~analysis.rollout.plan.RolloutPlan` (or a ranked sites DataFrame).
    settings
        ``language`` picks the labels; dates and thresholds are quoted in the notes.
    progress
        A :class:`~analysis.compare.changes.BundleComparison` with an earlier snapshot: the
        province form gains the progress section.
    postal, sunset
        The run's postal and sunset tables (:class:`analysis.analyses.AnalysesResult`) for
        the province form; computed from the bundle and status when not given.
    """
    lang = settings.language
    radius = service_radius
    reach = fibre_reach
    reach_ind, reach_villages = reach
    tables: dict[str, pd.DataFrame] = {}
    admin_levels = set(bundle["admin_units"]["level"].astype(str))
    for level in LEVELS:
        if level != "province" and level not in admin_levels:
            continue  # e.g. no districts since the 2025 two-level reform
        t = _level_table(bundle, status, level, radius=radius, reach=reach_villages,
                         settings=settings)
        if level != "province" and (len(t) == 0 or set(t["code"]) <= {"?"}):
            continue
        tables[level] = t
    prov = tables["province"].iloc[0]
    ops = [o.value for o in OPERATORS if f"ratio_{o.value}_pct" in tables["province"].columns]
    figures = _model_figures(bundle, prov, status, reach_ind)
    cmp_settings = _comparison_settings(bundle, settings)
    if coverage is not None and cmp_settings is not None:
        # the reports count what was on air in their year: compare with the status then
        from phusong.analysis.coverage.status import village_status

        status_then = village_status(bundle, coverage, settings=cmp_settings)
        prov_then = _level_table(bundle, status_then, "province", radius=radius,
                                 reach=reach_villages, settings=cmp_settings).iloc[0]
        comparison = _comparison(bundle, _model_figures(bundle, prov_then, status_then,
                                                        reach_ind), lang)
    else:
        cmp_settings = None
        comparison = _comparison(bundle, figures, lang)
    out: dict[str, pd.DataFrame] = {"summary": _summary(prov, figures, ops, lang)}
    if comparison is not None:
        out["model_vs_reported"] = comparison
    out.update(tables)
    roll = _rollout_table(rollout)
    if roll is not None:
        out["rollout"] = roll
    # rollout (issue 12): each target village's class and rule, the exact frontier
    classes = getattr(rollout, "classes", None)
    if isinstance(classes, pd.DataFrame) and len(classes):
        out["rollout_classes"] = classes.reset_index(drop=True)[[
            c for c in ("village_id", "name", "commune_code", "population", "status_target",
                        "rollout_class_label", "class_rule_label") if c in classes.columns]]
    frontier = getattr(rollout, "frontier", None)
    if frontier is not None:
        out["rollout_frontier"] = frontier.table.drop(columns=["solve_s"], errors="ignore")
    # -- calibration to measurements (analysis.coverage.calibrate), when one was applied --
    cal = getattr(coverage, "calibration", None)
    if isinstance(cal, pd.DataFrame) and len(cal):
        out["calibration"] = cal
    # -- end calibration --
    captions = {k: _tx(k, lang) for k in out}
    from phusong.analysis.coverage.ratios import coverage_lines, coverage_ratios

    lines = coverage_lines(coverage_ratios(bundle, status, level="province", settings=settings),
                           settings=settings)
    province = bundle.province or str(prov["name"])
    model = str(getattr(coverage, "model", "") or "")
    thr = settings.threshold_dbm
    if lang == "vi":
        notes = [
            "Thôn, bản có sóng = thôn không trắng sóng (phủ sóng hoặc lõm sóng). Trắng sóng: "
            "không có tín hiệu dùng được tại trung tâm thôn; lõm sóng: có tín hiệu tại trung "
            f"tâm nhưng dưới {settings.share_min:.0%} diện tích dân cư được phủ.",
            f"Ngưỡng tín hiệu: 2G {thr['2G']:.0f} dBm, 3G {thr['3G']:.0f} dBm (RSCP), "
            f"4G/5G {thr['4G']:.0f} dBm (RSRP) — không có ngưỡng chính thức; QCVN "
            "81:2019/BTTTT quy định chất lượng dịch vụ 4G.",
            "Bán kính phục vụ bình quân R = √(S / (π·N)); số dân phục vụ bình quân = P / N.",
            f"Thôn có Internet: có sóng 3G/4G/5G hoặc cáp quang trong phạm vi "
            f"{settings.fibre_access_km:g} km; thôn trong tầm cáp quang: cáp quang cách trung "
            f"tâm thôn không quá {settings.fibre_access_km:g} km.",
            "Tỷ lệ ngầm hóa = chiều dài cáp ngầm / tổng chiều dài cáp.",
        ]
    else:
        notes = [
            "A village has signal when it is not white (covered or dead spot). White: no usable "
            "signal at the village centre; dead spot (lõm): signal at the centre but less than "
            f"{settings.share_min:.0%} of the settled area covered.",
            f"Thresholds: 2G {thr['2G']:.0f} dBm, 3G {thr['3G']:.0f} dBm (RSCP), 4G/5G "
            f"{thr['4G']:.0f} dBm (RSRP) — no official value exists; QCVN 81:2019/BTTTT "
            "governs 4G service quality.",
            "Mean service radius R = √(S / (π·N)); people served per point = P / N.",
            f"Internet: 3G/4G/5G signal or fibre within {settings.fibre_access_km:g} km; "
            f"within reach of fibre: fibre within {settings.fibre_access_km:g} km of the centre.",
            "Undergrounding ratio = underground cable km / all cable km.",
        ]
    if comparison is not None and "service_radius_km_per_tower" in set(comparison["key"]):
        row = comparison.set_index("key").loc["service_radius_km_per_tower"]
        if abs(row["difference"]) > 0.2 * abs(row["reported"]):
            notes.append(
                "Bán kính phục vụ bình quân (km/cột) của báo cáo không tái lập được bằng công "
                "thức R = √(S / (π·N)) từ số vị trí cột; báo cáo không nêu cách tính."
                if lang == "vi" else
                "The reported mean service radius per tower cannot be reproduced with "
                "R = √(S / (π·N)) from the tower count; the report does not say how it was "
                "computed.")
    if comparison is not None and cmp_settings is not None:
        day = cmp_settings.as_of_date().strftime("%d/%m/%Y")
        notes.append(
            f"Bảng Mô hình vs Báo cáo tính trạng thái thôn đến ngày {day} (năm của báo cáo, "
            "các công nghệ khi đó còn hoạt động); các bảng khác tính đến ngày phân tích."
            if lang == "vi" else
            f"The model-vs-reported table uses village status as of {day} (the report's year, "
            "with the technologies then on air); the other tables use the analysis date.")
    rep = getattr(rollout, "report", None)
    if isinstance(rep, dict) and "rollout_target" in rep:  # rollout (issue 12)
        from phusong.analysis.rollout.classes import target_label

        t = rep["rollout_target"]
        notes.append(
            (f"Trạm công ích: thôn mục tiêu = {target_label(t, 'vi')} ({t}), ngày "
             f"{rep.get('as_of', '')}; phương án tối ưu theo thứ tự: phủ nhiều dân nhất, rồi "
             f"chi phí thấp nhất, rồi ít trạm nhất (khoảng cách tối ưu {100 * rep['gap']:.3g}%)"
             + ("; biên giới được tính như vùng đặc biệt khó khăn"
                if rep.get("border_counts_as_difficult") else "") + ".")
            if lang == "vi" else
            (f"Public-utility stations: targets = {target_label(t, 'en')} ({t}), as of "
             f"{rep.get('as_of', '')}; the plan is lexicographically optimal: most people "
             f"covered, then least cost, then fewest sites (gap {100 * rep['gap']:.3g}% over "
             "the whole objective)"
             + ("; border areas count as extremely difficult"
                if rep.get("border_counts_as_difficult") else "") + "."))
    if "calibration" in out:  # -- calibration note --
        notes.append(
            "Mô hình đã hiệu chỉnh theo số liệu đo (bù, độ dốc theo khoảng cách, bù theo lớp "
            "địa vật); sai số và RMSE trước/sau (kiểm định chéo k phần theo khối 1 km) ở bảng "
            "Hiệu chỉnh theo số liệu đo." if lang == "vi" else
            "The model was calibrated to measurements (offset, distance slope, clutter "
            "offsets); mean error and RMSE before/after (k-fold cross-validation over 1 km "
            "blocks) are in the calibration table.")
    if coverage is not None and getattr(coverage, "budget", None) is not None:
        from phusong.analysis.coverage.engine import link_budget_lines

        notes += link_budget_lines(coverage, settings=settings)
    meta = {"province": province, "as_of": settings.as_of_date().isoformat(),
            "model": model, "generated": dt.datetime.now().replace(microsecond=0).isoformat()}
    charts = _charts(out, ops, comparison, rollout, language=lang, is_sample=bundle.is_sample)
    title = f"{_tx('title', lang)} – {province}"
    logger.info("built report of %s: %d tables, %d charts", province, len(out), len(charts))
    report = Report(title=title, language=lang, is_sample=bundle.is_sample, tables=out,
                    captions=captions, charts=charts, lines=lines, notes=notes, meta=meta)
    # -- province form -----------------------------------------------------------------------
    from phusong.analysis.publish.provincial import province_form

    analyses = {"fibre": {"reach": reach_ind}}
    if postal is not None:
        analyses["postal"] = postal
    if sunset is not None:
        analyses["sunset"] = sunset
    report.form = province_form(bundle, report=report, status=status, analyses=analyses,
                                rollout=rollout, comparison=progress, settings=settings)
    # -- end province form -------------------------------------------------------------------
    return report


# -- writers -------------------------------------------------------------------------------
def _fmt(value: Any, language: str) -> str:
    """A cell as escaped text; numbers in the language's style (vi: 1.842,5)."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return html.escape(("Có" if value else "Không") if language == "vi"
                           else ("Yes" if value else "No"))
    if isinstance(value, (int, np.integer)):
        text = f"{int(value):,}"
    elif isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "–" if np.isinf(value) else ""
        digits = 0 if float(value).is_integer() else (2 if abs(value) < 100 else 1)
        text = f"{float(value):,.{digits}f}"
        if digits:
            text = text.rstrip("0").rstrip(".")
    else:
        return html.escape(str(value))
    if language == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return html.escape(text)


def _table_html(df: pd.DataFrame, language: str) -> str:
    head = "".join(f"<th>{html.escape(_label(str(c), language))}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for v in rec:
            cls = ' class="n"' if isinstance(v, (int, float, np.integer, np.floating)) \
                and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{_fmt(v, language)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="tw"><table><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:24px;
 color:#222;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid
 #ccc;padding-bottom:3px}
.sample{color:#b00020;font-weight:700;font-size:16px}
.meta{color:#555}
.tw{overflow-x:auto}
table{border-collapse:collapse;font-size:12.5px}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#f0f3f7;text-align:left}
td.n{text-align:right;white-space:nowrap}
ul.lines li{margin:2px 0}
img.chart{max-width:100%;margin:6px 12px 6px 0;border:1px solid #eee}
p.bullet{margin:2px 0 2px 18px}
"""


def write_report_html(report: Report, path: str | os.PathLike, *,
                      overwrite: bool = False) -> Path:
    """Write the report as one self-contained HTML page (charts inlined); values escaped."""
    check_writable(path, overwrite=overwrite)
    lang = report.language
    e = html.escape
    parts = [f'<!DOCTYPE html><html lang="{e(lang)}"><head><meta charset="utf-8">',
             f"<title>{e(report.title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(report.title)}</h1>"]
    if report.is_sample:
        parts.append(f'<p class="sample">{e(SAMPLE_LABEL)}</p>')
    meta = [f"{_tx('as_of', lang)}: {report.meta.get('as_of', '')}"]
    if report.meta.get("model"):
        meta.append(f"{_tx('model_name', lang)}: {report.meta['model']}")
    meta.append(f"{_tx('generated', lang)}: {report.meta.get('generated', '')}")
    parts.append(f'<p class="meta">{e(" · ".join(meta))}</p>')
    if report.lines:
        parts.append('<ul class="lines">' + "".join(f"<li>{e(s)}</li>" for s in report.lines)
                     + "</ul>")
    order = ["summary", "model_vs_reported"]
    for key in order:
        if key in report.tables:
            parts.append(f"<h2>{e(report.captions.get(key, key))}</h2>")
            df = report.tables[key].drop(columns=["key"], errors="ignore")
            parts.append(_table_html(df, lang))
    if report.charts:
        parts.append(f"<h2>{e(_tx('charts', lang))}</h2><div>")
        for name, png in report.charts.items():
            b64 = base64.b64encode(png).decode("ascii")
            parts.append(f'<img class="chart" alt="{e(name)}" src="data:image/png;base64,{b64}">')
        parts.append("</div>")
    # -- province form -----------------------------------------------------------------------
    if report.form is not None:
        from phusong.analysis.publish.provincial import sections_html

        parts.append('<section class="form"><h2>' + e(report.form.title) + "</h2>")
        parts.append(sections_html(report.form.sections + report.form.annex, language=lang))
        parts.append("</section>")
    # -- end province form -------------------------------------------------------------------
    for key, df in report.tables.items():
        if key in order:
            continue
        parts.append(f"<h2>{e(report.captions.get(key, key))}</h2>")
        parts.append(_table_html(df, lang))
    parts.append(f"<h2>{e(_tx('notes', lang))}</h2><ul>"
                 + "".join(f"<li>{e(n)}</li>" for n in report.notes) + "</ul>")
    if report.is_sample:
        parts.append(f'<p class="sample">{e(SAMPLE_LABEL)}</p>')
    parts.append("</body></html>\n")
    out = atomic_write_text(path, "".join(parts), overwrite=overwrite)
    logger.info("wrote report %s", out)
    return Path(out)


def write_report_xlsx(report: Report, path: str | os.PathLike, *,
                      overwrite: bool = False) -> Path:
    """Write one sheet per table through :func:`analysis.export.write_tables`."""
    from phusong.analysis.export import write_tables

    sheets = {report.captions.get(k, k): df for k, df in report.tables.items()}
    about = [(_tx("as_of", report.language), report.meta.get("as_of", "")),
             (_tx("model_name", report.language), report.meta.get("model", "")),
             *[("", n) for n in report.notes]]
    return write_tables(sheets, path, headers=report.language, labels=REPORT_LABELS,
                        overwrite=overwrite, title=report.title, sample=report.is_sample,
                        about=about)
