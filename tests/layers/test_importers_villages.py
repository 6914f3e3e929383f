"""Village lists: names per commune matched to OSM places (5 % misspelt), points, and the
tool's own gap list going back in."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.gis.errors import InputError
from phusong.layers.bundle import read_bundle
from phusong.layers.importers import read_admin, read_osm
from phusong.layers.importers.villages import match_names, read_village_list, village_key

REAL = Path(__file__).resolve().parents[1] / "data" / "importers" / "real"


@pytest.fixture(scope="module")
def admin():
    return read_admin(REAL / "gadm41_VNM.gpkg", province="Lai Châu").accepted


@pytest.fixture(scope="module")
def places(admin):
    return read_osm(REAL / "osm_export.geojson", layers=["villages"],
                    admin_units=admin)["villages"].accepted


@pytest.fixture(scope="module")
def matched(admin, places):
    return read_village_list(REAL / "danh_sach_thon.xlsx", admin_units=admin, places=places)


def test_village_key():
    assert village_key("Bản Nà Hừ") == village_key("ban na hu") == village_key("NÀ HỪ") == "nahu"
    assert village_key("Thôn 3") == "3" and village_key("Xóm Đồng Tâm") == "dongtam"


def test_match_names_statuses():
    cands = ["Bản Nậm Chải", "Bản Lũng Cang", "Bản Pa Hon", "Bản Pa Hon"]
    got = match_names(["Bản Nậm Chải", "Bản Nam Chai", "Bản Lũng Cag", "Bản Pa Hon",
                       "Bản Khác Hẳn"], cands)
    assert [g[0] for g in got] == ["exact", "exact", "fuzzy", "ambiguous", "unmatched"]
    assert got[2][1] == [1] and 80 <= got[2][2] < 100
    assert got[3][1] == [2, 3]


def test_every_row_of_the_list_is_matched_or_listed(matched, places):
    result, report = matched
    key = json.loads((REAL / "danh_sach_thon_key.json").read_text(encoding="utf-8"))
    assert len(report) == len(key) == result.n_in
    assert result.n_in == result.n_accepted + result.n_rejected
    by_row = report.set_index("source_row")
    rows = list(by_row.index)
    for row, k in zip(rows, key, strict=True):  # the list's rows are in the key's order
        got = by_row.loc[row]
        if k["kind"] in ("exact", "misspelt"):
            assert got["match"] in ("exact", "fuzzy"), (k, got.to_dict())
            assert got["place_id"] == k["osm"]
        else:
            assert got["match"] == k["kind"], (k, got.to_dict())
    misspelt = [k for k in key if k["kind"] == "misspelt"]
    assert len(misspelt) == round(0.05 * (len(key) - 1))  # 5 % of the OSM-known names
    assert (report["match"] == "fuzzy").sum() >= 1
    # ambiguous and unmatched rows are rejected with their reason, none dropped
    rej = result.rejected.set_index("source_row")
    assert rej["reject_reason"].str.contains("ambiguous: several OSM places").sum() == 1
    assert rej["reject_reason"].str.contains("no OSM place of that name in commune").sum() == 1


def test_matched_villages_take_the_lists_attributes_and_the_places_shape(matched, places,
                                                                         admin):
    result, report = matched
    v = result.accepted.set_index("village_id")
    first = report[report["match"] == "fuzzy"].iloc[0]
    row = v.loc[first["place_id"]]
    assert row["name"] == first["name"]  # the list's spelling wins
    p = places.set_index("village_id").loc[first["place_id"]]
    assert row["centre_lon"] == pytest.approx(p.geometry.x)
    assert row.geometry.geom_type in ("Polygon", "MultiPolygon")
    commune = admin.set_index("code").loc[row["commune_code"]].geometry
    assert row.geometry.within(commune.buffer(1e-9))
    assert row.geometry.contains(p.geometry)
    # the list gives population; grid power blank → unknown
    assert v["population"].notna().all()
    assert v["has_grid_power"].isna().any() and v["has_grid_power"].notna().any()
    border = v.loc[v["commune_code"].isin(admin.loc[admin["name"].isin(
        ["Mường So", "Sì Lở Lầu"]), "code"]), "border_area"]
    assert border.eq(True).all() and len(border)


def test_points_with_dms_become_settled_areas(admin):
    result, report = read_village_list(REAL / "thon_toa_do.csv", admin_units=admin)
    assert result.n_accepted == 3
    v = result.accepted.set_index("village_id")
    assert v.loc["LC-NT-01", "centre_lat"] == pytest.approx(22 + 21 / 60 + 36 / 3600)
    assert v.loc["LC-MS-01", "commune_code"]  # no commune given: the polygon holding it
    assert pd.isna(v.loc["LC-MS-01", "population"])
    # a 300 m disc clipped to the commune: area at most π·300²
    areas = result.accepted.to_crs(9205).area
    assert (areas <= np.pi * 300 ** 2 * 1.001).all() and (areas > 0).all()
    assert set(report["match"]) == {"geometry"}
    assert any("settled area" in w for w in result.warnings)


def test_a_name_list_needs_places(admin):
    with pytest.raises(InputError, match="no OSM places to match their names to"):
        read_village_list(REAL / "danh_sach_thon.xlsx", admin_units=admin, places=None)


def test_gap_list_edited_in_excel_goes_back_in(admin, tmp_path):
    from phusong.analysis.labels import GAP_LABELS

    fields = ["village_id", "name", "commune_code", "centre_lon", "centre_lat", "population",
              "households", "has_grid_power", "border_area", "extremely_difficult"]
    header = [GAP_LABELS[f][0] for f in fields]
    com = admin[admin["level"] == "commune"].iloc[0]
    pt = com.geometry.representative_point()
    rows = [["V1", "Bản Sửa Tay", com["code"], pt.x, pt.y, 250, 55, "Có", "Không", "Có"]]
    p = tmp_path / "gaps_viettel.csv"
    pd.DataFrame(rows, columns=header).to_csv(p, index=False, encoding="utf-8-sig")
    result, _ = read_village_list(p, admin_units=admin)
    assert result.n_accepted == 1
    v = result.accepted.iloc[0]
    assert (v["village_id"], v["population"], v["has_grid_power"], v["border_area"]) == (
        "V1", 250, True, False)


def test_cli_replaces_osm_villages_with_the_list_and_writes_the_report(tmp_path):
    runner = CliRunner()
    b = tmp_path / "b"
    r = runner.invoke(phusong, ["build", "--admin", str(REAL / "gadm41_VNM.gpkg"), "--province",
                                "Lai Châu", "--osm", str(REAL / "osm_export.geojson"), "-o",
                                str(b), "-q"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(phusong, ["import", "villages", str(REAL / "danh_sach_thon.xlsx"),
                                "--into", str(b), "--mode", "replace"])
    assert r.exit_code == 0, r.output
    assert "layer replaced" in r.output and "match report" in r.output
    report = pd.read_csv(next((b / "rejects").glob("matches_villages_*.csv")))
    key = json.loads((REAL / "danh_sach_thon_key.json").read_text(encoding="utf-8"))
    assert len(report) == len(key)
    assert set(report["match"]) <= {"exact", "fuzzy", "ambiguous", "unmatched"}
    v = read_bundle(b)["villages"]
    assert len(v) == int(report["match"].isin(["exact", "fuzzy"]).sum())


REALDATA = next((p for p in (Path(__file__).resolve().parents[3] / "shared" / "realdata",
                             Path(__file__).resolve().parents[4] / "shared" / "realdata")
                 if (p / "osm_geofabrik_vietnam_2018-01-03").exists()), None)


@pytest.mark.skipif(REALDATA is None, reason="real public data folder ../shared/realdata is "
                                             "absent")
def test_real_osm_names_with_5_percent_misspelt(tmp_path):
    """The village names of Geofabrik's places in the Tuyên Quang communes of the tile,
    written as a province list by commune name, 5 % misspelt (seeded): each row is matched
    to its own place or listed."""
    admin = read_admin(REALDATA / "boundaries_post2025" / "post2025_communes_7provinces.geojson",
                       province="Tuyên Quang", clip_lonlat=(105, 21, 106, 22)).accepted
    places = read_osm(REALDATA / "osm_geofabrik_vietnam_2018-01-03", layers=["villages"],
                      admin_units=admin)["villages"].accepted
    names = admin.set_index("code")["name"]
    rng = np.random.default_rng(2025)
    rows = []
    for p in places.itertuples():
        rows.append({"Xã": names[p.commune_code], "Tên thôn": p.name, "osm": p.village_id})
    bad = rng.choice(len(rows), max(1, round(0.05 * len(rows))), replace=False)
    for i in bad:  # drop one diacritic mark or one letter from the last word
        word = rows[i]["Tên thôn"]
        plain = unicodedata.normalize("NFD", word)
        stripped = unicodedata.normalize("NFC", "".join(c for c in plain
                                                        if not unicodedata.combining(c)))
        rows[i]["Tên thôn"] = stripped if stripped != word else word[:-1]
    df = pd.DataFrame(rows)
    p = tmp_path / "thon.csv"
    df[["Xã", "Tên thôn"]].to_csv(p, index=False, encoding="utf-8")
    result, report = read_village_list(p, admin_units=admin, places=places)
    assert len(report) == len(rows) == result.n_accepted + result.n_rejected
    ok = report["match"].isin(["exact", "fuzzy"])
    assert (report.loc[ok, "place_id"].to_numpy() == df.loc[ok.to_numpy(), "osm"].to_numpy()).all()
    # places sharing a name in one commune are listed as ambiguous, never guessed
    dup = df.duplicated(["Xã", "Tên thôn"], keep=False).to_numpy()
    assert set(report.loc[~ok, "match"]) <= {"ambiguous", "unmatched"}
    assert ok.sum() >= len(rows) - dup.sum() - 1
    assert isinstance(result.accepted, gpd.GeoDataFrame)


def test_polygons_are_kept_as_drawn(admin, tmp_path):
    from shapely.geometry import box

    com = admin[admin["level"] == "commune"].iloc[0]
    w, s, e, n = com.geometry.bounds
    drawn = [box(w + 0.01, s + 0.01, w + 0.02, s + 0.02), box(e - 0.03, n - 0.03, e - 0.01,
                                                              n - 0.01)]
    gdf = gpd.GeoDataFrame({"Mã thôn": ["P1", "P2"], "Tên thôn, bản": ["Bản Một", "Bản Hai"],
                            "Mã xã": [com["code"], ""]}, geometry=drawn, crs=4326)
    p = tmp_path / "thon.geojson"
    gdf.to_file(p, driver="GeoJSON")
    result, report = read_village_list(p, admin_units=admin)
    assert result.n_accepted == 2
    v = result.accepted.set_index("village_id")
    assert v.loc["P1"].geometry.hausdorff_distance(drawn[0]) < 1e-9
    assert v.loc["P2"].geometry.hausdorff_distance(drawn[1]) < 1e-9
    assert v.loc["P2", "commune_code"] == com["code"]  # from the polygon holding it
    assert set(report["match"]) == {"geometry"}


def test_communes_given_as_heading_rows(admin, places, tmp_path):
    import openpyxl

    lc = places.merge(admin[["code", "name"]].rename(columns={"code": "commune_code",
                                                              "name": "commune"}))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH THÔN, BẢN"])
    ws.append(["STT", "Tên thôn, bản", "Dân số"])
    expected = {}
    for commune in ("Tả Phìn", "Mường So"):
        ws.append([None, f"Xã {commune}", None])  # the heading row of the commune
        names = lc.loc[lc["commune"] == commune, "name"].drop_duplicates(keep=False).head(3)
        for k, name in enumerate(names, start=1):
            ws.append([k, name, 100 * k])
            expected[name] = commune
    p = tmp_path / "thon_theo_xa.xlsx"
    wb.save(p)
    result, report = read_village_list(p, admin_units=admin, places=places)
    assert len(report) == len(expected) == result.n_in == result.n_accepted
    codes = admin.set_index("name")["code"]
    got = result.accepted.set_index("name")["commune_code"].to_dict()
    assert got == {n: codes[c] for n, c in expected.items()}
    assert any("2 commune heading rows" in w for w in result.warnings)
