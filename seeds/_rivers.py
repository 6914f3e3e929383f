"""A river network that fills the province: a main river and three levels of tributaries.

Rivers are polylines in metric coordinates with vertices every ``step_m``; vertex 0 is the
mouth (the junction with the parent river, or the outlet of the main river). Valleys, roads
and villages all follow these lines.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
import shapely

logger = logging.getLogger(__name__)

__all__ = ["River", "river_network"]


@dataclasses.dataclass
class River:
    """One river: vertices from mouth to source, its level, parent and junction vertex."""

    xy: np.ndarray  # (n, 2) float64, mouth first
    level: int
    parent: int  # index of the parent river, -1 for the main river
    junction: int  # vertex index on the parent where this river joins
    z: np.ndarray | None = None  # relative elevation per vertex

    @property
    def length_m(self) -> float:
        d = np.diff(self.xy, axis=0)
        return float(np.hypot(d[:, 0], d[:, 1]).sum())


@dataclasses.dataclass
class _Taken:
    x0: float
    y0: float
    cell: float
    mask: np.ndarray

    def idx(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = ((self.y0 - y) / self.cell).astype(np.int64)
        c = ((x - self.x0) / self.cell).astype(np.int64)
        return r, c

    def inside(self, r: int, c: int) -> bool:
        return 0 <= r < self.mask.shape[0] and 0 <= c < self.mask.shape[1]

    def mark(self, xy: np.ndarray, radius_m: float, owner: int) -> None:
        k = math.ceil(radius_m / self.cell)
        dr, dc = np.mgrid[-k:k + 1, -k:k + 1]
        keep = (dr * dr + dc * dc) * self.cell ** 2 <= radius_m ** 2
        dr, dc = dr[keep], dc[keep]
        r, c = self.idx(xy[:, 0], xy[:, 1])
        rr = (r[:, None] + dr[None, :]).ravel()
        cc = (c[:, None] + dc[None, :]).ravel()
        ok = (rr >= 0) & (rr < self.mask.shape[0]) & (cc >= 0) & (cc < self.mask.shape[1])
        rr, cc = rr[ok], cc[ok]
        free = self.mask[rr, cc] == 0
        self.mask[rr[free], cc[free]] = owner + 1


def _march(start: np.ndarray, heading: float, *, rng: np.random.Generator, step_m: float,
           max_len_m: float, wiggle: float, province: shapely.Geometry | None,
           taken: _Taken | None, free_steps: int, bounds: tuple[float, float, float, float],
           target: np.ndarray | None = None, parent: int = -1) -> np.ndarray:
    pts = [start.copy()]
    h = heading
    drift = 0.0
    n_max = int(max_len_m / step_m)
    for i in range(n_max):
        drift = 0.85 * drift + rng.normal(0.0, wiggle)
        if target is not None:
            to = math.atan2(target[1] - pts[-1][1], target[0] - pts[-1][0])
            h = to + 0.9 * math.sin(i / 9.0) * 0.5 + drift
        else:
            h = heading + drift
        p = pts[-1] + step_m * np.array([math.cos(h), math.sin(h)])
        if not (bounds[0] < p[0] < bounds[2] and bounds[1] < p[1] < bounds[3]):
            break
        if province is not None and not shapely.contains_xy(province, p[0], p[1]):
            break
        if taken is not None:
            r, c = taken.idx(np.array([p[0]]), np.array([p[1]]))
            if not taken.inside(int(r[0]), int(c[0])):
                break
            owner = int(taken.mask[r[0], c[0]])
            if owner and (i >= free_steps or owner != parent + 1):
                break
        pts.append(p)
        if target is not None and np.hypot(*(target - p)) < step_m:
            break
    return np.asarray(pts)


# per level: junction spacing, max length, separation from other rivers, wiggle, min length
_LEVELS = {1: (5000.0, 60000.0, 2000.0, 0.10, 3000.0),
           2: (3200.0, 14000.0, 1500.0, 0.14, 1500.0),
           3: (2600.0, 6000.0, 1200.0, 0.18, 1000.0)}


def river_network(province: shapely.Geometry, *, rng: np.random.Generator,
                  entry_azimuth_deg: float, bounds: tuple[float, float, float, float],
                  step_m: float = 150.0, length_scale: float = 1.0) -> list[River]:
    """Generate the river tree inside ``province`` (metric coordinates).

    ``length_scale`` (≤ 1) shrinks spacings and lengths for small provinces.
    """
    cx, cy = province.centroid.x, province.centroid.y
    minx, miny, maxx, maxy = bounds
    big = max(maxx - minx, maxy - miny)
    az = math.radians(entry_azimuth_deg)
    d_in = np.array([math.sin(az), math.cos(az)])  # azimuth: 0 = north, clockwise
    exit_az = az + math.pi + rng.uniform(-0.35, 0.35)
    d_out = np.array([math.sin(exit_az), math.cos(exit_az)])
    start = np.array([cx, cy]) + d_in * big * 0.45
    start = np.clip(start, [minx + step_m, miny + step_m], [maxx - step_m, maxy - step_m])
    target = np.array([cx, cy]) + d_out * big * 0.75
    main = _march(start, 0.0, rng=rng, step_m=step_m, max_len_m=big * 3, wiggle=0.05,
                  province=None, taken=None, free_steps=0, bounds=bounds, target=target)
    main = main[::-1].copy()  # mouth (outlet) first
    rivers = [River(main, 0, -1, 0)]
    cell = 250.0 * max(0.5, length_scale)
    shape = (int((maxy - miny) / cell) + 1, int((maxx - minx) / cell) + 1)
    taken = _Taken(minx, maxy, cell, np.zeros(shape, np.int32))
    taken.mark(main, _LEVELS[1][2] * length_scale, 0)
    inner = province.buffer(-200.0 * length_scale)
    frontier = [0]
    # three levels, then two filling passes that sprout small streams from any river so
    # that valleys reach the province edge
    for level, spacing_factor in ((1, 1.0), (2, 1.0), (3, 1.0), (3, 0.6)):
        spacing, max_len, sep, wiggle, min_len = (v * length_scale if i in (0, 1, 2, 4) else v
                                                 for i, v in enumerate(_LEVELS[level]))
        spacing *= spacing_factor
        new: list[int] = []
        for pi in frontier:
            parent = rivers[pi]
            n = len(parent.xy)
            every = max(2, int(spacing / step_m))
            side = 1 if rng.random() < 0.5 else -1
            for j in range(every // 2 + int(rng.integers(0, every // 2 + 1)), n - 2, every):
                j = int(min(n - 2, max(1, j + rng.integers(-every // 4, every // 4 + 1))))
                p = parent.xy[j]
                if not shapely.contains_xy(inner, p[0], p[1]):
                    continue
                up = parent.xy[j + 1] - parent.xy[j]  # upstream direction of the parent
                ang = math.atan2(up[1], up[0]) + side * math.radians(rng.uniform(45, 80))
                side = -side
                line = _march(p, ang, rng=rng, step_m=step_m, max_len_m=max_len, wiggle=wiggle,
                              province=inner, taken=taken, free_steps=int(1.7 * sep / step_m) + 2,
                              bounds=bounds, parent=pi)
                if len(line) < 2 or (len(line) - 1) * step_m < min_len:
                    continue
                line[0] = parent.xy[j]
                rivers.append(River(line, level, pi, j))
                taken.mark(line[1:], sep, len(rivers) - 1)
                new.append(len(rivers) - 1)
        frontier = list(range(len(rivers)))
    logger.debug("river network: %d rivers, %.0f km", len(rivers),
                 sum(r.length_m for r in rivers) / 1000)
    return rivers


def assign_river_z(rivers: list[River], *, gradients_m_per_km: tuple[float, ...] = (1.5, 14.0, 35.0, 60.0)
                   ) -> None:
    """Relative elevation along each river: the parent's elevation at the junction plus a
    concave profile rising upstream."""
    for r in rivers:
        d = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(r.xy, axis=0).T))]) / 1000.0
        base = 0.0 if r.parent < 0 else float(rivers[r.parent].z[r.junction])
        g = gradients_m_per_km[min(r.level, len(gradients_m_per_km) - 1)]
        r.z = base + g * d ** 1.15
