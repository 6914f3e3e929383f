"""Point-to-point link profiles: line of sight, Earth bulge and Fresnel clearance."""

from __future__ import annotations

import math

import affine
import numpy as np
import pytest

from phusong.gis.dem import Dem
from phusong.gis.links import link_profile, links_clearance
from phusong.gis.propagation import wavelength_m

X0, Y0, RES = 480_000.0, 2_480_000.0, 30.0


def _dem(z: np.ndarray) -> Dem:
    rows = z.shape[0]
    return Dem(z.astype(np.float32), affine.Affine(RES, 0, X0, 0, -RES, Y0 + rows * RES),
               "EPSG:9205")


def _x(col: float) -> float:
    return X0 + (col + 0.5) * RES


Y_MID = Y0 + 10.5 * RES  # centre of row 10 of a 21-row DEM


def test_flat_link_clear_and_fresnel_by_hand():
    dem = _dem(np.zeros((21, 401)))
    p = link_profile(dem, _x(0), Y_MID, _x(400), Y_MID, h0_m=30, h1_m=30, freq_mhz=7000,
                     k_factor=4 / 3)
    assert p.distance_m == pytest.approx(12_000.0)
    # at mid-path: bulge 6000²/(2·8.495e6) = 2.12 m; F1 = sqrt(λ·6000·6000/12000)
    mid = len(p.dist_m) // 2
    assert p.bulge_m[mid] == pytest.approx(6000.0**2 / (2 * 4 / 3 * 6_371_000), rel=1e-3)
    lam = float(wavelength_m(7000.0))
    assert p.fresnel_m[mid] == pytest.approx(math.sqrt(lam * 3000.0), rel=1e-3)
    assert p.line_of_sight
    assert p.fresnel_clear(0.6)
    assert p.min_clearance_m == pytest.approx(30 - 2.12, abs=0.05)


def test_ridge_blocks_then_taller_masts_clear_it():
    z = np.zeros((21, 401))
    z[:, 200] = 60.0
    dem = _dem(z)
    low = link_profile(dem, _x(0), Y_MID, _x(400), Y_MID, h0_m=30, h1_m=30)
    assert not low.line_of_sight
    assert low.worst_distance_m == pytest.approx(6000.0, abs=RES)
    tall = link_profile(dem, _x(0), Y_MID, _x(400), Y_MID, h0_m=80, h1_m=80)
    assert tall.line_of_sight
    # 80 m masts: ~80 − 60 − 2.1 = 17.9 m clearance against F1 ≈ 11.3 m at 7 GHz
    assert tall.fresnel_clear(0.6)
    assert tall.min_clearance_ratio > 1.0
    # grazing: line of sight but the Fresnel zone is obstructed
    graze = link_profile(dem, _x(0), Y_MID, _x(400), Y_MID, h0_m=64, h1_m=64)
    assert graze.line_of_sight
    assert not graze.fresnel_clear(0.6)


def test_sub_refractive_earth_reduces_clearance():
    dem = _dem(np.zeros((21, 801)))
    std = link_profile(dem, _x(0), Y_MID, _x(800), Y_MID, h0_m=10, h1_m=10, k_factor=4 / 3)
    sub = link_profile(dem, _x(0), Y_MID, _x(800), Y_MID, h0_m=10, h1_m=10, k_factor=2 / 3)
    # 24 km: bulge 8.5 m at k = 4/3, 17 m at k = 2/3
    assert std.line_of_sight
    assert not sub.line_of_sight


def test_links_clearance_many():
    z = np.zeros((21, 401))
    z[:, 200] = 60.0
    dem = _dem(z)
    a = np.array([[_x(0), Y_MID], [_x(0), Y_MID]])
    b = np.array([[_x(400), Y_MID], [_x(150), Y_MID]])
    out = links_clearance(dem, a, b, h_a_m=30, h_b_m=[30, 30], index=["x", "y"])
    assert list(out.index) == ["x", "y"]
    assert not out.loc["x", "line_of_sight"]
    assert bool(out.loc["y", "line_of_sight"])
    assert out.loc["y", "distance_m"] == pytest.approx(4500.0)
    assert out["free_space_loss_db"].iloc[0] > out["free_space_loss_db"].iloc[1]
