"""ITM point-to-point (gis._itm) against itmlogic on real SRTM profiles, and its sweep."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from phusong.gis import _itm
from phusong.layers.settings import DEFAULT, Settings

HGT = next((p / "shared" / "realdata" / "dem" / "N21E105.hgt"
            for p in Path(__file__).resolve().parents if (p / "shared" / "realdata").is_dir()),
           None)


def _itmlogic_loss(prof, step, hg0, hg1, freq, *, qlrpfl=None, climate=5, mdvar=12):
    """itmlogic 1.2 driven as SPLAT!'s point_to_point (zsys = 10–90 % mean, 50/50/50)."""
    from itmlogic.misc.qerfi import qerfi
    from itmlogic.preparatory_subroutines import qlrpfl as q_mod
    from itmlogic.preparatory_subroutines.qlrps import qlrps
    from itmlogic.statistics.avar import avar

    qlrpfl = qlrpfl or q_mod.qlrpfl
    np_ = len(prof) - 1
    p10 = int(0.1 * np_)
    zsys = float(np.mean(prof[p10:np_ - p10 + 1]))
    wn, gme, ens, zgnd = qlrps(freq, zsys, 301.0, 1, 15.0, 0.005)
    prop = {"pfl": [np_, step, *map(float, prof)], "hg": [hg0, hg1], "wn": wn, "gme": gme,
            "ens": ens, "zgnd": zgnd, "kwx": 0, "lvar": 5, "klim": climate, "klimx": 0,
            "mdvarx": mdvar, "mdvar": mdvar}
    prop = qlrpfl(prop)
    zt, zl, zc = qerfi([0.5, 0.5, 0.5])
    a, _ = avar(zt, zl, zc, prop)
    return 32.45 + 20 * math.log10(freq) + 20 * math.log10(prop["dist"] / 1000.0) + a


def _fixed_qlrpfl():
    """itmlogic's qlrpfl with its receiver-end index slip corrected (``pfl[np+1]`` → the
    receiver's own elevation ``pfl[np+2]``, as in the published algorithm's §43)."""
    import itmlogic.preparatory_subroutines.qlrpfl as q_mod

    src = Path(q_mod.__file__).read_text()
    assert "prop['pfl'][np+1] - zb" in src
    ns: dict = {}
    exec(compile(src.replace("prop['pfl'][np+1] - zb", "prop['pfl'][np+2] - zb"),
                 q_mod.__file__, "exec"), ns)
    return ns["qlrpfl"]


@pytest.fixture(scope="module")
def real_profiles():
    """120 profiles of 1–15 km, 30 m steps, bilinear on the SRTM tile N21E105 (in place)."""
    if HGT is None or not HGT.exists():
        pytest.skip("real terrain ../shared/realdata/dem/N21E105.hgt not present")
    from phusong.gis.crs import tm3_crs_for_lon
    from phusong.gis.dem import fill_voids, read_dem

    crs = tm3_crs_for_lon(105.5)
    from pyproj import Transformer

    x0, y0 = Transformer.from_crs(4326, crs, always_xy=True).transform(105.6, 21.45)
    half = 20_000.0
    dem = read_dem(HGT, crs=crs, bounds=(x0 - half, y0 - half, x0 + half, y0 + half),
                   res_m=30.0)
    z = fill_voids(dem.elevation_m).astype(float)
    rng = np.random.default_rng(17)
    out = []
    for _ in range(120):
        c0, r0 = rng.uniform(200, z.shape[1] - 200), rng.uniform(200, z.shape[0] - 200)
        n = int(rng.integers(34, 500))
        th = rng.uniform(0, 2 * np.pi)
        k = np.arange(n + 1)
        u, v = c0 + k * np.cos(th), r0 - k * np.sin(th)
        ok = (u > 1) & (v > 1) & (u < z.shape[1] - 1) & (v < z.shape[0] - 1)
        if not ok.all():
            continue
        prof = map_coordinates(z, [v - 0.5, u - 0.5], order=1)
        out.append((prof, float(rng.choice([900.0, 1800.0, 2100.0])),
                    float(rng.choice([15.0, 35.0, 60.0]))))
    assert len(out) > 80
    return out


def test_parity_with_itmlogic_on_real_profiles(real_profiles) -> None:
    pytest.importorskip("itmlogic")
    d = []
    for prof, f, h in real_profiles:
        ours = _itm.p2p_loss(prof, 30.0, tx_height_m=h, rx_height_m=1.5, freq_mhz=f)
        d.append(ours - _itmlogic_loss(prof, 30.0, h, 1.5, f))
    d = np.abs(np.array(d))
    assert np.median(d) <= 0.5
    assert np.percentile(d, 99) <= 2.0


def test_exact_against_itmlogic_with_its_index_slip_corrected(real_profiles) -> None:
    pytest.importorskip("itmlogic")
    fixed = _fixed_qlrpfl()
    for prof, f, h in real_profiles:
        for climate, mdvar in ((5, 12), (2, 3)):
            ours = _itm.p2p_loss(prof, 30.0, tx_height_m=h, rx_height_m=1.5, freq_mhz=f,
                                 params=_itm.ItmParams(climate=climate, mdvar=mdvar))
            ref = _itmlogic_loss(prof, 30.0, h, 1.5, f, qlrpfl=fixed, climate=climate,
                                 mdvar=mdvar)
            assert ours == pytest.approx(ref, abs=1e-6)


def test_variability_quantiles_match_itmlogic() -> None:
    """Time / situation quantiles (avar) on a rough synthetic profile, several modes."""
    pytest.importorskip("itmlogic")
    from itmlogic.misc.qerfi import qerfi
    from itmlogic.preparatory_subroutines.qlrps import qlrps
    from itmlogic.statistics.avar import avar

    fixed = _fixed_qlrpfl()
    rng = np.random.default_rng(3)
    prof = np.cumsum(rng.normal(0, 9, 401)) + 600
    for mdvar, t, loc, c in ((12, 0.9, 0.5, 0.9), (3, 0.1, 0.9, 0.5), (1, 0.99, 0.5, 0.1)):
        ours = _itm.p2p_loss(prof, 30.0, tx_height_m=30, rx_height_m=1.5, freq_mhz=900,
                             params=_itm.ItmParams(mdvar=mdvar, time_pct=100 * t,
                                                   location_pct=100 * loc,
                                                   situation_pct=100 * c))
        np_ = len(prof) - 1
        p10 = int(0.1 * np_)
        wn, gme, ens, zgnd = qlrps(900, float(np.mean(prof[p10:np_ - p10 + 1])), 301.0, 1,
                                   15.0, 0.005)
        prop = fixed({"pfl": [np_, 30.0, *map(float, prof)], "hg": [30.0, 1.5], "wn": wn,
                      "gme": gme, "ens": ens, "zgnd": zgnd, "kwx": 0, "lvar": 5, "klim": 5,
                      "klimx": 0, "mdvarx": mdvar, "mdvar": mdvar})
        zt, zl, zc = qerfi([t, loc, c])
        a, _ = avar(zt, zl, zc, prop)
        ref = 32.45 + 20 * math.log10(900) + 20 * math.log10(prop["dist"] / 1000) + a
        assert ours == pytest.approx(ref, abs=0.01)  # itmlogic rounds its deviates to 1e-4


def test_sweep_equals_direct_profiles_along_straight_rays(real_profiles) -> None:
    """Rays r ≡ 0 (mod 4) are straight from the site to R: the sweep's value at each of their
    samples is ITM on that profile (hull horizons and running sums vs the direct search)."""
    z = np.zeros((700, 700), dtype=np.float32)
    rng = np.random.default_rng(5)
    from scipy.ndimage import gaussian_filter

    z[:] = gaussian_filter(rng.normal(0, 60, z.shape), 6) * 12 + 800
    from phusong.gis import _kernels

    radius, step = 9000.0, 30.0
    n_samp = int(radius // step)
    n_rays = _kernels.ray_count(radius, step)
    buf = np.full((_kernels.MAX_BANDS, n_rays, n_samp + 1), np.nan)
    params = _itm.ItmParams()
    en0, clim, mdvar, zt, zl, zc = params.unpack()
    u0 = v0 = 350.5
    bands = _itm._band_table(np.array([900.0]), params.zgnd(np.array([900.0])), clim)
    _itm._sweep_one(z, u0, v0, 35.0, 1.5, 0.5 * 1.2e-7, bands, en0, clim, mdvar, zt, zl, zc,
                    np.zeros((1, n_rays)), 1, 30.0, 30.0, step, n_samp, buf,
                    np.ones((n_rays, 1), np.uint8))
    d = []
    for r in range(0, n_rays, 4 * 37):
        th = 2 * np.pi * r / n_rays
        k = np.arange(n_samp + 1)
        prof = map_coordinates(z.astype(float), [v0 - k * np.sin(th) - 0.5,
                                                 u0 + k * np.cos(th) - 0.5], order=1)
        for kk in range(40, n_samp + 1, 23):
            ref = _itm.p2p_loss(prof[:kk + 1], step, tx_height_m=35.0, rx_height_m=1.5,
                                freq_mhz=900.0)
            d.append(-buf[0, r, kk] - ref)
    d = np.abs(np.array(d))
    assert np.median(d) < 1e-6
    assert np.percentile(d, 95) < 0.05


def _dlthx_brute(z: np.ndarray, np_: int, xi: float, x1: float, x2: float) -> float:
    """Δh by the letter of §48: resample, fit, sort, take the deciles (numpy, no guesses)."""
    xa, xb = x1 / xi, x2 / xi
    if xb - xa < 2.0:
        return 0.0
    ka = min(max(4, int(0.1 * (xb - xa + 8.0))), 25)
    n = 10 * ka - 5
    p = xa + np.arange(n) * (xb - xa) / (n - 1)
    kk = np.clip(np.ceil(p).astype(int), max(int(xa + 1.0), 1), np_)
    s = z[kk] + (z[kk] - z[kk - 1]) * (p - kk)
    w = np.ones(n)
    w[[0, -1]] = 0.5
    j = np.arange(n)
    b, a = np.polyfit(j, s, 1, w=np.sqrt(w))
    r = np.sort(s - (a + b * j))
    return (r[n - ka] - r[ka - 1]) / (1.0 - 0.8 * math.exp(-(x2 - x1) / 50.0e3))


@pytest.mark.parametrize("kind", ["rough", "flat", "terraced", "spiky"])
def test_interdecile_range_is_exact_whatever_the_guess(kind) -> None:
    """Δh from the previous profile's deciles (the sweep's shortcut) equals the sorted-array
    value for any guess: the previous one, far off, inside out, and with ties."""
    rng = np.random.default_rng(11)
    np_ = 400
    if kind == "rough":
        z = np.cumsum(rng.normal(0, 8, np_ + 1)) + 500
    elif kind == "flat":
        z = np.full(np_ + 1, 312.0)
    elif kind == "terraced":
        z = np.round(np.cumsum(rng.normal(0, 5, np_ + 1)) / 10.0) * 10.0
    else:
        z = np.where(rng.random(np_ + 1) < 0.05, 900.0, 200.0)
    s = np.empty(250)
    walked = np.zeros(3)
    for k in range(5, np_ + 1, 7):
        x1, x2 = min(450.0, 0.1 * k * 30.0), k * 30.0 - min(22.5, 0.1 * k * 30.0)
        ref = _dlthx_brute(z, k, 30.0, x1, x2)
        got = _itm._dlthx(z, k, 30.0, x1, x2, s, walked)
        assert got == pytest.approx(ref, abs=1e-7), (kind, k)
        for g_hi, g_lo in ((1e4, -1e4), (-1e4, 1e4), (0.0, 0.0), tuple(rng.normal(0, 30, 2))):
            guess = np.array([g_hi, g_lo, 1.0])
            got = _itm._dlthx(z, k, 30.0, x1, x2, s, guess)
            assert got == pytest.approx(ref, abs=1e-7), (kind, k, g_hi, g_lo)


def test_interdecile_range_on_bad_guesses_and_bounds() -> None:
    """A NaN guess (a NaN profile before) falls back to selection; ends outside the profile
    (x1 < 0, x2 > its length) are clamped sample by sample, as ITM's walk is; NaN → 0."""
    z = np.cumsum(np.random.default_rng(8).normal(0, 8, 401)) + 500
    s = np.empty(250)
    ref = _dlthx_brute(z, 400, 30.0, 450.0, 11977.5)
    nan_guess = np.array([np.nan, np.nan, 1.0])
    assert _itm._dlthx(z, 400, 30.0, 450.0, 11977.5, s, nan_guess) == pytest.approx(ref, abs=1e-7)
    assert _itm._dlthx(z, 400, 30.0, -300.0, 12600.0, s, np.zeros(3)) == pytest.approx(
        _dlthx_brute(z, 400, 30.0, -300.0, 12600.0), abs=1e-7)
    assert _itm._dlthx(z, 400, 30.0, np.nan, 12000.0, s, np.zeros(3)) == 0.0
    for bad in ({"tx_height_m": -1.0}, {"rx_height_m": np.nan}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            _itm.p2p_loss(z, 30.0, **{"tx_height_m": 30.0, "rx_height_m": 1.5, **bad},
                          freq_mhz=900.0)
    with pytest.raises(ValueError, match="step_m"):
        _itm.p2p_loss(z, 0.0, tx_height_m=30.0, rx_height_m=1.5, freq_mhz=900.0)


def test_rank_walks_against_sorting() -> None:
    """The k-th largest / smallest from any starting guess, with many ties."""
    rng = np.random.default_rng(4)
    for trial in range(300):
        n = int(rng.integers(35, 246))
        k = int(rng.integers(1, n // 2))
        a = np.round(rng.normal(0, 3, n), int(rng.integers(0, 3)))
        srt = np.sort(a)
        gh, gl = rng.choice(a) + rng.normal(0, 0.5, 2) * (trial % 3)
        s = a.copy()
        hi, lo = _itm._detrend_deciles(s, n, k, 0.0, 0.0, gh, gl)
        assert np.array_equal(s, a)
        assert np.isnan(hi) or hi == srt[n - k], (trial, hi, srt[n - k])
        assert np.isnan(lo) or lo == srt[k - 1], (trial, lo, srt[k - 1])
    # next to the previous deciles the walk always decides
    a = rng.normal(0, 10, 245)
    srt = np.sort(a)
    hi, lo = _itm._detrend_deciles(a.copy(), 245, 25, 0.0, 0.0, srt[-25] + 1e-9,
                                   srt[24] - 1e-9)
    assert (hi, lo) == (srt[-25], srt[24])


def test_settings_reject_bad_itm_values() -> None:
    from phusong.gis.errors import SettingsError

    for bad in ({"itm_climate": "tropical"}, {"itm_refractivity_n": 500.0},
                {"itm_time_pct": 100.0}, {"itm_polarisation": "circular"}):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            DEFAULT.replace(**bad)
    assert isinstance(DEFAULT.replace(itm_climate="desert"), Settings)


@pytest.mark.slow
def test_itm_model_in_the_engine(tiny_bundle) -> None:
    """The itm model through compute_coverage and site_village_matrix, against direct ITM."""
    from phusong.analysis.coverage.engine import compute_coverage, itm_params, site_village_matrix
    from phusong.gis.dem import fill_voids, read_dem

    cov = compute_coverage(tiny_bundle, model="itm", operators=["viettel"], techs=["4G"])
    arr = cov.best_dbm[("viettel", "4G")]
    assert cov.model == "itm" and np.isfinite(arr).mean() > 0.5
    bts = tiny_bundle.layer("bts")
    bts = bts[(bts["operator"] == "viettel") & (bts["tech"] == "4G")].iloc[:1]
    dem = read_dem(tiny_bundle.dem_path, crs=tiny_bundle.metric_crs)
    from phusong.analysis.coverage.engine import CoverageGrid, prepare_sites

    grid = CoverageGrid(dem.transform, dem.crs, dem.shape)
    bm = bts.to_crs(dem.crs)
    sa = prepare_sites(bts, grid, ground_m=dem.sample(bm.geometry.x.to_numpy(),
                                                      bm.geometry.y.to_numpy()))
    # single-site field vs point power at cells 2–8 km away along the axes
    one = [np.full(dem.shape, -np.inf, np.float32)]
    z = fill_voids(dem.elevation_m)
    _itm.sweep_sites(z, one, grid_index=np.array([0]), col=sa.col, row=sa.row,
                     ground_m=sa.ground_m, zt=sa.zt, eirp=sa.eirp, freq_mhz=sa.freq_mhz,
                     az=sa.az, n_az=sa.n_az, res_x=30.0, res_y=30.0, radius_m=9000.0,
                     rx_height_m=1.5, params=itm_params())
    c0, r0 = int(sa.col[0]), int(sa.row[0])
    pc, pr = [], []
    for dk in range(70, 270, 20):
        for dc, dr in ((dk, 0), (-dk, 0), (0, dk), (0, -dk)):
            if 0 <= r0 + dr < dem.shape[0] and 0 <= c0 + dc < dem.shape[1]:
                pc.append(c0 + dc + 0.5)
                pr.append(r0 + dr + 0.5)
    pts = _itm.point_power(z, pair_site=np.zeros(len(pc), np.int64), pcol=np.array(pc),
                           prow=np.array(pr), col=np.floor(sa.col) + 0.5,
                           row=np.floor(sa.row) + 0.5, ground_m=sa.ground_m, zt=sa.zt,
                           eirp=sa.eirp, freq_mhz=sa.freq_mhz, az=sa.az, n_az=sa.n_az,
                           res_x=30.0, res_y=30.0, rx_height_m=1.5, params=itm_params())
    grid_v = one[0][np.array(pr, int), np.array(pc, int)]
    ok = np.isfinite(pts) & np.isfinite(grid_v)
    assert ok.sum() > 10
    assert np.median(np.abs(grid_v[ok] - pts[ok])) < 0.5
    mat = site_village_matrix(tiny_bundle.layer("bts"), tiny_bundle.layer("villages"),
                              dem=dem, model="itm")
    assert mat.shape[0] == len(tiny_bundle.layer("bts")) and mat.nnz > 0


def test_ray_buffer_and_needed_samples_kept_between_calls(monkeypatch) -> None:
    """The sweeps' ray buffer is the same memory on the next call from the thread (sized up
    when needed, fresh above the cap); the disc's needed samples are a fresh, equal table."""
    from phusong.gis import _kernels

    a = _kernels.work_buffer((2, 30, 40), np.float64)
    b = _kernels.work_buffer((1, 30, 41), np.float64)
    assert np.shares_memory(a, b) and b.shape == (1, 30, 41)
    c = _kernels.work_buffer((3, 300, 400), np.float64)  # larger: a new one, then kept
    assert c.shape == (3, 300, 400) and np.shares_memory(c, _kernels.work_buffer((5,), float))
    monkeypatch.setattr(_kernels, "WORK_KEEP_BYTES", 1000)
    assert not np.shares_memory(_kernels.work_buffer((200,), float),
                                _kernels.work_buffer((200,), float))
    radius, step = 3000.0, 30.0
    n_rays = _kernels.ray_count(radius, step)
    off = _kernels.disc_offsets(radius, step, step, n_rays, step)
    need = _kernels.disc_needed_samples(radius, step, step, n_rays, step, 100)
    need[:] = 0  # the caller's copy
    again = _kernels.disc_needed_samples(radius, step, step, n_rays, step, 100)
    assert np.array_equal(again, _kernels.needed_samples(off, n_rays, 100)) and again.any()
