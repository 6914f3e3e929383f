"""DEM import: SRTM .hgt tiles (3″ and 1″) and GeoTIFFs, mosaic, clip, fill, reproject."""

from __future__ import annotations

import zipfile
from pathlib import Path

import make_fixtures as mf  # tests/data/importers (pytest pythonpath)
import numpy as np
import pytest
import rasterio
from pyproj import Transformer

from phusong.gis.dem_tiles import find_dem_sources, import_dem, srtm_tile_names
from phusong.gis.errors import CRSMismatchError, DEMError, InputError, OutputExistsError

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "importers"



AREA = mf.PROVINCE_BOUNDS  # straddles the 103 °E seam between N22E102 and N22E103


@pytest.fixture(scope="module")
def hgt_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hgt")
    mf.write_hgt(d, 22, 102)
    mf.write_hgt(d, 22, 103, void_block=True)
    return d


def _sample(path: Path, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    with rasterio.open(path) as ds:
        t = Transformer.from_crs("EPSG:4326", ds.crs, always_xy=True)
        x, y = t.transform(lon, lat)
        return np.array([v[0] for v in ds.sample(list(zip(x, y, strict=True)))])


def test_two_3arcsec_tiles_are_mosaicked_filled_and_reprojected(hgt_dir, tmp_path):
    out = tmp_path / "dem.tif"
    res = import_dem(hgt_dir, out, area_lonlat=AREA, halo_m=2000)
    assert res.crs.to_epsg() == 9205  # VN-2000 / TM-3 103-00, the zone of Lai Châu
    assert [p.name for p in res.sources] == ["N22E102.hgt", "N22E103.hgt"]
    assert 80 < res.res_m < 95  # 3″ ≈ 86 m east-west, 93 m north-south at 22 °N
    assert res.voids_filled == 8 * 8 and res.voids_left == 0 and res.area_covered == 1.0
    assert res.warnings == []
    with rasterio.open(out) as ds:
        z = ds.read(1)
        assert ds.crs.to_epsg() == 9205 and ds.dtypes[0] == "float32"
        # the output covers the area plus the halo
        west, south, east, north = ds.bounds
        t = Transformer.from_crs("EPSG:4326", ds.crs, always_xy=True)
        x0, y0 = t.transform(AREA[0], AREA[1])
        x1, y1 = t.transform(AREA[2], AREA[3])
        assert west <= x0 - 1900 and east >= x1 + 1900
        assert south <= y0 - 1900 and north >= y1 + 1900
    assert np.isfinite(z).mean() > 0.95
    # elevations are the tiles' terrain, across the seam and inside the filled void
    rng = np.random.default_rng(0)
    lon = rng.uniform(AREA[0] + 0.01, AREA[2] - 0.01, 50)
    lat = rng.uniform(AREA[1] + 0.01, AREA[3] - 0.01, 50)
    expected = mf._terrain(lon, lat)
    got = _sample(out, lon, lat)
    assert np.abs(got - expected).max() < 60
    void_lon, void_lat = np.array([103.1017]), np.array([22.3483])  # inside the void block
    assert abs(_sample(out, void_lon, void_lat)[0] - mf._terrain(void_lon, void_lat)[0]) < 100


def test_1arcsec_tile_gives_30m_cells(tmp_path):
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    mf.write_hgt(tiles, 22, 103, arcsec=1)
    res = import_dem(tiles / "N22E103.hgt", tmp_path / "dem.tif",
                     area_lonlat=(103.05, 22.30, 103.10, 22.34), halo_m=500)
    assert 28 < res.res_m < 32
    assert res.voids_left == 0


def test_missing_tile_is_reported(hgt_dir, tmp_path):
    res = import_dem(hgt_dir / "N22E103.hgt", tmp_path / "dem.tif", area_lonlat=AREA)
    assert 0.5 < res.area_covered < 1.0
    assert any("N22E102" in w for w in res.warnings)
    assert res.voids_left > 0


def test_zipped_tile_is_read_in_place(hgt_dir, tmp_path):
    z = tmp_path / "N22E103.hgt.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(hgt_dir / "N22E103.hgt", "N22E103.hgt")
    res = import_dem(z, tmp_path / "dem.tif", area_lonlat=(103.05, 22.30, 103.2, 22.4))
    assert res.area_covered == 1.0


def test_geotiff_voids_are_filled(tmp_path):
    res = import_dem(FIXTURES / "dem_voids.tif", tmp_path / "dem.tif", area_lonlat=AREA,
                     dst_crs=9205)
    assert res.voids_filled == 6 * 7 + 1  # the 6×7 block and the single cell
    assert res.voids_left == 0
    assert 250 < res.res_m < 265


def test_voids_farther_than_the_search_distance_stay_void(tmp_path):
    res = import_dem(FIXTURES / "dem_voids.tif", tmp_path / "dem.tif", area_lonlat=AREA,
                     max_fill_px=1)
    assert res.voids_left > 0
    assert any("stay void" in w for w in res.warnings)


def test_res_override_and_explicit_crs(tmp_path):
    res = import_dem(FIXTURES / "dem_voids.tif", tmp_path / "dem.tif", area_lonlat=AREA,
                     dst_crs="EPSG:9208", res_m=500)
    assert res.res_m == 500 and res.crs.to_epsg() == 9208
    with rasterio.open(tmp_path / "dem.tif") as ds:
        assert ds.res == (500.0, 500.0)


def test_truncated_hgt_is_refused(tmp_path):
    p = tmp_path / "N22E103.hgt"
    p.write_bytes(b"\x00\x01" * 1000)
    with pytest.raises(DEMError, match="not an SRTM tile"):
        import_dem(p, tmp_path / "dem.tif", area_lonlat=AREA)


def test_badly_named_hgt_is_refused(tmp_path, hgt_dir):
    p = tmp_path / "tile.hgt"
    p.write_bytes((hgt_dir / "N22E103.hgt").read_bytes())
    with pytest.raises(DEMError, match=r"named like N22E103\.hgt"):
        import_dem(p, tmp_path / "dem.tif", area_lonlat=AREA)


def test_not_a_raster(tmp_path):
    with pytest.raises(DEMError, match="cannot be read as a raster"):
        import_dem(FIXTURES / "dem_not_a_raster.tif", tmp_path / "dem.tif", area_lonlat=AREA)


def test_raster_without_crs(tmp_path):
    with pytest.raises(CRSMismatchError, match="no CRS"):
        import_dem(FIXTURES / "dem_no_crs.tif", tmp_path / "dem.tif", area_lonlat=AREA)


def test_tiles_that_miss_the_area(hgt_dir, tmp_path):
    with pytest.raises(DEMError, match=r"misses the area.*N21E105"):
        import_dem(hgt_dir, tmp_path / "dem.tif", area_lonlat=(105.2, 21.2, 105.4, 21.4))


def test_refuses_to_overwrite(tmp_path):
    out = tmp_path / "dem.tif"
    out.write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        import_dem(FIXTURES / "dem_voids.tif", out, area_lonlat=AREA)
    assert out.read_bytes() == b"old"


def test_sources_and_tile_names(tmp_path, hgt_dir):
    assert [p.name for p in find_dem_sources([hgt_dir])] == ["N22E102.hgt", "N22E103.hgt"]
    with pytest.raises(InputError, match="no DEM files"):
        find_dem_sources(tmp_path)
    with pytest.raises(InputError, match="no such DEM"):
        find_dem_sources(tmp_path / "missing.tif")
    assert srtm_tile_names((102.5, 21.5, 104.2, 22.4)) == [
        "N21E102", "N21E103", "N21E104", "N22E102", "N22E103", "N22E104"]


def _to_tm3(src: Path, dst: Path) -> Path:
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    with rasterio.open(src) as ds:
        transform, w, h = calculate_default_transform(ds.crs, "EPSG:9205", ds.width,
                                                      ds.height, *ds.bounds, resolution=90)
        profile = {**ds.profile, "crs": "EPSG:9205", "transform": transform, "width": w,
                   "height": h}
        with rasterio.open(dst, "w", **profile) as out:
            reproject(rasterio.band(ds, 1), rasterio.band(out, 1),
                      resampling=Resampling.nearest)
    return dst


def test_vn2000_geotiff_mixed_with_srtm_tiles(hgt_dir, tmp_path):
    """A national DEM in VN-2000 TM-3 and SRTM tiles in WGS84 are mosaicked together."""
    tm3 = _to_tm3(FIXTURES / "dem_voids.tif", tmp_path / "dem_vn2000.tif")
    alone = import_dem(tm3, tmp_path / "a.tif", area_lonlat=AREA)
    assert alone.crs.to_epsg() == 9205 and alone.voids_left == 0
    mixed = import_dem([hgt_dir / "N22E103.hgt", tm3], tmp_path / "b.tif",
                       area_lonlat=AREA)
    assert mixed.area_covered == 1.0  # the TM-3 raster covers the tile's missing west
    lon, lat = np.array([103.0, 103.2]), np.array([22.3, 22.4])
    got = _sample(tmp_path / "b.tif", lon, lat)
    assert np.abs(got - mf._terrain(lon, lat)).max() < 60
