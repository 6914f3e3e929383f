"""OSM importer on a shipped .osm fixture (never the network, except tests marked so)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import networkx as nx
import pytest

from phusong.gis.errors import InputError
from phusong.gis.roads import graph_from_roads
from phusong.layers.importers import read_admin, read_osm
from phusong.layers.importers.admin import province_geometry
from phusong.layers.importers.osm import _height_m

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "importers"
OSM = FIXTURES / "lai_chau.osm"


@pytest.fixture(scope="module")
def admin():
    return read_admin(FIXTURES / "gadm41_VNM_fixture.gpkg", province="Lai Châu").accepted


@pytest.fixture(scope="module")
def imported(admin):
    return read_osm(OSM, admin_units=admin, area_lonlat=province_geometry(admin))


def test_every_layer_keeps_rows_in_equal_accepted_plus_rejected(imported):
    assert set(imported) == {"roads", "villages", "towers", "bts", "post_offices"}
    for result in imported.values():
        assert result.n_in == result.n_accepted + result.n_rejected, result.layer
        assert result.accepted.crs.to_epsg() == 4326


def test_villages(imported):
    res = imported["villages"]
    v = res.accepted.set_index("village_id")
    assert list(v.index) == ["OSM-N1001", "OSM-N1002", "OSM-N1003", "OSM-N1004", "OSM-W201"]
    # name:vi wins over the ASCII name; diacritics kept, NFC
    assert v.loc["OSM-N1001", "name"] == "Bản Nà Hừ"
    assert v.loc["OSM-N1004", "name"] == "Bản Tả Phìn"  # only name:vi
    assert all(unicodedata.is_normalized("NFC", n) for n in v["name"])
    assert v.loc["OSM-N1001", "population"] == 420
    assert v.loc["OSM-N1001", "households"] == round(420 / 4.5)
    assert v["population"].isna()["OSM-W201"]  # "not a number" → unknown, with a warning
    assert v.loc["OSM-W201"].geometry.geom_type == "Polygon"
    assert v.loc["OSM-N1001", "centre_lon"] == pytest.approx(103.02)
    assert v.loc["OSM-N1001", "commune_code"] == "VNM.27.1.1_1"
    assert v.loc["OSM-N1004", "commune_code"] == "VNM.27.2.2_1"
    # OSM knows nothing of these: unknown stays unknown (not False)
    assert v[["has_grid_power", "border_area", "extremely_difficult"]].isna().all().all()
    assert any("5 villages: grid power, border area" in w for w in res.warnings)
    assert any("population tags are not numbers" in w for w in res.warnings)
    rej = res.rejected
    assert "outside the province" in rej.loc[rej["village_id"] == "OSM-N1006",
                                             "reject_reason"].iloc[0]
    assert rej.loc[rej["village_id"] == "OSM-N1007", "reject_field"].iloc[0] == "name"


def test_villages_without_communes_get_unknown():
    res = read_osm(OSM, layers=["villages"])["villages"]
    assert set(res.accepted["commune_code"]) == {"unknown"}
    assert res.n_accepted == 6  # the Điện Biên village is not known to be outside
    assert any("commune_code set to 'unknown'" in w for w in res.warnings)


def test_masts(imported):
    towers = imported["towers"].accepted.set_index("tower_id")
    assert towers["owner"].to_dict() == {"OSM-N2001": "viettel", "OSM-N2002": "vinaphone",
                                         "OSM-N2003": "viettel", "OSM-N2005": "unknown"}
    assert towers["height_m"].to_dict() == {"OSM-N2001": 42.0, "OSM-N2002": 36.0,
                                            "OSM-N2003": 30.0, "OSM-N2005": 25.0}
    rej = imported["towers"].rejected.set_index("tower_id")["reject_reason"]
    assert "unknown operator 'Công ty ABC'" in rej["OSM-N2004"]
    assert "OSM-N2005" not in rej.index  # no operator tag: a tower of unknown owner
    assert any("1 telecom masts without an operator tag" in w
               for w in imported["towers"].warnings)
    assert "OSM-N2006" not in rej.index  # an observation tower is not telecom
    assert any("without tower:type=communication skipped" in w
               for w in imported["towers"].warnings)
    bts = imported["bts"].accepted
    assert sorted(bts["bts_id"]) == sorted([
        "OSM-N2001-viettel-2G", "OSM-N2001-viettel-4G", "OSM-N2002-vinaphone-4G",
        "OSM-N2003-viettel-4G", "OSM-N2003-mobifone-4G"])
    assert bts.set_index("bts_id").loc["OSM-N2001-viettel-2G", "antenna_height_m"] == 42.0


def test_post_offices(imported):
    po = imported["post_offices"].accepted.set_index("po_id")
    assert po["kind"].to_dict() == {"OSM-N3001": "bdvhx", "OSM-N3002": "buu_cuc_cap_2",
                                    "OSM-N3003": "buu_cuc_cap_3"}
    assert po.loc["OSM-N3001", "has_public_internet"]
    assert not po.loc["OSM-N3002", "has_public_internet"]
    assert set(po["operator"]) == {"vnpost"}
    assert po.loc["OSM-N3003", "name"] == "Bưu cục (không tên)"


def test_roads_rebuild_a_graph(imported):
    res = imported["roads"]
    roads = res.accepted
    assert set(roads["highway"]) == {"primary", "track", "residential", "tertiary"}
    assert res.rejected["reject_reason"].str.contains("footway is not a road").all()
    assert roads["road_id"].str.startswith("OSM-W").all()
    G = graph_from_roads(roads.to_crs(9205))
    assert nx.is_weakly_connected(G)
    total_km = sum(d["length"] for _, _, d in G.edges(data=True)) / 2 / 1000
    assert total_km == pytest.approx(roads.to_crs(9205).length.sum() / 1000, rel=1e-3)


def test_malformed_osm(tmp_path):
    with pytest.raises(InputError, match="not a well-formed OSM XML file"):
        read_osm(FIXTURES / "truncated.osm")
    empty = tmp_path / "empty.osm"
    empty.write_text("")
    with pytest.raises(InputError, match="empty file"):
        read_osm(empty)
    with pytest.raises(InputError, match="no such OSM file"):
        read_osm(tmp_path / "vietnam-latest.osm.pbf")
    with pytest.raises(InputError, match="unknown OSM layers"):
        read_osm(FIXTURES / "lai_chau.osm", layers=["rivers"])


def test_osm_file_without_matching_features(tmp_path):
    p = tmp_path / "bare.osm"
    p.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
                 '  <node id="1" lat="22.3" lon="103.1" version="1"/>\n</osm>\n')
    res = read_osm(p)
    assert all(r.n_in == 0 and r.n_accepted == 0 for r in res.values())


@pytest.mark.parametrize(("text", "metres"), [("42", 42.0), ("36 m", 36.0), ("36m", 36.0),
                                              ("12,5", 12.5), ("118 ft", 35.9664),
                                              ("tall", None), ("", None)])
def test_height_tag(text, metres):
    assert _height_m(text) == (pytest.approx(metres) if metres is not None else None)


@pytest.mark.network
def test_online_place():  # pragma: no cover - needs the Overpass API
    res = read_osm("Sìn Hồ, Lai Châu, Việt Nam", layers=["villages", "post_offices"])
    assert res["villages"].n_accepted > 0
