"""Longley-Rice Irregular Terrain Model (ITM 1.2.2), point-to-point mode, compiled (numba).

Written from the published algorithm: G. A. Hufford, *The ITS Irregular Terrain Model,
version 1.2.2: the Algorithm* (NTIA/ITS, 1995) and A. G. Longley, P. L. Rice, *Prediction of
tropospheric radio transmission loss over irregular terrain* (ESSA Tech. Rep. ERL 79-ITS 67,
1968) — the same algorithm as NTIA's reference code and SPLAT!'s ``-olditm``. Section numbers
below are Hufford's.

What is computed
----------------
For a terrain profile ``z[0..np]`` sampled every ``xi`` metres from the transmitter (index 0)
to the receiver (index ``np``), antennas ``hg0``/``hg1`` metres above the ground there:

* preparatory, §41 ``qlrps``: wave number ``wn = f/47.7``; surface refractivity
  ``Ns = N0 exp(−zsys/9460)``, with ``zsys`` the mean profile elevation between 10 % and 90 %
  of the path (as NTIA's and SPLAT!'s point-to-point drivers); effective curvature
  ``γe = 157e-9 (1 − 0.04665 exp(Ns/179.3))``; ground impedance from (ε, σ, polarisation);
* §43 ``qlrpfl``: horizons (``hzns``, §47), terrain irregularity Δh (``dlthx``, §48: the
  interdecile range of the profile, detrended by least squares, ``zlsq1``), effective heights;
* §4–§9 ``lrprop``: reference attenuation in the line-of-sight, diffraction or
  troposcatter range;
* §10–§13 ``avar``: quantiles of time, location and situation variability for the climate.

Basic transmission loss = free-space loss ``32.45 + 20 log f + 20 log d_km`` + ``avar``.

Two drivers share that code:

* :func:`p2p_loss` — one profile, every step done directly (O(np)); the reference path;
* :func:`sweep_sites` — the project's radial sweep (see :mod:`gis._kernels`): along each ray
  the profile grows one DEM cell at a time and ITM is evaluated at every sample some grid cell
  takes. Horizons come from the upper convex hull of the profile (in a frame lowered by
  ``γe0 d²/2``, ``γe0`` the site's curvature), least-squares fits from running sums, so a
  sample costs O(Δh's 35–245 points) instead of O(np). The horizon angles are then evaluated
  with the profile's own ``γe``; the vertex found differs from a direct search only when two
  horizon candidates are within ``|γe − γe0| d / 2`` (a few 1e-5 rad) of each other.

Variability (``mdvar``): 0 single-message, 1 individual, 2 mobile, 3 broadcast; ``+10`` drops
location variability (the point-to-point convention; SPLAT! uses 12), ``+20`` drops situation
variability. ``zt``, ``zl``, ``zc`` are the standard normal deviates of the time, location and
situation fractions (:func:`qerfi`).

ITM is specified for 1 km ≤ d ≤ 2000 km, 20 MHz ≤ f ≤ 20 GHz and antennas 0.5–3000 m; like
SPLAT! the sweep evaluates shorter paths too (the line-of-sight formulas stay finite).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import cgutils
from numba.extending import intrinsic

from phusong.gis import _kernels

__all__ = ["ItmParams", "ground_impedance", "p2p_loss", "point_power", "qerfi",
           "sweep_sites"]

_THIRD = 1.0 / 3.0
#: fast-math flags without "nnan"/"ninf": off-grid samples are NaN and never win the maximum
_FM = {"nsz", "arcp", "contract", "afn", "reassoc"}
#: … without "arcp" where a quotient decides an integer (ITM's sample indices and counts):
#: x1 / xi, not x1 · (1 / xi), whose last bit can fall on the other side of an integer
_FM_INDEX = _FM - {"arcp"}
_GMA = 157e-9

# climate constants of avar (§11), columns = climates 1..7
_CLIM = np.array([
    [-9.67, -0.62, 1.26, -9.21, -0.62, -0.39, 3.15],               # bv1
    [12.7, 9.19, 15.5, 9.05, 9.19, 2.86, 857.9],                   # bv2
    [144.9e3, 228.9e3, 262.6e3, 84.1e3, 228.9e3, 141.7e3, 2222.e3],  # xv1
    [190.3e3, 205.2e3, 185.2e3, 101.1e3, 205.2e3, 315.9e3, 164.8e3],  # xv2
    [133.8e3, 143.6e3, 99.8e3, 98.6e3, 143.6e3, 167.4e3, 116.3e3],  # xv3
    [2.13, 2.66, 6.11, 1.98, 2.68, 6.86, 8.51],                    # bsm1
    [159.5, 7.67, 6.65, 13.11, 7.16, 10.38, 169.8],                # bsm2
    [762.2e3, 100.4e3, 138.2e3, 139.1e3, 93.7e3, 187.8e3, 609.8e3],  # xsm1
    [123.6e3, 172.5e3, 242.2e3, 132.7e3, 186.8e3, 169.6e3, 119.9e3],  # xsm2
    [94.5e3, 136.4e3, 178.6e3, 193.5e3, 133.5e3, 108.9e3, 106.6e3],  # xsm3
    [2.11, 6.87, 10.08, 3.68, 4.75, 8.58, 8.43],                   # bsp1
    [102.3, 15.53, 9.60, 159.3, 8.12, 13.97, 8.19],                # bsp2
    [636.9e3, 138.7e3, 165.3e3, 464.4e3, 93.2e3, 216.0e3, 136.2e3],  # xsp1
    [134.8e3, 143.7e3, 225.7e3, 93.1e3, 135.9e3, 152.0e3, 188.5e3],  # xsp2
    [95.6e3, 98.6e3, 129.7e3, 94.2e3, 113.4e3, 122.7e3, 122.9e3],  # xsp3
    [1.224, 0.801, 1.380, 1.000, 1.224, 1.518, 1.518],             # bsd1
    [1.282, 2.161, 1.282, 20., 1.282, 1.282, 1.282],               # bzd1
    [1.0, 1.0, 1.0, 1.0, 0.92, 1.0, 1.0],                          # bfm1
    [0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0],                          # bfm2
    [0.0, 0.0, 0.0, 0.0, 1.77, 0.0, 0.0],                          # bfm3
    [1.0, 0.93, 1.0, 0.93, 0.93, 1.0, 1.0],                        # bfp1
    [0.0, 0.31, 0.0, 0.19, 0.31, 0.0, 0.0],                        # bfp2
    [0.0, 2.00, 0.0, 1.79, 2.00, 0.0, 0.0],                        # bfp3
])


def qerfi(q: float) -> float:
    """Inverse of the standard normal complementary distribution (Hastings; ITM's qerfi)."""
    c0, c1, c2 = 2.515516698, 0.802853, 0.010328
    d1, d2, d3 = 1.432788, 0.189269, 0.001308
    x = 0.5 - q
    t = max(0.5 - abs(x), 0.000001)
    t = math.sqrt(-2.0 * math.log(t))
    v = t - ((c2 * t + c1) * t + c0) / (((d3 * t + d2) * t + d1) * t + 1.0)
    return -v if x < 0.0 else v


def ground_impedance(freq_mhz: float, permittivity: float, conductivity_s_m: float,
                     vertical: bool) -> complex:
    """ITM's surface transfer impedance ``zgnd`` (§41)."""
    wn = freq_mhz / 47.7
    zq = complex(permittivity, 376.62 * conductivity_s_m / wn)
    z = np.sqrt(zq - 1.0)
    return complex(z / zq if vertical else z)


# ------------------------------------------------------------------------------------------
# elementary functions (§14–§20)

@nb.njit(cache=True, fastmath=_FM)
def _aknfe(v2: float) -> float:
    if v2 < 5.76:
        return 6.02 + 9.11 * math.sqrt(max(v2, 0.0)) - 1.27 * v2
    return 12.953 + 4.343 * math.log(v2)


@nb.njit(cache=True, fastmath=_FM)
def _fht(x: float, pk: float) -> float:
    if x < 200.0:
        w = -math.log(pk)
        if pk < 1.0e-5 or x * w * w * w > 5495.0:
            f = -117.0
            if x > 1.0:
                f = 17.372 * math.log(x) + f
        else:
            f = 2.5e-5 * x * x / pk - 8.686 * w - 15.0
    else:
        f = 0.05751 * x - 4.343 * math.log(x)
        if x < 2000.0:
            w = 0.0134 * x * math.exp(-0.005 * x)
            f = (1.0 - w) * f + w * (17.372 * math.log(x) - 117.0)
    return f


@nb.njit(cache=True, fastmath=_FM)
def _h0f(r: float, et: float) -> float:
    a0 = (25.0, 80.0, 177.0, 395.0, 705.0)
    b0 = (24.0, 45.0, 68.0, 80.0, 105.0)
    it = int(et)
    if it <= 0:
        it = 1
        q = 0.0
    elif it >= 5:
        it = 5
        q = 0.0
    else:
        q = et - it
    x = (1.0 / r) ** 2
    h = 4.343 * math.log((a0[it - 1] * x + b0[it - 1]) * x + 1.0)
    if q != 0.0:
        h = (1.0 - q) * h + q * 4.343 * math.log((a0[it] * x + b0[it]) * x + 1.0)
    return h


@nb.njit(cache=True, fastmath=_FM)
def _ahd(td: float) -> float:
    if td <= 10e3:
        return 133.4 + 0.332e-3 * td - 4.343 * math.log(td)
    if td <= 70e3:
        return 104.6 + 0.212e-3 * td - 1.086 * math.log(td)
    return 71.8 + 0.157e-3 * td + 2.171 * math.log(td)


@nb.njit(cache=True, fastmath=_FM)
def _curve(c1: float, c2: float, x1: float, x2: float, x3: float, de: float) -> float:
    r = (de / x1) ** 2
    return (c1 + c2 / (1.0 + ((de - x2) / x3) ** 2)) * r / (1.0 + r)


@nb.njit(cache=True, fastmath=_FM_INDEX, error_model="numpy")
def _zlsq1_sums(z: np.ndarray, p0: np.ndarray, p1: np.ndarray, xn: float, xi: float,
                x1: float, x2: float) -> tuple[float, float]:
    """Least-squares line through ``z`` between x1 and x2 (ITM's ``zlsq1``, §53, trapezoid
    weights): heights at 0 and at xn·xi, from running sums ``p0[i] = Σ z[:i+1]``,
    ``p1[i] = Σ j z[j]`` (O(1) instead of ITM's loop over the samples)."""
    xa = float(int(max(x1 / xi, 0.0)))
    xb = xn - int(max(xn - x2 / xi, 0.0))
    if xb <= xa:
        xa = max(xa - 1.0, 0.0)
        xb = xn - max(xn - (xb + 1.0), 0.0)
    ja = int(xa)
    jb = int(xb)
    n = jb - ja
    xa = xb - xa
    c = ja + 0.5 * n
    s0 = 0.0
    s1 = 0.0
    if n >= 2:
        s0 = p0[jb - 1] - p0[ja]
        s1 = p1[jb - 1] - p1[ja]
    a = 0.5 * (z[ja] + z[jb]) + s0
    b = 0.5 * (z[jb] - z[ja]) * (0.5 * n) + (s1 - c * s0)
    a /= xa
    b = b * 12.0 / ((xa * xa + 2.0) * xa)
    xbc = jb - 0.5 * n
    return a - b * xbc, a + b * (xn - xbc)


@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def _select_desc(a: np.ndarray, n: int, k: int) -> float:
    """The k-th largest (0-based) of a[:n] (quickselect; reorders a)."""
    lo = 0
    hi = n - 1
    while hi > lo:
        pivot = a[(lo + hi) // 2]
        i = lo
        j = hi
        while i <= j:
            while a[i] > pivot:
                i += 1
            while a[j] < pivot:
                j -= 1
            if i <= j:
                t = a[i]
                a[i] = a[j]
                a[j] = t
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return a[k]
    return a[k]


def _fast_minmax(name: str):
    """``llvm.minnum``/``llvm.maxnum`` with fast-math flags: a min/max that LLVM turns into a
    vector reduction (numba's ``min``/``max`` compile to compare-and-select chains it does not
    vectorise). Operands are finite here."""
    @intrinsic
    def f(typingctx, a, b):
        def codegen(context, builder, signature, args):
            fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType(), ir.DoubleType()])
            fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.{name}.f64")
            return builder.call(fn, args, fastmath=("fast",))
        return nb.float64(nb.float64, nb.float64), codegen
    return f


_fmin = _fast_minmax("minnum")
_fmax = _fast_minmax("maxnum")
#: stands for "no such value" in the reductions below (finite: the flags assume no infinities)
_BIG = 1e300
#: steps of the rank walks below before quickselect decides instead
_WALK_STEPS = 8


@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def _rank_up(a: np.ndarray, n: int, k: int, t: float, strict: bool) -> float:
    """From a value t of ``a`` with at least k values on its outer side, step towards the
    centre to the k-th largest (``strict``) or the k-th smallest of a[:n]; NaN after
    :data:`_WALK_STEPS` steps.

    k-th largest: #(a ≥ t) ≥ k holds; while #(a > t) ≥ k, t moves to the next value up.
    k-th smallest: #(a ≤ t) ≥ k holds; while #(a < t) ≥ k, t moves to the next value down.
    Each step is one vectorised pass (a count and a masked min/max).
    """
    for _ in range(_WALK_STEPS):
        c = 0
        if strict:
            m = _BIG
            for j in range(n):
                v = a[j]
                c += v > t
                m = _fmin(m, v if v > t else _BIG)
        else:
            m = -_BIG
            for j in range(n):
                v = a[j]
                c += v < t
                m = _fmax(m, v if v < t else -_BIG)
        if c < k:
            return t
        t = m
    return np.nan


@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def _rank_out(a: np.ndarray, n: int, k: int, t: float, upper: bool) -> float:
    """As :func:`_rank_up` from the other side: the k-th largest (``upper``) when
    #(a > t) < k, walking down; the k-th smallest when #(a < t) < k, walking up."""
    for _ in range(_WALK_STEPS):
        c = 0
        if upper:
            m = -_BIG
            for j in range(n):
                v = a[j]
                c += v >= t
                m = _fmax(m, v if v < t else -_BIG)
        else:
            m = _BIG
            for j in range(n):
                v = a[j]
                c += v <= t
                m = _fmin(m, v if v > t else _BIG)
        if c >= k:
            return t
        t = m
    return np.nan


@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def _detrend_deciles(s: np.ndarray, n: int, k: int, z0: float, b: float, gh: float,
                     gl: float) -> tuple[float, float]:
    """Detrend s[:n] in place (s[j] −= z0 + j b) and return its k-th largest and k-th
    smallest values, starting from guesses gh, gl (the previous profile's): one pass counts
    the values on each side of each guess and finds the nearest ones, then the rank walks
    above step value by value (almost always 0–2 steps). NaN where a walk gave up."""
    ch = 0
    cl = 0
    mh = _BIG    # smallest r ≥ gh
    xh = -_BIG   # largest r < gh
    ml = _BIG    # smallest r > gl
    xl = -_BIG   # largest r ≤ gl
    for j in range(n):
        r = s[j] - (z0 + j * b)
        s[j] = r
        ch += r >= gh
        cl += r <= gl
        mh = _fmin(mh, r if r >= gh else _BIG)
        xh = _fmax(xh, r if r < gh else -_BIG)
        ml = _fmin(ml, r if r > gl else _BIG)
        xl = _fmax(xl, r if r <= gl else -_BIG)
    # #(r ≥ mh) = ch = #(r > xh); #(r ≤ xl) = cl = #(r < ml)
    if ch == k:
        hi = mh             # k values ≥ mh, fewer than k above it
    elif ch == k - 1:
        hi = xh             # k − 1 values above xh, at least k from xh up
    elif ch > k:
        hi = _rank_up(s, n, k, mh, True)
    else:
        hi = _rank_out(s, n, k, xh, True)
    if cl == k:
        lo = xl
    elif cl == k - 1:
        lo = ml
    elif cl > k:
        lo = _rank_up(s, n, k, xl, False)
    else:
        lo = _rank_out(s, n, k, ml, False)
    return hi, lo


@nb.njit(cache=True, fastmath=_FM_INDEX, error_model="numpy")
def _dlthx(z: np.ndarray, np_: int, xi: float, x1: float, x2: float, s: np.ndarray,
           guess: np.ndarray) -> float:
    """Terrain irregularity Δh between x1 and x2 (§48): interdecile range, detrended.

    The profile is resampled at n = 10 ka − 5 points (linear interpolation), fitted by
    least squares (ITM's ``zlsq1``, trapezoid weights; here from sums taken while resampling),
    and Δh is the ka-th largest minus the ka-th smallest residual, scaled by
    1/(1 − 0.8 exp(−(x2 − x1)/50 km)). ``s`` needs 245 entries.

    ``guess`` = (upper, lower, valid) carries the deciles of the previous, similar profile
    along a ray: the detrending pass also counts the residuals on each side of each guess,
    and the exact deciles are reached from there value by value (:func:`_detrend_deciles`);
    without a guess, or when that walk is long, quickselect decides. Either way the result is
    exact.
    """
    xa = x1 / xi
    xb = x2 / xi
    if not xb - xa >= 2.0:  # also NaN
        return 0.0
    ka = int(0.1 * (xb - xa + 8.0))
    ka = min(max(4, ka), 25)
    n = 10 * ka - 5
    sn = float(n - 1)
    dx = (xb - xa) / sn
    k = int(xa + 1.0)
    s0 = 0.0
    s1 = 0.0
    # ITM walks k up to the first sample at or after the position, from int(xa) + 1 and at
    # most np. Within the profile (0 ≤ xa, xb ≤ np: what _effective passes) both bounds can
    # bind at the ends only (dx > 0), clamped there alone; elsewhere every sample is clamped
    if xa >= 0.0 and xb <= np_:
        one = nb.uint64(1)
        for j in range(1, n - 1):
            p = xa + j * dx
            c = np.ceil(p)
            kk = nb.uint64(c)  # unsigned: no negative-index wrap test per sample
            s[j] = z[kk] + (z[kk] - z[kk - one]) * (p - c)
        step = n - 1  # then j = 0 and n − 1 below
    else:
        step = 1      # every j below
    for j in range(0, n, step):
        p = xa + j * dx
        kk = min(max(math.ceil(p), k, 1), np_)
        s[j] = z[kk] + (z[kk] - z[kk - 1]) * (p - kk)
    for j in range(n):  # a separate loop: vectorised
        v = s[j]
        s0 += v
        s1 += j * v
    c = 0.5 * sn
    a = (s0 - 0.5 * (s[0] + s[n - 1])) / sn
    b = (s1 - c * s0 + 0.5 * c * (s[0] - s[n - 1])) * 12.0 / ((sn * sn + 2.0) * sn)
    z0 = a - b * c
    if guess[2] > 0.0 and guess[0] == guess[0] and guess[1] == guess[1]:  # not NaN
        hi, lo = _detrend_deciles(s, n, ka, z0, b, guess[0], guess[1])
    else:
        for j in range(n):
            s[j] -= z0 + j * b
        hi = lo = np.nan
    if hi != hi:
        hi = _select_desc(s, n, ka - 1)
    if lo != lo:
        lo = _select_desc(s, n, n - ka)
    guess[2] = 1.0
    guess[0] = hi
    guess[1] = lo
    return (hi - lo) / (1.0 - 0.8 * math.exp(-(x2 - x1) / 50.0e3))


# ------------------------------------------------------------------------------------------
# constants of one frequency (computed once per band, not per path)

@nb.njit(cache=True, fastmath=_FM)
def _band_consts(freq_mhz: float, zgnd: complex, clim: np.ndarray) -> tuple:
    """(wn, free-space loss at 1 km, γm and γp of avar (§11), the exa term of avar
    ((575.7e12/wn)^⅓), ln(47.7 wn), 1/|zgnd|, Re zgnd, Im zgnd) of one frequency."""
    wn = freq_mhz / 47.7
    q = math.log(0.133 * wn)
    gm = clim[17] + clim[18] / ((clim[19] * q) ** 2 + 1.0)
    gp = clim[20] + clim[21] / ((clim[22] * q) ** 2 + 1.0)
    return (wn, 32.45 + 20.0 * math.log10(freq_mhz), gm, gp, (575.7e12 / wn) ** _THIRD,
            math.log(47.7 * wn), 1.0 / abs(zgnd), zgnd.real, zgnd.imag)


@nb.njit(cache=True)
def _band_table(freq: np.ndarray, zgnd: np.ndarray, clim: np.ndarray) -> np.ndarray:
    """:func:`_band_consts` of each frequency, one row each (the sweep's per-band input)."""
    out = np.empty((freq.shape[0], 9))
    for b in range(freq.shape[0]):
        c = _band_consts(freq[b], zgnd[b], clim)
        for q in range(9):
            out[b, q] = c[q]
    return out


@nb.njit(cache=True, inline="always")
def _band_row(table: np.ndarray, b: int) -> tuple:
    return (table[b, 0], table[b, 1], table[b, 2], table[b, 3], table[b, 4], table[b, 5],
            table[b, 6], table[b, 7], table[b, 8])


# ------------------------------------------------------------------------------------------
# lrprop (§4–§9), point-to-point (mdp = −1)

@nb.njit(cache=True, fastmath=_FM)
def _ascat(d: float, he0: float, he1: float, the0: float, the1: float, tha: float,
           gme: float, wn: float, ens: float, ad: float, rr: float, etq: float,
           h0s: float) -> tuple[float, float]:
    """Troposcatter attenuation (§22); returns (A, new h0s); 1001 when not applicable."""
    if h0s > 15.0:
        h0 = h0s
    else:
        th = the0 + the1 + d * gme
        r2 = 2.0 * wn * th
        r1 = r2 * he0
        r2 = r2 * he1
        if r1 < 0.2 and r2 < 0.2:
            return 1001.0, h0s
        ss = (d - ad) / (d + ad)
        q = rr / ss
        ss = max(0.1, ss)
        q = min(max(0.1, q), 10.0)
        z0 = (d - ad) * (d + ad) * th * 0.25 / d
        t = min(1.7, z0 / 8.0e3)
        et = (etq * math.exp(-(t ** 6)) + 1.0) * z0 / 1.7556e3
        ett = max(et, 1.0)
        h0 = (_h0f(r1, ett) + _h0f(r2, ett)) * 0.5
        h0 += min(h0, (1.38 - math.log(ett)) * math.log(ss) * math.log(q) * 0.49)
        h0 = max(h0, 0.0)
        if et < 1.0:
            h0 = et * h0 + (1.0 - et) * 4.343 * math.log(
                ((1.0 + 1.4142 / r1) * (1.0 + 1.4142 / r2)) ** 2 * (r1 + r2)
                / (r1 + r2 + 2.8284))
        if h0 > 15.0 and h0s >= 0.0:
            h0 = h0s
    th = tha + d * gme
    a = _ahd(th * d) + 4.343 * math.log(47.7 * wn * th ** 4) \
        - 0.1 * (ens - 301.0) * math.exp(-th * d / 40e3) + h0
    return a, h0


@nb.njit(cache=True, fastmath=_FM)
def _lrprop(dist: float, hg0: float, hg1: float, he0: float, he1: float, dl0: float,
            dl1: float, the0: float, the1: float, dh: float, gme: float, ens: float,
            band: tuple) -> tuple[float, bool]:
    """Reference attenuation ``aref`` (dB over free space) and whether d < d_LS; ``band``
    from :func:`_band_consts`."""
    wn = band[0]
    zgnd = complex(band[7], band[8])
    dls0 = math.sqrt(2.0 * he0 / gme)
    dls1 = math.sqrt(2.0 * he1 / gme)
    dlsa = dls0 + dls1
    dla = dl0 + dl1
    tha = max(the0 + the1, -dla * gme)
    # adiff(0): diffraction constants (§10)
    q = hg0 * hg1
    qk = he0 * he1 - q
    q += 10.0  # point-to-point
    wd1 = math.sqrt(1.0 + qk / q)
    xd1 = dla + tha / gme
    q = (1.0 - 0.8 * math.exp(-dlsa / 50e3)) * dh
    q = 0.78 * q * math.exp(-math.sqrt(math.sqrt(q / 16.0)))
    afo = min(15.0, 2.171 * math.log(1.0 + 4.77e-4 * hg0 * hg1 * wn * q))
    qk = band[6]
    aht = 20.0
    xht = 0.0
    for j in range(2):
        dl = dl0 if j == 0 else dl1
        he = he0 if j == 0 else he1
        a = 0.5 * dl * dl / he
        wa = (a * wn) ** _THIRD
        pk = qk / wa
        q = (1.607 - pk) * 151.0 * wa * dl / a
        xht += q
        aht += _fht(q, pk)
    xae = (wn * gme * gme) ** (-_THIRD)
    d3 = max(dlsa, 1.3787 * xae + dla)
    d4 = d3 + 2.7574 * xae
    a3 = 0.0
    a4 = 0.0
    for m in range(2):
        d = d3 if m == 0 else d4
        th = tha + d * gme
        ds = d - dla
        q = 0.0795775 * wn * ds * th * th
        adf = _aknfe(q * dl0 / (ds + dl0)) + _aknfe(q * dl1 / (ds + dl1))
        a = ds / th
        wa = (a * wn) ** _THIRD
        pk = qk / wa
        q = (1.607 - pk) * 151.0 * wa * th + xht
        ar = 0.05751 * q - 4.343 * math.log(q) - aht
        q = (wd1 + xd1 / d) * min((1.0 - 0.8 * math.exp(-d / 50e3)) * dh * wn, 6283.2)
        wd = 25.1 / (25.1 + math.sqrt(q))
        adf = ar * wd + (1.0 - wd) * adf + afo
        if m == 0:
            a3 = adf
        else:
            a4 = adf
    emd = (a4 - a3) / (d4 - d3)
    aed = a3 - emd * d3
    if dist < dlsa:
        # line of sight (§5–§7)
        wls = 0.021 / (0.021 + wn * dh / max(10e3, dlsa))
        d2 = dlsa
        a2 = aed + d2 * emd
        d0 = 1.908 * wn * he0 * he1
        if aed >= 0.0:
            d0 = min(d0, 0.5 * dla)
            d1 = d0 + 0.25 * (dla - d0)
        else:
            d1 = max(-aed / emd, 0.25 * dla)
        a1 = _alos(d1, dh, he0, he1, wn, zgnd, emd, aed, wls)
        if d0 < d1:
            a0 = _alos(d0, dh, he0, he1, wn, zgnd, emd, aed, wls)
            q = math.log(d2 / d0)
            ak2 = max(0.0, ((d2 - d0) * (a1 - a0) - (d1 - d0) * (a2 - a0))
                      / ((d2 - d0) * math.log(d1 / d0) - (d1 - d0) * q))
            if aed >= 0.0 or ak2 > 0.0:
                ak1 = (a2 - a0 - ak2 * q) / (d2 - d0)
                if ak1 < 0.0:
                    ak1 = 0.0
                    ak2 = max(a2 - a0, 0.0) / q
                    if ak2 == 0.0:
                        ak1 = emd
            else:
                ak2 = 0.0
                ak1 = (a2 - a1) / (d2 - d1)
                if ak1 <= 0.0:
                    ak1 = emd
        else:
            ak1 = (a2 - a1) / (d2 - d1)
            ak2 = 0.0
            if ak1 <= 0.0:
                ak1 = emd
        ael = a2 - ak1 * d2 - ak2 * math.log(d2)
        aref = ael + ak1 * dist + ak2 * math.log(dist)
        return max(aref, 0.0), True
    # diffraction (§8) or troposcatter (§9); dx ≥ dla + 0.3 xae ln(47.7 wn) whatever the
    # scatter line, so below that distance the diffraction line holds without computing it
    lwn = band[5]
    if dist <= dla + 0.3 * xae * lwn:
        return max(aed + emd * dist, 0.0), False
    ad = dl0 - dl1
    rr = he1 / he0
    if ad < 0.0:
        ad = -ad
        rr = 1.0 / rr
    etq = (5.67e-6 * ens - 2.32e-3) * ens + 0.031
    d5 = dla + 200e3
    d6 = d5 + 200e3
    a6, h0s = _ascat(d6, he0, he1, the0, the1, tha, gme, wn, ens, ad, rr, etq, -15.0)
    a5, h0s = _ascat(d5, he0, he1, the0, the1, tha, gme, wn, ens, ad, rr, etq, h0s)
    if a5 < 1000.0:
        ems = (a6 - a5) / 200e3
        dx = max(dlsa, max(dla + 0.3 * xae * lwn,
                           (a5 - aed - ems * d5) / (emd - ems)))
        aes = (emd - ems) * dx + aed
    else:
        ems = emd
        aes = aed
        dx = 10.0e6
    if dist > dx:
        aref = aes + ems * dist
    else:
        aref = aed + emd * dist
    return max(aref, 0.0), False


@nb.njit(cache=True, fastmath=_FM)
def _alos(d: float, dh: float, he0: float, he1: float, wn: float, zgnd: complex, emd: float,
          aed: float, wls: float) -> float:
    """Line-of-sight attenuation (§6): two-ray with rough-ground reflection, blended."""
    q = (1.0 - 0.8 * math.exp(-d / 50e3)) * dh
    s = 0.78 * q * math.exp(-math.sqrt(math.sqrt(q / 16.0)))
    q = he0 + he1
    sps = q / math.sqrt(d * d + q * q)
    r = (sps - zgnd) / (sps + zgnd) * math.exp(-min(10.0, wn * s * sps))
    q = r.real * r.real + r.imag * r.imag
    if q < 0.25 or q < sps:
        r = r * math.sqrt(sps / q)
    a = emd * d + aed
    q = wn * he0 * he1 * 2.0 / d
    if q > 1.57:
        q = 3.14 - 2.4649 / q
    c = complex(math.cos(q), -math.sin(q)) + r
    return (-4.343 * math.log(c.real * c.real + c.imag * c.imag) - a) * wls + a


# ------------------------------------------------------------------------------------------
# avar (§10–§13)

@nb.njit(cache=True, fastmath=_FM)
def _avar(aref: float, dist: float, he0: float, he1: float, dh: float, band: tuple,
          clim: np.ndarray, mdvar: int, zzt: float, zzl: float, zzc: float) -> float:
    """Quantile of attenuation over free space for the variability deviates zt, zl, zc."""
    wn = band[0]
    kdv = mdvar
    ws = kdv >= 20
    if ws:
        kdv -= 20
    wl = kdv >= 10
    if wl:
        kdv -= 10
    if kdv < 0 or kdv > 3:
        kdv = 0
    gm = band[2]
    gp = band[3]
    dexa = math.sqrt(18e6 * he0) + math.sqrt(18e6 * he1) + band[4]
    if dist < dexa:
        de = 130e3 * dist / dexa
    else:
        de = 130e3 + dist - dexa
    vmd = _curve(clim[0], clim[1], clim[2], clim[3], clim[4], de)
    sgtm = _curve(clim[5], clim[6], clim[7], clim[8], clim[9], de) * gm
    sgtp = _curve(clim[10], clim[11], clim[12], clim[13], clim[14], de) * gp
    sgtd = sgtp * clim[15]
    zd = clim[16]
    tgtd = (sgtp - sgtd) * zd
    if wl:
        sgl = 0.0
    else:
        q = (1.0 - 0.8 * math.exp(-dist / 50e3)) * dh * wn
        sgl = 10.0 * q / (q + 13.0)
    vs0 = 0.0 if ws else (5.0 + 3.0 * math.exp(-de / 100e3)) ** 2
    zt = zzt
    zl = zzl
    zc = zzc
    if kdv == 0:
        zt = zc
        zl = zc
    elif kdv == 1:
        zl = zc
    elif kdv == 2:
        zl = zt
    if zt < 0.0:
        sgt = sgtm
    elif zt <= zd:
        sgt = sgtp
    else:
        sgt = sgtd + tgtd / zt
    vs = vs0 + (sgt * zt) ** 2 / (7.8 + zc * zc) + (sgl * zl) ** 2 / (24.0 + zc * zc)
    if kdv == 0:
        yr = 0.0
        sgc = math.sqrt(sgt * sgt + sgl * sgl + vs)
    elif kdv == 1:
        yr = sgt * zt
        sgc = math.sqrt(sgl * sgl + vs)
    elif kdv == 2:
        yr = math.sqrt(sgt * sgt + sgl * sgl) * zt
        sgc = math.sqrt(vs)
    else:
        yr = sgt * zt + sgl * zl
        sgc = math.sqrt(vs)
    a = aref - vmd - yr - sgc * zc
    if a < 0.0:
        a = a * (29.0 - a) / (29.0 - 10.0 * a)
    return a


# ------------------------------------------------------------------------------------------
# point-to-point geometry (§43) and the whole loss

@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def _curvature(z: np.ndarray, p0: np.ndarray, np_: int, en0: float) -> tuple[float, float]:
    """(Ns, γe) of a profile: zsys = mean elevation from 10 % to 90 % of the path."""
    p10 = int(0.1 * np_)
    lo = p10
    hi = np_ - p10
    tot = p0[hi] - (p0[lo - 1] if lo > 0 else 0.0)
    zsys = tot / (hi - lo + 1)
    ens = en0
    if zsys != 0.0:
        ens = en0 * math.exp(-zsys / 9460.0)
    return ens, _GMA * (1.0 - 0.04665 * math.exp(ens / 179.3))


@nb.njit(cache=True)
def _effective(z: np.ndarray, p0: np.ndarray, p1: np.ndarray, np_: int, xi: float,
               hg0: float, hg1: float, the0: float, the1: float, dl0: float, dl1: float,
               gme: float, s: np.ndarray, guess: np.ndarray) -> tuple:
    """Δh and effective heights / horizons of qlrpfl (§43) from the horizons of hzns."""
    dist = np_ * xi
    xl0 = min(15.0 * hg0, 0.1 * dl0)
    xl1 = dist - min(15.0 * hg1, 0.1 * dl1)
    dh = _dlthx(z, np_, xi, xl0, xl1, s, guess)
    xn = float(np_)
    if dl0 + dl1 > 1.5 * dist:
        za, zb = _zlsq1_sums(z, p0, p1, xn, xi, xl0, xl1)
        he0 = hg0 + max(z[0] - za, 0.0)
        he1 = hg1 + max(z[np_] - zb, 0.0)
        q0 = math.sqrt(2.0 * he0 / gme)
        q1 = math.sqrt(2.0 * he1 / gme)
        dl0 = q0 * math.exp(-0.07 * math.sqrt(dh / max(he0, 5.0)))
        dl1 = q1 * math.exp(-0.07 * math.sqrt(dh / max(he1, 5.0)))
        q = dl0 + dl1
        if q <= dist:
            q = (dist / q) ** 2
            he0 *= q
            he1 *= q
            dl0 = math.sqrt(2.0 * he0 / gme) * math.exp(-0.07 * math.sqrt(dh / max(he0, 5.0)))
            dl1 = math.sqrt(2.0 * he1 / gme) * math.exp(-0.07 * math.sqrt(dh / max(he1, 5.0)))
        q0 = math.sqrt(2.0 * he0 / gme)
        q1 = math.sqrt(2.0 * he1 / gme)
        the0 = (0.65 * dh * (q0 / dl0 - 1.0) - 2.0 * he0) / q0
        the1 = (0.65 * dh * (q1 / dl1 - 1.0) - 2.0 * he1) / q1
    else:
        za, _q = _zlsq1_sums(z, p0, p1, xn, xi, xl0, 0.9 * dl0)
        _q, zb = _zlsq1_sums(z, p0, p1, xn, xi, dist - 0.9 * dl1, xl1)
        he0 = hg0 + max(z[0] - za, 0.0)
        he1 = hg1 + max(z[np_] - zb, 0.0)
    return dh, he0, he1, dl0, dl1, the0, the1


@nb.njit(cache=True, fastmath=_FM)
def _loss(dist: float, hg0: float, hg1: float, he0: float, he1: float, dl0: float,
          dl1: float, the0: float, the1: float, dh: float, gme: float, ens: float,
          band: tuple, clim: np.ndarray, mdvar: int, zt: float, zl: float,
          zc: float) -> float:
    """Basic transmission loss (dB): free space + avar(lrprop)."""
    aref, _los = _lrprop(dist, hg0, hg1, he0, he1, dl0, dl1, the0, the1, dh, gme, ens, band)
    fs = band[1] + 20.0 * math.log10(dist / 1000.0)
    return fs + _avar(aref, dist, he0, he1, dh, band, clim, mdvar, zt, zl, zc)


@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def _hzns(z: np.ndarray, np_: int, xi: float, hg0: float, hg1: float,
          gme: float) -> tuple[float, float, float, float]:
    """Horizon angles and distances (§47), searched directly along the profile."""
    dist = np_ * xi
    za = z[0] + hg0
    zb = z[np_] + hg1
    qc = 0.5 * gme
    q = qc * dist
    t1 = (zb - za) / dist
    the0 = t1 - q
    the1 = -t1 - q
    dl0 = dist
    dl1 = dist
    sa = 0.0
    sb = dist
    wq = True
    for i in range(1, np_):
        sa += xi
        sb -= xi
        q = z[i] - (qc * sa + the0) * sa - za
        if q > 0.0:
            the0 += q / sa
            dl0 = sa
            wq = False
        if not wq:
            q = z[i] - (qc * sb + the1) * sb - zb
            if q > 0.0:
                the1 += q / sb
                dl1 = sb
    return the0, the1, dl0, dl1


@nb.njit(cache=True)
def _p2p_one(z: np.ndarray, np_: int, xi: float, hg0: float, hg1: float, freq_mhz: float,
             en0: float, zgnd: complex, clim: np.ndarray, mdvar: int, zt: float, zl: float,
             zc: float, p0: np.ndarray, p1: np.ndarray, s: np.ndarray) -> float:
    for i in range(np_ + 1):
        p0[i] = z[i] + (p0[i - 1] if i > 0 else 0.0)
        p1[i] = i * z[i] + (p1[i - 1] if i > 0 else 0.0)
    ens, gme = _curvature(z, p0, np_, en0)
    the0, the1, dl0, dl1 = _hzns(z, np_, xi, hg0, hg1, gme)
    dh, he0, he1, dl0, dl1, the0, the1 = _effective(z, p0, p1, np_, xi, hg0, hg1, the0, the1,
                                                    dl0, dl1, gme, s, np.zeros(3))
    return _loss(np_ * xi, hg0, hg1, he0, he1, dl0, dl1, the0, the1, dh, gme, ens,
                 _band_consts(freq_mhz, zgnd, clim), clim, mdvar, zt, zl, zc)


def p2p_loss(profile_m: np.ndarray, step_m: float, *, tx_height_m: float, rx_height_m: float,
             freq_mhz: float, params: ItmParams | None = None) -> float:
    """ITM point-to-point basic transmission loss (dB) over one profile.

    Parameters
    ----------
    profile_m
        Ground elevations (m) from the transmitter (first) to the receiver (last), every
        ``step_m`` metres.
    tx_height_m, rx_height_m
        Antenna heights above the ground at either end.
    freq_mhz
        Frequency.
    params
        Climate, ground, refractivity, polarisation and variability (:class:`ItmParams`;
        default: continental temperate, N0 301, average ground, vertical, mdvar 12, 50 %).
    """
    z = np.ascontiguousarray(profile_m, dtype=float)
    np_ = len(z) - 1
    if np_ < 1:
        raise ValueError("a profile needs at least two points")
    if not (math.isfinite(step_m) and step_m > 0):
        raise ValueError(f"step_m {step_m}: must be a positive distance")
    for name, h in (("tx_height_m", tx_height_m), ("rx_height_m", rx_height_m)):
        if not (math.isfinite(h) and h >= 0):
            raise ValueError(f"{name} {h}: must be a height ≥ 0 above the ground")
    params = params or ItmParams()
    en0, clim, mdvar, zt, zl, zc = params.unpack()
    return float(_p2p_one(z, np_, float(step_m), float(tx_height_m), float(rx_height_m),
                          float(freq_mhz), en0, complex(params.zgnd(freq_mhz)[0]), clim, mdvar,
                          zt, zl, zc, np.empty(np_ + 1), np.empty(np_ + 1), np.empty(256)))


# ------------------------------------------------------------------------------------------
# radial sweep

@nb.njit(cache=True, error_model="numpy")
def _walk_itm(dem: np.ndarray, u0: float, v0: float, du: float, dv: float, step: float,
              k0: int, k1: int, hg0: float, hg1: float, qc0: float, z: np.ndarray,
              p0: np.ndarray, p1: np.ndarray, hd: np.ndarray, hz: np.ndarray, hi: np.ndarray,
              nh: int, lo: int, nb_: int, bands: np.ndarray,
              en0: float, clim: np.ndarray, mdvar: int, zt: float, zl: float, zc: float,
              out: np.ndarray, need: np.ndarray, s: np.ndarray, guess: np.ndarray) -> tuple:
    """Samples k0..k1 of a ray: out[b, k] = ITM loss (dB); NaN off-grid.

    ``z``/``p0``/``p1`` hold the profile and its running sums (indices < k0 filled);
    ``hd``/``hz``/``hi`` the upper hull (distance, height lowered by qc0 d², sample index) of
    {transmitter antenna, samples 1..k0−1}; ``lo`` the previous tangent vertex; ``guess``
    the Δh deciles of the profile before sample k0 (:func:`_dlthx`; speed only).
    """
    nr, nc = dem.shape
    if nh < 0:
        for b in range(nb_):
            for q in range(k0, k1 + 1):
                out[b, q] = np.nan
        return -1, 0
    # the helpers take unowned views (no atomic reference counting per cell; the caller
    # owns the arrays for the whole call)
    dem = _kernels.unowned(dem)
    z = _kernels.unowned(z)
    p0 = _kernels.unowned(p0)
    p1 = _kernels.unowned(p1)
    s = _kernels.unowned(s)
    guess = _kernels.unowned(guess)
    clim = _kernels.unowned(clim)
    bands = _kernels.unowned(bands)
    za = z[0] + hg0
    for k in range(k0, k1 + 1):
        u = u0 + k * du
        v = v0 + k * dv
        if u < -2.0 or v < -2.0 or u >= nc + 2.0 or v >= nr + 2.0:
            for b in range(nb_):
                for q in range(k, k1 + 1):
                    out[b, q] = np.nan
            return -1, 0
        # bilinear sample (cell centres at +0.5, clamped at the edge)
        x = min(max(u - 0.5, 0.0), nc - 1.0)
        y = min(max(v - 0.5, 0.0), nr - 1.0)
        j = min(int(x), nc - 2) if nc > 1 else 0
        i = min(int(y), nr - 2) if nr > 1 else 0
        fx = x - j
        fy = y - i
        j1 = min(j + 1, nc - 1)
        i1 = min(i + 1, nr - 1)
        zg = (dem[i, j] * (1.0 - fx) + dem[i, j1] * fx) * (1.0 - fy) + \
             (dem[i1, j] * (1.0 - fx) + dem[i1, j1] * fx) * fy
        d = k * step
        z[k] = zg
        p0[k] = p0[k - 1] + zg
        p1[k] = p1[k - 1] + k * zg
        if need.shape[0] == 1 or need[k] != 0:
            ens, gme = _curvature(z, p0, k, en0)
            qc = 0.5 * gme
            zb = zg + hg1
            zbh = zb - qc0 * d * d
            # transmitter horizon: hull vertex 1 (largest elevation angle from the antenna)
            los = True
            if nh >= 2:
                los = (hz[1] - za) * d <= (zbh - za) * hd[1]
            if los:
                t = (zb - za) / d
                the0 = t - qc * d
                the1 = -t - qc * d
                dl0 = d
                dl1 = d
            else:
                dv1 = hd[1]
                the0 = (z[hi[1]] - za) / dv1 - qc * dv1
                dl0 = dv1
                # receiver horizon: tangent vertex from the receiver
                jj = lo if lo < nh - 1 else nh - 1
                while jj >= 1 and (hz[jj] - hz[jj - 1]) * (d - hd[jj - 1]) <= \
                        (zbh - hz[jj - 1]) * (hd[jj] - hd[jj - 1]):
                    jj -= 1
                while jj + 1 < nh and (hz[jj + 1] - hz[jj]) * (d - hd[jj]) > \
                        (zbh - hz[jj]) * (hd[jj + 1] - hd[jj]):
                    jj += 1
                lo = jj
                if jj < 1:
                    jj = 1
                sb = d - hd[jj]
                the1 = (z[hi[jj]] - zb) / sb - qc * sb
                dl1 = sb
            dh, he0, he1, e0, e1, t0, t1 = _effective(z, p0, p1, k, step, hg0, hg1, the0,
                                                      the1, dl0, dl1, gme, s, guess)
            for b in range(nb_):
                out[b, k] = _loss(d, hg0, hg1, he0, he1, e0, e1, t0, t1, dh, gme, ens,
                                  _band_row(bands, b), clim, mdvar, zt, zl, zc)
        # push sample k onto the upper hull
        zh = zg - qc0 * d * d
        while nh >= 2:
            a_d = hd[nh - 2]
            a_z = hz[nh - 2]
            if (hz[nh - 1] - a_z) * (d - a_d) > (zh - a_z) * (hd[nh - 1] - a_d):
                break
            nh -= 1
        hd[nh] = d
        hz[nh] = zh
        hi[nh] = k
        nh += 1
    return nh, lo


@nb.njit(cache=True, parallel=True, error_model="numpy")
def _sweep_one(dem: np.ndarray, u0: float, v0: float, hg0: float, hg1: float, qc0: float,
               bands: np.ndarray, en0: float, clim: np.ndarray, mdvar: int,
               zt: float, zl: float, zc: float, gain: np.ndarray, nb_: int, res_x: float,
               res_y: float, step: float, n_samp: int, buf: np.ndarray,
               need: np.ndarray) -> None:
    """Received power (dBm) along every ray into buf[b, r, k]: ``gain[b, r] − loss``.

    Hierarchical rays as :func:`gis._kernels.sweep_sites`: a quarter of the rays run from the
    site to R/4, each splits in two to R/2 and again to R, the children inheriting the
    profile, running sums and hull.
    """
    n_rays = buf.shape[1]
    k1, k2 = _kernels.level_bounds(n_samp)
    n_base = n_rays // 4
    for bb in nb.prange(n_base):
        z0 = np.empty(n_samp + 1)
        a0 = np.empty(n_samp + 1)
        c0 = np.empty(n_samp + 1)
        z1 = np.empty(n_samp + 1)
        a1 = np.empty(n_samp + 1)
        c1_ = np.empty(n_samp + 1)
        h0d = np.empty(n_samp + 2)
        h0z = np.empty(n_samp + 2)
        h0i = np.empty(n_samp + 2, dtype=np.int64)
        h1d = np.empty(n_samp + 2)
        h1z = np.empty(n_samp + 2)
        h1i = np.empty(n_samp + 2, dtype=np.int64)
        h2d = np.empty(n_samp + 2)
        h2z = np.empty(n_samp + 2)
        h2i = np.empty(n_samp + 2, dtype=np.int64)
        s = np.empty(256)
        # the deciles of Δh at the end of each level: a child's first profile is its
        # parent's last plus one sample, so they are its guesses (see _dlthx)
        guess = np.zeros(3)
        g0 = np.empty(3)
        g1 = np.empty(3)
        # the transmitter's own ground: sample 0
        x = min(max(u0 - 0.5, 0.0), dem.shape[1] - 1.0)
        y = min(max(v0 - 0.5, 0.0), dem.shape[0] - 1.0)
        zg0 = dem[int(y), int(x)]
        z0[0] = zg0
        a0[0] = zg0
        c0[0] = 0.0
        r0 = 4 * bb
        th = 2.0 * math.pi * r0 / n_rays
        h0d[0] = 0.0
        h0z[0] = zg0 + hg0
        h0i[0] = 0
        nh0, lo0 = _walk_itm(dem, u0, v0, math.cos(th) * step / res_x,
                             -math.sin(th) * step / res_y, step, 1, k1, hg0, hg1, qc0, z0,
                             a0, c0, h0d, h0z, h0i, 1, 0, nb_, bands, en0, clim, mdvar,
                             zt, zl, zc, buf[:, r0, :], need[r0], s, guess)
        g0[:] = guess
        for cc1 in range(2):
            r1 = r0 + 2 * cc1
            th1 = 2.0 * math.pi * r1 / n_rays
            for q in range(max(nh0, 0)):
                h1d[q] = h0d[q]
                h1z[q] = h0z[q]
                h1i[q] = h0i[q]
            for q in range(k1 + 1):
                z1[q] = z0[q]
                a1[q] = a0[q]
                c1_[q] = c0[q]
            guess[:] = g0
            nh1, lo1 = _walk_itm(dem, u0, v0, math.cos(th1) * step / res_x,
                                 -math.sin(th1) * step / res_y, step, k1 + 1, k2, hg0, hg1,
                                 qc0, z1, a1, c1_, h1d, h1z, h1i, nh0, lo0, nb_, bands,
                                 en0, clim, mdvar, zt, zl, zc, buf[:, r1, :], need[r1], s, guess)
            g1[:] = guess
            for cc2 in range(2):
                r2 = r1 + cc2
                th2 = 2.0 * math.pi * r2 / n_rays
                for q in range(max(nh1, 0)):
                    h2d[q] = h1d[q]
                    h2z[q] = h1z[q]
                    h2i[q] = h1i[q]
                # the level-2 walk writes samples k2+1.. of the level-1 profile copy: the
                # second child re-reads samples ≤ k2 only, which the first did not touch
                guess[:] = g1
                _walk_itm(dem, u0, v0, math.cos(th2) * step / res_x,
                          -math.sin(th2) * step / res_y, step, k2 + 1, n_samp, hg0, hg1, qc0,
                          z1, a1, c1_, h2d, h2z, h2i, nh1, lo1, nb_, bands, en0, clim,
                          mdvar, zt, zl, zc, buf[:, r2, :], need[r2], s, guess)
        for q in range(4):
            r = r0 + q
            first = 1 if q == 0 else (k1 + 1 if q == 2 else k2 + 1)
            for e in range(nb_):
                g = gain[e, r]
                rw = buf[e, r]
                for k in range(first, n_samp + 1):
                    rw[k] = g - rw[k]


@nb.njit(cache=True)
def _gain_table(n_rays: int, az: np.ndarray, n_az: int) -> np.ndarray:
    g = np.empty(n_rays)
    for r in range(n_rays):
        g[r] = _kernels.sector_gain(2.0 * math.pi * r / n_rays, az, n_az)
    return g


class ItmParams(NamedTuple):
    """ITM parameters other than the geometry and the frequency."""

    climate: int = 5
    refractivity_n: float = 301.0
    permittivity: float = 15.0
    conductivity_s_m: float = 0.005
    vertical: bool = True
    mdvar: int = 12
    time_pct: float = 50.0
    location_pct: float = 50.0
    situation_pct: float = 50.0

    def unpack(self) -> tuple:
        """(en0, climate constants, mdvar, zt, zl, zc) as the compiled code takes them."""
        if not 1 <= self.climate <= 7:
            raise ValueError(f"ITM climate {self.climate}: must be 1–7")
        return (float(self.refractivity_n),
                np.ascontiguousarray(_CLIM[:, self.climate - 1]), int(self.mdvar),
                qerfi(self.time_pct / 100.0), qerfi(self.location_pct / 100.0),
                qerfi(self.situation_pct / 100.0))

    def zgnd(self, freq_mhz: np.ndarray) -> np.ndarray:
        return np.array([ground_impedance(f, self.permittivity, self.conductivity_s_m,
                                          self.vertical) for f in np.atleast_1d(freq_mhz)])


def sweep_sites(dem: np.ndarray, grids: list[np.ndarray] | np.ndarray, *,
                grid_index: np.ndarray, col: np.ndarray, row: np.ndarray, ground_m: np.ndarray, zt: np.ndarray,
                eirp: np.ndarray, freq_mhz: np.ndarray, az: np.ndarray, n_az: np.ndarray,
                res_x: float, res_y: float, radius_m: float, rx_height_m: float, params: ItmParams,
                offsets: tuple[np.ndarray, ...] | None = None, callback=None) -> None:
    """Best-server received power under ITM into ``grids`` (in place, max).

    Same contract as :func:`gis._kernels.sweep_sites` (grids initialised to ``-inf``, one per
    ``grid_index``, updated site by site: after an exception they hold part of the result),
    with the ITM parameters ``params``. The antenna height above ground is ``zt − ground_m``.
    """
    en0, clim, mdvar, zt_, zl_, zc_ = params.unpack()
    step = float(min(res_x, res_y))
    n_samp = int(radius_m // step)
    n_rays = _kernels.ray_count(radius_m, step)
    if offsets is None:
        offsets = _kernels.disc_offsets(radius_m, res_x, res_y, n_rays, step)
        need = _kernels.disc_needed_samples(radius_m, res_x, res_y, n_rays, step, n_samp)
    else:
        need = _kernels.needed_samples(offsets, n_rays, n_samp)
    drow, dcol, ray, samp = offsets
    groups = _kernels.group_transmitters(col, row, zt)
    buf = _kernels.work_buffer((max((len(g) for g in groups), default=1), n_rays, n_samp + 1),
                               np.float64)
    hg_all = np.maximum(np.asarray(zt, float) - np.asarray(ground_m, float), 0.5)
    done = 0
    for idx in groups:
        s = int(idx[0])
        c_int = math.floor(col[s])
        r_int = math.floor(row[s])
        nb_ = len(idx)
        freq = np.asarray(freq_mhz, float)[idx]
        zg = params.zgnd(freq)
        gain = np.empty((nb_, n_rays))
        for e, t in enumerate(idx):
            gain[e] = float(eirp[t]) + _gain_table(n_rays, np.asarray(az[t], float),
                                                   int(n_az[t]))
        # the site's reference curvature (its own ground as zsys) for the hull frame
        ens0 = en0 * math.exp(-float(ground_m[s]) / 9460.0)
        qc0 = 0.5 * _GMA * (1.0 - 0.04665 * math.exp(ens0 / 179.3))
        _sweep_one(dem, c_int + 0.5, r_int + 0.5, float(hg_all[s]), float(rx_height_m), qc0,
                   _band_table(freq, zg, clim), en0, clim, mdvar, zt_, zl_, zc_, gain, nb_,
                   float(res_x), float(res_y), step, n_samp, buf, need)
        for b, t in enumerate(idx):
            _kernels.gather(grids[int(grid_index[t])], r_int, c_int, drow, dcol, ray, samp,
                            buf[b])
        done += nb_
        if callback is not None:
            callback(done)


@nb.njit(cache=True, parallel=True)
def _point_power(dem: np.ndarray, pair_site: np.ndarray, pu: np.ndarray, pv: np.ndarray,
                 col: np.ndarray, row: np.ndarray, hg: np.ndarray, eirp: np.ndarray,
                 freq: np.ndarray, zgnd: np.ndarray, az: np.ndarray, n_az: np.ndarray,
                 res_x: float, res_y: float, step: float, rx_h: float, n_max: int,
                 en0: float, clim: np.ndarray, mdvar: int, zt: float, zl: float,
                 zc: float) -> np.ndarray:
    n = pair_site.shape[0]
    out = np.empty(n, dtype=np.float32)
    nchunk = 64
    size = (n + nchunk - 1) // nchunk
    nr, nc = dem.shape
    for c in nb.prange(nchunk):
        z = np.empty(n_max + 1)
        p0 = np.empty(n_max + 1)
        p1 = np.empty(n_max + 1)
        s = np.empty(256)
        for q in range(c * size, min(n, (c + 1) * size)):
            t = pair_site[q]
            dx = (pu[q] - col[t]) * res_x
            dy = -(pv[q] - row[t]) * res_y
            dist = math.sqrt(dx * dx + dy * dy)
            theta = math.atan2(dy, dx) if (dx != 0.0 or dy != 0.0) else 0.0
            ns = int(dist / step + 0.5)
            if ns < 1:
                ns = 1
            if ns > n_max:
                out[q] = np.nan
                continue
            du = math.cos(theta) * step / res_x
            dv = -math.sin(theta) * step / res_y
            off = False
            for k in range(ns + 1):
                u = col[t] + k * du
                v = row[t] + k * dv
                if u < -2.0 or v < -2.0 or u >= nc + 2.0 or v >= nr + 2.0:
                    off = True
                    break
                x = min(max(u - 0.5, 0.0), nc - 1.0)
                y = min(max(v - 0.5, 0.0), nr - 1.0)
                j = min(int(x), nc - 2) if nc > 1 else 0
                i = min(int(y), nr - 2) if nr > 1 else 0
                fx = x - j
                fy = y - i
                j1 = min(j + 1, nc - 1)
                i1 = min(i + 1, nr - 1)
                z[k] = (dem[i, j] * (1.0 - fx) + dem[i, j1] * fx) * (1.0 - fy) + \
                    (dem[i1, j] * (1.0 - fx) + dem[i1, j1] * fx) * fy
            if off:
                out[q] = np.nan
                continue
            loss = _p2p_one(z, ns, step, hg[t], rx_h, freq[t], en0, zgnd[t], clim, mdvar,
                            zt, zl, zc, p0, p1, s)
            out[q] = eirp[t] + _kernels.sector_gain(theta, az[t], n_az[t]) - loss
    return out


def point_power(dem: np.ndarray, *, pair_site: np.ndarray, pcol: np.ndarray, prow: np.ndarray,
                col: np.ndarray, row: np.ndarray, ground_m: np.ndarray, zt: np.ndarray,
                eirp: np.ndarray, freq_mhz: np.ndarray, az: np.ndarray, n_az: np.ndarray,
                res_x: float, res_y: float, rx_height_m: float, params: ItmParams,
                max_distance_m: float = 50_000.0) -> np.ndarray:
    """Received power (dBm) under ITM at points, each from one transmitter (direct profiles).

    The profile runs from the transmitter every cell size to the sample nearest the point,
    sampled bilinearly like the sweep; ``pair_site[q]`` is the transmitter of point ``q``.
    NaN off-grid or beyond ``max_distance_m``.
    """
    if len(pair_site) == 0:
        return np.empty(0, dtype=np.float32)
    en0, clim, mdvar, zt_, zl_, zc_ = params.unpack()
    step = float(min(res_x, res_y))
    freq = np.asarray(freq_mhz, float)
    zg = params.zgnd(freq)
    hg = np.maximum(np.asarray(zt, float) - np.asarray(ground_m, float), 0.5)
    return _point_power(dem, pair_site.astype(np.int64), pcol.astype(np.float64),
                        prow.astype(np.float64), col.astype(np.float64),
                        row.astype(np.float64), hg, np.asarray(eirp, float), freq, zg,
                        np.asarray(az, float), np.asarray(n_az, np.int64), float(res_x),
                        float(res_y), step, float(rx_height_m),
                        int(max_distance_m // step) + 2, en0, clim, mdvar, zt_, zl_, zc_)
