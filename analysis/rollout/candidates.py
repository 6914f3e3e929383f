"""Candidate sites for public-utility stations and the villages each would cover.

Three kinds of candidate (DESIGN §5):

``village_centre``
    the centre of every target village (nhà văn hóa thôn;
    :func:`analysis.coverage.villages.village_points`, the point village status and the gap
    lists use), a new mast of
    ``settings.mast_height_m``;
``high_point``
    DEM local maxima within reach of a cluster of target villages: the DEM's cells that are
    the highest within ``peak_window_m``, kept when some target village lies within
    ``reach_m``; per cluster (villages linked by gaps of at most ``cluster_km``) the
    ``settings.candidates_per_cluster`` highest, at least ``min_separation_m`` apart;
    a new mast of ``settings.mast_height_m``;
``tower``
    every existing tower position within ``reach_m`` of a target village: new equipment on
    the existing tower (sharing), antenna at the tower's ``height_m``.

Each candidate carries the radio parameters of the equipment a public-utility station would
install: LTE (``tech="4G"``) in the 900 MHz band (B8, the band that carries farthest among
those Vietnamese operators hold) at the radio table's total EIRP for 4G
(:func:`layers.settings.default_eirp_dbm`: 20 W, 17 dBi, 1 dB feeder → 59 dBm). Their
coverage of the target villages comes from :func:`analysis.coverage.site_village_matrix` (terrain model at mast height when there
is a DEM, else the radius model); a village counts as covered by a candidate when its status
code under that candidate alone reaches ``min_code`` (2 = phủ sóng, the default; 1 accepts
lõm).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from pyproj import CRS
from scipy import ndimage
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from phusong.analysis.coverage.villages import village_points
from phusong.gis.dem import Dem
from phusong.gis.errors import InputError
from phusong.layers.settings import DEFAULT, Settings, default_eirp_dbm

logger = logging.getLogger(__name__)

__all__ = ["KINDS", "candidate_coverage", "cluster_villages", "dem_high_points",
           "generate_candidates"]

#: candidate kinds and whether they need a new tower
KINDS: dict[str, str] = {"village_centre": "new", "high_point": "new", "tower": "shared"}

#: default radio parameters of a candidate's equipment (see the module docstring)
RADIO = {"tech": "4G", "band_mhz": 900.0, "eirp_dbm": default_eirp_dbm("4G")}


def cluster_villages(xy: np.ndarray, *, link_m: float) -> np.ndarray:
    """Single-linkage clusters: villages joined by chains of gaps of at most ``link_m``.

    Returns
    -------
    numpy.ndarray
        Cluster label per point, ``0..k-1`` numbered by first appearance.
    """
    n = len(xy)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pairs = cKDTree(xy).query_pairs(r=link_m, output_type="ndarray")
    adj = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    # renumber by first appearance for stable output
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    return remap[labels].astype(np.int64)


def dem_high_points(dem: Dem, village_xy: np.ndarray, cluster: np.ndarray, *,
                    per_cluster: int, reach_m: float, peak_window_m: float = 1000.0,
                    min_separation_m: float = 1000.0) -> pd.DataFrame:
    """DEM local maxima near clusters of villages.

    Parameters
    ----------
    dem
        Metric DEM.
    village_xy
        ``(n, 2)`` village centres in the DEM's CRS.
    cluster
        Cluster label per village (:func:`cluster_villages`).
    per_cluster
        High points kept per cluster.
    reach_m
        A peak is considered for the cluster of its nearest village within this distance.
    peak_window_m
        Side of the square window a cell must be the highest of.
    min_separation_m
        Kept peaks of one cluster are at least this far apart.

    Returns
    -------
    pandas.DataFrame
        Columns ``x``, ``y``, ``elevation_m``, ``cluster``, ``nearest_village`` (position),
        ``village_distance_m``; highest first within each cluster.
    """
    cols = ["x", "y", "elevation_m", "cluster", "nearest_village", "village_distance_m"]
    if len(village_xy) == 0 or per_cluster <= 0:
        return pd.DataFrame(columns=cols)
    z = dem.elevation_m
    size = max(3, round(peak_window_m / max(dem.res_m, 1e-9)) | 1)
    filled = np.where(np.isfinite(z), z, -np.inf).astype(np.float32)
    peak = (ndimage.maximum_filter(filled, size=size, mode="nearest") == filled) & \
        np.isfinite(z)
    rows, colz = np.nonzero(peak)
    if len(rows) == 0:
        return pd.DataFrame(columns=cols)
    x, y = dem.transform * (colz + 0.5, rows + 0.5)
    x, y = np.asarray(x, float), np.asarray(y, float)
    dist, near = cKDTree(village_xy).query(np.column_stack([x, y]),
                                           distance_upper_bound=reach_m)
    ok = np.isfinite(dist)
    df = pd.DataFrame({"x": x[ok], "y": y[ok], "elevation_m": z[rows[ok], colz[ok]].astype(float),
                       "nearest_village": near[ok], "village_distance_m": dist[ok]})
    df["cluster"] = cluster[df["nearest_village"].to_numpy()]
    df = df.sort_values(["cluster", "elevation_m", "x", "y"], ascending=[True, False, True, True],
                        kind="stable")
    kept: list[int] = []
    for _, g in df.groupby("cluster", sort=True):
        chosen: list[tuple[float, float]] = []
        for idx, gx, gy in zip(g.index, g["x"], g["y"], strict=True):
            if all((gx - cx) ** 2 + (gy - cy) ** 2 >= min_separation_m ** 2 for cx, cy in chosen):
                chosen.append((gx, gy))
                kept.append(idx)
                if len(chosen) >= per_cluster:
                    break
    out = df.loc[kept, cols].reset_index(drop=True)
    logger.info("found %d DEM high points for %d village clusters (%d local maxima in reach)",
                len(out), len(np.unique(cluster)), int(ok.sum()))
    return out


def generate_candidates(targets: gpd.GeoDataFrame, *, towers: gpd.GeoDataFrame | None = None,
                        dem: Dem | None = None, crs: CRS | str | None = None,
                        settings: Settings = DEFAULT, reach_m: float | None = None,
                        cluster_km: float = 5.0, peak_window_m: float = 1000.0,
                        min_separation_m: float = 1000.0, include_towers: bool = True,
                        tech: str = RADIO["tech"], band_mhz: float = RADIO["band_mhz"],
                        eirp_dbm: float = RADIO["eirp_dbm"]) -> gpd.GeoDataFrame:
    """Candidate sites around the target villages.

    Parameters
    ----------
    targets
        Target villages (rows of the villages layer, any CRS).
    towers
        The towers layer (existing positions that could be shared).
    dem
        Metric DEM for high points (none: no ``high_point`` candidates).
    crs
        Metric CRS of the output (default: the DEM's; required without a DEM).
    settings
        ``mast_height_m``, ``candidates_per_cluster``, radius/``max_radius_km``.
    reach_m
        How far from a target village a high point or tower may be (default: the radio
        reach, ``settings.radius_m(tech, band_mhz)``).
    cluster_km
        Villages closer than this (chained) form one cluster for the high points.
    peak_window_m, min_separation_m
        See :func:`dem_high_points`.
    include_towers
        Add existing towers as sharing candidates.
    tech, band_mhz, eirp_dbm
        Radio parameters of the equipment (see the module docstring).

    Returns
    -------
    geopandas.GeoDataFrame
        In the metric CRS, indexed ``0..n-1``, columns ``candidate_id``, ``kind``,
        ``site_type`` (``new``/``shared``), ``village_id``, ``tower_id``, ``cluster``,
        ``ground_m``, ``tech``, ``band_mhz``, ``antenna_height_m``, ``eirp_dbm``,
        ``x``, ``y``, ``lon``, ``lat``, geometry.
    """
    if crs is None:
        if dem is None:
            raise InputError("generate_candidates: pass crs= (the province's metric CRS) when "
                             "there is no DEM")
        crs = dem.crs
    crs = CRS.from_user_input(crs)
    if reach_m is None:
        reach_m = settings.radius_m(tech, band_mhz)
    centres = village_points(targets, crs)
    vxy = np.column_stack([centres["x"].to_numpy(), centres["y"].to_numpy()]) if len(centres) \
        else np.zeros((0, 2))
    cluster = cluster_villages(vxy, link_m=cluster_km * 1000.0)
    vid = (targets["village_id"].astype(str).to_numpy() if "village_id" in targets
           else np.asarray(targets.index.astype(str)))

    parts = [pd.DataFrame({"candidate_id": [f"V-{v}" for v in vid], "kind": "village_centre",
                           "village_id": vid, "tower_id": None, "cluster": cluster,
                           "x": vxy[:, 0], "y": vxy[:, 1],
                           "antenna_height_m": settings.mast_height_m})]
    if dem is not None and len(vxy):
        hp = dem_high_points(dem, vxy, cluster, per_cluster=settings.candidates_per_cluster,
                             reach_m=reach_m, peak_window_m=peak_window_m,
                             min_separation_m=min_separation_m)
        parts.append(pd.DataFrame({
            "candidate_id": [f"H-{c}-{i + 1}" for c, i in
                             zip(hp["cluster"], hp.groupby("cluster").cumcount(), strict=True)],
            "kind": "high_point", "village_id": None, "tower_id": None,
            "cluster": hp["cluster"].to_numpy(), "x": hp["x"].to_numpy(),
            "y": hp["y"].to_numpy(), "antenna_height_m": settings.mast_height_m}))
    if include_towers and towers is not None and len(towers) and len(vxy):
        tm = towers.to_crs(crs)
        txy = np.column_stack([tm.geometry.x.to_numpy(), tm.geometry.y.to_numpy()])
        dist, near = cKDTree(vxy).query(txy, distance_upper_bound=reach_m)
        ok = np.isfinite(dist)
        height = pd.to_numeric(tm["height_m"], errors="coerce").fillna(
            settings.mast_height_m).to_numpy()
        parts.append(pd.DataFrame({
            "candidate_id": [f"T-{t}" for t in tm["tower_id"].astype(str).to_numpy()[ok]],
            "kind": "tower", "village_id": None,
            "tower_id": tm["tower_id"].astype(str).to_numpy()[ok],
            "cluster": cluster[near[ok]], "x": txy[ok, 0], "y": txy[ok, 1],
            "antenna_height_m": height[ok]}))
    df = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(
        len(p) for p in parts) else parts[0]
    df["site_type"] = df["kind"].map(KINDS)
    df["tech"] = tech
    df["band_mhz"] = float(band_mhz)
    df["eirp_dbm"] = float(eirp_dbm)
    df["antenna_height_m"] = df["antenna_height_m"].astype(float)
    df["cluster"] = df["cluster"].astype(np.int64)
    geom = gpd.points_from_xy(df["x"], df["y"], crs=crs)
    gdf = gpd.GeoDataFrame(df, geometry=geom, crs=crs)
    ll = gdf.geometry.to_crs("EPSG:4326")
    gdf["lon"] = ll.x.round(6)
    gdf["lat"] = ll.y.round(6)
    gdf["ground_m"] = dem.sample(df["x"].to_numpy(), df["y"].to_numpy()) if dem is not None \
        else np.nan
    cols = ["candidate_id", "kind", "site_type", "village_id", "tower_id", "cluster",
            "ground_m", "tech", "band_mhz", "antenna_height_m", "eirp_dbm", "x", "y", "lon",
            "lat", "geometry"]
    gdf = gdf[cols]
    counts = gdf["kind"].value_counts()
    logger.info("generated %d candidate sites for %d target villages in %d clusters "
                "(%s)", len(gdf), len(vxy), len(np.unique(cluster)),
                ", ".join(f"{k} {int(counts.get(k, 0))}" for k in KINDS))
    return gdf


def candidate_coverage(candidates: gpd.GeoDataFrame, targets: gpd.GeoDataFrame, *,
                       dem: Dem | None = None, settings: Settings = DEFAULT,
                       model: str | None = None, min_code: int = 2) -> sp.csr_matrix:
    """Which target villages each candidate would cover (boolean sites × villages).

    Uses :func:`analysis.coverage.site_village_matrix` (terrain model when ``dem`` is given,
    unless ``model="radius"``); a village counts when its code reaches ``min_code``.
    """
    from phusong.analysis.coverage.engine import site_village_matrix

    if min_code not in (1, 2):
        raise InputError(f"min_code={min_code}: use 2 (phủ sóng) or 1 (lõm counts)")
    codes = site_village_matrix(candidates, targets, dem=dem, settings=settings, model=model,
                                crs=candidates.crs)
    codes = sp.csr_matrix(codes)
    cov = sp.csr_matrix(codes >= min_code, dtype=bool)
    cov.eliminate_zeros()
    logger.info("candidate coverage: %d candidates × %d target villages, %d pairs covered",
                cov.shape[0], cov.shape[1], cov.nnz)
    return cov
