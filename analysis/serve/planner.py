"""Incremental what-if coverage: change one site, recompute that site alone, update the villages.

:class:`Planner` holds a province's best-server fields (one float32 grid per operator and
technology, as :func:`analysis.coverage.engine.compute_coverage` returns them) and its village
status table, and moves them from one scenario (:mod:`analysis.serve.scenario`) to another
without a full recompute:

* an **added** BTS (a new site, a share, a moved copy of a bundle BTS) is computed alone by
  :func:`~analysis.coverage.engine.compute_coverage` on a window of the DEM around it (its
  ``max_radius_km`` disc plus two cells) and merged into the fields by maximum; its field is
  kept (bounded cache) so that removing it again is exact: the window is rebuilt from the
  bundle's fields and the other added BTS;
* the bundle's own BTS are computed the same way at start (each alone on its window) and
  merged per operator and technology into the best and the second-best received power with
  the BTS that gives each; a **bundle** BTS that is removed, disabled or moved away is taken
  out by letting the second best take over where it was the best server; where that second is
  not known any more (two removals reaching one cell), those cells are rebuilt exactly from
  the bundle BTS whose discs reach them (each computed alone; cached). Putting a BTS back
  merges its field again;
* village statuses are recomputed by :func:`~analysis.coverage.status.village_status` only
  for the villages whose settled area or centre holds a cell whose value changed, on a grid
  cropped to them; a switch-off or a new evaluation date (statuses only, fields unchanged)
  recomputes every village.

The fields the planner holds equal a full recompute of the scenario's bundle
(:func:`analysis.serve.scenario.apply_scenario` then ``compute_coverage``) up to float32
rounding of the DEM window's offset (tests/serve/test_planner.py checks fields and statuses).
The bundle on disk is never written.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import affine
import numpy as np
import pandas as pd

from phusong.analysis.coverage.engine import CoverageGrid, CoverageResult, compute_coverage
from phusong.analysis.coverage.ratios import coverage_lines, coverage_ratios
from phusong.analysis.coverage.status import village_status
from phusong.analysis.coverage.villages import settled_areas, village_sample_points
from phusong.analysis.serve.scenario import (
    ScenarioLayers,
    fold_edits,
    province_area,
    validate_edit,
)
from phusong.gis.dem import Dem, fill_voids, read_dem
from phusong.layers.operators import OPERATORS
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["EditResult", "Planner", "bts_content_key"]

Window = tuple[int, int, int, int]  # r0, r1, c0, c1 (half-open)
Key = tuple[str, str]
_STATUS_COLS = ("status_any", *(f"status_{o.value}" for o in OPERATORS))


def bts_content_key(row: Mapping[str, Any]) -> tuple:
    """What makes two BTS rows radiate the same field (identity, radio fields, position)."""
    def num(v: Any) -> float | None:
        try:
            x = float(v)
        except (TypeError, ValueError):
            return None
        return None if not math.isfinite(x) else round(x, 6)

    g = row["geometry"]
    az = row.get("azimuths")
    az = None if az is None or (isinstance(az, float) and math.isnan(az)) else str(az)
    return (str(row["bts_id"]), str(row["operator"]), str(row["tech"]), num(row.get("band_mhz")),
            num(row.get("antenna_height_m")), num(row.get("eirp_dbm")), az,
            num(row.get("mech_tilt_deg")), round(float(g.x), 8), round(float(g.y), 8))


@dataclasses.dataclass
class _Field:
    """One BTS's received power on a window of the grid (NaN where it does not reach)."""

    key: Key
    r0: int
    c0: int
    values: np.ndarray

    @property
    def window(self) -> Window:
        return (self.r0, self.r0 + self.values.shape[0], self.c0,
                self.c0 + self.values.shape[1])


@dataclasses.dataclass
class EditResult:
    """What one transition changed."""

    changed: pd.DataFrame
    seconds: float
    windows: list[Window]
    villages_recomputed: int


def _intersect(a: Window, b: Window) -> Window | None:
    r0, r1 = max(a[0], b[0]), min(a[1], b[1])
    c0, c1 = max(a[2], b[2]), min(a[3], b[3])
    return (r0, r1, c0, c1) if r0 < r1 and c0 < c1 else None


class _BundleView:
    """What :func:`compute_coverage` and :func:`village_status` read of a bundle, with some
    layers replaced (everything else is the bundle's own)."""

    def __init__(self, bundle, **layers: Any) -> None:
        self._bundle = bundle
        self._layers = layers

    def layer(self, name: str):
        return self._layers[name] if name in self._layers else self._bundle.layer(name)

    def __getitem__(self, name: str):
        return self.layer(name)

    @property
    def dem_path(self):  # the planner passes its DEM windows explicitly
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bundle, name)


class Planner:
    """A province's coverage and village status, kept current through scenario edits.

    Parameters
    ----------
    bundle
        The province bundle (never written).
    settings
        Analysis settings (radio defaults, thresholds, dates, language).
    model
        ``"terrain"`` (default with a DEM) or ``"radius"``.
    cache_mb
        Memory bound of the cache of added BTS fields.
    progress
        ``progress(done, total)`` during the initial full computation.

    Notes
    -----
    Not thread-safe by itself: callers serialise edits with :attr:`lock`.
    """

    def __init__(self, bundle, *, settings: Settings = DEFAULT, model: str | None = None,
                 cache_mb: float = 512.0,
                 progress: Callable[[int, int], None] | None = None) -> None:
        t0 = time.perf_counter()
        self.bundle = bundle
        self.settings = settings
        self.lock = threading.Lock()
        self.area = province_area(bundle)
        crs = bundle.metric_crs
        dem = read_dem(bundle.dem_path, crs=crs) if bundle.dem_path is not None else None
        # the engine decides the model and the grid (no BTS: nothing is swept here)
        empty = compute_coverage(bundle, model=model, dem=dem, settings=settings, operators=[])
        self.model = empty.model
        self.grid = empty.grid
        self.sample = empty.sample
        self.thresholds = dict(empty.thresholds_dbm)
        if dem is not None:
            self._z = fill_voids(dem.elevation_m)
            void = ~np.isfinite(dem.elevation_m)
            self._void = void if void.any() else None
            self.dem = dem
        else:  # radius model without a DEM: flat ground on the same grid
            self._z = np.zeros(self.grid.shape, dtype=np.float32)
            self._void = None
            self.dem = None
        res = min(self.grid.res_xy)
        reach_m = max([settings.max_radius_km * 1000.0,
                       *(1000.0 * float(v) for v in settings.radius_km.values()),
                       *(1000.0 * float(v) for v in settings.radius_km_by_band.values())])
        self.reach = math.ceil(reach_m / res) + 2
        self._cache: OrderedDict[tuple, _Field] = OrderedDict()
        self._cache_bytes = 0
        self._cache_max = int(cache_mb * 2**20)
        self._extras: dict[tuple, dict[str, Any]] = {}
        bts = bundle.layer("bts")
        records = bts.to_dict("records")
        self._bids = [str(r["bts_id"]) for r in records]
        self._bidx = {b: i for i, b in enumerate(self._bids)}
        self._bundle_ck = {str(r["bts_id"]): bts_content_key(r) for r in records}
        self._bundle_rows = {str(r["bts_id"]): r for r in records}
        self._bundle_win = {bid: self._site_window(r) for bid, r in self._bundle_rows.items()}
        #: per (operator, technology): best received power of the bundle BTS the scenario keeps
        #: (``base``), which BTS gives it, and the second best and its BTS (-1 none, -2 unknown)
        self.base: dict[Key, np.ndarray] = {}
        self._o1: dict[Key, np.ndarray] = {}
        self._b2: dict[Key, np.ndarray] = {}
        self._o2: dict[Key, np.ndarray] = {}
        self._owned_base: set[Key] = set()
        self._build_base(records, progress)
        #: fields of the bundle as loaded (the difference layer's reference; never modified)
        self.orig: dict[Key, np.ndarray] = dict(self.base)
        #: fields of the scenario: base plus the added BTS (copy on first change)
        self.cur: dict[Key, np.ndarray] = dict(self.base)
        self._owned_cur: set[Key] = set()
        self._excluded: set[str] = set()
        self.layers: ScenarioLayers = fold_edits(bundle, [], settings=settings)
        self.history: list[list[dict[str, Any]]] = [[]]
        self._folded: list[ScenarioLayers] = [self.layers]  # the layers of each history entry
        self.pos = 0
        self._prepare_villages()
        self.status = village_status(bundle, self.coverage(), settings=self.eval_settings)
        self.startup_s = time.perf_counter() - t0
        logger.info("planner ready: %s model, %d BTS, %d villages, %d×%d cells, %.1f s",
                    self.model, len(bts), len(self.status), *self.grid.shape, self.startup_s)

    # -- geometry helpers ------------------------------------------------------------------
    def _metric_xy(self, lon: Sequence[float], lat: Sequence[float]) -> tuple[np.ndarray, ...]:
        from pyproj import CRS

        from phusong.gis.crs import transformer

        t = transformer(CRS.from_epsg(4326), self.grid.crs)
        x, y = t.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.atleast_1d(x), np.atleast_1d(y)

    def _site_window(self, row: Mapping[str, Any]) -> Window:
        x, y = self._metric_xy([row["geometry"].x], [row["geometry"].y])
        rr, cc, _ = self.grid.rowcol(x, y)
        r, c = int(rr[0]), int(cc[0])
        return self._clip((r - self.reach, r + self.reach + 1, c - self.reach,
                           c + self.reach + 1))

    def _clip(self, w: Window) -> Window:
        nr, nc = self.grid.shape
        return (max(0, w[0]), min(nr, w[1]), max(0, w[2]), min(nc, w[3]))

    def _dem_window(self, w: Window) -> Dem:
        r0, r1, c0, c1 = w
        return Dem(self._z[r0:r1, c0:c1], self.grid.transform * affine.Affine.translation(c0, r0),
                   self.grid.crs)

    def _prepare_villages(self) -> None:
        from phusong.gis.crs import from_wgs84

        villages = self.bundle.layer("villages")
        # the layers village_status reads, projected once (it projects what is not metric yet
        # with the same function, so the statuses are the same)
        self._villages_m = from_wgs84(villages, self.grid.crs) if len(villages) else villages
        fibre = self.bundle.layer("fibre_routes")
        self._fibre_m = from_wgs84(fibre, self.grid.crs) if len(fibre) else fibre
        n = len(villages)
        box = np.zeros((n, 4), dtype=np.int64)
        if n:
            areas = settled_areas(villages, self.grid.crs, settings=self.settings)
            b = areas.bounds.to_numpy(dtype=float)
            pts = village_sample_points(villages, self.grid.crs, settings=self.settings,
                                        n_area=1)
            ctr = pts[pts["is_centre"]].sort_values("village")
            cx, cy = ctr["x"].to_numpy(), ctr["y"].to_numpy()
            x0 = np.fmin(b[:, 0], cx)
            x1 = np.fmax(b[:, 2], cx)
            y0 = np.fmin(b[:, 1], cy)
            y1 = np.fmax(b[:, 3], cy)
            c_lo, r_lo = self.grid.colrow_f(x0, y1)
            c_hi, r_hi = self.grid.colrow_f(x1, y0)
            box = np.column_stack([np.floor(r_lo) - 2, np.floor(r_hi) + 3,
                                   np.floor(c_lo) - 2, np.floor(c_hi) + 3]).astype(np.int64)
            nr, nc = self.grid.shape
            box[:, 0:2] = np.clip(box[:, 0:2], 0, nr)
            box[:, 2:4] = np.clip(box[:, 2:4], 0, nc)
            from pyproj import CRS

            from phusong.gis.crs import transformer

            t = transformer(self.grid.crs, CRS.from_epsg(4326))
            lon, lat = t.transform(cx, cy)
            self.village_lonlat = np.column_stack([lon, lat])
        else:
            self.village_lonlat = np.zeros((0, 2))
        self._vbox = box

    # -- settings and views ----------------------------------------------------------------
    @property
    def eval_settings(self) -> Settings:
        """The settings at the scenario's evaluation date."""
        return self.layers.settings(self.settings)

    @property
    def edits(self) -> list[dict[str, Any]]:
        return list(self.history[self.pos])

    def coverage(self, window: Window | None = None) -> CoverageResult:
        """The scenario's fields as a :class:`CoverageResult` (switched-off technologies left
        out), on the whole grid or cropped to ``window`` (views, not copies)."""
        off = self.layers.switched_off(self.settings)
        if window is None:
            grid = self.grid
            arrays = {k: v for k, v in self.cur.items() if k not in off}
        else:
            r0, r1, c0, c1 = window
            grid = CoverageGrid(self.grid.transform * affine.Affine.translation(c0, r0),
                                self.grid.crs, (r1 - r0, c1 - c0))
            arrays = {k: v[r0:r1, c0:c1] for k, v in self.cur.items() if k not in off}
        radiating = self.layers.radiating(self.eval_settings)
        counts = radiating.groupby([radiating["operator"].astype(str),
                                    radiating["tech"].astype(str)]).size().to_dict()
        return CoverageResult(model=self.model, grid=grid, best_dbm=arrays,
                              thresholds_dbm=dict(self.thresholds), sample=self.sample,
                              site_counts={k: int(v) for k, v in counts.items()})

    def scenario_bundle(self):
        """The bundle as the current scenario has it (towers and radiating BTS replaced)."""
        b = self.bundle
        bts = self.layers.radiating(self.eval_settings)
        cols = list(b.layer("bts").columns)
        if bts["mech_tilt_deg"].notna().any() and "mech_tilt_deg" not in cols:
            cols.insert(len(cols) - 1, "mech_tilt_deg")
        return dataclasses.replace(b, layers={**b.layers, "towers": self.layers.towers,
                                              "bts": bts[cols].reset_index(drop=True)})

    def lines(self, status: pd.DataFrame | None = None) -> list[str]:
        """The report's lines ("745/948 thôn bản có sóng", per operator) for the scenario."""
        st = self.status if status is None else status
        s = self.eval_settings
        ratios = coverage_ratios(self.bundle, st, level="province", settings=s)
        return coverage_lines(ratios, settings=s)

    # -- fields ----------------------------------------------------------------------------
    def _compute(self, rows: list[dict[str, Any]], dem_window: Window) -> CoverageResult:
        import geopandas as gpd

        cols = list(dict.fromkeys(c for r in rows for c in r if c not in ("enabled", "origin")))
        gdf = gpd.GeoDataFrame([{c: r.get(c) for c in cols} for r in rows], geometry="geometry",
                               crs="EPSG:4326")
        view = _BundleView(self.bundle, bts=gdf)
        return compute_coverage(view, model=self.model, dem=self._dem_window(dem_window),
                                settings=self.settings)

    def _cache_put(self, ck: tuple, f: _Field) -> None:
        if ck in self._cache:
            return
        self._cache[ck] = f
        self._cache_bytes += f.values.nbytes
        while self._cache_bytes > self._cache_max and len(self._cache) > 1:
            old_ck, old = next(iter(self._cache.items()))
            if old_ck in self._extras:  # fields of the scenario stay; move it to the end
                self._cache.move_to_end(old_ck)
                if all(k in self._extras for k in self._cache):
                    break
                continue
            self._cache.popitem(last=False)
            self._cache_bytes -= old.values.nbytes

    def _compute_fields(self, batch: list[dict[str, Any]]) -> list[_Field]:
        """Fields of BTS at one place with distinct (operator, technology): one engine call."""
        w = self._site_window(batch[0])
        res = self._compute(batch, w)
        out = []
        for r in batch:
            k = (str(r["operator"]), str(r["tech"]))
            arr = res.best_dbm.get(k)
            if arr is None:
                arr = np.full((w[1] - w[0], w[3] - w[2]), np.nan, np.float32)
            arr = np.asarray(arr, dtype=np.float32)
            if self._void is not None:
                arr = np.where(self._void[w[0]:w[1], w[2]:w[3]], np.nan, arr)
            ok = np.isfinite(arr)
            if ok.any():
                rr = np.flatnonzero(ok.any(axis=1))
                cc = np.flatnonzero(ok.any(axis=0))
                arr = arr[rr[0]:rr[-1] + 1, cc[0]:cc[-1] + 1].copy()
                out.append(_Field(k, w[0] + int(rr[0]), w[2] + int(cc[0]), arr))
            else:
                out.append(_Field(k, w[0], w[2], np.zeros((0, 0), np.float32)))
        return out

    def _place_batches(self, rows: Sequence[dict[str, Any]]):
        """``(batch, fields)`` per engine call: rows at one place go together, one call per
        distinct (operator, technology) there."""
        places: dict[tuple, list[dict[str, Any]]] = {}
        for r in rows:
            places.setdefault((round(r["geometry"].x, 8), round(r["geometry"].y, 8)),
                              []).append(r)
        for group in places.values():
            while group:
                seen: set[Key] = set()
                batch, rest = [], []
                for r in group:
                    k = (str(r["operator"]), str(r["tech"]))
                    (rest if k in seen else batch).append(r)
                    seen.add(k)
                group = rest
                yield batch, self._compute_fields(batch)

    def _fields(self, rows: Sequence[dict[str, Any]]) -> list[_Field]:
        """Each row's own field (cached by content key); rows at one place share one call."""
        out: dict[tuple, _Field] = {}
        todo: list[dict[str, Any]] = []
        for r in rows:
            ck = bts_content_key(r)
            if ck in self._cache:
                self._cache.move_to_end(ck)
                out[ck] = self._cache[ck]
                continue
            todo.append(r)
        for batch, fields in self._place_batches(todo):
            for r, f in zip(batch, fields, strict=True):
                ck = bts_content_key(r)
                out[ck] = f
                self._cache_put(ck, f)
        return [out[bts_content_key(r)] for r in rows]

    def _new_key(self, k: Key) -> None:
        shape = self.grid.shape
        self.base[k] = np.full(shape, np.nan, dtype=np.float32)
        self._b2[k] = np.full(shape, np.nan, dtype=np.float32)
        self._o1[k] = np.full(shape, -1, dtype=self._odtype)
        self._o2[k] = np.full(shape, -1, dtype=self._odtype)

    def _ensure_key(self, k: Key) -> None:
        if k not in self.base:
            self._new_key(k)
            self._owned_base.add(k)
        if k not in self.cur:
            self.cur[k] = self.base[k]

    def _merge(self, k: Key, f: _Field, idx: int, mask: np.ndarray | None = None,
               mask_window: Window | None = None) -> None:
        """Merge one bundle BTS's field into the top-2 of ``k`` (only where ``mask``)."""
        if f.values.size == 0:
            return
        w = f.window if mask_window is None else _intersect(f.window, mask_window)
        if w is None:
            return
        r0, r1, c0, c1 = w
        F = f.values[r0 - f.r0:r1 - f.r0, c0 - f.c0:c1 - f.c0]
        b1 = self.base[k][r0:r1, c0:c1]
        o1 = self._o1[k][r0:r1, c0:c1]
        b2 = self._b2[k][r0:r1, c0:c1]
        o2 = self._o2[k][r0:r1, c0:c1]
        fv = np.where(np.isnan(F), -np.inf, F)
        gt1 = fv > np.where(np.isnan(b1), -np.inf, b1)
        gt2 = ~gt1 & (fv > np.where(np.isnan(b2), -np.inf, b2)) & (o2 != -2)
        if mask is not None:
            m = mask[r0 - mask_window[0]:r1 - mask_window[0], c0 - mask_window[2]:c1 - mask_window[2]]
            gt1 &= m
            gt2 &= m
        b2[gt1] = b1[gt1]
        o2[gt1] = o1[gt1]
        b1[gt1] = F[gt1]
        o1[gt1] = idx
        b2[gt2] = F[gt2]
        o2[gt2] = idx

    def _build_base(self, records: list[dict[str, Any]],
                    progress: Callable[[int, int], None] | None) -> None:
        """Each bundle BTS alone on its window, merged into the top-2 per key."""
        n = len(records)
        self._odtype = np.int16 if n < 32000 else np.int32
        done = 0
        for batch, fields in self._place_batches(records):
            for r, f in zip(batch, fields, strict=True):
                if f.key not in self.base:
                    self._new_key(f.key)
                self._merge(f.key, f, self._bidx[str(r["bts_id"])])
            done += len(batch)
            if progress is not None:
                progress(done, n)

    def _own_base(self, k: Key) -> np.ndarray:
        self._ensure_key(k)
        if k not in self._owned_base:  # base is still the bundle's field (orig): copy it
            shared = self.cur.get(k) is self.base[k]
            self.base[k] = self.base[k].copy()
            self._owned_base.add(k)
            if shared:
                self.cur[k] = self.base[k]
        return self.base[k]

    def _own_cur(self, k: Key) -> np.ndarray:
        self._ensure_key(k)
        if k not in self._owned_cur:
            self.cur[k] = self.cur[k].copy()
            self._owned_cur.add(k)
        return self.cur[k]

    @staticmethod
    def _fmax_into(target: np.ndarray, f: _Field, w: Window) -> None:
        part = _intersect(f.window, w)
        if part is None or f.values.size == 0:
            return
        r0, r1, c0, c1 = part
        src = f.values[r0 - f.r0:r1 - f.r0, c0 - f.c0:c1 - f.c0]
        np.fmax(target[r0:r1, c0:c1], src, out=target[r0:r1, c0:c1])

    def _exclude(self, bids: set[str], excluded: set[str]) -> list[tuple[Key, Window]]:
        """Take bundle BTS out of the base: where one was the best server its second takes
        over; where that second is not known (two removals at one cell), the cells are
        rebuilt from the bundle BTS whose discs reach them."""
        touched: list[tuple[Key, Window]] = []
        for bid in sorted(bids):
            r = self._bundle_rows[bid]
            k = (str(r["operator"]), str(r["tech"]))
            i = self._bidx[bid]
            w = self._bundle_win[bid]
            self._own_base(k)
            r0, r1, c0, c1 = w
            b1 = self.base[k][r0:r1, c0:c1]
            o1 = self._o1[k][r0:r1, c0:c1]
            b2 = self._b2[k][r0:r1, c0:c1]
            o2 = self._o2[k][r0:r1, c0:c1]
            m2 = o2 == i
            m1 = o1 == i
            b1[m1] = b2[m1]
            o1[m1] = o2[m1]
            b2[m1 | m2] = np.nan
            o2[m1 | m2] = -2
            touched.append((k, w))
        for k, w in touched:
            r0, r1, c0, c1 = w
            unknown = self._o1[k][r0:r1, c0:c1] == -2
            if unknown.any():
                rr = np.flatnonzero(unknown.any(axis=1))
                cc = np.flatnonzero(unknown.any(axis=0))
                u = (r0 + int(rr[0]), r0 + int(rr[-1]) + 1, c0 + int(cc[0]), c0 + int(cc[-1]) + 1)
                self._rebuild(k, u, excluded)
        return touched

    def _rebuild(self, k: Key, u: Window, excluded: set[str]) -> None:
        """Exact top-2 of ``k`` on the cells of ``u`` whose best server is unknown, from every
        kept bundle BTS whose disc reaches ``u`` (each computed alone; cached)."""
        r0, r1, c0, c1 = u
        mask = self._o1[k][r0:r1, c0:c1] == -2
        for arr, fill in ((self.base[k], np.nan), (self._b2[k], np.nan), (self._o1[k], -1),
                          (self._o2[k], -1)):
            arr[r0:r1, c0:c1][mask] = fill
        cand = [bid for bid, r in self._bundle_rows.items()
                if bid not in excluded and (str(r["operator"]), str(r["tech"])) == k
                and _intersect(self._bundle_win[bid], u) is not None]
        logger.info("rebuilding %d cells of %s from %d BTS", int(mask.sum()), k, len(cand))
        fields = self._fields([self._bundle_rows[b] for b in cand])
        for bid, f in zip(cand, fields, strict=True):
            self._merge(k, f, self._bidx[bid], mask=mask, mask_window=u)

    # -- transitions -----------------------------------------------------------------------
    def _transition(self, layers: ScenarioLayers) -> EditResult:
        t0 = time.perf_counter()
        old_settings = self.eval_settings
        old_off = self.layers.switched_off(self.settings)
        rows = layers.bts[layers.bts["enabled"].to_numpy(dtype=bool)].to_dict("records")
        new_cks = {bts_content_key(r): r for r in rows}
        bundle_ck_set = {ck: bid for bid, ck in self._bundle_ck.items()}
        included = {bundle_ck_set[ck] for ck in new_cks if ck in bundle_ck_set}
        excluded = set(self._bundle_ck) - included
        extras = {ck: r for ck, r in new_cks.items() if ck not in bundle_ck_set}
        leave = excluded - self._excluded
        back = self._excluded - excluded
        gone = [ck for ck in self._extras if ck not in extras]
        came = [ck for ck in extras if ck not in self._extras]
        # the scenario's fields before, over every window this transition can change
        before: dict[tuple[Key, Window], np.ndarray | None] = {}
        for bid in leave | back:
            r = self._bundle_rows[bid]
            before[((str(r["operator"]), str(r["tech"])), self._bundle_win[bid])] = None
        for ck, r in [*((c, self._extras[c]) for c in gone), *((c, extras[c]) for c in came)]:
            f = self._cache.get(ck)
            w = f.window if f is not None and f.values.size else self._site_window(r)
            before[((str(r["operator"]), str(r["tech"])), w)] = None
        for k, w in before:
            if k in self.cur:
                before[(k, w)] = self.cur[k][w[0]:w[1], w[2]:w[3]].copy()
        touched: list[tuple[Key, Window]] = []
        if leave:
            touched += self._exclude(leave, excluded)
        if back:
            order = sorted(back)
            for bid, f in zip(order, self._fields([self._bundle_rows[b] for b in order]),
                              strict=True):
                if f.values.size:
                    self._own_base(f.key)
                    self._merge(f.key, f, self._bidx[bid])
                    touched.append((f.key, f.window))
        for ck in gone:
            f = self._cache.get(ck)
            r = self._extras[ck]
            k = (str(r["operator"]), str(r["tech"]))
            touched.append((k, f.window if f is not None and f.values.size
                            else self._site_window(r)))
        if came:
            for f in self._fields([extras[ck] for ck in came]):
                if f.values.size:
                    touched.append((f.key, f.window))
        self._excluded = excluded
        self._extras = extras
        # rebuild the scenario's fields over every touched window: base + added BTS
        extra_fields: dict[Key, list[_Field]] = {}
        for ck, r in extras.items():
            f = self._cache.get(ck)
            if f is None:
                f = self._fields([r])[0]
            extra_fields.setdefault(f.key, []).append(f)
        for k, w in touched:
            self._ensure_key(k)
            if not extra_fields.get(k) and self.cur[k] is self.base[k]:
                continue
            cur = self._own_cur(k)
            r0, r1, c0, c1 = w
            cur[r0:r1, c0:c1] = self.base[k][r0:r1, c0:c1]
            for f in extra_fields.get(k, []):
                self._fmax_into(cur, f, w)
        self.layers = layers
        new_settings = self.eval_settings
        full = (layers.switched_off(self.settings) != old_off
                or new_settings.as_of_date() != old_settings.as_of_date())
        status_before = self.status
        if full:
            self.status = village_status(self.bundle, self.coverage(), settings=new_settings)
            n_re = len(self.status)
        else:
            regions = []
            for (k, w), old in before.items():
                now = self.cur.get(k)
                if now is None:
                    continue
                now = now[w[0]:w[1], w[2]:w[3]]
                diff = ~((now == old) | (np.isnan(now) & np.isnan(old))) if old is not None \
                    else np.isfinite(now)
                if diff.any():
                    integral = np.zeros((diff.shape[0] + 1, diff.shape[1] + 1), np.int64)
                    integral[1:, 1:] = diff.cumsum(0).cumsum(1)
                    regions.append((w, integral))
            n_re = self._update_status(regions)
        changed = self._changed(status_before, self.status)
        dt_s = time.perf_counter() - t0
        logger.info("scenario transition: %d out, %d back, %d added, %d dropped; %d villages "
                    "recomputed, %d changed, %.3f s", len(leave), len(back), len(came),
                    len(gone), n_re, len(changed), dt_s)
        return EditResult(changed=changed, seconds=dt_s, windows=[w for _, w in touched],
                          villages_recomputed=n_re)

    def _update_status(self, regions: list[tuple[Window, np.ndarray]]) -> int:
        """Recompute the villages whose settled area or centre holds a changed cell.

        ``regions``: windows with the integral image of their changed cells.
        """
        if not regions or not len(self._vbox):
            return 0
        box = self._vbox
        hit = np.zeros(len(box), dtype=bool)
        for (r0, r1, c0, c1), integral in regions:
            a0 = np.clip(box[:, 0], r0, r1) - r0
            a1 = np.clip(box[:, 1], r0, r1) - r0
            b0 = np.clip(box[:, 2], c0, c1) - c0
            b1 = np.clip(box[:, 3], c0, c1) - c0
            n = integral[a1, b1] - integral[a0, b1] - integral[a1, b0] + integral[a0, b0]
            hit |= n > 0
        idx = np.flatnonzero(hit)
        if not len(idx):
            return 0
        crop = (int(box[idx, 0].min()), int(box[idx, 1].max()), int(box[idx, 2].min()),
                int(box[idx, 3].max()))
        view = _BundleView(self.bundle, villages=self._villages_m.iloc[idx],
                           fibre_routes=self._fibre_m)
        part = village_status(view, self.coverage(crop), settings=self.eval_settings)
        st = self.status
        part = part[st.columns]
        merged = pd.concat([st.drop(index=part.index), part]).loc[st.index]
        for c in st.columns:
            if merged[c].dtype != st[c].dtype:
                try:
                    merged[c] = merged[c].astype(st[c].dtype)
                except (TypeError, ValueError):  # keep the merged column as it came
                    logger.debug("status column %s: dtype %s kept", c, merged[c].dtype)
        st = merged
        self.status = st
        return len(idx)

    def _changed(self, before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
        cols = [c for c in _STATUS_COLS if c in after]
        diff = np.zeros(len(after), dtype=bool)
        for c in cols:
            diff |= before[c].to_numpy() != after[c].to_numpy()
        out = pd.DataFrame({"village_id": after.index[diff], "name": after["name"].to_numpy()[diff]})
        for c in cols:
            out[f"{c}_before"] = before[c].to_numpy()[diff]
            out[f"{c}_after"] = after[c].to_numpy()[diff]
        return out

    # -- edits, undo, redo, scenarios -------------------------------------------------------
    def validate(self, edit: Mapping[str, Any]) -> dict[str, Any]:
        """A normalised edit or :class:`~analysis.serve.scenario.ScenarioError`."""
        return validate_edit(edit, area=self.area, settings=self.settings)

    def _fold(self, edits: Sequence[Mapping[str, Any]]) -> ScenarioLayers:
        return fold_edits(self.bundle, edits, settings=self.settings)

    def apply(self, edit: Mapping[str, Any]) -> EditResult:
        """Validate and apply one edit (nothing changes when it is rejected)."""
        clean = self.validate(edit)
        edits = [*self.history[self.pos], clean]
        layers = self._fold(edits)
        result = self._transition(layers)
        self.history = [*self.history[:self.pos + 1], edits]
        self._folded = [*self._folded[:self.pos + 1], layers]
        self.pos += 1
        return result

    def load(self, edits: Sequence[Mapping[str, Any]]) -> EditResult:
        """Replace the scenario by ``edits`` (one undoable step)."""
        clean = [validate_edit(e, area=self.area, settings=self.settings,
                               where=f"edit {i + 1}") for i, e in enumerate(edits)]
        layers = self._fold(clean)
        result = self._transition(layers)
        self.history = [*self.history[:self.pos + 1], clean]
        self._folded = [*self._folded[:self.pos + 1], layers]
        self.pos += 1
        return result

    def clear_history(self) -> None:
        """Keep the current scenario and forget how it was reached (no undo, no redo)."""
        self.history = [self.edits]
        self._folded = [self.layers]
        self.pos = 0

    @property
    def can_undo(self) -> bool:
        return self.pos > 0

    @property
    def can_redo(self) -> bool:
        return self.pos < len(self.history) - 1

    def undo(self) -> EditResult | None:
        if not self.can_undo:
            return None
        result = self._transition(self._folded[self.pos - 1])
        self.pos -= 1
        return result

    def redo(self) -> EditResult | None:
        if not self.can_redo:
            return None
        result = self._transition(self._folded[self.pos + 1])
        self.pos += 1
        return result

    def evaluate(self, edits: Sequence[Mapping[str, Any]]) -> tuple[pd.DataFrame, list[str]]:
        """Status table and report lines of another scenario; the current one is restored."""
        here = self.layers
        clean = [validate_edit(e, area=self.area, settings=self.settings,
                               where=f"edit {i + 1}") for i, e in enumerate(edits)]
        layers = self._fold(clean)
        self._transition(layers)
        try:
            return self.status.copy(), self.lines()
        finally:
            self._transition(here)

    # -- layers for the page ---------------------------------------------------------------
    def operator_best(self, fields: Mapping[Key, np.ndarray], op: str | None,
                      window: Window | None = None) -> np.ndarray | None:
        """Best received power of an operator (or any) over its technologies in service."""
        from phusong.analysis.coverage.status import in_service_techs

        techs = set(in_service_techs(self.eval_settings))
        off = self.layers.switched_off(self.settings)
        out = None
        for k, arr in fields.items():
            if k[1] not in techs or k in off or (op is not None and k[0] != op):
                continue
            a = arr if window is None else arr[window[0]:window[1], window[2]:window[3]]
            out = a.copy() if out is None else np.fmax(out, a)
        return out
