"""The toy province of the rollout tests (a 20 km square in VN-2000 TM-3 103°, synthetic hills,
a fibre route along a road) and its fixtures."""

from __future__ import annotations

import affine
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from phusong.analysis.rollout.plan import plan_rollout
from phusong.gis.dem import Dem
from phusong.layers.bundle import ProvinceBundle

METRIC = "EPSG:9205"
X0, Y0 = 480_000.0, 2_430_000.0
HILLS = [(6000, 14000, 1200, 2500), (14000, 6000, 900, 2000), (10000, 10000, 700, 1500),
         (3000, 4000, 500, 1200)]


def toy_dem(res_m: float = 100.0, n: int = 200) -> Dem:
    xs = X0 + (np.arange(n) + 0.5) * res_m
    ys = Y0 + n * res_m - (np.arange(n) + 0.5) * res_m
    gx, gy = np.meshgrid(xs, ys)
    z = np.full(gx.shape, 400.0)
    for cx, cy, h, s in HILLS:
        z += h * np.exp(-((gx - X0 - cx) ** 2 + (gy - Y0 - cy) ** 2) / (2 * s * s))
    tr = affine.Affine(res_m, 0, X0, 0, -res_m, Y0 + n * res_m)
    return Dem(elevation_m=z.astype(np.float32), transform=tr, crs=METRIC)


def toy_bundle(seed: int = 0, n_villages: int = 30):
    rng = np.random.default_rng(seed)
    vx = X0 + rng.uniform(1000, 19000, n_villages)
    vy = Y0 + rng.uniform(1000, 19000, n_villages)
    polys = gpd.GeoSeries([Point(x, y) for x, y in zip(vx, vy, strict=True)],
                          crs=METRIC).buffer(250)
    villages = gpd.GeoDataFrame({
        "village_id": [f"v{i:03d}" for i in range(n_villages)],
        "name": [f"Bản Nà {i}" for i in range(n_villages)],
        "commune_code": [f"c{i % 4}" for i in range(n_villages)],
        "population": rng.integers(80, 900, n_villages),
        "households": rng.integers(20, 200, n_villages),
        "has_grid_power": rng.random(n_villages) < 0.8,
        "border_area": rng.random(n_villages) < 0.4,
        "extremely_difficult": rng.random(n_villages) < 0.6,
    }, geometry=polys, crs=METRIC).to_crs("EPSG:4326")
    tx = X0 + np.array([2000.0, 10000.0, 18000.0, 9000.0])
    ty = Y0 + np.array([2000.0, 12000.0, 3000.0, 18500.0])
    towers = gpd.GeoDataFrame({
        "tower_id": ["t1", "t2", "t3", "t4"], "height_m": [30.0, 40.0, 45.0, 35.0],
        "owner": ["viettel", "vinaphone", "viettel", "mobifone"],
        "power_source": ["grid", "grid", "solar", "grid"]},
        geometry=[Point(x, y) for x, y in zip(tx, ty, strict=True)],
        crs=METRIC).to_crs("EPSG:4326")
    fibre = gpd.GeoDataFrame(
        {"route_id": ["f1"], "operator": ["viettel"], "kind": ["aerial"]},
        geometry=[LineString([(X0, Y0 + 2000), (X0 + 20000, Y0 + 2000)])],
        crs=METRIC).to_crs("EPSG:4326")
    roads = gpd.GeoDataFrame({"highway": ["primary", "track", "track"]}, geometry=[
        LineString([(X0, Y0 + 2100), (X0 + 20000, Y0 + 2100)]),
        LineString([(X0 + 10000, Y0 + 2100), (X0 + 10000, Y0 + 19000)]),
        LineString([(X0 + 1000, Y0 + 10000), (X0 + 19000, Y0 + 10000)])],
        crs=METRIC).to_crs("EPSG:4326")
    bundle = ProvinceBundle(layers={"villages": villages, "towers": towers,
                                    "fibre_routes": fibre, "roads": roads},
                            meta={"metric_epsg": "9205", "sample": "true",
                                  "province": "Tỉnh thử"})
    draw = rng.random(n_villages)
    any_ = np.where(draw < 0.7, "trang", np.where(draw < 0.85, "lom", "phu"))
    # the broadband target (default) reads the per-technology columns: same as any here
    status = pd.DataFrame(
        {"status_any": any_, "status_any_2G": any_, "status_any_3G": any_,
         "status_any_4G": any_, "status_any_5G": "trang"},
        index=pd.Index(villages["village_id"], name="village_id"))
    return bundle, status


@pytest.fixture(scope="module")
def toy():
    return toy_bundle()


@pytest.fixture(scope="module")
def dem():
    return toy_dem()


@pytest.fixture(scope="module")
def plan_radius(toy):
    bundle, status = toy
    return plan_rollout(bundle, status, budget_vnd=12e9, coverage_model="radius")

def candidates_at(points, site_type="new", tower_id=None, height=35.0):
    n = len(points)
    return gpd.GeoDataFrame({
        "candidate_id": [f"c{i}" for i in range(n)], "site_type": site_type,
        "tower_id": tower_id if tower_id is not None else [None] * n,
        "antenna_height_m": height,
        "x": [p[0] for p in points], "y": [p[1] for p in points]},
        geometry=[Point(p) for p in points], crs=METRIC)


@pytest.fixture(scope="session")
def rt():
    """This module (the toy province's constants and builders), for the tests of this folder."""
    import sys

    return sys.modules[__name__]
