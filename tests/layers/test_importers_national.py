"""National and multi-province boundary files, OSM exports, one-command builds per province.

Fixtures: ``tests/data/importers/real`` (written by ``make_real_shapes.py`` in the layouts of
GADM 4.1, GADM 2.x, official VN-2000 files, geoBoundaries, an overpass-turbo export).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from phusong.analysis.cli import phusong
from phusong.gis.errors import InputError, SchemaError
from phusong.layers.bundle import read_bundle
from phusong.layers.importers import read_admin, read_osm

REAL = Path(__file__).resolve().parents[1] / "data" / "importers" / "real"
HERE = Path(__file__).resolve().parents[1] / "data" / "importers"
#: the fixture provinces' boxes, restated from make_real_shapes.PROVINCES
BOXES = {"Lai Châu": (103.10, 22.30, 103.40, 22.50), "Điện Biên": (102.95, 21.30, 103.25, 21.50),
         "Lạng Sơn": (106.50, 21.80, 106.80, 22.00), "Vĩnh Phúc": (105.45, 21.25, 105.75, 21.45)}


def _levels(result) -> dict[str, int]:
    return result.accepted["level"].value_counts().to_dict()


@pytest.mark.parametrize("name", ["Lai Châu", "lai chau", "Tỉnh Lai Châu", "LAI CHÂU",
                                  "Lai Chau"])
def test_national_gadm41_picks_the_province_by_name_then_detects_the_crs(name):
    r = read_admin(REAL / "gadm41_VNM.gpkg", province=name)
    assert _levels(r) == {"province": 1, "district": 2, "commune": 4}
    assert r.n_in == r.n_accepted == 7  # other provinces are not input rows
    tree = dict(zip(r.accepted["code"], r.accepted["parent_code"], strict=True))
    assert tree["VNM.27.1.2_1"] == "VNM.27.1_1" and tree["VNM.27.1_1"] == "VNM.27_1"
    assert r.accepted.total_bounds == pytest.approx(BOXES["Lai Châu"])


@pytest.mark.parametrize("province", ["Điện Biên", "Lạng Sơn", "vinh phuc"])
def test_national_gadm41_other_provinces(province):
    r = read_admin(REAL / "gadm41_VNM.gpkg", province=province)
    assert _levels(r) == {"province": 1, "district": 2, "commune": 4}


def test_simplified_gadm_and_gadm2_with_the_province_at_any_level():
    simple = read_admin(REAL / "gadm41_VNM_2_simplified.shp", province="Điện Biên")
    assert _levels(simple) == {"province": 1, "district": 2}
    # GADM 2.x starting at regions: the province sits in NAME_2, districts in NAME_3
    g2 = read_admin(REAL / "gadm2_VNM_adm3.shp", province="lang son")
    assert _levels(g2) == {"province": 1, "district": 2}
    prov = g2.accepted[g2.accepted["level"] == "province"].iloc[0]
    assert prov["name"] == "Lạng Sơn" and prov["code"] == "VNM.34"
    assert set(g2.accepted.loc[g2.accepted["level"] == "district", "name"]) == {
        "Cao Lộc", "Văn Quan"}
    # GADM 2.x starting at provinces: NAME_1
    g1 = read_admin(REAL / "gadm2_VNM_adm2.shp", province="Lai Chau")
    assert _levels(g1) == {"province": 1, "district": 2}
    assert g1.accepted.total_bounds == pytest.approx(BOXES["Lai Châu"])


def test_official_multi_province_vn2000_without_prj():
    r = read_admin(REAL / "official_tm3", province="Điện Biên")
    assert _levels(r) == {"province": 1, "district": 2, "commune": 4}
    assert set(r.accepted["code"]) >= {"11", "098", "099"}
    assert any("no CRS declared" in w for w in r.warnings)
    assert r.accepted.total_bounds == pytest.approx(BOXES["Điện Biên"], abs=1e-5)


def test_national_geoboundaries(tmp_path):
    folder = tmp_path / "gb"
    folder.mkdir()
    for k in (1, 2):
        shutil.copy(REAL / f"geoBoundaries-VNM-ADM{k}.geojson", folder)
    r = read_admin(folder, province="Lạng Sơn")
    assert _levels(r) == {"province": 1, "district": 2}
    prov = r.accepted.loc[r.accepted["level"] == "province", "code"].iloc[0]
    assert set(r.accepted.loc[r.accepted["level"] == "district", "parent_code"]) == {prov}


def test_unknown_layout_names_the_province_column_and_a_mapping_works():
    with pytest.raises(SchemaError, match=r"the province's name 'Hà Nội' is in column TINH; "
                                          r".*--columns") as info:
        read_admin(REAL / "tinh_khong_ro.geojson", province="Hà Nội")
    assert "\n" not in str(info.value)
    from phusong.layers.importers._common import read_column_map

    mapping = read_column_map(REAL / "tinh_khong_ro_columns.txt")
    r = read_admin(REAL / "tinh_khong_ro.geojson", province="Hà Nội", columns=mapping)
    assert _levels(r) == {"province": 1, "district": 2, "commune": 4}
    assert set(r.accepted.loc[r.accepted["level"] == "commune", "name"]) == {
        "Tản Lĩnh", "Vân Hòa", "Minh Phú", "Nam Sơn"}


def test_province_not_in_a_national_file_suggests_and_lists():
    with pytest.raises(InputError, match=r"'Lai Chao' is not in the boundaries \(did you mean "
                                         r"'Lai Châu'\?\); provinces found: .*Vĩnh Phúc"):
        read_admin(REAL / "gadm41_VNM.gpkg", province="Lai Chao")


def test_clip_keeps_the_units_inside_a_box():
    r = read_admin(REAL / "gadm41_VNM.gpkg", province="Lai Châu",
                   clip_lonlat=(103.10, 22.40, 103.40, 22.50))  # the northern communes
    assert _levels(r) == {"province": 1, "district": 2, "commune": 2}
    assert r.accepted.total_bounds == pytest.approx((103.10, 22.40, 103.40, 22.50))
    with pytest.raises(InputError, match="no commune of the selection lies in the box"):
        read_admin(REAL / "gadm41_VNM.gpkg", province="Lai Châu", clip_lonlat=(105, 21, 106, 22))


def test_osm_geojson_export_read_like_osm_xml():
    admin = read_admin(REAL / "gadm41_VNM.gpkg", province="Lai Châu").accepted
    res = read_osm(REAL / "osm_export.geojson", admin_units=admin)
    for r in res.values():
        assert r.n_in == r.n_accepted + r.n_rejected
    assert res["villages"].n_accepted == 64  # 16 per commune, all inside
    towers = res["towers"].accepted
    assert (towers["owner"] == "unknown").sum() == 4 and (towers["owner"] == "viettel").sum() == 4
    assert res["bts"].n_accepted == 8  # Viettel gsm;lte on 4 masts, none for unknown owners
    rej = res["towers"].rejected
    assert len(rej) == 1 and "outside the province" in rej["reject_reason"].iloc[0]
    assert res["post_offices"].n_accepted == 4
    assert "outside the province" in res["post_offices"].rejected["reject_reason"].iloc[0]
    assert res["roads"].n_accepted == 4 and set(res["roads"].accepted["highway"]) == {"tertiary"}


def test_osm_source_detected_by_content(tmp_path):
    renamed = tmp_path / "export.json"
    renamed.write_bytes((REAL / "osm_export.geojson").read_bytes())
    assert read_osm(renamed, layers=["villages"])["villages"].n_in > 0
    junk = tmp_path / "vietnam.osm.pbf"
    junk.write_bytes(b"\x00\x01 this is not OSM")
    with pytest.raises(InputError, match="not an OSM file"):
        read_osm(junk)
    truncated = tmp_path / "cut.geojson"
    truncated.write_text((REAL / "osm_export.geojson").read_text(encoding="utf-8")[:5000],
                         encoding="utf-8")
    with pytest.raises(InputError, match=r"not valid GeoJSON .*truncated"):
        read_osm(truncated)


def test_osm_pbf_read_through_pyosmium(tmp_path):
    osmium = pytest.importorskip("osmium")
    pbf = tmp_path / "lai_chau.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for obj in osmium.FileProcessor(str(HERE / "lai_chau.osm")):
            if isinstance(obj, osmium.osm.Node):
                w.add_node(obj)
            elif isinstance(obj, osmium.osm.Way):
                w.add_way(obj)
            elif isinstance(obj, osmium.osm.Relation):
                w.add_relation(obj)
    admin = read_admin(HERE / "gadm41_VNM_fixture.gpkg", province="Lai Châu").accepted
    from_xml = read_osm(HERE / "lai_chau.osm", admin_units=admin)
    from_pbf = read_osm(pbf, admin_units=admin)
    for layer in ("villages", "towers", "bts", "post_offices", "roads"):
        a, b = from_xml[layer], from_pbf[layer]
        assert (b.n_in, b.n_accepted, b.n_rejected) == (a.n_in, a.n_accepted, a.n_rejected)
        assert b.source == str(pbf)


def _write_tiles(folder: Path, bounds: tuple[float, float, float, float]) -> Path:
    import importlib.util
    import math

    spec = importlib.util.spec_from_file_location("mf", HERE / "make_fixtures.py")
    mf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mf)
    folder.mkdir(exist_ok=True)
    for lat in range(math.floor(bounds[1] - 0.05), math.floor(bounds[3] + 0.05) + 1):
        for lon in range(math.floor(bounds[0] - 0.05), math.floor(bounds[2] + 0.05) + 1):
            mf.write_hgt(folder, lat, lon)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("province", ["Lai Châu", "Điện Biên", "Lạng Sơn"])
def test_one_command_builds_each_seed_province_and_analyse_runs(province, tmp_path):
    dem = _write_tiles(tmp_path / "srtm", BOXES[province])
    runner = CliRunner()
    out = tmp_path / "bundle"
    r = runner.invoke(phusong, ["build", "--admin", str(REAL / "gadm41_VNM.gpkg"),
                                "--province", province, "--osm",
                                str(REAL / "osm_export.geojson"), "--dem", str(dem),
                                "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    b = read_bundle(out)
    per_commune = 16 if province == "Lai Châu" else 3
    assert b.counts()["villages"] == 4 * per_commune
    assert b.counts()["towers"] == 8 and b.counts()["bts"] == 8
    r = runner.invoke(phusong, ["analyse", str(out), "-o", str(tmp_path / "out"), "-q"])
    assert r.exit_code == 0, r.output
    gaps = pd.read_csv(tmp_path / "out" / "gaps_vinaphone.csv")
    assert len(gaps) == 4 * per_commune  # no Vinaphone BTS: every village is a gap
    assert "Xác minh điện lưới rồi xây trạm mới" in set(gaps.iloc[:, -1]) | set(
        gaps.astype(str).stack())


def test_build_with_a_national_file_only_keeps_the_province(tmp_path):
    r = CliRunner().invoke(phusong, ["build", "--admin", str(REAL / "gadm41_VNM.gpkg"),
                                     "--province", "Vĩnh Phúc", "--osm",
                                     str(REAL / "osm_export.geojson"), "-o",
                                     str(tmp_path / "b"), "-q"])
    assert r.exit_code == 0, r.output
    b = read_bundle(tmp_path / "b")
    assert b.meta["province"] == "Vĩnh Phúc"
    v = b["villages"]
    assert len(v) == 12 and v.within(box(*BOXES["Vĩnh Phúc"])).all()
    assert v["has_grid_power"].isna().all()  # unknown in OSM, not False
    from phusong.layers.io import bundle_info

    unknown = bundle_info(tmp_path / "b")["unknown"]
    assert "has_grid_power 12/12" in unknown and "border_area 12/12" in unknown
    info = CliRunner().invoke(phusong, ["info", str(tmp_path / "b")])
    assert info.exit_code == 0 and "unknown" in info.output


def test_admin_geodataframe_has_no_other_province(tmp_path):
    r = read_admin(REAL / "gadm41_VNM.gpkg", province="Hà Nội")
    assert isinstance(r.accepted, gpd.GeoDataFrame)
    assert r.accepted.within(box(105.75 - 1e-9, 20.95 - 1e-9, 106.05 + 1e-9, 21.15 + 1e-9)).all()


def test_map_draws_province_district_and_commune_outlines_with_names(tmp_path):
    import json

    from phusong.analysis.publish.mapping import build_map, render_map

    r = CliRunner().invoke(phusong, ["build", "--admin", str(REAL / "gadm41_VNM.gpkg"),
                                     "--province", "Lạng Sơn", "-o", str(tmp_path / "b"),
                                     "-q"])
    assert r.exit_code == 0, r.output
    page = render_map(build_map(read_bundle(tmp_path / "b")))

    def shown(text: str) -> bool:
        return text in page or json.dumps(text)[1:-1] in page

    for label in ("Ranh giới tỉnh", "Ranh giới huyện", "Ranh giới xã, phường"):
        assert shown(label), label
    for name in ("Cao Lộc", "Văn Quan", "Tân Liên", "Hải Yến", "Tú Xuyên", "Yên Phúc"):
        assert shown(name), name
    assert page.count('"lv": "commune"') == 4 and page.count('"lv": "district"') == 2


def test_osm_geojson_from_ogr2ogr_with_other_tags(tmp_path):
    import json

    feats = [
        {"type": "Feature", "properties": {
            "osm_id": "555", "name": "Ban Thu", "place": "village",
            "other_tags": '"population"=>"320","name:vi"=>"Bản Thử"'},
         "geometry": {"type": "Point", "coordinates": [103.2, 22.4]}},
        {"type": "Feature", "properties": {
            "osm_id": "556", "name": None, "man_made": "mast",
            "other_tags": '"tower:type"=>"communication","operator"=>"Viettel"'},
         "geometry": {"type": "Point", "coordinates": [103.21, 22.41]}},
        {"type": "Feature", "properties": {"osm_id": None, "osm_way_id": "777",
                                           "name": "Bản Vùng", "place": "hamlet"},
         "geometry": {"type": "Polygon", "coordinates": [[[103.1, 22.3], [103.11, 22.3],
                                                          [103.11, 22.31], [103.1, 22.3]]]}}]
    p = tmp_path / "qgis_export.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    res = read_osm(p, layers=["villages", "towers", "bts"])
    v = res["villages"].accepted.set_index("village_id")
    assert v.loc["OSM-N555", "name"] == "Bản Thử"  # name:vi from other_tags wins
    assert v.loc["OSM-N555", "population"] == 320
    assert "OSM-W777" in v.index  # osm_way_id: a way
    assert res["towers"].accepted["owner"].tolist() == ["viettel"]
    assert res["bts"].n_accepted == 1


def test_admin_names_on_the_map_are_escaped():
    from phusong.analysis.publish.mapping import build_map, render_map
    from phusong.layers.bundle import ProvinceBundle

    bad = "<img src=x onerror=alert(1)>"
    admin = read_admin(REAL / "gadm41_VNM.gpkg", province="Lai Châu").accepted
    admin.loc[admin["level"] == "commune", "name"] = bad
    page = render_map(build_map(ProvinceBundle(layers={"admin_units": admin},
                                               meta={"province": "Lai Châu"})))
    assert bad not in page and "&lt;img src=x onerror=alert(1)&gt;" in page.replace(
        "\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")
