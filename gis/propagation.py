"""Radio propagation formulas: free space, Okumura-Hata / COST-231 Hata, knife-edge diffraction.

Every function here is a plain, vectorised numpy implementation of a published formula. They are
the reference the compiled terrain kernel (:mod:`gis._kernels`) is tested against.

Formulas and sources
--------------------
Free-space loss (ITU-R P.525-4, eq. 9)
    ``L = 32.45 + 20 log10(f_MHz) + 20 log10(d_km)``  dB.

Okumura-Hata (Hata 1980, IEEE Trans. VT-29(3); ITU-R report SM.2028 / P.529)
    valid for f 150–1500 MHz, base height hb 30–200 m, mobile height hm 1–10 m, d 1–20 km::

        L_u = 69.55 + 26.16 log f − 13.82 log hb − a(hm) + (44.9 − 6.55 log hb) log d

    with the small/medium-city mobile correction
    ``a(hm) = (1.1 log f − 0.7) hm − (1.56 log f − 0.8)``.

COST-231 Hata (COST Action 231 final report, 1999, §4.4.3)
    extends Hata to 1500–2000 MHz::

        L_u = 46.3 + 33.9 log f − 13.82 log hb − a(hm) + (44.9 − 6.55 log hb) log d + C_m

    with ``C_m = 0`` dB (medium city and suburban; 3 dB for metropolitan centres, not used).

Environment corrections (Hata 1980, after Okumura 1968)
    * ``urban``: ``L_u``;
    * ``suburban``: ``L_u − 2 (log(f/28))² − 5.4``;
    * ``open``: ``L_u − 4.78 (log f)² + 18.33 log f − 40.94``;
    * ``rural`` (Okumura's "quasi-open" area, 5 dB more loss than open):
      ``L_u − 4.78 (log f)² + 18.33 log f − 35.94``.

    The same corrections are applied to the COST-231 formula (the COST 231 report gives no
    rural variant; applying Hata's open-area correction is the common practice).

Clamping outside the validity ranges (documented choices, not part of the published models)
    * ``f`` above 2000 MHz (LTE 2600, NR 3500) is evaluated with COST-231 at the true frequency:
      an extrapolation. Below 150 MHz the formula is evaluated at 150 MHz.
    * ``hb`` is clamped to 30–200 m; ``hm`` to 1–10 m.
    * For ``d < 1 km`` the loss follows the free-space slope anchored at the 1 km Hata value,
      ``L(d) = L(1 km) + 20 log10(d_km)``, and is never below the free-space loss.
      Beyond 20 km the formula is extrapolated.

Knife-edge diffraction (ITU-R P.526-15, §4.1, eqs. 26, 31)
    ``ν = h sqrt(2 (d1 + d2) / (λ d1 d2))`` for an edge ``h`` metres above the direct path at
    distances ``d1``, ``d2`` from the ends; the loss is approximated by
    ``J(ν) = 6.9 + 20 log10( sqrt((ν − 0.1)² + 1) + ν − 0.1 )`` for ``ν > −0.78``, else 0 dB.

Several edges
    * Deygout (1966; ITU-R P.526-15 §4.5.1 describes the same principal-edge construction):
      the edge of largest ``ν`` over the whole path is the principal edge; the sub-paths on
      either side are treated the same way, recursively (``depth`` 1: at most three edges,
      2: seven). The edges are the vertices of the profile's taut string; see
      :func:`deygout_loss_db`.
    * Epstein-Peterson (1953): the losses of successive edges, each computed over the path
      between its neighbouring edges, are added.

Earth curvature
    A point at ``d1`` from one end and ``d2`` from the other lies ``d1 d2 / (2 k R)`` above the
    chord of the effective Earth of radius ``k R`` (R = 6 371 km, k = 4/3 for standard radio
    refraction, ITU-R P.453 / P.834).

Assumptions and limits
    Hata and COST-231 are empirical fits to Okumura's Tokyo measurements over quasi-smooth
    terrain; they know nothing about the specific profile. The terrain model therefore adds
    the diffraction loss of the profile's own obstacles explicitly (see :mod:`gis._kernels`).
    Clutter (forest, buildings) beyond the environment class, tropospheric effects, multipath
    fading and time/location variability are not modelled.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "EARTH_RADIUS_M",
    "deygout_loss_db",
    "deygout_p452_loss_db",
    "earth_bulge_m",
    "epstein_peterson_loss_db",
    "free_space_loss_db",
    "fresnel_nu",
    "fresnel_radius_m",
    "hata_base_db",
    "hata_loss_db",
    "knife_edge_loss_db",
    "mobile_height_correction_db",
    "wavelength_m",
]

EARTH_RADIUS_M = 6_371_000.0
SPEED_OF_LIGHT_M_S = 299_792_458.0
ENVIRONMENTS = ("urban", "suburban", "rural", "open")


def wavelength_m(freq_mhz: float | np.ndarray) -> np.ndarray:
    """Wavelength in metres of a frequency in MHz."""
    return SPEED_OF_LIGHT_M_S / (np.asarray(freq_mhz, dtype=float) * 1e6)


def free_space_loss_db(distance_km: float | np.ndarray, freq_mhz: float | np.ndarray) -> np.ndarray:
    """Free-space basic transmission loss (ITU-R P.525-4 eq. 9) in dB."""
    d = np.asarray(distance_km, dtype=float)
    f = np.asarray(freq_mhz, dtype=float)
    return 32.45 + 20.0 * np.log10(f) + 20.0 * np.log10(d)


def mobile_height_correction_db(freq_mhz: float | np.ndarray,
                                mobile_height_m: float | np.ndarray) -> np.ndarray:
    """Hata's small/medium-city mobile antenna correction ``a(hm)`` in dB."""
    lf = np.log10(np.asarray(freq_mhz, dtype=float))
    hm = np.clip(np.asarray(mobile_height_m, dtype=float), 1.0, 10.0)
    return (1.1 * lf - 0.7) * hm - (1.56 * lf - 0.8)


def _environment_correction_db(freq_mhz: np.ndarray, environment: str) -> np.ndarray:
    lf = np.log10(freq_mhz)
    if environment == "urban":
        return np.zeros_like(lf)
    if environment == "suburban":
        return -2.0 * np.log10(freq_mhz / 28.0) ** 2 - 5.4
    if environment == "open":
        return -4.78 * lf**2 + 18.33 * lf - 40.94
    if environment == "rural":
        return -4.78 * lf**2 + 18.33 * lf - 35.94
    raise ValueError(f"environment={environment!r}: use one of {ENVIRONMENTS}")


def hata_loss_db(distance_km: float | np.ndarray, freq_mhz: float | np.ndarray,
                 base_height_m: float | np.ndarray, mobile_height_m: float | np.ndarray = 1.5,
                 *, environment: str = "rural", clamp: bool = True) -> np.ndarray:
    """Okumura-Hata (f ≤ 1500 MHz) or COST-231 Hata (f > 1500 MHz) median path loss in dB.

    Parameters
    ----------
    distance_km
        Ground distance between the antennas.
    freq_mhz
        Carrier frequency.
    base_height_m
        Effective base-station antenna height (clamped to 30–200 m when ``clamp``).
    mobile_height_m
        Mobile antenna height above ground (clamped to 1–10 m).
    environment
        ``"urban"``, ``"suburban"``, ``"rural"`` (quasi-open) or ``"open"``.
    clamp
        Apply the documented clamping (heights, frequency floor, free-space slope below 1 km).
        With ``clamp=False`` the published formula is evaluated as is (for tests against it).

    Returns
    -------
    numpy.ndarray
        Loss in dB, broadcast over the inputs.
    """
    d = np.asarray(distance_km, dtype=float)
    f = np.asarray(freq_mhz, dtype=float)
    hb = np.asarray(base_height_m, dtype=float)
    hm = np.asarray(mobile_height_m, dtype=float)
    if clamp:
        f = np.maximum(f, 150.0)
        hb = np.clip(hb, 30.0, 200.0)
        hm = np.clip(hm, 1.0, 10.0)
    lf = np.log10(f)
    lhb = np.log10(hb)
    const = np.where(f <= 1500.0, 69.55 + 26.16 * lf, 46.3 + 33.9 * lf)
    a_hm = (1.1 * lf - 0.7) * hm - (1.56 * lf - 0.8)
    slope = 44.9 - 6.55 * lhb
    base = const - 13.82 * lhb - a_hm + _environment_correction_db(f, environment)
    if not clamp:
        return base + slope * np.log10(d)
    d_eff = np.maximum(d, 1e-6)
    near = base + 20.0 * np.log10(np.minimum(d_eff, 1.0))  # slope 20 dB/decade below 1 km
    loss = np.where(d_eff >= 1.0, base + slope * np.log10(np.maximum(d_eff, 1.0)), near)
    return np.maximum(loss, free_space_loss_db(d_eff, f))


def hata_base_db(freq_mhz: float | np.ndarray, mobile_height_m: float | np.ndarray = 1.5, *,
                 environment: str = "rural") -> np.ndarray:
    """The part of the Hata/COST-231 loss that depends on neither hb nor d, in dB.

    ``const(f) − a(hm) + C_env(f)``, with the clamping of :func:`hata_loss_db`; the full loss
    is ``base − 13.82 log hb + (44.9 − 6.55 log hb) log d``. Used by the compiled kernels.
    """
    f = np.maximum(np.asarray(freq_mhz, dtype=float), 150.0)
    hm = np.clip(np.asarray(mobile_height_m, dtype=float), 1.0, 10.0)
    lf = np.log10(f)
    const = np.where(f <= 1500.0, 69.55 + 26.16 * lf, 46.3 + 33.9 * lf)
    a_hm = (1.1 * lf - 0.7) * hm - (1.56 * lf - 0.8)
    return const - a_hm + _environment_correction_db(f, environment)


def knife_edge_loss_db(nu: float | np.ndarray) -> np.ndarray:
    """Single knife-edge diffraction loss ``J(ν)`` in dB (ITU-R P.526-15 eq. 31).

    ``J(ν) = 6.9 + 20 log10(sqrt((ν − 0.1)² + 1) + ν − 0.1)`` for ``ν > −0.78``, else 0.
    """
    v = np.asarray(nu, dtype=float)
    t = v - 0.1
    with np.errstate(invalid="ignore", divide="ignore"):
        j = 6.9 + 20.0 * np.log10(np.sqrt(t * t + 1.0) + t)
    return np.where(v > -0.78, j, 0.0)


def earth_bulge_m(d1_m: float | np.ndarray, d2_m: float | np.ndarray, *,
                  k_factor: float = 4.0 / 3.0) -> np.ndarray:
    """Height of the effective Earth above the chord, ``d1 d2 / (2 k R)``, in metres."""
    return (np.asarray(d1_m, dtype=float) * np.asarray(d2_m, dtype=float)
            / (2.0 * k_factor * EARTH_RADIUS_M))


def fresnel_nu(h_m: float | np.ndarray, d1_m: float | np.ndarray, d2_m: float | np.ndarray,
               freq_mhz: float | np.ndarray) -> np.ndarray:
    """Fresnel-Kirchhoff diffraction parameter ``ν = h sqrt(2 (d1+d2) / (λ d1 d2))``."""
    d1 = np.asarray(d1_m, dtype=float)
    d2 = np.asarray(d2_m, dtype=float)
    lam = wavelength_m(freq_mhz)
    return np.asarray(h_m, dtype=float) * np.sqrt(2.0 * (d1 + d2) / (lam * d1 * d2))


def fresnel_radius_m(d1_m: float | np.ndarray, d2_m: float | np.ndarray,
                     freq_mhz: float | np.ndarray, *, zone: int = 1) -> np.ndarray:
    """Radius of the n-th Fresnel zone, ``sqrt(n λ d1 d2 / (d1 + d2))``, in metres."""
    d1 = np.asarray(d1_m, dtype=float)
    d2 = np.asarray(d2_m, dtype=float)
    return np.sqrt(zone * wavelength_m(freq_mhz) * d1 * d2 / (d1 + d2))


def _heights_above_chord(dist_m: np.ndarray, elev_m: np.ndarray, i0: int, i1: int,
                         z0: float, z1: float, k_factor: float) -> np.ndarray:
    """Heights of points i0 < i < i1 above the straight ray z0 → z1, with Earth bulge."""
    d = dist_m[i0 + 1:i1] - dist_m[i0]
    total = dist_m[i1] - dist_m[i0]
    line = z0 + (z1 - z0) * d / total
    return elev_m[i0 + 1:i1] + earth_bulge_m(d, total - d, k_factor=k_factor) - line


def _taut_string(d: np.ndarray, z: np.ndarray) -> list[int]:
    """Indices of the upper convex hull of (d, z), first and last point included."""
    hull: list[int] = []
    for i in range(len(d)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (d[b] - d[a]) * (z[i] - z[a]) - (z[b] - z[a]) * (d[i] - d[a]) >= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def deygout_loss_db(dist_m: np.ndarray, elev_m: np.ndarray, *, tx_height_m: float,
                    rx_height_m: float, freq_mhz: float, k_factor: float = 4.0 / 3.0,
                    depth: int = 1, principal: str = "nu", candidates: str = "string",
                    foreground: int = 8) -> float:
    """Deygout multiple knife-edge loss over a terrain profile, in dB.

    Parameters
    ----------
    dist_m, elev_m
        Profile: distances from the transmitter (increasing, first 0) and ground elevations.
    tx_height_m, rx_height_m
        Antenna heights above the ground at the first and last profile points.
    freq_mhz
        Frequency.
    k_factor
        Effective Earth-radius factor.
    depth
        Levels of sub-paths below the principal edge: 0 the principal alone, 1 at most three
        edges (the principal, then the largest-``ν`` edge of each sub-path), 2 at most seven,
        ...
    principal
        ``"nu"``: classic Deygout, the principal edge is the one of largest ``ν``.
        ``"loss"``: the edge whose construction gives the largest total loss (a variant,
        for comparison).
    candidates
        ``"string"`` (what the compiled kernel does): the edges are the vertices of the
        profile's taut string — the upper convex hull of the curvature-corrected profile
        between the two antennas; a path with no such vertex (line of sight) loses the
        ``J(ν)`` of the crest or foreground point of largest ``ν`` (partial obstruction of
        the first Fresnel zone, ``ν > −0.78``): crests are the vertices of the upper hull of
        the transmitter and the terrain before the receiver, the foreground the receiver's
        last ``foreground`` samples. ``"profile"``: every profile point is a candidate in
        every sub-path (the textbook construction on a sampled profile).
    foreground
        See ``candidates`` (the compiled kernel's ``FOREGROUND``).
    """
    d = np.asarray(dist_m, dtype=float)
    z = np.asarray(elev_m, dtype=float)
    lam = float(wavelength_m(freq_mhz))
    if principal not in ("nu", "loss"):
        raise ValueError(f"principal={principal!r}: use 'nu' or 'loss'")
    if candidates not in ("string", "profile"):
        raise ValueError(f"candidates={candidates!r}: use 'string' or 'profile'")
    # heights in the frame of the transmitter's tangent plane on the k-factor Earth
    zc = z - d**2 / (2.0 * k_factor * EARTH_RADIUS_M)
    zc = zc.copy()
    zc[0] += tx_height_m
    zc[-1] += rx_height_m

    def nu_of(i0: int, m: np.ndarray | int, i1: int) -> np.ndarray:
        m = np.asarray(m)
        d1 = d[m] - d[i0]
        d2 = d[i1] - d[m]
        h = zc[m] - (zc[i0] + (zc[i1] - zc[i0]) * d1 / (d[i1] - d[i0]))
        return h * np.sqrt(2.0 * (d1 + d2) / (lam * d1 * d2))

    if candidates == "string":
        edges = _taut_string(d, zc)[1:-1]
        if not edges:
            if len(d) < 3:
                return 0.0
            # line of sight: the points that can reach into the first Fresnel zone are the
            # crests (vertices of the upper hull of the transmitter and the terrain before
            # the receiver) and the receiver's own foreground (its last ``foreground``
            # samples)
            crest = _taut_string(d[:-1], zc[:-1])[1:]
            near = list(range(max(1, len(d) - 1 - foreground), len(d) - 1))
            pts = np.array(sorted(set(crest) | set(near)))
            return float(knife_edge_loss_db(nu_of(0, pts, len(d) - 1).max()))
    else:
        edges = list(range(1, len(d) - 1))

    def recurse(i0: int, i1: int, cands: list[int], level: int, choose: str) -> float:
        inner = [m for m in cands if i0 < m < i1]
        if not inner or level < 0:
            return 0.0
        nu = nu_of(i0, np.array(inner), i1)
        if nu.max() <= -0.78:
            return 0.0
        order = [int(np.argmax(nu))] if choose == "nu" else \
            [int(i) for i in np.flatnonzero(nu > -0.78)]
        best = -np.inf
        for j in order:
            m = inner[j]
            tot = (float(knife_edge_loss_db(nu[j]))
                   + recurse(i0, m, inner, level - 1, "nu")
                   + recurse(m, i1, inner, level - 1, "nu"))
            best = max(best, tot)
        return best

    return recurse(0, len(d) - 1, edges, depth, principal)


def deygout_p452_loss_db(dist_m: np.ndarray, elev_m: np.ndarray, *, tx_height_m: float,
                         rx_height_m: float, freq_mhz: float, k_factor: float = 4.0 / 3.0,
                         foreground: int = 8) -> float:
    """Deygout limited to three edges with the empirical correction of ITU-R P.452-14
    §4.2.1, in dB (the diffraction method of P.452 up to version 14).

    ``L = Lm + T (Lt + Lr + C)`` with ``T = 1 − exp(−Lm / 6)`` and ``C = 10 + 0.04 D`` (D the
    path length in km); ``Lm`` is the principal edge's ``J(ν)``, ``Lt`` and ``Lr`` those of the
    largest-``ν`` edge between the transmitter and the principal and between the principal and
    the receiver. The edges are those of :func:`deygout_loss_db` (``candidates="string"``); in
    line of sight there are no side edges and ``L = Lm + T C``, ``Lm`` the Fresnel-zone
    clearance term. The compiled kernel's ``diffraction="deygout_p452"`` is this.
    """
    kw = dict(tx_height_m=tx_height_m, rx_height_m=rx_height_m, freq_mhz=freq_mhz,
              k_factor=k_factor, foreground=foreground)
    lm = deygout_loss_db(dist_m, elev_m, depth=0, **kw)
    side = deygout_loss_db(dist_m, elev_m, depth=1, **kw) - lm
    d_km = float(np.asarray(dist_m, dtype=float)[-1]) / 1000.0
    return lm + (1.0 - math.exp(-lm / 6.0)) * (side + 10.0 + 0.04 * d_km)


def epstein_peterson_loss_db(dist_m: np.ndarray, elev_m: np.ndarray, *, tx_height_m: float,
                             rx_height_m: float, freq_mhz: float,
                             k_factor: float = 4.0 / 3.0) -> float:
    """Epstein-Peterson loss over the edges of the profile's taut string, in dB.

    The edges are the vertices of the upper convex hull of the (curvature-corrected) profile
    between the two antennas — the points a string pulled tight from transmitter to receiver
    rests on. Each edge's ``J(ν)`` is computed over the path between its two neighbours and the
    losses are summed. A path in line of sight contributes the ``J(ν)`` of the profile point of
    largest ``ν`` (partial Fresnel-zone obstruction, ``ν > −0.78``).
    """
    d = np.asarray(dist_m, dtype=float)
    total = d[-1]
    lam = float(wavelength_m(freq_mhz))
    # curvature-corrected heights: drop below the transmitter's tangent plane
    z = np.asarray(elev_m, dtype=float) - d**2 / (2.0 * k_factor * EARTH_RADIUS_M)
    z = z.copy()
    z[0] += tx_height_m
    z[-1] += rx_height_m
    # upper convex hull (monotone chain)
    hull: list[int] = []
    for i in range(len(d)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (d[b] - d[a]) * (z[i] - z[a]) - (z[b] - z[a]) * (d[i] - d[a])
            if cross >= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    if len(hull) == 2:
        h = z[1:-1] - (z[0] + (z[-1] - z[0]) * d[1:-1] / total)
        if len(h) == 0:
            return 0.0
        nu = h * np.sqrt(2.0 * total / (lam * d[1:-1] * (total - d[1:-1])))
        return float(knife_edge_loss_db(nu.max()))
    loss = 0.0
    for k in range(1, len(hull) - 1):
        a, m, b = hull[k - 1], hull[k], hull[k + 1]
        h = z[m] - (z[a] + (z[b] - z[a]) * (d[m] - d[a]) / (d[b] - d[a]))
        nu = h * np.sqrt(2.0 * (d[b] - d[a]) / (lam * (d[m] - d[a]) * (d[b] - d[m])))
        loss += float(knife_edge_loss_db(nu))
    return loss
