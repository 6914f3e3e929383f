"""phusong.gis.crs: VN-2000 TM-3 zones, the EPSG:6960 datum shift, CRS detection."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Geod
from pyproj.crs import CoordinateOperation

from phusong.gis import crs as gcrs
from phusong.gis.errors import CRSMismatchError

GEOD = Geod(ellps="WGS84")
LAI_CHAU = gcrs.PROVINCE_BOUNDS["lai-chau"]
LANG_SON = gcrs.PROVINCE_BOUNDS["lang-son"]


def _points(lon, lat, crs=4326):
    return gpd.GeoDataFrame({"k": range(len(lon))}, geometry=gpd.points_from_xy(lon, lat),
                            crs=crs, index=[f"r{i}" for i in range(len(lon))])


def _random_lonlat(box, n=50, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(box[0] + 0.1, box[2] - 0.1, n), rng.uniform(box[1] + 0.1, box[3] - 0.1, n))


def test_tm3_table_has_the_design_meridians():
    expected = {9205: 103.0, 9206: 104.0, 9208: 104.75, 9209: 105.5, 9210: 105.75,
                9215: 107.25}
    for epsg, cm in expected.items():
        assert gcrs.TM3_ZONES[epsg] == pytest.approx(cm)
        params = {p.name: p.value for p in CRS.from_epsg(epsg).coordinate_operation.params}
        assert params["Longitude of natural origin"] == pytest.approx(cm)
        assert params["Scale factor at natural origin"] == pytest.approx(0.9999)
        assert params["False easting"] == 500000


@pytest.mark.parametrize(("lon", "epsg"), [(103.2, 9205), (102.5, 9205), (104.1, 9206),
                                           (104.7, 9208), (105.55, 9209), (105.8, 9210),
                                           (107.3, 9215)])
def test_tm3_crs_for_lon_nearest_meridian(lon, epsg):
    assert gcrs.tm3_crs_for_lon(lon).to_epsg() == epsg


def test_tm3_crs_for_lon_rejects_nan():
    with pytest.raises(CRSMismatchError, match=r"not a number"):
        gcrs.tm3_crs_for_lon(float("nan"))


@pytest.mark.parametrize(("name", "epsg"), [
    ("Lai Châu", 9205), ("lai-chau", 9205), ("Điện Biên", 9205), ("Tỉnh Sơn La", 9206),
    ("Lào Cai", 9208), ("HÀ GIANG", 9209), ("Cao Bằng", 9210), ("Lạng Sơn", 9215)])
def test_province_tm3(name, epsg):
    assert gcrs.province_tm3(name).to_epsg() == epsg


def test_province_tm3_unknown_names_the_known_ones():
    with pytest.raises(CRSMismatchError, match=r"no TM-3 zone known for province 'Atlantis'.*lai-chau"):
        gcrs.province_tm3("Atlantis")


def test_vn2000_to_wgs84_uses_the_epsg_6960_helmert_shift():
    t = gcrs.transformer(4756, 4326)
    assert CoordinateOperation.from_epsg(6960).name in t.description
    assert "VN-2000 to WGS 84 (2)" in t.description
    assert "helmert" in t.definition and "ballpark" not in t.description.lower()
    tm3 = gcrs.transformer(9205, 4326)
    assert "VN-2000 to WGS 84 (2)" in tm3.description


def test_shift_at_lai_chau_is_about_220_m():
    lon, lat = _random_lonlat(LAI_CHAU, n=20)
    vn = _points(lon, lat, crs=4756)
    wgs = gcrs.to_wgs84(vn)
    _, _, dist = GEOD.inv(lon, lat, wgs.geometry.x.to_numpy(), wgs.geometry.y.to_numpy())
    assert 200 < dist.min() and dist.max() < 230
    assert list(wgs.index) == list(vn.index)  # index kept


def test_round_trip_wgs84_tm3_wgs84_under_1_mm():
    lon, lat = _random_lonlat(LAI_CHAU, n=200, seed=1)
    pts = _points(lon, lat)
    back = gcrs.to_wgs84(gcrs.from_wgs84(pts, 9205))
    _, _, dist = GEOD.inv(lon, lat, back.geometry.x.to_numpy(), back.geometry.y.to_numpy())
    assert dist.max() < 1e-3


def test_to_wgs84_needs_a_crs():
    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(1, 2)])
    with pytest.raises(CRSMismatchError, match=r"no CRS"):
        gcrs.to_wgs84(gdf)


def test_bad_crs_is_one_line():
    with pytest.raises(CRSMismatchError, match=r"not a CRS pyproj understands"):
        gcrs.transformer("EPSG:99999999", 4326)


def _metric(box, epsg, seed=0):
    lon, lat = _random_lonlat(box, seed=seed)
    m = gcrs.from_wgs84(_points(lon, lat), epsg)
    return np.column_stack([m.geometry.x, m.geometry.y])


def test_detect_wgs84_and_swapped_degrees():
    lon, lat = _random_lonlat(LAI_CHAU)
    g = gcrs.detect_crs(np.column_stack([lon, lat]))
    assert g.epsg == 4326 and not g.swapped and g.kind == "geographic"
    g = gcrs.detect_crs(np.column_stack([lat, lon]), expected_bounds=LAI_CHAU)
    assert g.epsg == 4326 and g.swapped


@pytest.mark.parametrize(("box", "epsg"), [(LAI_CHAU, 9205), (LANG_SON, 9215),
                                           (gcrs.PROVINCE_BOUNDS["ha-giang"], 9209),
                                           (gcrs.PROVINCE_BOUNDS["lao-cai"], 9208)])
def test_detect_tm3_zone_from_extent(box, epsg):
    xy = _metric(box, epsg)
    assert (np.abs(xy[:, 0] - 500_000) < 200_000).all()
    g = gcrs.detect_crs(xy, expected_bounds=box)
    assert g.epsg == epsg and g.kind == "tm3" and not g.ambiguous


def test_detect_lai_chau_on_the_2025_meridian():
    # a file drawn on 104°45' (EPSG:9208) is still placed in Lai Châu
    xy = _metric(LAI_CHAU, 9208)
    g = gcrs.detect_crs(xy, expected_bounds=LAI_CHAU)
    assert 9208 in g.candidates
    back = gcrs.to_wgs84(gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                                          crs=g.crs))
    lon = back.geometry.x
    assert ((lon > LAI_CHAU[0]) & (lon < LAI_CHAU[2])).all()


def test_detect_swapped_northing_easting():
    xy = _metric(LAI_CHAU, 9205)
    g = gcrs.detect_crs(xy[:, ::-1], expected_bounds=LAI_CHAU)
    assert g.epsg == 9205 and g.swapped and "swapped" in g.note


def test_detect_tm3_without_bounds_is_flagged_ambiguous():
    g = gcrs.detect_crs(_metric(LAI_CHAU, 9205))
    assert g.ambiguous and g.epsg == 9205 and "ambiguous" in g.note


def test_detect_declared_ok_and_wrong():
    xy = _metric(LAI_CHAU, 9205)
    ok = gcrs.detect_crs(xy, declared=9205, expected_bounds=LAI_CHAU)
    assert ok.declared_ok is True and ok.epsg == 9205
    wrong = gcrs.detect_crs(xy, declared=4326, expected_bounds=LAI_CHAU)
    assert wrong.declared_ok is False and wrong.epsg == 9205
    assert "declared EPSG:4326" in wrong.note


def test_detect_utm_declared_is_kept():
    lon, lat = _random_lonlat(LAI_CHAU)
    utm = gcrs.from_wgs84(_points(lon, lat), 3405)
    g = gcrs.detect_crs(utm, expected_bounds=LAI_CHAU)
    assert g.epsg == 3405 and g.declared_ok and g.kind == "utm"


def test_detect_nothing_fits():
    g = gcrs.detect_crs(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert g.crs is None and g.kind == "unknown" and "fit no CRS" in g.note
    g = gcrs.detect_crs(np.array([[5e6, 9e6]]))
    assert g.crs is None


def test_detect_empty_and_bad_shapes():
    assert gcrs.detect_crs(np.empty((0, 2))).crs is None
    with pytest.raises(CRSMismatchError, match=r"\(n, 2\)"):
        gcrs.detect_crs(np.array([1.0, 2.0, 3.0]))


def test_swap_xy():
    (g,) = gcrs.swap_xy([shapely.Point(1, 2)])
    assert (g.x, g.y) == (2, 1)


@pytest.mark.parametrize("province", ["lai-chau", "ha-giang", "lang-son"])
def test_detect_undeclared_utm(province):
    box = gcrs.PROVINCE_BOUNDS[province]
    xy = _metric(box, 3405, seed=3)
    g = gcrs.detect_crs(xy, expected_bounds=box)
    assert g.epsg == 3405 and g.kind == "utm"


@pytest.mark.parametrize(("province", "epsg"), [("ha-giang", 9209), ("cao-bang", 9210),
                                                ("son-la", 9206)])
def test_detect_tm3_not_confused_with_utm(province, epsg):
    box = gcrs.PROVINCE_BOUNDS[province]
    g = gcrs.detect_crs(_metric(box, epsg, seed=4), expected_bounds=box)
    assert g.epsg == epsg and g.kind == "tm3"


def test_transform_xy_round_trip_from_tm3():
    x, y = np.array([480_000.0, 530_000.0]), np.array([2_450_000.0, 2_480_000.0])
    lon, lat = gcrs.transform_xy(x, y, 9205, 4326)
    bx, by = gcrs.transform_xy(lon, lat, 4326, 9205)
    assert np.abs(bx - x).max() < 1e-6 and np.abs(by - y).max() < 1e-6


def test_small_extent_is_flagged_ambiguous_but_prefers_official_then_utm():
    small = (103.1, 22.2, 103.5, 22.5)  # a few villages: several zones put them in Lai Châu
    xy = _metric(small, 3405, seed=5)
    g = gcrs.detect_crs(xy, expected_bounds=LAI_CHAU)
    assert g.epsg == 3405 and g.ambiguous and "pass crs=" in g.note
    xy = _metric(small, 9205, seed=5)
    g = gcrs.detect_crs(xy, expected_bounds=LAI_CHAU)
    assert g.epsg == 9205  # the province's official zone wins a tie
