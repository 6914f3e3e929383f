"""Clutter: per-class losses, a WorldCover-coded raster, real OSM landuse polygons, none by
default."""

from __future__ import annotations

from pathlib import Path

import affine
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import CRS, Transformer
from shapely.geometry import Point, box

from phusong.analysis.coverage.clutter import NO_CLASS, clutter_classes, clutter_loss_grid
from phusong.analysis.coverage.engine import compute_coverage
from phusong.gis.crs import to_wgs84
from phusong.gis.dem import Dem
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import CLUTTER_CLASSES, DEFAULT, clutter_loss_db

OSM = Path("/work/shared/realdata/osm_geofabrik_vietnam_2018-01-03/gis.osm_landuse_a_free_1.shp")
UTM48 = CRS.from_epsg(32648)


def test_class_losses_scale_with_frequency_by_hand():
    # 1 GHz values × (f / 1000)^0.3
    assert clutter_loss_db("forest", 1000.0) == pytest.approx(12.0)
    assert clutter_loss_db("forest", 1800.0) == pytest.approx(12.0 * 1.8 ** 0.3)
    assert clutter_loss_db("forest", 1800.0) == pytest.approx(14.31, abs=0.01)
    assert clutter_loss_db("settlement", 900.0) == pytest.approx(8.0 * 0.9 ** 0.3)
    assert clutter_loss_db("open", 2100.0) == 0.0 and clutter_loss_db("water", 900.0) == 0.0
    assert clutter_loss_db("forest", 900.0, table={"forest": 20.0}) == pytest.approx(
        20.0 * 0.9 ** 0.3)
    codes = np.array([[0, 1, 2, 3, NO_CLASS]], dtype=np.uint8)
    assert list(CLUTTER_CLASSES) == ["open", "water", "forest", "settlement"]
    np.testing.assert_allclose(clutter_loss_grid(codes, 900.0)[0],
                               [0, 0, 12 * 0.9 ** 0.3, 8 * 0.9 ** 0.3, 0], rtol=1e-6)


X0, Y0, RES, N = 500_000.0, 2_400_000.0, 30.0, 121


def _toy() -> tuple[ProvinceBundle, Dem]:
    site = (X0 + 60.5 * RES, Y0 + N * RES - 60.5 * RES)
    bts = gpd.GeoDataFrame({"bts_id": ["B"], "tower_id": ["T"], "operator": ["viettel"],
                            "tech": ["4G"], "band_mhz": [1800.0], "antenna_height_m": [30.0]},
                           geometry=[Point(*site)], crs=UTM48)
    villages = gpd.GeoDataFrame(
        {"village_id": ["V"], "name": ["Bản"], "commune_code": ["C"], "population": [5],
         "households": [1], "has_grid_power": [True], "border_area": [False],
         "extremely_difficult": [False]}, geometry=[Point(*site).buffer(50)], crs=UTM48)
    admin = gpd.GeoDataFrame({"code": ["P"], "name": ["Tỉnh"], "level": ["province"],
                              "parent_code": [None]},
                             geometry=[box(X0, Y0, X0 + N * RES, Y0 + N * RES)], crs=UTM48)
    bundle = ProvinceBundle(layers={"bts": to_wgs84(bts), "villages": to_wgs84(villages),
                                    "admin_units": to_wgs84(admin)},
                            meta={"metric_epsg": "32648", "province": "Thử"})
    dem = Dem(np.full((N, N), 300.0, np.float32),
              affine.Affine(RES, 0, X0, 0, -RES, Y0 + N * RES), UTM48)
    return bundle, dem


def test_worldcover_raster_takes_each_class_loss_off_the_field(tmp_path):
    bundle, dem = _toy()
    codes = np.full((N, N), 30, np.uint8)  # grassland → open
    codes[:60, :60] = 10  # tree cover → forest (north-west)
    codes[:60, 61:] = 50  # built-up → settlement (north-east)
    codes[61:, :60] = 80  # water (south-west)
    path = tmp_path / "worldcover.tif"
    with rasterio.open(path, "w", driver="GTiff", width=N, height=N, count=1, dtype="uint8",
                       crs=UTM48.to_wkt(), transform=dem.transform) as dst:
        dst.write(codes, 1)
    settings = DEFAULT.replace(max_radius_km=1.5)
    plain = compute_coverage(bundle, dem=dem, settings=settings).best_dbm[("viettel", "4G")]
    clut = compute_coverage(bundle, dem=dem, settings=settings,
                            clutter=path).best_dbm[("viettel", "4G")]
    diff = plain - clut
    ok = np.isfinite(diff)
    forest = 12.0 * 1.8 ** 0.3
    settle = 8.0 * 1.8 ** 0.3
    np.testing.assert_allclose(diff[:60, :60][ok[:60, :60]], forest, atol=1e-3)
    np.testing.assert_allclose(diff[:60, 61:][ok[:60, 61:]], settle, atol=1e-3)
    np.testing.assert_allclose(diff[61:, :60][ok[61:, :60]], 0.0, atol=1e-4)
    np.testing.assert_allclose(diff[61:, 61:][ok[61:, 61:]], 0.0, atol=1e-4)
    assert ok[:60, :60].sum() > 1000


def _grid_over(lon0, lat0, lon1, lat1, res=90.0):
    t = Transformer.from_crs(4326, UTM48, always_xy=True)
    x0, y0 = t.transform(lon0, lat0)
    x1, y1 = t.transform(lon1, lat1)
    shape = (int((y1 - y0) // res), int((x1 - x0) // res))
    return affine.Affine(res, 0, x0, 0, -res, y1), shape


@pytest.mark.skipif(not OSM.exists(), reason="real OSM extract not available")
def test_real_osm_landuse_polygons_give_forest_and_settlement():
    # Hoàng Liên range (Lào Cai): the extract's largest forest polygon, 35 km²
    transform, shape = _grid_over(103.72, 22.76, 103.82, 22.85)
    codes = clutter_classes(OSM, transform=transform, shape=shape, crs=UTM48)
    src = gpd.read_file(OSM, bbox=(103.72, 22.76, 103.82, 22.85))
    big = src[src["fclass"] == "forest"].to_crs(UTM48)
    big = big.loc[big.area.idxmax()]
    assert big.geometry.area / 1e6 > 30
    pt = big.geometry.representative_point()
    col, row = ~transform * (pt.x, pt.y)
    assert codes[int(row), int(col)] == CLUTTER_CLASSES.index("forest")
    # every forest-class polygon of the source (forest, wood, nature reserve, orchard), less
    # what settlement polygons paint over, inside the grid: the forest cells' area
    allp = src.to_crs(UTM48)
    frame = box(*(transform * (0, shape[0])), *(transform * (shape[1], 0)))
    woods = allp[allp["fclass"].isin(["forest", "wood", "nature_reserve", "orchard"])]
    towns = allp[allp["fclass"].isin(["residential", "commercial", "industrial", "retail",
                                      "military", "cemetery"])]
    expected = woods.union_all().difference(towns.union_all()).intersection(frame).area / 1e6
    forest_km2 = (codes == CLUTTER_CLASSES.index("forest")).sum() * 0.09 ** 2
    assert forest_km2 == pytest.approx(expected, rel=0.03)
    # Móng Cái (Quảng Ninh): residential polygons → settlement
    transform, shape = _grid_over(107.94, 21.50, 108.00, 21.58)
    codes = clutter_classes(OSM, transform=transform, shape=shape, crs=UTM48)
    assert (codes == CLUTTER_CLASSES.index("settlement")).sum() * 0.09 ** 2 > 5.0
    # no class where the polygons say nothing
    assert (codes == NO_CLASS).mean() > 0.3


def test_no_clutter_by_default_and_an_empty_source_changes_nothing():
    bundle, dem = _toy()
    settings = DEFAULT.replace(max_radius_km=1.0)
    plain = compute_coverage(bundle, dem=dem, settings=settings).best_dbm[("viettel", "4G")]
    empty = gpd.GeoDataFrame({"fclass": pd.Series([], dtype=str)}, geometry=[], crs=4326)
    same = compute_coverage(bundle, dem=dem, settings=settings,
                            clutter=empty).best_dbm[("viettel", "4G")]
    np.testing.assert_array_equal(plain, same)
