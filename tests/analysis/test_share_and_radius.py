"""Covered share of a village under one site, and a tower's effective radius, by hand."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from phusong.analysis.coverage.engine import CoverageGrid, CoverageResult, site_village_matrix
from phusong.analysis.tables.service_radius import site_radii
from phusong.gis.crs import to_wgs84
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import DEFAULT

CRS = "EPSG:9205"
X0, Y0 = 480_000.0, 2_480_000.0


def _site(x: float, y: float, tech: str = "2G") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"bts_id": ["S"], "tower_id": ["T"], "operator": ["viettel"],
                             "tech": [tech], "band_mhz": [900.0], "antenna_height_m": [30.0]},
                            geometry=[Point(x, y)], crs=CRS)


def test_covered_share_counts_every_area_point_of_the_village():
    """A 1200 m × 200 m village: its 7 area points lie on one row, 173.2 m apart.

    Spacing ``sqrt(A / 8)`` = sqrt(240 000 / 8) = 173.2 m, first point half a spacing in:
    x = 86.6, 259.8, …, 1125.8 m from the west edge, y = 86.6 m. The site stands 100 m west of
    the edge, radius 800 m: it reaches the points at 186.6, 359.8, 533.0 and 706.2 m, not the
    three beyond. Share 4/7 = 57 %: lõm (below 80 %), phủ when 50 % is enough.
    """
    vil_box = box(X0, Y0, X0 + 1200.0, Y0 + 200.0)
    centre = to_wgs84(gpd.GeoDataFrame(geometry=[Point(X0 + 300.0, Y0 + 86.6)], crs=CRS))
    villages = gpd.GeoDataFrame(
        {"village_id": ["V"], "centre_lon": [centre.geometry.x[0]],
         "centre_lat": [centre.geometry.y[0]]}, geometry=[vil_box], crs=CRS)
    site = _site(X0 - 100.0, Y0 + 86.6)
    spacing = math.sqrt(1200.0 * 200.0 / 8)
    xs = np.arange(spacing / 2, 1200.0, spacing)
    assert len(xs) == 7
    reached = int((xs + 100.0 <= 800.0).sum())
    assert reached == 4
    settings = DEFAULT.replace(radius_km={"2G": 0.8})
    m = site_village_matrix(site, villages, settings=settings, model="radius", crs=CRS)
    assert reached / len(xs) < settings.share_min
    assert m[0, 0] == 1  # lõm
    m2 = site_village_matrix(site, villages, settings=settings.replace(share_min=0.5),
                             model="radius", crs=CRS)
    assert m2[0, 0] == 2  # phủ
    # out of reach of the centre: trắng (no entry)
    far = _site(X0 + 2500.0, Y0 + 86.6)
    assert site_village_matrix(far, villages, settings=settings, model="radius",
                               crs=CRS).nnz == 0


def _radius_bundle() -> ProvinceBundle:
    """Province 10 km × 4 km; tower A (2G, 1 km) at (2, 2) km, tower C (4G, 3 km) at (6, 2)."""
    province = box(X0, Y0, X0 + 10_000.0, Y0 + 4_000.0)
    a, c = Point(X0 + 2000.0, Y0 + 2000.0), Point(X0 + 6000.0, Y0 + 2000.0)
    towers = gpd.GeoDataFrame({"tower_id": ["A", "C"], "height_m": [30.0, 30.0],
                               "owner": ["viettel", "viettel"],
                               "power_source": ["grid", "grid"]}, geometry=[a, c], crs=CRS)
    bts = gpd.GeoDataFrame({"bts_id": ["A2", "C4"], "tower_id": ["A", "C"],
                            "operator": ["viettel", "viettel"], "tech": ["2G", "4G"],
                            "band_mhz": [900.0, 1800.0], "antenna_height_m": [28.0, 28.0]},
                           geometry=[a, c], crs=CRS)
    admin = gpd.GeoDataFrame({"code": ["P"], "name": ["Tỉnh"], "level": ["province"],
                              "parent_code": [None]}, geometry=[province], crs=CRS)
    villages = gpd.GeoDataFrame(
        {"village_id": ["V"], "name": ["Bản"], "commune_code": ["P"], "population": [10],
         "households": [2], "has_grid_power": [True], "border_area": [False],
         "extremely_difficult": [False]}, geometry=[Point(X0 + 500, Y0 + 500)], crs=CRS)
    return ProvinceBundle(layers={"towers": to_wgs84(towers), "bts": to_wgs84(bts),
                                  "admin_units": to_wgs84(admin),
                                  "villages": to_wgs84(villages)},
                          meta={"metric_epsg": "9205", "province": "Thử"})


def test_effective_radius_counts_the_towers_own_signal_only():
    """A's Voronoi cell is x < 4 km. C's 3 km disc reaches into it (x from 3 to 4 km) but
    does not count for A: A serves its own 1 km disc, π km² → 1.000 km. C serves its disc
    clipped to x > 4 km and the province's 0–4 km band, integrated here by brute force."""
    bundle = _radius_bundle()
    settings = DEFAULT.replace(radius_km={"2G": 1.0, "4G": 3.0}, as_of="2022-12-31")
    grid = CoverageGrid(None, bundle.metric_crs, (1, 1))
    cov = CoverageResult(model="radius", grid=grid, best_dbm={}, thresholds_dbm={})
    out = site_radii(bundle, coverage=cov, settings=settings, lattice_m=20.0).set_index(
        "site_id")
    assert out.loc["A", "effective_radius_km"] == pytest.approx(1.0, abs=0.01)
    # C by brute force on a 5 m grid
    x, y = np.meshgrid(np.arange(4000 + 2.5, 10_000, 5.0), np.arange(2.5, 4000, 5.0))
    inside = np.hypot(x - 6000.0, y - 2000.0) <= 3000.0
    area_c = inside.sum() * 25.0 / 1e6
    assert out.loc["C", "effective_area_km2"] == pytest.approx(area_c, rel=0.01)
    assert out.loc["C", "voronoi_area_km2"] == pytest.approx(24.0, abs=0.01)
    # what the operator covers anywhere in A's cell would be more than A's own disc
    assert out.loc["A", "effective_area_km2"] < math.pi * 1.01
