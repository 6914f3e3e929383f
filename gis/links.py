"""Point-to-point radio link profiles: line of sight and first-Fresnel-zone clearance.

For a link between two antennas over a DEM the profile is sampled about once per cell. At each
interior point, at distances ``d1`` and ``d2`` from the ends:

* the straight ray height ``z_ray = z_a + (z_b − z_a) d1 / D`` (antenna altitudes ``z_a``,
  ``z_b`` = ground + mast);
* the effective ground ``z_g + d1 d2 / (2 k R)`` (Earth bulge, k = 4/3 by default; ITU-R
  P.530 asks planners to also check k = 2/3 for rare sub-refractive conditions — pass
  ``k_factor=2/3``);
* the first Fresnel-zone radius ``F1 = sqrt(λ d1 d2 / D)`` (ITU-R P.530-18 eq. 2 form);
* the clearance ``c = z_ray − z_ground_eff − obstacle_height_m`` and the ratio ``c / F1``.

The link has *line of sight* when every clearance is positive and *Fresnel clearance* when every
``c / F1`` is at least ``fresnel_fraction`` (0.6 by default: the usual planning rule that 60 %
of the first Fresnel zone be clear, which keeps the obstruction loss near 0 dB).

Limits: the DEM is bare earth; trees and buildings can be added as a uniform
``obstacle_height_m``. Rain, multipath and ducting are out of scope (ITU-R P.530).
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
import pandas as pd

from phusong.gis.dem import Dem
from phusong.gis.propagation import EARTH_RADIUS_M, free_space_loss_db, wavelength_m

logger = logging.getLogger(__name__)

__all__ = ["LinkProfile", "link_profile", "links_clearance"]


@dataclasses.dataclass
class LinkProfile:
    """Profile of one link; arrays run from end A (index 0) to end B (last)."""

    distance_m: float
    freq_mhz: float
    k_factor: float
    dist_m: np.ndarray
    ground_m: np.ndarray
    bulge_m: np.ndarray
    ray_m: np.ndarray
    fresnel_m: np.ndarray
    clearance_m: np.ndarray

    @property
    def interior(self) -> slice:
        return slice(1, len(self.dist_m) - 1)

    @property
    def min_clearance_m(self) -> float:
        """Smallest clearance of the ray above the effective ground (m); +inf if no interior."""
        c = self.clearance_m[self.interior]
        return float(np.nanmin(c)) if c.size else math.inf

    @property
    def min_clearance_ratio(self) -> float:
        """Smallest clearance as a fraction of the first Fresnel-zone radius."""
        c = self.clearance_m[self.interior]
        f = self.fresnel_m[self.interior]
        return float(np.nanmin(c / f)) if c.size else math.inf

    @property
    def worst_distance_m(self) -> float:
        """Distance from A of the point with the smallest clearance ratio."""
        c = self.clearance_m[self.interior] / self.fresnel_m[self.interior]
        if not c.size:
            return 0.0
        return float(self.dist_m[self.interior][int(np.nanargmin(c))])

    @property
    def line_of_sight(self) -> bool:
        """True when the straight ray clears the effective ground everywhere."""
        return self.min_clearance_m > 0

    def fresnel_clear(self, fraction: float = 0.6) -> bool:
        """True when at least ``fraction`` of the first Fresnel zone is clear everywhere."""
        return self.min_clearance_ratio >= fraction

    @property
    def free_space_loss_db(self) -> float:
        """Free-space loss of the hop (dB)."""
        return float(free_space_loss_db(max(self.distance_m, 1e-3) / 1000.0, self.freq_mhz))


def link_profile(dem: Dem, x0: float, y0: float, x1: float, y1: float, *, h0_m: float,
                 h1_m: float, freq_mhz: float = 7000.0, k_factor: float = 4.0 / 3.0,
                 step_m: float | None = None, obstacle_height_m: float = 0.0) -> LinkProfile:
    """Profile, line of sight and Fresnel clearance of one link over a metric DEM.

    Parameters
    ----------
    dem
        DEM in a projected CRS; coordinates are in the same CRS.
    x0, y0, x1, y1
        The two ends.
    h0_m, h1_m
        Antenna heights above the ground at each end.
    freq_mhz
        Link frequency (default 7 GHz, a common rural microwave band).
    k_factor
        Effective Earth-radius factor (4/3 standard; 2/3 for the sub-refractive check).
    step_m
        Sampling step (default: the DEM cell size).
    obstacle_height_m
        Uniform clutter (trees) added to the ground along the path.
    """
    length = math.hypot(x1 - x0, y1 - y0)
    step = step_m or dem.res_m
    n = max(2, math.ceil(length / step) + 1)
    dist, ground = dem.profile(x0, y0, x1, y1, n)
    ground = np.where(np.isfinite(ground), ground, np.nan)
    z0 = ground[0] + h0_m
    z1 = ground[-1] + h1_m
    d2 = length - dist
    bulge = dist * d2 / (2.0 * k_factor * EARTH_RADIUS_M)
    ray = z0 + (z1 - z0) * (dist / length if length > 0 else 0.0)
    lam = float(wavelength_m(freq_mhz))
    with np.errstate(invalid="ignore", divide="ignore"):
        fres = np.sqrt(lam * dist * d2 / max(length, 1e-9))
    clearance = ray - (ground + bulge + obstacle_height_m)
    return LinkProfile(distance_m=length, freq_mhz=freq_mhz, k_factor=k_factor, dist_m=dist,
                       ground_m=ground, bulge_m=bulge, ray_m=ray, fresnel_m=fres,
                       clearance_m=clearance)


def links_clearance(dem: Dem, xy_a: np.ndarray, xy_b: np.ndarray, *, h_a_m, h_b_m,
                    freq_mhz: float = 7000.0, k_factor: float = 4.0 / 3.0,
                    fresnel_fraction: float = 0.6, obstacle_height_m: float = 0.0,
                    index=None) -> pd.DataFrame:
    """Line of sight and Fresnel clearance of many links at once.

    Parameters
    ----------
    xy_a, xy_b
        (n, 2) arrays of the ends in the DEM's CRS.
    h_a_m, h_b_m
        Antenna heights above ground (scalars or length-n arrays).
    index
        Index of the result (default 0..n-1).

    Returns
    -------
    pandas.DataFrame
        ``distance_m``, ``line_of_sight``, ``fresnel_clear``, ``min_clearance_m``,
        ``min_clearance_ratio``, ``worst_distance_m``, ``free_space_loss_db``.
    """
    a = np.asarray(xy_a, dtype=float).reshape(-1, 2)
    b = np.asarray(xy_b, dtype=float).reshape(-1, 2)
    n = len(a)
    ha = np.broadcast_to(np.asarray(h_a_m, dtype=float), (n,))
    hb = np.broadcast_to(np.asarray(h_b_m, dtype=float), (n,))
    rows = []
    for i in range(n):
        p = link_profile(dem, a[i, 0], a[i, 1], b[i, 0], b[i, 1], h0_m=ha[i], h1_m=hb[i],
                         freq_mhz=freq_mhz, k_factor=k_factor,
                         obstacle_height_m=obstacle_height_m)
        rows.append((p.distance_m, p.line_of_sight, p.fresnel_clear(fresnel_fraction),
                     p.min_clearance_m, p.min_clearance_ratio, p.worst_distance_m,
                     p.free_space_loss_db))
    out = pd.DataFrame(rows, columns=["distance_m", "line_of_sight", "fresnel_clear",
                                      "min_clearance_m", "min_clearance_ratio",
                                      "worst_distance_m", "free_space_loss_db"],
                       index=index if index is not None else pd.RangeIndex(n))
    out["line_of_sight"] = out["line_of_sight"].astype(bool)
    out["fresnel_clear"] = out["fresnel_clear"].astype(bool)
    logger.info("checked %d links (k=%.3g, %.0f MHz): %d in line of sight, %d Fresnel-clear",
                n, k_factor, freq_mhz, int(out["line_of_sight"].sum()),
                int(out["fresnel_clear"].sum()))
    return out
