"""Postal tables on the hand-built province (layout: conftest.py)."""

from __future__ import annotations

import pytest

from phusong.analysis.tables.postal import postal_tables, village_post_distance
from phusong.layers.settings import DEFAULT


@pytest.fixture(scope="module")
def tables(toys):
    return postal_tables(toys.make_bundle(), settings=DEFAULT)


def test_points_per_kind_per_district(tables):
    d = tables["by_district"].set_index("district_code")
    assert d.loc["D1", "bdvhx"] == 1 and d.loc["D1", "total"] == 1
    assert d.loc["D2", "buu_cuc_cap_3"] == 1
    assert d.loc["", "total"] == 2  # the province row
    assert d.loc["", "district_name"] == "Toàn tỉnh"


def test_communes_without_point(tables):
    w = tables["communes_without"]
    assert list(w["commune_code"]) == ["C2", "C4"]
    assert list(w["district_name"]) == ["Huyện Một", "Huyện Hai"]


def test_indicators(tables):
    ind = dict(zip(tables["indicators"]["indicator"], tables["indicators"]["value"],
                   strict=True))
    assert ind["communes_with_postal_point"] == "2/4"
    assert ind["bdvhx_with_public_internet"] == "1/1"
    assert ind["villages_beyond_limit"] == "2/6"
    assert ind["population_beyond_limit"] == 1000 + 120


def test_road_distances(tables):
    v = tables["villages"].set_index("village_id")
    # PO1 sits on the spur road 100 m north of V1; PO2 100 m off the main road at V4
    assert v.loc["V3", "road_km"] == pytest.approx(10.1, abs=0.01)
    assert v.loc["V5", "road_km"] == pytest.approx(7.9, abs=0.01)
    assert v.loc["V6", "road_km"] == pytest.approx(18.1, abs=0.01)
    assert v.loc["V6", "nearest_po_id"] == "PO2"
    assert list(tables["beyond"]["village_id"]) == ["V6", "V3"]  # farthest first


def test_configurable_limit(toys):
    v = village_post_distance(toys.make_bundle(),
                              settings=DEFAULT.replace(postal_max_road_km=20.0))
    assert not v["beyond_limit"].any()


def test_without_roads_uses_straight_line(toys):
    b = toys.make_bundle()
    del b.layers["roads"]
    v = village_post_distance(b).set_index("village_id")
    assert (v["basis"] == "straight").all()
    assert v["road_km"].isna().all()
    assert v.loc["V6", "beyond_limit"] and not v.loc["V3", "beyond_limit"]  # 12.7 vs 9.9 km
