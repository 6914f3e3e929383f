"""Propagation formulas and the compiled terrain kernel against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phusong.gis import _kernels
from phusong.gis.propagation import (
    deygout_loss_db,
    deygout_p452_loss_db,
    earth_bulge_m,
    epstein_peterson_loss_db,
    free_space_loss_db,
    fresnel_nu,
    fresnel_radius_m,
    hata_base_db,
    hata_loss_db,
    knife_edge_loss_db,
    wavelength_m,
)

RES = 30.0
FLAT_K = 1e9  # effectively flat Earth


# ---------------------------------------------------------------- published formulas, by hand

def test_free_space_matches_itu_p525():
    # 32.45 + 20 log10(900) + 20 log10(1) = 32.45 + 59.0849 = 91.5349
    assert free_space_loss_db(1.0, 900.0) == pytest.approx(91.5349, abs=1e-3)
    # doubling the distance adds 6.02 dB
    assert free_space_loss_db(2.0, 900.0) - free_space_loss_db(1.0, 900.0) == pytest.approx(
        6.0206, abs=1e-3)


def test_hata_urban_900mhz_by_hand():
    # a(1.5) = (1.1*2.954243-0.7)*1.5 - (1.56*2.954243-0.8) = 0.01588
    # L(1 km) = 69.55 + 26.16*2.954243 - 13.82*log10(30) - 0.01588 = 126.4033
    assert hata_loss_db(1.0, 900.0, 30.0, 1.5, environment="urban", clamp=False) == \
        pytest.approx(126.4033, abs=2e-3)
    # + (44.9 - 6.55*log10(30)) * log10(10) = + 35.2249
    assert hata_loss_db(10.0, 900.0, 30.0, 1.5, environment="urban", clamp=False) == \
        pytest.approx(161.6281, abs=2e-3)


def test_cost231_urban_1800mhz_by_hand():
    # 46.3 + 33.9*3.255273 - 13.82*1.69897 - 0.04297 + 33.7717*0.69897 = 156.7364
    assert hata_loss_db(5.0, 1800.0, 50.0, 1.5, environment="urban", clamp=False) == \
        pytest.approx(156.7364, abs=2e-3)


def test_hata_environment_corrections():
    urban = hata_loss_db(5.0, 900.0, 50.0, environment="urban", clamp=False)
    lf = math.log10(900.0)
    open_corr = -4.78 * lf**2 + 18.33 * lf - 40.94
    assert hata_loss_db(5.0, 900.0, 50.0, environment="open", clamp=False) == pytest.approx(
        urban + open_corr)
    assert hata_loss_db(5.0, 900.0, 50.0, environment="rural", clamp=False) == pytest.approx(
        urban + open_corr + 5.0)
    sub = -2 * math.log10(900 / 28) ** 2 - 5.4
    assert hata_loss_db(5.0, 900.0, 50.0, environment="suburban", clamp=False) == \
        pytest.approx(urban + sub)
    with pytest.raises(ValueError, match="environment"):
        hata_loss_db(5.0, 900.0, 50.0, environment="jungle")


def test_hata_clamping_is_continuous_and_bounded_by_free_space():
    d = np.array([0.05, 0.5, 0.999, 1.0, 1.001, 5.0])
    loss = hata_loss_db(d, 900.0, 40.0)
    assert np.all(loss >= free_space_loss_db(d, 900.0) - 1e-9)
    assert loss[3] == pytest.approx(loss[2], abs=0.05)
    assert loss[3] == pytest.approx(loss[4], abs=0.05)
    # base heights outside 30-200 m are clamped
    assert hata_loss_db(5.0, 900.0, 10.0) == pytest.approx(hata_loss_db(5.0, 900.0, 30.0))
    assert hata_loss_db(5.0, 900.0, 500.0) == pytest.approx(hata_loss_db(5.0, 900.0, 200.0))


def test_hata_base_is_the_hb_and_d_free_part():
    hb, d = 45.0, 7.0
    full = hata_loss_db(d, 1800.0, hb)
    base = hata_base_db(1800.0)
    lhb = math.log10(hb)
    assert full == pytest.approx(base - 13.82 * lhb + (44.9 - 6.55 * lhb) * math.log10(d))


def test_knife_edge_j_matches_itu_p526():
    assert knife_edge_loss_db(0.0) == pytest.approx(6.0329, abs=1e-3)  # the classic 6 dB
    # J(1) = 6.9 + 20 log10(sqrt(0.81 + 1) + 0.9) = 13.9257
    assert knife_edge_loss_db(1.0) == pytest.approx(13.9257, abs=1e-3)
    assert knife_edge_loss_db(-0.78) == 0.0
    assert knife_edge_loss_db(-2.0) == 0.0
    nu = np.linspace(-0.7, 40, 200)
    assert np.all(np.diff(knife_edge_loss_db(nu)) > 0)


def test_fresnel_helpers():
    lam = float(wavelength_m(900.0))
    assert lam == pytest.approx(0.3331, abs=1e-4)
    assert fresnel_nu(10.0, 1000.0, 1000.0, 900.0) == pytest.approx(
        10 * math.sqrt(2 * 2000 / (lam * 1e6)))
    assert fresnel_radius_m(1000.0, 1000.0, 900.0) == pytest.approx(math.sqrt(lam * 500.0))
    # 4/3 Earth: the bulge at the middle of a 30 km path is 13.2 m
    assert earth_bulge_m(15000.0, 15000.0) == pytest.approx(15000.0**2 / (2 * 8.4947e6),
                                                            rel=1e-3)


def test_deygout_and_epstein_peterson_single_edge_equal_j():
    d = np.linspace(0, 2000, 201)
    z = np.zeros_like(d)
    z[100] = 20.0  # a knife edge half way, 20 m above ground
    lam = float(wavelength_m(900.0))
    h = 20.0 - 10.0  # the ray runs from 10 m to 10 m
    nu = h * math.sqrt(2 * 2000 / (lam * 1000 * 1000))
    expected = float(knife_edge_loss_db(nu))
    kw = dict(tx_height_m=10.0, rx_height_m=10.0, freq_mhz=900.0, k_factor=FLAT_K)
    assert deygout_loss_db(d, z, **kw) == pytest.approx(expected, abs=1e-6)
    assert epstein_peterson_loss_db(d, z, **kw) == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------- the compiled kernel


def _sweep(dem, *, col, row, h_ant=30.0, eirp=60.0, f=900.0, radius_m=3000.0, model=0,
           mode=2, k=4.0 / 3.0, az=None):
    n = len(col)
    grid = np.full(dem.shape, -np.inf, dtype=np.float32)
    ground = np.array([dem[int(r), int(c)] for c, r in zip(col, row, strict=True)], float)
    azs = np.zeros((n, 6))
    n_az = np.zeros(n, dtype=np.int64)
    if az is not None:
        azs[:, :len(az)] = az
        n_az[:] = len(az)
    _kernels.sweep_sites(
        dem.astype(np.float32), [grid], grid_index=np.zeros(n, np.int64),
        col=np.asarray(col, float), row=np.asarray(row, float),
        zt=ground + h_ant, eirp=np.full(n, eirp), base_db=np.full(n, float(hata_base_db(f))),
        fs_const_db=np.full(n, 32.45 + 20 * math.log10(f)),
        wavelength=np.full(n, float(wavelength_m(f))), az=azs, n_az=n_az, res_x=RES,
        res_y=RES, radius_m=radius_m, rx_height_m=1.5, k_factor=k, model=model, mode=mode)
    return grid


def test_kernel_on_flat_ground_equals_free_space_and_hata():
    dem = np.zeros((121, 121), np.float32)
    fs = _sweep(dem, col=[60.5], row=[60.5], model=1, mode=0, radius_m=1800.0)
    for dc in (5, 20, 59):
        d_km = dc * RES / 1000
        assert 60 - fs[60, 60 + dc] == pytest.approx(float(free_space_loss_db(d_km, 900.0)),
                                                     abs=1e-3)
    hata = _sweep(dem, col=[60.5], row=[60.5], model=0, mode=0, radius_m=1800.0)
    for dc in (5, 40, 59):
        d_km = dc * RES / 1000
        # base height 30 m above flat ground; table resolution 0.25 m in hb
        assert 60 - hata[60, 60 + dc] == pytest.approx(float(hata_loss_db(d_km, 900.0, 30.0)),
                                                       abs=0.02)
    # outside the radius nothing is written
    assert np.isneginf(hata[0, 0])


def test_kernel_single_knife_edge_equals_itu_j():
    """A one-cell wall across the path: the loss behind it is free space + J(ν)."""
    dem = np.zeros((41, 161), np.float32)
    dem[:, 60] = 40.0  # wall 40 m high, 1 cell thick, 1.5 km east of the site (col 10)
    grid = _sweep(dem, col=[10.5], row=[20.5], h_ant=30.0, model=1, mode=1, radius_m=4500.0,
                  k=FLAT_K)
    for c in (80, 120, 159):
        d = (c - 10) * RES
        d1 = 50 * RES
        d2 = d - d1
        h = 40.0 - (30.0 + (1.5 - 30.0) * d1 / d)  # wall top above the tx → rx ray
        lam = float(wavelength_m(900.0))
        nu = h * math.sqrt(2 * d / (lam * d1 * d2))
        # ITU-R P.526 eq. 31 written out
        j = 6.9 + 20 * math.log10(math.sqrt((nu - 0.1) ** 2 + 1) + nu - 0.1)
        expected = float(free_space_loss_db(d / 1000, 900.0)) + j
        assert 60 - grid[20, c] == pytest.approx(expected, abs=0.01)


def test_kernel_p452_three_edges_by_hand():
    """diffraction="deygout_p452" (mode 4): ITU-R P.452-14 eq. by hand on two walls."""
    dem = np.zeros((41, 201), np.float32)
    dem[:, 50] = 60.0
    dem[:, 120] = 45.0
    grid = _sweep(dem, col=[10.5], row=[20.5], model=1, mode=4, radius_m=5700.0, k=FLAT_K)
    c = 190
    lam = float(wavelength_m(900.0))

    def nu(da, za, dm, zm, db, zb):
        h = zm - (za + (zb - za) * (dm - da) / (db - da))
        return h * math.sqrt(2 * (db - da) / (lam * (dm - da) * (db - dm)))

    def j(v):  # ITU-R P.526 eq. 31 written out
        return 6.9 + 20 * math.log10(math.sqrt((v - 0.1) ** 2 + 1) + v - 0.1) if v > -0.78 \
            else 0.0

    d_rx = (c - 10) * RES
    tx, w1, w2, rx = (0.0, 30.0), (40 * RES, 60.0), (110 * RES, 45.0), (d_rx, 1.5)
    n1, n2 = nu(*tx, *w1, *rx), nu(*tx, *w2, *rx)
    assert n1 > n2  # wall 1 is the principal edge
    lm = j(n1)
    lr = j(nu(*w1, *w2, *rx))  # wall 2 on the principal → receiver side; none before wall 1
    expected = lm + (1 - math.exp(-lm / 6)) * (lr + 10 + 0.04 * d_rx / 1000)
    got = 60 - grid[20, c] - float(free_space_loss_db(d_rx / 1000, 900.0))
    assert got == pytest.approx(expected, abs=0.02)
    d = np.arange(0, c - 10 + 1) * RES
    z = dem[20, 10:c + 1].astype(float)
    assert deygout_p452_loss_db(d, z, tx_height_m=30.0, rx_height_m=1.5, freq_mhz=900.0,
                                k_factor=FLAT_K) == pytest.approx(expected, abs=1e-6)
    # clear line of sight far above the ground: no diffraction, no correction either
    clear = _sweep(np.zeros((41, 201), np.float32), col=[10.5], row=[20.5], model=1, mode=4,
                   radius_m=5700.0, k=FLAT_K, h_ant=200.0)
    assert 60 - clear[20, 60] == pytest.approx(float(free_space_loss_db(50 * RES / 1000, 900.0)),
                                               abs=1e-3)


def test_kernel_deygout_matches_reference_on_two_edges():
    dem = np.zeros((41, 201), np.float32)
    dem[:, 50] = 60.0
    dem[:, 120] = 45.0
    grid = _sweep(dem, col=[10.5], row=[20.5], model=1, mode=2, radius_m=5700.0)
    c = 190
    d = np.arange(0, c - 10 + 1) * RES
    z = dem[20, 10:c + 1].astype(float)
    classic = deygout_loss_db(d, z, tx_height_m=30.0, rx_height_m=1.5, freq_mhz=900.0)
    textbook = deygout_loss_db(d, z, tx_height_m=30.0, rx_height_m=1.5, freq_mhz=900.0,
                               candidates="profile")
    got = 60 - grid[20, c] - float(free_space_loss_db(d[-1] / 1000, 900.0))
    assert classic > 20
    assert got == pytest.approx(classic, abs=0.05)
    # two walls on flat ground: the string's edges are the only points above the sub-paths
    assert textbook == pytest.approx(classic, abs=0.05)
    # the principal is the edge of largest ν, by hand: wall 1 at 1.2 km, wall 2 at 3.3 km
    lam = float(wavelength_m(900.0))
    drop = d**2 / (2 * (4 / 3) * 6_371_000.0)
    zc = z - drop
    zc[0] += 30.0
    zc[-1] += 1.5

    def nu(i0, m, i1):
        h = zc[m] - (zc[i0] + (zc[i1] - zc[i0]) * (d[m] - d[i0]) / (d[i1] - d[i0]))
        return h * math.sqrt(2 * (d[i1] - d[i0]) / (lam * (d[m] - d[i0]) * (d[i1] - d[m])))

    def jj(v):
        return 6.9 + 20 * math.log10(math.sqrt((v - 0.1) ** 2 + 1) + v - 0.1) if v > -0.78 else 0

    n1, n2, end = 40, 110, len(d) - 1
    if nu(0, n1, end) >= nu(0, n2, end):
        by_hand = jj(nu(0, n1, end)) + jj(nu(n1, n2, end))
    else:
        by_hand = jj(nu(0, n2, end)) + jj(nu(0, n1, n2))
    assert classic == pytest.approx(by_hand, abs=1e-6)
    # with one clearly dominant edge too
    dem2 = dem.copy()
    dem2[:, 50] = 150.0
    grid2 = _sweep(dem2, col=[10.5], row=[20.5], model=1, mode=2, radius_m=5700.0)
    z2 = dem2[20, 10:c + 1].astype(float)
    classic2 = deygout_loss_db(d, z2, tx_height_m=30.0, rx_height_m=1.5, freq_mhz=900.0)
    got2 = 60 - grid2[20, c] - float(free_space_loss_db(d[-1] / 1000, 900.0))
    assert got2 == pytest.approx(classic2, abs=0.05)
    # Epstein-Peterson (mode 3) against its reference
    grid3 = _sweep(dem, col=[10.5], row=[20.5], model=1, mode=3, radius_m=5700.0)
    ref3 = epstein_peterson_loss_db(d, z, tx_height_m=30.0, rx_height_m=1.5, freq_mhz=900.0)
    got3 = 60 - grid3[20, c] - float(free_space_loss_db(d[-1] / 1000, 900.0))
    assert got3 == pytest.approx(ref3, abs=0.05)


def _ridge_dem(ridge_m: float) -> np.ndarray:
    """Valley floor at 200 m; a ridge along column 60; the site at column 20."""
    cols = np.arange(161)
    profile = 200.0 + ridge_m * np.exp(-(((cols - 60) / 4.0) ** 2))
    return np.tile(profile, (61, 1)).astype(np.float32)


def test_ridge_blocks_the_valley_and_a_flat_plain_does_not():
    threshold = -100.0
    blocked = _sweep(_ridge_dem(500.0), col=[20.5], row=[30.5], eirp=55.0, radius_m=4500.0)
    plain = _sweep(_ridge_dem(0.0), col=[20.5], row=[30.5], eirp=55.0, radius_m=4500.0)
    valley = (slice(25, 36), slice(90, 140))  # 2-4 km from the site, behind the ridge
    assert (plain[valley] >= threshold).all()
    assert (blocked[valley] < threshold).all()
    # in front of the ridge both agree
    front = (30, slice(22, 40))
    assert np.allclose(blocked[front], plain[front], atol=3.0)


def test_point_kernel_agrees_with_sweep():
    dem = _ridge_dem(150.0)
    grid = _sweep(dem, col=[20.5], row=[30.5], radius_m=4500.0)
    cols = np.array([30.5, 50.5, 70.5, 100.5, 140.5])
    rows = np.array([30.5, 30.5, 30.5, 30.5, 30.5])
    base = float(hata_base_db(900.0))
    got = _kernels.point_power(
        dem, pair_site=np.zeros(5, np.int64), pcol=cols, prow=rows, col=np.array([20.5]),
        row=np.array([30.5]), zt=np.array([230.0]), eirp=np.array([60.0]),
        base_db=np.array([base]), fs_const_db=np.array([32.45 + 20 * math.log10(900)]),
        wavelength=np.array([float(wavelength_m(900.0))]), az=np.zeros((1, 6)),
        n_az=np.zeros(1, np.int64), res_x=RES, res_y=RES, rx_height_m=1.5,
        k_factor=4 / 3, model=0, mode=2)
    expected = grid[30, cols.astype(int)]
    assert np.allclose(got, expected, atol=0.05)


def test_sector_pattern_front_to_back():
    """3GPP TR 36.814 sector (no tilt) on flat ground: horizontal and vertical cuts by hand."""
    dem = np.zeros((81, 81), np.float32)
    omni = _sweep(dem, col=[40.5], row=[40.5], radius_m=1150.0)
    east = _sweep(dem, col=[40.5], row=[40.5], radius_m=1150.0, az=[90.0])

    def a_v(cells):  # depression of a receiver 1.5 m above flat ground, 30 m antenna
        d = cells * RES
        drop = d * d / (2 * (4 / 3) * 6_371_000.0)
        theta = math.degrees(math.atan2(30.0 - 1.5 + drop, d))
        return min(12 * (theta / 10.0) ** 2, 20.0)

    def a_h(phi):
        return min(12 * (phi / 70.0) ** 2, 25.0)

    assert omni[40, 70] - east[40, 70] == pytest.approx(a_v(30), abs=0.02)  # boresight
    assert omni[40, 10] - east[40, 10] == pytest.approx(25.0, abs=1e-3)  # back: capped at Am
    assert omni[10, 40] - east[10, 40] == pytest.approx(min(a_h(90) + a_v(30), 25.0),
                                                        abs=0.02)
    # 45° off boresight (north-east), rays quantise the angle
    assert omni[20, 60] - east[20, 60] == pytest.approx(a_h(45) + a_v(20 * math.sqrt(2)),
                                                        abs=0.3)


@settings(max_examples=12, deadline=None)
@given(extra_eirp=st.floats(0.0, 20.0), extra_h=st.floats(0.0, 60.0),
       seed=st.integers(0, 2**16))
def test_more_eirp_or_mast_never_covers_less(extra_eirp, extra_h, seed):
    """Dominant-edge mode, omni: the string only loses vertices and each ν only drops as the
    mast rises. (Classic Deygout can jump when two edges swap rank; it is monotone in EIRP.)"""
    rng = np.random.default_rng(seed)
    dem = np.cumsum(np.cumsum(rng.normal(0, 3, (61, 61)), 0), 1).astype(np.float32)
    dem -= dem.min()
    base = _sweep(dem, col=[30.5], row=[30.5], eirp=50.0, h_ant=20.0, radius_m=900.0, mode=1)
    more = _sweep(dem, col=[30.5], row=[30.5], eirp=50.0 + extra_eirp, h_ant=20.0 + extra_h,
                  radius_m=900.0, mode=1)
    louder = _sweep(dem, col=[30.5], row=[30.5], eirp=50.0 + extra_eirp, h_ant=20.0,
                    radius_m=900.0, mode=2)
    base2 = _sweep(dem, col=[30.5], row=[30.5], eirp=50.0, h_ant=20.0, radius_m=900.0, mode=2)
    ok = np.isfinite(base2)
    np.testing.assert_allclose(louder[ok] - base2[ok], extra_eirp, atol=2e-3)
    thr = -90.0
    assert not ((base >= thr) & ~(more >= thr)).any()
    assert np.all(more[np.isfinite(base)] >= base[np.isfinite(base)] - 1e-3)


def test_shared_walk_equals_separate_walks():
    """Transmitters on one mast (same height, several bands) share a walk: same result."""
    rng = np.random.default_rng(7)
    dem = np.cumsum(np.cumsum(rng.normal(0, 2, (81, 81)), 0), 1).astype(np.float32)
    dem -= dem.min()
    freqs = [900.0, 1800.0, 2100.0]
    kw = dict(col=np.full(3, 40.5), row=np.full(3, 40.5), zt=np.full(3, float(dem[40, 40]) + 25),
              eirp=np.array([58.0, 60.0, 61.0]),
              base_db=np.array([float(hata_base_db(f)) for f in freqs]),
              fs_const_db=np.array([32.45 + 20 * math.log10(f) for f in freqs]),
              wavelength=np.array([float(wavelength_m(f)) for f in freqs]),
              az=np.tile([0.0, 120.0, 240.0, 0, 0, 0], (3, 1)), n_az=np.full(3, 3),
              res_x=RES, res_y=RES, radius_m=1200.0, rx_height_m=1.5, k_factor=4 / 3,
              model=0, mode=2)
    shared = [np.full(dem.shape, -np.inf, np.float32) for _ in range(3)]
    _kernels.sweep_sites(dem, shared, grid_index=np.arange(3), **kw)
    assert len(_kernels.group_transmitters(kw["col"], kw["row"], kw["zt"])) == 1
    for i in range(3):
        alone = [np.full(dem.shape, -np.inf, np.float32)]
        one = {k: (v[i:i + 1] if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        _kernels.sweep_sites(dem, alone, grid_index=np.zeros(1, np.int64), **one)
        np.testing.assert_allclose(shared[i], alone[0], atol=1e-4)
    # one (fields, rows, cols) block instead of a list of grids: the same values
    block = np.full((3, *dem.shape), -np.inf, np.float32)
    _kernels.sweep_sites(dem, block, grid_index=np.arange(3), **kw)
    np.testing.assert_array_equal(block, np.stack(shared))


def test_more_bands_than_one_walk_takes():
    """Ten transmitters on one mast take two walks (at most MAX_BANDS each): the same
    values as each alone."""
    rng = np.random.default_rng(11)
    dem = np.cumsum(np.cumsum(rng.normal(0, 2, (61, 61)), 0), 1).astype(np.float32)
    dem -= dem.min()
    n = _kernels.MAX_BANDS + 2
    freqs = np.linspace(700.0, 2600.0, n)
    kw = dict(col=np.full(n, 30.5), row=np.full(n, 30.5), zt=np.full(n, float(dem[30, 30]) + 30),
              eirp=np.linspace(55.0, 62.0, n),
              base_db=np.array([float(hata_base_db(f)) for f in freqs]),
              fs_const_db=np.array([32.45 + 20 * math.log10(f) for f in freqs]),
              wavelength=np.array([float(wavelength_m(f)) for f in freqs]),
              res_x=RES, res_y=RES, radius_m=800.0, rx_height_m=1.5, k_factor=4 / 3,
              model=1, mode=2)
    assert [len(g) for g in _kernels.group_transmitters(kw["col"], kw["row"], kw["zt"])] == \
        [_kernels.MAX_BANDS, 2]
    block = np.full((n, *dem.shape), -np.inf, np.float32)
    _kernels.sweep_sites(dem, block, grid_index=np.arange(n), **kw)
    for i in (0, n - 1):
        alone = [np.full(dem.shape, -np.inf, np.float32)]
        one = {k: (v[i:i + 1] if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        _kernels.sweep_sites(dem, alone, grid_index=np.zeros(1, np.int64), **one)
        np.testing.assert_allclose(block[i], alone[0], atol=1e-4)
        assert np.isfinite(block[i]).sum() > 1000
