"""Run the list-making analyses of one province and write their tables.

:func:`run_analyses` is the step of :func:`analysis.pipeline.run_pipeline` (and of
``phusong analyse``) after coverage and village status: gap lists per operator, sharing,
2G/3G sunset, service radius, fibre and postal tables, written under ``out`` as

* ``gaps_<operator>.{xlsx,csv,geojson}`` and ``gaps_all.xlsx`` (one sheet per operator);
* ``sharing.{xlsx,csv}``, ``sunset.{xlsx,csv}``, ``service_radius.{xlsx,csv}``,
  ``fibre.{xlsx,csv}``, ``postal.{xlsx,csv}`` (the CSV holds the main sheet of the workbook).

Expensive shared inputs are computed once: the share candidates of each operator (one
site × village matrix per operator, reused by the gap list and the sharing tables) and the
road graph (reused by the fibre extension and the postal distances).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from phusong.analysis import labels as L
from phusong.analysis.coverage.engine import CoverageResult, load_dem
from phusong.analysis.export import write_table, write_tables
from phusong.analysis.tables.fibre import fibre_extension_km, fibre_lengths, fibre_reach, road_graph
from phusong.analysis.tables.gaps import gap_lines, gap_lists, share_candidates, write_gap_lists
from phusong.analysis.tables.postal import kind_labels, postal_tables
from phusong.analysis.tables.service_radius import postal_radii, service_radius_table, site_radii
from phusong.analysis.tables.sharing import sharing_tables
from phusong.analysis.tables.sunset import event_label, sunset_tables
from phusong.gis.dem import Dem
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS, Operator, parse_operator
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["AnalysesResult", "FibreTables", "ServiceRadiusTables", "analyses_lines",
           "run_analyses"]

_OPS = {o.value: o.label for o in Operator}


@dataclasses.dataclass
class ServiceRadiusTables:
    """The service-radius tables (:mod:`analysis.tables.service_radius`)."""

    #: R = √(S/(π·N)) and people per point, per level and kind (the reports' figure)
    official: pd.DataFrame
    #: per tower: Voronoi and effective radius
    sites: pd.DataFrame
    #: per postal point
    postal: pd.DataFrame


@dataclasses.dataclass
class FibreTables:
    """The fibre tables (:mod:`analysis.tables.fibre`)."""

    #: route km per operator and kind, with the undergrounding ratio
    lengths: pd.DataFrame
    #: indicators of villages within reach of fibre
    reach: pd.DataFrame
    #: per village: distance to fibre, within reach
    villages: pd.DataFrame
    #: fibre extension along roads to each gap village
    extension: pd.DataFrame


@dataclasses.dataclass
class AnalysesResult:
    """Everything :func:`run_analyses` computed and wrote.

    Attributes
    ----------
    files
        Output name → path.
    gaps
        Operator → gap list (:func:`analysis.tables.gaps.gap_list`).
    sharing
        ``summary``, ``by_donor``, ``towers`` (:func:`analysis.tables.sharing.sharing_tables`).
    sunset
        ``summary``, ``villages`` (:func:`analysis.tables.sunset.sunset_tables`).
    service_radius, fibre
        See :class:`ServiceRadiusTables` and :class:`FibreTables`.
    postal
        ``indicators``, ``by_district``, ``communes_without``, ``beyond``, ``villages``
        (:func:`analysis.tables.postal.postal_tables`).
    model
        The coverage model of the sharing matrices (``terrain`` or ``radius``).
    """

    files: dict[str, Path]
    gaps: dict[str, gpd.GeoDataFrame]
    sharing: dict[str, pd.DataFrame]
    sunset: dict[str, pd.DataFrame]
    service_radius: ServiceRadiusTables
    fibre: FibreTables
    postal: dict[str, pd.DataFrame]
    model: str = "radius"


def _op_labels(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    out = df.copy()
    for c in cols:
        if c in out:
            out[c] = out[c].map(lambda v: _OPS.get(v, {"all": "Tất cả", "any": "Bất kỳ"}.get(
                v, v)) if isinstance(v, str) else v)
    return out


def run_analyses(bundle: ProvinceBundle, status: pd.DataFrame,
                 coverage: CoverageResult | None = None, *, out: str | os.PathLike,
                 settings: Settings = DEFAULT, overwrite: bool = False, dem: Dem | None = None,
                 operators: Iterable[Any] | None = None,
                 matrix_fn: Callable[..., Any] | None = None) -> AnalysesResult:
    """Compute and write every table of this module's docstring.

    Parameters
    ----------
    bundle
        The province bundle.
    status
        Village status (:func:`analysis.status.village_status`).
    coverage
        The :class:`analysis.coverage.CoverageResult` (model choice and effective radii);
        ``None`` uses the radius model and leaves effective radii empty.
    out
        Output folder.
    settings
        Analysis settings (language of headers, dates, weights, limits).
    overwrite
        Replace existing files.
    dem
        The DEM for the sharing matrix (default: the bundle's DEM when the coverage is the
        terrain model).
    operators
        Operators for gap lists and sharing (default: all four).
    matrix_fn
        Replacement for :func:`analysis.coverage.site_village_matrix` (tests).

    Returns
    -------
    AnalysesResult
        The files written and the in-memory tables.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    lang = settings.language
    sample = bundle.is_sample
    ops = [parse_operator(o).value for o in (operators or OPERATORS)]
    model = coverage.model if coverage is not None else "radius"
    if dem is None:
        dem = load_dem(bundle, model=model)
    if dem is None:
        model = "radius"
    files: dict[str, Path] = {}
    title_sfx = f" – {bundle.province}" if bundle.province else ""

    # shared inputs
    cands = {op: share_candidates(bundle, status, op, dem=dem, settings=settings, model=model,
                                  matrix_fn=matrix_fn) for op in ops}
    graph = road_graph(bundle)
    gap_ids = sorted({v for c in cands.values() for v in c.village_ids})
    extension = fibre_extension_km(bundle, gap_ids, graph=graph)

    # gap lists
    lists = gap_lists(bundle, status, operators=ops, settings=settings, candidates=cands,
                      fibre_extension=extension["extension_km"])
    files.update(write_gap_lists(lists, folder, settings=settings, sample=sample,
                                 overwrite=overwrite, bundle=bundle))

    # sharing
    sharing = sharing_tables(bundle, status, operators=ops, settings=settings, candidates=cands)
    sh_disp = {k: _op_labels(v, ["operator", "donor", "owner"]) for k, v in sharing.items()}
    sheet = {"vi": {"summary": "Tổng hợp", "by_donor": "Theo DN chủ cột", "towers": "Theo cột"},
             "en": {"summary": "Summary", "by_donor": "By tower owner", "towers": "By tower"}}
    files["sharing.xlsx"] = write_tables(
        {sheet[lang][k]: v for k, v in sh_disp.items()}, folder / "sharing.xlsx",
        headers=lang, labels=L.SHARING_LABELS, overwrite=overwrite, sample=sample,
        title=("Dùng chung hạ tầng: thôn trắng/lõm xử lý được" if lang == "vi"
               else "Infrastructure sharing: gap villages cleared") + title_sfx,
        about=[("Quy tắc" if lang == "vi" else "Rule",
                "Một cột của DN khác, với thông số vô tuyến của DN, một mình phủ sóng (phủ) thôn"
                if lang == "vi" else "Another operator's tower alone gives the village 'phu' "
                "with the operator's own radio parameters"),
               ("Mô hình" if lang == "vi" else "Model", model)])
    files["sharing.csv"] = write_table(sh_disp["summary"], folder / "sharing.csv",
                                       headers=lang, labels=L.SHARING_LABELS,
                                       overwrite=overwrite, sample=sample)

    # sunset
    sunset = sunset_tables(status, settings=settings)
    su_disp = {k: _op_labels(v, ["operator"]).assign(
        event=v["event"].map(lambda e: event_label(e, lang))) for k, v in sunset.items()}
    sheet = {"vi": {"summary": "Tổng hợp", "villages": "Danh sách thôn"},
             "en": {"summary": "Summary", "villages": "Villages"}}
    files["sunset.xlsx"] = write_tables(
        {sheet[lang][k]: v for k, v in su_disp.items()}, folder / "sunset.xlsx", headers=lang,
        labels=L.SUNSET_LABELS, overwrite=overwrite, sample=sample,
        title=("Thôn mất sóng khi tắt 2G/3G" if lang == "vi"
               else "Villages losing service at the 2G/3G switch-off") + title_sfx,
        about=[("Ngày phân tích" if lang == "vi" else "Analysis date",
                settings.as_of_date().isoformat()),
               ("Tắt 2G" if lang == "vi" else "2G off", settings.date_2g_off),
               ("Tắt 3G" if lang == "vi" else "3G off", settings.date_3g_off),
               ("Cắt máy chỉ 2G" if lang == "vi" else "2G-only handsets cut",
                settings.date_2g_handsets_cut)])
    files["sunset.csv"] = write_table(su_disp["summary"], folder / "sunset.csv", headers=lang,
                                      labels=L.SUNSET_LABELS, overwrite=overwrite,
                                      sample=sample)

    # service radius
    official = service_radius_table(bundle, settings=settings)
    sites = site_radii(bundle, coverage=coverage, settings=settings)
    posts = postal_radii(bundle)
    sheet = {"vi": ("Bán kính phục vụ", "Theo vị trí cột", "Theo điểm bưu chính"),
             "en": ("Service radius", "Per site", "Per postal point")}
    files["service_radius.xlsx"] = write_tables(
        {sheet[lang][0]: official, sheet[lang][1]: sites, sheet[lang][2]: posts},
        folder / "service_radius.xlsx",
        headers=lang, labels=L.SERVICE_RADIUS_LABELS, overwrite=overwrite, sample=sample,
        title=("Bán kính phục vụ bình quân" if lang == "vi" else "Mean service radius")
        + title_sfx,
        about=[("Công thức" if lang == "vi" else "Formula", "R = √(S / (π·N)); P / N"),
               ("Theo vị trí cột" if lang == "vi" else "Per site",
                "Voronoi: √(A/π) của ô Voronoi cắt theo ranh giới tỉnh; thực tế: √(A/π) của "
                "phần ô có sóng theo mô hình" if lang == "vi" else
                "Voronoi: √(A/π) of the cell clipped to the province; effective: √(A/π) of the "
                "part of the cell the coverage model covers")])
    files["service_radius.csv"] = write_table(official, folder / "service_radius.csv",
                                              headers=lang, labels=L.SERVICE_RADIUS_LABELS,
                                              overwrite=overwrite, sample=sample)

    # fibre
    lengths = fibre_lengths(bundle)
    reach, vreach = fibre_reach(bundle, settings=settings)
    gap_of = {v: ", ".join(op for op in ops if v in set(cands[op].village_ids))
              for v in gap_ids}
    ext = extension.reset_index()
    ext.insert(1, "gap_of", ext["village_id"].map(gap_of))
    names = dict(zip(vreach["village_id"], vreach["name"], strict=True))
    ext.insert(1, "name", ext["village_id"].map(names))
    flabels = L.FIBRE_LABELS
    sheet = {"vi": ("Chiều dài cáp", "Tầm phủ cáp", "Thôn", "Kéo cáp thôn chưa phủ"),
             "en": ("Route length", "Reach", "Villages", "Extension to gaps")}
    files["fibre.xlsx"] = write_tables(
        dict(zip(sheet[lang], [_op_labels(lengths, ["operator"]), reach, vreach, ext],
                 strict=True)), folder / "fibre.xlsx", headers=lang, labels=flabels,
        overwrite=overwrite, sample=sample,
        title=("Cáp quang" if lang == "vi" else "Fibre") + title_sfx,
        about=[("Khoảng cách tiếp cận" if lang == "vi" else "Access distance",
                f"{settings.fibre_access_km} km")])
    files["fibre.csv"] = write_table(_op_labels(lengths, ["operator"]), folder / "fibre.csv",
                                     headers=lang, labels=flabels, overwrite=overwrite,
                                     sample=sample)

    # postal
    postal = postal_tables(bundle, graph=graph, settings=settings)
    plabels = {**L.POSTAL_LABELS, **{k: (v, v) for k, v in kind_labels(lang).items()}}
    sheet = {"vi": ("Chỉ tiêu", "Theo huyện", "Xã chưa có điểm", "Thôn xa điểm phục vụ",
                    "Khoảng cách các thôn"),
             "en": ("Indicators", "By district", "Communes without", "Villages beyond",
                    "All villages")}
    keys = ("indicators", "by_district", "communes_without", "beyond", "villages")
    files["postal.xlsx"] = write_tables(
        {sheet[lang][i]: postal[k] for i, k in enumerate(keys)}, folder / "postal.xlsx",
        headers=lang, labels=plabels, overwrite=overwrite, sample=sample,
        title=("Bưu chính" if lang == "vi" else "Postal") + title_sfx,
        about=[("Ngưỡng khoảng cách" if lang == "vi" else "Distance limit",
                f"{settings.postal_max_road_km} km")])
    files["postal.csv"] = write_table(postal["beyond"], folder / "postal.csv", headers=lang,
                                      labels=plabels, overwrite=overwrite, sample=sample)
    logger.info("wrote %d analysis files under %s", len(files), folder)
    return AnalysesResult(
        files=files, gaps=lists, sharing=sharing, sunset=sunset,
        service_radius=ServiceRadiusTables(official=official, sites=sites, postal=posts),
        fibre=FibreTables(lengths=lengths, reach=reach, villages=vreach, extension=extension),
        postal=postal, model=model)


def analyses_lines(result: AnalysesResult, *, settings: Settings = DEFAULT) -> list[str]:
    """The key figures of :func:`run_analyses` as short lines (CLI and closing notes)."""
    vi = settings.language == "vi"
    lines = gap_lines(result.gaps, settings=settings)
    for r in result.sharing["summary"].itertuples():
        lines.append((f"Dùng chung {_OPS.get(r.operator, r.operator)}: thôn trắng "
                      f"{r.white_ratio}, thôn lõm {r.lom_ratio}, {r.towers_used} cột")
                     if vi else
                     (f"Sharing {_OPS.get(r.operator, r.operator)}: white {r.white_ratio}, "
                      f"dead spots {r.lom_ratio}, {r.towers_used} towers"))
    su = result.sunset["summary"]
    for r in su[su["operator"] == "any"].itertuples():
        lines.append(f"{event_label(r.event, settings.language)} ({r.event_date}): "
                     + (f"{r.villages_lose_service} thôn, {r.population_affected} người mất sóng"
                        if vi else f"{r.villages_lose_service} villages, "
                        f"{r.population_affected} people lose all service"))
    off = result.service_radius.official
    for r in off[off["level"] == "province"].itertuples():
        lines.append((f"Bán kính phục vụ ({r.kind}): {r.radius_km:.2f} km, "
                      f"{r.people_per_point:.0f} người/điểm, N = {r.n_points}") if vi else
                     (f"Service radius ({r.kind}): {r.radius_km:.2f} km, "
                      f"{r.people_per_point:.0f} people/point, N = {r.n_points}"))
    sites = result.service_radius.sites
    if len(sites) and sites["effective_radius_km"].notna().any():
        lines.append((f"Theo cột: bán kính Voronoi trung vị {sites['voronoi_radius_km'].median():.2f}"
                      f" km, thực tế {sites['effective_radius_km'].median():.2f} km") if vi else
                     (f"Per tower: median Voronoi radius {sites['voronoi_radius_km'].median():.2f}"
                      f" km, effective {sites['effective_radius_km'].median():.2f} km"))
    fl = result.fibre.lengths.set_index(["operator", "kind"])
    if ("all", "all") in fl.index:
        tot = fl.loc[("all", "all")]
        under = 0.0 if pd.isna(tot["underground_ratio"]) else 100 * tot["underground_ratio"]
        lines.append((f"Cáp quang: {tot['length_km']:.0f} km, ngầm hóa {under:.1f} %") if vi
                     else (f"Fibre: {tot['length_km']:.0f} km, {under:.1f} % underground"))
    lang = settings.language
    for r in result.fibre.reach.itertuples():
        lines.append(f"{L.label(L.INDICATOR_LABELS, r.indicator, lang)}: {r.ratio_text}")
    ind = result.postal["indicators"]
    for r in ind.itertuples():
        lines.append(f"{L.label(L.INDICATOR_LABELS, r.indicator, lang)}: {r.value}")
    return lines
