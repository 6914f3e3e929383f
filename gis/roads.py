"""Road graphs: line layers → an osmnx-compatible networkx graph, and distances over it.

A road layer (synthetic or from OpenStreetMap) becomes a :class:`networkx.MultiDiGraph` built
with :func:`osmnx.convert.graph_from_gdfs`, so both kinds of input take the same path and the
result works with osmnx and networkx functions alike.

* Nodes are the line end points and every vertex shared by two or more lines (a junction),
  after snapping coordinates to a grid of ``snap_m`` metres (default 1 m), so that lines whose
  ends almost touch are joined. With ``split_crossings=True`` (the default) lines that cross
  get a shared vertex at the crossing first, so hand-drawn or generated roads that cross
  without a common vertex are joined; pass ``False`` for OpenStreetMap data, where a crossing
  without a shared node is a bridge or a tunnel.
* Every piece of line between two nodes is an edge, stored in both directions (roads are
  two-way) with attributes ``length`` (metres), ``highway``, ``geometry`` (oriented from
  ``u`` to ``v``), ``oneway`` (False), ``reversed`` and ``source_index`` (the input row).
  :func:`osmnx.convert.to_undirected` merges each pair back into one undirected edge.
* The graph's ``crs`` attribute is the metric CRS of the input layer.

Distances from points off the network add the straight access leg from the point to its
nearest node. Points in different connected components are unreachable: their distance is
``inf``; nothing raises for a disconnected network.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from gis.errors import CRSMismatchError, InputError

logger = logging.getLogger(__name__)

__all__ = [
    "component_sizes",
    "graph_from_roads",
    "multi_source_distance_m",
    "nearest_nodes",
    "node_xy",
    "route_length_m",
    "shortest_route",
]

_SOURCE = "__sources__"  # virtual node joining several sources


# -- building ------------------------------------------------------------------------------
def graph_from_roads(roads: gpd.GeoDataFrame, *, snap_m: float = 1.0,
                     split_crossings: bool = True,
                     highway_column: str = "highway") -> nx.MultiDiGraph:
    """Build a road graph from a line layer in a metric CRS.

    Parameters
    ----------
    roads
        LineStrings or MultiLineStrings in a projected (metric) CRS, e.g. a VN-2000 TM-3 zone.
        A ``highway`` column, when present, is copied onto the edges.
    snap_m
        Coordinates closer than about this many metres are treated as the same point.
    split_crossings
        Join lines where they cross (add the crossing as a vertex of both).
    highway_column
        Name of the road-class column.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes ``0..n-1`` with ``x``, ``y``; edges ``(u, v, key)`` in both directions with
        ``length`` in metres. An empty layer gives an empty graph.

    Raises
    ------
    CRSMismatchError
        If the layer has no CRS or a geographic one.
    """
    import osmnx as ox

    if roads.crs is None:
        raise CRSMismatchError("roads: the layer has no CRS; set it (e.g. EPSG:4326) and "
                               "reproject to the province's metric CRS before building a graph")
    crs = CRS.from_user_input(roads.crs)
    if not crs.is_projected:
        raise CRSMismatchError(f"roads: CRS {crs.to_string()} is geographic; reproject to a "
                               "metric CRS first (e.g. bundle.to_metric('roads'))")
    if not snap_m > 0:
        raise InputError(f"snap_m={snap_m}: must be > 0")

    geoms = roads.geometry.to_numpy()
    highway = (roads[highway_column].astype(object).to_numpy() if highway_column in roads
               else np.full(len(roads), None, dtype=object))
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    parts, part_index = shapely.get_parts(geoms[valid], return_index=True)
    src_rows = np.flatnonzero(valid)[part_index]
    is_line = shapely.get_type_id(parts) == 1
    parts, src_rows = parts[is_line], src_rows[is_line]
    if split_crossings and len(parts) > 1:
        parts = _add_crossing_vertices(parts)

    coords, line_of = shapely.get_coordinates(parts, return_index=True)
    if len(coords) == 0:
        return _empty_graph(crs)

    # snap to a grid and give every distinct position an id
    keys = np.round(coords / snap_m).astype(np.int64)
    uniq, vertex = np.unique(keys, axis=0, return_inverse=True)
    vertex = vertex.ravel()
    n_vertices = len(uniq)
    # representative coordinate per vertex: the first occurrence
    first = np.full(n_vertices, -1, dtype=np.int64)
    order = np.arange(len(vertex))[::-1]
    first[vertex[order]] = order
    vxy = coords[first]

    # nodes: line ends and vertices shared by two or more lines
    starts = np.r_[0, np.flatnonzero(np.diff(line_of)) + 1]
    ends = np.r_[starts[1:] - 1, len(line_of) - 1]
    pairs = np.unique(np.column_stack([vertex, line_of]), axis=0)
    n_lines_at = np.bincount(pairs[:, 0], minlength=n_vertices)
    is_node = n_lines_at >= 2
    is_node[vertex[starts]] = True
    is_node[vertex[ends]] = True
    node_vertices = np.flatnonzero(is_node)
    node_id = np.full(n_vertices, -1, dtype=np.int64)
    node_id[node_vertices] = np.arange(len(node_vertices))

    rows: list[tuple[int, int, Any, int, LineString]] = []
    for li, (s, e) in enumerate(zip(starts, ends, strict=True)):
        v = vertex[s:e + 1]
        keep = np.r_[True, v[1:] != v[:-1]]  # drop repeated points after snapping
        v = v[keep]
        if len(v) < 2:
            continue
        cut = np.flatnonzero(is_node[v])
        for a, b in itertools.pairwise(cut):
            seg = v[a:b + 1]
            u, w = node_id[seg[0]], node_id[seg[-1]]
            if u == w and len(seg) <= 2:
                continue
            rows.append((int(u), int(w), highway[src_rows[li]], int(src_rows[li]),
                         LineString(vxy[seg])))

    if not rows:
        return _empty_graph(crs)
    u_arr = np.array([r[0] for r in rows], dtype=np.int64)
    v_arr = np.array([r[1] for r in rows], dtype=np.int64)
    seg_geoms = np.array([r[4] for r in rows], dtype=object)
    rev_geoms = shapely.reverse(seg_geoms)
    hw = [r[2] for r in rows]
    src = [r[3] for r in rows]
    lengths = shapely.length(seg_geoms)
    fwd = pd.DataFrame({"u": u_arr, "v": v_arr, "length": lengths, "highway": hw,
                        "oneway": False, "reversed": False, "source_index": src,
                        "geometry": seg_geoms})
    bwd = pd.DataFrame({"u": v_arr, "v": u_arr, "length": lengths, "highway": hw,
                        "oneway": False, "reversed": True, "source_index": src,
                        "geometry": rev_geoms})
    # a self-loop is stored once
    bwd = bwd[bwd["u"] != bwd["v"]]
    edges = pd.concat([fwd, bwd], ignore_index=True)
    edges["key"] = edges.groupby(["u", "v"]).cumcount()
    gdf_edges = gpd.GeoDataFrame(edges.set_index(["u", "v", "key"]), geometry="geometry",
                                 crs=crs)

    used = np.unique(np.r_[u_arr, v_arr])
    nxy = vxy[node_vertices[used]]
    gdf_nodes = gpd.GeoDataFrame({"x": nxy[:, 0], "y": nxy[:, 1]},
                                 geometry=shapely.points(nxy), crs=crs,
                                 index=pd.Index(used, name="osmid"))
    G = ox.convert.graph_from_gdfs(gdf_nodes, gdf_edges, graph_attrs={"crs": crs})
    sizes = component_sizes(G)
    logger.info("built road graph: %d lines → %d nodes, %d edges, %d connected component(s)"
                "%s", len(roads), G.number_of_nodes(), len(fwd), len(sizes),
                f" (largest {sizes[0]} nodes)" if len(sizes) > 1 else "")
    return G


def _add_crossing_vertices(lines: np.ndarray) -> np.ndarray:
    """Insert every point where two lines meet as a vertex of both lines."""
    tree = shapely.STRtree(lines)
    a, b = tree.query(lines, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return lines
    inter = shapely.intersection(lines[a], lines[b])
    pts, which = shapely.get_coordinates(inter, return_index=True)
    if len(pts) == 0:
        return lines
    owner = np.r_[a[which], b[which]]
    pts = np.r_[pts, pts]
    out = lines.copy()
    order = np.argsort(owner, kind="stable")
    owner, pts = owner[order], pts[order]
    bounds = np.r_[0, np.flatnonzero(np.diff(owner)) + 1, len(owner)]
    for s, e in itertools.pairwise(bounds):
        i = owner[s]
        line = lines[i]
        coords = shapely.get_coordinates(line)
        seg = np.hypot(*np.diff(coords, axis=0).T)
        along = np.r_[0.0, np.cumsum(seg)]
        extra = pts[s:e]
        at = shapely.line_locate_point(line, shapely.points(extra))
        inner = (at > 0) & (at < along[-1])
        if not inner.any():
            continue
        merged_at = np.r_[along, at[inner]]
        merged_xy = np.r_[coords, extra[inner]]
        o = np.argsort(merged_at, kind="stable")
        out[i] = LineString(merged_xy[o])
    return out


def _empty_graph(crs: CRS) -> nx.MultiDiGraph:
    logger.info("built road graph: no usable lines, empty graph")
    return nx.MultiDiGraph(crs=crs)


def component_sizes(G: nx.Graph) -> list[int]:
    """Node counts of the weakly connected components, largest first."""
    if G.number_of_nodes() == 0:
        return []
    comps = (nx.weakly_connected_components(G) if G.is_directed()
             else nx.connected_components(G))
    return sorted((len(c) for c in comps), reverse=True)


# -- nodes and snapping --------------------------------------------------------------------
def node_xy(G: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
    """Node ids and an ``(n, 2)`` array of their x, y (metric CRS)."""
    ids = np.array(list(G.nodes), dtype=object)
    xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)], dtype=float).reshape(-1, 2)
    return ids, xy


def _as_xy(x: Any, y: Any = None) -> np.ndarray:
    if y is None:
        arr = np.asarray(x, dtype=float)
        return arr.reshape(-1, 2)
    return np.column_stack([np.atleast_1d(np.asarray(x, dtype=float)),
                            np.atleast_1d(np.asarray(y, dtype=float))])


def nearest_nodes(G: nx.Graph, x: Any, y: Any, *, return_dist: bool = False):
    """Nearest graph node to each point (straight line, metric CRS).

    Parameters
    ----------
    G
        A graph from :func:`graph_from_roads` (or any graph with node ``x``/``y``).
    x, y
        Scalars or arrays of coordinates in the graph's CRS.
    return_dist
        Also return the straight-line distance in metres.

    Returns
    -------
    node or numpy.ndarray
        Node id(s) (a scalar for scalar input); with ``return_dist`` a tuple (ids, dist_m).

    Raises
    ------
    InputError
        If the graph has no nodes.
    """
    ids, nxy = node_xy(G)
    if len(ids) == 0:
        raise InputError("the road graph has no nodes; no nearest node exists (is the roads "
                         "layer empty?)")
    pts = _as_xy(x, y)
    dist, idx = cKDTree(nxy).query(pts)
    found = ids[idx]
    if np.ndim(x) == 0:
        return (found[0], float(dist[0])) if return_dist else found[0]
    return (found, dist) if return_dist else found


# -- distances -----------------------------------------------------------------------------
def _weighted_undirected(G: nx.Graph) -> nx.Graph:
    """A simple undirected graph keeping the shortest of parallel edges (``length``)."""
    H = nx.Graph()
    H.add_nodes_from(G.nodes(data=True))
    edges = (G.edges(keys=True, data=True) if G.is_multigraph()
             else ((u, v, 0, d) for u, v, d in G.edges(data=True)))
    for u, v, _k, d in edges:
        length = float(d.get("length", np.inf))
        old = H.get_edge_data(u, v)
        if old is None or length < old["length"]:
            H.add_edge(u, v, length=length, geometry=d.get("geometry"), frm=u)
    return H


def multi_source_distance_m(G: nx.Graph, sources_xy: Any, targets_xy: Any, *,
                            cutoff_m: float | None = None) -> np.ndarray:
    """Road distance from the nearest of several sources to each target, in metres.

    Each point reaches the network by a straight leg to its nearest node; that leg's length
    is added at both ends. The sources are joined to one virtual node and one Dijkstra run
    (:func:`networkx.single_source_dijkstra_path_length`, the multi-source Dijkstra) gives
    every target's distance.

    Parameters
    ----------
    G
        Road graph (directed or not; it is used undirected).
    sources_xy, targets_xy
        ``(n, 2)`` arrays (or sequences of pairs) of x, y in the graph's CRS.
    cutoff_m
        Stop searching beyond this distance; farther targets get ``inf``.

    Returns
    -------
    numpy.ndarray
        One distance per target; ``inf`` when unreachable (other component, no sources,
        empty graph, or beyond ``cutoff_m``).
    """
    src = _as_xy(sources_xy)
    tgt = _as_xy(targets_xy)
    out = np.full(len(tgt), np.inf)
    if len(src) == 0 or len(tgt) == 0 or G.number_of_nodes() == 0:
        return out
    H = _weighted_undirected(G)
    ids, nxy = node_xy(H)
    tree = cKDTree(nxy)
    s_dist, s_idx = tree.query(src)
    t_dist, t_idx = tree.query(tgt)
    H.add_node(_SOURCE)
    for d, i in zip(s_dist, s_idx, strict=True):
        node = ids[i]
        old = H.get_edge_data(_SOURCE, node)
        if old is None or d < old["length"]:
            H.add_edge(_SOURCE, node, length=float(d))
    dist = nx.single_source_dijkstra_path_length(H, _SOURCE, cutoff=cutoff_m, weight="length")
    road = np.array([dist.get(ids[i], np.inf) for i in t_idx], dtype=float)
    out = road + t_dist
    if cutoff_m is not None:
        out[out > cutoff_m] = np.inf
    logger.info("road distances: %d sources → %d targets, %d unreachable", len(src), len(tgt),
                int(np.isinf(out).sum()))
    return out


def shortest_route(G: nx.Graph, a: Iterable[float], b: Iterable[float]
                   ) -> tuple[float, LineString | None]:
    """Shortest road route between two points, with the straight access legs.

    Parameters
    ----------
    G
        Road graph.
    a, b
        ``(x, y)`` of the start and end, in the graph's CRS.

    Returns
    -------
    tuple
        ``(length_m, line)``: the length in metres and the route as a LineString from ``a``
        to ``b``; ``(inf, None)`` when no route exists.
    """
    ax, ay = map(float, a)
    bx, by = map(float, b)
    if G.number_of_nodes() == 0:
        return np.inf, None
    H = _weighted_undirected(G)
    ids, nxy = node_xy(H)
    d, i = cKDTree(nxy).query([(ax, ay), (bx, by)])
    na, nb = ids[i[0]], ids[i[1]]
    try:
        length, path = nx.single_source_dijkstra(H, na, nb, weight="length")
    except nx.NetworkXNoPath:
        return np.inf, None
    pts: list[tuple[float, float]] = [(ax, ay)]
    for u, v in itertools.pairwise(path):
        e = H.edges[u, v]
        geom = e.get("geometry")
        if geom is None:
            seg = [(H.nodes[u]["x"], H.nodes[u]["y"]), (H.nodes[v]["x"], H.nodes[v]["y"])]
        else:
            seg = list(geom.coords) if e["frm"] == u else list(geom.coords)[::-1]
        pts.extend(seg)
    if len(path) == 1:
        pts.append((H.nodes[na]["x"], H.nodes[na]["y"]))
    pts.append((bx, by))
    # remove consecutive duplicates
    clean = [pts[0]] + [p for p, q in zip(pts[1:], pts[:-1], strict=True) if p != q]
    if len(clean) == 1:
        clean.append(clean[0])
    total = float(length + d[0] + d[1])
    return total, LineString(clean)


def route_length_m(G: nx.Graph, x0: float, y0: float, x1: float, y1: float) -> float:
    """Road distance in metres between two points (``inf`` when unreachable)."""
    return shortest_route(G, (x0, y0), (x1, y1))[0]
