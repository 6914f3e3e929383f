"""Fibre: route length by kind, undergrounding, reach of villages and commune centres, and the
length of the fibre extension each gap village would need, routed along roads.

* **Length by kind** — lengths of the ``fibre_routes`` layer measured in the province's metric
  CRS (VN-2000 TM-3), per operator and kind, with the undergrounding ratio
  ("tỷ lệ ngầm hóa" = underground km / all km; Lai Châu 2022: 883 / 8 828 km = 10.2 %).
* **Reach** — a village is within reach when the straight-line distance from its centre to the
  nearest route is at most ``settings.fibre_access_km`` (2 km), the same rule the status table
  uses for "internet". A commune centre is the centre of the commune's most populous village
  (ties: the smaller ``village_id``; a commune without villages uses a representative point of
  its polygon) — the data model has no separate commune-seat point. Reported as "n/N"
  (Điện Biên 2023: 100 % of commune centres, 88.7 % of villages).
* **Extension along roads** — the fibre extension of a village is the shortest road distance
  from the nearest point of any fibre route to the village centre: fibre routes are sampled
  every ``spacing_m`` metres, the roads become a graph (:func:`road_graph`: the lines are cut
  at every ``spacing_m`` so that each sampled fibre point and each village reaches the network
  at a nearby node), and one multi-source Dijkstra
  (:func:`gis.roads.multi_source_distance_m`) gives every village's distance, including the
  straight off-road legs from the fibre point to the road and from the road to the village.
  ``access_km`` reports the village's own off-road leg. Villages the road network does not
  reach get ``inf``; without a roads layer the extension is NaN.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from phusong.analysis.coverage.villages import village_points
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import parse_operator
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = [
    "commune_centres",
    "fibre_extension_km",
    "fibre_lengths",
    "fibre_reach",
    "format_ratio",
    "road_graph",
]

#: spacing of fibre sample points and road-graph nodes (metres)
SPACING_M = 250.0


def format_ratio(n: int, total: int) -> str:
    """The reports' "n/N" form, e.g. ``"941/948"``."""
    return f"{int(n)}/{int(total)}"


def fibre_lengths(bundle: ProvinceBundle) -> pd.DataFrame:
    """Route km per operator and kind, with totals and the undergrounding ratio.

    Returns
    -------
    pandas.DataFrame
        Columns ``operator`` (``"all"`` for the province), ``kind`` (``aerial``,
        ``underground``, ``all``), ``length_km`` and ``underground_ratio`` (on the ``all``
        rows: underground km / all km, NaN when there is no fibre).
    """
    fibre = bundle.to_metric("fibre_routes")
    df = pd.DataFrame({
        "operator": [parse_operator(o).value for o in fibre["operator"]] if len(fibre) else [],
        "kind": fibre["kind"].astype(str).to_numpy() if len(fibre) else [],
        "length_km": fibre.geometry.length.to_numpy() / 1000.0 if len(fibre) else [],
    })  # fmt: skip
    rows = []
    ops = [*sorted(df["operator"].unique()), "all"]
    for op in ops:
        sub = df if op == "all" else df[df["operator"] == op]
        total = float(sub["length_km"].sum())
        for kind in ("aerial", "underground"):
            rows.append({"operator": op, "kind": kind,
                         "length_km": round(float(sub.loc[sub["kind"] == kind, "length_km"]
                                                  .sum()), 3), "underground_ratio": np.nan})
        under = float(sub.loc[sub["kind"] == "underground", "length_km"].sum())
        rows.append({"operator": op, "kind": "all", "length_km": round(total, 3),
                     "underground_ratio": round(under / total, 4) if total > 0 else np.nan})
    out = pd.DataFrame(rows)
    tot = out[(out["operator"] == "all") & (out["kind"] == "all")].iloc[0]
    logger.info("fibre: %.1f km, %.1f %% underground", tot["length_km"],
                100 * (tot["underground_ratio"] if tot["length_km"] else 0.0))
    return out


def _fibre_lines(bundle: ProvinceBundle, crs: Any) -> np.ndarray:
    fibre = bundle.layer("fibre_routes")
    if len(fibre) == 0:
        return np.array([], dtype=object)
    g = fibre.to_crs(crs).geometry.to_numpy()
    return g[~(shapely.is_missing(g) | shapely.is_empty(g))]


def _distance_to_lines_km(lines: np.ndarray, xy: np.ndarray) -> np.ndarray:
    out = np.full(len(xy), np.nan)
    if len(lines) == 0 or len(xy) == 0:
        return out
    tree = shapely.STRtree(lines)
    _, d = tree.query_nearest(shapely.points(xy), return_distance=True, all_matches=False)
    return np.asarray(d, dtype=float) / 1000.0


def commune_centres(bundle: ProvinceBundle) -> pd.DataFrame:
    """Commune centre points (metric): the most populous village's centre, else the polygon.

    Returns
    -------
    pandas.DataFrame
        Indexed by commune code: ``name``, ``x``, ``y``, ``village_id`` (None when the
        polygon was used).
    """
    admin = bundle.layer("admin_units")
    communes = admin[admin["level"] == "commune"] if len(admin) else admin
    vp = village_points(bundle.layer("villages"), bundle.metric_crs)
    vil = bundle.layer("villages")
    v = pd.DataFrame({"village_id": vp["village_id"].to_numpy(),
                      "commune_code": vil["commune_code"].astype(str).to_numpy(),
                      "population": pd.to_numeric(vil["population"]).to_numpy(),
                      "x": vp["x"].to_numpy(), "y": vp["y"].to_numpy()})
    v = v.sort_values(["commune_code", "population", "village_id"],
                      ascending=[True, False, True], kind="mergesort")
    main = v.drop_duplicates("commune_code").set_index("commune_code")
    codes = sorted(set(communes["code"].astype(str)) | set(main.index))
    names = dict(zip(communes["code"].astype(str), communes["name"], strict=True))
    poly = {}
    if len(communes):
        rep = communes.to_crs(bundle.metric_crs).geometry.representative_point()
        poly = dict(zip(communes["code"].astype(str), zip(rep.x, rep.y, strict=True),
                        strict=True))
    rows = []
    for c in codes:
        if c in main.index:
            r = main.loc[c]
            rows.append((c, names.get(c), float(r["x"]), float(r["y"]), r["village_id"]))
        else:
            x, y = poly[c]
            rows.append((c, names.get(c), x, y, None))
    return pd.DataFrame(rows, columns=["commune_code", "name", "x", "y", "village_id"]
                        ).set_index("commune_code")


def fibre_reach(bundle: ProvinceBundle, *, settings: Settings = DEFAULT
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Villages and commune centres within ``settings.fibre_access_km`` of fibre.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(indicators, villages)``: indicators has ``indicator``, ``n``, ``total``, ``ratio``,
        ``ratio_text``; villages has ``village_id``, ``name``, ``commune_code``, ``fibre_km``,
        ``within_reach`` (index of the villages layer).
    """
    crs = bundle.metric_crs
    lines = _fibre_lines(bundle, crs)
    vp = village_points(bundle.layer("villages"), bundle.metric_crs)
    vil = bundle.layer("villages")
    vkm = _distance_to_lines_km(lines, np.column_stack([vp["x"], vp["y"]]).reshape(-1, 2))
    limit = settings.fibre_access_km
    with np.errstate(invalid="ignore"):
        v_in = vkm <= limit
    villages = pd.DataFrame({"village_id": vp["village_id"].to_numpy(),
                             "name": vil["name"].to_numpy(),
                             "commune_code": vil["commune_code"].astype(str).to_numpy(),
                             "fibre_km": np.round(vkm, 3), "within_reach": v_in},
                            index=vil.index)
    cc = commune_centres(bundle)
    ckm = _distance_to_lines_km(lines, cc[["x", "y"]].to_numpy().reshape(-1, 2))
    with np.errstate(invalid="ignore"):
        c_in = ckm <= limit
    rows = [("villages_within_fibre_access", int(v_in.sum()), len(v_in)),
            ("commune_centres_within_fibre_access", int(c_in.sum()), len(c_in))]
    ind = pd.DataFrame([{"indicator": k, "n": n, "total": t,
                         "ratio": round(n / t, 4) if t else np.nan,
                         "ratio_text": format_ratio(n, t)} for k, n, t in rows])
    logger.info("fibre reach (≤ %.1f km): villages %s, commune centres %s", limit,
                ind.loc[0, "ratio_text"], ind.loc[1, "ratio_text"])
    return ind, villages


def road_graph(bundle: ProvinceBundle, *, spacing_m: float = SPACING_M) -> nx.MultiDiGraph | None:
    """The bundle's roads as a graph with a node at least every ``spacing_m`` metres.

    Lines are segmentised and cut into two-point pieces before
    :func:`gis.roads.graph_from_roads`, so that points near a road reach it at a nearby node
    rather than at a distant junction. ``None`` when the bundle has no roads.
    """
    from phusong.gis.roads import graph_from_roads

    if not bundle.has("roads"):
        return None
    roads = bundle.to_metric("roads")
    geoms = shapely.segmentize(roads.geometry.to_numpy(), spacing_m)
    parts, idx = shapely.get_parts(geoms, return_index=True)
    coords, line_of = shapely.get_coordinates(parts, return_index=True)
    keep = np.r_[line_of[1:] == line_of[:-1], False]
    a = coords[:-1][keep[:-1]]
    b = coords[1:][keep[:-1]]
    src = idx[line_of[:-1][keep[:-1]]]
    pieces = shapely.linestrings(np.stack([a, b], axis=1))
    hw = roads["highway"].astype(object).to_numpy() if "highway" in roads else None
    gdf = gpd.GeoDataFrame({"highway": hw[src] if hw is not None else None},
                           geometry=pieces, crs=roads.crs)
    return graph_from_roads(gdf)


def _fibre_sample_xy(lines: np.ndarray, spacing_m: float) -> np.ndarray:
    if len(lines) == 0:
        return np.zeros((0, 2))
    dense = shapely.segmentize(lines, spacing_m)
    return shapely.get_coordinates(dense)


def fibre_extension_km(bundle: ProvinceBundle, village_ids: Iterable[str] | None = None, *,
                       graph: nx.MultiDiGraph | None = None,
                       spacing_m: float = SPACING_M) -> pd.DataFrame:
    """Fibre extension length along roads from the nearest fibre to each village.

    Parameters
    ----------
    bundle
        The province bundle.
    village_ids
        Villages to evaluate (default: all).
    graph
        A graph from :func:`road_graph` (built when omitted).
    spacing_m
        Fibre sampling step.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``village_id``: ``fibre_km`` (straight line), ``extension_km`` (along
        roads, with off-road legs; ``inf`` unreachable; NaN without roads or fibre) and
        ``access_km`` (village centre to its nearest road node).
    """
    from phusong.gis.roads import multi_source_distance_m, nearest_nodes

    crs = bundle.metric_crs
    vp = village_points(bundle.layer("villages"), bundle.metric_crs).set_index("village_id")
    ids = list(vp.index) if village_ids is None else [str(v) for v in village_ids]
    pts = vp.loc[ids]
    vxy = np.column_stack([pts["x"], pts["y"]]).reshape(-1, 2)
    lines = _fibre_lines(bundle, crs)
    out = pd.DataFrame({"fibre_km": np.round(_distance_to_lines_km(lines, vxy), 3),
                        "extension_km": np.nan, "access_km": np.nan},
                       index=pd.Index(ids, name="village_id"))
    if len(ids) == 0 or len(lines) == 0:
        return out
    G = graph if graph is not None else road_graph(bundle, spacing_m=spacing_m)
    if G is None or G.number_of_nodes() == 0:
        return out
    sources = _fibre_sample_xy(lines, spacing_m)
    # thin the sources: one per road node is enough (the nearest sample to that node)
    _, nxy = _node_xy(G)
    d_src, node_of = cKDTree(nxy).query(sources)
    best: dict[int, int] = {}
    for k in np.lexsort((d_src, node_of)):
        best.setdefault(int(node_of[k]), int(k))
    sources = sources[sorted(best.values())]
    dist_m = multi_source_distance_m(G, sources, vxy)
    _, access = nearest_nodes(G, vxy[:, 0], vxy[:, 1], return_dist=True)
    out["extension_km"] = np.round(dist_m / 1000.0, 3)
    out["access_km"] = np.round(np.asarray(access, dtype=float) / 1000.0, 3)
    logger.info("fibre extension along roads for %d villages (median %.1f km)", len(ids),
                float(np.nanmedian(np.where(np.isinf(dist_m), np.nan, dist_m))) / 1000
                if np.isfinite(dist_m).any() else float("nan"))
    return out


def _node_xy(G: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
    from phusong.gis.roads import node_xy

    return node_xy(G)
