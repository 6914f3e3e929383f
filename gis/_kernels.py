"""Compiled (numba) terrain kernels: radial sweep and point-to-point profiles.

What is implemented, exactly
----------------------------
Rays. For one transmitter the kernel casts ``n_rays ≈ 2π R / Δ`` rays (Δ = the DEM's cell
size, R = the maximum radius) from the centre of the transmitter's cell, so that neighbouring
rays are one cell apart at the far end, and samples the DEM bilinearly every Δ metres along
them. To avoid oversampling near the site the rays are hierarchical: a quarter of them start at
the site; at R/4 each splits in two and at R/2 again (a child inherits its parent's obstacles,
which lie within half a cell of its own path). That is ~0.69 samples per cell·ray instead of 1.

Receivers. Sample ``k`` at ground distance ``d = kΔ`` is a receiver ``rx_height_m`` (1.5 m)
above the ground.

Earth curvature. Every elevation is lowered by ``d² / (2 k R_e)`` (its drop below the
transmitter's tangent plane on an Earth of radius ``k R_e``, k = 4/3); in that frame radio rays
are straight lines and heights above a chord include the bulge ``d1 d2 / (2 k R_e)``.

Obstacles: the taut string. Walking outward, the kernel keeps the upper convex hull of
{transmitter antenna, terrain samples so far} as a stack (Andrew's monotone chain, amortised
O(1) per sample). For a receiver the string pulled tight from the antenna over the terrain to
the receiver rests on the hull vertices up to the receiver's tangent vertex (found by walking
from the previous sample's tangent). No vertex → line of sight. Every string vertex is a
knife-edge candidate.

Diffraction (``mode``):

* 0 — none;
* 1 — dominant edge: ``J(ν)`` of the string vertex with the largest ``ν`` over the path;
* 2 — classic Deygout (Deygout 1966; ITU-R P.526-15 §4.5.1): the principal edge is the string
  vertex of largest ``ν`` over the whole path; each sub-path (transmitter → principal,
  principal → receiver) is treated the same way over the vertices between its ends, to
  ``depth`` levels (1, the default: at most 3 edges; 2: 7; :data:`MAX_DEPTH` 3). The losses are added. Classic
  Deygout can jump by a few dB when two edges swap rank (coverage is then not strictly
  monotone in mast height); the dominant-edge mode is;
* 3 — Epstein-Peterson: the sum of each edge's ``J(ν)`` over the path between its neighbours;
* 4 — Deygout limited to three edges with the empirical correction of ITU-R P.452-14 §4.2.1
  (the method P.452 used up to version 14; pycraf's ``version=14``):
  ``L = Lm + T (Lt + Lr + C)``, ``T = 1 − exp(−Lm / 6)``, ``C = 10 + 0.04 D`` (D the path
  length in km), Lm the principal edge's ``J(ν)``, Lt/Lr those of the largest-``ν`` edges on
  the transmitter and receiver sides (depth 1 whatever ``depth`` says). It adds the loss knife
  edges miss on real, rounded terrain; in line of sight ``L = Lm + T C``.

``J(ν)`` is ITU-R P.526's approximation ``6.9 + 20 log10(sqrt((ν−0.1)² + 1) + ν − 0.1)`` for
``ν > −0.78`` (tabulated every 0.005 to ν = 5 and every 0.05 to ν = 500, error < 1e-3 dB).
``ν`` is ranked without square roots (by ``h |h| / (d1 d2)``). In line of sight the largest
``ν`` of the crests (hull vertices below the ray) and of the receiver's last
:data:`FOREGROUND` samples applies its ``J(ν)`` for ``−0.78 < ν < 0``: partial obstruction of
the first Fresnel zone (the receiver's foreground is rarely on the hull seen from the mast).
:func:`gis.propagation.deygout_loss_db` (``candidates="string"``) is the reference of all of
this, checked on real SRTM profiles.

Median loss: ``L = L_model(d) + L_diffraction``. ``L_model`` is free space (model 1; the
default ``p526`` path model: terrain counted once, by the profile's own diffraction) or Hata /
COST-231 Hata (model 0) with the base height taken as the transmitter antenna's altitude above
the *receiver's* ground, clamped to 30–200 m (formula, environment correction and clamping:
:func:`gis.propagation.hata_loss_db`; ``log10(hb)`` terms tabulated every 0.25 m). Hata's
curves already hold an average terrain effect: Hata plus diffraction counts terrain twice and
is kept as a named option.

Received power: ``P = EIRP − L + G(φ, θ)``, with ``G`` the antenna's relative gain toward the
sample (:class:`Antennas`, :mod:`gis.antenna`): the horizontal cut at the ray's bearing off
each azimuth, the vertical cut at the receiver's depression angle (Earth curvature included)
minus the tilt (electrical + mechanical × cos φ), combined as ``−min(A_H + A_V, cap)``, the
best over the azimuths; 0 dB for an omni BTS (bands of one walk on the same antenna share
it: computed once per sample). The depression angle's arctangent is a polynomial (error
≈ 1e-6°). The EIRP is what the threshold is compared with
(the link budget's reference-signal EIRP, :mod:`layers.link_budget`).

Scatter to the grid: a precomputed table maps each cell offset inside the disc of radius R to
the nearest sample of the nearest ray that exists at that distance; each cell takes that value
and the output keeps the maximum over transmitters (best server). Ray samples no cell takes
(~30 %, mostly near the site) only feed the hull: their loss is not computed. Work per transmitter is
O(R²/Δ²); groups of :data:`RAYS_PER_CALL` base rays run in parallel (``prange``), one call
of the walk each, and the per-sample loop works on views that own nothing (:func:`unowned`:
numba would otherwise count references atomically at every inlined helper call). Up to
:data:`MAX_BANDS` transmitters sharing a cell, an antenna altitude and a radius share one
walk. Each transmitter has its own radius (from its link budget and radio horizon, capped);
transmitters are grouped by it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading

import numba as nb
import numpy as np
from numba.core import types
from numba.extending import intrinsic

__all__ = [
    "LEVELS",
    "MAX_BANDS",
    "MAX_DEPTH",
    "WORK_KEEP_BYTES",
    "Antennas",
    "disc_needed_samples",
    "disc_offsets",
    "distance_tables",
    "gather",
    "group_transmitters",
    "needed_samples",
    "point_power",
    "radius_field",
    "ray_count",
    "ray_segments",
    "sweep_sites",
    "unowned",
]

EARTH_RADIUS_M = 6_371_000.0


@intrinsic
def unowned(typingctx, arr):
    """A view of ``arr`` (same data, shape and strides) that owns nothing.

    numba increments and decrements the reference count of every array handed to an inlined
    helper whose body loops, at every call: an atomic operation per helper per sample, which
    was ~40 % of the sweep's time (the kernel calls ``_argmax_nu``/``_gain`` per sample). A view
    without an owner (a null meminfo) makes those no-ops. The caller keeps ``arr`` alive (uses
    it after the view's last use) and never lets the view escape.
    """
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        src = context.make_array(aryty)(context, builder, args[0])
        dst = context.make_array(aryty)(context, builder)
        context.populate_array(dst, data=src.data, shape=src.shape, strides=src.strides,
                               itemsize=src.itemsize, meminfo=None)
        return dst._getvalue()

    return arr(arr), codegen
#: fast-math flags without "nnan"/"ninf": the kernels rely on NaN (off-grid) and -inf (empty)
_FM = {"nsz", "arcp", "contract", "afn", "reassoc"}


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _bilinear(dem: np.ndarray, u: float, v: float) -> float:
    """DEM value at continuous pixel coords (u = column, v = row; cell centres at +0.5)."""
    x = u - 0.5
    y = v - 0.5
    nr, nc = dem.shape
    if x < 0.0:
        x = 0.0
    if y < 0.0:
        y = 0.0
    if x > nc - 1.0:
        x = nc - 1.0
    if y > nr - 1.0:
        y = nr - 1.0
    j = int(x)
    i = int(y)
    if j >= nc - 1:
        j = nc - 2 if nc > 1 else 0
    if i >= nr - 1:
        i = nr - 2 if nr > 1 else 0
    fx = x - j
    fy = y - i
    j1 = min(j + 1, nc - 1)
    i1 = min(i + 1, nr - 1)
    a = dem[i, j] * (1.0 - fx) + dem[i, j1] * fx
    b = dem[i1, j] * (1.0 - fx) + dem[i1, j1] * fx
    return a * (1.0 - fy) + b * fy


def _j_exact(nu: float) -> float:
    """ITU-R P.526 approximation of the knife-edge loss J(ν)."""
    if nu <= -0.78:
        return 0.0
    t = nu - 0.1
    return 6.9 + 20.0 * math.log10(math.sqrt(t * t + 1.0) + t)


_J_LO = -0.78
_J_STEP = 0.005
_J_N = 1157  # fine table up to ν = 5.0
_J_TABLE = np.array([_j_exact(_J_LO + i * _J_STEP) for i in range(_J_N)])
_J_MID = _J_LO + (_J_N - 1) * _J_STEP
_J_STEP2 = 0.05
_J_N2 = 9901  # coarse table from ν = 5 to 500 (J is nearly logarithmic there)
_J_TABLE2 = np.array([_j_exact(_J_MID + i * _J_STEP2) for i in range(_J_N2)])
_J_HI = _J_MID + (_J_N2 - 1) * _J_STEP2
_j_exact_nb = nb.njit(cache=True, inline="always")(_j_exact)


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _j(nu: float) -> float:
    """J(ν) from tables (linear interpolation, error < 1e-3 dB); exact beyond ν = 500."""
    if nu <= _J_LO:
        return 0.0
    if nu < _J_MID:
        x = (nu - _J_LO) / _J_STEP
        i = int(x)
        f = x - i
        return _J_TABLE[i] * (1.0 - f) + _J_TABLE[i + 1] * f
    if nu < _J_HI:
        x = (nu - _J_MID) / _J_STEP2
        i = int(x)
        f = x - i
        return _J_TABLE2[i] * (1.0 - f) + _J_TABLE2[i + 1] * f
    return _j_exact_nb(nu)


# Hata terms in log10(hb): tabulated every 0.25 m over the clamped range 30–200 m
_HB_LO = 30.0
_HB_STEP = 0.25
_HB_N = int((200.0 - 30.0) / 0.25) + 1
_LHB = np.log10(_HB_LO + _HB_STEP * np.arange(_HB_N))
_HB_A = -13.82 * _LHB
_HB_B = 44.9 - 6.55 * _LHB


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _nu(da: float, za: float, dm: float, zm: float, db: float, zb: float,
        two_over_lam: float) -> float:
    """ν of vertex m over the straight path a → b (curvature already in the heights).

    ``h sqrt(2 D / (λ d1 d2))`` with ``h = (zm − za) − (zb − za) d1 / D``, written as
    ``((zm − za) D − (zb − za) d1) sqrt(2 / (λ D d1 d2))`` (one division, one square root).
    """
    d1 = dm - da
    d2 = db - dm
    if d1 <= 0.0 or d2 <= 0.0:
        return -10.0
    big_d = db - da
    return ((zm - za) * big_d - (zb - za) * d1) * math.sqrt(two_over_lam / (big_d * d1 * d2))


#: ITU-R P.452-14 §4.2.1 (Deygout, three edges): empirical correction C = 10 + 0.04 D (D km)
_P452_C0 = 10.0
_P452_C1 = 0.04
#: T(L) = 1 − exp(−L / 6) every 0.01 dB to 60 dB (linear interpolation, error < 1e-6)
_T_STEP = 0.01
_T_N = 6001
_T_TABLE = 1.0 - np.exp(-np.arange(_T_N) * _T_STEP / 6.0)


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _t452(lm: float) -> float:
    """P.452-14's weight ``T = 1 − exp(−Lm / 6)`` of the side edges and the correction."""
    x = lm / _T_STEP
    if x >= _T_N - 1:
        return 1.0 - math.exp(-lm / 6.0)
    i = int(x)
    f = x - i
    return _T_TABLE[i] * (1.0 - f) + _T_TABLE[i + 1] * f
#: Deygout levels the kernel supports (depth 3: at most 15 edges)
MAX_DEPTH = 3
#: bands computed in one walk (transmitters sharing a position and antenna height)
MAX_BANDS = 8
#: line of sight: the receiver's last samples checked for Fresnel-zone clearance besides the
#: hull's vertices (terrain just before the receiver is rarely on the hull seen from the mast)
FOREGROUND = 8
#: edges of one Deygout construction: 2**(MAX_DEPTH + 1) − 1
_MAX_PICKS = 2 ** (MAX_DEPTH + 1) - 1


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _argmax_nu(hd: np.ndarray, hz: np.ndarray, lo: int, hi: int, da: float, za: float,
               db: float, zb: float) -> tuple[int, float]:
    """Vertex of largest geometric ν among hd/hz[lo..hi] over the path a → b, and its ν.

    ν is ranked by ``h |h| / (d1 d2)`` (the square of ν with its sign, up to the path's
    common factor), compared by cross-multiplication, so the scan takes no square root and
    no division; ν itself is computed for the winner.
    """
    best_num = 0.0
    best_den = 1.0
    m = -1
    big_d = db - da
    dz = zb - za
    for e in range(lo, hi + 1):
        d1 = hd[e] - da
        d2 = db - hd[e]
        if d1 <= 0.0 or d2 <= 0.0:
            continue
        h = (hz[e] - za) * big_d - dz * d1
        # key = num / den with den > 0, compared by cross-multiplication (no division)
        num = h * abs(h)
        den = d1 * d2
        if m < 0 or num * best_den > best_num * den:
            best_num = num
            best_den = den
            m = e
    if m < 0:
        return lo, -10.0
    return m, _nu(da, za, hd[m], hz[m], db, zb, 1.0)


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _string_diff(j: int, hd: np.ndarray, hz: np.ndarray, d: float, zr: float, mode: int,
                 depth: int, sq: np.ndarray, nb_: int, diff: np.ndarray, picks: np.ndarray,
                 stack: np.ndarray, left_nu: np.ndarray, left_ok: np.ndarray) -> None:
    """Diffraction loss per band over the taut string tx = H[0], edges H[1..j], receiver.

    The geometry is shared by all bands; ``sq[b] = sqrt(2 / λ_b)`` scales the geometric
    ``ν / sqrt(2/λ)`` of each edge. mode 1: the edge of largest ν; 2: classic Deygout (the
    principal is the edge of largest ν, then each sub-path the same way, ``depth`` levels);
    3: Epstein-Peterson. Every string vertex is an edge candidate.

    Depth 1 (the default) remembers, per hull vertex m, the ν of the transmitter → m sub-path
    (``left_nu[m]``, valid while ``left_ok[m]``): it depends on the hull up to m only, which
    stays as it is until vertex m is popped (the walk clears ``left_ok`` of every slot it
    writes), and m is the principal edge of many receivers in a row.
    """
    d0 = hd[0]
    z0 = hz[0]
    if mode == 3:
        for b in range(nb_):
            diff[b] = 0.0
        for e in range(1, j + 1):
            if e < j:
                db_, zb_ = hd[e + 1], hz[e + 1]
            else:
                db_, zb_ = d, zr
            g = _nu(hd[e - 1], hz[e - 1], hd[e], hz[e], db_, zb_, 1.0)
            for b in range(nb_):
                diff[b] += _j(g * sq[b])
        return
    if mode == 1:
        _m, best = _argmax_nu(hd, hz, 1, j, d0, z0, d, zr)
        for b in range(nb_):
            diff[b] = _j(best * sq[b])
        return
    if depth == 1 or mode == 4:
        m, v = _argmax_nu(hd, hz, 1, j, d0, z0, d, zr)
        n_pick = 1
        picks[0] = v
        if m < j:  # principal → receiver
            _m, v = _argmax_nu(hd, hz, m + 1, j, hd[m], hz[m], d, zr)
            picks[n_pick] = v
            n_pick += 1
        if m > 1:  # transmitter → principal
            if not left_ok[m]:
                _m, left_nu[m] = _argmax_nu(hd, hz, 1, m - 1, d0, z0, hd[m], hz[m])
                left_ok[m] = True
            picks[n_pick] = left_nu[m]
            n_pick += 1
        if mode == 4:
            c = _P452_C0 + _P452_C1 * d / 1000.0
            for b in range(nb_):
                lm = _j(picks[0] * sq[b])
                side = 0.0
                for q in range(1, n_pick):
                    side += _j(picks[q] * sq[b])
                diff[b] = lm + _t452(lm) * (side + c)
            return
        for b in range(nb_):
            tot = 0.0
            for q in range(n_pick):
                tot += _j(picks[q] * sq[b])
            diff[b] = tot
        return
    # classic Deygout with an explicit stack of sub-paths:
    # (first vertex, last vertex, level); ends are the vertices around them (−1: tx, j+1: rx)
    n_pick = 0
    top = 0
    stack[0, 0] = 1
    stack[0, 1] = j
    stack[0, 2] = 0
    top = 1
    while top > 0:
        top -= 1
        lo = stack[top, 0]
        hi = stack[top, 1]
        lev = stack[top, 2]
        if lo > hi:
            continue
        ia = lo - 1
        ib = hi + 1
        da = hd[ia]
        za = hz[ia]
        if ib > j:
            db_, zb_ = d, zr
        else:
            db_, zb_ = hd[ib], hz[ib]
        m, v = _argmax_nu(hd, hz, lo, hi, da, za, db_, zb_)
        picks[n_pick] = v
        n_pick += 1
        if lev < depth:
            stack[top, 0] = lo
            stack[top, 1] = m - 1
            stack[top, 2] = lev + 1
            top += 1
            stack[top, 0] = m + 1
            stack[top, 1] = hi
            stack[top, 2] = lev + 1
            top += 1
    for b in range(nb_):
        tot = 0.0
        for q in range(n_pick):
            tot += _j(picks[q] * sq[b])
        diff[b] = tot


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _interp360(table: np.ndarray, p: int, ang: float) -> float:
    """Linear interpolation in a 1° table (row p) at an angle in degrees (any range)."""
    a = ang % 360.0
    if a < 0.0:
        a += 360.0
    i = int(a)
    f = a - i
    i %= 360
    i1 = (i + 1) % 360
    return table[p, i] * (1.0 - f) + table[p, i1] * f


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _ray_pattern(bearing: float, pid: np.ndarray, az: np.ndarray, n_az: np.ndarray,
                 tilt_e: np.ndarray, tilt_m: np.ndarray, pat_h: np.ndarray, nb_: int,
                 att_h: np.ndarray, tilt: np.ndarray, n_use: np.ndarray) -> None:
    """Per band, the horizontal attenuation and the tilt of each azimuth toward a bearing.

    When every azimuth has the same tilt (no mechanical tilt) the vertical cut is the same
    for all, so only the azimuth of least horizontal attenuation is kept (``n_use`` 1).
    """
    for b in range(nb_):
        if pid[b] < 0 or n_az[b] == 0:
            n_use[b] = 0
            continue
        best = 1e9
        for a in range(n_az[b]):
            phi = bearing - az[b, a]
            while phi > 180.0:
                phi -= 360.0
            while phi < -180.0:
                phi += 360.0
            att_h[b, a] = -_interp360(pat_h, pid[b], phi)
            tilt[b, a] = tilt_e[b] + tilt_m[b] * math.cos(math.radians(phi))
            if att_h[b, a] < best:
                best = att_h[b, a]
                k = a
        if tilt_m[b] == 0.0:
            att_h[b, 0] = att_h[b, k]
            tilt[b, 0] = tilt[b, k]
            n_use[b] = 1
        else:
            n_use[b] = n_az[b]


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _atan_deg(x: float) -> float:
    """arctan(x) in degrees, polynomial (Abramowitz & Stegun 4.4.49, |error| ≤ 2e-8 rad,
    about 1e-6°) on |x| ≤ 1 and ``±90° − atan(1/x)`` beyond: the depression angle of each
    receiver, where a vertical pattern tabulated every degree changes by well under a
    thousandth of a dB."""
    ax = abs(x)
    inv = ax > 1.0
    t = 1.0 / ax if inv else ax
    t2 = t * t
    p = t * (0.9999993329 + t2 * (-0.3332985605 + t2 * (0.1994653599 + t2 * (
        -0.1390853351 + t2 * (0.0964200441 + t2 * (-0.0559098861 + t2 * (
            0.0218612288 + t2 * -0.0040540580)))))))
    if inv:
        p = 0.5 * math.pi - p
    p *= 180.0 / math.pi
    return -p if x < 0.0 else p


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _gain(theta: float, b: int, pid: np.ndarray, att_h: np.ndarray, tilt: np.ndarray,
          n_use: np.ndarray, pat_v: np.ndarray, pat_cap: np.ndarray) -> float:
    """Relative antenna gain (dB ≤ 0) of band b toward depression θ (ray constants from
    :func:`_ray_pattern`): the best over azimuths of ``−min(A_H + A_V(θ − tilt), cap)``."""
    if n_use[b] == 0:
        return 0.0
    p = pid[b]
    best = -1e9
    for a in range(n_use[b]):
        x = theta - tilt[b, a]
        if x < 0.0:
            x += 360.0
        i = int(x)
        f = x - i
        i1 = i + 1
        if i1 >= 360:
            i1 -= 360
        if i >= 360:
            i -= 360
        att = att_h[b, a] - (pat_v[p, i] * (1.0 - f) + pat_v[p, i1] * f)
        if att > pat_cap[p]:
            att = pat_cap[p]
        if -att > best:
            best = -att
    return best


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _model_loss(ld: float, hb: float, model: int, base_db: float, fs_const_db: float) -> float:
    """Free space (model 1) or clamped Hata/COST-231 (model 0); ld = log10(d / 1 km)."""
    fs = fs_const_db + 20.0 * ld
    if model == 1:
        return fs
    x = (hb - _HB_LO) / _HB_STEP + 0.5
    i = int(x) if x > 0.0 else 0
    if i >= _HB_N:
        i = _HB_N - 1
    a = base_db + _HB_A[i]
    if ld >= 0.0:
        loss = a + _HB_B[i] * ld
    else:
        loss = a + 20.0 * ld
    return loss if loss > fs else fs


def distance_tables(step_m: float, n: int, k_factor: float) -> tuple[np.ndarray, ...]:
    """Per-sample tables along a ray: log10(d/km), 1/d and the curvature drop d²/(2kR)."""
    d = step_m * np.arange(n + 1, dtype=float)
    d[0] = step_m * 1e-3
    return (np.log10(d / 1000.0), 1.0 / d, d * d / (2.0 * k_factor * EARTH_RADIUS_M))


@nb.njit(cache=True, error_model="numpy", fastmath=_FM)
def _walk(dem: np.ndarray, u0: float, v0: float, zt: float, rx_h: float, step_m: float,
          ld_t: np.ndarray, drop_t: np.ndarray, model: int, base_db: np.ndarray,
          fs_const_db: np.ndarray, sq: np.ndarray, eirp: np.ndarray, nb_: int, mode: int,
          depth: int, seg_du: np.ndarray, seg_dv: np.ndarray, seg_bearing: np.ndarray,
          seg_k0: np.ndarray, seg_k1: np.ndarray, seg_level: np.ndarray, seg_row: np.ndarray,
          s_lo: int, s_hi: int, out: np.ndarray, only_last: bool, need: np.ndarray,
          pid: np.ndarray, az: np.ndarray, n_az: np.ndarray, tilt_e: np.ndarray,
          tilt_m: np.ndarray, pat_h: np.ndarray, pat_v: np.ndarray,
          pat_cap: np.ndarray) -> None:
    """Walk the straight profile segments ``s_lo..s_hi−1`` of one transmitter.

    ``out[b, row, k]`` = received power (dBm) of band b at sample k: EIRP − path loss +
    antenna gain (the ray's bearing, the receiver's depression angle); NaN off-grid.
    Segment s runs along the direction ``(seg_du, seg_dv)`` (pixels per sample) over samples
    ``seg_k0..seg_k1`` and writes row ``seg_row``. A segment of level 0 starts from the
    transmitter; one of level L > 0 continues from the hull its parent (the last segment of
    level L − 1 walked before it) had at its end: the upper convex hull of {transmitter,
    terrain samples so far} (a monotone-chain stack) and the previous receiver's tangent
    vertex. A hull that left the grid stays off-grid. With ``only_last`` the loss is computed
    at ``seg_k1`` only (the hull is still built from every sample): a point-to-point profile.
    Where ``need[row, k] == 0`` (no grid cell takes sample k of this ray) the loss is not
    computed either (``need`` of shape (1, 1): every sample is needed).

    One call walks many segments (each call of a compiled function counts references to its
    array arguments, atomically); the per-sample loop works on :func:`unowned` views.
    """
    nr, nc = dem.shape
    n_pts = out.shape[2] + 2
    # scratch owned here; the loop works on unowned views of it and of the arguments
    # (see unowned: no reference counting per sample)
    hd_own = np.empty((LEVELS, n_pts))
    hz_own = np.empty((LEVELS, n_pts))
    ln_own = np.empty((LEVELS, n_pts))
    lk_own = np.zeros((LEVELS, n_pts), dtype=np.bool_)
    f_own = np.zeros((5 + 2 * MAX_BANDS, 16))
    i_own = np.zeros((_MAX_PICKS + 4, max(MAX_BANDS, 3)), dtype=np.int64)
    hd_all = unowned(hd_own)
    hz_all = unowned(hz_own)
    ln_all = unowned(ln_own)
    lk_all = unowned(lk_own)
    f = unowned(f_own)
    i_ = unowned(i_own)
    dem = unowned(dem)
    ld_t = unowned(ld_t)
    drop_t = unowned(drop_t)
    sq = unowned(sq)
    pid = unowned(pid)
    pat_v = unowned(pat_v)
    pat_cap = unowned(pat_cap)
    out = unowned(out)
    nh_lev = np.zeros(LEVELS, dtype=np.int64)
    lo_lev = np.zeros(LEVELS, dtype=np.int64)
    diff = f[0]
    picks = f[1]
    fg_d = f[2]
    fg_z = f[3]
    gains = f[4]
    att_h = f[5:5 + MAX_BANDS, :6]
    tilt = f[5 + MAX_BANDS:5 + 2 * MAX_BANDS, :6]
    stack = i_[:_MAX_PICKS + 2, :3]
    n_use = i_[_MAX_PICKS + 2]
    same = i_[_MAX_PICKS + 3]
    all_needed = need.shape[1] == 1
    # bands on the same antenna (pattern, azimuths, tilts) have the same gain toward every
    # sample: computed once (same[b], the first such band)
    for b in range(nb_):
        same[b] = b
        for c in range(b):
            if same[c] != c or pid[c] != pid[b] or n_az[c] != n_az[b] or \
                    tilt_e[c] != tilt_e[b] or tilt_m[c] != tilt_m[b]:
                continue
            eq = True
            for a in range(n_az[b]):
                if az[c, a] != az[b, a]:
                    eq = False
            if eq:
                same[b] = c
                break
    for s in range(s_lo, s_hi):
        lev = seg_level[s]
        row = seg_row[s]
        k0 = seg_k0[s]
        k1 = seg_k1[s]
        du = seg_du[s]
        dv = seg_dv[s]
        hd = hd_all[lev]
        hz = hz_all[lev]
        left_nu = ln_all[lev]
        left_ok = lk_all[lev]
        if lev == 0:
            hd[0] = 0.0
            hz[0] = zt
            nh = 1
            lo = 0
        else:
            nh = nh_lev[lev - 1]
            lo = lo_lev[lev - 1]
            for q in range(max(nh, 0)):
                hd[q] = hd_all[lev - 1, q]
                hz[q] = hz_all[lev - 1, q]
                left_nu[q] = ln_all[lev - 1, q]
                left_ok[q] = lk_all[lev - 1, q]
        if nh < 0:
            for b in range(nb_):
                for q in range(k0, k1 + 1):
                    out[b, row, q] = np.nan
            nh_lev[lev] = -1
            lo_lev[lev] = 0
            continue
        _ray_pattern(seg_bearing[s], pid, az, n_az, tilt_e, tilt_m, pat_h, nb_, att_h, tilt,
                     n_use)
        has_pattern = False
        for b in range(nb_):
            if n_use[b] > 0:
                has_pattern = True
        n_fg = 0
        for b in range(MAX_BANDS):
            diff[b] = 0.0
        for k in range(k0, k1 + 1):
            u = u0 + k * du
            v = v0 + k * dv
            if u < -2.0 or v < -2.0 or u >= nc + 2.0 or v >= nr + 2.0:  # 2-cell margin
                for b in range(nb_):
                    for q in range(k, k1 + 1):
                        out[b, row, q] = np.nan
                nh = -1
                lo = 0
                break
            d = k * step_m
            zg = _bilinear(dem, u, v)
            zc = zg - drop_t[k]
            zr = zc + rx_h
            skip = (only_last and k < k1) or (not all_needed and need[row, k] == 0)
            if skip:
                pass
            elif mode != 0 and nh > 1:
                # tangent from the receiver: the last hull vertex standing above the line from
                # its predecessor to the receiver (true..true false..false), from the previous
                # answer
                j = lo if lo < nh - 1 else nh - 1
                while j >= 1 and (hz[j] - hz[j - 1]) * (d - hd[j - 1]) <= \
                        (zr - hz[j - 1]) * (hd[j] - hd[j - 1]):
                    j -= 1
                while j + 1 < nh and (hz[j + 1] - hz[j]) * (d - hd[j]) > \
                        (zr - hz[j]) * (hd[j + 1] - hd[j]):
                    j += 1
                lo = j
                if j == 0:
                    # line of sight: partial obstruction of the first Fresnel zone (ν > −0.78)
                    # by the terrain point of largest ν: a vertex of the hull below the ray or
                    # one of the receiver's last FOREGROUND samples
                    _m, g = _argmax_nu(hd, hz, 1, nh - 1, 0.0, zt, d, zr)
                    _m, v_ = _argmax_nu(fg_d, fg_z, 0, min(n_fg, FOREGROUND) - 1, 0.0, zt, d,
                                        zr)
                    if v_ > g:
                        g = v_
                    for b in range(nb_):
                        diff[b] = _j(g * sq[b])
                    if mode == 4:  # P.452-14: the correction applies to the principal edge
                        c = _P452_C0 + _P452_C1 * d / 1000.0
                        for b in range(nb_):
                            diff[b] += _t452(diff[b]) * c
                else:
                    _string_diff(j, hd, hz, d, zr, mode, depth, sq, nb_, diff, picks, stack,
                                 left_nu, left_ok)
            if not skip:
                ld = ld_t[k]
                theta = 0.0
                if has_pattern:
                    theta = _atan_deg((zt - zr) / d)
                for b in range(nb_):
                    if same[b] == b:
                        g = _gain(theta, b, pid, att_h, tilt, n_use, pat_v, pat_cap)
                        gains[b] = g
                    else:
                        g = gains[same[b]]
                    out[b, row, k] = eirp[b] - (
                        _model_loss(ld, zt - zg, model, base_db[b], fs_const_db[b]) +
                        diff[b] - g)
            # remember sample k among the receiver's foreground (ring buffer)
            fg_d[n_fg % FOREGROUND] = d
            fg_z[n_fg % FOREGROUND] = zc
            n_fg += 1
            # push sample k onto the upper hull
            while nh >= 2:
                a_d = hd[nh - 2]
                a_z = hz[nh - 2]
                if (hz[nh - 1] - a_z) * (d - a_d) > (zc - a_z) * (hd[nh - 1] - a_d):
                    break
                nh -= 1
            hd[nh] = d
            hz[nh] = zc
            left_ok[nh] = False
            nh += 1
        nh_lev[lev] = nh
        lo_lev[lev] = lo
    # the owners live until here, past every use of their unowned views
    hd_own[0, 0] = 0.0
    hz_own[0, 0] = 0.0
    ln_own[0, 0] = 0.0
    lk_own[0, 0] = False
    f_own[0, 0] = 0.0
    i_own[0, 0] = 0


#: ray levels: rays double at n/4 and n/2 (so 1/4 of the rays start at the site, 1/2 at R/4)
LEVELS = 3


def ray_count(radius_m: float, step_m: float) -> int:
    """Rays at the far end, one cell apart, rounded up to a multiple of 2**(LEVELS−1)."""
    f = 2 ** (LEVELS - 1)
    return int(f * math.ceil(2 * math.pi * radius_m / step_m / f))


@nb.njit(cache=True)
def level_bounds(n_samp: int) -> tuple[int, int]:
    """Last sample of level 0 and of level 1 (level 2 runs to n_samp)."""
    return max(1, n_samp // 4), max(1, n_samp // 2)


@functools.lru_cache(maxsize=8)
def disc_offsets(radius_m: float, res_x_m: float, res_y_m: float,
                 n_rays: int, step_m: float) -> tuple[np.ndarray, ...]:
    """Cell offsets within ``radius_m`` and their nearest (ray, sample) indices.

    Cached (the table depends on the geometry only; one site's sweep would otherwise spend
    as long building it as walking its rays): the arrays are read-only.

    A cell takes the nearest sample of the nearest ray that exists at its distance: every
    fourth ray inside R/4, every second inside R/2, all rays beyond (see :func:`ray_segments`).

    Returns
    -------
    tuple of numpy.ndarray
        ``(drow, dcol, ray, sample)`` as int32 arrays.
    """
    nx = int(radius_m // res_x_m)
    ny = int(radius_m // res_y_m)
    dc, dr = np.meshgrid(np.arange(-nx, nx + 1), np.arange(-ny, ny + 1))
    x = dc * res_x_m
    y = -dr * res_y_m
    dist = np.hypot(x, y)
    keep = dist <= radius_m
    dc, dr, x, y, dist = dc[keep], dr[keep], x[keep], y[keep], dist[keep]
    theta = np.mod(np.arctan2(y, x), 2 * np.pi)
    n_samp = int(radius_m // step_m)
    samp = np.clip(np.rint(dist / step_m), 1, n_samp).astype(np.int32)
    k1, k2 = level_bounds(n_samp)
    every = np.where(samp <= k1, 4, np.where(samp <= k2, 2, 1))
    ray = np.mod(np.rint(theta / (2 * np.pi) * n_rays / every) * every, n_rays).astype(np.int32)
    out = (dr.astype(np.int32), dc.astype(np.int32), ray, samp)
    for a in out:
        a.setflags(write=False)
    return out


def needed_samples(offsets: tuple[np.ndarray, ...], n_rays: int, n_samp: int) -> np.ndarray:
    """uint8 (n_rays, n_samp + 1): 1 where some cell of the disc takes that ray sample."""
    _, _, ray, samp = offsets
    need = np.zeros((n_rays, n_samp + 1), dtype=np.uint8)
    need[ray, samp] = 1
    return need


@functools.lru_cache(maxsize=8)
def _disc_needed(radius_m: float, res_x_m: float, res_y_m: float, n_rays: int,
                 step_m: float, n_samp: int) -> np.ndarray:
    need = needed_samples(disc_offsets(radius_m, res_x_m, res_y_m, n_rays, step_m), n_rays,
                          n_samp)
    need.setflags(write=False)
    return need


def disc_needed_samples(radius_m: float, res_x_m: float, res_y_m: float, n_rays: int,
                        step_m: float, n_samp: int) -> np.ndarray:
    """:func:`needed_samples` of :func:`disc_offsets` (same arguments), computed once (a copy
    of the kept table: ~0.2 ms instead of ~3 ms for a 15 km disc at 30 m)."""
    return _disc_needed(radius_m, res_x_m, res_y_m, n_rays, step_m, n_samp).copy()


_WORK = threading.local()
#: ray buffers up to this size are kept between calls (:func:`work_buffer`)
WORK_KEEP_BYTES = 256 * 2 ** 20


def work_buffer(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """An uninitialised array of ``shape``, the same memory on every call from one thread.

    The sweeps' ray buffers are tens of MB; a fresh one per call costs its page faults again
    (~14 ms for one 15 km ITM site, 5 % of that call), which single-site callers (the
    what-if service, benchmarks) paid every time. Buffers up to :data:`WORK_KEEP_BYTES` are
    kept (one per thread and dtype, freed with the thread); larger ones are fresh each call.
    The previous contents are garbage, and the array is only valid until the thread's next
    call.
    """
    size = int(np.prod(shape))
    dt = np.dtype(dtype)
    if size * dt.itemsize > WORK_KEEP_BYTES:
        return np.empty(shape, dtype=dt)
    held = getattr(_WORK, dt.str, None)
    if held is None or held.size < size:
        held = np.empty(size, dtype=dt)
        setattr(_WORK, dt.str, held)
    return held[:size].reshape(shape)


#: base rays (each with its 6 descendants) walked by one call of :func:`_walk`
RAYS_PER_CALL = 8


@functools.lru_cache(maxsize=16)
def ray_segments(n_rays: int, n_samp: int, n_stop: int, res_x: float, res_y: float,
                 step_m: float) -> tuple[np.ndarray, ...]:
    """The segments of the hierarchical rays, in the order :func:`_walk` takes them.

    A quarter of the rays (r ≡ 0 mod 4) run from the site to R/4; there each splits into two
    (r, r + 2) that inherit its hull and run to R/2, where each splits again (r, r + 1) to R.
    Neighbouring rays are at most half a cell apart where they split, so the inherited
    obstacles are those of the child's own path to within half a cell. Per base ray, depth
    first: (r, level 0), (r, 1), (r, 2), (r + 1, 2), (r + 2, 1), (r + 2, 2), (r + 3, 2). The
    ray geometry is that of ``n_samp`` (the largest radius); the walks stop at sample
    ``n_stop`` (this transmitter's radius), so that a site's values do not depend on its own
    radius. Entries of rays that do not exist at a distance are never written (never
    gathered either).

    Returns
    -------
    tuple of numpy.ndarray
        ``(du, dv, bearing, k0, k1, level, row)``, read-only (cached).
    """
    k1, k2 = level_bounds(n_samp)
    e = (min(k1, n_stop), min(k2, n_stop), min(n_samp, n_stop))
    first = (1, k1 + 1, k2 + 1)
    tree = ((0, 0), (0, 1), (0, 2), (1, 2), (2, 1), (2, 2), (3, 2))  # (ray offset, level)
    base = 4 * np.arange(n_rays // 4)
    off = np.array([t[0] for t in tree])
    lev = np.array([t[1] for t in tree])
    row = (base[:, None] + off[None, :]).ravel()
    level = np.broadcast_to(lev, (len(base), len(tree))).ravel()
    th = 2.0 * np.pi * row / n_rays
    out = (np.cos(th) * step_m / res_x, -np.sin(th) * step_m / res_y, 90.0 - np.degrees(th),
           np.array(first)[level], np.array(e)[level], level, row)
    out = tuple(np.ascontiguousarray(a, dtype=np.float64 if i < 3 else np.int64)
                for i, a in enumerate(out))
    for a in out:
        a.flags.writeable = False
    return out


@nb.njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _sweep_one(dem: np.ndarray, u0: float, v0: float, zt: float, rx_h: float,
               ld_t: np.ndarray, drop_t: np.ndarray, model: int, base_db: np.ndarray,
               fs_const_db: np.ndarray, sq: np.ndarray, eirp: np.ndarray, nb_: int, mode: int,
               depth: int, step_m: float, seg_du: np.ndarray, seg_dv: np.ndarray,
               seg_bearing: np.ndarray, seg_k0: np.ndarray, seg_k1: np.ndarray,
               seg_level: np.ndarray, seg_row: np.ndarray, buf: np.ndarray, need: np.ndarray,
               pid: np.ndarray, az: np.ndarray, n_az: np.ndarray, tilt_e: np.ndarray,
               tilt_m: np.ndarray, pat_h: np.ndarray, pat_v: np.ndarray,
               pat_cap: np.ndarray) -> None:
    """Received power along every ray (:func:`ray_segments`): buf[b, r, k] (dBm) for band b;
    NaN off-grid. ``need[r, k]`` marks the samples some grid cell takes (see
    :func:`needed_samples`); the others only feed the hull. :data:`RAYS_PER_CALL` base rays
    per call of :func:`_walk`, the calls in parallel."""
    n_seg = seg_k0.shape[0]
    per = 7 * RAYS_PER_CALL
    n_call = (n_seg + per - 1) // per
    for c in nb.prange(n_call):
        _walk(dem, u0, v0, zt, rx_h, step_m, ld_t, drop_t, model, base_db, fs_const_db, sq,
              eirp, nb_, mode, depth, seg_du, seg_dv, seg_bearing, seg_k0, seg_k1, seg_level,
              seg_row, c * per, min(n_seg, (c + 1) * per), buf, False, need, pid, az, n_az,
              tilt_e, tilt_m, pat_h, pat_v, pat_cap)


@nb.njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def gather(grid: np.ndarray, row0: int, col0: int, drow: np.ndarray, dcol: np.ndarray,
           ray: np.ndarray, samp: np.ndarray, rays: np.ndarray) -> None:
    """Each cell of the disc takes its (ray, sample) value ``rays[ray, sample]`` of one band,
    keeping the maximum (best server)."""
    nr, nc = grid.shape
    n = drow.shape[0]
    nchunk = 64
    size = (n + nchunk - 1) // nchunk
    for c in nb.prange(nchunk):
        for q in range(c * size, min(n, (c + 1) * size)):
            i = row0 + drow[q]
            j = col0 + dcol[q]
            if i < 0 or j < 0 or i >= nr or j >= nc:
                continue
            p = rays[ray[q], samp[q]]
            if p > grid[i, j]:  # NaN never wins
                grid[i, j] = p


def group_transmitters(col: np.ndarray, row: np.ndarray, zt: np.ndarray,
                       radius_m: np.ndarray | None = None) -> list[np.ndarray]:
    """Indices of transmitters sharing a cell, an antenna altitude (±5 cm) and a computation
    radius, ≤ MAX_BANDS each.

    They share one walk: the terrain geometry is the same, only frequency-dependent terms
    (ν's scale ``sqrt(2/λ)``, model constants), EIRP and antenna differ.
    """
    rad = np.zeros(len(col)) if radius_m is None else np.asarray(radius_m, dtype=float)
    key = np.column_stack([np.floor(col), np.floor(row), np.rint(np.asarray(zt) * 20.0), rad])
    _, inv = np.unique(key, axis=0, return_inverse=True)
    inv = np.asarray(inv).ravel()
    order = np.argsort(inv, kind="stable")
    groups = []
    bounds = np.flatnonzero(np.diff(inv[order])) + 1
    for part in np.split(order, bounds):
        for k in range(0, len(part), MAX_BANDS):
            groups.append(part[k:k + MAX_BANDS])
    return groups


@dataclasses.dataclass
class Antennas:
    """Antenna arrays of n transmitters, as the kernels take them.

    Attributes
    ----------
    pid
        Pattern row per transmitter in ``pat_h``/``pat_v`` (−1: omni).
    az, n_az
        Azimuths (deg clockwise from north, n × 6) and how many are used (0 = omni).
    tilt_e, tilt_m
        Electrical tilt added to the vertical cut (0 for files holding their own) and
        mechanical tilt (deg, down positive).
    pat_h, pat_v, pat_cap
        Pattern bank: relative gain (dB ≤ 0) every degree, horizontal (off azimuth) and
        vertical (below the horizon), and the cap of the combined attenuation.
    """

    pid: np.ndarray
    az: np.ndarray
    n_az: np.ndarray
    tilt_e: np.ndarray
    tilt_m: np.ndarray
    pat_h: np.ndarray
    pat_v: np.ndarray
    pat_cap: np.ndarray

    @classmethod
    def omni(cls, n: int) -> Antennas:
        return cls(np.full(n, -1, np.int64), np.zeros((n, 6)), np.zeros(n, np.int64),
                   np.zeros(n), np.zeros(n), np.zeros((1, 360)), np.zeros((1, 360)),
                   np.ones(1))

    def take(self, idx: np.ndarray) -> Antennas:
        return Antennas(self.pid[idx], self.az[idx], self.n_az[idx], self.tilt_e[idx],
                        self.tilt_m[idx], self.pat_h, self.pat_v, self.pat_cap)

    def arrays(self, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        return (np.ascontiguousarray(self.pid[idx], dtype=np.int64),
                np.ascontiguousarray(self.az[idx], dtype=np.float64),
                np.ascontiguousarray(self.n_az[idx], dtype=np.int64),
                np.ascontiguousarray(self.tilt_e[idx], dtype=np.float64),
                np.ascontiguousarray(self.tilt_m[idx], dtype=np.float64),
                np.ascontiguousarray(self.pat_h, dtype=np.float64),
                np.ascontiguousarray(self.pat_v, dtype=np.float64),
                np.ascontiguousarray(self.pat_cap, dtype=np.float64))


def _antennas(antennas: Antennas | None, az, n_az, n: int) -> Antennas:
    """The given antennas, or 3GPP TR 36.814 sectors (no tilt) on ``az``/``n_az``."""
    if antennas is not None:
        return antennas
    if az is None or n_az is None:
        return Antennas.omni(n)
    from phusong.gis.antenna import TR36814

    n_az = np.asarray(n_az, np.int64)
    return Antennas(np.where(n_az > 0, 0, -1).astype(np.int64), np.asarray(az, float), n_az,
                    np.zeros(n), np.zeros(n), TR36814.horizontal[None, :],
                    TR36814.vertical[None, :], np.array([TR36814.cap_db]))


def sweep_sites(dem: np.ndarray, grids: list[np.ndarray] | np.ndarray, *, grid_index: np.ndarray,
                col: np.ndarray, row: np.ndarray, zt: np.ndarray, eirp: np.ndarray,
                base_db: np.ndarray, fs_const_db: np.ndarray, wavelength: np.ndarray,
                res_x: float, res_y: float, radius_m: float | np.ndarray, rx_height_m: float,
                k_factor: float, model: int, mode: int, depth: int = 1,
                antennas: Antennas | None = None, az: np.ndarray | None = None,
                n_az: np.ndarray | None = None, ray_radius_m: float | None = None,
                offsets: tuple[np.ndarray, ...] | None = None, callback=None) -> None:
    """Best-server received power of transmitters into their grids (in place, max).

    Parameters
    ----------
    dem
        float32 elevations without voids (rows × cols), north-up.
    grids
        float32 outputs of the DEM's shape, initialised to ``-inf``; each keeps the maximum.
        A list of grids, or one (n, rows, cols) array.
    grid_index
        For each transmitter, the index in ``grids`` it is written to.
    col, row
        Continuous pixel coordinates of each transmitter (cell centres at +0.5).
    zt
        Antenna altitude (ground + mast) in metres.
    eirp
        Peak EIRP (dBm) of what is compared with the threshold (reference signal, margins
        already taken off).
    base_db, fs_const_db
        Per-transmitter constants: Hata ``const − a(hm) + C_env`` and ``32.45 + 20 log f``.
    wavelength
        Wavelength (m).
    radius_m
        Computation radius: one value, or one per transmitter. The rays are those of the
        largest radius (or of ``ray_radius_m``, the cap, when given: then a value never
        depends on the transmitter's own radius); each transmitter's walk stops at its own.
    rx_height_m, k_factor
        Receiver height, effective Earth-radius factor.
    model, mode, depth
        Path-loss model (0 Hata, 1 free space), diffraction mode (0–3, module docstring) and
        Deygout depth.
    antennas
        :class:`Antennas`; default: 3GPP sectors on ``az``/``n_az`` when given, else omni.
    offsets
        Precomputed :func:`disc_offsets` for a single radius.
    callback
        Called with the number of transmitters done after each walk.
    """
    n = len(col)
    ant = _antennas(antennas, az, n_az, n)
    gidx = np.asarray(grid_index, dtype=np.int64)
    step = float(min(res_x, res_y))
    rad = np.broadcast_to(np.asarray(radius_m, dtype=float), (n,))
    # one ray geometry for all (that of ``ray_radius_m`` or the largest radius); each
    # transmitter walks to its own radius
    r_max = float(rad.max()) if n else 0.0
    if ray_radius_m is not None:
        r_max = max(r_max, float(ray_radius_m))
    n_samp = max(1, int(r_max // step))
    n_rays = ray_count(r_max, step)
    if offsets is not None and np.ndim(radius_m) == 0:
        off_all = offsets
        need = needed_samples(off_all, n_rays, n_samp)
    else:
        off_all = disc_offsets(r_max, res_x, res_y, n_rays, step)
        need = disc_needed_samples(r_max, res_x, res_y, n_rays, step, n_samp)
    groups = group_transmitters(col, row, zt, rad)
    buf = work_buffer((max((len(g) for g in groups), default=1), n_rays, n_samp + 1),
                      np.float32)
    ld_t, _, drop_t = distance_tables(step, n_samp, k_factor)
    subsets: dict[int, tuple[np.ndarray, ...]] = {}
    sq_all = np.sqrt(2.0 / np.asarray(wavelength, dtype=float))
    done = 0
    for idx in groups:
        s = idx[0]
        n_stop = max(1, min(n_samp, int(float(rad[s]) // step)))
        if n_stop not in subsets:
            keep = off_all[3] <= n_stop
            subsets[n_stop] = tuple(a[keep] for a in off_all) if not keep.all() else off_all
        drow, dcol, ray, samp = subsets[n_stop]
        c_int = math.floor(col[s])
        r_int = math.floor(row[s])
        nb_ = len(idx)
        _sweep_one(dem, c_int + 0.5, r_int + 0.5, float(zt[s]), rx_height_m, ld_t, drop_t,
                   model, np.asarray(base_db, float)[idx], np.asarray(fs_const_db, float)[idx],
                   sq_all[idx], np.asarray(eirp, float)[idx], nb_, mode, int(depth), step,
                   *ray_segments(n_rays, n_samp, n_stop, float(res_x), float(res_y), step),
                   buf, need, *ant.arrays(idx))
        # band by band: one band's rays (a few MB) stay in cache while its cells take them
        for b, t in enumerate(idx):
            gather(grids[gidx[t]], r_int, c_int, drow, dcol, ray, samp, buf[b])
        done += nb_
        if callback is not None:
            callback(done)


@nb.njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _point_power(dem: np.ndarray, pair_site: np.ndarray, pu: np.ndarray, pv: np.ndarray,
                 col: np.ndarray, row: np.ndarray, zt: np.ndarray, eirp: np.ndarray,
                 base_db: np.ndarray, fs_const_db: np.ndarray, sq_all: np.ndarray,
                 res_x: float, res_y: float, step_m: float, rx_h: float, ld_t: np.ndarray,
                 drop_t: np.ndarray, model: int, mode: int, depth: int, pid: np.ndarray,
                 az: np.ndarray, n_az: np.ndarray, tilt_e: np.ndarray, tilt_m: np.ndarray,
                 pat_h: np.ndarray, pat_v: np.ndarray, pat_cap: np.ndarray) -> np.ndarray:
    n = pair_site.shape[0]
    n_max = ld_t.shape[0] - 1
    out = np.empty(n, dtype=np.float32)
    nchunk = 64
    size = (n + nchunk - 1) // nchunk
    all_needed = np.ones((1, 1), dtype=np.uint8)
    for c in nb.prange(nchunk):
        prof = np.empty((1, 1, n_max + 1))
        bb = np.empty(1)
        fc = np.empty(1)
        sq = np.empty(1)
        ei = np.zeros(1)
        p1 = np.empty(1, dtype=np.int64)
        a1 = np.empty((1, 6))
        na1 = np.empty(1, dtype=np.int64)
        te1 = np.empty(1)
        tm1 = np.empty(1)
        s_du = np.empty(1)
        s_dv = np.empty(1)
        s_bear = np.empty(1)
        s_k0 = np.ones(1, dtype=np.int64)
        s_k1 = np.empty(1, dtype=np.int64)
        s_lev = np.zeros(1, dtype=np.int64)
        s_row = np.zeros(1, dtype=np.int64)
        for q in range(c * size, min(n, (c + 1) * size)):
            s = pair_site[q]
            dx = (pu[q] - col[s]) * res_x
            dy = -(pv[q] - row[s]) * res_y
            dist = math.sqrt(dx * dx + dy * dy)
            theta = 0.0
            if dx != 0.0 or dy != 0.0:
                theta = math.atan2(dy, dx)
            ns = int(dist / step_m + 0.5)
            if ns < 1:
                ns = 1
            if ns > n_max:
                out[q] = np.nan
                continue
            s_du[0] = math.cos(theta) * step_m / res_x
            s_dv[0] = -math.sin(theta) * step_m / res_y
            s_bear[0] = 90.0 - math.degrees(theta)
            s_k1[0] = ns
            bb[0] = base_db[s]
            fc[0] = fs_const_db[s]
            sq[0] = sq_all[s]
            p1[0] = pid[s]
            for t in range(6):
                a1[0, t] = az[s, t]
            na1[0] = n_az[s]
            te1[0] = tilt_e[s]
            tm1[0] = tilt_m[s]
            _walk(dem, col[s], row[s], zt[s], rx_h, step_m, ld_t, drop_t, model, bb, fc, sq, ei,
                  1, mode, depth, s_du, s_dv, s_bear, s_k0, s_k1, s_lev, s_row, 0, 1, prof, True,
                  all_needed, p1, a1, na1, te1, tm1, pat_h, pat_v, pat_cap)
            out[q] = eirp[s] + prof[0, 0, ns]
    return out


def point_power(dem: np.ndarray, *, pair_site: np.ndarray, pcol: np.ndarray, prow: np.ndarray,
                col: np.ndarray, row: np.ndarray, zt: np.ndarray, eirp: np.ndarray,
                base_db: np.ndarray, fs_const_db: np.ndarray, wavelength: np.ndarray,
                res_x: float, res_y: float, rx_height_m: float, k_factor: float, model: int,
                mode: int, depth: int = 1, antennas: Antennas | None = None,
                az: np.ndarray | None = None, n_az: np.ndarray | None = None,
                max_distance_m: float = 50_000.0) -> np.ndarray:
    """Received power (dBm) at points, each from one transmitter, by point-to-point profile.

    Same physics as :func:`sweep_sites`: the profile is walked from the transmitter every
    cell size (the hull is built from every sample) and the loss is evaluated at the sample
    nearest the point (at most half a cell away, like the raster's nearest ray sample).
    ``pair_site[q]`` is the transmitter index of point ``q``; ``pcol``/``prow`` its continuous
    pixel coordinates. NaN off-grid or beyond ``max_distance_m``.
    """
    step = float(min(res_x, res_y))
    if len(pair_site) == 0:
        return np.empty(0, dtype=np.float32)
    n = len(col)
    ant = _antennas(antennas, az, n_az, n)
    n_max = int(max_distance_m // step) + 2
    ld_t, _, drop_t = distance_tables(step, n_max, k_factor)
    return _point_power(dem, pair_site.astype(np.int64), pcol.astype(np.float64),
                        prow.astype(np.float64), col.astype(np.float64),
                        row.astype(np.float64), zt.astype(np.float64),
                        eirp.astype(np.float64), base_db.astype(np.float64),
                        fs_const_db.astype(np.float64),
                        np.sqrt(2.0 / wavelength.astype(np.float64)), float(res_x),
                        float(res_y), step, float(rx_height_m), ld_t, drop_t, int(model),
                        int(mode), int(depth), *ant.arrays(np.arange(n)))


@nb.njit(cache=True, error_model="numpy", fastmath=_FM)
def radius_field(grid: np.ndarray, col: np.ndarray, row: np.ndarray,
                 res_x: float, res_y: float, radius_m: np.ndarray, top_db: np.ndarray,
                 edge_db: np.ndarray) -> None:
    """Synthetic field of the radius model, max over sites, in place.

    Inside the disc of ``radius_m[s]`` around each site the value falls linearly from
    ``top_db`` at the site to ``edge_db`` at the edge; outside it is left untouched.
    """
    nr, nc = grid.shape
    for s in range(col.shape[0]):
        rad = radius_m[s]
        nx = int(rad / res_x) + 1
        ny = int(rad / res_y) + 1
        c0 = math.floor(col[s])
        r0 = math.floor(row[s])
        for i in range(max(0, r0 - ny), min(nr, r0 + ny + 1)):
            y = (i + 0.5 - row[s]) * res_y
            for j in range(max(0, c0 - nx), min(nc, c0 + nx + 1)):
                x = (j + 0.5 - col[s]) * res_x
                d = math.sqrt(x * x + y * y)
                if d <= rad:
                    val = top_db[s] + (edge_db[s] - top_db[s]) * d / rad
                    if val > grid[i, j]:
                        grid[i, j] = val


@nb.njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def sector_gain(theta: float, az: np.ndarray, n_az: int) -> float:
    """Horizontal 3GPP TR 36.814 sector gain (dB ≤ 0), best over the azimuths (degrees
    clockwise from north), toward the math angle ``theta`` (radians, counter-clockwise from
    east): ``−min(12 (φ/70°)², 25 dB)``; 0 for an omni site (``n_az`` 0).

    The horizontal cut of the default pattern only, for the compiled models that take no
    vertical pattern (:mod:`gis._itm`).
    """
    if n_az == 0:
        return 0.0
    bearing = 90.0 - math.degrees(theta)
    best = -25.0
    for a in range(n_az):
        diff = (bearing - az[a] + 540.0) % 360.0 - 180.0
        g = -12.0 * (diff / 70.0) ** 2
        if g < -25.0:
            g = -25.0
        if g > best:
            best = g
    return best
