"""phusong.layers.validate: every kind of bad input of DESIGN §2 gets its message and its rejects row."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from phusong.gis.crs import PROVINCE_BOUNDS, from_wgs84
from phusong.gis.errors import CRSMismatchError, OutputExistsError, SchemaError
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.schema import LAYERS
from phusong.layers.validate import cross_validate, validate_bundle, validate_layer, write_rejects

BOX = PROVINCE_BOUNDS["lai-chau"]


def square(lon, lat, d=0.01):
    return shapely.box(lon, lat, lon + d, lat + d)


def villages(n=4):
    return gpd.GeoDataFrame({
        "village_id": [f"V{i}" for i in range(n)],
        "name": ["Bản Nậm Cuổi", "Mường Tè", "Phong Thổ", "Sìn Hồ", "Tam Đường"][:n],
        "commune_code": ["C1"] * n,
        "population": [300 + i for i in range(n)],
        "households": [60 + i for i in range(n)],
        "has_grid_power": ["có", "không", "1", "yes"][:n],
        "border_area": [True, False, False, True][:n],
        "extremely_difficult": ["x", "0", "false", "TRUE"][:n],
    }, geometry=[square(103.0 + 0.05 * i, 22.3) for i in range(n)], crs=4326,
        index=[10 + i for i in range(n)])


def towers(n=3):
    return gpd.GeoDataFrame({
        "tower_id": [f"T{i}" for i in range(n)], "height_m": [30.0] * n,
        "owner": ["viettel"] * n, "power_source": ["grid"] * n,
    }, geometry=gpd.points_from_xy([103.1 + 0.02 * i for i in range(n)], [22.4] * n), crs=4326)


def bts(n=3):
    return gpd.GeoDataFrame({
        "bts_id": [f"B{i}" for i in range(n)], "tower_id": [f"T{i}" for i in range(n)],
        "operator": ["VNPT", "Viettel Telecom", "452-01"][:n], "tech": ["LTE", "3g", "2G"][:n],
        "band_mhz": ["1800", "2100", "900"][:n], "antenna_height_m": [28] * n,
        "eirp_dbm": [57.0] * n,
    }, geometry=gpd.points_from_xy([103.1 + 0.02 * i for i in range(n)], [22.4] * n), crs=4326)


def problems_of(result, field):
    return [p for p in result.problems if f":{field}:" in p]


def test_good_layer_is_canonicalised_and_keeps_its_index():
    r = validate_layer(villages(), "villages", source="v.gpkg", bounds=BOX)
    assert r.ok and r.rows_in == 4 and r.n_accepted == 4
    a = r.accepted
    assert list(a.index) == [10, 11, 12, 13]
    assert a["has_grid_power"].tolist() == [True, False, True, True]
    assert a["extremely_difficult"].tolist() == [True, False, False, True]
    assert a["population"].dtype == np.int64
    assert a.crs.to_epsg() == 4326
    assert list(a.columns[:len(LAYERS["villages"].fields)]) == [
        f.name for f in LAYERS["villages"].fields]


def test_operator_and_tech_aliases_map_to_ids_with_a_warning():
    r = validate_layer(bts(), "bts", bounds=BOX)
    assert r.accepted["operator"].tolist() == ["vinaphone", "viettel", "mobifone"]
    assert r.accepted["tech"].tolist() == ["4G", "3G", "2G"]
    assert any("VNPT → vinaphone" in w for w in r.warnings)
    assert any("LTE → 4G" in w for w in r.warnings)


def test_missing_required_column_is_one_line_schema_error():
    gdf = villages().drop(columns=["commune_code"])
    with pytest.raises(SchemaError, match=r"^v.csv: layer villages: missing required column "
                                          r"commune_code \(columns found: .*\); add or rename"):
        validate_layer(gdf, "villages", source="v.csv")


def test_unknown_layer_and_missing_geometry():
    with pytest.raises(SchemaError, match="unknown layer 'towerz'"):
        validate_layer(towers(), "towerz")
    with pytest.raises(SchemaError, match="no geometry column"):
        validate_layer(pd.DataFrame(towers().drop(columns="geometry")), "towers")


def test_mixed_case_and_vietnamese_column_names():
    gdf = villages().rename(columns={"village_id": "Village_ID", "population": "Dân số",
                                     "households": "so_ho"})
    r = validate_layer(gdf, "villages", bounds=BOX)
    assert r.ok and "population" in r.accepted
    assert any("'Dân số' → population" in w for w in r.warnings)


def test_duplicate_ids_keep_the_first():
    gdf = towers(3)
    gdf.loc[2, "tower_id"] = "T0"
    r = validate_layer(gdf, "towers", source="t.gpkg", bounds=BOX)
    assert r.accepted["tower_id"].tolist() == ["T0", "T1"]
    row = r.rejected.iloc[0]
    assert row["source_row"] == 3 and row["reject_field"] == "tower_id"
    assert "duplicate tower_id 'T0' (first at row 1)" in row["reject_reason"]
    assert r.problems == ["t.gpkg:3:tower_id: duplicate tower_id 'T0' (first at row 1); "
                          "kept the first"]


def test_unknown_operator_is_rejected_with_the_accepted_names():
    gdf = bts()
    gdf.loc[1, "operator"] = "Gmobile"
    r = validate_layer(gdf, "bts", bounds=BOX)
    assert r.n_rejected == 1
    assert "unknown operator 'Gmobile'" in r.rejected["reject_reason"].iloc[0]
    assert r.rejected["operator"].iloc[0] == "Gmobile"  # the original value is kept


def test_null_population_stays_unknown():
    """A null numeric cell reads as NaN: population is nullable, so it stays unknown."""
    gdf = villages()
    gdf["population"] = gdf["population"].astype(object)
    gdf.loc[11, "population"] = float("nan")
    r = validate_layer(gdf, "villages", source="v", bounds=BOX)
    assert r.n_rejected == 0
    assert any("population 1/" in w for w in r.warnings)


@pytest.mark.parametrize(("value", "message"), [
    (-5, "-5 is below the minimum 0"),
    ("NaN", "'NaN' is not a number"),
    ("12.5", "12.5 is not a whole number"),
    ("ba trăm", "'ba trăm' is not a number"),
])
def test_bad_population(value, message):
    gdf = villages()
    gdf["population"] = gdf["population"].astype(object)
    gdf.loc[11, "population"] = value
    r = validate_layer(gdf, "villages", source="v", bounds=BOX)
    assert r.n_rejected == 1 and r.rejected.index[0] == 11
    assert r.rejected["reject_field"].iloc[0] == "population"
    assert message in r.rejected["reject_reason"].iloc[0]


@pytest.mark.parametrize(("text", "value"), [("1.234", 1234), ("1 234", 1234), ("1,234", 1234),
                                             ("  300 ", 300), (300.0, 300)])
def test_population_number_formats(text, value):
    gdf = villages(1)
    gdf["population"] = [text]
    gdf["households"] = [1]
    r = validate_layer(gdf, "villages", bounds=BOX)
    assert r.accepted["population"].iloc[0] == value


def test_decimal_comma_and_non_numeric_heights():
    gdf = towers(3)
    gdf["height_m"] = ["42,5", "ba mươi", "1e9"]
    r = validate_layer(gdf, "towers", bounds=BOX)
    assert r.accepted["height_m"].tolist() == [42.5]
    reasons = r.rejected["reject_reason"].tolist()
    assert "'ba mươi' is not a number" in reasons[0]
    assert "above the maximum 300" in reasons[1]


def test_bad_boolean_and_choice():
    gdf = towers(2)
    gdf["power_source"] = ["wind", "máy nổ"]
    r = validate_layer(gdf, "towers", bounds=BOX)
    assert "unknown value 'wind'; use one of grid, diesel, solar, hybrid" in \
        r.rejected["reject_reason"].iloc[0]
    assert r.accepted["power_source"].tolist() == ["diesel"]
    v = villages(2)
    v["border_area"] = ["maybe", "không"]
    r = validate_layer(v, "villages", bounds=BOX)
    assert "'maybe' is not a yes/no value" in r.rejected["reject_reason"].iloc[0]


def test_text_is_nfc_and_stripped():
    import unicodedata

    gdf = villages(2)
    gdf["name"] = [unicodedata.normalize("NFD", "  Mường Tè "), "Phong Thổ"]
    r = validate_layer(gdf, "villages", bounds=BOX)
    assert r.accepted["name"].iloc[0] == "Mường Tè"


def test_swapped_lat_lon_is_fixed_per_row():
    gdf = towers(3)
    gdf.loc[1, "geometry"] = shapely.Point(22.4, 103.12)
    r = validate_layer(gdf, "towers", source="t", bounds=BOX)
    assert r.ok
    g = r.accepted.geometry.iloc[1]
    assert (g.x, g.y) == (103.12, 22.4)
    assert any(w.startswith("t:2:geometry: lat/lon swapped") for w in r.warnings)


def test_points_outside_the_province_are_rejected():
    gdf = towers(3)
    gdf.loc[2, "geometry"] = shapely.Point(105.8, 21.0)  # Hà Nội
    r = validate_layer(gdf, "towers", source="t", bounds=BOX)
    assert r.n_rejected == 1
    assert r.problems[0].startswith("t:3:geometry: position lon 105.800000, lat 21.000000 is "
                                    "outside the province")


def test_empty_missing_and_nan_geometry():
    gdf = towers(4)
    gdf.loc[0, "geometry"] = None
    gdf.loc[1, "geometry"] = shapely.Point()
    gdf.loc[2, "geometry"] = shapely.Point(float("nan"), 22.0)
    r = validate_layer(gdf, "towers", bounds=BOX)
    reasons = r.rejected["reject_reason"].tolist()
    assert "no geometry" in reasons[0] and "empty geometry" in reasons[1]
    assert "not finite" in reasons[2] and r.n_accepted == 1


def test_wrong_geometry_type():
    gdf = towers(2)
    gdf.loc[0, "geometry"] = square(103.1, 22.4)
    r = validate_layer(gdf, "towers", bounds=BOX)
    assert "geometry is Polygon; towers needs Point" in r.rejected["reject_reason"].iloc[0]


def test_z_is_dropped_with_a_warning():
    gdf = towers(2)
    gdf["geometry"] = [shapely.Point(103.1, 22.4, 900.0), shapely.Point(103.2, 22.4, 950.0)]
    r = validate_layer(gdf, "towers", bounds=BOX)
    assert r.ok and not r.accepted.has_z.any()
    assert any("Z values; dropped" in w for w in r.warnings)


def test_self_intersecting_polygon_is_repaired():
    gdf = villages(2)
    bowtie = shapely.Polygon([(103.0, 22.3), (103.01, 22.31), (103.01, 22.3), (103.0, 22.31)])
    gdf.loc[10, "geometry"] = bowtie
    r = validate_layer(gdf, "villages", source="v", bounds=BOX)
    assert r.ok and r.accepted.is_valid.all()
    assert any("v:1:geometry: invalid geometry (Self-intersection" in w for w in r.warnings)


def test_degenerate_polygon_is_rejected():
    gdf = villages(2)
    gdf.loc[11, "geometry"] = shapely.Polygon([(103.0, 22.3), (103.01, 22.3), (103.02, 22.3)])
    r = validate_layer(gdf, "villages", bounds=BOX)
    assert r.n_rejected == 1
    assert "cannot be repaired" in r.rejected["reject_reason"].iloc[0]


def test_multipolygon_village_is_dissolved_with_a_warning():
    gdf = villages(2)
    gdf.loc[10, "geometry"] = shapely.MultiPolygon([square(103.0, 22.3), square(103.005, 22.3)])
    r = validate_layer(gdf, "villages", bounds=BOX)
    assert r.ok and r.accepted.geometry.iloc[0].geom_type == "Polygon"
    assert any("MultiPolygon of 2 parts" in w for w in r.warnings)


def test_point_villages_and_centres():
    gdf = villages(3)
    gdf["geometry"] = gpd.points_from_xy([103.0, 103.1, 103.2], [22.3, 22.3, 22.3])
    gdf["centre_lon"] = [103.0, 22.3, None]
    gdf["centre_lat"] = [22.3, 103.1, 22.3]
    r = validate_layer(gdf, "villages", bounds=BOX)
    assert r.n_accepted == 2 and r.accepted["centre_lon"].iloc[1] == 103.1
    assert "centre needs both" in r.rejected["reject_reason"].iloc[0]


def test_no_crs_tm3_metres_detected_and_shifted():
    lai = towers(3)
    metric = from_wgs84(lai, 9205)
    r = validate_layer(metric.set_crs(None, allow_override=True), "towers", bounds=BOX)
    assert r.ok and r.crs_guess.epsg == 9205
    assert any("no CRS declared; coordinates are metres in EPSG:9205" in w for w in r.warnings)
    _, _, d = Geod(ellps="WGS84").inv(lai.geometry.x, lai.geometry.y, r.accepted.geometry.x,
                                      r.accepted.geometry.y)
    assert np.max(d) < 1e-3


def test_wrong_declared_crs_is_corrected_with_a_warning():
    metric = from_wgs84(towers(3), 9205).set_crs(4326, allow_override=True)
    r = validate_layer(metric, "towers", bounds=BOX)
    assert r.ok and any(w.startswith("<data>: wrong CRS: declared EPSG:4326") for w in r.warnings)


def test_vn2000_degrees_are_shifted_about_220_m():
    t = towers(3).set_crs(4756, allow_override=True)
    r = validate_layer(t, "towers", bounds=BOX)
    _, _, d = Geod(ellps="WGS84").inv(t.geometry.x, t.geometry.y, r.accepted.geometry.x,
                                      r.accepted.geometry.y)
    assert 200 < d.min() and d.max() < 230


def test_no_crs_and_unknown_metres_is_one_line_error():
    gdf = gpd.GeoDataFrame({"tower_id": ["T1"], "height_m": [30], "owner": ["viettel"],
                            "power_source": ["grid"]}, geometry=[shapely.Point(5e6, 9e6)])
    with pytest.raises(CRSMismatchError, match=r"^t.csv: no CRS declared and coordinates .* "
                                               r"pass crs="):
        validate_layer(gdf, "towers", source="t.csv")


def test_whole_layer_swapped_metres():
    metric = from_wgs84(towers(3), 9205)
    swapped = metric.copy()
    swapped["geometry"] = gpd.points_from_xy(metric.geometry.y, metric.geometry.x)
    r = validate_layer(swapped.set_crs(None, allow_override=True), "towers", bounds=BOX)
    assert r.ok and any("swapped" in w for w in r.warnings)


def test_roads_that_do_not_connect_warn():
    lines = [shapely.LineString([(103.0, 22.3), (103.1, 22.3)]),
             shapely.LineString([(103.1, 22.3), (103.2, 22.35)]),
             shapely.LineString([(103.5, 22.5), (103.6, 22.5)])]
    gdf = gpd.GeoDataFrame({"highway": ["primary", "track", "path"]}, geometry=lines, crs=4326)
    r = validate_layer(gdf, "roads", bounds=BOX)
    assert r.ok and any("roads form 2 separate networks; the largest holds 2 of 3" in w
                        for w in r.warnings)


def test_cross_layer_checks():
    t = validate_layer(towers(2), "towers", bounds=BOX)
    b = validate_layer(bts(3), "bts", source="bts.csv", bounds=BOX)
    cross_validate({"towers": t, "bts": b})
    assert b.n_accepted == 2 and b.n_rejected == 1 and b.rows_in == 3
    assert "tower_id 'T2' is not in the towers layer" in b.rejected["reject_reason"].iloc[0]
    assert b.problems[-1].startswith("bts.csv:3:tower_id:")


def test_validate_bundle_checks_commune_codes():
    admin = gpd.GeoDataFrame({"code": ["P", "D1", "C1"], "name": ["Lai Châu", "Mường Tè", "xã"],
                              "level": ["tỉnh", "huyện", "xã"], "parent_code": [None, "P", "D1"]},
                             geometry=[square(102.9, 22.2, 0.6)] * 3, crs=4326)
    v = villages(3)
    v.loc[12, "commune_code"] = "C9"
    bundle = ProvinceBundle(layers={"admin_units": admin, "villages": v},
                            meta={"province": "Lai Châu"})
    results = validate_bundle(bundle)
    assert results["admin_units"].accepted["level"].tolist() == ["province", "district",
                                                                "commune"]
    assert results["villages"].n_rejected == 1
    assert "commune_code 'C9' is not a commune" in \
        results["villages"].rejected["reject_reason"].iloc[0]


def test_write_rejects(tmp_path):
    gdf = towers(3)
    gdf["height_m"] = gdf["height_m"].astype(object)
    gdf.loc[0, "height_m"] = "=HYPERLINK(\"x\")"
    gdf.loc[1, "height_m"] = -4
    r = validate_layer(gdf, "towers", bounds=BOX)
    path = write_rejects(r, tmp_path)
    raw = path.read_bytes()
    assert path.name == "rejects_towers.csv" and raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert back.columns[:3].tolist() == ["source_row", "reject_field", "reject_reason"]
    assert back["height_m"].tolist() == ["'=HYPERLINK(\"x\")", "-4"]
    with pytest.raises(OutputExistsError):
        write_rejects(r, tmp_path)
    write_rejects(r, tmp_path, overwrite=True)


def test_collects_every_problem_of_a_row():
    gdf = towers(1)
    gdf["height_m"] = ["abc"]
    gdf["owner"] = ["nobody"]
    gdf["geometry"] = [None]
    r = validate_layer(gdf, "towers", source="f", bounds=BOX)
    assert r.rejected["reject_field"].iloc[0] == "geometry;height_m;owner"
    assert len(r.problems) == 3 and all(p.startswith("f:1:") for p in r.problems)


# -- property: validation never loses a row ----------------------------------------------------

GOOD = {"tower_id": "T", "height_m": "30", "owner": "viettel", "power_source": "grid"}
BAD_VALUES = {
    "tower_id": ["", None, "T"], "height_m": ["abc", "-1", "NaN", "", "1e6", 12, "1.234,5"],
    "owner": ["Gmobile", "", "VNPT", "452-99", None], "power_source": ["wind", "mặt trời", ""],
}
GEOMS = [shapely.Point(103.1, 22.4), shapely.Point(22.4, 103.1), shapely.Point(0, 0), None,
         shapely.Point(), shapely.Point(103.1, 22.4, 5.0), shapely.box(103, 22, 103.1, 22.1),
         shapely.Point(float("nan"), 1.0)]


@st.composite
def tower_rows(draw):
    n = draw(st.integers(min_value=0, max_value=25))
    rows, geoms = [], []
    for i in range(n):
        row = {k: f"{v}{i}" if k == "tower_id" else v for k, v in GOOD.items()}
        for field, bad in BAD_VALUES.items():
            if draw(st.booleans()) and draw(st.booleans()):
                row[field] = draw(st.sampled_from(bad))
        if draw(st.booleans()) and i:
            row["tower_id"] = f"T{draw(st.integers(0, i - 1))}"  # a duplicate
        rows.append(row)
        geoms.append(draw(st.sampled_from(GEOMS)))
    return rows, geoms


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tower_rows())
def test_validation_never_loses_a_row(data):
    rows, geoms = data
    gdf = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(GOOD)), geometry=geoms, crs=4326)
    gdf.index = [f"r{i}" for i in range(len(gdf))]
    r = validate_layer(gdf, "towers", bounds=BOX)
    assert r.rows_in == len(gdf) == r.n_accepted + r.n_rejected
    assert sorted(map(str, r.accepted.index.tolist() + r.rejected.index.tolist())) == \
        sorted(gdf.index)
    assert r.rejected["reject_reason"].str.len().gt(0).all()
    assert set(r.rejected["source_row"]) <= set(range(1, len(gdf) + 1))
    assert r.accepted["tower_id"].is_unique
    assert all(not math.isnan(h) and 0 <= h <= 300 for h in r.accepted["height_m"])


def test_bundle_bounds_come_from_the_admin_province():
    from phusong.layers.validate import bounds_from_admin

    admin = gpd.GeoDataFrame({"code": ["P", "C"], "name": ["Lai Châu", "Nậm Cuổi"],
                              "level": ["province", "commune"], "parent_code": [None, "P"]},
                             geometry=[square(103.0, 22.0, 0.5), square(103.1, 22.1, 0.1)],
                             crs=4326)
    assert bounds_from_admin(admin) == pytest.approx((102.95, 21.95, 103.55, 22.55))
    assert bounds_from_admin(admin.set_crs(None, allow_override=True)) is None
    far = admin.copy()
    far["geometry"] = [square(2.0, 48.0), square(2.1, 48.1)]  # Paris
    assert bounds_from_admin(far) is None
    t = towers(2)
    t.loc[1, "geometry"] = shapely.Point(103.8, 22.7)  # in Lai Châu, outside this admin box
    results = validate_bundle(ProvinceBundle(layers={"admin_units": admin, "towers": t}))
    assert results["towers"].n_rejected == 1


VILLAGE_GEOMS = [
    square(103.0, 22.3), shapely.Polygon([(103.0, 22.3), (103.01, 22.31), (103.01, 22.3),
                                          (103.0, 22.31)]),
    shapely.MultiPolygon([square(103.0, 22.3), square(103.05, 22.3)]),
    shapely.Point(103.2, 22.4), shapely.LineString([(103, 22.3), (103.1, 22.3)]), None,
    shapely.Polygon(), square(105.8, 21.0), square(22.3, 103.0),
    shapely.Polygon([(103.0, 22.3, 5), (103.01, 22.3, 5), (103.01, 22.31, 5)]),
    shapely.Polygon([(103.0, 22.3), (103.01, 22.3), (103.02, 22.3)]),
]
VILLAGE_VALUES = {
    "population": [300, -1, "NaN", "", "1.234", 12.5, "ba", None],
    "households": [60, "", "x", 900],
    "has_grid_power": ["có", "không", "maybe", "", 1, 2],
    "commune_code": ["C1", "", None, 3220],
}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(VILLAGE_GEOMS),
                          st.fixed_dictionaries({k: st.sampled_from(v)
                                                 for k, v in VILLAGE_VALUES.items()}),
                          st.integers(0, 5)), max_size=20))
def test_village_validation_never_loses_a_row(rows):
    base = villages(1).iloc[0].to_dict()
    records = []
    for i, (_, values, idn) in enumerate(rows):
        rec = {**base, **values, "village_id": f"V{idn}" if i % 3 else f"V{i + 10}"}
        rec.pop("geometry")
        records.append(rec)
    gdf = gpd.GeoDataFrame(pd.DataFrame(records, columns=[c for c in base if c != "geometry"]),
                           geometry=[g for g, _, _ in rows], crs=4326)
    r = validate_layer(gdf, "villages", bounds=BOX)
    assert r.rows_in == len(rows) == r.n_accepted + r.n_rejected
    assert r.accepted.geometry.is_valid.all() and not r.accepted.has_z.any()
    assert r.accepted["village_id"].is_unique
    assert (r.accepted["population"].dropna() >= 0).all()


@pytest.mark.parametrize("value", [None, "", float("nan")])
def test_unknown_population_and_flags_stay_unknown_and_are_counted(value):
    gdf = villages()
    for col in ("population", "has_grid_power", "border_area"):
        gdf[col] = gdf[col].astype(object)
        gdf.loc[11, col] = value
    r = validate_layer(gdf, "villages", source="v", bounds=BOX)
    assert r.n_rejected == 0
    row = r.accepted.loc[11]
    assert pd.isna(row["population"]) and pd.isna(row["has_grid_power"])
    assert pd.isna(row["border_area"])
    n = len(gdf)
    assert any(f"population 1/{n}" in w and f"has_grid_power 1/{n}" in w
               and "border_area 1/" in w for w in r.warnings), r.warnings
    # the other villages keep their known values
    assert r.accepted["has_grid_power"].drop(index=11).notna().all()
