"""What each candidate station would cost, in VND, with a breakdown.

Every unit cost is a setting (``cost_*`` keys of :class:`layers.settings.Settings`; defaults
are planning-level figures to be replaced with a province's own):

tower
    ``cost_tower_vnd`` for a new mast; ``cost_colocation_vnd`` (no tower) for equipment on an
    existing tower.
equipment
    ``cost_equipment_vnd`` (radio, antennas, shelter) for every candidate.
power
    new mast: ``cost_grid_connection_vnd`` when the nearest village has grid power, else
    ``cost_solar_power_vnd``; an existing tower is already powered (0).
backhaul
    the cheaper of
    * fibre extension: ``cost_fibre_per_km_vnd`` × the route length from the nearest fibre to
      the site along the road graph (:mod:`gis.roads`, shortest path, straight legs from the
      fibre to the road and from the road to the site); straight-line length when there is
      no road graph or no road route;
    * a microwave hop (``cost_microwave_hop_vnd``) to a fibre-fed tower (one within
      ``fibre_access_km`` of fibre) at most ``microwave_max_km`` away with line of sight and
      60 % of the first Fresnel zone clear over the DEM (k = ``settings.k_factor``, 4/3;
      at :data:`MICROWAVE_FREQ_MHZ`), checked by :func:`gis.links.links_clearance` for the
      ``max_hop_checks`` nearest fed towers; the nearest clear one is used;
    an existing tower that is itself fibre-fed needs no new backhaul (0).
operation
    ``opex_per_year_vnd`` × ``opex_years``.

``total_cost_vnd`` = capex + operation is what the optimiser's budget pays for; set
``opex_years=0`` to budget the investment only.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from phusong.gis.dem import Dem
from phusong.gis.roads import multi_source_distance_m
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["COST_COLUMNS", "candidate_costs", "fibre_fed_towers"]

#: cost breakdown columns added by :func:`candidate_costs`
COST_COLUMNS = ("power", "backhaul", "fibre_km", "fibre_route", "microwave_tower_id",
                "microwave_km", "cost_tower_vnd", "cost_equipment_vnd", "cost_power_vnd",
                "cost_backhaul_vnd", "capex_vnd", "opex_vnd", "total_cost_vnd")

#: microwave link frequency used for the Fresnel-zone check (a common 7–8 GHz backhaul band)
MICROWAVE_FREQ_MHZ = 7500.0
_FIBRE_STEP_M = 250.0


def _fibre_points(fibre: gpd.GeoDataFrame) -> np.ndarray:
    geoms = fibre.geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms) == 0:
        return np.zeros((0, 2))
    return shapely.get_coordinates(shapely.segmentize(geoms, _FIBRE_STEP_M))


def _distance_to_lines(xy: np.ndarray, lines: gpd.GeoDataFrame) -> np.ndarray:
    geoms = lines.geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms) == 0 or len(xy) == 0:
        return np.full(len(xy), np.inf)
    tree = shapely.STRtree(geoms)
    pts = shapely.points(xy)
    (ip, _ig), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    out = np.full(len(xy), np.inf)
    out[ip] = dist
    return out


def fibre_fed_towers(towers: gpd.GeoDataFrame, fibre: gpd.GeoDataFrame, *,
                     settings: Settings = DEFAULT) -> pd.Series:
    """Whether each tower lies within ``settings.fibre_access_km`` of a fibre route.

    Both layers must share a metric CRS. Index kept.
    """
    if len(towers) == 0:
        return pd.Series(dtype=bool, index=towers.index)
    xy = np.column_stack([towers.geometry.x.to_numpy(), towers.geometry.y.to_numpy()])
    d = _distance_to_lines(xy, fibre)
    return pd.Series(d <= settings.fibre_access_km * 1000.0, index=towers.index)


def candidate_costs(candidates: gpd.GeoDataFrame, *, villages: gpd.GeoDataFrame,
                    towers: gpd.GeoDataFrame | None = None,
                    fibre: gpd.GeoDataFrame | None = None,
                    road_graph: nx.Graph | None = None, dem: Dem | None = None,
                    settings: Settings = DEFAULT, max_hop_checks: int = 5) -> pd.DataFrame:
    """Cost breakdown of each candidate.

    Parameters
    ----------
    candidates
        From :func:`analysis.rollout.candidates.generate_candidates` (metric CRS).
    villages
        The villages layer (any CRS): the nearest village's ``has_grid_power`` decides power.
    towers
        The towers layer (any CRS): fibre-fed towers are microwave hop ends.
    fibre
        The fibre routes layer (any CRS). None or empty: no fibre anywhere (microwave only).
    road_graph
        :func:`gis.roads.graph_from_roads` graph in the candidates' CRS (None: straight lines).
    dem
        Metric DEM for the microwave line-of-sight check (None: no microwave hops).
    settings
        Unit costs (``cost_*``), ``opex_*``, ``fibre_access_km``, ``microwave_max_km``,
        ``k_factor``.
    max_hop_checks
        Fibre-fed towers tried per candidate, nearest first.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``candidates``, columns :data:`COST_COLUMNS`.
    """
    from phusong.analysis.coverage.villages import village_points
    from phusong.layers.validate import as_bool

    s = settings
    crs = candidates.crs
    n = len(candidates)
    xy = np.column_stack([candidates["x"].to_numpy(float), candidates["y"].to_numpy(float)]) \
        if n else np.zeros((0, 2))
    shared = (candidates["site_type"] == "shared").to_numpy()
    out = pd.DataFrame(index=candidates.index)

    # tower and equipment
    out["cost_tower_vnd"] = np.where(shared, s.cost_colocation_vnd, s.cost_tower_vnd)
    out["cost_equipment_vnd"] = s.cost_equipment_vnd

    # power: nearest village's grid
    vc = village_points(villages, crs)
    if len(vc) and n:
        _, near = cKDTree(np.column_stack([vc["x"], vc["y"]])).query(xy)
        grid = as_bool(villages["has_grid_power"]).to_numpy()[near]
    else:
        grid = np.zeros(n, dtype=bool)
    out["power"] = np.where(shared, "existing", np.where(grid, "grid", "solar"))
    out["cost_power_vnd"] = np.where(shared, 0.0, np.where(grid, s.cost_grid_connection_vnd,
                                                            s.cost_solar_power_vnd))

    # fibre extension
    fib = fibre.to_crs(crs) if fibre is not None and len(fibre) else None
    straight = _distance_to_lines(xy, fib) if fib is not None else np.full(n, np.inf)
    if fib is not None and road_graph is not None and road_graph.number_of_nodes():
        road = multi_source_distance_m(road_graph, _fibre_points(fib), xy)
    else:
        road = np.full(n, np.inf)
    fibre_m = np.where(np.isfinite(road), road, straight)
    out["fibre_km"] = np.round(fibre_m / 1000.0, 3)
    out["fibre_route"] = np.where(np.isfinite(road), "road",
                                  np.where(np.isfinite(straight), "straight", "none"))
    fibre_cost = fibre_m / 1000.0 * s.cost_fibre_per_km_vnd

    # fibre-fed towers: shared ones need nothing; others are microwave hop ends
    tower_fed = np.zeros(n, dtype=bool)
    mw_tower = np.full(n, None, dtype=object)
    mw_km = np.full(n, np.nan)
    if towers is not None and len(towers) and fib is not None:
        tm = towers.to_crs(crs)
        fed = fibre_fed_towers(tm, fib, settings=s).to_numpy()
        tid = tm["tower_id"].astype(str).to_numpy()
        if "tower_id" in candidates:
            fed_ids = set(tid[fed])
            tower_fed = shared & candidates["tower_id"].astype(str).isin(fed_ids).to_numpy()
        if dem is not None and fed.any():
            mw_tower, mw_km = _microwave_hops(xy, candidates["antenna_height_m"].to_numpy(float),
                                              tm[fed], dem, settings=s,
                                              max_checks=max_hop_checks,
                                              skip=tower_fed)
    mw_ok = np.array([t is not None for t in mw_tower], dtype=bool)
    mw_cost = np.where(mw_ok, s.cost_microwave_hop_vnd, np.inf)
    use_mw = mw_cost < fibre_cost
    backhaul_cost = np.where(tower_fed, 0.0, np.minimum(fibre_cost, mw_cost))
    out["backhaul"] = np.where(tower_fed, "existing", np.where(use_mw, "microwave", np.where(
        np.isfinite(fibre_cost), "fibre", "none")))
    out["microwave_tower_id"] = np.where(mw_ok, mw_tower, None)
    out["microwave_km"] = np.round(mw_km, 3)
    # no fibre and no hop: price it as a microwave hop over a relay (documented worst case)
    no_backhaul = ~np.isfinite(backhaul_cost)
    backhaul_cost = np.where(no_backhaul, 2 * s.cost_microwave_hop_vnd, backhaul_cost)
    out.loc[no_backhaul, "backhaul"] = "relay"
    out["cost_backhaul_vnd"] = np.round(backhaul_cost, 0)
    out["capex_vnd"] = (out["cost_tower_vnd"] + out["cost_equipment_vnd"] +
                        out["cost_power_vnd"] + out["cost_backhaul_vnd"])
    out["opex_vnd"] = s.opex_per_year_vnd * s.opex_years
    out["total_cost_vnd"] = (out["capex_vnd"] + out["opex_vnd"]).round(0)
    out = out[list(COST_COLUMNS)]
    counts = out["backhaul"].value_counts()
    logger.info("costed %d candidates: total %.3g–%.3g VND; backhaul %s", n,
                out["total_cost_vnd"].min() if n else 0, out["total_cost_vnd"].max() if n else 0,
                ", ".join(f"{k} {v}" for k, v in counts.items()))
    return out


def _microwave_hops(xy: np.ndarray, height_m: np.ndarray, fed: gpd.GeoDataFrame, dem: Dem, *,
                    settings: Settings, max_checks: int, skip: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Nearest fibre-fed tower in microwave reach with 60 % of the first Fresnel zone clear
    (:func:`gis.links.links_clearance`, k = ``settings.k_factor``)."""
    from phusong.gis.links import links_clearance

    n = len(xy)
    hop = np.full(n, None, dtype=object)
    hop_km = np.full(n, np.nan)
    fxy = np.column_stack([fed.geometry.x.to_numpy(), fed.geometry.y.to_numpy()])
    fh = pd.to_numeric(fed["height_m"], errors="coerce").fillna(settings.mast_height_m) \
        .to_numpy(float)
    fid = fed["tower_id"].astype(str).to_numpy()
    k = min(max_checks, len(fxy))
    if n == 0 or k == 0:
        return hop, hop_km
    dist, idx = cKDTree(fxy).query(xy, k=k,
                                   distance_upper_bound=settings.microwave_max_km * 1000.0)
    dist = dist.reshape(n, -1)
    idx = idx.reshape(n, -1)
    cand_i, rank = np.nonzero(np.isfinite(dist) & ~skip[:, None])
    tower_j = idx[cand_i, rank]
    d = dist[cand_i, rank]
    same = d < 1.0  # a candidate on the fed tower itself
    clear = np.ones(len(cand_i), dtype=bool)
    check = ~same
    if check.any():
        res = links_clearance(dem, xy[cand_i[check]], fxy[tower_j[check]],
                              h_a_m=height_m[cand_i[check]], h_b_m=fh[tower_j[check]],
                              freq_mhz=MICROWAVE_FREQ_MHZ, k_factor=settings.k_factor)
        clear[check] = res["fresnel_clear"].to_numpy()
    # nearest clear tower per candidate (pairs come ordered by candidate, then distance)
    for i, j, dd, ok in zip(cand_i, tower_j, d, clear, strict=True):
        if ok and hop[i] is None:
            hop[i], hop_km[i] = fid[j], dd / 1000.0
    logger.info("microwave: %d links checked, %d candidates with a hop", int(check.sum()),
                int(sum(h is not None for h in hop)))
    return hop, hop_km
