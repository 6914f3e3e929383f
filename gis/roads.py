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

Distances between points off the network (:func:`multi_source_distance_m`,
:func:`shortest_route`) join each point to the nearest point of the nearest edge by a
straight access leg and split that edge there, so a point beside the middle of a long road
enters the road where it is, not at the road's far ends. Points in different connected
components are unreachable: their distance is ``inf``; nothing raises for a disconnected
network.
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
import shapely.ops
from pyproj import CRS
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from phusong.gis.errors import CRSMismatchError, InputError

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
        parts = _add_crossing_vertices(parts, snap_m)

    coords, line_of = shapely.get_coordinates(parts, return_index=True)
    if len(coords) == 0:
        return _empty_graph(crs)

    # snap: coordinates chained by gaps of at most snap_m are one position
    vertex = _snap_labels(coords, snap_m)
    n_vertices = int(vertex.max()) + 1
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


def _snap_labels(coords: np.ndarray, snap_m: float) -> np.ndarray:
    """Label coordinates so that points chained by gaps of at most ``snap_m`` share one."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(coords)
    pairs = cKDTree(coords).query_pairs(r=snap_m, output_type="ndarray")
    adj = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                     shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    return labels.astype(np.int64)


def _add_crossing_vertices(lines: np.ndarray, snap_m: float) -> np.ndarray:
    """Give lines that cross or touch a common vertex.

    Where two lines intersect, the intersection points become vertices of both; where a
    line's end lies within ``snap_m`` of another line (a T-junction drawn a little short or
    long), that end point becomes a vertex of the other line.
    """
    tree = shapely.STRtree(lines)
    a, b = tree.query(lines, predicate="dwithin", distance=snap_m)
    keep = a < b
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return lines
    owners: list[np.ndarray] = []
    points: list[np.ndarray] = []
    inter = shapely.intersection(lines[a], lines[b])
    pts, which = shapely.get_coordinates(inter, return_index=True)
    owners += [a[which], b[which]]
    points += [pts, pts]
    ends = np.column_stack([shapely.get_point(lines, 0), shapely.get_point(lines, -1)])
    for this, other in ((a, b), (b, a)):
        for k in (0, 1):
            e = ends[other, k]
            near = shapely.distance(lines[this], e) <= snap_m
            owners.append(this[near])
            points.append(shapely.get_coordinates(e[near]))
    owner = np.concatenate(owners)
    pts = np.concatenate(points).reshape(-1, 2)
    if len(pts) == 0:
        return lines
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
    """A simple undirected graph keeping the shortest of parallel edges (``length``).

    Each edge keeps a ``geometry`` oriented from its ``frm`` node.
    """
    H = nx.Graph()
    H.add_nodes_from(G.nodes(data=True))
    edges = (G.edges(keys=True, data=True) if G.is_multigraph()
             else ((u, v, 0, d) for u, v, d in G.edges(data=True)))
    for u, v, _k, d in edges:
        length = float(d.get("length", np.inf))
        old = H.get_edge_data(u, v)
        if old is None or length < old["length"]:
            geom = d.get("geometry")
            if geom is None:
                geom = LineString([(G.nodes[u]["x"], G.nodes[u]["y"]),
                                   (G.nodes[v]["x"], G.nodes[v]["y"])])
            H.add_edge(u, v, length=length, geometry=geom, frm=u)
    return H


def _attach(H: nx.Graph, xy: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """Split the edges of ``H`` (in place) where points project onto them.

    Returns
    -------
    tuple
        The graph node each point enters the network at, and the straight access distance.
    """
    edges = [(u, v, d) for u, v, d in H.edges(data=True)]
    geoms = np.array([d["geometry"] for _, _, d in edges], dtype=object)
    pts = shapely.points(xy)
    tree = shapely.STRtree(geoms)
    (ip, ie), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    off = np.full(len(xy), np.inf)
    off[ip] = dist
    edge_of = np.full(len(xy), -1, dtype=np.int64)
    edge_of[ip] = ie
    at = np.zeros(len(xy))
    at[ip] = shapely.line_locate_point(geoms[ie], pts[ip])
    nodes: list[Any] = [None] * len(xy)
    for e in np.unique(edge_of[edge_of >= 0]):
        u, v, d = edges[e]
        geom = d["geometry"]
        a, b = (u, v) if d["frm"] == u else (v, u)  # geometry runs from a to b
        glen = geom.length
        scale = d["length"] / glen if glen > 0 else 1.0
        members = np.flatnonzero(edge_of == e)
        members = members[np.argsort(at[members], kind="stable")]
        H.remove_edge(u, v)
        prev, prev_t = a, 0.0
        for k in members:
            t = float(np.clip(at[k], 0.0, glen))
            node = ("_at", int(k))
            p = geom.interpolate(t)
            H.add_node(node, x=p.x, y=p.y)
            H.add_edge(prev, node, length=(t - prev_t) * scale, frm=prev,
                       geometry=shapely.ops.substring(geom, prev_t, t))
            nodes[k] = node
            prev, prev_t = node, t
        H.add_edge(prev, b, length=(glen - prev_t) * scale, frm=prev,
                   geometry=shapely.ops.substring(geom, prev_t, glen))
    return nodes, off


def multi_source_distance_m(G: nx.Graph, sources_xy: Any, targets_xy: Any, *,
                            cutoff_m: float | None = None) -> np.ndarray:
    """Road distance from the nearest of several sources to each target, in metres.

    Each point reaches the network by a straight leg to the nearest point of the nearest
    edge; that leg's length is added at both ends. The sources are joined to one virtual node
    and one Dijkstra run (:func:`networkx.single_source_dijkstra_path_length`, i.e. the
    multi-source Dijkstra) gives every target's distance.

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
    if len(src) == 0 or len(tgt) == 0 or G.number_of_edges() == 0:
        return out
    H = _weighted_undirected(G)
    nodes, off = _attach(H, np.r_[src, tgt])
    s_nodes, s_off = nodes[:len(src)], off[:len(src)]
    t_nodes, t_off = nodes[len(src):], off[len(src):]
    H.add_node(_SOURCE)
    for node, d in zip(s_nodes, s_off, strict=True):
        H.add_edge(_SOURCE, node, length=float(d))
    dist = nx.single_source_dijkstra_path_length(H, _SOURCE, cutoff=cutoff_m, weight="length")
    out = np.array([dist.get(n, np.inf) for n in t_nodes], dtype=float) + t_off
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
    if G.number_of_edges() == 0:
        return np.inf, None
    H = _weighted_undirected(G)
    (na, nb), off = _attach(H, np.array([(ax, ay), (bx, by)]))
    try:
        length, path = nx.single_source_dijkstra(H, na, nb, weight="length")
    except nx.NetworkXNoPath:
        return np.inf, None
    pts: list[tuple[float, float]] = [(ax, ay), (H.nodes[na]["x"], H.nodes[na]["y"])]
    for u, v in itertools.pairwise(path):
        e = H.edges[u, v]
        coords = list(e["geometry"].coords)
        pts.extend(coords if e["frm"] == u else coords[::-1])
    pts.append((bx, by))
    clean = [pts[0]] + [p for p, q in zip(pts[1:], pts[:-1], strict=True) if p != q]
    if len(clean) == 1:
        clean.append(clean[0])
    return float(length + off[0] + off[1]), LineString(clean)


def route_length_m(G: nx.Graph, x0: float, y0: float, x1: float, y1: float) -> float:
    """Road distance in metres between two points (``inf`` when unreachable)."""
    return shortest_route(G, (x0, y0), (x1, y1))[0]
