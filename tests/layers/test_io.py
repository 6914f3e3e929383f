"""phusong.layers.io: readers and writers of every format, CSV coordinates and encodings, bundles."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely

from phusong.gis.crs import PROVINCE_BOUNDS, from_wgs84
from phusong.gis.errors import InputError, OutputExistsError, SchemaError
from phusong.layers._encoding import encode_legacy
from phusong.layers.bundle import ProvinceBundle, write_bundle
from phusong.layers.io import bundle_info, guess_layer, read_layer, validate_path, write_layer

BOX = PROVINCE_BOUNDS["lai-chau"]


@pytest.fixture
def towers():
    return gpd.GeoDataFrame({
        "tower_id": ["T1", "T2", "T3"], "height_m": [30.0, 42.5, 18.0],
        "owner": ["viettel", "mobifone", "vinaphone"], "power_source": ["grid", "solar", "hybrid"],
        "ghi_chu": ["Mường Tè", "=1+1", "Bản Nậm Cuổi"],
    }, geometry=gpd.points_from_xy([103.1, 103.2, 103.3], [22.3, 22.4, 22.5]), crs=4326)


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".zip", ".csv", ".kml"])
def test_round_trip_every_format(tmp_path, towers, suffix):
    path = write_layer(towers, tmp_path / f"towers{suffix}", layer="towers")
    r = read_layer(path, "towers", bounds=BOX)
    assert r.ok and r.rows_in == 3
    assert r.accepted["tower_id"].tolist() == ["T1", "T2", "T3"]
    assert r.accepted["owner"].tolist() == ["viettel", "mobifone", "vinaphone"]
    assert r.accepted["ghi_chu"].tolist() == ["Mường Tè", "=1+1", "Bản Nậm Cuổi"]
    np.testing.assert_allclose(r.accepted.geometry.x, towers.geometry.x, atol=1e-9)
    with pytest.raises(OutputExistsError):
        write_layer(towers, path)


def test_polygons_to_csv_use_wkt(tmp_path):
    gdf = gpd.GeoDataFrame({"highway": ["track"]},
                           geometry=[shapely.LineString([(103, 22.3), (103.1, 22.4)])], crs=4326)
    path = write_layer(gdf, tmp_path / "roads.csv")
    assert "wkt" in path.read_text(encoding="utf-8-sig").splitlines()[0]
    r = read_layer(path, "roads")
    assert r.ok and r.accepted.geometry.iloc[0].geom_type == "LineString"


CSV = ("tower_id;height_m;owner;power_source;kinh_do;vi_do;ten\n"
       "T1;30;VNPT;điện lưới;103,3;22,4;Mường Tè\n"
       "T2;abc;Viettel;grid;103.2;;Bản Nậm Cuổi\n"
       "\n"
       "T3;25;mobi;solar;22.3;103.3;Phong Thổ\n"
       "T4;25;mobi;solar;103.3\n")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1258", "tcvn3", "vni"])
def test_csv_encodings_semicolons_rows_and_problems(tmp_path, encoding):
    path = tmp_path / "towers.csv"
    path.write_bytes(encode_legacy(CSV, encoding))
    r = read_layer(path, "towers", bounds=BOX)
    assert r.encoding == encoding
    assert r.rows_in == 4 and r.n_accepted == 2 and r.n_rejected == 2
    assert r.accepted["ten"].tolist() == ["Mường Tè", "Phong Thổ"]
    assert "kinh_do" not in r.accepted.columns
    assert r.rejected["source_row"].tolist() == [3, 6]  # header = row 1, blank line counted
    assert r.rejected["ten"].iloc[0] == "Bản Nậm Cuổi"
    assert f"{path}:3:vi_do: no coordinate" in r.problems[0]
    assert any(p.startswith(f"{path}:6:row: row has 5 fields, the header has 7")
               for p in r.problems)
    if encoding in ("cp1258", "tcvn3", "vni"):
        assert any(f"text decoded as {encoding}" in w for w in r.warnings)


def test_csv_vn2000_xy_columns_northing_first(tmp_path, towers):
    metric = from_wgs84(towers, 9205)
    lines = ["ma_cot,x,y,height_m,owner,power_source"]
    for tid, g, h in zip(metric["tower_id"], metric.geometry, metric["height_m"], strict=True):
        lines.append(f"{tid},{g.y:.3f},{g.x:.3f},{h},viettel,grid")  # X = northing (surveyors)
    path = tmp_path / "cot.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    r = read_layer(path, "towers", bounds=BOX)
    assert r.ok and r.crs_guess.epsg == 9205 and r.crs_guess.swapped
    np.testing.assert_allclose(r.accepted.geometry.x, towers.geometry.x, atol=1e-7)
    r2 = read_layer(path, "towers", bounds=BOX, crs=9205)
    assert r2.ok


def test_csv_without_coordinates_or_header(tmp_path):
    p = tmp_path / "towers.csv"
    p.write_text("tower_id,height_m\nT1,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no coordinate columns; add lon/lat"):
        read_layer(p, "towers")
    p.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no header row"):
        read_layer(p, "towers")
    p.write_bytes(b"a,b\x00,c\n")
    with pytest.raises(InputError, match=r"NUL bytes"):
        read_layer(p, "towers")


def test_csv_header_only_is_accepted_empty(tmp_path):
    p = tmp_path / "towers.csv"
    p.write_text("tower_id,height_m,owner,power_source,lon,lat\n", encoding="utf-8")
    r = read_layer(p, "towers")
    assert r.rows_in == 0 and any("header only" in w for w in r.warnings)


def test_csv_missing_column_names_file_and_field(tmp_path):
    p = tmp_path / "towers.csv"
    p.write_text("tower_id,height_m,owner,lon,lat\nT1,30,viettel,103.1,22.3\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"towers.csv: layer towers: missing required column "
                                          r"power_source"):
        read_layer(p, "towers")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("t.gpkg", b"", "empty file"),
    ("t.gpkg", b"SQLite format 3\x00" + b"\x00" * 200, "cannot be read as a GeoPackage"),
    ("t.geojson", b'{"type": "FeatureCollection", "features": [', "cannot be read as GeoJSON"),
    ("t.kml", b"<kml><Document><Placemark>", "cannot be read as KML"),
    ("t.xlsx", b"PK\x03\x04", "cannot be read as an Excel workbook"),
    ("t.zip", b"PK\x03\x04 truncated", "not a valid zip"),
])
def test_unreadable_files_are_one_line_input_errors(tmp_path, name, content, message):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_layer(p, "towers")
    assert "\n" not in str(info.value) and str(p) in str(info.value)


def test_truncated_geopackage(tmp_path, towers):
    good = write_layer(towers, tmp_path / "t.gpkg", layer="towers")
    data = good.read_bytes()
    bad = tmp_path / "cut.gpkg"
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match=r"cut.gpkg: cannot be read as a GeoPackage"):
        read_layer(bad, "towers")


def test_geopackage_without_the_layer(tmp_path, towers):
    p = write_layer(towers, tmp_path / "t.gpkg", layer="cot")
    with pytest.raises(InputError, match=r"has no layer 'towers' \(layers: cot\)"):
        read_layer(p, "towers")
    assert read_layer(p, "towers", source_layer="cot").ok


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match=r"no such file"):
        read_layer(tmp_path / "none.csv", "towers")
    with pytest.raises(InputError, match=r"is a folder"):
        read_layer(tmp_path, "towers")


def test_shapefile_without_prj_and_cpg_in_cp1258(tmp_path, towers):
    metric = from_wgs84(towers, 9205)
    shp = tmp_path / "cot.shp"
    with pytest.warns(UserWarning, match=r"truncated"), \
            pytest.warns(RuntimeWarning, match=r"laundered"):
        metric.to_file(shp, engine="pyogrio", encoding="cp1258")
    for ext in (".prj", ".cpg"):
        shp.with_suffix(ext).unlink(missing_ok=True)
    r = read_layer(shp, "towers", bounds=BOX)
    assert r.ok and r.encoding == "cp1258"
    assert r.accepted["ghi_chu"].tolist()[0] == "Mường Tè"
    assert any("no CRS declared; coordinates are metres in EPSG:9205" in w for w in r.warnings)
    assert any("no .cpg file; DBF text read as cp1258" in w for w in r.warnings)
    shp.with_suffix(".dbf").unlink()
    with pytest.raises(InputError, match=r"has no .dbf"):
        read_layer(shp, "towers")


def test_zip_without_shapefile(tmp_path):
    p = tmp_path / "x.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "nothing")
    with pytest.raises(InputError, match=r"holds no .shp"):
        read_layer(p, "towers")


def test_guess_layer():
    assert guess_layer("data/towers.csv") == "towers"
    assert guess_layer("bts_viettel.geojson") == "bts"
    assert guess_layer("Lai Chau post_offices.kml") == "post_offices"
    with pytest.raises(InputError, match=r"pass --layer"):
        guess_layer("data.csv")


@pytest.fixture
def bundle_dir(tmp_path, towers):
    bts = gpd.GeoDataFrame({
        "bts_id": ["B1", "B2"], "tower_id": ["T1", "T9"], "operator": ["viettel", "VNPT"],
        "tech": ["4G", "2G"], "band_mhz": [1800.0, 900.0], "antenna_height_m": [28.0, 28.0],
        "eirp_dbm": [57.0, 57.0]},
        geometry=gpd.points_from_xy([103.1, 103.2], [22.3, 22.4]), crs=4326)
    bundle = ProvinceBundle(layers={"towers": towers, "bts": bts},
                            meta={"province": "Lai Châu", "sample": "true", "metric_epsg": "9205"})
    write_bundle(bundle, tmp_path / "b")
    return tmp_path / "b"


def test_validate_path_on_a_bundle(bundle_dir):
    results = validate_path(bundle_dir)
    assert set(results) == {"towers", "bts"}
    assert results["bts"].n_rejected == 1
    assert "tower_id 'T9' is not in the towers layer" in results["bts"].problems[0]
    assert validate_path(bundle_dir / "bundle.gpkg", layer="towers")["towers"].ok


def test_validate_path_errors(tmp_path):
    with pytest.raises(InputError, match=r"folder has no bundle.gpkg"):
        validate_path(tmp_path)


def test_bundle_info(bundle_dir):
    info = bundle_info(bundle_dir)
    assert info["layers"] == {"towers": 3, "bts": 2}
    assert info["metric_crs"].startswith("EPSG:9205")
    assert info["sample"].startswith("yes")
    assert info["extent_lonlat"] == (103.1, 22.3, 103.3, 22.5)
    x0, y0, x1, y1 = info["extent_metric"]
    assert 490_000 < x0 < x1 < 540_000 and 2_460_000 < y0 < y1 < 2_500_000
    assert info["dem"] == "none"


def test_csv_excel_trailing_commas_and_unnamed_columns(tmp_path):
    p = tmp_path / "towers.csv"
    p.write_text("tower_id,height_m,owner,power_source,lon,lat,,\n"
                 "T1,30,viettel,grid,103.1,22.3,,\n"
                 ",,,,,,,\n"
                 "T2,30,viettel,grid,103.2,22.3,,ghi chú\n", encoding="utf-8")
    r = read_layer(p, "towers", bounds=BOX)
    assert r.ok and r.rows_in == 2
    assert "column_8" in r.accepted.columns and "column_7" not in r.accepted.columns
    assert any("skipped 1 blank row (row 3)" in w for w in r.warnings)
    assert any("column 8 has no name" in w for w in r.warnings)


def test_csv_duplicate_header(tmp_path):
    p = tmp_path / "towers.csv"
    p.write_text("tower_id,lon,lat,lon\nT1,1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"header repeats column 'lon'"):
        read_layer(p, "towers")


# -- property: reading a CSV never loses a row --------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CELLS = st.one_of(st.sampled_from(["", "T1", "abc", "-5", "1.234,5", "VNPT", "Gmobile", "có",
                                   "103.2", "22.4", "NaN", "điện lưới", "=1+1", '"q"', "a,b",
                                   "x\ny"]),
                  st.text(alphabet="aăâđêôơư0123456789 .,;-", max_size=6))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(CELLS, min_size=4, max_size=8), max_size=15))
def test_csv_reading_never_loses_a_row(tmp_path, rows):
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["tower_id", "height_m", "owner", "power_source", "lon", "lat"])
    w.writerows(rows)
    p = tmp_path / "towers.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    non_blank = [r for r in rows if any(c.strip() for c in r)]
    r = read_layer(p, "towers", bounds=BOX, crs=4326)
    assert r.rows_in == len(non_blank) == r.n_accepted + r.n_rejected
    assert r.rejected["reject_reason"].map(bool).all()
