"""The sample province: a reproducible, calibrated stand-in for real provincial data.

Real village polygons and tower lists are not public, so the default run of phusong uses a
*sample province* generated from a seed and calibrated to a province's reported figures
(DESIGN §7). :func:`generate_sample` writes a bundle folder::

    out/
      bundle.gpkg     admin units, villages, towers, BTS, fibre routes, post offices, roads
      dem.tif         float32 DEM at 30 m in the province's VN-2000 TM-3 zone
      population.tif  people per 90 m cell, each village's population spread over its polygon

How it is made
--------------
1. An irregular province outline of the preset's area around a plausible centre; the part of
   the outline facing the border azimuth is the international border.
2. A river tree (a main river crossing the province, three levels of tributaries) fills it.
3. Terrain: valley floors interpolated from the river profiles, V-shaped valleys whose
   sides rise to ridges between rivers (ridged multifractal relief, higher along the
   border), plus 1/f^β roughness synthesised by FFT; rescaled to the preset's elevation range.
4. Districts and communes: Lloyd-relaxed seeds snapped to valley vertices, Voronoi cells
   clipped to the province (communes nest in districts).
5. Villages: polygons on both banks of the rivers or up on the slopes, weighted towards
   towns; white villages (no signal) sit by design in remote border pockets.
6. Roads follow the valleys to every village, commune and district centre (a connected tree
   with shared endpoints at junctions) plus a track to each village centre.
7. Towers on spurs 0.6–2.2 km from villages, a few hundred metres above the valley floor
   (small urban operators use in-town positions). Each candidate position gets its mast
   height, antenna height and sector azimuths first; whether a BTS there reaches a village is
   the project's own default terrain model (``seeds._build.CALIBRATION_MODEL``: the compiled
   point-to-point kernel with the link budget of :mod:`layers.link_budget`, the preset's
   radio values :attr:`~seeds.presets.Preset.radio`, default settings) at the village
   centre — no proxy. Each operator's sites cover its target villages (a site within 3 km
   that reaches them), chosen by a footprint that grows from the district towns; the
   footprint is bisected until the operator reaches its reported share of villages. 2G is on
   every site; 3G/4G go to the sites of the least remote villages, bisected until the
   villages with 3G/4G match the reported villages with internet — the remote rest has 2G
   only (the villages that the 2G switch-off cuts). Close sites of different operators are
   merged onto one tower (co-location, the guest on the host's mast) until the tower count
   matches. White villages sit in remote border pockets with no site within 15.5 km (beyond
   the terrain model's 15 km cap and the 2G radius). What was tuned, and by how much, is
   listed in the preset's ``tuned``.
8. Fibre along the roads, nearest the capital first, to the reported cable length (up to
   five cables per operator and road), never within 2 km of a village without 3G/4G (so
   fibre does not give internet to villages the reports count without it); undergrounding in
   towns first, to the reported ratio.
9. Post offices of each kind at the district and commune centres and in large villages.

The achieved figures of the calibration model are stored in ``bundle_meta``
(``calibration_model``, ``calibration_villages``) and shown by :func:`sample_summary` beside
the radius model's and the reported ones.

Everything written is labelled sample data (``bundle_meta.sample = "true"``).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS

from phusong.gis.atomic import atomic_path, check_writable
from phusong.layers.bundle import BUNDLE_FILE, ProvinceBundle, read_bundle, write_bundle
from phusong.layers.schema import LAYERS
from phusong.layers.settings import DEFAULT, Settings
from phusong.seeds import _build
from phusong.seeds._calibrate import radius_ratios
from phusong.seeds.presets import Preset, get_preset

logger = logging.getLogger(__name__)

__all__ = [
    "DEM_FILE",
    "POPULATION_FILE",
    "SampleResult",
    "build_sample",
    "generate_sample",
    "population_grid",
    "sample_ratios",
    "sample_summary",
]

DEM_FILE = "dem.tif"
CREATED_BY = "phusong sample generator"


class SampleResult:
    """A generated province in memory (metric CRS), before it is written."""

    def __init__(self, world: _build.World) -> None:
        self.world = world

    @property
    def preset(self) -> Preset:
        return self.world.preset

    def layers(self) -> dict:
        w = self.world
        out = {"admin_units": w.admin, "villages": w.villages, "towers": w.towers,
               "bts": w.bts, "fibre_routes": w.fibre, "post_offices": w.post_offices,
               "roads": w.roads}
        return {name: gdf[[f.name for f in LAYERS[name].fields if f.name in gdf.columns]
                          + ["geometry"]].reset_index(drop=True)
                for name, gdf in out.items()}


def build_sample(preset: str | Preset = "lai-chau", *, seed: int = 0,
                 scale: float = 1.0) -> SampleResult:
    """Generate a sample province in memory (nothing is written).

    Parameters
    ----------
    preset
        A key of :data:`seeds.presets.PRESETS` or a :class:`~seeds.presets.Preset`.
    seed
        Random seed; the same preset, scale and seed give the same province.
    scale
        Shrinks the area and every count proportionally (0 < scale ≤ 1).
    """
    p = get_preset(preset).scaled(scale)
    w = _build.World(preset=p, seed=int(seed), crs=CRS.from_epsg(p.metric_epsg))
    steps = (_build.build_outline, _build.build_terrain, _build.build_admin,
             _build.build_villages, _build.build_roads, _build.build_towers,
             _build.build_fibre, _build.build_post_offices)
    for step in steps:
        t0 = time.perf_counter()
        step(w)
        logger.debug("%s: %.2f s", step.__name__, time.perf_counter() - t0)
    return SampleResult(w)


def _write_dem(w: _build.World, path: Path, *, overwrite: bool) -> Path:
    g = w.grid
    profile = {"driver": "GTiff", "width": g.shape[1], "height": g.shape[0], "count": 1,
               "dtype": "float32", "crs": w.crs, "transform": g.transform, "tiled": True,
               "blockxsize": 256, "blockysize": 256, "compress": "deflate", "predictor": 3,
               "zlevel": 1}
    with atomic_path(path, overwrite=overwrite) as tmp:
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(w.dem, 1)
                dst.update_tags(SAMPLE="true", CREATED_BY=CREATED_BY,
                                PROVINCE=w.preset.name, SEED=str(w.seed))
                dst.set_band_description(1, "elevation_m (DỮ LIỆU MẪU / SAMPLE DATA)")
    return path


POPULATION_FILE = "population.tif"
POPULATION_RES_FACTOR = 3  # population cells are 3 × 3 DEM cells (90 m)


def population_grid(w: _build.World) -> tuple[np.ndarray, object]:
    """People per cell at 3 × the DEM resolution, each village's population spread evenly
    over the cells of its polygon (or its centre cell), so the raster sums to the villages."""
    from affine import Affine
    from rasterio import features

    g = w.grid
    k = POPULATION_RES_FACTOR
    shape = (g.shape[0] // k, g.shape[1] // k)
    tr = g.transform * Affine.scale(k)
    vil = w.villages
    idx = features.rasterize(((geom, i + 1) for i, geom in enumerate(vil.geometry)),
                             out_shape=shape, transform=tr, fill=0, dtype="int32")
    counts = np.bincount(idx.ravel(), minlength=len(vil) + 1)
    pop = vil["population"].to_numpy().astype(np.float64)
    per_cell = np.zeros(len(vil) + 1)
    has = counts[1:] > 0
    per_cell[1:][has] = pop[has] / counts[1:][has]
    grid = per_cell[idx].astype(np.float32)
    xy = w.calibration["village_xy"]
    for i in np.flatnonzero(~has):
        r = int((tr.f - xy[i, 1]) / (g.res_m * k))
        c = int((xy[i, 0] - tr.c) / (g.res_m * k))
        grid[min(max(r, 0), shape[0] - 1), min(max(c, 0), shape[1] - 1)] += np.float32(pop[i])
    return grid, tr


def _write_population(w: _build.World, path: Path, *, overwrite: bool) -> Path:
    grid, tr = population_grid(w)
    profile = {"driver": "GTiff", "width": grid.shape[1], "height": grid.shape[0], "count": 1,
               "dtype": "float32", "crs": w.crs, "transform": tr, "tiled": True,
               "blockxsize": 256, "blockysize": 256, "compress": "deflate", "predictor": 3,
               "zlevel": 1, "nodata": None}
    with atomic_path(path, overwrite=overwrite) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(grid, 1)
            dst.update_tags(SAMPLE="true", CREATED_BY=CREATED_BY, UNIT="people per cell")
            dst.set_band_description(1, "population (DỮ LIỆU MẪU / SAMPLE DATA)")
    return path


def generate_sample(preset: str | Preset = "lai-chau", *, seed: int = 0,
                    out: str | os.PathLike, overwrite: bool = False,
                    scale: float = 1.0) -> ProvinceBundle:
    """Generate a sample province and write it as a bundle folder.

    Parameters
    ----------
    preset
        ``"lai-chau"`` (default), ``"dien-bien"``, ``"lang-son"``, ``"mini"`` or a Preset.
    seed
        Random seed; the same preset, scale and seed give identical layers and DEM bytes.
    out
        The bundle folder to write (``bundle.gpkg``, ``dem.tif``, ``population.tif``).
    overwrite
        Replace existing files; otherwise an existing ``bundle.gpkg``, ``dem.tif`` or
        ``population.tif`` raises :class:`~gis.errors.OutputExistsError`.
    scale
        Shrinks area and counts proportionally (0 < scale ≤ 1).

    Returns
    -------
    ProvinceBundle
        The bundle read back from disk (layers in EPSG:4326, ``is_sample`` true).
    """
    folder = Path(out)
    check_writable(folder / BUNDLE_FILE, overwrite=overwrite)
    check_writable(folder / DEM_FILE, overwrite=overwrite)
    check_writable(folder / POPULATION_FILE, overwrite=overwrite)
    t0 = time.perf_counter()
    res = build_sample(preset, seed=seed, scale=scale)
    w = res.world
    p = w.preset
    folder.mkdir(parents=True, exist_ok=True)
    _write_dem(w, folder / DEM_FILE, overwrite=overwrite)
    _write_population(w, folder / POPULATION_FILE, overwrite=overwrite)
    meta = {"province": p.name, "province_code": p.admin_code, "preset": p.key,
            "seed": str(int(seed)), "scale": f"{p.scale:g}", "year": str(p.year),
            "sample": "true", "metric_epsg": str(p.metric_epsg), "dem": DEM_FILE,
            "population": POPULATION_FILE,
            "calibration_model": _build.CALIBRATION_MODEL,
            "calibration_tuned": "; ".join(p.tuned),
            "calibration_villages": ";".join(
                f"{k}={v}" for k, v in w.calibration.get("achieved", {}).items()),
            "created_by": CREATED_BY}
    write_bundle(ProvinceBundle(layers=res.layers(), meta={}), folder, overwrite=overwrite,
                 meta=meta)
    logger.info("generated sample province %s (preset %s, seed %d) in %s in %.1f s",
                p.name, p.key, seed, folder, time.perf_counter() - t0)
    return read_bundle(folder)


def sample_ratios(bundle: ProvinceBundle, *, as_of=None, settings: Settings = DEFAULT):
    """Radius-model coverage counts and ratios of a bundle (the calibration check).

    ``as_of`` (a date) drops technologies switched off by then; ``None`` counts all, as the
    2021–2023 reports did.
    """
    from phusong.layers.villages import village_centres
    from phusong.seeds._calibrate import techs_in_service

    crs = bundle.metric_crs
    vxy = np.column_stack(village_centres(bundle.layer("villages"), crs))
    bts = bundle.layer("bts").to_crs(crs)
    sxy = np.column_stack([bts.geometry.x, bts.geometry.y])
    return radius_ratios(vxy, sxy, bts["operator"], bts["tech"],
                         techs=techs_in_service(as_of, settings), settings=settings)


_SUMMARY_LABELS = {
    "villages_total": ("Số thôn, bản", "Villages"),
    "villages_with_signal_los": ("Thôn, bản có sóng (mô hình hiệu chỉnh)",
                                 "Villages with signal (calibration model)"),
    "villages_with_internet_los": ("Thôn, bản có internet (mô hình hiệu chỉnh)",
                                   "Villages with internet (calibration model)"),
    "villages_with_signal": ("Thôn, bản có sóng (bán kính, 2G/3G/4G)",
                             "Villages with signal (radius, 2G/3G/4G)"),
    "villages_with_signal_3g4g": ("Thôn, bản có sóng 3G/4G (bán kính)",
                                  "Villages with 3G/4G (radius)"),
    "tower_positions": ("Vị trí cột", "Tower positions"),
    "bts_count": ("Thiết bị trạm BTS", "BTS"),
    "cable_km_total": ("Cáp quang (km)", "Fibre (km)"),
    "underground_ratio": ("Tỷ lệ ngầm hóa", "Underground ratio"),
    "postal_points": ("Điểm phục vụ bưu chính", "Postal points"),
    "population": ("Dân số", "Population"),
}
_OPS = ("viettel", "vinaphone", "mobifone", "vietnamobile")
_SCALED = ("villages_total", "villages_with_signal", "villages_with_internet", "tower_positions",
           "bts_count", "cable_km_total", "postal_points")


def sample_summary(bundle: ProvinceBundle, *, settings: Settings = DEFAULT):
    """The sample's figures beside the preset's targets and the reported ones.

    Coverage is shown three ways: the calibration model (line of sight, recorded in the
    bundle's ``calibration_villages`` meta when it was generated; it tracks the terrain
    model), the radius model with every technology (as the 2021–2023 reports counted) and
    the radius model with 3G/4G only (what counts after the 2G switch-off). Returns a
    DataFrame with columns ``indicator``, ``label_vi``, ``label_en``, ``sample``,
    ``target`` (what the preset asked for; NaN where it sets none) and ``reported`` (NaN
    where the seeds give no figure).
    """
    import datetime as dt

    import pandas as pd

    from phusong.seeds.figures import reported

    all_t = sample_ratios(bundle, settings=settings)
    new_t = sample_ratios(bundle, as_of=dt.date.fromisoformat(settings.date_3g_off)
                          - dt.timedelta(days=1), settings=settings)
    n = max(int(all_t["villages_total"]), 1)
    crs = bundle.metric_crs
    fib = bundle.layer("fibre_routes").to_crs(crs)
    km = fib.length / 1000.0
    cal = {}
    if bundle.meta.get("calibration_villages"):
        cal = {k: int(v) for k, v in (kv.split("=") for kv in
                                      bundle.meta["calibration_villages"].split(";"))}
    nan = float("nan")
    values = {"villages_total": all_t["villages_total"],
              "villages_with_signal_los": cal.get("any", nan),
              "villages_with_internet_los": cal.get("internet", nan)}
    labels = dict(_SUMMARY_LABELS)
    for op in _OPS:
        name = op.capitalize().replace("Mobifone", "MobiFone")
        key = f"coverage_ratio_{op}_los"
        values[key] = round(cal[op] / n, 3) if op in cal else nan
        labels[key] = (f"Tỷ lệ phủ sóng {name} (mô hình hiệu chỉnh)",
                       f"{name} coverage (calibration model)")
    values.update({
        "villages_with_signal": all_t["villages_with_signal"],
        "villages_with_signal_3g4g": new_t["villages_with_signal"],
    })
    for op in _OPS:
        name = op.capitalize().replace("Mobifone", "MobiFone")
        values[f"coverage_ratio_{op}"] = round(float(all_t[f"coverage_ratio_{op}"]), 3)
        values[f"coverage_ratio_{op}_3g4g"] = round(float(new_t[f"coverage_ratio_{op}"]), 3)
        labels[f"coverage_ratio_{op}"] = (f"Tỷ lệ phủ sóng {name} (bán kính, 2G/3G/4G)",
                                          f"{name} coverage (radius, 2G/3G/4G)")
        labels[f"coverage_ratio_{op}_3g4g"] = (f"Tỷ lệ phủ sóng {name} (bán kính, 3G/4G)",
                                               f"{name} coverage (radius, 3G/4G)")
    values.update({
        "tower_positions": len(bundle.layer("towers")),
        "bts_count": len(bundle.layer("bts")),
        "cable_km_total": round(float(km.sum()), 1),
        "underground_ratio": round(float(km[fib["kind"] == "underground"].sum()
                                         / max(km.sum(), 1e-9)), 3),
        "postal_points": len(bundle.layer("post_offices")),
        "population": int(bundle.layer("villages")["population"].sum()),
    })
    year = int(bundle.meta.get("year", 0) or 0) or None
    rep = reported(bundle.province, year)
    rep = rep[rep["district"] == ""].drop_duplicates("indicator").set_index("indicator")["value"]
    scale = float(bundle.meta.get("scale", "1") or 1)
    try:
        pre = get_preset(bundle.meta.get("preset", "")).scaled(scale)
    except Exception:  # a bundle of another preset (seeds.multi) or generator version
        pre = None
    targets = {}
    if pre is not None and pre.key == bundle.meta.get("preset"):
        targets = {"villages_total": pre.villages,
                   "villages_with_signal_los": pre.villages_with_signal,
                   "villages_with_internet_los": round(pre.internet_ratio * pre.villages),
                   "tower_positions": pre.towers, "bts_count": pre.bts,
                   "cable_km_total": pre.cable_km, "underground_ratio": pre.underground_ratio,
                   "postal_points": sum(pre.post_offices.values()),
                   "population": pre.population,
                   **{f"coverage_ratio_{op}_los": v for op, v in pre.coverage_target.items()}}
    rows = []
    for key, val in values.items():
        base = key.removesuffix("_3g4g").removesuffix("_los")
        r = nan if key.endswith("_3g4g") else rep.get(base, nan)
        if scale != 1 and base in _SCALED:
            r = round(r * scale, 1 if base == "cable_km_total" else 0)
        rows.append({"indicator": key, "label_vi": labels[key][0], "label_en": labels[key][1],
                     "sample": float(val), "target": float(targets.get(key, nan)),
                     "reported": float(r)})
    return pd.DataFrame(rows)
