"""Admin boundaries: GADM, geoBoundaries, official VN-2000 shapefiles; 3 and 2 levels."""

from __future__ import annotations

import shutil
import unicodedata
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from shapely.geometry import box

from phusong.gis.errors import InputError, SchemaError
from phusong.layers.importers import name_key, province_geometry, read_admin

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "importers"
PROVINCE = (102.95, 22.25, 103.30, 22.45)


def _tree(result):
    df = result.accepted
    return {r.code: (r.level, r.parent_code if isinstance(r.parent_code, str) else None)
            for r in df.itertuples()}


@pytest.mark.parametrize("name", ["Lai Chau", "Lai Châu", "LAI CHÂU", "Tỉnh Lai Châu",
                                  "lai-chau", "LaiChâu"])
def test_gadm_province_by_name_with_or_without_diacritics(name):
    result = read_admin(FIXTURES / "gadm41_VNM_fixture.gpkg", province=name)
    assert result.n_in == result.n_accepted + result.n_rejected == 7
    tree = _tree(result)
    assert tree["VNM.27_1"] == ("province", None)
    assert tree["VNM.27.1_1"] == ("district", "VNM.27_1")
    assert tree["VNM.27.2.2_1"] == ("commune", "VNM.27.2_1")
    assert sorted(result.accepted["level"].value_counts().items()) == [
        ("commune", 4), ("district", 2), ("province", 1)]
    assert "Tả Phìn" in set(result.accepted["name"])
    assert result.accepted.crs.to_epsg() == 4326
    assert "VNM.15_1" not in tree  # the neighbour province is left out


def test_unknown_province_suggests_the_closest():
    with pytest.raises(InputError, match=r"'Lai Chao' is not in the boundaries \(did you mean "
                                         r"'LaiChâu'\?\)"):
        read_admin(FIXTURES / "gadm41_VNM_fixture.gpkg", province="Lai Chao")


def test_several_provinces_need_a_choice():
    with pytest.raises(InputError, match=r"2 provinces .*choose one with province="):
        read_admin(FIXTURES / "gadm41_VNM_fixture.gpkg")


def test_geoboundaries_parents_are_found_spatially():
    result = read_admin(FIXTURES / "geoboundaries", province="lai chau")
    df = result.accepted.set_index("code")
    prov = df.index[df["level"] == "province"][0]
    districts = df[df["level"] == "district"]
    communes = df[df["level"] == "commune"]
    assert len(districts) == 2 and len(communes) == 4
    assert set(districts["parent_code"]) == {prov}
    assert set(communes["parent_code"]) <= set(districts.index)
    assert df.loc[communes.index[communes["name"] == "Tả Phìn"][0], "parent_code"] == \
        districts.index[districts["name"] == "Huyện Sìn Hồ"][0]


def test_country_outlines_are_skipped_and_zips_read(tmp_path):
    gb = tmp_path / "gb"
    shutil.copytree(FIXTURES / "geoboundaries", gb)
    adm0 = gpd.GeoDataFrame({"shapeName": ["Vietnam"], "shapeISO": ["VNM"],
                             "shapeID": ["VNM-ADM0"], "shapeGroup": ["VNM"],
                             "shapeType": ["ADM0"]}, geometry=[box(102, 8, 110, 23.5)],
                            crs="EPSG:4326")
    pyogrio.write_dataframe(adm0, gb / "geoBoundaries-VNM-ADM0.geojson", driver="GeoJSON")
    assert read_admin(gb, province="Lai Châu").n_accepted == 7
    z = tmp_path / "xa_2025.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted((FIXTURES / "official_new").iterdir()):
            zf.write(f, f.name)
    assert read_admin(z).n_accepted == 3


def test_official_vn2000_without_prj_is_detected_and_shifted():
    result = read_admin(FIXTURES / "official_old", province="Lai Châu")
    assert any("no CRS declared" in w and "TM-3 103-00" in w for w in result.warnings)
    tree = _tree(result)
    assert tree == {"12": ("province", None), "105": ("district", "12"),
                    "106": ("district", "12"), "03124": ("commune", "105"),
                    "03125": ("commune", "105"), "03226": ("commune", "106"),
                    "03227": ("commune", "106")}
    # the fixture was written from WGS84 through the EPSG:6960 shift: it comes back exactly
    np.testing.assert_allclose(result.accepted.total_bounds, PROVINCE, atol=1e-6)
    names = set(result.accepted["name"])
    assert "Xã Pa Vệ Sử" in names
    assert all(unicodedata.is_normalized("NFC", n) for n in names)


def test_official_shapefile_in_tcvn3_without_cpg():
    result = read_admin(FIXTURES / "official_tcvn3", province="Lai Châu")
    assert any("DBF text read as tcvn3" in w for w in result.warnings)
    names = set(result.accepted["name"])
    assert {"Tỉnh Lai Châu", "Huyện Mường Tè", "Xã Pa Vệ Sử", "Xã Tả Phìn"} <= names
    # forced to the wrong encoding, the names are mojibake and the province is not found
    with pytest.raises(InputError, match="is not in the boundaries"):
        read_admin(FIXTURES / "official_tcvn3", province="Lai Châu", encoding="cp1258")


def test_official_new_two_level_structure():
    result = read_admin(FIXTURES / "official_new")  # one province: no choice needed
    tree = _tree(result)
    assert tree == {"12": ("province", None), "03130": ("commune", "12"),
                    "03230": ("commune", "12")}
    # declared in TM-3 104°45′ (EPSG:9208), the reportedly new meridian: back to lon/lat
    np.testing.assert_allclose(result.accepted.total_bounds, PROVINCE, atol=1e-6)


def test_old_file_read_as_two_levels():
    result = read_admin(FIXTURES / "official_old", province="Lai Chau", structure="2-level")
    levels = result.accepted.set_index("code")["level"]
    assert "district" not in set(levels)
    assert set(result.accepted.loc[result.accepted["level"] == "commune", "parent_code"]) == \
        {"12"}


def test_gadm_like_two_level_file(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"GID_0": "VNM", "GID_1": "VNM.27_1", "NAME_1": "Lai Châu",
         "GID_2": ["VNM.27.1_1", "VNM.27.2_1"], "NAME_2": ["Mường Tè", "Sìn Hồ"],
         "ENGTYPE_2": "Commune"},
        geometry=[box(102.95, 22.25, 103.125, 22.45), box(103.125, 22.25, 103.3, 22.45)],
        crs="EPSG:4326")
    p = tmp_path / "gadm_2025.gpkg"
    pyogrio.write_dataframe(gdf, p, layer="ADM_ADM_2", driver="GPKG")
    result = read_admin(p, province="Lai Chau")
    assert _tree(result) == {"VNM.27_1": ("province", None),
                             "VNM.27.1_1": ("commune", "VNM.27_1"),
                             "VNM.27.2_1": ("commune", "VNM.27_1")}
    # the province polygon is dissolved from its communes
    assert province_geometry(result.accepted).equals(box(*PROVINCE))


def test_malformed_rows_are_rejected_with_reasons():
    result = read_admin(FIXTURES / "admin_invalid_geometry.geojson", province="Lai Châu")
    assert result.n_in == result.n_accepted + result.n_rejected
    rej = result.rejected.set_index("source_row")
    assert "duplicate code '03130'" in rej.loc[3, "reject_reason"]
    assert rej.loc[4, "reject_field"] == "geometry"
    # the bow-tie commune is repaired (make_valid keeps it polygonal), with a warning
    assert any("Self-intersection" in w and "repaired" in w for w in result.warnings)
    assert "Xã Hỏng" in set(result.accepted["name"])


def test_unknown_columns():
    with pytest.raises(SchemaError, match="match no known admin boundary format"):
        read_admin(FIXTURES / "admin_unknown_columns.geojson")


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(InputError, match="empty file"):
        read_admin(FIXTURES / "admin_empty.gpkg")
    with pytest.raises(InputError, match="no such admin boundary"):
        read_admin(tmp_path / "nothing.shp")
    with pytest.raises(InputError, match="structure="):
        read_admin(FIXTURES / "official_new", structure="4-level")


def test_name_key():
    keys = {name_key(n) for n in ["Tỉnh Lai Châu", "Lai Chau", "LaiChâu", "lai-chau",
                                  "TỈNH LAI CHÂU"]}
    assert keys == {"laichau"}
    assert name_key("Điện Biên") == name_key("dien bien") == "dienbien"
    assert name_key("Xã Nà Hừ") == "nahu"
    assert name_key("Xã Nà Hừ", strip_prefix=False) == "xanahu"
