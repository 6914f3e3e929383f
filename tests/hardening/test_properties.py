"""Property-based tests (hypothesis, derandomised) of the hardening invariants, on real code paths.

What the per-module tests already hold is not repeated here: rows in = accepted + rejected for
one towers/villages layer (``tests/layers/test_validate.py``), gap list = complement of
``phu`` on a hand-built status (``tests/analysis/test_gaps.py``), the optimiser within budget
against brute force (``tests/analysis/test_rollout_model.py``), and one EIRP example
(``tests/analysis/test_coverage.py``). This file adds:

* **validation never loses a row** over a *whole bundle* (the mini sample with random junk in
  every layer, incl. cross-layer rejections such as a BTS on a tower that was rejected);
* **coverage is monotone in EIRP and in antenna height** on random terrain (hills and ridges)
  with random site and village placements, through :func:`analysis.coverage.compute_coverage`
  (terrain model: the dBm field shifts by exactly the EIRP step; the covered area never
  shrinks) and :func:`analysis.coverage.site_village_matrix` (no village code drops);
* **gap lists are exactly the complement of the covered villages** for the real status of the
  mini sample at random analysis dates (2G/3G switch-offs change which technologies count);
* **the rollout never exceeds its budget** (nor its site cap) through
  :func:`analysis.rollout.plan.plan_rollout` on the mini sample, with random budgets, caps,
  lõm targets and solver time limits short enough to force the greedy fallback.
"""

from __future__ import annotations

import datetime as dt

import affine
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from phusong.analysis.coverage.engine import compute_coverage, site_village_matrix
from phusong.gis.crs import to_wgs84
from phusong.gis.dem import Dem
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import DEFAULT

OPERATORS = ("viettel", "vinaphone", "mobifone", "vietnamobile")
PROPS = settings(derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow,
                                        HealthCheck.function_scoped_fixture])

# -- coverage monotone in EIRP and antenna height -------------------------------------------
CRS = "EPSG:9205"
X0, Y0, RES = 480_000.0, 2_480_000.0, 30.0
N = 70  # 70 × 70 cells of 30 m: 2.1 km square
SET = DEFAULT.replace(as_of="2025-06-30")
TECHS = {"2G": 900.0, "3G": 2100.0, "4G": 1800.0}


def _terrain(seed: int) -> Dem:
    """Random hills and ridges over a 300 m floor (up to ~400 m relief)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:N, 0:N].astype(float)
    z = np.full((N, N), 300.0)
    for _ in range(rng.integers(1, 6)):
        cx, cy = rng.uniform(0, N, 2)
        sx, sy = rng.uniform(2, 25, 2)  # long thin shapes are ridges
        z += rng.uniform(-80, 250) * np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2))
    return Dem(z.astype(np.float32), affine.Affine(RES, 0, X0, 0, -RES, Y0 + N * RES), CRS)


def _xy(col: float, row: float) -> tuple[float, float]:
    return X0 + (col + 0.5) * RES, Y0 + N * RES - (row + 0.5) * RES


def _toy_bundle(site_cr, tech: str, height_m: float, eirp_dbm: float, villages_cr) -> ProvinceBundle:
    bts = gpd.GeoDataFrame(
        {"bts_id": ["B1"], "tower_id": ["T1"], "operator": ["viettel"], "tech": [tech],
         "band_mhz": [TECHS[tech]], "antenna_height_m": [height_m], "eirp_dbm": [eirp_dbm],
         "azimuths": [None]}, geometry=[Point(*_xy(*site_cr))], crs=CRS)
    n = len(villages_cr)
    villages = gpd.GeoDataFrame(
        {"village_id": [f"V{i}" for i in range(n)], "name": [f"Bản {i}" for i in range(n)],
         "commune_code": ["C1"] * n, "population": [100] * n, "households": [20] * n,
         "has_grid_power": [True] * n, "border_area": [False] * n,
         "extremely_difficult": [False] * n},
        geometry=[Point(*_xy(c, r)).buffer(90) for c, r in villages_cr], crs=CRS)
    outline = box(X0, Y0, X0 + N * RES, Y0 + N * RES)
    admin = gpd.GeoDataFrame(
        {"code": ["P", "D", "C1"], "name": ["Tỉnh", "Huyện", "Xã"],
         "level": ["province", "district", "commune"], "parent_code": [None, "P", "D"]},
        geometry=[outline] * 3, crs=CRS)
    return ProvinceBundle(layers={"bts": to_wgs84(bts), "villages": to_wgs84(villages),
                                  "admin_units": to_wgs84(admin)},
                          meta={"metric_epsg": "9205", "sample": "true"})


_cell = st.tuples(st.integers(5, N - 6), st.integers(5, N - 6))


@st.composite
def radio_cases(draw):
    return dict(seed=draw(st.integers(0, 2**31)), site=draw(_cell),
                tech=draw(st.sampled_from(sorted(TECHS))),
                height_m=draw(st.floats(5.0, 60.0)), eirp_dbm=draw(st.floats(25.0, 62.0)),
                villages=draw(st.lists(_cell, min_size=1, max_size=6)),
                d_eirp=draw(st.floats(0.5, 20.0)), d_height=draw(st.floats(1.0, 50.0)))


@settings(PROPS, max_examples=10)
@given(radio_cases())
def test_coverage_monotone_in_eirp_and_height(case):
    dem = _terrain(case["seed"])
    tech = case["tech"]
    args = (case["site"], tech)
    base = _toy_bundle(*args, case["height_m"], case["eirp_dbm"], case["villages"])
    louder = _toy_bundle(*args, case["height_m"], case["eirp_dbm"] + case["d_eirp"],
                         case["villages"])
    higher = _toy_bundle(*args, case["height_m"] + case["d_height"], case["eirp_dbm"],
                         case["villages"])
    # default physics: more power never covers less; the uplink may cap what it adds
    default = {}
    for key, b in (("base", base), ("louder", louder)):
        cov = compute_coverage(b, model="terrain", dem=dem, settings=SET)
        default[key] = (cov.best_dbm[("viettel", tech)], cov.covered("viettel", tech))
    a, b = default["base"][0], default["louder"][0]
    both = np.isfinite(a) & np.isfinite(b)
    assert np.all(b[both] - a[both] >= -2e-3)
    assert np.all(b[both] - a[both] <= case["d_eirp"] + 2e-3)
    assert not (default["base"][1] & ~default["louder"][1]).any()
    # without the uplink check and with the dominant edge (classic Deygout can jump by a few
    # dB when two edges swap rank as the mast rises), received power = EIRP − path loss moves
    # by the EIRP step, and a higher mast never covers less
    mono = SET.replace(uplink_check=False, diffraction="dominant")
    fields = {}
    for key, b in (("base", base), ("louder", louder), ("higher", higher)):
        cov = compute_coverage(b, model="terrain", dem=dem, settings=mono)
        fields[key] = (cov.best_dbm[("viettel", tech)], cov.covered("viettel", tech))
    a, b = fields["base"][0], fields["louder"][0]
    both = np.isfinite(a) & np.isfinite(b)
    assert (np.isfinite(a) <= np.isfinite(b)).all()
    np.testing.assert_allclose(b[both] - a[both], case["d_eirp"], atol=2e-3)
    for key in ("louder", "higher"):
        lost = fields["base"][1] & ~fields[key][1]
        assert not lost.any(), f"{key}: {int(lost.sum())} cells lost coverage"
    # the same for each village alone (site × village matrix: 0 trắng, 1 lõm, 2 phủ)
    sites = pd.concat([b.layers["bts"] for b in (base, louder, higher)], ignore_index=True)
    codes = site_village_matrix(sites, base.layers["villages"], dem=dem, settings=mono,
                                model="terrain").toarray()
    assert (codes[1] >= codes[0]).all() and (codes[2] >= codes[0]).all()


# -- the mini sample: validation, gap lists, rollout -----------------------------------------
@pytest.fixture(scope="module")
def mini(tiny_bundle):
    """The mini sample with its radius-model coverage (computed once)."""
    return tiny_bundle, compute_coverage(tiny_bundle, model="radius", settings=SET)


JUNK = [None, "", "  ", "abc", -1, -1e9, 1e12, float("nan"), "<img src=x onerror=alert(1)>",
        '=HYPERLINK("http://x")', "Không rõ", "VNPT", "LTE", "có", 0]


@settings(PROPS, max_examples=15)
@given(st.data())
def test_validation_never_loses_a_row_of_a_bundle(mini, data):
    from phusong.layers.validate import validate_bundle

    bundle, _ = mini
    layers = {}
    for name, gdf in bundle.layers.items():
        g = gdf.copy()
        g.index = [f"{name[:2]}{i}" for i in range(len(g))]  # a non-default index is kept
        n_bad = data.draw(st.integers(0, min(5, len(g))), label=f"{name} bad rows")
        for pos in data.draw(st.lists(st.integers(0, len(g) - 1), min_size=n_bad,
                                      max_size=n_bad), label=f"{name} rows"):
            what = data.draw(st.sampled_from(["cell", "geometry", "duplicate"]))
            if what == "cell":
                col = data.draw(st.sampled_from([c for c in g.columns if c != "geometry"]))
                g[col] = g[col].astype(object)
                g.iloc[pos, g.columns.get_loc(col)] = data.draw(st.sampled_from(JUNK))
            elif what == "geometry":
                g.iloc[pos, g.columns.get_loc("geometry")] = data.draw(st.sampled_from(
                    [None, Point(), Point(22.4, 103.3), Point(105.8, 21.0)]))
            elif len(g) > 1:  # repeat the first row's id
                id_col = g.columns[0]
                g.iloc[pos, g.columns.get_loc(id_col)] = g.iloc[0][id_col]
        layers[name] = gpd.GeoDataFrame(g, geometry="geometry", crs=gdf.crs)
    broken = ProvinceBundle(layers=layers, meta=dict(bundle.meta))
    results = validate_bundle(broken)
    assert set(results) == set(layers)
    for name, r in results.items():
        assert r.rows_in == len(layers[name]) == r.n_accepted + r.n_rejected, name
        kept = list(map(str, r.accepted.index)) + list(map(str, r.rejected.index))
        assert sorted(kept) == sorted(layers[name].index), name
        assert r.rejected["reject_reason"].astype(str).str.len().gt(0).all(), name


@settings(PROPS, max_examples=8)
@given(st.dates(dt.date(2024, 1, 1), dt.date(2029, 12, 31)))
def test_gap_lists_are_the_complement_of_covered(mini, as_of):
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.tables.gaps import gap_list

    bundle, cov = mini
    at = SET.replace(as_of=as_of.isoformat())
    status = village_status(bundle, cov, settings=at)
    all_ids = set(bundle.layers["villages"]["village_id"])
    for op in OPERATORS:
        g = gap_list(bundle, status, op, settings=at, model="radius")
        gaps = list(g["village_id"])
        covered = set(status.index[status[f"status_{op}"] == "phu"])
        assert len(gaps) == len(set(gaps)), op  # no village twice
        assert set(gaps).isdisjoint(covered), op
        assert set(gaps) | covered == all_ids, op  # no village lost
        assert set(g["status"]) <= {"trang", "lom"}, op


@settings(PROPS, max_examples=6)
@given(budget=st.floats(0.0, 40e9), max_sites=st.one_of(st.none(), st.integers(0, 4)),
       include_lom=st.booleans(), time_limit_s=st.sampled_from([None, 1e-6]))
def test_rollout_never_exceeds_its_budget(mini, budget, max_sites, include_lom, time_limit_s):
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.rollout.plan import plan_rollout

    bundle, cov = mini
    at = SET.replace(as_of="2027-06-30")  # after the 2G switch-off: white villages exist
    status = village_status(bundle, cov, settings=at)
    plan = plan_rollout(bundle, status, budget_vnd=budget, max_sites=max_sites,
                        include_lom=include_lom, settings=at, coverage_model="radius",
                        time_limit_s=time_limit_s)
    spent = float(plan.sites["cost_vnd"].sum()) if len(plan.sites) else 0.0
    assert spent <= budget * (1 + 1e-9) + 1e-6
    if max_sites is not None:
        assert len(plan.sites) <= max_sites
    assert plan.report["cost_vnd"] == pytest.approx(spent, rel=1e-9, abs=1e-6)
    if len(plan.sites):
        assert plan.sites["cumulative_cost_vnd"].iloc[-1] == pytest.approx(spent)
        assert plan.sites["cumulative_cost_vnd"].is_monotonic_increasing
    # every credited village is a target, credited once
    credited = plan.site_villages
    if "credited" in credited:
        credited = credited[credited["credited"].astype(bool)]
    assert credited["village_id"].is_unique
    assert set(credited["village_id"]) <= set(plan.classes["village_id"])
    assert pd.Series(plan.sites["population_covered"]).ge(0).all()
