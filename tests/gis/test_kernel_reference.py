"""The tuned radial sweep against the straightforward reference kernel, cell by cell.

``kernels_reference.py`` (beside this file) is the kernel before its speed-ups. Both sweep the
same transmitters — real SRTM terrain (Tam Đảo range, ``N21E105.hgt`` read in place) with
sector antennas, tilts and towers shared by several bands, and the generated mini sample
province through :func:`analysis.coverage.compute_coverage` — and every cell must agree within
0.01 dB, with the same cells reached.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from phusong.gis import _kernels
from phusong.gis.antenna import TR36814
from phusong.gis.dem import fill_voids
from phusong.gis.propagation import wavelength_m

HGT = Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata" / "dem" / "N21E105.hgt"
if not HGT.exists():  # a worktree: the shared folder sits beside the main checkout
    HGT = Path("/work/shared/realdata/dem/N21E105.hgt")

TOL_DB = 0.01
RES_X = 3.0 / 3600.0 * 111_320.0 * math.cos(math.radians(21.5))  # ≈ 86.3 m
RES_Y = 3.0 / 3600.0 * 110_900.0  # ≈ 92.4 m


def _reference():
    path = Path(__file__).with_name("kernels_reference.py")
    spec = importlib.util.spec_from_file_location("phusong_kernels_reference", path)
    mod = importlib.util.module_from_spec(spec)
    # registered before it runs: numba's on-disk cache finds its functions by module name
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def ref():
    return _reference()


def _assert_same(got: np.ndarray, want: np.ndarray) -> None:
    fg, fw = np.isfinite(got), np.isfinite(want)
    assert fg.any()
    np.testing.assert_array_equal(fg, fw)
    worst = float(np.abs(got[fg] - want[fg]).max())
    assert worst <= TOL_DB, worst


def _sites(dem: np.ndarray):
    """Four towers by rule (highest, lowest, two hillside cells), one to three bands each,
    with 3GPP sectors: a shared antenna, a second antenna, a mechanical tilt, an omni."""
    inner = dem[40:-40, 40:-40]
    rng = np.random.default_rng(5)
    picks = [np.unravel_index(np.argmax(inner), inner.shape),
             np.unravel_index(np.argmin(inner), inner.shape)]
    mid = np.flatnonzero(np.abs(inner.ravel() - np.median(inner)) < 20)
    picks += [np.unravel_index(k, inner.shape) for k in rng.choice(mid, 2, replace=False)]
    col, row, zt, freq, az, n_az, te, tm = [], [], [], [], [], [], [], []
    layouts = [  # per tower: (MHz, azimuths, electrical tilt, mechanical tilt) per band
        [(900.0, (0, 120, 240), 4.0, 0.0), (1800.0, (0, 120, 240), 4.0, 0.0),
         (2100.0, (30, 150, 270), 2.0, 0.0)],
        [(900.0, (), 0.0, 0.0), (1800.0, (45, 165, 285), 6.0, 3.0)],
        [(1800.0, (10, 130, 250), 3.0, 2.0), (2100.0, (10, 130, 250), 3.0, 2.0)],
        [(900.0, (90,), 0.0, 0.0)],
    ]
    for (r, c), bands in zip(picks, layouts, strict=True):
        r, c = r + 40, c + 40
        for f, azs, e, m in bands:
            col.append(c + 0.5)
            row.append(r + 0.5)
            zt.append(float(dem[r, c]) + 30.0)
            freq.append(f)
            a = np.zeros(6)
            a[:len(azs)] = azs
            az.append(a)
            n_az.append(len(azs))
            te.append(e)
            tm.append(m)
    n = len(col)
    ant = _kernels.Antennas(
        np.where(np.array(n_az) > 0, 0, -1).astype(np.int64), np.array(az),
        np.array(n_az, np.int64), np.array(te), np.array(tm), TR36814.horizontal[None, :],
        TR36814.vertical[None, :], np.array([TR36814.cap_db]))
    freq = np.array(freq)
    return dict(col=np.array(col), row=np.array(row), zt=np.array(zt),
                eirp=np.full(n, 43.0), base_db=np.zeros(n),
                fs_const_db=32.45 + 20 * np.log10(freq),
                wavelength=np.asarray(wavelength_m(freq), dtype=float)), ant


@pytest.mark.slow
@pytest.mark.skipif(not HGT.exists(), reason="real SRTM tile not available")
@pytest.mark.parametrize(("mode", "depth"), [(2, 1), (2, 2), (1, 1), (3, 1), (0, 1)])
def test_sweep_matches_reference_on_srtm(ref, mode: int, depth: int) -> None:
    z = np.fromfile(HGT, dtype=">i2").reshape(1201, 1201).astype(np.float32)
    z[z == -32768] = np.nan
    dem = fill_voids(z[540:780, 600:840]).astype(np.float32)
    kw, ant = _sites(dem)
    n = len(kw["col"])
    out = {}
    for name, mod in (("got", _kernels), ("want", ref)):
        grids = [np.full(dem.shape, -np.inf, dtype=np.float32) for _ in range(n)]
        ant_m = mod.Antennas(ant.pid, ant.az, ant.n_az, ant.tilt_e, ant.tilt_m, ant.pat_h,
                             ant.pat_v, ant.pat_cap)
        mod.sweep_sites(dem, grids, grid_index=np.arange(n), **kw, antennas=ant_m,
                        res_x=RES_X, res_y=RES_Y, radius_m=np.full(n, 9000.0),
                        ray_radius_m=10_000.0, rx_height_m=1.5, k_factor=4 / 3, model=1,
                        mode=mode, depth=depth)
        out[name] = grids
    for got, want in zip(out["got"], out["want"], strict=True):
        _assert_same(got, want)


@pytest.mark.slow
def test_coverage_matches_reference_on_mini_sample(ref, tiny_bundle, monkeypatch) -> None:
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.layers.settings import DEFAULT

    # the frozen kernel predates P.452-14's correction (mode 4, checked against its own
    # reference function on SRTM profiles): compare the three edges it knows
    settings = DEFAULT.replace(diffraction="deygout")
    got = compute_coverage(tiny_bundle, settings=settings)
    monkeypatch.setattr(_kernels, "sweep_sites", ref.sweep_sites)
    want = compute_coverage(tiny_bundle, settings=settings)
    assert got.best_dbm.keys() == want.best_dbm.keys()
    for key in got.best_dbm:
        _assert_same(got.best_dbm[key], want.best_dbm[key])
