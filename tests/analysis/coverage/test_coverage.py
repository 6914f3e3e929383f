"""Coverage models on a toy valley, the site × village matrix, the CLI, the mini sample."""

from __future__ import annotations

import affine
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from shapely.geometry import Point, box

from phusong.analysis.coverage.engine import compute_coverage, site_village_matrix
from phusong.analysis.coverage.run import compare_models, run_coverage
from phusong.analysis.coverage.status import village_status
from phusong.gis.crs import to_wgs84
from phusong.gis.dem import Dem, write_raster
from phusong.gis.errors import DEMError, InputError
from phusong.layers.bundle import ProvinceBundle, write_bundle
from phusong.layers.settings import DEFAULT

CRS = "EPSG:9205"
X0, Y0, RES = 480_000.0, 2_480_000.0, 30.0
ROWS, COLS = 120, 260
SETTINGS = DEFAULT.replace(as_of="2022-12-31")


def _xy(col: float, row: float) -> tuple[float, float]:
    return X0 + (col + 0.5) * RES, Y0 + ROWS * RES - (row + 0.5) * RES


def _valley_dem() -> Dem:
    """Valley floor at 300 m; a 500 m ridge along column 150 (2.7 km east of the site)."""
    cols = np.arange(COLS)
    z = 300.0 + 500.0 * np.exp(-(((cols - 150) / 5.0) ** 2))
    return Dem(np.tile(z, (ROWS, 1)).astype(np.float32),
               affine.Affine(RES, 0, X0, 0, -RES, Y0 + ROWS * RES), CRS)


def _bundle(*, point_village: bool = False) -> ProvinceBundle:
    site = _xy(60, 60)
    bts = gpd.GeoDataFrame(
        {"bts_id": ["B1"], "tower_id": ["T1"], "operator": ["viettel"], "tech": ["4G"],
         "band_mhz": [1800.0], "antenna_height_m": [30.0], "eirp_dbm": [58.0],
         "azimuths": [None]}, geometry=[Point(*site)], crs=CRS)
    centres = {"W": _xy(90, 60), "E": _xy(180, 60)}  # 0.9 km; 3.6 km behind the ridge
    geoms = [Point(*c).buffer(150) for c in centres.values()]
    if point_village:
        geoms[0] = Point(*centres["W"])
    villages = gpd.GeoDataFrame(
        {"village_id": list(centres), "name": ["Bản Tây", "Bản Đông"],
         "commune_code": ["C1", "C2"], "population": [120, 300], "households": [30, 70],
         "has_grid_power": [True, True], "border_area": [False, True],
         "extremely_difficult": [False, True]}, geometry=geoms, crs=CRS)
    outline = box(X0, Y0, X0 + COLS * RES, Y0 + ROWS * RES)
    admin = gpd.GeoDataFrame(
        {"code": ["P", "D", "C1", "C2"], "name": ["Tỉnh Thử", "Huyện Thử", "Xã Một", "Xã Hai"],
         "level": ["province", "district", "commune", "commune"],
         "parent_code": [None, "P", "D", "D"]}, geometry=[outline] * 4, crs=CRS)
    return ProvinceBundle(layers={"bts": to_wgs84(bts), "villages": to_wgs84(villages),
                                  "admin_units": to_wgs84(admin)},
                          meta={"metric_epsg": "9205", "sample": "true", "province": "Thử"})


@pytest.fixture(scope="module")
def toy() -> tuple[ProvinceBundle, Dem]:
    return _bundle(), _valley_dem()


def test_terrain_finds_the_dead_spot_the_radius_model_misses(toy):
    bundle, dem = toy
    terrain = compute_coverage(bundle, dem=dem, settings=SETTINGS)
    radius = compute_coverage(bundle, dem=dem, model="radius", settings=SETTINGS)
    assert terrain.model == "terrain" and radius.model == "radius"
    assert terrain.grid.shape == radius.grid.shape == dem.shape
    arr = terrain.best_dbm[("viettel", "4G")]
    assert arr.dtype == np.float32
    assert np.isfinite(arr).all()  # the whole toy grid lies within 15 km
    st_t = village_status(bundle, terrain, settings=SETTINGS)
    st_r = village_status(bundle, radius, settings=SETTINGS)
    assert st_r.loc["E", "status_viettel"] == "phu"
    assert st_t.loc["E", "status_viettel"] == "trang"
    assert st_t.loc["W", "status_viettel"] == "phu"
    per, summary = compare_models(bundle, st_t, st_r)
    assert bool(per.loc["E", "dead_spot_viettel"])
    assert not bool(per.loc["W", "dead_spot_viettel"])
    assert summary.loc["viettel", "dead_spots_missed_by_radius"] == 1
    # the valley behind the ridge is dark, the near side bright
    assert terrain.covered("viettel", "4G")[60, 70:140].all()
    assert not terrain.covered("viettel", "4G")[60, 170:195].any()
    assert radius.covered("viettel", "4G")[60, 170:190].all()  # 4 km disc


def test_model_selection_and_errors(toy):
    bundle, dem = toy
    no_dem = compute_coverage(bundle, settings=SETTINGS)
    assert no_dem.model == "radius"
    assert no_dem.grid.res_xy == (30.0, 30.0)
    with pytest.raises(DEMError, match="needs a DEM"):
        compute_coverage(bundle, model="terrain", settings=SETTINGS)
    with pytest.raises(InputError, match="model='bogus'"):
        compute_coverage(bundle, dem=dem, model="bogus")
    only = compute_coverage(bundle, dem=dem, operators=["mobifone"])
    assert only.best_dbm == {}
    assert not only.covered("mobifone", "4G").any()


def test_more_eirp_never_covers_less(toy):
    bundle, dem = toy
    base = compute_coverage(bundle, dem=dem, settings=SETTINGS)
    b2 = _bundle()
    bts = b2.layers["bts"].copy()
    bts["eirp_dbm"] = 70.0
    bts["antenna_height_m"] = 60.0
    b2.layers["bts"] = bts
    more = compute_coverage(b2, dem=dem, settings=SETTINGS)
    a, b = base.covered("viettel", "4G"), more.covered("viettel", "4G")
    assert not (a & ~b).any()
    assert b.sum() > a.sum()


def test_write_rasters_labels_sample(toy, tmp_path):
    bundle, dem = toy
    cov = compute_coverage(bundle, dem=dem, settings=SETTINGS)
    paths = cov.write_rasters(tmp_path)
    assert [p.name for p in paths] == ["coverage_viettel_4G.tif"]
    with rasterio.open(paths[0]) as src:
        assert src.dtypes == ("float32",)
        assert np.isnan(src.nodata)
        assert src.tags()["sample"] == "true"
        assert src.tags()["model"] == "terrain"
        assert src.crs.to_epsg() == 9205


def test_site_village_matrix_terrain_and_radius(toy):
    bundle, dem = toy
    sites = bundle.layers["bts"]
    villages = bundle.layers["villages"]
    m_t = site_village_matrix(sites, villages, dem=dem, settings=SETTINGS)
    m_r = site_village_matrix(sites, villages, settings=SETTINGS, crs=CRS)
    assert m_t.shape == m_r.shape == (1, 2)
    assert m_t.dtype == np.int8
    assert m_t.toarray().tolist() == [[2, 0]]
    assert m_r.toarray().tolist() == [[2, 2]]
    # a hypothetical 60 m mast on the ridge top sees both villages
    ridge = gpd.GeoDataFrame({"tech": ["4G"], "band_mhz": [1800.0], "antenna_height_m": [60.0],
                              "eirp_dbm": [60.0]}, geometry=[Point(*_xy(150, 60))], crs=CRS)
    both = site_village_matrix(pd.concat([sites.to_crs(CRS), ridge]), villages, dem=dem,
                               settings=SETTINGS)
    assert both.toarray().tolist() == [[2, 0], [2, 2]]
    assert site_village_matrix(sites.iloc[:0], villages, dem=dem).shape == (0, 2)


def test_point_village_uses_settlement_buffer(toy):
    _, dem = toy
    bundle = _bundle(point_village=True)
    cov = compute_coverage(bundle, dem=dem, settings=SETTINGS)
    st = village_status(bundle, cov, settings=SETTINGS)
    assert st.loc["W", "status_viettel"] == "phu"
    assert st.loc["W", "share_viettel"] == pytest.approx(1.0)


def test_run_coverage_and_cli(toy, tmp_path):
    bundle, dem = toy
    folder = tmp_path / "bundle"
    write_bundle(bundle, folder)
    write_raster(folder / "dem.tif", dem.elevation_m, dem.transform, dem.crs)
    run = run_coverage(bundle, out=tmp_path / "lib", dem=dem, settings=SETTINGS, compare=True)
    assert run.lines[0] == "1/2 thôn bản có sóng"
    assert "Tỷ lệ phủ sóng Viettel: 50%" in run.lines
    assert (tmp_path / "lib" / "model_comparison.csv").exists()
    assert (tmp_path / "lib" / "model_comparison_viettel.png").stat().st_size > 10_000
    from phusong.analysis.cli import phusong

    out = tmp_path / "cli"
    res = CliRunner().invoke(phusong, ["coverage", str(folder), "--out", str(out),
                                       "--as-of", "2022-12-31", "--compare", "-q"])
    assert res.exit_code == 0, res.output
    assert "1/2 thôn bản có sóng" in res.output
    assert "SAMPLE DATA" in res.output
    assert (out / "coverage_viettel_4G.tif").exists()
    table = pd.read_csv(out / "village_status.csv", encoding="utf-8-sig")
    assert list(table["village_id"]) == ["W", "E"]
    again = CliRunner().invoke(phusong, ["coverage", str(folder), "--out", str(out), "-q"])
    assert again.exit_code == 1
    assert "overwrite" in again.output
    en = CliRunner().invoke(phusong, ["coverage", str(folder), "--out", str(out), "--model",
                                      "radius", "--lang", "en", "--overwrite", "-q"])
    assert en.exit_code == 0, en.output
    assert "2/2 villages with signal" in en.output


def test_mini_sample_province(tiny_bundle):
    cov = compute_coverage(tiny_bundle, settings=SETTINGS)
    assert cov.model == "terrain"
    assert cov.sample
    ops = {op for op, _ in cov.best_dbm}
    assert ops <= {"viettel", "vinaphone", "mobifone", "vietnamobile"}
    st = village_status(tiny_bundle, cov, settings=SETTINGS)
    assert list(st.index) == list(tiny_bundle.layers["villages"]["village_id"])
    assert set(st["status_any"]) <= {"phu", "lom", "trang"}
    radius = compute_coverage(tiny_bundle, model="radius", settings=SETTINGS)
    st_r = village_status(tiny_bundle, radius, settings=SETTINGS)
    assert (st_r["status_any"] != "trang").sum() >= 1
    m = site_village_matrix(tiny_bundle.layers["bts"], tiny_bundle.layers["villages"],
                            dem=tiny_bundle.dem_path, settings=SETTINGS,
                            crs=tiny_bundle.metric_crs)
    assert m.shape == (len(tiny_bundle.layers["bts"]), len(st))
    # each village the matrix covers is covered in the full raster model as well (same
    # physics), allowing for the coarser sampling of the settled area
    any_site = np.asarray((m > 0).sum(axis=0)).ravel() > 0
    raster_any = (st[[c for c in st.columns if c.startswith("status_") and
                      c.count("_") == 2 and not c.startswith("status_any")]] != "trang").any(
        axis=1).to_numpy()
    assert (any_site & ~raster_any).sum() <= max(1, len(st) // 10)
