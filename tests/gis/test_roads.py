"""Tests for gis.roads: graph building, snapping, components, distances and routes."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from shapely.geometry import LineString, MultiLineString

from phusong.gis.errors import CRSMismatchError, InputError
from phusong.gis.roads import (
    component_sizes,
    graph_from_roads,
    multi_source_distance_m,
    nearest_nodes,
    route_length_m,
    shortest_route,
)

METRIC = "EPSG:9205"


def _roads(lines, highway=None):
    highway = highway or ["track"] * len(lines)
    return gpd.GeoDataFrame({"highway": highway}, geometry=lines, crs=METRIC)


@pytest.fixture
def cross_and_island():
    """A plus-shaped crossing (4 arms of 1 km meeting at a shared vertex), a tail joined
    within snapping tolerance, and a separate island road."""
    lines = [
        LineString([(0, 0), (1000, 0), (2000, 0)]),        # west-east, vertex at (1000, 0)
        LineString([(1000, -1000), (1000, 0), (1000, 1000)]),  # south-north through it
        LineString([(2000.3, 0.2), (2000, 500)]),          # ends 0.36 m from (2000, 0)
        LineString([(10_000, 0), (11_000, 0)]),            # island
    ]
    return _roads(lines, ["primary", "secondary", "track", "track"])


def test_graph_nodes_edges_and_attributes(cross_and_island):
    G = graph_from_roads(cross_and_island)
    assert isinstance(G, nx.MultiDiGraph)
    # nodes: (0,0), (1000,0) junction, (2000,0) joined tail end, (1000,±1000), (2000,500),
    # and the two island ends
    assert G.number_of_nodes() == 8
    # undirected edges: 2 + 2 + 1 + 1 = 6, each stored both ways
    assert G.number_of_edges() == 12
    assert G.graph["crs"].to_epsg() == 9205
    for _u, _v, d in G.edges(data=True):
        assert d["length"] == pytest.approx(d["geometry"].length)
        assert d["highway"] in {"primary", "secondary", "track"}
    Gu = ox.convert.to_undirected(G)
    assert Gu.number_of_edges() == 6
    # osmnx's own conversion back to GeoDataFrames works
    nodes, edges = ox.convert.graph_to_gdfs(G)
    assert len(nodes) == 8 and len(edges) == 12


def test_edge_geometry_ends_at_nodes(cross_and_island):
    G = graph_from_roads(cross_and_island)
    for u, v, d in G.edges(data=True):
        c = list(d["geometry"].coords)
        assert c[0] == (G.nodes[u]["x"], G.nodes[u]["y"])
        assert c[-1] == (G.nodes[v]["x"], G.nodes[v]["y"])


def test_components_reported(cross_and_island):
    G = graph_from_roads(cross_and_island)
    assert component_sizes(G) == [6, 2]


def test_snapping_tolerance_controls_joins(cross_and_island):
    G = graph_from_roads(cross_and_island, snap_m=0.01)
    assert component_sizes(G) == [5, 2, 2]


def test_route_length_and_geometry(cross_and_island):
    G = graph_from_roads(cross_and_island)
    # from near (0,0) to near (1000,1000): 1000 + 1000 on road, plus 3 m + 4 m access legs
    length, line = shortest_route(G, (0, 3), (1004, 1000))
    assert length == pytest.approx(2000 + 3 + 4)
    assert line.coords[0] == (0, 3) and line.coords[-1] == (1004, 1000)
    assert line.length == pytest.approx(length)
    assert route_length_m(G, 0, 3, 1004, 1000) == pytest.approx(length)


def test_unreachable_is_inf_not_error(cross_and_island):
    G = graph_from_roads(cross_and_island)
    length, line = shortest_route(G, (0, 0), (11_000, 0))
    assert math.isinf(length) and line is None
    d = multi_source_distance_m(G, [(0, 0)], [(11_000, 0), (2000, 500)])
    assert math.isinf(d[0])
    assert d[1] == pytest.approx(2000 + 500, abs=1.0)


def test_multi_source_takes_nearest_source_with_access_legs(cross_and_island):
    G = graph_from_roads(cross_and_island)
    sources = np.array([(0.0, 100.0), (11_000.0, 50.0)])
    targets = np.array([(1000.0, 1000.0), (10_000.0, 0.0), (2000.0, 0.0)])
    d = multi_source_distance_m(G, sources, targets)
    assert d[0] == pytest.approx(100 + 2000)
    assert d[1] == pytest.approx(50 + 1000)
    assert d[2] == pytest.approx(100 + 2000)
    capped = multi_source_distance_m(G, sources, targets, cutoff_m=1500)
    assert math.isinf(capped[0]) and capped[1] == pytest.approx(1050)


def test_multi_source_matches_pairwise_routes():
    rng = np.random.default_rng(0)
    lines = [LineString(rng.uniform(0, 5000, size=(3, 2))) for _ in range(3)]
    lines += [LineString([(0, 0), (5000, 0)]), LineString([(0, 0), (0, 5000)]),
              LineString([(5000, 0), (5000, 5000)]), LineString([(0, 5000), (5000, 5000)])]
    G = graph_from_roads(_roads(lines))
    sources = rng.uniform(0, 5000, size=(3, 2))
    targets = rng.uniform(0, 5000, size=(6, 2))
    d = multi_source_distance_m(G, sources, targets)
    brute = [min(route_length_m(G, *s, *t) for s in sources) for t in targets]
    np.testing.assert_allclose(d, brute)


def test_multilinestring_and_empty_rows():
    lines = [MultiLineString([[(0, 0), (100, 0)], [(100, 0), (100, 100)]]), None,
             LineString()]
    G = graph_from_roads(_roads(lines))
    assert G.number_of_nodes() == 3
    assert route_length_m(G, 0, 0, 100, 100) == pytest.approx(200)


def test_empty_layer_gives_empty_graph():
    G = graph_from_roads(_roads([]))
    assert G.number_of_nodes() == 0
    assert component_sizes(G) == []
    assert np.isinf(multi_source_distance_m(G, [(0, 0)], [(1, 1)])).all()
    assert math.isinf(route_length_m(G, 0, 0, 1, 1))
    with pytest.raises(InputError, match="no nodes"):
        nearest_nodes(G, 0.0, 0.0)


def test_nearest_nodes_scalar_and_array(cross_and_island):
    G = graph_from_roads(cross_and_island)
    n, d = nearest_nodes(G, 990.0, 5.0, return_dist=True)
    assert (G.nodes[n]["x"], G.nodes[n]["y"]) == (1000.0, 0.0)
    assert d == pytest.approx(math.hypot(10, 5))
    ids = nearest_nodes(G, [0.0, 10_900.0], [0.0, 0.0])
    assert [G.nodes[i]["x"] for i in ids] == [0.0, 11_000.0]


def test_geographic_or_missing_crs_rejected():
    lines = [LineString([(103.0, 22.0), (103.1, 22.0)])]
    with pytest.raises(CRSMismatchError, match="geographic"):
        graph_from_roads(gpd.GeoDataFrame(geometry=lines, crs="EPSG:4326"))
    with pytest.raises(CRSMismatchError, match="no CRS"):
        graph_from_roads(gpd.GeoDataFrame(geometry=lines))


def test_loop_road_kept():
    ring = LineString([(0, 0), (100, 0), (100, 100), (0, 0)])
    G = graph_from_roads(_roads([ring, LineString([(0, 0), (-50, 0)])]))
    assert component_sizes(G) == [2]
    assert route_length_m(G, -50, 0, 0, 0) == pytest.approx(50)


def test_crossings_joined_unless_disabled():
    lines = [LineString([(0, 0), (1000, 0)]), LineString([(400, -300), (400, 300)])]
    G = graph_from_roads(_roads(lines))
    assert component_sizes(G) == [5]
    assert route_length_m(G, 0, 0, 400, 300) == pytest.approx(700)
    G_osm = graph_from_roads(_roads(lines), split_crossings=False)
    assert component_sizes(G_osm) == [2, 2]
    assert math.isinf(route_length_m(G_osm, 0, 0, 400, 300))


def test_t_junction_on_a_segment_is_joined():
    # a side road ending in the middle of a segment (no vertex there)
    lines = [LineString([(0, 0), (1000, 0)]), LineString([(500, 0), (500, 800)])]
    G = graph_from_roads(_roads(lines))
    assert component_sizes(G) == [4]
    assert route_length_m(G, 1000, 0, 500, 800) == pytest.approx(1300)


def test_points_enter_long_roads_where_they_are():
    # one 10 km road with no vertex in between
    G = graph_from_roads(_roads([LineString([(0, 0), (10_000, 0)])]))
    # both points beside the middle: along the road 1 km, plus 50 m and 80 m access legs
    length, line = shortest_route(G, (4000, 50), (5000, -80))
    assert length == pytest.approx(1000 + 50 + 80)
    assert line.length == pytest.approx(length)
    d = multi_source_distance_m(G, [(2000, 100), (9000, 10)], [(4000, 50), (8000, 0)])
    np.testing.assert_allclose(d, [100 + 2000 + 50, 10 + 1000])


def test_t_junction_drawn_short_is_joined_within_snap():
    # the side road stops 0.4 m before the main road (digitising error, or a reprojection)
    lines = [LineString([(0, 0), (1000, 0)]), LineString([(500, 0.4), (500, 800)])]
    G = graph_from_roads(_roads(lines))
    assert component_sizes(G) == [4]
    assert route_length_m(G, 0, 0, 500, 800) == pytest.approx(500 + 800, abs=1.0)
    assert component_sizes(graph_from_roads(_roads(lines), snap_m=0.1)) == [2, 2]
