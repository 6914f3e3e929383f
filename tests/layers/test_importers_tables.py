"""Operators' and the province's own lists: towers, BTS, post offices, fibre (CSV, XLSX, KML,
KMZ), headers in Vietnamese, DMS coordinates, column mappings, add/replace."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.gis.errors import InputError, SchemaError
from phusong.layers.bundle import read_bundle
from phusong.layers.importers._common import read_column_map
from phusong.layers.importers.build import import_admin_into, import_list_into
from phusong.layers.importers.tables import canonical_columns, group_bts_into_towers, read_list
from phusong.layers.io import parse_degrees

REAL = Path(__file__).resolve().parents[1] / "data" / "importers" / "real"
LAI_CHAU = (103.0, 22.2, 103.5, 22.6)


def _bundle(tmp_path: Path) -> Path:
    b = tmp_path / "b"
    import_admin_into(b, REAL / "gadm41_VNM.gpkg", province="Lai Châu")
    return b


@pytest.mark.parametrize(("text", "degrees"), [
    ("22°23'45.6\"N", 22 + 23 / 60 + 45.6 / 3600), ("22°23'45,6\"N", 22 + 23 / 60 + 45.6 / 3600),
    ("22 23 45,6", 22 + 23 / 60 + 45.6 / 3600), ("105°30′12″E", 105 + 30 / 60 + 12 / 3600),
    ("105:30:12 E", 105 + 30 / 60 + 12 / 3600), ("22°23.5'", 22 + 23.5 / 60),
    ("105,25", 105.25), ("105.25", 105.25), (103.5, 103.5)])
def test_degrees_decimal_or_dms(text, degrees):
    value, problem = parse_degrees(text)
    assert problem is None and value == pytest.approx(degrees, abs=1e-9)


@pytest.mark.parametrize("text", ["22°61'00\"N", "22°10'75\"", "hai mươi hai", "22°N°"])
def test_bad_degrees_are_problems(text):
    value, problem = parse_degrees(text)
    assert value is None and problem


def test_headers_in_vietnamese_english_and_the_tools_own():
    cols = canonical_columns(["Mã trạm", "TEN TRAM", "Kinh do", "vĩ độ", "Nhà mạng",
                              "Công nghệ", "Băng tần (MHz)", "Độ cao anten (m)",
                              "EIRP (dBm)", "Mã vị trí cột"], "bts")
    assert cols == {"Mã trạm": "bts_id", "TEN TRAM": "name", "Kinh do": "lon", "vĩ độ": "lat",
                    "Nhà mạng": "operator", "Công nghệ": "tech", "Băng tần (MHz)": "band_mhz",
                    "Độ cao anten (m)": "antenna_height_m", "EIRP (dBm)": "eirp_dbm",
                    "Mã vị trí cột": "tower_id"}
    own = canonical_columns(["Mã vị trí cột", "Độ cao cột (m)", "Chủ sở hữu", "Nguồn điện"],
                            "towers")
    assert own == {"Mã vị trí cột": "tower_id", "Độ cao cột (m)": "height_m",
                   "Chủ sở hữu": "owner", "Nguồn điện": "power_source"}
    mapped = canonical_columns(["So hieu", "Kinh do"], "post_offices", {"po_id": "So hieu"})
    assert mapped == {"So hieu": "po_id", "Kinh do": "lon"}
    with pytest.raises(InputError, match="no column 'Ma'"):
        canonical_columns(["So hieu"], "post_offices", {"po_id": "Ma"})


def test_operators_workbook_every_sheet_merged_headers_dms_and_grouping():
    res = read_list(REAL / "bts_operators.xlsx", "bts", bounds=LAI_CHAU)
    bts, towers = res["bts"], res["towers"]
    assert bts.n_in == 6 == bts.n_accepted and bts.n_rejected == 0
    assert any("Hướng dẫn" in w and "skipped" in w for w in bts.warnings)
    a = bts.accepted.set_index("bts_id")
    # degrees-minutes-seconds with comma seconds (VNPT sheet), rounded to 0.1″ ≈ 3 m
    assert a.loc["VNP-LC-01"].geometry.x == pytest.approx(103.30, abs=2e-5)
    assert a.loc["VNP-LC-01"].geometry.y == pytest.approx(22.46, abs=2e-5)
    assert a.loc["LCU0002", "tech"] == "2G" and a.loc["LCU0003", "tech"] == "4G"
    assert a.loc["VNP-LC-02", "operator"] == "vinaphone"
    # no tower ids: BTS within 20 m are one tower (LCU0001/2 are ~7 m apart, VNP-02/03 ~15 m)
    assert towers.n_accepted == 4
    assert a.loc["LCU0001", "tower_id"] == a.loc["LCU0002", "tower_id"]
    assert a.loc["VNP-LC-02", "tower_id"] == a.loc["VNP-LC-03", "tower_id"]
    assert a.loc["LCU0003", "tower_id"] != a.loc["LCU0001", "tower_id"]
    # defaults for what the list leaves out, counted in warnings
    # the fallback EIRP is the one radio table's (layers.settings.RADIO_DEFAULTS)
    assert a.loc["LCU0003", "band_mhz"] == 1800.0
    # 4G: 20 W at the port, 17 dBi, 1 dB feeder → 10 log10(20 000 mW) + 17 − 1 = 59.01 dBm
    assert a.loc["LCU0003", "eirp_dbm"] == pytest.approx(59.01, abs=0.01)
    assert any("1 rows without band_mhz" in w for w in bts.warnings)
    t = towers.accepted.set_index("tower_id")
    assert t.loc[a.loc["LCU0001", "tower_id"], "height_m"] == 35.0


def test_sheet_choice_and_a_wrong_sheet():
    res = read_list(REAL / "bts_operators.xlsx", "bts", sheet="VNPT", bounds=LAI_CHAU)
    assert res["bts"].n_in == 3
    with pytest.raises(InputError, match=r"has no sheet 'Mobifone' \(sheets: Hướng dẫn, "
                                         r"Viettel, VNPT\)"):
        read_list(REAL / "bts_operators.xlsx", "bts", sheet="Mobifone")
    with pytest.raises(InputError, match=r"sheet 'Hướng dẫn' holds a table of bts"):
        read_list(REAL / "bts_operators.xlsx", "bts", sheet="Hướng dẫn")


def test_grouping_is_single_linkage_within_the_distance():
    import geopandas as gpd
    from shapely.geometry import Point

    # points 15 m apart along a line (at 22.4°N, 1e-4° lon ≈ 10.3 m)
    pts = gpd.GeoSeries([Point(103.2 + i * 1.45e-4, 22.4) for i in range(3)]
                        + [Point(103.3, 22.4), None], crs=4326)
    groups = group_bts_into_towers(pts, colocate_m=20.0)
    assert groups[0] == groups[1] == groups[2] != groups[3] and groups[4] == -1
    assert len(set(group_bts_into_towers(pts, colocate_m=10.0)[:3])) == 3


def test_towers_with_the_tools_own_headers_and_vietnamese_values():
    r = read_list(REAL / "cot_anten.csv", "towers", bounds=LAI_CHAU)["towers"]
    assert r.n_accepted == 4
    t = r.accepted.set_index("tower_id")
    assert t["power_source"].to_dict() == {"LC-T001": "grid", "LC-T002": "solar",
                                           "LC-T003": "diesel", "LC-T004": "grid"}
    assert t.loc["LC-T002", "height_m"] == 36.5  # decimal comma
    assert t.loc["LC-T002", "owner"] == "vinaphone"  # VNPT


def test_bts_joined_to_their_tower_by_id(tmp_path):
    b = _bundle(tmp_path)
    import_list_into(b, "towers", REAL / "cot_anten.csv")
    reports = import_list_into(b, "bts", REAL / "bts_theo_cot.csv")
    rep = reports[0]
    assert (rep.rows_in, rep.accepted, rep.rejected) == (5, 4, 1)
    bundle = read_bundle(b)
    bts = bundle["bts"].set_index("bts_id")
    towers = bundle["towers"].set_index("tower_id")
    assert bts.loc["LC-T001-VT-4G"].geometry.equals(towers.loc["LC-T001"].geometry)
    assert bts.loc["LC-T003-MB-3G", "antenna_height_m"] == 30.0  # the tower's height
    assert bts.loc["LC-T002-VNP-4G", "eirp_dbm"] == pytest.approx(59.01, abs=0.01)  # 4G
    rej = pd.read_csv(rep.rejects_file)
    assert "tower_id 'LC-T999' matches no tower" in rej["reject_reason"].iloc[0]


def test_kmz_kml_and_fibre_kinds(tmp_path):
    t = read_list(REAL / "cot_anten.kmz", "towers", bounds=LAI_CHAU)["towers"]
    assert t.n_accepted == 4 and set(t.accepted["power_source"]) == {"grid", "solar", "diesel"}
    f = read_list(REAL / "cap_quang.kml", "fibre_routes", bounds=LAI_CHAU)["fibre_routes"]
    assert f.accepted.set_index("route_id")["kind"].to_dict() == {"LC-F01": "aerial",
                                                                  "LC-F02": "underground"}
    empty = tmp_path / "empty.kmz"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("doc.kml", '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns='
                   '"http://www.opengis.net/kml/2.2"><Document><name>x</name></Document></kml>')
    with pytest.raises(InputError, match=r"empty\.kmz: KMZ has no placemarks"):
        read_list(empty, "towers")


def test_post_offices_through_a_column_mapping():
    mapping = read_column_map(REAL / "buu_cuc_columns.txt")
    r = read_list(REAL / "buu_cuc.csv", "post_offices", columns=mapping,
                  bounds=LAI_CHAU)["post_offices"]
    assert (r.n_in, r.n_accepted, r.n_rejected) == (4, 3, 1)
    po = r.accepted.set_index("po_id")
    assert po["kind"].to_dict() == {"BC-LC-01": "buu_cuc_cap_2", "BC-LC-02": "bdvhx",
                                    "BC-LC-03": "dai_ly"}
    assert po["has_public_internet"].tolist() == [True, False, False]
    assert "unknown value 'Bưu cục cấp 9'" in r.rejected["reject_reason"].iloc[0]
    with pytest.raises(SchemaError, match="missing required column"):
        read_list(REAL / "buu_cuc.csv", "post_offices")


def test_column_map_file_shapes(tmp_path):
    p = tmp_path / "m.txt"
    p.write_text("# c\ntower_id = Mã vị trí\nheight_m: Cao (m)\n", encoding="utf-8")
    assert read_column_map(p) == {"tower_id": "Mã vị trí", "height_m": "Cao (m)"}
    p.write_text('{"tower_id": "Số hiệu"}', encoding="utf-8")
    assert read_column_map(p) == {"tower_id": "Số hiệu"}
    p.write_text("field,column\ntower_id,Số hiệu\n", encoding="utf-8")
    assert read_column_map(p) == {"tower_id": "Số hiệu"}
    p.write_text("tower_id Số hiệu\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"m.txt:1: .* is not a 'field = column' pair"):
        read_column_map(p)


def test_cli_add_replace_and_what_changed(tmp_path):
    b = _bundle(tmp_path)
    runner = CliRunner()
    r = runner.invoke(phusong, ["import", "towers", str(REAL / "cot_anten.csv"), "--into",
                                str(b)])
    assert r.exit_code == 0, r.output
    assert "towers: 4 rows (new layer)" in r.output
    r = runner.invoke(phusong, ["import", "towers", str(REAL / "cot_anten.kmz"), "--into",
                                str(b), "--mode", "add"])
    assert r.exit_code == 0 and "towers: 4 → 4 rows (0 added)" in r.output
    rej = pd.read_csv(next((b / "rejects").glob("rejects_towers_cot_anten.csv")))
    assert rej["reject_reason"].str.contains("already in the bundle").all() and len(rej) == 4
    r = runner.invoke(phusong, ["import", "bts", str(REAL / "bts_operators.xlsx"), "--into",
                                str(b), "--sheet", "Viettel"])
    assert r.exit_code == 0, r.output
    assert "towers: 4 → 6 rows (2 added)" in r.output
    assert read_bundle(b).counts()["bts"] == 3
    r = runner.invoke(phusong, ["import", "towers", str(REAL / "cot_anten.kmz"), "--into",
                                str(b), "--mode", "replace"])
    assert "towers: 6 → 4 rows (layer replaced)" in r.output
    r = runner.invoke(phusong, ["import", "bts", str(REAL / "bts_operators.xlsx"), "--into",
                                str(b), "--sheet", "Nokia"])
    assert r.exit_code == 1 and "has no sheet 'Nokia'" in r.output
    assert "Traceback" not in r.output


def test_rows_outside_the_province_are_rejected_with_that_reason(tmp_path):
    b = _bundle(tmp_path)
    csv = tmp_path / "towers.csv"
    csv.write_text("tower_id,height_m,owner,power_source,lon,lat\n"
                   "A,30,viettel,grid,103.2,22.4\nB,30,viettel,grid,103.45,22.45\n",
                   encoding="utf-8")
    rep = import_list_into(b, "towers", csv)[0]
    assert (rep.accepted, rep.rejected) == (1, 1)
    rej = pd.read_csv(rep.rejects_file)
    assert rej["reject_reason"].iloc[0] == "geometry: outside the province"
    assert np.isclose(read_bundle(b)["towers"].geometry.x.iloc[0], 103.2)


def test_build_takes_the_lists_too(tmp_path):
    out = tmp_path / "b"
    r = CliRunner().invoke(phusong, [
        "build", "--admin", str(REAL / "gadm41_VNM.gpkg"), "--province", "Lai Châu",
        "--osm", str(REAL / "osm_export.geojson"), "--towers", str(REAL / "cot_anten.csv"),
        "--bts", str(REAL / "bts_theo_cot.csv"), "--villages", str(REAL / "danh_sach_thon.xlsx"),
        "--fibre", str(REAL / "cap_quang.kml"), "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    b = read_bundle(out)
    # 8 OSM masts (4 of unknown owner) + 4 listed towers; 8 OSM BTS + 4 listed (1 rejected)
    assert b.counts()["towers"] == 12 and b.counts()["bts"] == 12
    assert b.counts()["fibre_routes"] == 2
    report = pd.read_csv(next((out / "rejects").glob("matches_villages_*.csv")))
    assert b.counts()["villages"] == int(report["match"].isin(["exact", "fuzzy"]).sum())
    assert "villages: 64 →" in r.output and "(layer replaced)" in r.output
