"""Put imported layers into a bundle, one source at a time or all in one step.

``import_*_into(bundle, …)`` read a bundle folder (or start a new one), import one source
into it — appending to a layer or replacing it — and write the bundle back atomically.
Rejected rows are written as ``rejects/rejects_<layer>_<source>.csv`` in the bundle folder
(or ``rejects_dir``). :func:`build_bundle` runs the importers in the order that lets each
use the previous ones — admin boundaries (the province polygon and its communes), OSM
(villages joined to communes, roads, masts, post offices), OpenCelliD (towers and BTS,
clipped to the province), DEM (clipped to the province with a halo, in its TM-3 zone),
population (filling village populations) — and writes the bundle once.

Bundle metadata set here: ``province``, ``province_code``, ``metric_epsg`` (the TM-3 zone
of the province's centre), ``sample = "false"``, ``dem``, ``population``, ``created_by``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import rasterio
from rasterio.warp import transform_bounds
from rasterio.windows import from_bounds

from phusong.gis.atomic import StagedOutputs, atomic_path
from phusong.gis.errors import InputError, OutputExistsError
from phusong.layers.bundle import BUNDLE_FILE, ProvinceBundle, read_bundle, write_bundle
from phusong.layers.importers._common import (
    ImportResult,
    merge_layer,
    reject_outside,
    write_rejects,
)
from phusong.layers.importers.admin import province_geometry, read_admin
from phusong.layers.importers.opencellid import attach_to_existing, read_opencellid
from phusong.layers.importers.osm import OSM_LAYERS, read_osm
from phusong.layers.importers.population import fill_population
from phusong.layers.importers.tables import TABLE_LAYERS, read_list
from phusong.layers.schema import LAYERS
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["StepReport", "build_bundle", "import_admin_into", "import_dem_into",
           "import_list_into", "import_opencellid_into", "import_osm_into",
           "import_population_into", "summary_frame"]

DEM_FILE = "dem.tif"
POPULATION_FILE = "population.tif"
#: the files one build makes (its set, swapped in together)
BUILD_OUTPUTS = (BUNDLE_FILE, DEM_FILE, POPULATION_FILE, "rejects/rejects_*.csv")


@dataclasses.dataclass
class StepReport:
    """One line of an import summary: what a source gave one layer."""

    layer: str
    source: str
    rows_in: int
    accepted: int
    rejected: int
    warnings: list[str] = dataclasses.field(default_factory=list)
    rejects_file: Path | None = None
    change: str = ""
    extra_files: list[Path] = dataclasses.field(default_factory=list)

    @classmethod
    def of(cls, result: ImportResult, rejects_file: Path | None = None) -> StepReport:
        return cls(layer=result.layer, source=result.source, rows_in=result.n_in,
                   accepted=result.n_accepted, rejected=result.n_rejected,
                   warnings=list(result.warnings), rejects_file=rejects_file,
                   change=str(result.stats.get("change", "")))


def summary_frame(reports: Iterable[StepReport]) -> pd.DataFrame:
    """The reports as a table: layer, source, in, accepted, rejected, warnings, rejects."""
    return pd.DataFrame([{"layer": r.layer, "source": r.source, "in": r.rows_in,
                          "accepted": r.accepted, "rejected": r.rejected,
                          "warnings": len(r.warnings),
                          "rejects": "" if r.rejects_file is None else str(r.rejects_file)}
                         for r in reports])


# -- bundle plumbing ------------------------------------------------------------------------
def _open(path: str | os.PathLike) -> ProvinceBundle:
    folder = Path(path)
    if (folder / BUNDLE_FILE).exists() or (folder.suffix.lower() == ".gpkg" and folder.exists()):
        return read_bundle(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: not a bundle folder")
    return ProvinceBundle(layers={}, meta={"sample": "false", "created_by": "phusong import"},
                          folder=folder)


def _folder(bundle: ProvinceBundle, path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.parent if p.suffix.lower() == ".gpkg" else p


def _save(bundle: ProvinceBundle, path: str | os.PathLike) -> None:
    bundle.meta.setdefault("sample", "false")
    write_bundle(bundle, path, overwrite=True)


def _merge(bundle: ProvinceBundle, results: Mapping[str, ImportResult], *, mode: str,
           rejects_dir: Path) -> list[StepReport]:
    reports = []
    for name, result in results.items():
        if name in LAYERS:
            result = merge_layer(bundle, result, mode=mode)
        reports.append(StepReport.of(result, write_rejects(result, rejects_dir,
                                                           overwrite=True)))
    return reports


def _area(bundle: ProvinceBundle):
    """The province polygon of the bundle, or None when it has no admin units."""
    if not bundle.has("admin_units"):
        return None
    return province_geometry(bundle.layer("admin_units"))


def _set_province_meta(bundle: ProvinceBundle, admin_units: gpd.GeoDataFrame) -> None:
    from phusong.gis.crs import tm3_crs_for_lon

    prov = admin_units[admin_units["level"] == "province"]
    if len(prov):
        bundle.meta["province"] = str(prov["name"].iloc[0])
        bundle.meta["province_code"] = str(prov["code"].iloc[0])
    geom = province_geometry(admin_units)
    bundle.meta["metric_epsg"] = str(tm3_crs_for_lon(geom.centroid.x).to_epsg())


# -- steps on an in-memory bundle -----------------------------------------------------------
def _step_admin(bundle: ProvinceBundle, sources: Any, *, province: str | None,
                structure: str, crs: Any, mode: str, rejects_dir: Path,
                encoding: str | None = None, columns: Mapping[str, str] | None = None,
                clip_lonlat: Sequence[float] | None = None) -> list[StepReport]:
    result = read_admin(sources, province=province, structure=structure, crs=crs,
                        encoding=encoding, columns=columns, clip_lonlat=clip_lonlat)
    reports = _merge(bundle, {"admin_units": result}, mode=mode, rejects_dir=rejects_dir)
    if bundle.has("admin_units"):
        _set_province_meta(bundle, bundle.layer("admin_units"))
    return reports


def _step_osm(bundle: ProvinceBundle, source: Any, *, layers: Sequence[str], mode: str,
              rejects_dir: Path) -> list[StepReport]:
    admin = bundle.layer("admin_units") if bundle.has("admin_units") else None
    results = read_osm(source, layers=layers, admin_units=admin, area_lonlat=_area(bundle))
    return _merge(bundle, results, mode=mode, rejects_dir=rejects_dir)


def _step_opencellid(bundle: ProvinceBundle, path: Any, *, cluster_m: float,
                     merge_operators: bool, mode: str, rejects_dir: Path,
                     bounds: Sequence[float] | None = None) -> list[StepReport]:
    metric = bundle.meta.get("metric_epsg")
    area = _area(bundle)
    if area is None and bounds is not None:
        from shapely.geometry import box

        area = box(*bounds)
    results = read_opencellid(path, area_lonlat=area, cluster_m=cluster_m,
                              merge_operators=merge_operators,
                              metric_crs=int(metric) if metric else None)
    if mode == "append" and bundle.has("towers"):
        from phusong.gis.crs import tm3_crs_for_lon

        crs = int(metric) if metric else tm3_crs_for_lon(bundle.total_bounds()[0])
        results["towers"], results["bts"] = attach_to_existing(
            results["towers"], results["bts"], bundle.layer("towers"), bundle.layer("bts"),
            distance_m=cluster_m, metric_crs=crs)
    return _merge(bundle, results, mode=mode, rejects_dir=rejects_dir)


def _step_list(bundle: ProvinceBundle, layer: str, path: Any, *, mode: str, rejects_dir: Path,
               sheet: str | None = None, columns: Mapping[str, str] | None = None,
               encoding: str | None = None, crs: Any = None,
               colocate_m: float | None = None, places: Any = None,
               population: Any = None, threshold: float | None = None,
               settings: Settings = DEFAULT) -> list[StepReport]:
    """One operator's or province's list (towers, bts, villages, post_offices,
    fibre_routes) into the bundle; rows outside the province are rejected with that reason."""
    from phusong.layers.validate import bounds_from_admin

    admin = bundle.layer("admin_units") if bundle.has("admin_units") else None
    box = bounds_from_admin(admin) if admin is not None else None
    area = _area(bundle)
    report_file = None
    if layer == "villages":
        from phusong.layers.importers.villages import (
            MATCH_THRESHOLD,
            read_village_list,
            write_match_report,
        )

        if places is not None and not isinstance(places, gpd.GeoDataFrame):
            places = read_osm(places, layers=["villages"], admin_units=admin,
                              area_lonlat=area)["villages"].accepted
        elif places is None and bundle.has("villages"):
            places = bundle.layer("villages")
        metric = bundle.meta.get("metric_epsg")
        result, report = read_village_list(
            path, admin_units=admin, places=places, sheet=sheet, columns=columns,
            encoding=encoding, crs=crs, population=population, bounds=box,
            threshold=MATCH_THRESHOLD if threshold is None else threshold,
            settings=settings, metric_crs=int(metric) if metric else None)
        if (report["match"] != "geometry").any():
            stem = Path(str(path)).stem
            report_file = write_match_report(report, rejects_dir / f"matches_villages_{stem}.csv")
        results = {"villages": result}
    else:
        towers = bundle.layer("towers") if layer == "bts" and bundle.has("towers") else None
        results = read_list(path, layer, sheet=sheet, columns=columns, encoding=encoding,
                            crs=crs, bounds=box, towers=towers,
                            colocate_m=settings.colocate_m if colocate_m is None
                            else colocate_m)
        if "towers" in results:  # towers formed from BTS positions go in first
            results = {"towers": results["towers"], **{k: v for k, v in results.items()
                                                       if k != "towers"}}
    results = {k: reject_outside(v, area) for k, v in results.items()}
    reports = _merge(bundle, results, mode=mode, rejects_dir=rejects_dir)
    if report_file is not None:
        reports[-1].extra_files.append(report_file)
    return reports


def _step_population(bundle: ProvinceBundle, raster: Any, folder: Path, *, replace: bool,
                     copy_raster: bool, settings: Settings, overwrite: bool
                     ) -> list[StepReport]:
    if not bundle.has("villages"):
        raise InputError("the bundle has no villages to fill; import villages first "
                         "(phusong import osm …)")
    metric = bundle.meta.get("metric_epsg")
    result = fill_population(bundle.layer("villages"), raster, replace=replace,
                             metric_crs=int(metric) if metric else None, settings=settings)
    bundle.layers["villages"] = result.accepted
    if copy_raster:
        _copy_window(Path(raster), folder / POPULATION_FILE, bundle, overwrite=overwrite)
        bundle.meta["population"] = POPULATION_FILE
    report = StepReport.of(result)
    report.layer = "villages (population)"
    report.accepted = result.stats.get("filled", 0)
    report.rejected = 0
    return [report]


def _step_dem(bundle: ProvinceBundle, sources: Any, folder: Path, *, halo_m: float,
              res_m: float | None, bounds: Sequence[float] | None, overwrite: bool
              ) -> list[StepReport]:
    from phusong.gis.dem_tiles import find_dem_sources, import_dem

    area = _area(bundle)
    if area is None:
        if bounds is not None:
            from shapely.geometry import box

            area = box(*bounds)
        elif bundle.layers and any(len(g) for g in bundle.layers.values()):
            from shapely.geometry import box

            area = box(*bundle.total_bounds())
        else:
            raise InputError("no area to clip the DEM to: import admin boundaries first or "
                             "pass bounds (west, south, east, north)")
    metric = bundle.meta.get("metric_epsg")
    srcs = find_dem_sources(sources)
    dem = import_dem(srcs, folder / DEM_FILE, area_lonlat=area, halo_m=halo_m,
                     dst_crs=int(metric) if metric else None, res_m=res_m,
                     overwrite=overwrite)
    bundle.meta["dem"] = DEM_FILE
    bundle.meta.setdefault("metric_epsg", str(dem.crs.to_epsg()))
    return [StepReport(layer="dem", source=", ".join(p.name for p in srcs),
                       rows_in=len(srcs), accepted=len(srcs), rejected=0,
                       warnings=[*dem.warnings,
                                 f"{dem.shape[0]}×{dem.shape[1]} cells of {dem.res_m:g} m, "
                                 f"{dem.voids_filled} void cells filled"])]


def _copy_window(src: Path, dst: Path, bundle: ProvinceBundle, *, overwrite: bool) -> None:
    """Copy the part of a raster over the bundle's extent (plus ~2 km) to ``dst``."""
    west, south, east, north = bundle.total_bounds()
    pad = 0.02
    with rasterio.open(src) as ds:
        b = transform_bounds("EPSG:4326", ds.crs, west - pad, south - pad, east + pad,
                             north + pad)
        window = from_bounds(*b, transform=ds.transform).round_offsets().round_lengths()
        window = window.intersection(rasterio.windows.Window(0, 0, ds.width, ds.height))
        data = ds.read(window=window)
        profile = {**ds.profile, "width": int(window.width), "height": int(window.height),
                   "transform": ds.window_transform(window), "compress": "deflate"}
        for key in ("blockxsize", "blockysize", "tiled"):
            profile.pop(key, None)
    with atomic_path(dst, overwrite=overwrite) as tmp, rasterio.open(tmp, "w", **profile) as out:
        out.write(data)


# -- one source into a bundle ---------------------------------------------------------------
def _run(bundle_path: str | os.PathLike, step, *, rejects_dir: Path | None, **kwargs: Any
         ) -> list[StepReport]:
    bundle = _open(bundle_path)
    folder = _folder(bundle, bundle_path)
    rdir = Path(rejects_dir) if rejects_dir is not None else folder / "rejects"
    reports = step(bundle, rejects_dir=rdir, **kwargs)
    _save(bundle, bundle_path)
    return reports


def import_admin_into(bundle_path: str | os.PathLike, sources: Any, *,
                      province: str | None = None, structure: str = "auto", crs: Any = None,
                      encoding: str | None = None, mode: str = "append",
                      columns: Mapping[str, str] | None = None,
                      clip_lonlat: Sequence[float] | None = None,
                      rejects_dir: Path | None = None) -> list[StepReport]:
    """Import admin boundaries (:func:`~layers.importers.admin.read_admin`) into a bundle.

    Sets the bundle's ``province``, ``province_code`` and ``metric_epsg``.
    """
    return _run(bundle_path, _step_admin, rejects_dir=rejects_dir, sources=sources,
                province=province, structure=structure, crs=crs, encoding=encoding,
                mode=mode, columns=columns, clip_lonlat=clip_lonlat)


def import_osm_into(bundle_path: str | os.PathLike, source: Any, *,
                    layers: Sequence[str] = OSM_LAYERS, mode: str = "append",
                    rejects_dir: Path | None = None) -> list[StepReport]:
    """Import OSM layers (:func:`~layers.importers.osm.read_osm`) into a bundle.

    Villages are joined to the bundle's communes; masts and post offices are clipped to
    its province.
    """
    return _run(bundle_path, _step_osm, rejects_dir=rejects_dir, source=source,
                layers=tuple(layers), mode=mode)


def import_opencellid_into(bundle_path: str | os.PathLike, path: Any, *,
                           cluster_m: float = 150.0, merge_operators: bool = False,
                           bounds: Sequence[float] | None = None, mode: str = "append",
                           rejects_dir: Path | None = None) -> list[StepReport]:
    """Import an OpenCelliD export (:func:`~layers.importers.opencellid.read_opencellid`)
    into a bundle's towers and BTS, clipped to its province (or to lon/lat ``bounds`` when
    the bundle has no admin units).

    In append mode, clusters within ``cluster_m`` of a tower already in the bundle that
    carries the same operator are that tower (see
    :func:`~layers.importers.opencellid.attach_to_existing`).
    """
    return _run(bundle_path, _step_opencellid, rejects_dir=rejects_dir, path=path,
                cluster_m=cluster_m, merge_operators=merge_operators, bounds=bounds,
                mode=mode)


def import_dem_into(bundle_path: str | os.PathLike, sources: Any, *, halo_m: float = 2_000.0,
                    res_m: float | None = None, bounds: Sequence[float] | None = None,
                    overwrite: bool = False) -> list[StepReport]:
    """Build the bundle's ``dem.tif`` from GeoTIFFs/SRTM tiles (:func:`gis.dem_tiles.import_dem`).

    The DEM covers the province (or ``bounds``) plus ``halo_m``, in its TM-3 zone. An
    existing ``dem.tif`` is only replaced with ``overwrite=True``.
    """
    bundle = _open(bundle_path)
    folder = _folder(bundle, bundle_path)
    if (folder / DEM_FILE).exists() and not overwrite:
        raise OutputExistsError(f"{folder / DEM_FILE}: the bundle already has a DEM; pass "
                                "--overwrite to replace it")
    reports = _step_dem(bundle, sources, folder, halo_m=halo_m, res_m=res_m, bounds=bounds,
                        overwrite=overwrite)
    _save(bundle, bundle_path)
    return reports


def import_population_into(bundle_path: str | os.PathLike, raster: Any, *,
                           replace: bool = False, copy_raster: bool = True,
                           settings: Settings = DEFAULT, overwrite: bool = True
                           ) -> list[StepReport]:
    """Fill the bundle's village populations from a raster; keep a clipped copy of the raster
    as ``population.tif``."""
    bundle = _open(bundle_path)
    folder = _folder(bundle, bundle_path)
    reports = _step_population(bundle, raster, folder, replace=replace,
                               copy_raster=copy_raster, settings=settings,
                               overwrite=overwrite)
    _save(bundle, bundle_path)
    return reports


def import_list_into(bundle_path: str | os.PathLike, layer: str, path: Any, *,
                     sheet: str | None = None, columns: Mapping[str, str] | None = None,
                     encoding: str | None = None, crs: Any = None, mode: str = "append",
                     colocate_m: float | None = None, places: Any = None,
                     population: Any = None, threshold: float | None = None,
                     settings: Settings = DEFAULT,
                     rejects_dir: Path | None = None) -> list[StepReport]:
    """Import an operator's or the province's own list into a bundle's layer.

    ``layer`` is one of :data:`~layers.importers.tables.TABLE_LAYERS`; see
    :func:`~layers.importers.tables.read_list` (towers, BTS, post offices, fibre) and
    :func:`~layers.importers.villages.read_village_list` (villages: polygons, points or names
    matched to ``places`` — the bundle's OSM villages by default; the match report is
    written beside the rejects as ``matches_villages_<file>.csv``). ``mode="replace"``
    replaces the layer; the step reports say how the layer changed. ``colocate_m`` defaults
    to ``settings.colocate_m``.
    """
    if layer not in TABLE_LAYERS:
        raise InputError(f"unknown list layer {layer!r}; use one of {', '.join(TABLE_LAYERS)}")
    return _run(bundle_path, _step_list, rejects_dir=rejects_dir, layer=layer, path=path,
                mode=mode, sheet=sheet, columns=columns, encoding=encoding, crs=crs,
                colocate_m=colocate_m, places=places, population=population,
                threshold=threshold, settings=settings)


# -- all sources at once --------------------------------------------------------------------
def build_bundle(out: str | os.PathLike, *, admin: Any = None, province: str | None = None,
                 structure: str = "auto", admin_crs: Any = None, osm: Any = None,
                 osm_layers: Sequence[str] = OSM_LAYERS, opencellid: Any = None,
                 cluster_m: float = 150.0, merge_operators: bool = False, dem: Any = None,
                 halo_m: float = 2_000.0, dem_res_m: float | None = None,
                 population: Any = None, replace_population: bool = False,
                 overwrite: bool = False, settings: Settings = DEFAULT,
                 progress: Any = None, admin_columns: Mapping[str, str] | None = None,
                 clip_lonlat: Sequence[float] | None = None,
                 sources: Sequence[tuple[str, Any, Mapping[str, Any]]] = ()
                 ) -> list[StepReport]:
    """Assemble a bundle folder from real sources in one step.

    Parameters
    ----------
    out
        Bundle folder to write (``bundle.gpkg``, ``dem.tif``, ``population.tif``,
        ``rejects/``).
    admin, province, structure, admin_crs, admin_columns, clip_lonlat
        Admin boundary files, the province to keep, a column mapping for files of unknown
        layout and a lon/lat box to keep part of the province (see
        :func:`~layers.importers.admin.read_admin`).
    osm, osm_layers
        An ``.osm`` file, a place name or a polygon, and the layers to take from it.
    opencellid, cluster_m, merge_operators
        An OpenCelliD/MLS CSV (``.gz``) and how to cluster cells into towers.
    dem, halo_m, dem_res_m
        GeoTIFF/SRTM files or folders, the halo around the province and the cell size.
    population, replace_population
        A population raster and whether to overwrite populations already known.
    sources
        The operators' and the province's own lists, after OSM and OpenCelliD:
        ``(layer, file, options)`` with ``layer`` one of
        :data:`~layers.importers.tables.TABLE_LAYERS` and ``options`` those of
        :func:`import_list_into` (``sheet``, ``columns``, ``mode``, ``colocate_m`` …).
    overwrite
        Replace an existing bundle in ``out``.
    progress
        Optional callable ``progress(step_name)`` called before each step.

    Returns
    -------
    list of StepReport
        One line per layer and source.
    """
    folder = Path(out)
    if (folder / BUNDLE_FILE).exists() and not overwrite:
        raise OutputExistsError(f"{folder / BUNDLE_FILE}: exists; pass --overwrite "
                                "to rebuild the bundle")
    if not any(x is not None for x in (admin, osm, opencellid)) and not sources:
        raise InputError("nothing to build: give at least admin boundaries, an OSM source or "
                         "an OpenCelliD file")
    # every file is written into a staging folder and swapped in at the end: a build that
    # fails half-way leaves the previous bundle (or none), never a rejects/ folder alone
    stage = StagedOutputs(folder, patterns=BUILD_OUTPUTS)
    work = stage.open()
    try:
        reports = _build(work, admin=admin, province=province, structure=structure,
                         admin_crs=admin_crs, osm=osm, osm_layers=osm_layers,
                         opencellid=opencellid, cluster_m=cluster_m,
                         merge_operators=merge_operators, dem=dem, halo_m=halo_m,
                         dem_res_m=dem_res_m, population=population,
                         replace_population=replace_population, settings=settings,
                         progress=progress, admin_columns=admin_columns,
                         clip_lonlat=clip_lonlat, sources=sources)
        stage.commit()
    except BaseException:  # also a Ctrl-C on the way into the commit
        stage.abort()
        raise
    for r in reports:  # name the final places, not the staging folder
        if r.rejects_file is not None:
            r.rejects_file = stage.target / "rejects" / r.rejects_file.name
        r.warnings = [w.replace(str(work), str(folder)) for w in r.warnings]
    logger.info("built bundle %s", folder)
    return reports


def _build(folder: Path, *, admin: Any, province: str | None, structure: str,
           admin_crs: Any, osm: Any, osm_layers: Any, opencellid: Any, cluster_m: float,
           merge_operators: bool, dem: Any, halo_m: float, dem_res_m: float | None,
           population: Any, replace_population: bool, settings: Settings,
           progress: Any, admin_columns: Mapping[str, str] | None,
           clip_lonlat: Sequence[float] | None,
           sources: Sequence[tuple[str, Any, Mapping[str, Any]]]) -> list[StepReport]:
    bundle = ProvinceBundle(layers={}, meta={"sample": "false", "created_by": "phusong build"},
                            folder=folder)
    rdir = folder / "rejects"
    reports: list[StepReport] = []

    def tick(name: str) -> None:
        if progress is not None:
            progress(name)

    if admin is not None:
        tick("admin")
        reports += _step_admin(bundle, admin, province=province, structure=structure,
                               crs=admin_crs, mode="replace", rejects_dir=rdir,
                               columns=admin_columns, clip_lonlat=clip_lonlat)
    elif province is not None:
        bundle.meta["province"] = province
    if osm is not None:
        tick("osm")
        reports += _step_osm(bundle, osm, layers=osm_layers, mode="append", rejects_dir=rdir)
    if opencellid is not None:
        tick("opencellid")
        reports += _step_opencellid(bundle, opencellid, cluster_m=cluster_m,
                                    merge_operators=merge_operators, mode="append",
                                    rejects_dir=rdir)
    for layer, path, options in sources:
        tick(layer)
        reports += _step_list(bundle, layer, path, mode=options.get("mode", "append"),
                              rejects_dir=rdir, settings=settings,
                              **{k: v for k, v in options.items() if k != "mode"})
    if dem is not None:
        tick("dem")
        reports += _step_dem(bundle, dem, folder, halo_m=halo_m, res_m=dem_res_m, bounds=None,
                             overwrite=True)
    if population is not None:
        tick("population")
        reports += _step_population(bundle, population, folder, replace=replace_population,
                                    copy_raster=True, settings=settings, overwrite=True)
    tick("write")
    write_bundle(bundle, folder, overwrite=True)
    logger.info("built bundle %s: %s", folder,
                ", ".join(f"{k} {v}" for k, v in bundle.counts().items()))
    return reports
