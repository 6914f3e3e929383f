"""The compiled kernel against its reference Deygout on real SRTM terrain (Tam Đảo range).

The tile ``../shared/realdata/dem/N21E105.hgt`` is read in place. Profiles are sampled here,
independently of the kernel (bilinear interpolation every cell size along the straight line),
and fed to :func:`gis.propagation.deygout_loss_db`; the kernel's loss at the same points is
its received power with 0 dBm EIRP, minus free space.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from phusong.gis import _kernels
from phusong.gis.dem import fill_voids
from phusong.gis.propagation import (
    deygout_loss_db,
    deygout_p452_loss_db,
    epstein_peterson_loss_db,
    free_space_loss_db,
    wavelength_m,
)

HGT = Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata" / "dem" / "N21E105.hgt"
if not HGT.exists():  # a worktree: the shared folder sits beside the main checkout
    HGT = Path("/work/shared/realdata/dem/N21E105.hgt")
pytestmark = pytest.mark.skipif(not HGT.exists(), reason="real SRTM tile not available")

LAT = 21.5
RES_X = 3.0 / 3600.0 * 111_320.0 * math.cos(math.radians(LAT))  # ≈ 86.3 m
RES_Y = 3.0 / 3600.0 * 110_900.0  # ≈ 92.4 m
F = 900.0


@pytest.fixture(scope="module")
def tam_dao() -> np.ndarray:
    """A 240 × 240-cell window (≈ 21 × 22 km) over the Tam Đảo range, voids filled."""
    z = np.fromfile(HGT, dtype=">i2").reshape(1201, 1201).astype(np.float32)
    z[z == -32768] = np.nan
    win = z[540:780, 600:840]
    return fill_voids(win).astype(np.float32)


def _bilinear(dem: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cell centres at +0.5; clamped at the edges."""
    nr, nc = dem.shape
    x = np.clip(u - 0.5, 0, nc - 1)
    y = np.clip(v - 0.5, 0, nr - 1)
    j = np.minimum(np.floor(x).astype(int), nc - 2)
    i = np.minimum(np.floor(y).astype(int), nr - 2)
    fx, fy = x - j, y - i
    a = dem[i, j] * (1 - fx) + dem[i, j + 1] * fx
    b = dem[i + 1, j] * (1 - fx) + dem[i + 1, j + 1] * fx
    return a * (1 - fy) + b * fy


def _cases(dem: np.ndarray, n_rx: int = 60, seed: int = 11):
    """Sites by rule (highest cell, lowest cell, two hillside cells) and random receivers."""
    rng = np.random.default_rng(seed)
    inner = dem[40:-40, 40:-40]
    picks = [np.unravel_index(np.argmax(inner), inner.shape),
             np.unravel_index(np.argmin(inner), inner.shape)]
    mid = np.flatnonzero(np.abs(inner.ravel() - np.median(inner)) < 20)
    picks += [np.unravel_index(k, inner.shape) for k in rng.choice(mid, 2, replace=False)]
    out = []
    for r, c in picks:
        r, c = r + 40, c + 40
        ang = rng.uniform(0, 2 * np.pi, n_rx)
        dist = rng.uniform(1500, 9000, n_rx)
        pc = c + 0.5 + dist * np.cos(ang) / RES_X
        pr = r + 0.5 - dist * np.sin(ang) / RES_Y
        ok = (pc > 1) & (pr > 1) & (pc < dem.shape[1] - 1) & (pr < dem.shape[0] - 1)
        out.append((c + 0.5, r + 0.5, pc[ok], pr[ok]))
    return out


def _kernel_loss(dem, sc, sr, pc, pr, mode: int, depth: int = 2):
    step = min(RES_X, RES_Y)
    zt = float(_bilinear(dem, np.array([sc]), np.array([sr]))[0]) + 30.0
    power = _kernels.point_power(
        dem, pair_site=np.zeros(len(pc), np.int64), pcol=pc, prow=pr, col=np.array([sc]),
        row=np.array([sr]), zt=np.array([zt]), eirp=np.array([0.0]), base_db=np.array([0.0]),
        fs_const_db=np.array([32.45 + 20 * math.log10(F)]),
        wavelength=np.array([float(wavelength_m(F))]), res_x=RES_X, res_y=RES_Y,
        rx_height_m=1.5, k_factor=4 / 3, model=1, mode=mode, depth=depth)
    dx = (pc - sc) * RES_X
    dy = -(pr - sr) * RES_Y
    ns = np.maximum(np.floor(np.hypot(dx, dy) / step + 0.5), 1)
    return -power - free_space_loss_db(ns * step / 1000.0, F), ns, np.arctan2(dy, dx)


def _profile(dem, sc, sr, ns, theta):
    step = min(RES_X, RES_Y)
    k = np.arange(int(ns) + 1)
    u = sc + k * math.cos(theta) * step / RES_X
    v = sr - k * math.sin(theta) * step / RES_Y
    return k * step, _bilinear(dem, u, v).astype(float)


def _compare(dem, mode, ref, depth: int = 2):
    got, want = [], []
    for sc, sr, pc, pr in _cases(dem):
        loss, ns, th = _kernel_loss(dem, sc, sr, pc, pr, mode, depth)
        for q in range(len(pc)):
            d, z = _profile(dem, sc, sr, ns[q], th[q])
            want.append(ref(d, z))
            got.append(float(loss[q]))
    return np.array(got), np.array(want)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_kernel_deygout_agrees_with_the_reference_on_srtm_profiles(tam_dao, depth):
    got, want = _compare(tam_dao, 2, lambda d, z: deygout_loss_db(
        d, z, tx_height_m=30.0, rx_height_m=1.5, freq_mhz=F, depth=depth), depth)
    err = np.abs(got - want)
    assert len(err) > 150
    assert (want > 6).mean() > 0.3  # real obstruction, not walls on a plain
    assert (want > 25).any()
    assert np.median(err) < 0.02
    assert np.percentile(err, 95) < 0.1
    assert err.max() < 0.5


def test_kernel_dominant_and_epstein_peterson_on_srtm_profiles(tam_dao):
    got, want = _compare(tam_dao, 1, lambda d, z: deygout_loss_db(
        d, z, tx_height_m=30.0, rx_height_m=1.5, freq_mhz=F, depth=0))
    assert np.percentile(np.abs(got - want), 95) < 0.1
    got, want = _compare(tam_dao, 3, lambda d, z: epstein_peterson_loss_db(
        d, z, tx_height_m=30.0, rx_height_m=1.5, freq_mhz=F))
    assert np.percentile(np.abs(got - want), 95) < 0.1


def test_kernel_p452_correction_agrees_with_the_reference_on_srtm_profiles(tam_dao):
    """diffraction="deygout_p452" (kernel mode 4) against :func:`deygout_p452_loss_db`."""
    got, want = _compare(tam_dao, 4, lambda d, z: deygout_p452_loss_db(
        d, z, tx_height_m=30.0, rx_height_m=1.5, freq_mhz=F), 1)
    err = np.abs(got - want)
    assert len(err) > 150
    assert (want > 15).mean() > 0.3
    assert np.median(err) < 0.02
    assert np.percentile(err, 95) < 0.1
