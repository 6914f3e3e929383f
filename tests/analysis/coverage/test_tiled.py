"""Tiled coverage on dask.distributed equals the single run (analysis.distributed)."""

from __future__ import annotations

import affine
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS, Transformer
from shapely.geometry import Point, box

from phusong.analysis.coverage.engine import compute_coverage
from phusong.analysis.coverage.status import village_status
from phusong.analysis.coverage.tiled import (
    coverage_tiled,
    open_client,
    plan_province,
    run_provinces,
)
from phusong.gis.dem import write_raster
from phusong.gis.errors import DEMError, InputError, OutputExistsError
from phusong.layers.bundle import ProvinceBundle, read_bundle, write_bundle
from phusong.layers.settings import DEFAULT

METRIC = CRS.from_epsg(9205)
X0, Y0 = 480_000.0, 2_480_000.0
#: 3 km reach on a 12 km grid of 40 m cells, tiles of 3 km: a 4 × 4 tiling whose halo
#: (3 km + 2 cells) is as wide as a tile, so most fields cross several tile edges
SETTINGS = DEFAULT.replace(max_radius_km=3.0, as_of="2025-01-01")
TILE_KM = 3.0
TOL_DB = 1e-4


def _toy_bundle(folder, *, seed: int = 0, n: int = 300, res_m: float = 40.0,
                voids: bool = False, dem_crs: str | None = None) -> ProvinceBundle:
    """A small synthetic province: ridged DEM, 10 towers with 2G/4G of 1–3 operators,
    25 rectangular villages (some straddle tile edges by construction)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n]
    z = (800 + 300 * np.sin(xx / 25.0) * np.cos(yy / 31.0) + 200 * np.sin((xx + yy) / 17.0)
         + rng.normal(0, 5, (n, n))).astype(np.float32)
    if voids:
        z[100:104, 70:75] = np.nan  # a void near a tile edge (75 cells = 3 km)
        z[0:3, 200:230] = np.nan  # and one on the grid's edge
    t = affine.Affine(res_m, 0, X0, 0, -res_m, Y0 + n * res_m)
    folder.mkdir(parents=True, exist_ok=True)
    write_raster(folder / "dem.tif", z, t, METRIC, overwrite=True)
    if dem_crs is not None:  # the same DEM resampled into another CRS
        import rasterio
        from rasterio.warp import calculate_default_transform, reproject

        with rasterio.open(folder / "dem.tif") as src:
            tr, w, h = calculate_default_transform(src.crs, dem_crs, src.width, src.height,
                                                   *src.bounds)
            dst = np.full((h, w), np.nan, dtype=np.float32)
            reproject(rasterio.band(src, 1), dst, dst_transform=tr, dst_crs=dem_crs,
                      dst_nodata=np.nan)
        write_raster(folder / "dem.tif", dst, tr, dem_crs, overwrite=True)
    ext = n * res_m
    to_ll = Transformer.from_crs(METRIC, 4326, always_xy=True)
    tx = X0 + rng.uniform(0.05, 0.95, 10) * ext
    ty = Y0 + rng.uniform(0.05, 0.95, 10) * ext
    ops = ["viettel", "vinaphone", "mobifone"]
    rows = []
    for i, (x, y) in enumerate(zip(tx, ty, strict=True)):
        lon, lat = to_ll.transform(x, y)
        for op in ops[: 1 + i % 3]:
            for tech, band in (("2G", 900.0), ("4G", 1800.0)):
                rows.append({"bts_id": f"B{len(rows)}", "tower_id": f"T{i}", "operator": op,
                             "tech": tech, "band_mhz": band, "antenna_height_m": 30.0,
                             "eirp_dbm": 58.0, "geometry": Point(lon, lat)})
    bts = gpd.GeoDataFrame(rows, crs=4326)
    nv = 25
    vx = X0 + rng.uniform(0.03, 0.97, nv) * ext
    vy = Y0 + rng.uniform(0.03, 0.97, nv) * ext
    vx[:3] = X0 + np.array([3000.0, 6000.0, 9000.0])  # centred on tile edges
    polys = gpd.GeoSeries([box(x - 400, y - 300, x + 400, y + 300) for x, y in
                           zip(vx, vy, strict=True)], crs=METRIC).to_crs(4326)
    vil = gpd.GeoDataFrame({
        "village_id": [f"V{i:03d}" for i in range(nv)],
        "name": [f"Bản {i}" for i in range(nv)], "commune_code": "C1",
        "population": rng.integers(100, 900, nv), "households": rng.integers(20, 200, nv),
        "has_grid_power": True, "border_area": False, "extremely_difficult": False},
        geometry=polys.to_numpy(), crs=4326)
    b = ProvinceBundle(layers={"bts": bts, "villages": vil},
                       meta={"province": "Tỉnh Thử", "metric_epsg": "9205", "sample": "true"})
    write_bundle(b, folder, overwrite=True)
    return read_bundle(folder)


@pytest.fixture(scope="module")
def client():
    with open_client(n_workers=2, processes=False, memory_limit="2GiB") as c:
        yield c


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return _toy_bundle(tmp_path_factory.mktemp("toy") / "tinh-thu")


def _assert_same(ref, got, *, tol_db: float = TOL_DB) -> None:
    assert got.keys == ref.keys
    assert got.grid.shape == ref.grid.shape
    assert got.grid.transform == ref.grid.transform
    for key in ref.keys:
        a, b = ref.best_dbm[key], got.best_dbm[key]
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=str(key))
        ok = ~np.isnan(a)
        assert np.abs(a[ok] - b[ok]).max() <= tol_db, key
    assert got.site_counts == ref.site_counts


def test_tiled_equals_untiled(toy, client):
    ref = compute_coverage(toy, settings=SETTINGS)
    plan = plan_province(toy, tile_km=TILE_KM, settings=SETTINGS)
    assert len(plan.tiles) == 16 and plan.halo_cells == 77
    assert len(plan.tasks) >= 5  # the sites really are spread over several tiles
    got = coverage_tiled(toy, client=client, tile_km=TILE_KM, settings=SETTINGS)
    _assert_same(ref, got)
    s_ref = village_status(toy, ref, settings=SETTINGS)
    s_got = village_status(toy, got, settings=SETTINGS)
    pd.testing.assert_frame_equal(s_got, s_ref)
    assert set(s_ref["status_any"]) >= {"phu", "trang"}  # not a trivially uniform answer


def test_a_halo_narrower_than_the_reach_breaks_equality(toy, client, monkeypatch):
    """The equality test can fail: cut the halo to 1 km and tile edges show."""
    import phusong.analysis.coverage.tiled as dist

    ref = compute_coverage(toy, settings=SETTINGS)
    monkeypatch.setattr(dist, "reach_m", lambda model, *, settings=DEFAULT: 1000.0)
    got = coverage_tiled(toy, client=client, tile_km=TILE_KM, settings=SETTINGS)
    with pytest.raises(AssertionError):
        _assert_same(ref, got)


def test_tiled_equals_untiled_radius_model(toy, client):
    s = SETTINGS.replace(radius_km={"2G": 2.5, "4G": 1.5})
    ref = compute_coverage(toy, model="radius", settings=s)
    got = coverage_tiled(toy, client=client, tile_km=2.0, settings=s, model="radius")
    _assert_same(ref, got)


def test_dem_with_voids_in_another_crs_is_prepared_once(tmp_path, client):
    b = _toy_bundle(tmp_path / "lech", seed=1, n=200, voids=True, dem_crs="EPSG:32648")
    ref = compute_coverage(b, settings=SETTINGS)
    with pytest.raises(InputError, match="pass work_dir"):
        plan_province(b, tile_km=TILE_KM, settings=SETTINGS)
    plan = plan_province(b, tile_km=TILE_KM, settings=SETTINGS, work_dir=tmp_path / "work")
    assert plan.dem_path.parent == tmp_path / "work" and plan.void_mask is not None
    got = coverage_tiled(b, client=client, tile_km=TILE_KM, settings=SETTINGS,
                         work_dir=tmp_path / "work")
    _assert_same(ref, got)


def test_no_dem_is_refused_for_tiling(toy):
    b = ProvinceBundle(layers={"bts": toy["bts"]}, meta=dict(toy.meta))
    with pytest.raises(DEMError, match="no DEM in the bundle"):
        plan_province(b, settings=SETTINGS)


def test_run_provinces_merges_tables(toy, tmp_path, client):
    other = _toy_bundle(tmp_path / "tinh-hai", seed=2, n=150)
    out = tmp_path / "out"
    summary = run_provinces([toy.folder, other.folder], out=out, client=client,
                            tile_km=TILE_KM, settings=SETTINGS)
    assert summary.provinces["province"].tolist() == ["tinh-thu", "tinh-hai"]
    assert summary.provinces["villages"].tolist() == [25, 25]
    assert summary.provinces["dem_cells"].tolist() == [90_000, 22_500]
    assert len(summary.status) == 50
    assert summary.status["province"].iloc[0] == "tinh-thu"
    assert summary.tiles["peak_rss_mb"].gt(0).all()
    status_csv = pd.read_csv(out / "village_status_all.csv", encoding="utf-8-sig")
    assert len(status_csv) == 50 and status_csv.shape[1] == summary.status.shape[1] + 1
    assert status_csv.iloc[:, -1].str.contains("mẫu|sample", case=False).all()  # labelled
    assert (out / "ratios_all.csv").exists() and (out / "run_summary.csv").exists()
    assert (out / "tinh-hai" / "coverage" / "coverage_viettel_4G.tif").exists()
    single = village_status(other, compute_coverage(other, settings=SETTINGS),
                            settings=SETTINGS)
    mine = summary.status[summary.status["province"] == "tinh-hai"].set_index("village_id")
    pd.testing.assert_series_equal(mine["status_any"], single["status_any"])
    assert not any(p.name.startswith("_tiles_") for p in out.iterdir())
    with pytest.raises(OutputExistsError):
        run_provinces([other.folder], out=out, client=client, tile_km=TILE_KM,
                      settings=SETTINGS)


def test_cli_run_on_an_existing_scheduler(toy, tmp_path, client):
    from click.testing import CliRunner

    from phusong.analysis.cli import phusong

    address = client.scheduler.address
    res = CliRunner().invoke(phusong, ["run", str(toy.folder), "--scheduler", address,
                                       "--tile-km", "3", "--max-radius-km", "3",
                                       "--as-of", "2025-01-01", "--no-rasters", "-q",
                                       "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "tinh-thu" in res.output and "/25" in res.output
    assert (tmp_path / "o" / "tinh-thu" / "village_status.csv").exists()
    bad = CliRunner().invoke(phusong, ["run", "--out", str(tmp_path / "o2")])
    assert bad.exit_code == 1 and "nothing to run" in bad.output


def test_tiled_equals_untiled_on_the_tiny_sample(request, client):
    """The shared generated sample province, when tests/conftest.py provides it."""
    try:
        tiny = request.getfixturevalue("tiny_bundle")
    except pytest.FixtureLookupError:
        pytest.skip("tests/conftest.py provides no tiny_bundle fixture yet")
    s = SETTINGS.replace(max_radius_km=5.0)
    ref = compute_coverage(tiny, settings=s)
    plan = plan_province(tiny, tile_km=4.0, settings=s)
    assert len(plan.tasks) > 1
    got = coverage_tiled(tiny, client=client, tile_km=4.0, settings=s)
    _assert_same(ref, got)
    pd.testing.assert_frame_equal(village_status(tiny, got, settings=s),
                                  village_status(tiny, ref, settings=s))
