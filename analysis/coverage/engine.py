"""Coverage of a province's BTS: the radius model and the terrain model (DESIGN §4).

Two models, same outputs: a best-server field per (operator, technology) on one metric grid,
and :meth:`CoverageResult.covered` masks that :mod:`analysis.status` turns into village status.

``radius``
    A BTS covers the disc of ``settings.radius_m(tech, band)`` around it (GSMA/Collins
    fallback radii: 2G 12 km, 3G 4 km, 4G 4 km, 5G 0.5 km). Its "dBm" field is synthetic: it
    falls linearly from threshold + 20 dB at the site to the threshold at the disc's edge, so
    that ``covered`` means "inside a disc" and the same status code serves both models.

``terrain`` (the default when a DEM is present)
    Received reference-signal level ``P = EIRP_ref − M − L + G(φ, θ)`` on every DEM cell
    within each BTS's computation radius, by a compiled radial sweep (:mod:`gis._kernels`),
    receiver at ``rx_height_m`` (1.5 m), k = 4/3 Earth. ``EIRP_ref`` is the power of what the
    threshold measures — 2G BCCH carrier, 3G CPICH, 4G RSRP and 5G SS-RSRP per resource
    element — plus antenna gain minus feeder loss, ``M`` the fading and penetration margins,
    and a cell counts only where the uplink also closes (:mod:`layers.link_budget`; radio
    values from the ``bts`` row, else :data:`layers.settings.RADIO_DEFAULTS`, and every run
    logs how many BTS took a default, per field). ``G`` is the 3GPP TR 36.814 sector pattern
    (horizontal and vertical with tilt) or the row's MSI/Planet pattern file; omni without an
    azimuth. The path loss ``L`` is, by default (``path_loss_model="p526"``), free space plus
    the diffraction of the profile's taut string — Deygout's three edges (ITU-R P.526
    ``J(ν)``) with the empirical correction of ITU-R P.452-14 (``diffraction="deygout_p452"``)
    — terrain counted once; Hata/COST-231 (which hold an average terrain effect) and free space
    alone are named options. Formulas and sources: :mod:`gis.propagation`; exactly what the
    kernel computes: :mod:`gis._kernels`. The computation radius of a BTS is the smallest of
    its radio horizon, the free-space distance of its maximum path loss and the
    ``max_radius_km`` cap; the run logs how many sites hit the cap. An optional land-cover
    source adds a clutter loss per class at the receiver (:mod:`analysis.coverage.clutter`).

``itm``
    Longley-Rice ITM 1.2.2 in point-to-point mode (:mod:`gis._itm`) on the profile from the
    BTS to every DEM cell of the same radial sweep: ``P = EIRP + G(φ) − L_ITM``, with climate,
    ground constants, refractivity, polarisation and variability from the ``itm_*`` settings.
    The reference model of the field (SPLAT! ``-olditm``); about 10× slower than ``terrain``
    (``bench/validate.py``, ``docs/validation.md``).

Thresholds (``settings.threshold_dbm``): 2G −100 dBm, 3G RSCP −105 dBm, 4G/5G RSRP −110 dBm.
No official Vietnamese coverage threshold was found; QCVN 81:2019/BTTTT governs 4G service
quality, not a coverage threshold.

Limits
    Location variability only as the fading margin of a location probability (median by
    default); no time variability; no building-level clutter. The field's reference,
    Longley-Rice (ITM, SPLAT! ``-olditm``), is slower by orders of magnitude
    (``bench/coverage.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import affine
import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy import sparse

from phusong.analysis.coverage.models import (
    DEFAULT_MODEL_WITH_DEM,
    DEFAULT_MODEL_WITHOUT_DEM,
    MODELS,
    TERRAIN_MODELS,
)
from phusong.analysis.coverage.villages import village_sample_points
from phusong.gis import _itm, _kernels
from phusong.gis.crs import reproject
from phusong.gis.dem import Dem, fill_voids, read_dem, write_raster
from phusong.gis.errors import DEMError, InputError
from phusong.gis.propagation import hata_base_db, wavelength_m
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import DEFAULT, DIFFRACTION_MODES, TECHNOLOGIES, Settings

logger = logging.getLogger(__name__)

__all__ = ["CoverageGrid", "CoverageResult", "SiteArrays", "computation_radius_m",
           "compute_coverage", "itm_params", "kernel_model", "link_budget_lines", "load_dem",
           "own_coverage", "prepare_sites", "resolve_dem", "site_village_matrix"]

#: diffraction setting → kernel code (:data:`layers.settings.DIFFRACTION_MODES`)
#: radius model: synthetic field rises this many dB above the threshold at the site
RADIUS_TOP_DB = 20.0
_DIFF_MODE = dict(DIFFRACTION_MODES)


@dataclasses.dataclass(frozen=True)
class CoverageGrid:
    """The metric grid coverage is computed on (north-up)."""

    transform: affine.Affine
    crs: CRS
    shape: tuple[int, int]

    @property
    def res_xy(self) -> tuple[float, float]:
        return abs(self.transform.a), abs(self.transform.e)

    def colrow_f(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Continuous (col, row) of map points; cell centres at +0.5."""
        c, r = (~self.transform) * (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(c, dtype=float), np.asarray(r, dtype=float)

    def rowcol(self, x, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Integer (row, col) and an inside-the-grid mask."""
        c, r = self.colrow_f(x, y)
        rr = np.floor(r).astype(np.int64)
        cc = np.floor(c).astype(np.int64)
        inside = (rr >= 0) & (cc >= 0) & (rr < self.shape[0]) & (cc < self.shape[1])
        return rr, cc, inside


@dataclasses.dataclass
class CoverageResult:
    """Best-server fields per (operator, technology).

    Attributes
    ----------
    model
        ``"terrain"``, ``"itm"`` or ``"radius"``.
    grid
        The grid every array lives on.
    best_dbm
        ``(operator, tech)`` → float32 array of best-server received power in dBm, NaN where
        no BTS of that operator and technology reaches (synthetic for the radius model).
    thresholds_dbm
        Threshold per technology used by :meth:`covered`.
    sample
        True when computed from sample data (labelled in every written file).
    """

    model: str
    grid: CoverageGrid
    best_dbm: dict[tuple[str, str], np.ndarray]
    thresholds_dbm: dict[str, float]
    sample: bool = False
    site_counts: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)
    #: per-group fit table when a calibration was applied (:mod:`analysis.coverage.calibrate`)
    calibration: pd.DataFrame | None = None
    #: the link budget of every BTS (:func:`layers.link_budget.link_budget`)
    budget: pd.DataFrame | None = None
    #: how many BTS took the radio table's value, per field, in one line
    defaults_line: str = ""
    #: sites whose computation radius is the ``max_radius_km`` cap (terrain model)
    sites_at_cap: int = 0

    @property
    def keys(self) -> list[tuple[str, str]]:
        return sorted(self.best_dbm)

    def covered(self, operator: str, tech: str) -> np.ndarray:
        """Boolean mask: best-server power at or above the technology's threshold."""
        arr = self.best_dbm.get((str(operator), tech))
        if arr is None:
            return np.zeros(self.grid.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            return arr >= self.thresholds_dbm[tech]

    def covered_any(self, operators: Iterable[str] | None = None,
                    techs: Iterable[str] | None = None) -> np.ndarray:
        """Union of :meth:`covered` over operators and technologies."""
        ops = set(operators) if operators is not None else {k[0] for k in self.best_dbm}
        ts = set(techs) if techs is not None else set(TECHNOLOGIES)
        out = np.zeros(self.grid.shape, dtype=bool)
        for op, tech in self.best_dbm:
            if op in ops and tech in ts:
                out |= self.covered(op, tech)
        return out

    def write_rasters(self, folder: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
        """Write ``coverage_<operator>_<tech>.tif`` (float32 dBm, NaN = no signal)."""
        folder = Path(folder)
        paths = []
        for op, tech in self.keys:
            tags = {"model": self.model, "operator": op, "tech": tech, "unit": "dBm",
                    "threshold_dbm": str(self.thresholds_dbm[tech]),
                    "sample": "true" if self.sample else "false"}
            if self.sample:
                tags["note"] = "SAMPLE DATA (generated province, not real coverage)"
            paths.append(write_raster(folder / f"coverage_{op}_{tech}.tif",
                                      self.best_dbm[(op, tech)], self.grid.transform,
                                      self.grid.crs, overwrite=overwrite, tags=tags))
        return paths


# ------------------------------------------------------------------------------------------
# sites


@dataclasses.dataclass
class SiteArrays:
    """Per-site numeric parameters on a grid (what the kernels consume).

    ``eirp`` is the effective reference-signal EIRP of the link budget
    (:mod:`layers.link_budget`): margins and any uplink shortfall already off.
    """

    x: np.ndarray
    y: np.ndarray
    col: np.ndarray
    row: np.ndarray
    ground_m: np.ndarray
    zt: np.ndarray
    eirp: np.ndarray
    freq_mhz: np.ndarray
    base_db: np.ndarray
    fs_const_db: np.ndarray
    wavelength: np.ndarray
    az: np.ndarray
    n_az: np.ndarray
    tech: np.ndarray
    max_loss_db: np.ndarray
    antennas: _kernels.Antennas
    budget: pd.DataFrame

    def take(self, idx: np.ndarray) -> SiteArrays:
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "antennas":
                out[f.name] = v.take(idx)
            elif f.name == "budget":
                out[f.name] = v.iloc[idx]
            else:
                out[f.name] = v[idx]
        return SiteArrays(**out)


def prepare_sites(sites: gpd.GeoDataFrame, grid: CoverageGrid, *, ground_m: np.ndarray | None,
                  settings: Settings = DEFAULT,
                  base_dir: str | os.PathLike | None = None) -> SiteArrays:
    """Numeric site parameters on ``grid`` (sites reprojected to the grid's CRS).

    ``antenna_height_m`` missing → ``settings.mast_height_m``; the radio values (band, power,
    bandwidth, gain, feeder loss, tilts) missing → :data:`layers.settings.RADIO_DEFAULTS`;
    the link budget is :func:`layers.link_budget.link_budget`. Pattern files are
    looked up in ``base_dir`` first (the bundle's folder).
    """
    from phusong.layers.link_budget import link_budget, pattern_gains, site_antennas

    s = reproject(sites, grid.crs)
    x = s.geometry.x.to_numpy(dtype=float)
    y = s.geometry.y.to_numpy(dtype=float)
    col, row = grid.colrow_f(x, y)
    tech = s["tech"].astype(str).to_numpy()
    s = pattern_gains(s, base_dir=base_dir)
    budget = link_budget(s, settings=settings)
    band = budget["band_mhz"].to_numpy(dtype=float)
    h = pd.to_numeric(s["antenna_height_m"], errors="coerce").to_numpy(dtype=float) \
        if "antenna_height_m" in s else np.full(len(s), np.nan)
    h = np.where(np.isfinite(h), h, settings.mast_height_m)
    ant = site_antennas(s, budget, base_dir=base_dir)
    g = np.zeros(len(s)) if ground_m is None else np.asarray(ground_m, dtype=float)
    g = np.where(np.isfinite(g), g, 0.0)
    return SiteArrays(
        x=x, y=y, col=col, row=row, ground_m=g, zt=g + h,
        eirp=budget["eirp_eff_dbm"].to_numpy(dtype=float), freq_mhz=band,
        base_db=np.asarray(hata_base_db(band, settings.rx_height_m,
                                        environment=settings.environment), dtype=float),
        fs_const_db=32.45 + 20.0 * np.log10(band), wavelength=np.asarray(wavelength_m(band)),
        az=ant.az, n_az=ant.n_az, tech=tech,
        max_loss_db=budget["max_loss_db"].to_numpy(dtype=float), antennas=ant, budget=budget)


def kernel_model(settings: Settings) -> tuple[int, int]:
    """``(model, diffraction mode)`` kernel codes (:func:`layers.link_budget.kernel_codes`)."""
    from phusong.layers.link_budget import kernel_codes

    return kernel_codes(settings)


def computation_radius_m(sites: SiteArrays, dem_z: np.ndarray | None, *,
                         settings: Settings = DEFAULT) -> np.ndarray:
    """Per-site computation radius: the smallest of the cap (``max_radius_km``), the radio
    horizon and the free-space distance of the site's maximum path loss, rounded up to
    whole kilometres.

    Radio horizon: ``sqrt(2 k R (z_ant − z_min)) + sqrt(2 k R (z_max − z_min + h_rx))`` with
    the DEM's lowest and highest ground — no receiver farther away can see the antenna over
    a smooth k-factor Earth. Free space is the least loss any model gives, so beyond
    ``10^((L_max − 32.45 − 20 log f) / 20)`` km nothing is covered.
    """
    cap = settings.max_radius_km * 1000.0
    n = len(sites.x)
    r = np.full(n, cap)
    if dem_z is not None and np.isfinite(dem_z).any():
        zmin = float(np.nanmin(dem_z))
        zmax = float(np.nanmax(dem_z))
        ke = 2.0 * settings.k_factor * _kernels.EARTH_RADIUS_M
        hor = (np.sqrt(ke * np.maximum(sites.zt - zmin, 0.0))
               + math.sqrt(ke * (zmax - zmin + settings.rx_height_m)))
        r = np.minimum(r, hor)
    fs_km = 10.0 ** ((sites.max_loss_db - sites.fs_const_db) / 20.0)
    r = np.minimum(r, fs_km * 1000.0)
    r = np.minimum(np.ceil(np.maximum(r, 1.0) / 1000.0) * 1000.0, cap)
    return r


def itm_params(settings: Settings = DEFAULT) -> _itm.ItmParams:
    """The ITM parameters of the ``itm_*`` settings."""
    from phusong.layers.settings import ITM_CLIMATES

    modes = ("single", "individual", "mobile", "broadcast")
    return _itm.ItmParams(
        climate=ITM_CLIMATES.index(settings.itm_climate) + 1,
        refractivity_n=settings.itm_refractivity_n, permittivity=settings.itm_permittivity,
        conductivity_s_m=settings.itm_conductivity_s_m,
        vertical=settings.itm_polarisation == "vertical",
        mdvar=modes.index(settings.itm_variability)
        + (0 if settings.itm_location_variability else 10),
        time_pct=settings.itm_time_pct, location_pct=settings.itm_location_pct,
        situation_pct=settings.itm_situation_pct)


# ------------------------------------------------------------------------------------------
# grid and DEM


def resolve_dem(dem: Dem | str | os.PathLike | None, crs: CRS) -> Dem | None:
    """A metric :class:`~gis.dem.Dem` from a Dem, a path (read in ``crs``) or None."""
    if dem is None or isinstance(dem, Dem):
        if isinstance(dem, Dem) and not dem.crs.is_projected:
            raise DEMError("DEM is in a geographic CRS; read it with read_dem(path, crs=<metric "
                           "CRS>) so cells are in metres")
        return dem
    return read_dem(dem, crs=crs)


def load_dem(bundle: ProvinceBundle, dem: Dem | str | os.PathLike | None = None, *,
             model: str | None = None) -> Dem | None:
    """The DEM an analysis of ``bundle`` runs on — the one place that decides it.

    Parameters
    ----------
    bundle
        The province; its ``dem.tif`` is the default.
    dem
        A metric :class:`~gis.dem.Dem`, a DEM path (read in the bundle's metric CRS), or None
        for the bundle's DEM.
    model
        ``"radius"`` needs no DEM: None is returned (a DEM given explicitly is still used).

    Returns
    -------
    gis.dem.Dem or None
        In the bundle's metric CRS (or the given Dem's own metric CRS); None when there is
        no DEM or the radius model runs without one.
    """
    if dem is None:
        if model == "radius" or bundle.dem_path is None:
            return None
        dem = bundle.dem_path
    return resolve_dem(dem, bundle.metric_crs)


def _resolve_model(model: str | None, dem: Dem | None, *, hint: str) -> str:
    """The coverage model to run: terrain when a DEM is there, unless asked otherwise."""
    if model is None:
        model = DEFAULT_MODEL_WITH_DEM if dem is not None else DEFAULT_MODEL_WITHOUT_DEM
    if model not in MODELS:
        raise InputError(f"model={model!r}: use one of {MODELS}")
    if model in TERRAIN_MODELS and dem is None:
        raise DEMError(f"the {model} model needs a DEM: {hint}")
    return model


def _grid_from_bounds(bounds, crs: CRS, res_m: float) -> CoverageGrid:
    xmin, ymin, xmax, ymax = bounds
    cols = max(1, math.ceil((xmax - xmin) / res_m))
    rows = max(1, math.ceil((ymax - ymin) / res_m))
    return CoverageGrid(affine.Affine(res_m, 0, xmin, 0, -res_m, ymax), crs, (rows, cols))


def _default_metric_crs(gdf: gpd.GeoDataFrame) -> CRS:
    try:
        from phusong.gis.crs import tm3_crs_for_lon

        b = gdf.to_crs(4326).total_bounds
        return tm3_crs_for_lon((b[0] + b[2]) / 2.0)
    except Exception:  # pragma: no cover - fallback outside Vietnam
        return CRS.from_user_input(gdf.estimate_utm_crs())


# ------------------------------------------------------------------------------------------
# main entry


def compute_coverage(bundle: ProvinceBundle, *, model: str | None = None,
                     dem: Dem | str | os.PathLike | None = None,
                     settings: Settings = DEFAULT, operators: Iterable[str] | None = None,
                     techs: Iterable[str] | None = None, res_m: float | None = None,
                     clutter=None,
                     progress: Callable[[int, int], None] | None = None) -> CoverageResult:
    """Best-server coverage of the bundle's BTS per (operator, technology).

    Parameters
    ----------
    bundle
        A :class:`~layers.bundle.ProvinceBundle` (its ``bts`` layer).
    model
        ``"terrain"`` (default when a DEM is available), ``"itm"`` (Longley-Rice, needs a
        DEM) or ``"radius"``.
    dem
        A metric :class:`~gis.dem.Dem`, a DEM path, or None for the bundle's ``dem.tif``.
    operators, techs
        Restrict to these operators / technologies.
    res_m
        Grid cell size when there is no DEM (radius model); default 30 m.
    clutter
        Land cover for the clutter loss (terrain model): a class raster (ESA WorldCover
        codes) or OSM ``landuse``/``natural`` polygons, as a path or a GeoDataFrame
        (:func:`analysis.coverage.clutter.clutter_classes`); None (default): no clutter loss.
    progress
        Called as ``progress(done, total)`` after each BTS (terrain model).

    Returns
    -------
    CoverageResult
    """
    crs = bundle.metric_crs
    dem_obj = load_dem(bundle, dem)
    model = _resolve_model(model, dem_obj,
                           hint="pass --dem DEM.tif or use --model radius")
    bts = bundle.layer("bts")
    if operators is not None:
        ops = {str(o) for o in operators}
        bts = bts[bts["operator"].astype(str).isin(ops)]
    if techs is not None:
        bts = bts[bts["tech"].astype(str).isin(set(techs))]
    if dem_obj is not None:
        if not dem_obj.crs.equals(crs):
            crs = dem_obj.crs
        _rx, _ry = dem_obj.res_xy
        grid = CoverageGrid(dem_obj.transform, dem_obj.crs, dem_obj.shape)
    else:
        vil = bundle.layer("villages")
        frames = [g for g in (vil, bundle.layer("bts"), bundle.layer("admin_units")) if len(g)]
        if not frames:
            raise InputError("bundle has neither villages nor BTS; nothing to compute")
        b = np.array([reproject(f, crs).total_bounds for f in frames])
        bounds = (b[:, 0].min() - 1000, b[:, 1].min() - 1000, b[:, 2].max() + 1000,
                  b[:, 3].max() + 1000)
        grid = _grid_from_bounds(bounds, crs, res_m or 30.0)
    thresholds = {t: float(settings.threshold_dbm[t]) for t in TECHNOLOGIES}
    result = CoverageResult(model=model, grid=grid, best_dbm={}, thresholds_dbm=thresholds,
                            sample=bool(getattr(bundle, "is_sample", False)))
    if len(bts) == 0:
        logger.info("no BTS to compute coverage for")
        return result
    z = fill_voids(dem_obj.elevation_m) if dem_obj is not None else None
    ground = None
    if dem_obj is not None:
        b_m = reproject(bts, grid.crs)
        ground = dem_obj.sample(b_m.geometry.x.to_numpy(), b_m.geometry.y.to_numpy())
    sites = prepare_sites(bts, grid, ground_m=ground, settings=settings,
                          base_dir=getattr(bundle, "folder", None))
    from phusong.layers.link_budget import defaults_line

    result.defaults_line = defaults_line(sites.budget)
    result.budget = sites.budget.assign(bts_id=bts["bts_id"].to_numpy()) \
        if "bts_id" in bts else sites.budget
    logger.info("%s", result.defaults_line)
    ops = bts["operator"].astype(str).to_numpy()
    keys = sorted(set(zip(ops, sites.tech, strict=True)))
    key_index = {k: i for i, k in enumerate(keys)}
    grid_index = np.array([key_index[k] for k in zip(ops, sites.tech, strict=True)])
    clutter_codes = None
    if clutter is not None and model in TERRAIN_MODELS:
        from phusong.analysis.coverage.clutter import clutter_classes

        clutter_codes = clutter_classes(clutter, transform=grid.transform, shape=grid.shape,
                                        crs=grid.crs)
    # one field per (operator, technology) — per band too when clutter (frequency-scaled)
    # is taken off the field: the bands are merged after
    bands = sites.freq_mhz
    if clutter_codes is not None:
        sub = sorted(set(zip(grid_index, bands, strict=True)))
        sub_index = {k: i for i, k in enumerate(sub)}
        work_index = np.array([sub_index[k] for k in zip(grid_index, bands, strict=True)])
    else:
        sub = [(i, np.nan) for i in range(len(keys))]
        work_index = grid_index
    # one (fields, rows, cols) block: the kernels gather the bands of a walk in one pass
    work_stack = np.full((len(sub), *grid.shape), -np.inf, dtype=np.float32)
    work = list(work_stack)
    total = len(bts)
    rx_, ry_ = grid.res_xy
    if model == "terrain":
        radius = computation_radius_m(sites, z, settings=settings)
        cap = settings.max_radius_km * 1000.0
        result.sites_at_cap = int((radius >= cap).sum())
        logger.info("computation radius: %d of %d sites at the %.0f km cap (median %.0f km)",
                    result.sites_at_cap, total, settings.max_radius_km,
                    float(np.median(radius)) / 1000.0)
        k_model, k_mode = kernel_model(settings)
        _kernels.sweep_sites(
            z, work_stack, grid_index=work_index, col=sites.col, row=sites.row, zt=sites.zt,
            eirp=sites.eirp, base_db=sites.base_db, fs_const_db=sites.fs_const_db,
            wavelength=sites.wavelength, antennas=sites.antennas, res_x=rx_, res_y=ry_,
            radius_m=radius, ray_radius_m=cap, rx_height_m=settings.rx_height_m,
            k_factor=settings.k_factor, model=k_model, mode=k_mode,
            depth=settings.deygout_depth,
            callback=None if progress is None else (lambda k: progress(k, total)))
    elif model == "itm":
        radius = settings.max_radius_km * 1000.0
        _itm.sweep_sites(
            z, work_stack, grid_index=work_index, col=sites.col, row=sites.row,
            ground_m=sites.ground_m, zt=sites.zt, eirp=sites.eirp, freq_mhz=sites.freq_mhz,
            az=sites.az, n_az=sites.n_az, res_x=rx_, res_y=ry_, radius_m=radius,
            rx_height_m=settings.rx_height_m, params=itm_params(settings),
            callback=None if progress is None else (lambda k: progress(k, total)))
    else:
        band = pd.to_numeric(bts["band_mhz"], errors="coerce").to_numpy(dtype=float) \
            if "band_mhz" in bts else np.full(total, np.nan)
        for (_op, tech), gi in key_index.items():
            idx = np.flatnonzero(grid_index == gi)
            radius_m = np.array([settings.radius_m(tech, None if not np.isfinite(b) else b)
                                 for b in band[idx]])
            thr = thresholds[tech]
            _kernels.radius_field(work[gi], sites.col[idx], sites.row[idx], rx_, ry_,
                                  radius_m, np.full(len(idx), thr + RADIUS_TOP_DB),
                                  np.full(len(idx), thr))
        if progress is not None:
            progress(total, total)
    if clutter_codes is not None:
        from phusong.analysis.coverage.clutter import clutter_loss_grid

        for (_gi, band), arr in zip(sub, work, strict=True):
            arr -= clutter_loss_grid(clutter_codes, band, settings=settings)
    if clutter_codes is None:
        grids = work
    else:
        grids = [np.full(grid.shape, -np.inf, dtype=np.float32) for _ in keys]
        for (gi, _band), arr in zip(sub, work, strict=True):
            np.fmax(grids[gi], arr, out=grids[gi])
        del work
    void = ~np.isfinite(dem_obj.elevation_m) if dem_obj is not None else None
    for k, out in zip(keys, grids, strict=True):
        out[~np.isfinite(out)] = np.nan
        if void is not None:
            out[void] = np.nan
        result.best_dbm[k] = out
        result.site_counts[k] = int((grid_index == key_index[k]).sum())
    logger.info("computed %s coverage of %d BTS on %d×%d cells (%d operator/technology "
                "fields)", model, total, grid.shape[0], grid.shape[1], len(result.best_dbm))
    return result


# ------------------------------------------------------------------------------------------
# site × village matrix


def _terrain_power(dem_obj: Dem, grid: CoverageGrid, sa: SiteArrays, pair_site: np.ndarray,
                   x: np.ndarray, y: np.ndarray, reach: np.ndarray, *,
                   settings: Settings) -> np.ndarray:
    """Received reference-signal power (dBm) of site ``pair_site[q]`` at point ``(x[q], y[q])``
    by the terrain model's point-to-point kernel (same physics as the sweep)."""
    pc, pr = grid.colrow_f(x, y)
    k_model, k_mode = kernel_model(settings)
    return _kernels.point_power(
        fill_voids(dem_obj.elevation_m), pair_site=pair_site, pcol=pc, prow=pr,
        col=sa.col, row=sa.row, zt=sa.zt, eirp=sa.eirp, base_db=sa.base_db,
        fs_const_db=sa.fs_const_db, wavelength=sa.wavelength, antennas=sa.antennas,
        res_x=grid.res_xy[0], res_y=grid.res_xy[1], rx_height_m=settings.rx_height_m,
        k_factor=settings.k_factor, model=k_model, mode=k_mode,
        depth=settings.deygout_depth,
        max_distance_m=float(reach.max()) + 2 * max(grid.res_xy))


def _status_codes(pair_site: np.ndarray, pair_vil: np.ndarray, is_centre: np.ndarray,
                  covered: np.ndarray, n_sites: int, n_vil: int, share_min: float, *,
                  n_area: np.ndarray) -> sparse.csr_matrix:
    """Status code per (site, village) pair from its evaluated sample points.

    The covered share is the covered area points over **all** of the village's area points
    (``n_area[v]``), points beyond the site's reach counting as not covered; a village with
    no area point takes its centre's value.
    """
    key = pair_site.astype(np.int64) * n_vil + pair_vil
    df = pd.DataFrame({"key": key, "c": is_centre, "cov": covered})
    centre = df[df.c].groupby("key")["cov"].any()
    keys = centre.index.to_numpy()
    hits = df[~df.c].groupby("key")["cov"].sum().reindex(centre.index, fill_value=0)
    total = np.asarray(n_area)[keys % n_vil]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, hits.to_numpy(dtype=float) / np.maximum(total, 1),
                         centre.to_numpy(dtype=float))
    code = np.where(centre.to_numpy(), np.where(share >= share_min, 2, 1), 0)
    nz = code > 0
    return sparse.csr_matrix((code[nz].astype(np.int8), (keys[nz] // n_vil, keys[nz] % n_vil)),
                             shape=(n_sites, n_vil), dtype=np.int8)


def site_village_matrix(sites: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, *,
                        dem: Dem | str | os.PathLike | None = None,
                        settings: Settings = DEFAULT, model: str | None = None,
                        crs=None) -> sparse.csr_matrix:
    """Status code of each village under each site alone: 0 trang, 1 lom, 2 phu.

    Each village is represented by its centre and points of its settled area
    (:func:`village_sample_points`); each (site, point) pair within reach is evaluated by the
    point-to-point terrain kernel (same physics as :func:`compute_coverage`) or by the radius
    rule. A village is ``phu`` for a site when its centre is covered and at least
    ``share_min`` of all its area points are (points out of the site's reach are not
    covered); ``lom`` when only the centre (and fewer points) is.

    Parameters
    ----------
    sites
        GeoDataFrame (any CRS) with ``tech``, ``antenna_height_m`` and the optional radio
        fields of the ``bts`` layer (``band_mhz``, ``tx_power_w``, ``azimuth_deg`` …).
    villages
        The villages layer.
    dem
        Metric :class:`~gis.dem.Dem` or a path (read in ``crs`` or the villages' TM-3 zone).
    model
        ``"terrain"`` (default with a DEM), ``"itm"`` or ``"radius"``.
    crs
        Metric CRS when there is no Dem object (default: the TM-3 zone of the villages).

    Returns
    -------
    scipy.sparse.csr_matrix
        int8, n_sites × n_villages, only nonzero codes stored; rows and columns follow the
        positional order of ``sites`` and ``villages``.
    """
    from scipy.spatial import cKDTree

    if isinstance(dem, Dem):
        metric = dem.crs
    else:
        metric = CRS.from_user_input(crs) if crs is not None else _default_metric_crs(villages)
    dem_obj = resolve_dem(dem, metric)
    model = _resolve_model(model, dem_obj, hint="site_village_matrix: pass dem=...")
    n_s, n_v = len(sites), len(villages)
    if n_s == 0 or n_v == 0:
        return sparse.csr_matrix((n_s, n_v), dtype=np.int8)
    pts = village_sample_points(villages, metric, settings=settings)
    if dem_obj is not None:
        grid = CoverageGrid(dem_obj.transform, dem_obj.crs, dem_obj.shape)
        sm = reproject(sites, metric)
        ground = dem_obj.sample(sm.geometry.x.to_numpy(), sm.geometry.y.to_numpy())
    else:
        grid = CoverageGrid(affine.Affine(30.0, 0, 0, 0, -30.0, 0), metric, (1, 1))
        ground = None
    sa = prepare_sites(sites, grid, ground_m=ground, settings=settings)
    if model == "terrain":
        reach = computation_radius_m(sa, None if dem_obj is None else dem_obj.elevation_m,
                                     settings=settings)
    elif model in TERRAIN_MODELS:
        reach = np.full(n_s, settings.max_radius_km * 1000.0)
    else:
        band = pd.to_numeric(sites["band_mhz"], errors="coerce").to_numpy(dtype=float) \
            if "band_mhz" in sites else np.full(n_s, np.nan)
        reach = np.array([settings.radius_m(t, None if not np.isfinite(b) else b)
                          for t, b in zip(sa.tech, band, strict=True)])
    tree = cKDTree(np.column_stack([pts["x"].to_numpy(), pts["y"].to_numpy()]))
    lists = tree.query_ball_point(np.column_stack([sa.x, sa.y]), r=reach)
    counts = np.fromiter((len(v) for v in lists), dtype=np.int64, count=n_s)
    pair_site = np.repeat(np.arange(n_s), counts)
    pair_pt = np.fromiter((p for v in lists for p in v), dtype=np.int64, count=counts.sum())
    px = pts["x"].to_numpy()[pair_pt]
    py = pts["y"].to_numpy()[pair_pt]
    if model == "terrain":
        power = _terrain_power(dem_obj, grid, sa, pair_site, px, py, reach, settings=settings)
        thr = np.array([settings.threshold_dbm[t] for t in sa.tech])[pair_site]
        with np.errstate(invalid="ignore"):
            covered = power >= thr
    elif model == "itm":
        pc, pr = grid.colrow_f(px, py)
        power = _itm.point_power(
            fill_voids(dem_obj.elevation_m), pair_site=pair_site, pcol=pc, prow=pr,
            col=sa.col, row=sa.row, ground_m=sa.ground_m, zt=sa.zt, eirp=sa.eirp,
            freq_mhz=sa.freq_mhz, az=sa.az, n_az=sa.n_az, res_x=grid.res_xy[0],
            res_y=grid.res_xy[1], rx_height_m=settings.rx_height_m,
            params=itm_params(settings),
            max_distance_m=float(reach.max()) + 2 * max(grid.res_xy))
        thr = np.array([settings.threshold_dbm[t] for t in sa.tech])[pair_site]
        with np.errstate(invalid="ignore"):
            covered = power >= thr
    else:
        covered = np.ones(len(pair_site), dtype=bool)  # within reach by construction
    mat = _status_codes(pair_site, pts["village"].to_numpy()[pair_pt],
                        pts["is_centre"].to_numpy()[pair_pt], covered, n_s, n_v,
                        settings.share_min,
                        n_area=np.bincount(pts["village"].to_numpy()[~pts["is_centre"].to_numpy()],
                                           minlength=n_v))
    logger.info("site × village matrix (%s): %d sites × %d villages, %d pairs evaluated, "
                "%d nonzero", model, n_s, n_v, len(pair_site), mat.nnz)
    return mat


def own_coverage(sites: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray,
                 pair_site: np.ndarray, *, crs, model: str,
                 dem: Dem | str | os.PathLike | None = None,
                 settings: Settings = DEFAULT) -> np.ndarray:
    """Whether site ``pair_site[q]`` alone covers the point ``(x[q], y[q])`` (metric ``crs``).

    Terrain model: the point-to-point kernel (same physics and link budget as
    :func:`compute_coverage`), covered at or above the technology's threshold. Radius model:
    within ``settings.radius_m(tech, band)``.
    """
    pair_site = np.asarray(pair_site, dtype=np.int64)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(pair_site) == 0:
        return np.zeros(0, dtype=bool)
    metric = CRS.from_user_input(crs)
    if model == "terrain":
        dem_obj = resolve_dem(dem, metric)
        if dem_obj is None:
            raise DEMError("own_coverage: the terrain model needs a DEM")
        grid = CoverageGrid(dem_obj.transform, dem_obj.crs, dem_obj.shape)
        sm = reproject(sites, grid.crs)
        ground = dem_obj.sample(sm.geometry.x.to_numpy(), sm.geometry.y.to_numpy())
        sa = prepare_sites(sites, grid, ground_m=ground, settings=settings)
        reach = computation_radius_m(sa, dem_obj.elevation_m, settings=settings)
        power = _terrain_power(dem_obj, grid, sa, pair_site, x, y, reach, settings=settings)
        thr = np.array([settings.threshold_dbm[t] for t in sa.tech])[pair_site]
        dist = np.hypot(x - sa.x[pair_site], y - sa.y[pair_site])
        with np.errstate(invalid="ignore"):
            return (power >= thr) & (dist <= reach[pair_site])
    sm = reproject(sites, metric)
    sx = sm.geometry.x.to_numpy(dtype=float)
    sy = sm.geometry.y.to_numpy(dtype=float)
    band = pd.to_numeric(sm["band_mhz"], errors="coerce").to_numpy(dtype=float) \
        if "band_mhz" in sm else np.full(len(sm), np.nan)
    rad = np.array([settings.radius_m(t, None if not np.isfinite(b) else b)
                    for t, b in zip(sm["tech"].astype(str), band, strict=True)])
    return np.hypot(x - sx[pair_site], y - sy[pair_site]) <= rad[pair_site]


def link_budget_lines(cov: CoverageResult, *, settings: Settings = DEFAULT) -> list[str]:
    """Lines for a run's notes: model, radio defaults used per field, sites at the cap."""
    from phusong.analysis.labels import LINK_BUDGET_LABELS, label

    lang = settings.language
    if cov.model != "terrain" or cov.budget is None:
        return []
    n = len(cov.budget)
    pen = {"outdoor": ("ngoài trời", "outdoor"), "in_vehicle": ("trong xe", "in vehicle"),
           "indoor": ("trong nhà", "indoor")}[settings.penetration][0 if lang == "vi" else 1]
    out = [label(LINK_BUDGET_LABELS, "model", lang).format(
        model=settings.path_loss_model, diffraction=settings.diffraction,
        p=settings.location_probability, pen=pen)]
    counts = cov.budget.attrs.get("defaults", {})
    if counts:
        fields = ", ".join(f"{f} {k}" for f, k in counts.items())
        out.append(label(LINK_BUDGET_LABELS, "defaults", lang).format(n=n, fields=fields))
    else:
        out.append(label(LINK_BUDGET_LABELS, "no_defaults", lang).format(n=n))
    out.append(label(LINK_BUDGET_LABELS, "cap", lang).format(
        k=cov.sites_at_cap, n=n, km=settings.max_radius_km))
    out.append(label(LINK_BUDGET_LABELS, "uplink", lang).format(
        k=int(cov.budget["uplink_limited"].sum()), n=n))
    return out
