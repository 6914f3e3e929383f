"""Service radius: the official indicator and per-site Voronoi and effective radii.

Official indicator
------------------
For an area S (km²) served by N sites or postal points, the mean service radius is
``R = √(S / (π·N))`` km and the people served per point ``P / N`` (P: population). It is the
radius of N equal discs that together cover S. The seeds use it for postal points (Điện Biên
2023: 180 points → 4.12 km, 3 598 people/point; Lạng Sơn 2021: 268 points → 3.2 km, 3 025
people/point) and for tower positions (Lai Châu 2022: "4,7 km/cột", which the formula does not
reproduce from its 855 tower positions — it gives 1.84 km on 9 069 km²; the report does not
say how it was computed).

:func:`service_radius_table` evaluates it for the province, every district and every commune
(areas from the ``admin_units`` polygons in the metric CRS, population summed from the
villages, points counted inside each polygon) for three kinds of point: tower positions
(``towers``), BTS (``bts`` rows) and postal points (``post_offices``).

Per site
--------
:func:`site_radii` gives for each tower position

* ``voronoi_radius_km`` — the equivalent radius √(A/π) of its Voronoi cell clipped to the
  province (towers at the same position share one cell, split equally);
* ``nominal_radius_km`` — the radius-model radius of the best technology on it
  (``settings.radius_m``);
* ``effective_radius_km`` — √(A_eff/π) where A_eff is the area, inside the tower's Voronoi
  cell, that the tower's **own** signal covers: any of its BTS of a technology in service at
  the analysis date at or above the threshold, by the coverage result's model (terrain: the
  point-to-point kernel with the same link budget; radius: the disc). Signal of other towers
  does not count. The area is counted on a square lattice of points (``lattice_m``, 150 m)
  clipped to the cell. This is "what the tower really serves" in its own cell; the ratio to
  the Voronoi radius shows how much of its nominal share of the province is really covered
  (terrain shadows, valleys).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

from phusong.analysis.coverage.engine import CoverageResult
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import parse_operator
from phusong.layers.settings import DEFAULT, Settings, in_service_techs

logger = logging.getLogger(__name__)

__all__ = [
    "KINDS",
    "people_per_point",
    "postal_radii",
    "service_radius_km",
    "service_radius_table",
    "site_radii",
]

#: point kind → bundle layer
KINDS = {"tower": "towers", "bts": "bts", "post": "post_offices"}


def service_radius_km(area_km2: float, n_points: int) -> float:
    """The official mean service radius R = √(S / (π·N)) in km (NaN when N = 0)."""
    if n_points <= 0:
        return float("nan")
    return math.sqrt(float(area_km2) / (math.pi * n_points))


def people_per_point(population: float, n_points: int) -> float:
    """People served per point, P / N (NaN when N = 0)."""
    if n_points <= 0:
        return float("nan")
    return float(population) / n_points


def _province_shape(bundle: ProvinceBundle) -> Any:
    admin = bundle.to_metric("admin_units")
    if len(admin):
        prov = admin[admin["level"] == "province"]
        src = prov if len(prov) else admin
        return shapely.union_all(src.geometry.to_numpy())
    vil = bundle.to_metric("villages")
    return shapely.union_all(vil.geometry.to_numpy()).convex_hull


def _village_population(bundle: ProvinceBundle) -> pd.Series:
    vil = bundle.layer("villages")
    return pd.to_numeric(vil["population"]).groupby(vil["commune_code"].astype(str)).sum()


def service_radius_table(bundle: ProvinceBundle, *, settings: Settings = DEFAULT) -> pd.DataFrame:
    """The official service radius per province/district/commune and point kind.

    Returns
    -------
    pandas.DataFrame
        One row per unit × kind: ``level``, ``code``, ``name``, ``kind`` (``tower``, ``bts``,
        ``post``), ``area_km2``, ``population``, ``n_points``, ``radius_km``,
        ``people_per_point``.
    """
    admin = bundle.to_metric("admin_units")
    pop_commune = _village_population(bundle)
    units: list[tuple[str, str, str, Any, float]] = []
    total_pop = float(pop_commune.sum())
    if len(admin):
        parent = dict(zip(admin["code"].astype(str), admin["parent_code"], strict=True))
        pop_district: dict[str, float] = {}
        for c, p in pop_commune.items():
            d = parent.get(c)
            if d is not None:
                pop_district[str(d)] = pop_district.get(str(d), 0.0) + float(p)
        for level in ("province", "district", "commune"):
            rows = admin[admin["level"] == level].sort_values("code")
            for _, r in rows.iterrows():
                code = str(r["code"])
                pop = (total_pop if level == "province" else pop_district.get(code, 0.0)
                       if level == "district" else float(pop_commune.get(code, 0.0)))
                units.append((level, code, r["name"], r.geometry, pop))
        if not any(u[0] == "province" for u in units):
            units.insert(0, ("province", "", bundle.province, _province_shape(bundle), total_pop))
    else:
        units.append(("province", "", bundle.province, _province_shape(bundle), total_pop))
    rows_out = []
    for kind, layer in KINDS.items():
        pts = bundle.to_metric(layer)
        geoms = pts.geometry.to_numpy() if len(pts) else np.array([], dtype=object)
        tree = shapely.STRtree(geoms) if len(geoms) else None
        for level, code, name, shape, pop in units:
            n = 0
            if tree is not None and shape is not None:
                n = len(tree.query(shape, predicate="intersects"))
            area = float(shape.area) / 1e6 if shape is not None else float("nan")
            rows_out.append({"level": level, "code": code, "name": name, "kind": kind,
                             "area_km2": round(area, 3), "population": round(pop),
                             "n_points": int(n),
                             "radius_km": round(service_radius_km(area, n), 3),
                             "people_per_point": round(people_per_point(pop, n), 1)})
    out = pd.DataFrame(rows_out)
    prov = out[out["level"] == "province"]
    logger.info("service radius (province): %s", ", ".join(
        f"{r.kind} {r.radius_km:.2f} km, {r.people_per_point:.0f} people/point"
        for r in prov.itertuples()))
    return out


def _voronoi_cells(xy: np.ndarray, clip: Any) -> np.ndarray:
    """Voronoi cell of each point (duplicates share theirs), clipped to ``clip``."""
    uniq, inverse = np.unique(np.round(xy, 3), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    if len(uniq) == 1:
        cells_u = np.array([clip], dtype=object)
    else:
        coll = shapely.voronoi_polygons(shapely.multipoints(uniq), extend_to=clip, ordered=True)
        cells_u = np.array(shapely.get_parts(coll), dtype=object)
        if len(cells_u) != len(uniq):  # GEOS could not keep the order: match by containment
            tree = shapely.STRtree(cells_u)
            idx = tree.query(shapely.points(uniq), predicate="intersects")
            matched = np.empty(len(uniq), dtype=object)
            for p, c in zip(idx[0], idx[1], strict=True):
                if matched[p] is None:
                    matched[p] = cells_u[c]
            cells_u = matched
    cells_u = shapely.intersection(cells_u, clip)
    return cells_u[inverse]


def site_radii(bundle: ProvinceBundle, *, coverage: CoverageResult | None = None,
               settings: Settings = DEFAULT, lattice_m: float = 150.0) -> pd.DataFrame:
    """Per tower position: Voronoi, nominal and effective radius (see the module docstring).

    Parameters
    ----------
    bundle
        The province bundle.
    coverage
        A :class:`analysis.coverage.CoverageResult`; without it the effective columns are NaN.
    settings
        Radius-model radii, the link budget and the analysis date.
    lattice_m
        Spacing of the points the effective area is counted on.

    Returns
    -------
    pandas.DataFrame
        One row per tower (index of the towers layer): ``site_id``, ``operator`` (operators on
        the tower, comma-separated), ``voronoi_area_km2``, ``voronoi_radius_km``,
        ``nominal_radius_km``, ``effective_area_km2``, ``effective_radius_km``,
        ``effective_to_nominal`` (effective / Voronoi radius).
    """

    towers = bundle.to_metric("towers")
    cols = ["site_id", "operator", "voronoi_area_km2", "voronoi_radius_km",
            "nominal_radius_km", "effective_area_km2", "effective_radius_km",
            "effective_to_nominal"]
    if len(towers) == 0:
        return pd.DataFrame(columns=cols)
    xy = np.column_stack([towers.geometry.x, towers.geometry.y])
    clip = _province_shape(bundle)
    cells = _voronoi_cells(xy, clip)
    _, inverse, counts = np.unique(np.round(xy, 3), axis=0, return_inverse=True,
                                   return_counts=True)
    share = 1.0 / counts[inverse.ravel()]
    area_km2 = shapely.area(cells) / 1e6 * share
    bts = bundle.layer("bts")
    live = set(in_service_techs(settings))
    ops_at: dict[str, set[str]] = {}
    nominal: dict[str, float] = {}
    for r in pd.DataFrame(bts.drop(columns=bts.geometry.name)).itertuples():
        tid = str(r.tower_id)
        op = parse_operator(r.operator).value
        if r.tech in live:
            ops_at.setdefault(tid, set()).add(op)
            nominal[tid] = max(nominal.get(tid, 0.0), settings.radius_m(r.tech, r.band_mhz))
    tids = towers["tower_id"].astype(str).to_numpy()
    eff = np.full(len(towers), np.nan)
    if coverage is not None:
        eff = _effective_areas_km2(bundle, cells, tids, coverage, live, settings,
                                   lattice_m) * share
    out = pd.DataFrame({
        "site_id": tids,
        "operator": [", ".join(sorted(ops_at.get(t, ()))) for t in tids],
        "voronoi_area_km2": np.round(area_km2, 3),
        "voronoi_radius_km": np.round(np.sqrt(area_km2 / math.pi), 3),
        "nominal_radius_km": [round(nominal[t] / 1000, 3) if t in nominal else np.nan
                              for t in tids],
        "effective_area_km2": np.round(eff, 3),
        "effective_radius_km": np.round(np.sqrt(eff / math.pi), 3),
    }, index=towers.index)  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        out["effective_to_nominal"] = np.round(out["effective_radius_km"]
                                               / out["voronoi_radius_km"], 3)
    logger.info("site radii for %d towers: median Voronoi %.2f km, median effective %s km",
                len(out), float(out["voronoi_radius_km"].median()),
                f"{out['effective_radius_km'].median():.2f}" if coverage is not None else "n/a")
    return out


def _effective_areas_km2(bundle: Any, cells: np.ndarray, tids: np.ndarray, coverage: Any,
                         live: set[str], settings: Settings, lattice_m: float) -> np.ndarray:
    """Area (km²) of each Voronoi cell its own tower's in-service BTS cover (lattice count)."""
    from phusong.analysis.coverage.engine import own_coverage

    crs = coverage.grid.crs
    bts = bundle.layer("bts")
    bts = bts[bts["tech"].astype(str).isin(live)
              & bts["tower_id"].astype(str).isin(set(tids))].reset_index(drop=True)
    out = np.zeros(len(cells))
    if not len(bts):
        return out
    by_tower: dict[str, list[int]] = {}
    for j, t in enumerate(bts["tower_id"].astype(str)):
        by_tower.setdefault(t, []).append(j)
    px, py, site, owner = [], [], [], []
    for i, (cell, t) in enumerate(zip(cells, tids, strict=True)):
        if cell is None or cell.is_empty or t not in by_tower:
            continue
        x0, y0, x1, y1 = cell.bounds
        gx, gy = np.meshgrid(np.arange(x0 + lattice_m / 2, x1, lattice_m),
                             np.arange(y0 + lattice_m / 2, y1, lattice_m))
        gx, gy = gx.ravel(), gy.ravel()
        inside = shapely.contains_xy(cell, gx, gy)
        gx, gy = gx[inside], gy[inside]
        for j in by_tower[t]:
            px.append(gx)
            py.append(gy)
            site.append(np.full(len(gx), j))
            owner.append(np.full(len(gx), i))
    if not px:
        return out
    x = np.concatenate(px)
    y = np.concatenate(py)
    pair = np.concatenate(site)
    own = np.concatenate(owner)
    dem = bundle.dem_path if coverage.model == "terrain" else None
    cov = own_coverage(bts, x, y, pair, crs=crs, model=coverage.model, dem=dem,
                       settings=settings)
    # a lattice point counts once per tower, whichever of its BTS covers it
    key = pd.DataFrame({"owner": own, "x": x, "y": y, "c": cov})
    hit = key[key["c"]].drop_duplicates(["owner", "x", "y"])
    counts = np.bincount(hit["owner"].to_numpy(), minlength=len(cells))
    return counts * (lattice_m * lattice_m) / 1e6


def postal_radii(bundle: ProvinceBundle) -> pd.DataFrame:
    """Per postal point: its Voronoi cell (clipped to the province) and equivalent radius.

    Returns
    -------
    pandas.DataFrame
        Index of the ``post_offices`` layer: ``site_id``, ``kind``, ``voronoi_area_km2``,
        ``voronoi_radius_km``.
    """
    po = bundle.to_metric("post_offices")
    cols = ["site_id", "kind", "voronoi_area_km2", "voronoi_radius_km"]
    if len(po) == 0:
        return pd.DataFrame(columns=cols)
    xy = np.column_stack([po.geometry.x, po.geometry.y])
    cells = _voronoi_cells(xy, _province_shape(bundle))
    _, inverse, counts = np.unique(np.round(xy, 3), axis=0, return_inverse=True,
                                   return_counts=True)
    area = shapely.area(cells) / 1e6 / counts[inverse.ravel()]
    return pd.DataFrame({"site_id": po["po_id"].astype(str).to_numpy(),
                         "kind": po["kind"].astype(str).to_numpy(),
                         "voronoi_area_km2": np.round(area, 3),
                         "voronoi_radius_km": np.round(np.sqrt(area / math.pi), 3)},
                        index=po.index)
