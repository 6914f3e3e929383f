"""Village status — trắng / lõm / phủ sóng — and internet, from a coverage result (DESIGN §4).

For every village, operator and technology:

* ``trang`` (thôn trắng sóng): the village centre is not covered;
* ``lom`` (thôn lõm sóng): the centre is covered but less than ``settings.share_min`` (0.8)
  of the settled area is;
* ``phu``: centre covered and share ≥ ``share_min``.

Settled area = the village polygon, or a disc of ``settings.settlement_buffer_m`` around a
village given as a point. The covered share is counted over the coverage grid's cells whose
centre falls in the settled area (villages are rasterised once into a label raster; sums per
village are ``numpy.bincount``). When the bundle has a population raster, cells are weighted by
population (the raster is resampled onto the grid by averaging), so the share is the covered
share of the people; otherwise (or where a village's cells hold no population) it is the area
share. A village smaller than a cell is represented by the cell holding its centre.

Per operator, ``status_<op>`` is the status of the union of the operator's technologies still
in service at ``settings.as_of_date()`` (:func:`layers.settings.in_service_techs`: 2G stops
counting after ``date_2g_off``, 3G after ``date_3g_off``); it is never lower than the best per-technology status. ``status_any`` is the
same over every operator. ``has_internet``: 3G/4G/5G signal of any operator at the centre
(technologies in service) or a fibre route within ``settings.fibre_access_km`` of the centre.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from phusong.analysis.coverage.engine import CoverageGrid, CoverageResult
from phusong.analysis.coverage.villages import settled_areas, village_centres
from phusong.gis.crs import reproject
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS
from phusong.layers.settings import DEFAULT, TECHNOLOGIES, Settings, in_service_techs

logger = logging.getLogger(__name__)

__all__ = ["BROADBAND_TECHS", "STATUS_ORDER", "served_by", "status_from_share", "village_status"]

#: status values from worst to best
STATUS_ORDER: tuple[str, ...] = ("trang", "lom", "phu")

#: mobile technologies that count as (mobile) broadband internet, when in service
BROADBAND_TECHS: tuple[str, ...] = ("3G", "4G", "5G")


def served_by(status: pd.DataFrame, operators: Iterable[str], techs: Iterable[str]
              ) -> np.ndarray:
    """Villages (rows of a :func:`village_status` table, in order) with signal — ``lom`` or
    ``phu`` — from any of ``operators`` on any of ``techs``; a column that is not there
    serves none."""
    out = np.zeros(len(status), dtype=bool)
    techs = tuple(techs)
    for op in operators:
        for tech in techs:
            col = f"status_{op}_{tech}"
            if col in status:
                out |= status[col].isin(["lom", "phu"]).to_numpy()
    return out


def status_from_share(centre_covered: np.ndarray, share: np.ndarray, *,
                      share_min: float) -> np.ndarray:
    """Status strings from centre coverage and covered share."""
    c = np.asarray(centre_covered, dtype=bool)
    s = np.asarray(share, dtype=float)
    return np.where(~c, "trang", np.where(s >= share_min - 1e-12, "phu", "lom")).astype(object)


def _population_weights(bundle: ProvinceBundle, grid: CoverageGrid) -> np.ndarray | None:
    path = getattr(bundle, "population_path", None)
    if path is None:
        return None
    import rasterio
    from rasterio.crs import CRS as RioCRS
    from rasterio.warp import Resampling, reproject

    out = np.zeros(grid.shape, dtype=np.float32)
    try:
        with rasterio.open(path) as src:
            reproject(source=rasterio.band(src, 1), destination=out, src_transform=src.transform,
                      src_crs=src.crs, src_nodata=src.nodata, dst_transform=grid.transform,
                      dst_crs=RioCRS.from_wkt(grid.crs.to_wkt()), dst_nodata=0,
                      resampling=Resampling.average)
    except Exception as exc:  # a broken optional raster must not stop the status table
        logger.warning("population raster %s not used (%s); shares are area shares", path, exc)
        return None
    out[~np.isfinite(out) | (out < 0)] = 0
    return out


def _fibre_near(bundle: ProvinceBundle, x: np.ndarray, y: np.ndarray, crs, distance_m: float) -> np.ndarray:
    fibre = bundle.layer("fibre_routes")
    if len(fibre) == 0:
        return np.zeros(len(x), dtype=bool)
    import shapely

    fm = reproject(fibre, crs)
    geoms = fm.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    pts = shapely.points(x, y)
    idx = tree.query(pts, predicate="dwithin", distance=distance_m)
    out = np.zeros(len(x), dtype=bool)
    out[np.unique(idx[0])] = True
    return out


def village_status(bundle: ProvinceBundle, coverage: CoverageResult, *,
                   settings: Settings = DEFAULT) -> pd.DataFrame:
    """Status of every village per operator × technology, per operator and for any operator.

    Parameters
    ----------
    bundle
        The province bundle (villages, fibre_routes, optional population raster).
    coverage
        A :class:`~analysis.coverage.CoverageResult` of either model.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``village_id`` in the villages layer's order, with ``name``,
        ``commune_code``, ``population``, ``households``; ``status_<op>_<tech>`` and
        ``share_<op>_<tech>``; ``status_<op>``, ``share_<op>``, ``share_area_<op>``,
        ``dbm_<op>``, ``has_4g_<op>``; ``status_any_<tech>``, ``status_any``, ``share_any``,
        ``has_4g_any``; ``fibre_near``, ``has_internet``. Shares are 0..1.
    """
    from rasterio.features import rasterize

    villages = bundle.layer("villages")
    grid = coverage.grid
    n = len(villages)
    areas = settled_areas(villages, grid.crs, settings=settings)
    cx, cy = village_centres(villages, grid.crs)
    labels = np.zeros(grid.shape, dtype=np.int32)
    if n:
        shapes = [(g, i + 1) for i, g in enumerate(areas.to_numpy())
                  if g is not None and not g.is_empty]
        if shapes:
            labels = rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=0,
                               dtype="int32")
    flat = np.flatnonzero(labels)
    lab = labels.ravel()[flat] - 1
    del labels
    cr, cc, cin = grid.rowcol(cx, cy)
    centre_flat = np.where(cin, cr * grid.shape[1] + cc, 0)
    # villages with no cell of their own: their centre cell stands for the area
    n_cells = np.bincount(lab, minlength=n)
    lonely = np.flatnonzero((n_cells == 0) & cin)
    flat = np.concatenate([flat, centre_flat[lonely]])
    lab = np.concatenate([lab, lonely])
    area_w = np.ones(len(flat))
    pop = _population_weights(bundle, grid)
    pop_w = pop.ravel()[flat].astype(float) if pop is not None else None
    area_tot = np.bincount(lab, weights=area_w, minlength=n)
    pop_tot = np.bincount(lab, weights=pop_w, minlength=n) if pop_w is not None else None

    def shares(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m = mask.ravel()
        cov = m[flat]
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.bincount(lab, weights=cov * area_w, minlength=n) / area_tot
            a = np.where(area_tot > 0, a, 0.0)
            if pop_tot is not None:
                p = np.bincount(lab, weights=cov * pop_w, minlength=n) / pop_tot
                w = np.where(pop_tot > 0, p, a)
            else:
                w = a
        centre = np.where(cin, m[centre_flat], False)
        return centre, w, a

    def add(prefix: str, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        centre, w, a = shares(mask)
        cols[f"status_{prefix}"] = status_from_share(centre, w, share_min=settings.share_min)
        cols[f"share_{prefix}"] = w
        return centre, a

    techs_on = in_service_techs(settings)
    cols: dict[str, np.ndarray] = {}
    for col in ("name", "commune_code", "population", "households"):
        cols[col] = villages[col].to_numpy() if col in villages else np.full(n, None)
    ops = [o.value for o in OPERATORS]
    ops += sorted({op for op, _ in coverage.best_dbm} - set(ops))
    internet_techs = [t for t in BROADBAND_TECHS if t in techs_on]
    for op in ops:
        for tech in TECHNOLOGIES:
            add(f"{op}_{tech}", coverage.covered(op, tech))
        mask_op = coverage.covered_any([op], techs_on)
        _, area_share = add(op, mask_op)
        cols[f"share_area_{op}"] = area_share
        best = np.full(n, np.nan)
        for tech in techs_on:
            arr = coverage.best_dbm.get((op, tech))
            if arr is not None:
                v = np.where(cin, arr.ravel()[centre_flat], np.nan)
                best = np.fmax(best, v)
        cols[f"dbm_{op}"] = best.astype(np.float32)
        cols[f"has_4g_{op}"] = cols[f"status_{op}_4G"] != "trang" if "4G" in techs_on \
            else np.zeros(n, bool)
    for tech in TECHNOLOGIES:
        add(f"any_{tech}", coverage.covered_any(ops, [tech]))
    add("any", coverage.covered_any(ops, techs_on))
    cols["has_4g_any"] = np.logical_or.reduce([cols[f"has_4g_{op}"] for op in ops]) if ops \
        else np.zeros(n, bool)
    mobile_net = coverage.covered_any(ops, internet_techs) if internet_techs \
        else np.zeros(grid.shape, bool)
    net_centre = np.where(cin, mobile_net.ravel()[centre_flat], False)
    fibre = _fibre_near(bundle, cx, cy, grid.crs, settings.fibre_access_km * 1000.0)
    cols["mobile_internet"] = net_centre
    cols["fibre_near"] = fibre
    cols["has_internet"] = net_centre | fibre
    index = pd.Index(villages["village_id"].to_numpy() if "village_id" in villages
                     else villages.index, name="village_id")
    out = pd.DataFrame(cols, index=index)
    for c in out.columns:
        if c.startswith(("has_", "fibre_near", "mobile_internet")):
            out[c] = out[c].astype(bool)
    logger.info("village status (%s model, as of %s): %d villages, %d with signal, %d with "
                "internet", coverage.model, settings.as_of_date().isoformat(), n,
                int((out["status_any"] != "trang").sum()) if n else 0,
                int(out["has_internet"].sum()) if n else 0)
    return out
