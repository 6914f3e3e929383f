"""The steps of the sample-province generator (see :mod:`seeds.sample`).

Every step takes its own random stream (``_rng(seed, "step")``) so that changing one step does
not reshuffle the others. All geometry is in the province's metric CRS (VN-2000 TM-3).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import zlib

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from scipy import ndimage, sparse
from scipy.spatial import cKDTree
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from phusong.layers.schema import POST_OFFICE_KINDS
from phusong.layers.settings import DEFAULT
from phusong.seeds._calibrate import OPS
from phusong.seeds._names import NameMaker
from phusong.seeds._rivers import River, assign_river_z, river_network
from phusong.seeds._terrain import carve_terrain, spectral_noise, upsample_bilinear
from phusong.seeds.presets import Preset

logger = logging.getLogger(__name__)

COARSE = 5  # coarse terrain cell = COARSE × DEM cell
COVER_RADIUS_M = 3000.0  # a target village gets an operator's site within this distance
#: The generator places towers with the project's own default terrain model: the compiled
#: point-to-point kernel (:mod:`gis._kernels`) with the link budget of
#: :mod:`layers.link_budget`, the preset's radio values (:attr:`Preset.radio`) and the
#: default settings, each candidate with its own antenna height and sector azimuths. A
#: village is reached by a candidate when the received level at its centre is at or above
#: the technology's threshold (the status code's "centre covered").
CALIBRATION_MODEL = ("terrain model, default settings (free space + Deygout's three edges "
                     "over the taut string with ITU-R P.452-14's correction, per-RE reference "
                     "power, uplink check, 3GPP sectors, "
                     "15 km cap) at village centres")
WHITE_CLEARANCE_M = 15500.0
CAND_PER_VILLAGE = 6


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


@dataclasses.dataclass
class Grid:
    transform: Affine
    shape: tuple[int, int]
    res_m: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        minx, maxy = self.transform.c, self.transform.f
        return (minx, maxy - self.shape[0] * self.res_m, minx + self.shape[1] * self.res_m, maxy)

    def rowcol(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = np.clip(((self.transform.f - np.asarray(y)) / self.res_m).astype(np.int64), 0,
                    self.shape[0] - 1)
        c = np.clip(((np.asarray(x) - self.transform.c) / self.res_m).astype(np.int64), 0,
                    self.shape[1] - 1)
        return r, c


@dataclasses.dataclass
class World:
    """Everything generated so far (metric coordinates)."""

    preset: Preset
    seed: int
    crs: CRS
    province: Polygon | None = None
    grid: Grid | None = None
    dem: np.ndarray | None = None
    rivers: list[River] = dataclasses.field(default_factory=list)
    border: shapely.Geometry | None = None
    district_seeds: np.ndarray | None = None  # (k, 2)
    district_seed_ref: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    districts: list[shapely.Geometry] = dataclasses.field(default_factory=list)
    commune_seeds: np.ndarray | None = None
    commune_seed_ref: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    commune_district: np.ndarray | None = None
    communes: list[shapely.Geometry] = dataclasses.field(default_factory=list)
    admin: gpd.GeoDataFrame | None = None
    villages: gpd.GeoDataFrame | None = None
    village_ref: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    roads: gpd.GeoDataFrame | None = None
    towers: gpd.GeoDataFrame | None = None
    bts: gpd.GeoDataFrame | None = None
    fibre: gpd.GeoDataFrame | None = None
    post_offices: gpd.GeoDataFrame | None = None
    calibration: dict = dataclasses.field(default_factory=dict)

    def sample_dem(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r, c = self.grid.rowcol(x, y)
        return self.dem[r, c]


# -- province outline and grid ---------------------------------------------------------------
def build_outline(w: World) -> None:
    p = w.preset
    rng = _rng(w.seed, "outline")
    tr = Transformer.from_crs("EPSG:4326", w.crs, always_xy=True)
    cx, cy = tr.transform(p.centre_lon, p.centre_lat)
    theta = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    logr = np.zeros_like(theta)
    for k in range(1, 9):
        logr += rng.normal(0, 0.11 / k ** 0.7) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    logr += 0.12 * np.cos(2 * theta)  # somewhat elongated east–west
    r = np.exp(logr)
    ring = np.column_stack([np.cos(theta) * r, np.sin(theta) * r])
    poly = Polygon(ring)
    scale = math.sqrt(p.area_km2 * 1e6 / poly.area)
    poly = Polygon(ring * scale + [cx, cy]).buffer(0)
    w.province = shapely.set_precision(poly.simplify(20.0), 0.01)
    res = p.dem_res_m
    cell = res * COARSE
    margin = max(1500.0, 0.03 * p.side_km * 1000)
    minx, miny, maxx, maxy = w.province.bounds
    minx = math.floor((minx - margin) / cell) * cell
    maxy = math.ceil((maxy + margin) / cell) * cell
    ncol = math.ceil((maxx + margin - minx) / cell) * COARSE
    nrow = math.ceil((maxy - (miny - margin)) / cell) * COARSE
    w.grid = Grid(Affine(res, 0.0, minx, 0.0, -res, maxy), (nrow, ncol), res)
    # the international border: outline vertices facing the border azimuth
    ext = np.asarray(w.province.exterior.coords)
    c = w.province.centroid
    az = (np.degrees(np.arctan2(ext[:, 0] - c.x, ext[:, 1] - c.y)) + 360) % 360
    diff = np.abs((az - p.border_azimuth_deg + 180) % 360 - 180)
    on = diff <= p.border_halfwidth_deg
    runs, cur = [], []
    for xy, flag in zip(ext, on, strict=True):
        if flag:
            cur.append(xy)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    lines = [LineString(run) for run in runs if len(run) >= 2]
    w.border = MultiLineString(lines) if lines else LineString()
    logger.info("province outline %.0f km², DEM grid %d × %d cells at %.0f m",
                w.province.area / 1e6, nrow, ncol, res)


# -- rivers and terrain ----------------------------------------------------------------------
def build_terrain(w: World) -> None:
    p, g = w.preset, w.grid
    rng = _rng(w.seed, "rivers")
    length_scale = float(np.clip(p.side_km / 80.0, 0.35, 1.0))
    w.rivers = river_network(w.province, rng=rng, entry_azimuth_deg=p.river_azimuth_deg,
                             bounds=g.bounds, length_scale=length_scale)
    assign_river_z(w.rivers)
    cell = g.res_m * COARSE
    cshape = (g.shape[0] // COARSE, g.shape[1] // COARSE)
    minx, _, _, maxy = g.bounds
    mask = np.zeros(cshape, bool)
    zgrid = np.full(cshape, np.inf, np.float32)
    for rv in w.rivers:
        rr = ((maxy - rv.xy[:, 1]) / cell).astype(np.int64)
        cc = ((rv.xy[:, 0] - minx) / cell).astype(np.int64)
        ok = (rr >= 0) & (rr < cshape[0]) & (cc >= 0) & (cc < cshape[1])
        mask[rr[ok], cc[ok]] = True
        np.minimum.at(zgrid, (rr[ok], cc[ok]), rv.z[ok].astype(np.float32))
    zgrid[~mask] = 0
    # relief is higher along the border ranges
    bmask = np.zeros(cshape, bool)
    if not w.border.is_empty:
        pts = shapely.line_interpolate_point(
            w.border, np.arange(0, w.border.length, cell / 2)) if w.border.length else []
        bxy = shapely.get_coordinates(pts)
        rr = ((maxy - bxy[:, 1]) / cell).astype(np.int64)
        cc = ((bxy[:, 0] - minx) / cell).astype(np.int64)
        ok = (rr >= 0) & (rr < cshape[0]) & (cc >= 0) & (cc < cshape[1])
        bmask[rr[ok], cc[ok]] = True
    if bmask.any():
        bd = ndimage.distance_transform_edt(~bmask).astype(np.float32) * cell
        uplift = 1.0 + 0.7 * np.exp(-bd / (20000.0 * math.sqrt(p.scale)))
    else:
        uplift = np.ones(cshape, np.float32)
    trng = _rng(w.seed, "terrain")
    relief = 1400.0 * float(np.clip(p.side_km / 60.0, 0.5, 1.0))
    coarse, _dist = carve_terrain(mask, zgrid, cell_m=cell, rng=trng, relief_m=relief,
                                  uplift=uplift.astype(np.float32),
                                  valley_width_m=1300.0 * length_scale ** 0.5,
                                  floor_sigma_m=1500.0 * length_scale)
    dem = upsample_bilinear(coarse, COARSE)
    dem += spectral_noise(dem.shape, trng, beta=3.0, fmin=g.res_m / 1500.0) * np.float32(15.0)
    lo, hi = p.elevation_m
    dmin, dmax = float(dem.min()), float(dem.max())
    dem -= np.float32(dmin)
    dem *= np.float32((hi - lo) / (dmax - dmin))
    dem += np.float32(lo)
    w.dem = np.clip(dem, lo, hi).astype(np.float32)
    logger.info("terrain: %d rivers (%.0f km), elevation %.0f–%.0f m", len(w.rivers),
                sum(r.length_m for r in w.rivers) / 1000, w.dem.min(), w.dem.max())


# -- administrative units --------------------------------------------------------------------
def _lloyd(points: np.ndarray, k: int, rng: np.random.Generator, *, fixed: np.ndarray | None = None,
           iters: int = 12) -> np.ndarray:
    nfix = 0 if fixed is None else len(fixed)
    pick = rng.choice(len(points), size=max(k - nfix, 0), replace=False)
    seeds = points[pick]
    if nfix:
        seeds = np.vstack([fixed, seeds])
    for _ in range(iters):
        _, lab = cKDTree(seeds).query(points)
        sums = np.zeros_like(seeds)
        np.add.at(sums, lab, points)
        cnt = np.bincount(lab, minlength=len(seeds))[:, None]
        new = np.where(cnt > 0, sums / np.maximum(cnt, 1), seeds)
        new[:nfix] = seeds[:nfix]
        seeds = new
    return seeds


def _random_points_in(poly: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = poly.bounds
    out = []
    got = 0
    while got < n:
        xy = rng.uniform([minx, miny], [maxx, maxy], size=(n * 2, 2))
        xy = xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]
        out.append(xy)
        got += len(xy)
    return np.vstack(out)[:n]


def _river_vertices(w: World, *, max_level: int = 3) -> tuple[np.ndarray, np.ndarray]:
    xy, ref = [], []
    for i, rv in enumerate(w.rivers):
        if rv.level > max_level:
            continue
        xy.append(rv.xy)
        ref.append(np.column_stack([np.full(len(rv.xy), i), np.arange(len(rv.xy))]))
    return np.vstack(xy), np.vstack(ref)


def _voronoi_in(seeds: np.ndarray, within: shapely.Geometry) -> list[shapely.Geometry]:
    if len(seeds) == 1:
        return [within]
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=within.envelope.buffer(1000)))
    tree = shapely.STRtree(cells)
    out = []
    for x, y in seeds:
        hits = tree.query(Point(x, y), predicate="intersects")
        cell = cells[hits[0]]
        part = shapely.intersection(cell, within)
        out.append(shapely.make_valid(part) if not part.is_valid else part)
    return out


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts)


def build_admin(w: World) -> None:
    p = w.preset
    rng = _rng(w.seed, "admin")
    cloud = _random_points_in(w.province, 40000 if p.communes > 20 else 8000, rng)
    vxy, vref = _river_vertices(w, max_level=2)
    inside = shapely.contains_xy(w.province.buffer(-300.0), vxy[:, 0], vxy[:, 1])
    vxy, vref = vxy[inside], vref[inside]
    vtree = cKDTree(vxy)
    # districts: Lloyd-relaxed seeds snapped to valley vertices; the capital nearest the centre
    c = np.array([w.province.centroid.x, w.province.centroid.y])
    dseeds = _lloyd(cloud, p.districts, rng)
    order = np.argsort(np.hypot(*(dseeds - c).T))
    dseeds = dseeds[order]
    used: set[int] = set()
    snapped, dref = [], []
    for s in dseeds:
        _, idx = vtree.query(s, k=min(20, len(vxy)))
        j = next(int(i) for i in np.atleast_1d(idx) if int(i) not in used)
        used.add(j)
        snapped.append(vxy[j])
        dref.append(tuple(int(v) for v in vref[j]))
    w.district_seeds = np.asarray(snapped)
    w.district_seed_ref = dref
    w.districts = [_polygonal(g) for g in _voronoi_in(w.district_seeds, w.province)]
    # communes: per district, counts by area (largest remainder), first seed is the town
    areas = np.array([d.area for d in w.districts])
    quota = areas / areas.sum() * p.communes
    counts = np.maximum(1, np.floor(quota).astype(int))
    while counts.sum() < p.communes:
        counts[np.argmax(quota - counts)] += 1
    while counts.sum() > p.communes:
        counts[np.argmax(counts)] -= 1
    cseeds, cref, cdist, cpolys = [], [], [], []
    for di, dpoly in enumerate(w.districts):
        pts = cloud[shapely.contains_xy(dpoly, cloud[:, 0], cloud[:, 1])]
        town = w.district_seeds[di][None, :]
        k = int(counts[di])
        if k > 1 and len(pts) > k:
            seeds = _lloyd(pts, k, rng, fixed=town)
        else:
            seeds = town
        in_d = shapely.contains_xy(dpoly, vxy[:, 0], vxy[:, 1])
        cand = np.flatnonzero(in_d)
        ctree = cKDTree(vxy[cand]) if len(cand) else None
        snapped_d = [w.district_seeds[di]]
        refs_d = [dref[di]]
        f = float(min(1.0, p.side_km / 60.0))
        for s in seeds[1:]:
            j = None
            if ctree is not None:
                dd, idx = ctree.query(s, k=min(30, len(cand)))
                for d_i, i in zip(np.atleast_1d(dd), np.atleast_1d(idx), strict=True):
                    if int(cand[i]) not in used and d_i <= 2500.0 * f + 500:
                        j = int(cand[i])
                        break
            if j is None:  # no valley nearby: the centre stays put, a track leads to it
                _, jn = vtree.query(s)
                snapped_d.append(s)
                refs_d.append(tuple(int(v) for v in vref[int(jn)]))
                continue
            used.add(j)
            snapped_d.append(vxy[j])
            refs_d.append(tuple(int(v) for v in vref[j]))
        snapped_d = np.asarray(snapped_d)
        polys = [_polygonal(g) for g in _voronoi_in(snapped_d, dpoly)]
        cseeds.extend(snapped_d)
        cref.extend(refs_d)
        cdist.extend([di] * len(snapped_d))
        cpolys.extend(polys)
    w.commune_seeds = np.asarray(cseeds)
    w.commune_seed_ref = cref
    w.commune_district = np.asarray(cdist)
    w.communes = cpolys
    # names and codes
    names = NameMaker(_rng(w.seed, "admin-names"))
    rows = [{"code": p.admin_code, "name": p.name, "level": "province", "parent_code": None,
             "geometry": w.province}]
    dcodes = []
    for di, dpoly in enumerate(w.districts):
        base = p.district_names[di] if di < len(p.district_names) else names.name("district")
        dname = base if base.startswith(("Thành phố", "Thị xã")) else f"Huyện {base}"
        code = f"{p.district_code_base + di:03d}"
        dcodes.append(code)
        rows.append({"code": code, "name": dname, "level": "district",
                     "parent_code": p.admin_code, "geometry": dpoly})
    ccodes = []
    for ci, cpoly in enumerate(w.communes):
        di = int(w.commune_district[ci])
        first = ci == 0 or w.commune_district[ci - 1] != di
        n = names.name("commune")
        if first and di == 0:
            cname = f"Phường {n}"
        elif first:
            cname = f"Thị trấn {n}"
        else:
            cname = f"Xã {n}"
        code = f"{p.commune_code_base + 3 * ci:05d}"
        ccodes.append(code)
        rows.append({"code": code, "name": cname, "level": "commune", "parent_code": dcodes[di],
                     "geometry": cpoly})
    w.admin = gpd.GeoDataFrame(rows, geometry="geometry", crs=w.crs)
    w.calibration["district_codes"] = dcodes
    w.calibration["commune_codes"] = ccodes
    logger.info("admin units: %d districts, %d communes", len(w.districts), len(w.communes))


# -- villages --------------------------------------------------------------------------------
def _blob(x: float, y: float, radius: float, rng: np.random.Generator, n: int = 20) -> Polygon:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones_like(t)
    for k in (2, 3, 4):
        r += rng.uniform(0, 0.16) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    return Polygon(np.column_stack([x + radius * r * np.cos(t), y + radius * r * np.sin(t)]))


def build_villages(w: World) -> None:
    p = w.preset
    rng = _rng(w.seed, "villages")
    lo, hi = p.elevation_m
    f = float(min(1.0, p.side_km / 60.0))
    # candidates: both banks of every river vertex, in the valley or up on the slope
    xy_list, ref_list, lvl_list = [], [], []
    for i, rv in enumerate(w.rivers):
        d = np.gradient(rv.xy, axis=0)
        nrm = np.column_stack([-d[:, 1], d[:, 0]])
        nrm /= np.maximum(np.hypot(nrm[:, 0], nrm[:, 1]), 1e-9)[:, None]
        for side in (-1.0, 1.0):
            slope = rng.random(len(rv.xy)) < 0.3
            off = np.where(slope, rng.uniform(600, 1800, len(rv.xy)) * max(f, 0.5),
                           rng.uniform(90, 500, len(rv.xy)))
            xy_list.append(rv.xy + side * off[:, None] * nrm)
            ref_list.append(np.column_stack([np.full(len(rv.xy), i), np.arange(len(rv.xy))]))
            lvl_list.append(np.full(len(rv.xy), rv.level))
    cxy = np.vstack(xy_list)
    cref = np.vstack(ref_list)
    clvl = np.concatenate(lvl_list)
    inner = w.province.buffer(-150.0)
    ok = shapely.contains_xy(inner, cxy[:, 0], cxy[:, 1])
    cxy, cref, clvl = cxy[ok], cref[ok], clvl[ok]
    celev = w.sample_dem(cxy[:, 0], cxy[:, 1])
    ok = celev <= lo + 0.72 * (hi - lo)
    cxy, cref, clvl, celev = cxy[ok], cref[ok], clvl[ok], celev[ok]
    dseed = cKDTree(w.district_seeds).query(cxy)[0]
    cseed = cKDTree(w.commune_seeds).query(cxy)[0]
    weight = (np.array([3.0, 2.0, 1.2, 0.8])[np.minimum(clvl, 3)]
              * (1.0 + 2.5 * np.exp(-dseed / (4000.0 * f + 500)))
              * (1.0 + 1.0 * np.exp(-cseed / (3000.0 * f + 500)))
              * (1.0 - 0.6 * (celev - lo) / (hi - lo)))
    border_d = shapely.distance(w.border, shapely.points(cxy)) if not w.border.is_empty \
        else np.full(len(cxy), np.inf)
    # white pockets: remote border valleys far from every town
    n_white = p.white_villages
    area_per_village = p.area_km2 * 1e6 / p.villages
    r_site = WHITE_CLEARANCE_M * f
    r_ex_village = r_site - 2500.0 * f
    white_idx: list[int] = []
    if n_white:
        k_pockets = max(1, math.ceil(n_white / 40))
        r_core = math.sqrt(n_white / k_pockets * area_per_village / math.pi)
        band = border_d <= max(p.border_band_km * 1000.0, 3000.0)
        remote = np.where(band, np.minimum(dseed, cseed * 3), -1.0)
        centres: list[np.ndarray] = []
        for _ in range(k_pockets):
            score = remote.copy()
            for c0 in centres:
                score = np.minimum(score, np.hypot(*(cxy - c0).T) / 2)
            centres.append(cxy[int(np.argmax(score))])
        order = np.argsort(np.log(rng.random(len(cxy))) / weight)[::-1]
        near_pocket = np.zeros(len(cxy), bool)
        for c0 in centres:
            near_pocket |= np.hypot(*(cxy - c0).T) <= r_core
        for i in order:
            if len(white_idx) >= n_white:
                break
            if near_pocket[i] and all(np.hypot(*(cxy[i] - cxy[j])) > 500 * f + 300
                                      for j in white_idx):
                white_idx.append(int(i))
        if len(white_idx) < n_white:  # not enough valley sites in the pockets: take the next
            rest = np.argsort(-remote)
            for i in rest:
                if len(white_idx) >= n_white:
                    break
                if int(i) not in white_idx:
                    white_idx.append(int(i))
        wxy = cxy[white_idx]
        excluded = cKDTree(wxy).query(cxy)[0] < r_ex_village
    else:
        wxy = np.empty((0, 2))
        excluded = np.zeros(len(cxy), bool)
    # the other villages: weighted random order, spacing by radius
    areas = np.clip(rng.lognormal(math.log(0.45e6), 0.5, size=len(cxy)), 0.2e6, 1.5e6)
    areas *= min(1.0, area_per_village / 5e6) ** 0.5  # denser provinces: smaller villages
    radii = np.sqrt(areas / math.pi)
    keys = np.log(rng.random(len(cxy))) / weight
    order = np.argsort(keys)[::-1]
    chosen = list(white_idx)
    hash_cell = 2500.0
    buckets: dict[tuple[int, int], list[int]] = {}

    def fits(i: int, factor: float) -> bool:
        hx, hy = int(cxy[i, 0] // hash_cell), int(cxy[i, 1] // hash_cell)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in buckets.get((hx + dx, hy + dy), ()):
                    need = (radii[i] + radii[j]) * factor + 100.0
                    if (cxy[i, 0] - cxy[j, 0]) ** 2 + (cxy[i, 1] - cxy[j, 1]) ** 2 < need * need:
                        return False
        return True

    def add(i: int) -> None:
        buckets.setdefault((int(cxy[i, 0] // hash_cell), int(cxy[i, 1] // hash_cell)),
                           []).append(i)

    for i in chosen:
        add(i)
    taken = np.zeros(len(cxy), bool)
    taken[chosen] = True
    factor = 1.25
    while len(chosen) < p.villages and factor > 0.2:
        for i in order:
            if len(chosen) >= p.villages:
                break
            if taken[i] or excluded[i]:
                continue
            if fits(int(i), factor):
                chosen.append(int(i))
                taken[i] = True
                add(int(i))
        factor *= 0.7
    if len(chosen) < p.villages:
        raise RuntimeError(f"could place only {len(chosen)} of {p.villages} villages")
    chosen_arr = np.asarray(chosen)
    vxy = cxy[chosen_arr]
    is_white = np.zeros(len(chosen_arr), bool)
    is_white[: len(white_idx)] = True
    # polygons, communes
    ctree = shapely.STRtree(w.communes)
    prng = _rng(w.seed, "village-shapes")
    polys, centres_xy, commune_idx = [], [], []
    for i in chosen_arr:
        x, y = cxy[i]
        hits = ctree.query(Point(x, y), predicate="within")
        if len(hits) == 0:
            hits = ctree.query_nearest(Point(x, y))
        ci = int(hits[0])
        blob = _blob(x, y, radii[i], prng).intersection(w.communes[ci])
        if blob.geom_type != "Polygon":
            parts = [g for g in shapely.get_parts(blob) if g.geom_type == "Polygon"]
            blob = max(parts, key=lambda g: g.area) if parts else Point(x, y).buffer(80)
        pt = Point(x, y)
        if not blob.contains(pt):
            pt = blob.representative_point()
        polys.append(shapely.set_precision(blob, 0.01))
        centres_xy.append((pt.x, pt.y))
        commune_idx.append(ci)
    centres_xy = np.asarray(centres_xy)
    commune_idx = np.asarray(commune_idx)
    elev = w.sample_dem(centres_xy[:, 0], centres_xy[:, 1])
    # population: lognormal, towns larger
    drng = _rng(w.seed, "village-attributes")
    d_town = cKDTree(w.district_seeds).query(centres_xy)[0]
    d_comm = cKDTree(w.commune_seeds).query(centres_xy)[0]
    town = d_town < 2500.0 * f + 300
    wpop = drng.lognormal(0.0, 0.55, len(vxy)) * np.where(town, 3.0, 1.0) * np.where(
        d_comm < 1500, 1.5, 1.0) * np.where(is_white, 0.6, 1.0)
    raw = wpop / wpop.sum() * p.population
    pop = np.floor(raw).astype(np.int64)
    rem = p.population - int(pop.sum())
    if rem > 0:
        pop[np.argsort(-(raw - pop), kind="stable")[:rem]] += 1
    pop = np.maximum(pop, 20)
    hh_size = drng.uniform(p.household_size - 0.6, p.household_size + 0.6, len(vxy))
    households = np.maximum(1, np.round(pop / hh_size)).astype(np.int64)
    # remoteness drives difficulty, grid power and the operators' footprint
    remote = (d_town / 1000.0 + 0.004 * (elev - lo) + drng.normal(0, 1.5, len(vxy)))
    n_diff = round(p.difficult_ratio * len(vxy))
    difficult = np.zeros(len(vxy), bool)
    difficult[np.argsort(-remote, kind="stable")[:n_diff]] = True
    n_nogrid = round((1 - p.grid_power_ratio) * len(vxy))
    grid = np.ones(len(vxy), bool)
    grid[np.argsort(-(remote + drng.normal(0, 2.0, len(vxy))), kind="stable")[:n_nogrid]] = False
    # white villages by design: mostly grid + difficult (fund), some operator plan, some no grid
    wi = np.flatnonzero(is_white)
    for k, i in enumerate(wi):
        frac = k / max(len(wi), 1)
        difficult[i] = frac < 0.6 or frac >= 0.75
        grid[i] = frac < 0.75
    border_dist = shapely.distance(w.border, shapely.points(centres_xy)) \
        if not w.border.is_empty else np.full(len(vxy), np.inf)
    border_area = border_dist <= p.border_band_km * 1000.0
    # names, ids
    names = NameMaker(_rng(w.seed, "village-names"))
    ccodes = w.calibration["commune_codes"]
    tdp_counter: dict[int, int] = {}
    vnames = []
    for k in range(len(vxy)):
        ci = int(commune_idx[k])
        if town[k] and not is_white[k]:
            tdp_counter[ci] = tdp_counter.get(ci, 0) + 1
            vnames.append(f"Tổ dân phố {tdp_counter[ci]}")
        else:
            prefix = "Bản" if names.rng.random() < 0.65 else "Thôn"
            vnames.append(f"{prefix} {names.name(str(ci))}")
    # order villages by commune then west→east for stable, readable ids
    order = np.lexsort((centres_xy[:, 0], commune_idx))
    ids = [f"{p.code}-V{k + 1:04d}" for k in range(len(vxy))]
    centre_ll = gpd.GeoSeries(shapely.points(centres_xy[order]), crs=w.crs).to_crs("EPSG:4326")
    w.villages = gpd.GeoDataFrame({
        "village_id": ids,
        "name": [vnames[i] for i in order],
        "commune_code": [ccodes[int(commune_idx[i])] for i in order],
        "population": pop[order],
        "households": households[order],
        "has_grid_power": grid[order],
        "border_area": border_area[order],
        "extremely_difficult": difficult[order],
        "centre_lon": centre_ll.x.to_numpy().round(7),
        "centre_lat": centre_ll.y.to_numpy().round(7),
    }, geometry=[polys[i] for i in order], crs=w.crs)
    w.village_ref = [tuple(int(v) for v in cref[chosen_arr[i]]) for i in order]
    w.calibration["village_xy"] = centres_xy[order]
    w.calibration["village_white"] = is_white[order]
    w.calibration["village_remote"] = remote[order]
    w.calibration["white_xy"] = wxy
    w.calibration["r_site"] = r_site
    logger.info("villages: %d (%d white by design), population %d", len(vxy), len(wi),
                int(pop.sum()))


# -- roads -----------------------------------------------------------------------------------
def build_roads(w: World) -> None:
    p = w.preset
    f = float(min(1.0, p.side_km / 60.0))
    need = {i: -1 for i in range(len(w.rivers))}
    splits: dict[int, set[int]] = {i: set() for i in range(len(w.rivers))}
    for ri, vi in list(w.village_ref) + list(w.commune_seed_ref) + list(w.district_seed_ref):
        if ri < 0:
            continue
        need[ri] = max(need[ri], vi)
        splits[ri].add(vi)
    for i in range(len(w.rivers) - 1, 0, -1):
        rv = w.rivers[i]
        if need[i] >= 0:  # referenced, if only at its mouth: the parent must reach it
            need[rv.parent] = max(need[rv.parent], rv.junction)
            splits[rv.parent].add(rv.junction)
    main = w.rivers[0]
    inside = np.flatnonzero(shapely.contains_xy(w.province, main.xy[:, 0], main.xy[:, 1]))
    first_in, last_in = (int(inside[0]), int(inside[-1])) if len(inside) else (0, len(main.xy) - 1)
    if splits[0]:  # villages on a bank inside may hang on a main-river vertex just outside
        first_in, last_in = min(first_in, min(splits[0])), max(last_in, max(splits[0]))
    rows = []
    every = max(4, int(2000.0 * f / 150.0))
    for i, rv in enumerate(w.rivers):
        if i == 0:
            a, b = first_in, last_in
        else:
            a, b = 0, need[i]
        if b <= a:
            continue
        cuts = sorted({a, b, *range(a, b, every), *(s for s in splits[i] if a <= s <= b)})
        kept_km = (b - a) * 0.15
        cls = ("trunk" if rv.level == 0 else
               ("primary" if kept_km >= 20 * f else "secondary") if rv.level == 1 else
               "tertiary" if rv.level == 2 else "track")
        for s, e in itertools.pairwise(cuts):
            line = LineString(rv.xy[s:e + 1]).simplify(15.0)
            rows.append({"highway": cls, "geometry": line, "_river": i, "_a": s, "_b": e})
    for seeds, refs in ((w.district_seeds, w.district_seed_ref),
                        (w.commune_seeds, w.commune_seed_ref)):
        for xy, (ri, vi) in zip(seeds, refs, strict=True):
            start = w.rivers[ri].xy[vi]
            if np.hypot(*(xy - start)) >= 30:
                rows.append({"highway": "track", "geometry": LineString([start, xy]),
                             "_river": -1, "_a": -1, "_b": -1})
    vxy = w.calibration["village_xy"]
    for k, (ri, vi) in enumerate(w.village_ref):
        start = w.rivers[ri].xy[vi]
        if np.hypot(*(vxy[k] - start)) < 30:
            continue
        rows.append({"highway": "track", "geometry": LineString([start, vxy[k]]),
                     "_river": -1, "_a": -1, "_b": k})
    roads = gpd.GeoDataFrame(rows, geometry="geometry", crs=w.crs)
    roads["geometry"] = shapely.set_precision(roads.geometry.values, 0.01)
    roads.insert(1, "road_id", [f"{p.code}-R{k + 1:05d}" for k in range(len(roads))])
    w.roads = roads
    logger.info("roads: %d segments, %.0f km", len(roads), roads.length.sum() / 1000)


# -- towers and BTS --------------------------------------------------------------------------
def _spur_candidates(w: World, rng: np.random.Generator) -> np.ndarray:
    """Tower candidates per village (CAND_PER_VILLAGE rows each): three spurs or shoulders
    0.6–2.2 km away, a few hundred metres above the valley floor, then in-town positions."""
    vxy = w.calibration["village_xy"]
    f = float(min(1.0, w.preset.side_km / 60.0))
    n = len(vxy)
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    dist = np.array([600.0, 1100.0, 1600.0, 2200.0]) * max(f, 0.5)
    a, d = np.meshgrid(ang, dist)
    a, d = a.ravel(), d.ravel()
    jitter = rng.uniform(-0.15, 0.15, (n, len(a)))
    px = vxy[:, 0:1] + d[None, :] * np.cos(a[None, :] + jitter)
    py = vxy[:, 1:2] + d[None, :] * np.sin(a[None, :] + jitter)
    ez = w.sample_dem(px.ravel(), py.ravel()).reshape(px.shape)
    v_ez = w.sample_dem(vxy[:, 0], vxy[:, 1])
    dz = ez - v_ez[:, None]
    score = np.minimum(dz, 300.0) - 1.5 * np.maximum(dz - 450.0, 0.0) - 0.05 * d[None, :]
    inside = shapely.contains_xy(w.province, px.ravel(), py.ravel()).reshape(px.shape)
    wxy = w.calibration["white_xy"]
    if len(wxy):
        dw = cKDTree(wxy).query(np.column_stack([px.ravel(), py.ravel()]))[0].reshape(px.shape)
        inside &= dw >= w.calibration["r_site"]
    score = np.where(inside, score, -np.inf)
    # the best three positions per village (different directions): the first serves coverage,
    # the others densification in towns
    order = np.argsort(-score, axis=1, kind="stable")
    out = np.full((n, CAND_PER_VILLAGE, 2), np.nan)
    for k in range(3):
        best = order[:, k * 5] if k else order[:, 0]
        ok = np.isfinite(score[np.arange(n), best])
        out[ok, k, 0] = px[np.arange(n), best][ok]
        out[ok, k, 1] = py[np.arange(n), best][ok]
    # three in-town positions (rooftops, poles) 200–600 m from the centre, for densification
    ang2 = rng.uniform(0, 2 * np.pi, (n, CAND_PER_VILLAGE - 3))
    dist2 = rng.uniform(200, 600, (n, CAND_PER_VILLAGE - 3)) * max(f, 0.5)
    tx = vxy[:, 0:1] + dist2 * np.cos(ang2)
    ty = vxy[:, 1:2] + dist2 * np.sin(ang2)
    ok2 = shapely.contains_xy(w.province, tx.ravel(), ty.ravel()).reshape(tx.shape)
    if len(wxy):
        dw2 = cKDTree(wxy).query(np.column_stack([tx.ravel(), ty.ravel()]))[0]
        ok2 &= dw2.reshape(tx.shape) >= w.calibration["r_site"]
    out[:, 3:, 0] = np.where(ok2, tx, np.nan)
    out[:, 3:, 1] = np.where(ok2, ty, np.nan)
    return out.reshape(n * CAND_PER_VILLAGE, 2)


def _plan_operator(w: World, op: str, target: np.ndarray, cand: np.ndarray,
                   cover: tuple, cand_village: np.ndarray, n_sites: int,
                   techs: dict[str, int], internet: np.ndarray, *, town_only: bool = False,
                   priority: np.ndarray | None = None
                   ) -> tuple[np.ndarray, list[list[str]]]:
    """Greedy cover of the target villages, then densify towns; returns candidate indices and
    the technologies on each site."""
    uncovered = target.copy()
    pops = w.villages["population"].to_numpy().astype(float)
    weight = np.sqrt(pops)
    picked: list[int] = []
    avail = np.isfinite(cand[:, 0])
    if town_only:  # a small urban operator: rooftop and in-town sites, no spurs
        avail &= (np.arange(len(cand)) % CAND_PER_VILLAGE) >= 3
    csr, csc = cover
    gain = csr @ (weight * uncovered)
    while uncovered.any() and len(picked) < n_sites:
        g = np.where(avail, gain, -1.0)
        j = int(np.argmax(g))
        if g[j] <= 1e-9:
            break
        picked.append(j)
        avail[j] = False
        new = csr.indices[csr.indptr[j]:csr.indptr[j + 1]]
        new = new[uncovered[new]]
        if len(new):
            uncovered[new] = False
            gain -= csc[:, new] @ weight[new]
    # densify: candidates of the largest target villages not yet used
    extra = np.flatnonzero(target[cand_village] & avail)
    extra = extra[np.argsort(-pops[cand_village[extra]], kind="stable")]
    for j in extra[: n_sites - len(picked)]:
        picked.append(int(j))
        avail[j] = False
    if len(picked) < n_sites and priority is not None:
        # still short (a small footprint, many sites): the next villages of the footprint
        more = np.flatnonzero(avail & np.isfinite(priority[cand_village]))
        more = more[np.argsort(priority[cand_village[more]], kind="stable")]
        picked.extend(int(j) for j in more[: n_sites - len(picked)])
    picked_arr = np.asarray(picked, dtype=np.int64)
    # sites that serve villages with internet carry 3G/4G first; remote ones 2G first
    return picked_arr, _assign_techs(internet[cand_village[picked_arr]], techs)


def _assign_techs(core: np.ndarray, techs: dict[str, int]) -> list[list[str]]:
    """Technologies per site (sites in priority order). 4G and 3G go to the core sites first
    (3G beside 4G: one upgraded site carries both) and spill over to the others; 2G goes to
    the remote sites first (there it is the only service), then to the core ones."""
    n = len(core)
    order_core = [k for k in range(n) if core[k]] + [k for k in range(n) if not core[k]]
    order_remote = [k for k in range(n) if not core[k]] + [k for k in range(n) if core[k]]
    site_techs: list[list[str]] = [[] for _ in range(n)]
    for tech, order in (("4G", order_core), ("3G", order_core), ("2G", order_remote)):
        for k in order[: min(techs.get(tech, 0), n)]:
            site_techs[k].append(tech)
    return [sorted(t) for t in site_techs]


def _candidate_masts(w: World, cand: np.ndarray, cand_village: np.ndarray
                     ) -> dict[str, np.ndarray]:
    """Tower height, antenna height and first sector azimuth of every candidate position."""
    p = w.preset
    rng = _rng(w.seed, "masts")
    vxy = w.calibration["village_xy"]
    elev_v = w.sample_dem(vxy[:, 0], vxy[:, 1])
    lo, hi = p.elevation_m
    n = len(cand)
    height = np.clip(np.round(24 + 14 * (elev_v[cand_village] - lo) / (hi - lo)
                              + rng.normal(0, 5, n)), 20, 45)
    ant = np.round(height - rng.uniform(2, 6, n), 1)
    az0 = rng.integers(0, 120, n)
    return {"height_m": height, "antenna_m": ant, "az0": az0}


def _sample_bts(p, tech: str, ant_m: np.ndarray, az0: np.ndarray) -> pd.DataFrame:
    """BTS rows of one technology on candidate masts, with the preset's radio values."""
    radio = p.radio_for(tech)
    n = len(ant_m)
    cols = {"tech": np.full(n, tech), "antenna_height_m": ant_m,
            "azimuth_deg": [f"{a};{a + 120};{a + 240}" for a in az0]}
    cols.update({k: np.full(n, float(v)) for k, v in radio.items()})
    return pd.DataFrame(cols)


def _reach_matrix(w: World, cand: np.ndarray, vxy: np.ndarray, tech: str,
                  masts: dict[str, np.ndarray]) -> sparse.csr_matrix:
    """Candidate × village matrix: 1 where a BTS of ``tech`` on the candidate's mast covers
    the village centre under the terrain model (see :data:`CALIBRATION_MODEL`)."""
    from phusong.gis import _kernels
    from phusong.gis.propagation import hata_base_db, wavelength_m
    from phusong.layers.link_budget import kernel_codes, link_budget, site_antennas
    from phusong.layers.settings import DEFAULT

    settings = DEFAULT
    ok_idx = np.flatnonzero(np.isfinite(cand[:, 0]))
    n = len(vxy)
    if not len(ok_idx):
        return sparse.csr_matrix((len(cand), n), dtype=np.float64)
    sites = _sample_bts(w.preset, tech, masts["antenna_m"][ok_idx], masts["az0"][ok_idx])
    budget = link_budget(sites, settings=settings)
    ant = site_antennas(sites, budget)
    band = budget["band_mhz"].to_numpy(dtype=float)
    res = w.grid.res_m
    col = (cand[ok_idx, 0] - w.grid.transform.c) / res
    row = (w.grid.transform.f - cand[ok_idx, 1]) / res
    zt = w.sample_dem(cand[ok_idx, 0], cand[ok_idx, 1]) + masts["antenna_m"][ok_idx]
    reach_m = settings.max_radius_km * 1000.0
    hits = cKDTree(vxy).query_ball_point(cand[ok_idx], reach_m)
    pair = np.concatenate([np.full(len(h), j) for j, h in enumerate(hits)]).astype(np.int64)
    vi = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
    if not len(pair):
        return sparse.csr_matrix((len(cand), n), dtype=np.float64)
    pc = (vxy[vi, 0] - w.grid.transform.c) / res
    pr = (w.grid.transform.f - vxy[vi, 1]) / res
    k_model, k_mode = kernel_codes(settings)
    power = _kernels.point_power(
        w.dem.astype(np.float32), pair_site=pair, pcol=pc, prow=pr, col=col, row=row, zt=zt,
        eirp=budget["eirp_eff_dbm"].to_numpy(dtype=float),
        base_db=np.asarray(hata_base_db(band, settings.rx_height_m,
                                        environment=settings.environment), dtype=float),
        fs_const_db=32.45 + 20.0 * np.log10(band), wavelength=np.asarray(wavelength_m(band)),
        antennas=ant, res_x=res, res_y=res, rx_height_m=settings.rx_height_m,
        k_factor=settings.k_factor, model=k_model, mode=k_mode, depth=settings.deygout_depth,
        max_distance_m=reach_m + 2 * res)
    with np.errstate(invalid="ignore"):
        keep = power >= settings.threshold_dbm[tech]
    mat = sparse.csr_matrix((np.ones(int(keep.sum())), (ok_idx[pair[keep]], vi[keep])),
                            shape=(len(cand), n))
    mat.sort_indices()
    logger.debug("%s reach: %d of %d candidate-village pairs within %.0f km", tech,
                 int(keep.sum()), len(pair), reach_m / 1000)
    return mat


def _reach(vis: dict[str, sparse.csr_matrix], picked: np.ndarray,
           site_techs: list[list[str]], techs: tuple[str, ...], n: int) -> np.ndarray:
    """Villages reached by the picked sites with the given technologies (LOS proxy)."""
    acc = np.zeros(n)
    for t in techs:
        rows = [int(j) for j, st in zip(picked, site_techs, strict=True) if t in st]
        if rows and t in vis:
            acc += np.asarray(vis[t][rows].sum(axis=0)).ravel()
    return acc > 0


def build_towers(w: World) -> None:
    p = w.preset
    rng = _rng(w.seed, "towers")
    vxy = w.calibration["village_xy"]
    white = w.calibration["village_white"]
    remote = w.calibration["village_remote"]
    n = len(vxy)
    cand = _spur_candidates(w, rng)
    cand_village = np.repeat(np.arange(n), CAND_PER_VILLAGE)
    masts = _candidate_masts(w, cand, cand_village)
    # the terrain model's reach does not shrink with the province: no scaling here
    vis = {t: _reach_matrix(w, cand, vxy, t, masts) for t in ("2G", "3G", "4G")}
    # greedy cover: a site within 3 km that reaches the village (or within 1.2 km: a target
    # the search may try; whether it reaches is the terrain model's answer)
    rows_i, cols_i = [], []
    ok_idx = np.flatnonzero(np.isfinite(cand[:, 0]))
    if len(ok_idx):
        hits = cKDTree(vxy).query_ball_point(cand[ok_idx], COVER_RADIUS_M)
        for j, h in zip(ok_idx, hits, strict=True):
            rows_i.extend([int(j)] * len(h))
            cols_i.extend(h)
    within = sparse.csr_matrix((np.ones(len(rows_i)), (rows_i, cols_i)), shape=(len(cand), n))
    d = np.zeros(len(rows_i))
    if rows_i:
        d = np.hypot(*(cand[rows_i] - vxy[cols_i]).T)
    close = sparse.csr_matrix(((d <= 1200.0).astype(float), (rows_i, cols_i)),
                              shape=(len(cand), n))
    close.eliminate_zeros()
    best = ((vis["2G"] + vis["3G"] + vis["4G"]) > 0).astype(np.float64)
    mat = ((within.multiply(best) + close) > 0).astype(np.float64).tocsr()
    mat.sort_indices()
    cover = (mat, mat.tocsc())
    # villages with internet (3G/4G or fibre): the least remote ones
    n_net = round(p.internet_ratio * n)
    rank = np.where(white, np.inf, remote)
    internet = np.zeros(n, bool)
    internet[np.argsort(rank, kind="stable")[:n_net]] = True
    w.calibration["village_internet"] = internet
    hubs_all = w.district_seeds
    plans: dict[str, tuple[np.ndarray, list[list[str]]]] = {}
    achieved: dict[str, int] = {}
    forced = np.zeros(n, bool)
    all_t = ("2G", "3G", "4G")
    for op in OPS:
        n_sites = int(p.sites_by_operator.get(op, 0))
        techs = dict(p.bts_by_operator_tech.get(op, {}))
        if n_sites == 0:
            plans[op] = (np.empty(0, np.int64), [])
            continue
        orng = _rng(w.seed, f"footprint-{op}")
        hubs = hubs_all if op != "vietnamobile" else hubs_all[:1]  # the capital only
        dh = cKDTree(hubs).query(vxy)[0] / 1000.0
        score = dh * np.exp(0.25 * orng.standard_normal(n)) + 0.3 * remote
        score[white] = np.inf
        goal = round(p.coverage_target.get(op, 0.0) * n)
        finite = np.sort(np.unique(score[np.isfinite(score)]))
        best = None
        lo_i, hi_i = 0, len(finite) - 1
        for _ in range(14):
            if lo_i > hi_i:
                break
            mid = (lo_i + hi_i) // 2
            target = (score <= finite[mid]) | (forced & ~white)
            picked, st = _plan_operator(w, op, target, cand, cover, cand_village, n_sites,
                                        techs, internet,
                                        town_only=p.coverage_target.get(op, 0) < 0.15,
                                        priority=score)
            got = int(_reach(vis, picked, st, all_t, n).sum())
            logger.debug("%s: target %d villages, %d sites, reach %d (goal %d)", op,
                         int(target.sum()), len(picked), got, goal)
            if best is None or abs(got - goal) < abs(best[0] - goal):
                best = (got, picked, st)
            if got < goal:
                lo_i = mid + 1
            elif got > goal:
                hi_i = mid - 1
            else:
                break
        plans[op] = (best[1], best[2])
        achieved[op] = best[0]
        if op == "viettel":
            forced = ~_reach(vis, best[1], best[2], all_t, n) & ~white
    # internet: 3G/4G on the sites of the least remote villages, as many as the reported
    # share of villages with internet needs (2G is on every site, so the operators'
    # footprints above do not change)
    levels = np.sort(np.unique(rank[np.isfinite(rank)]))
    best_net = None
    lo_i, hi_i = 0, len(levels) - 1
    for _ in range(16):
        if lo_i > hi_i:
            break
        mid = (lo_i + hi_i) // 2
        core_v = rank <= levels[mid]
        reach = np.zeros(n, bool)
        trial = {}
        for op in OPS:
            picked, _st = plans[op]
            st = _assign_techs(core_v[cand_village[picked]],
                               dict(p.bts_by_operator_tech.get(op, {})))
            trial[op] = (picked, st)
            reach |= _reach(vis, picked, st, ("3G", "4G"), n)
        got = int(reach.sum())
        if best_net is None or abs(got - n_net) < abs(best_net[0] - n_net):
            best_net = (got, trial)
        if got < n_net:
            lo_i = mid + 1
        elif got > n_net:
            hi_i = mid - 1
        else:
            break
    if best_net is not None:
        plans = best_net[1]
        logger.debug("internet (3G/4G reach): %d villages (goal %d)", best_net[0], n_net)
    # sites → towers: merge the closest cross-operator pairs until the tower count fits
    site_op, site_xy, site_techs, site_village, site_cand = [], [], [], [], []
    for op in OPS:
        picked, st = plans[op]
        for j, t in zip(picked, st, strict=True):
            site_op.append(op)
            site_xy.append(cand[j])
            site_techs.append(t)
            site_village.append(int(cand_village[j]))
            site_cand.append(int(j))
    site_xy = np.asarray(site_xy).reshape(-1, 2)
    n_sites = len(site_xy)
    host = np.arange(n_sites)
    n_merge = max(0, n_sites - p.towers)
    if n_merge:
        ops_on: dict[int, set[str]] = {i: {site_op[i]} for i in range(n_sites)}
        is_guest = np.zeros(n_sites, bool)
        merged = 0
        tree = cKDTree(site_xy)
        for radius in (4000.0, 8000.0, 16000.0, 64000.0, 1e7):
            pairs = tree.query_pairs(r=radius, output_type="ndarray")
            if not len(pairs):
                continue
            dist = np.hypot(*(site_xy[pairs[:, 0]] - site_xy[pairs[:, 1]]).T)
            order = np.lexsort((pairs[:, 1], pairs[:, 0], dist))
            for k in order:
                if merged >= n_merge:
                    break
                a, b = int(pairs[k, 0]), int(pairs[k, 1])
                if site_op[a] == site_op[b] or is_guest[a] or is_guest[b]:
                    continue
                if site_op[b] in ops_on[a] or ops_on[b] != {site_op[b]}:
                    continue
                host[b] = a
                is_guest[b] = True
                ops_on[a].add(site_op[b])
                merged += 1
            if merged >= n_merge:
                break
        if merged < n_merge:
            logger.warning("could co-locate only %d of %d sites; %d towers instead of %d",
                           merged, n_merge, n_sites - merged, p.towers)
    # what the calibration model says of the final layout (guests sit on their host tower)
    final_cand = np.array([site_cand[int(host[i])] for i in range(n_sites)], dtype=np.int64)
    site_op_arr = np.asarray(site_op, dtype=object)
    achieved_final: dict[str, int] = {}
    any_all = np.zeros(n, bool)
    any_new = np.zeros(n, bool)
    for op in OPS:
        m = np.flatnonzero(site_op_arr == op)
        st = [site_techs[i] for i in m]
        r_all = _reach(vis, final_cand[m], st, all_t, n)
        r_new = _reach(vis, final_cand[m], st, ("3G", "4G"), n)
        achieved_final[op] = int(r_all.sum())
        achieved_final[f"{op}_3g4g"] = int(r_new.sum())
        any_all |= r_all
        any_new |= r_new
    achieved_final["any"] = int(any_all.sum())
    achieved_final["any_3g4g"] = int(any_new.sum())
    w.calibration["los_reach_3g4g"] = any_new
    w.calibration["achieved"] = achieved_final
    tower_of_site = {}
    hosts = [i for i in range(n_sites) if host[i] == i]
    for k, i in enumerate(hosts):
        tower_of_site[i] = k
    hrng = _rng(w.seed, "tower-attributes")
    grid_v = w.villages["has_grid_power"].to_numpy()
    trows = []
    for k, i in enumerate(hosts):
        x, y = site_xy[i]
        v = site_village[i]
        height = float(masts["height_m"][site_cand[i]])
        if grid_v[v]:
            power = "grid" if hrng.random() < 0.9 else "hybrid"
        else:
            power = hrng.choice(["solar", "diesel", "hybrid"], p=[0.5, 0.3, 0.2]).item()
        trows.append({"tower_id": f"{p.code}-T{k + 1:04d}", "height_m": height,
                      "owner": site_op[i], "power_source": power, "geometry": Point(x, y)})
    w.towers = gpd.GeoDataFrame(trows, geometry="geometry", crs=w.crs)
    brows = []
    for i in range(n_sites):
        t = tower_of_site[int(host[i])]
        tw = trows[t]
        xy = site_xy[int(host[i])]
        hc = site_cand[int(host[i])]  # guests share the host's mast (as calibrated)
        ant = float(masts["antenna_m"][hc])
        az0 = int(masts["az0"][hc])
        for tech in sorted(site_techs[i]):
            radio = p.radio_for(tech)
            eirp = (10 * math.log10(radio["tx_power_w"] * 1000) + radio["antenna_gain_dbi"]
                    - radio["feeder_loss_db"])
            brows.append({"tower_id": tw["tower_id"], "operator": site_op[i], "tech": tech,
                          "antenna_height_m": ant, **radio, "eirp_dbm": round(eirp, 2),
                          "azimuth_deg": f"{az0};{az0 + 120};{az0 + 240}",
                          "geometry": Point(*xy)})
    bts = gpd.GeoDataFrame(brows, geometry="geometry", crs=w.crs)
    bts.insert(0, "bts_id", [f"{p.code}-B{k + 1:05d}" for k in range(len(bts))])
    w.bts = bts
    w.calibration["calibrated_counts"] = achieved
    logger.info("towers: %d positions, %d BTS (%s)", len(w.towers), len(bts),
                ", ".join(f"{op} {int((bts.operator == op).sum())}" for op in OPS))


# -- fibre -----------------------------------------------------------------------------------
def build_fibre(w: World) -> None:
    p = w.preset
    rng = _rng(w.seed, "fibre")
    roads = w.roads
    lengths = roads.length.to_numpy()
    # network distance from the capital for every segment
    G = nx.Graph()
    starts = [tuple(np.round(c, 2)) for c in shapely.get_coordinates(
        shapely.get_point(roads.geometry.values, 0))]
    stops = [tuple(np.round(c, 2)) for c in shapely.get_coordinates(
        shapely.get_point(roads.geometry.values, -1))]
    for k, (a, b) in enumerate(zip(starts, stops, strict=True)):
        G.add_edge(a, b, length=float(lengths[k]))
    cap = tuple(np.round(w.district_seeds[0], 2))
    if cap not in G:
        nodes = np.array(list(G.nodes))
        cap = tuple(nodes[np.argmin(np.hypot(*(nodes - w.district_seeds[0]).T))])
    dist = nx.single_source_dijkstra_path_length(G, cap, weight="length")
    seg_d = np.array([min(dist.get(a, np.inf), dist.get(b, np.inf))
                      for a, b in zip(starts, stops, strict=True)])
    seg_d[~np.isfinite(seg_d)] = seg_d[np.isfinite(seg_d)].max() if np.isfinite(seg_d).any() else 0
    # no fibre within reach of a village without 3G/4G: those are the villages without
    # internet of the reports
    no_net = ~w.calibration.get("los_reach_3g4g", np.ones(len(w.villages), bool))
    allowed = np.ones(len(roads), bool)
    if no_net.any():
        far_xy = w.calibration["village_xy"][no_net]
        reach = DEFAULT.fibre_access_km * 1000.0 + 100.0
        tree = shapely.STRtree(shapely.points(far_xy))
        hit = tree.query(np.asarray(roads.geometry.values), predicate="dwithin", distance=reach)
        allowed[np.unique(hit[0])] = False
    # km per operator ∝ its sites, at most five cables (backbone, access) per road
    sites = np.array([p.sites_by_operator.get(op, 0) for op in OPS], float)
    want = p.cable_km * 1000.0 * sites / max(sites.sum(), 1)
    capm = 5.0 * float(lengths[allowed].sum())
    for _ in range(4):
        over = want > capm
        if not over.any():
            break
        spill = float((want[over] - capm).sum())
        want[over] = capm
        room = ~over & (want < capm)
        if room.any():
            want[room] += spill * want[room] / want[room].sum()
    hub_tree = cKDTree(w.district_seeds)
    mid = shapely.get_coordinates(shapely.line_interpolate_point(roads.geometry.values, 0.5,
                                                                 normalized=True))
    d_hub = hub_tree.query(mid)[0]
    rows = []
    for oi, op in enumerate(OPS):
        if want[oi] <= 0:
            continue
        noisy = seg_d * np.exp(0.35 * rng.standard_normal(len(seg_d)))
        order = np.argsort(noisy, kind="stable")
        order = order[allowed[order]]
        chosen: list[int] = []
        got = 0.0
        for _pass in range(5):
            for k in order:
                if got >= want[oi]:
                    break
                chosen.append(int(k))
                got += lengths[k]
        ch = np.asarray(chosen)
        # undergrounding in towns first, to the reported share of this operator's length
        under = np.zeros(len(ch), bool)
        acc = 0.0
        for r in np.argsort(d_hub[ch], kind="stable"):
            if acc >= p.underground_ratio * got:
                break
            under[r] = True
            acc += lengths[ch[r]]
        # one route per operator, cable, river and kind: merge consecutive segments
        cable = np.zeros(len(ch), int)
        seen: dict[int, int] = {}
        for r, k in enumerate(ch):
            cable[r] = seen.get(int(k), 0)  # the first, second … cable on this road
            seen[int(k)] = cable[r] + 1
        groups: dict[tuple, list[int]] = {}
        for r, k in enumerate(ch):
            riv = int(roads["_river"].iloc[int(k)])
            key = (cable[r], riv if riv >= 0 else -1 - int(k), bool(under[r]))
            groups.setdefault(key, []).append(int(k))
        for key in sorted(groups):
            segs = sorted(groups[key], key=lambda k: int(roads["_a"].iloc[k]))
            merged = shapely.line_merge(shapely.union_all(roads.geometry.values[segs])) \
                if len(segs) > 1 else roads.geometry.values[segs[0]]
            for part in shapely.get_parts(merged):
                rows.append({"operator": op, "kind": "underground" if key[2] else "aerial",
                             "geometry": part})
    fibre = gpd.GeoDataFrame(rows, geometry="geometry", crs=w.crs)
    fibre.insert(0, "route_id", [f"{p.code}-F{k + 1:05d}" for k in range(len(fibre))])
    w.fibre = fibre
    if "achieved" in w.calibration and len(fibre):
        vxy = w.calibration["village_xy"]
        tree = shapely.STRtree(fibre.geometry.values)
        hit = tree.query(shapely.points(vxy), predicate="dwithin",
                         distance=DEFAULT.fibre_access_km * 1000.0)
        near_fibre = np.zeros(len(vxy), bool)
        near_fibre[np.unique(hit[0])] = True
        net = near_fibre | w.calibration["los_reach_3g4g"]
        w.calibration["achieved"]["internet"] = int(net.sum())
        w.calibration["achieved"]["fibre"] = int(near_fibre.sum())
    lk = fibre.length / 1000
    logger.info("fibre: %d routes, %.0f km (%.1f %% underground)", len(fibre), lk.sum(),
                100 * lk[fibre.kind == "underground"].sum() / max(lk.sum(), 1e-9))


# -- post offices ----------------------------------------------------------------------------
def build_post_offices(w: World) -> None:
    p = w.preset
    rng = _rng(w.seed, "post")
    admin = w.admin
    dnames = admin.loc[admin.level == "district", "name"].tolist()
    cnames = admin.loc[admin.level == "commune", "name"].tolist()
    vil = w.villages
    vxy = w.calibration["village_xy"]
    pops = vil["population"].to_numpy()
    commune_pop = pd.Series(pops).groupby(vil["commune_code"].to_numpy()).sum()
    ccodes = w.calibration["commune_codes"]
    c_order = sorted(range(len(ccodes)), key=lambda i: -commune_pop.get(ccodes[i], 0))
    d_order = list(range(len(w.district_seeds)))

    def short(name: str) -> str:
        for pre in ("Thành phố ", "Thị xã ", "Huyện ", "Thị trấn ", "Phường ", "Xã "):
            if name.startswith(pre):
                return name[len(pre):]
        return name

    rows = []

    def put(kind: str, xy: np.ndarray, place: str, *, internet: bool, multi: bool,
            operator: str = "VNPost") -> None:
        off = rng.uniform(40, 250) * np.array([math.cos(a := rng.uniform(0, 2 * math.pi)),
                                               math.sin(a)])
        label = {"bdvhx": "Điểm BĐVHX", "dai_ly": "Đại lý bưu điện"}.get(
            kind, POST_OFFICE_KINDS[kind])
        rows.append({"name": f"{label} {place}", "kind": kind, "operator": operator,
                     "has_public_internet": internet, "multi_service": multi,
                     "geometry": Point(*(xy + off))})

    cap_xy = w.district_seeds[0]
    cap_name = short(p.district_names[0]) if p.district_names else p.name
    for k in range(p.post_offices.get("buu_cuc_cap_1", 0)):
        di = d_order[k % len(d_order)]
        put("buu_cuc_cap_1", w.district_seeds[di], short(dnames[di]), internet=True, multi=True)
    for k in range(p.post_offices.get("buu_cuc_cap_2", 0)):
        di = d_order[(k + 1) % len(d_order)] if len(d_order) > 1 else 0
        put("buu_cuc_cap_2", w.district_seeds[di], short(dnames[di]), internet=True, multi=True)
    for kind in ("kt1", "khach_hang_lon"):
        for _ in range(p.post_offices.get(kind, 0)):
            put(kind, cap_xy, cap_name, internet=True, multi=True)
    town_idx = set()
    for di in range(len(w.district_seeds)):
        town_idx.add(int(np.argmin(np.hypot(*(w.commune_seeds - w.district_seeds[di]).T))))
    c3 = [i for i in c_order if i not in town_idx] or c_order
    for k in range(p.post_offices.get("buu_cuc_cap_3", 0)):
        ci = c3[k % len(c3)]
        put("buu_cuc_cap_3", w.commune_seeds[ci], short(cnames[ci]), internet=True, multi=True)
    n_bd = p.post_offices.get("bdvhx", 0)
    shuffled = list(rng.permutation(len(ccodes)))
    for k in range(n_bd):
        if k < len(shuffled):
            ci = int(shuffled[k])
            xy, place = w.commune_seeds[ci], short(cnames[ci])
        else:
            vi = int(rng.integers(0, len(vxy)))
            xy, place = vxy[vi], vil["name"].iloc[vi]
        put("bdvhx", xy, place, internet=bool(rng.random() < 0.58),
            multi=bool(rng.random() < 0.64))
    n_dl = p.post_offices.get("dai_ly", 0)
    if n_dl:
        prob = pops / pops.sum()
        pick = rng.choice(len(vxy), size=min(n_dl, len(vxy)), replace=False, p=prob)
        for vi in pick:
            put("dai_ly", vxy[int(vi)], vil["name"].iloc[int(vi)], internet=False,
                multi=bool(rng.random() < 0.3),
                operator="VNPost" if rng.random() < 0.7 else "Viettel Post")
    po = gpd.GeoDataFrame(rows, geometry="geometry", crs=w.crs)
    po.insert(0, "po_id", [f"{p.code}-P{k + 1:04d}" for k in range(len(po))])
    w.post_offices = po
    logger.info("post offices: %d (%s)", len(po),
                ", ".join(f"{k} {v}" for k, v in po.kind.value_counts().sort_index().items()))
