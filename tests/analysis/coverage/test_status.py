"""Village status from hand-made coverage masks: trắng / lõm / phủ, shares, dates, internet."""

from __future__ import annotations

import affine
import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, box

from phusong.analysis.coverage.engine import CoverageGrid, CoverageResult
from phusong.analysis.coverage.status import status_from_share, village_status
from phusong.gis.crs import to_wgs84
from phusong.gis.dem import write_raster
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS
from phusong.layers.settings import DEFAULT, TECHNOLOGIES

CRS = "EPSG:9205"
X0, Y0, RES = 480_000.0, 2_480_000.0, 30.0
N = 100  # 3 km × 3 km grid
GRID = CoverageGrid(affine.Affine(RES, 0, X0, 0, -RES, Y0 + N * RES),
                    __import__("pyproj").CRS.from_user_input(CRS), (N, N))
BEFORE = DEFAULT.replace(as_of="2022-12-31")
AFTER_2G = DEFAULT.replace(as_of="2027-01-01")


def _cells(c0: int, c1: int, r0: int, r1: int):
    """Polygon covering columns c0..c1-1 and rows r0..r1-1 exactly."""
    return box(X0 + c0 * RES, Y0 + (N - r1) * RES, X0 + c1 * RES, Y0 + (N - r0) * RES)


def _bundle(folder=None) -> ProvinceBundle:
    villages = gpd.GeoDataFrame(
        {"village_id": ["A", "B", "C", "D"], "name": ["Bản A", "Bản B", "Bản C", "Bản D"],
         "commune_code": ["X1", "X1", "X2", "X2"], "population": [100, 200, 300, 400],
         "households": [20, 40, 60, 80], "has_grid_power": [True] * 4,
         "border_area": [False] * 4, "extremely_difficult": [False] * 4},
        geometry=[_cells(0, 10, 0, 10), _cells(20, 30, 0, 10), _cells(40, 50, 0, 10),
                  _cells(60, 70, 0, 10)], crs=CRS)
    fibre = gpd.GeoDataFrame({"route_id": ["F1"], "operator": ["viettel"],
                              "kind": ["aerial"]},
                             geometry=[LineString([(X0 + 65 * RES, Y0),
                                                   (X0 + 65 * RES, Y0 + N * RES)])],
                             crs=CRS)
    return ProvinceBundle(layers={"villages": to_wgs84(villages),
                                  "fibre_routes": to_wgs84(fibre)},
                          meta={"metric_epsg": "9205"}, folder=folder)


def _coverage() -> CoverageResult:
    """Viettel 4G covers A fully and B's centre plus 40 %; MobiFone only 2G over C."""
    v4 = np.full((N, N), np.nan, np.float32)
    v4[0:10, 0:10] = -80.0           # A: all
    v4[0:10, 24:30] = -90.0          # B: 60 % of its cells, centre (col 25) covered
    v4[0:10, 20:24] = -120.0         # B: rest below threshold
    m2 = np.full((N, N), np.nan, np.float32)
    m2[0:10, 40:50] = -70.0          # C: all, 2G only
    return CoverageResult(model="terrain", grid=GRID,
                          best_dbm={("viettel", "4G"): v4, ("mobifone", "2G"): m2},
                          thresholds_dbm=dict(DEFAULT.threshold_dbm))


def test_columns_are_the_contract():
    st = village_status(_bundle(), _coverage(), settings=BEFORE)
    assert list(st.index) == ["A", "B", "C", "D"]
    assert st.index.name == "village_id"
    for op in OPERATORS:
        for tech in TECHNOLOGIES:
            assert f"status_{op.value}_{tech}" in st
        for col in ("status", "share", "dbm", "has_4g"):
            assert f"{col}_{op.value}" in st
    for col in ("status_any", "share_any", "has_4g_any", "has_internet", "name",
                "commune_code", "population", "households"):
        assert col in st
    assert set(st.filter(like="status_").stack()) <= {"phu", "lom", "trang"}


def test_trang_lom_phu_by_hand():
    st = village_status(_bundle(), _coverage(), settings=BEFORE)
    assert st.loc["A", "status_viettel_4G"] == "phu"
    assert st.loc["B", "status_viettel_4G"] == "lom"  # centre covered, 60 % < 80 %
    assert st.loc["B", "share_viettel"] == pytest.approx(0.6)
    assert st.loc["C", "status_viettel"] == "trang"
    assert st.loc["D", "status_any"] == "trang"
    assert st.loc["A", "dbm_viettel"] == pytest.approx(-80.0)
    assert np.isnan(st.loc["D", "dbm_viettel"])
    assert st.loc["C", "status_mobifone"] == "phu"
    assert st.loc["C", "status_any"] == "phu"
    assert list(st["has_4g_viettel"]) == [True, True, False, False]
    assert not st["has_4g_mobifone"].any()
    lenient = village_status(_bundle(), _coverage(), settings=BEFORE.replace(share_min=0.5))
    assert lenient.loc["B", "status_viettel"] == "phu"


def test_2g_stops_counting_after_switch_off():
    after = village_status(_bundle(), _coverage(), settings=AFTER_2G)
    assert after.loc["C", "status_mobifone_2G"] == "phu"  # the network is still drawn
    assert after.loc["C", "status_mobifone"] == "trang"    # but no longer counts
    assert after.loc["C", "status_any"] == "trang"


def test_internet_from_mobile_data_or_fibre():
    st = village_status(_bundle(), _coverage(), settings=BEFORE)
    # A, B: 4G; C: 2G only (no data); the fibre along column 65 crosses D, 600 m from C
    assert bool(st.loc["A", "has_internet"]) and bool(st.loc["B", "has_internet"])
    assert bool(st.loc["D", "fibre_near"]) and bool(st.loc["D", "has_internet"])
    near = village_status(_bundle(), _coverage(), settings=BEFORE.replace(fibre_access_km=0.5))
    far = village_status(_bundle(), _coverage(), settings=BEFORE.replace(fibre_access_km=0.1))
    # C's centre (col 45) is 20 cells = 600 m from the fibre at col 65
    assert bool(village_status(_bundle(), _coverage(),
                               settings=BEFORE.replace(fibre_access_km=0.7)).loc["C",
                                                                                 "has_internet"])
    assert not bool(near.loc["C", "has_internet"])
    assert not bool(far.loc["C", "fibre_near"])


def test_population_raster_weights_the_share(tmp_path):
    pop = np.zeros((N, N), np.float32)
    pop[0:10, 24:30] = 1.0   # everyone in B lives in the covered part
    write_raster(tmp_path / "population.tif", pop, GRID.transform, CRS)
    st = village_status(_bundle(folder=tmp_path), _coverage(), settings=BEFORE)
    assert st.loc["B", "share_viettel"] == pytest.approx(1.0)
    assert st.loc["B", "share_area_viettel"] == pytest.approx(0.6)
    assert st.loc["B", "status_viettel"] == "phu"
    # villages without population in the raster fall back to the area share
    assert st.loc["A", "share_viettel"] == pytest.approx(1.0)


def test_status_from_share():
    got = status_from_share([False, True, True, True], [1.0, 0.79, 0.8, 1.0], share_min=0.8)
    assert list(got) == ["trang", "lom", "phu", "phu"]
