"""Fibre tables on the hand-built province (layout: conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from phusong.analysis.tables.fibre import (
    commune_centres,
    fibre_extension_km,
    fibre_lengths,
    fibre_reach,
    format_ratio,
    road_graph,
)
from phusong.gis.roads import node_xy
from phusong.layers.settings import DEFAULT


@pytest.fixture(scope="module")
def bundle(toys):
    return toys.make_bundle()


def test_lengths_and_undergrounding(bundle):
    t = fibre_lengths(bundle).set_index(["operator", "kind"])
    assert t.loc[("all", "all"), "length_km"] == pytest.approx(10.0, abs=0.01)
    assert t.loc[("all", "underground"), "length_km"] == pytest.approx(4.0, abs=0.01)
    assert t.loc[("all", "all"), "underground_ratio"] == pytest.approx(0.4, abs=1e-3)
    assert t.loc[("viettel", "all"), "underground_ratio"] == 0.0
    assert t.loc[("vinaphone", "aerial"), "length_km"] == 0.0


def test_reach(bundle):
    ind, vil = fibre_reach(bundle, settings=DEFAULT)
    ind = ind.set_index("indicator")
    # V1, V2, V3 lie on the fibre; V4 (10 km), V5 (8 km), V6 (21.5 km) do not
    assert ind.loc["villages_within_fibre_access", "ratio_text"] == "3/6"
    # commune centres = most populous village: C1 V1, C2 V3 (on fibre), C3 V4, C4 V6
    assert ind.loc["commune_centres_within_fibre_access", "ratio_text"] == "2/4"
    assert vil.set_index("village_id").loc["V4", "fibre_km"] == pytest.approx(10.0)
    wide = fibre_reach(bundle, settings=DEFAULT.replace(fibre_access_km=10.0))[0]
    assert wide.set_index("indicator").loc["villages_within_fibre_access", "n"] == 5


def test_commune_centres(bundle):
    cc = commune_centres(bundle)
    assert cc.loc["C1", "village_id"] == "V1"  # 500 people beats 300 and 200
    assert cc.loc["C4", "village_id"] == "V6"


def test_road_graph_has_dense_nodes(bundle):
    G = road_graph(bundle, spacing_m=250.0)
    _, xy = node_xy(G)
    # 32 km main road + two 8 km spurs, a node at most every 250 m
    assert G.number_of_nodes() >= (32 + 8 + 8) * 4
    assert len(xy) == G.number_of_nodes()


def test_extension_along_roads(bundle):
    ext = fibre_extension_km(bundle)
    # V6: from the fibre end at x=10 km along the main road to x=30, then 8 km up the spur
    assert ext.loc["V6", "extension_km"] == pytest.approx(28.0, abs=0.01)
    assert ext.loc["V6", "fibre_km"] == pytest.approx(np.hypot(20, 8), abs=0.01)
    assert ext.loc["V5", "extension_km"] == pytest.approx(8.0, abs=0.01)
    assert ext.loc["V4", "extension_km"] == pytest.approx(10.0, abs=0.01)
    assert ext.loc["V1", "extension_km"] == pytest.approx(0.0, abs=0.01)
    sub = fibre_extension_km(bundle, ["V6"])
    assert list(sub.index) == ["V6"]


def test_extension_off_road_leg(toys):
    b = toys.make_bundle()
    vil = b.layers["villages"]
    # move V6's centre 1 km east of the spur's end: the last leg is off road
    lon, lat = toys.xy(31, 8)
    import geopandas as gpd

    p = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs=toys.CRS).to_crs(4326)
    vil.loc[vil["village_id"] == "V6", ["centre_lon", "centre_lat"]] = [p.x[0], p.y[0]]
    ext = fibre_extension_km(b, ["V6"])
    assert ext.loc["V6", "access_km"] == pytest.approx(1.0, abs=0.01)
    assert ext.loc["V6", "extension_km"] == pytest.approx(29.0, abs=0.01)


def test_no_roads_or_fibre(toys):
    b = toys.make_bundle()
    del b.layers["roads"]
    assert fibre_extension_km(b)["extension_km"].isna().all()
    b2 = toys.make_bundle()
    del b2.layers["fibre_routes"]
    ext = fibre_extension_km(b2)
    assert ext["fibre_km"].isna().all() and ext["extension_km"].isna().all()
    assert fibre_lengths(b2).set_index(["operator", "kind"]).loc[("all", "all"),
                                                                  "length_km"] == 0.0


def test_format_ratio():
    assert format_ratio(941, 948) == "941/948"
