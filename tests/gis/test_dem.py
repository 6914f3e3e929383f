"""DEM reading (reprojection, cropping, errors), sampling, writing and hillshade."""

from __future__ import annotations

import affine
import numpy as np
import pytest
import rasterio

from phusong.gis.dem import Dem, fill_voids, hillshade, read_dem, write_raster
from phusong.gis.errors import DEMError, OutputExistsError

X0, Y0 = 480_000.0, 2_490_000.0  # VN-2000 / TM-3 103-00 metres, inside Lai Châu


def _ramp_dem(rows: int = 50, cols: int = 60, res: float = 30.0) -> Dem:
    """z = 100 + 0.5·x_local + 0.25·y_local (exactly bilinear)."""
    t = affine.Affine(res, 0, X0, 0, -res, Y0 + rows * res)
    jj, ii = np.meshgrid(np.arange(cols), np.arange(rows))
    x = (jj + 0.5) * res
    y = (rows - ii - 0.5) * res
    return Dem((100 + 0.5 * x + 0.25 * y).astype(np.float32), t, "EPSG:9205")


def test_write_then_read_round_trip(tmp_path):
    dem = _ramp_dem(300, 280)
    dem.elevation_m[5, 7] = np.nan
    path = write_raster(tmp_path / "dem.tif", dem.elevation_m, dem.transform, dem.crs,
                        tags={"sample": "true"})
    with rasterio.open(path) as src:
        assert src.dtypes == ("float32",)
        assert src.compression.value.lower() == "deflate"
        assert src.profile["tiled"]
        assert src.tags()["sample"] == "true"
    # the ramp climbs to 6 540 m, above any ground of Vietnam: allow Everest's height, else
    # the values would be read as feet (see test_elevation_rule_*)
    back = read_dem(path, max_fill_px=None, max_elevation_m=8900)  # voids kept as they are
    assert back.crs.to_epsg() == 9205
    assert back.res_m == pytest.approx(30.0)
    assert back.transform == dem.transform
    assert np.isnan(back.elevation_m[5, 7])
    np.testing.assert_allclose(back.elevation_m, dem.elevation_m, equal_nan=True)
    filled = read_dem(path, max_elevation_m=8900)  # by default small voids are filled
    ring = dem.elevation_m[4:7, 6:9]
    assert np.nanmin(ring) <= filled.elevation_m[5, 7] <= np.nanmax(ring)
    assert filled.check.filled == 1


def test_write_refuses_to_overwrite(tmp_path):
    dem = _ramp_dem()
    p = write_raster(tmp_path / "a.tif", dem.elevation_m, dem.transform, dem.crs)
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_raster(p, dem.elevation_m, dem.transform, dem.crs)
    write_raster(p, dem.elevation_m * 2, dem.transform, dem.crs, overwrite=True)
    assert read_dem(p).elevation_m[0, 0] == pytest.approx(2 * dem.elevation_m[0, 0])


def test_read_errors_are_one_line_dem_errors(tmp_path):
    with pytest.raises(DEMError, match="not found"):
        read_dem(tmp_path / "missing.tif")
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    with pytest.raises(DEMError, match="empty"):
        read_dem(empty)
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"this is not a raster at all" * 10)
    with pytest.raises(DEMError, match="cannot be read"):
        read_dem(junk)
    dem = _ramp_dem()
    p = write_raster(tmp_path / "d.tif", dem.elevation_m, dem.transform, dem.crs)
    far = (X0 + 10_000, Y0, X0 + 20_000, Y0 + 1_000)
    with pytest.raises(DEMError, match="do not cover"):
        read_dem(p, bounds=far)


def test_read_crops_to_bounds(tmp_path):
    dem = _ramp_dem()
    p = write_raster(tmp_path / "d.tif", dem.elevation_m, dem.transform, dem.crs)
    sub = read_dem(p, bounds=(X0 + 300, Y0 + 300, X0 + 900, Y0 + 600))
    assert sub.shape == (10, 20)
    assert sub.sample([X0 + 615], [Y0 + 465])[0] == pytest.approx(
        dem.sample([X0 + 615], [Y0 + 465])[0], abs=1e-3)


def test_read_reprojects_geographic_dem(tmp_path):
    # a 0.05° tile in WGS84 with z = 1000 + 2000·(lon − 103.2)
    n = 60
    lon0, lat0, step = 103.2, 22.45, 0.05 / n
    t = affine.Affine(step, 0, lon0, 0, -step, lat0 + 0.05)
    lon = lon0 + (np.arange(n) + 0.5) * step
    z = np.tile(1000 + 2000 * (lon - lon0), (n, 1)).astype(np.float32)
    p = write_raster(tmp_path / "geo.tif", z, t, "EPSG:4326")
    dem = read_dem(p, crs="EPSG:9205")
    assert dem.crs.to_epsg() == 9205
    assert 80.0 < dem.res_m < 100.0  # 0.05°/60 ≈ 86–92 m at this latitude
    from phusong.gis.crs import transformer

    x, y = transformer("EPSG:4326", "EPSG:9205").transform(103.225, 22.475)
    assert dem.sample([x], [y])[0] == pytest.approx(1000 + 2000 * 0.025, abs=2.0)


def test_sample_is_bilinear_and_nan_outside():
    dem = _ramp_dem()
    x = np.array([X0 + 100.0, X0 + 777.7])
    y = np.array([Y0 + 200.0, Y0 + 333.3])
    expected = 100 + 0.5 * (x - X0) + 0.25 * (y - Y0)
    np.testing.assert_allclose(dem.sample(x, y), expected, rtol=1e-5)
    assert np.isnan(dem.sample([X0 - 500], [Y0])[0])
    d, z = dem.profile(X0 + 100, Y0 + 100, X0 + 1000, Y0 + 100)
    assert d[-1] == pytest.approx(900.0)
    assert len(d) == 31
    np.testing.assert_allclose(np.diff(z), 0.5 * np.diff(d), rtol=1e-4)
    r, c = dem.xy_to_rowcol([X0 + 45.0], [Y0 + 50 * 30 - 15.0])
    assert (r[0], c[0]) == (0, 1)


def test_fill_voids_and_hillshade():
    z = np.array([[1, 2, np.nan], [4, np.nan, 6]], dtype=np.float32)
    filled = fill_voids(z)
    assert np.isfinite(filled).all()
    assert filled[0, 2] in (2, 6)
    with pytest.raises(DEMError, match="no valid cell"):
        fill_voids(np.full((2, 2), np.nan))
    flat = Dem(np.zeros((20, 20), np.float32), affine.Affine(30, 0, X0, 0, -30, Y0),
               "EPSG:9205")
    hs = hillshade(flat)
    assert hs.dtype == np.uint8
    assert (hs == hs[0, 0]).all()
    assert int(hs[0, 0]) == int(255 * np.cos(np.radians(45)))
    # a slope facing north-west (the light) is brighter than one facing south-east
    jj, ii = np.meshgrid(np.arange(20), np.arange(20))
    nw = Dem((10.0 * (jj + ii)).astype(np.float32), flat.transform, flat.crs)  # up to SE
    se = Dem((10.0 * (40 - jj - ii)).astype(np.float32), flat.transform, flat.crs)
    assert hillshade(nw)[10, 10] > hillshade(se)[10, 10]


def test_elevation_rule_feet_markers_and_refusals():
    """clean_elevation against hand-made values: feet × 0.3048, markers → voids, refusals."""
    from phusong.gis.dem import FEET, clean_elevation
    from phusong.gis.errors import DEMError

    z = np.array([[1000.0, 2000.0], [-32768.0, 3000.0]], dtype=np.float32)  # metres
    out, check = clean_elevation(z, max_fill_px=None)
    assert check.units == "m" and check.marker_voids == 1 and np.isnan(out[1, 0])
    feet = np.array([[3280.84, 6561.68], [9842.52, 500.0]], dtype=np.float32)  # undeclared
    out, check = clean_elevation(feet, max_fill_px=None)
    assert (check.units, check.how) == ("ft", "range")
    np.testing.assert_allclose(out, feet * FEET, rtol=1e-6)
    assert out[0, 0] == pytest.approx(1000.0, abs=0.01)
    low_feet = np.array([[100.0, 2000.0]], dtype=np.float32)  # fits metres: declared only
    assert clean_elevation(low_feet, max_fill_px=None)[1].units == "m"
    out, check = clean_elevation(low_feet, declared_units="ft", max_fill_px=None)
    assert check.how == "declared" and out[0, 1] == pytest.approx(609.6)
    with pytest.raises(DEMError, match="neither metres nor feet"):
        clean_elevation(np.array([[50_000.0]], dtype=np.float32))
    with pytest.raises(DEMError, match="though the file says metres"):
        clean_elevation(np.array([[4_000.0]], dtype=np.float32), declared_units="metre")
    with pytest.raises(DEMError, match="no valid elevation"):
        clean_elevation(np.full((2, 2), -9999.0, dtype=np.float32))
