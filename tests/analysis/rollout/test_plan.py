"""Rollout from a toy province: candidates, costs, the plan, its outputs and the CLI.

The toy province is built here (a 20 km square in VN-2000 TM-3 103°, synthetic hills, a
fibre route along a road); the optimiser itself is tested on tiny matrices in
test_rollout_model.py.
"""

from __future__ import annotations

import json

import affine
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from phusong.analysis.rollout.candidates import (
    candidate_coverage,
    cluster_villages,
    dem_high_points,
    generate_candidates,
)
from phusong.analysis.rollout.costs import candidate_costs
from phusong.analysis.rollout.model import BudgetedMaxCover, brute_force
from phusong.analysis.rollout.outputs import report_lines, write_rollout
from phusong.analysis.rollout.plan import plan_rollout, village_weights
from phusong.gis.dem import Dem
from phusong.gis.errors import InputError, OutputExistsError
from phusong.gis.roads import graph_from_roads
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import DEFAULT, default_eirp_dbm

METRIC = "EPSG:9205"
X0, Y0 = 480_000.0, 2_430_000.0
HILLS = [(6000, 14000, 1200, 2500), (14000, 6000, 900, 2000), (10000, 10000, 700, 1500),
         (3000, 4000, 500, 1200)]


def _dem(res_m: float = 100.0, n: int = 200) -> Dem:
    xs = X0 + (np.arange(n) + 0.5) * res_m
    ys = Y0 + n * res_m - (np.arange(n) + 0.5) * res_m
    gx, gy = np.meshgrid(xs, ys)
    z = np.full(gx.shape, 400.0)
    for cx, cy, h, s in HILLS:
        z += h * np.exp(-((gx - X0 - cx) ** 2 + (gy - Y0 - cy) ** 2) / (2 * s * s))
    tr = affine.Affine(res_m, 0, X0, 0, -res_m, Y0 + n * res_m)
    return Dem(elevation_m=z.astype(np.float32), transform=tr, crs=METRIC)


def _bundle(seed: int = 0, n_villages: int = 30):
    rng = np.random.default_rng(seed)
    vx = X0 + rng.uniform(1000, 19000, n_villages)
    vy = Y0 + rng.uniform(1000, 19000, n_villages)
    polys = gpd.GeoSeries([Point(x, y) for x, y in zip(vx, vy, strict=True)],
                          crs=METRIC).buffer(250)
    villages = gpd.GeoDataFrame({
        "village_id": [f"v{i:03d}" for i in range(n_villages)],
        "name": [f"Bản Nà {i}" for i in range(n_villages)],
        "commune_code": [f"c{i % 4}" for i in range(n_villages)],
        "population": rng.integers(80, 900, n_villages),
        "households": rng.integers(20, 200, n_villages),
        "has_grid_power": rng.random(n_villages) < 0.8,
        "border_area": rng.random(n_villages) < 0.4,
        "extremely_difficult": rng.random(n_villages) < 0.6,
    }, geometry=polys, crs=METRIC).to_crs("EPSG:4326")
    tx = X0 + np.array([2000.0, 10000.0, 18000.0, 9000.0])
    ty = Y0 + np.array([2000.0, 12000.0, 3000.0, 18500.0])
    towers = gpd.GeoDataFrame({
        "tower_id": ["t1", "t2", "t3", "t4"], "height_m": [30.0, 40.0, 45.0, 35.0],
        "owner": ["viettel", "vinaphone", "viettel", "mobifone"],
        "power_source": ["grid", "grid", "solar", "grid"]},
        geometry=[Point(x, y) for x, y in zip(tx, ty, strict=True)],
        crs=METRIC).to_crs("EPSG:4326")
    fibre = gpd.GeoDataFrame(
        {"route_id": ["f1"], "operator": ["viettel"], "kind": ["aerial"]},
        geometry=[LineString([(X0, Y0 + 2000), (X0 + 20000, Y0 + 2000)])],
        crs=METRIC).to_crs("EPSG:4326")
    roads = gpd.GeoDataFrame({"highway": ["primary", "track", "track"]}, geometry=[
        LineString([(X0, Y0 + 2100), (X0 + 20000, Y0 + 2100)]),
        LineString([(X0 + 10000, Y0 + 2100), (X0 + 10000, Y0 + 19000)]),
        LineString([(X0 + 1000, Y0 + 10000), (X0 + 19000, Y0 + 10000)])],
        crs=METRIC).to_crs("EPSG:4326")
    bundle = ProvinceBundle(layers={"villages": villages, "towers": towers,
                                    "fibre_routes": fibre, "roads": roads},
                            meta={"metric_epsg": "9205", "sample": "true",
                                  "province": "Tỉnh thử"})
    draw = rng.random(n_villages)
    any_ = np.where(draw < 0.7, "trang", np.where(draw < 0.85, "lom", "phu"))
    # the broadband target (default) reads the per-technology columns: same as any here
    status = pd.DataFrame(
        {"status_any": any_, "status_any_2G": any_, "status_any_3G": any_,
         "status_any_4G": any_, "status_any_5G": "trang"},
        index=pd.Index(villages["village_id"], name="village_id"))
    return bundle, status


@pytest.fixture(scope="module")
def toy():
    return _bundle()


@pytest.fixture(scope="module")
def dem():
    return _dem()


@pytest.fixture(scope="module")
def plan_radius(toy):
    bundle, status = toy
    return plan_rollout(bundle, status, budget_vnd=12e9, coverage_model="radius")


# -- candidates -------------------------------------------------------------------------------
def test_cluster_villages_single_linkage():
    xy = np.array([[0, 0], [900, 0], [1800, 0], [10_000, 0], [10_500, 0], [50_000, 0]], float)
    assert list(cluster_villages(xy, link_m=1000)) == [0, 0, 0, 1, 1, 2]
    assert len(cluster_villages(np.zeros((0, 2)), link_m=1000)) == 0


def test_dem_high_points_find_hill_tops(dem):
    vxy = np.array([[X0 + 6500, Y0 + 13000], [X0 + 13000, Y0 + 6500]])
    hp = dem_high_points(dem, vxy, np.array([0, 1]), per_cluster=2, reach_m=4000,
                         min_separation_m=1000)
    top = hp.groupby("cluster").first()
    assert np.hypot(top.loc[0, "x"] - (X0 + 6000), top.loc[0, "y"] - (Y0 + 14000)) < 150
    assert np.hypot(top.loc[1, "x"] - (X0 + 14000), top.loc[1, "y"] - (Y0 + 6000)) < 150
    assert (hp.groupby("cluster").size() <= 2).all()
    assert (hp["village_distance_m"] <= 4000).all()
    for _, g in hp.groupby("cluster"):
        if len(g) == 2:
            assert np.hypot(*np.diff(g[["x", "y"]].to_numpy(), axis=0)[0]) >= 1000


def test_generate_candidates_kinds(toy, dem):
    bundle, _ = toy
    targets = bundle["villages"].iloc[:8]
    cands = generate_candidates(targets, towers=bundle["towers"], dem=dem,
                                settings=DEFAULT.replace(candidates_per_cluster=2))
    assert cands.crs.to_epsg() == 9205
    kinds = cands["kind"].value_counts()
    assert kinds["village_centre"] == 8
    assert kinds.get("high_point", 0) >= 1
    assert cands["candidate_id"].is_unique
    shared = cands[cands["kind"] == "tower"]
    assert (shared["site_type"] == "shared").all()
    # a shared tower's antenna sits at the tower's height; new masts at mast_height_m
    heights = dict(zip(bundle["towers"]["tower_id"], bundle["towers"]["height_m"], strict=True))
    assert all(h == heights[t] for t, h in zip(shared["tower_id"], shared["antenna_height_m"],
                                               strict=True))
    assert (cands.loc[cands["site_type"] == "new", "antenna_height_m"] == 35.0).all()
    assert set(cands[["tech", "band_mhz", "eirp_dbm"]].itertuples(index=False)) == {
        ("4G", 900.0, default_eirp_dbm("4G"))}
    with pytest.raises(InputError, match="pass crs"):
        generate_candidates(targets)


def test_candidate_covers_its_own_village_radius(toy):
    bundle, _ = toy
    targets = bundle["villages"].iloc[:5]
    cands = generate_candidates(targets, crs=METRIC, include_towers=False)
    cov = candidate_coverage(cands, targets, model="radius").toarray()
    assert cov.dtype == bool
    assert np.diag(cov[:5, :5]).all()


# -- costs ------------------------------------------------------------------------------------
def _cand(points, site_type="new", tower_id=None, height=35.0):
    n = len(points)
    return gpd.GeoDataFrame({
        "candidate_id": [f"c{i}" for i in range(n)], "site_type": site_type,
        "tower_id": tower_id if tower_id is not None else [None] * n,
        "antenna_height_m": height,
        "x": [p[0] for p in points], "y": [p[1] for p in points]},
        geometry=[Point(p) for p in points], crs=METRIC)


def test_costs_fibre_along_roads_and_power(toy):
    bundle, _ = toy
    villages = bundle["villages"].copy()
    # candidate 5 km up the north road from the fibre; the nearest village decides power
    pts = [(X0 + 10000, Y0 + 7000), (X0 + 10200, Y0 + 7000)]
    cands = _cand(pts)
    near = np.argmin(villages.to_crs(METRIC).distance(Point(pts[0])).to_numpy())
    graph = graph_from_roads(bundle.to_metric("roads"))
    s = DEFAULT
    c = candidate_costs(cands, villages=villages, towers=None, fibre=bundle["fibre_routes"],
                        road_graph=graph, settings=s)
    # fibre at y=2000, road at y=2100: 100 m to the road, 4900 m up it, 0 m off-road
    assert c.loc[0, "fibre_km"] == pytest.approx(5.0, abs=0.01)
    assert c.loc[0, "fibre_route"] == "road"
    # 200 m east of the road: + 200 m access leg
    assert c.loc[1, "fibre_km"] == pytest.approx(5.2, abs=0.01)
    assert c.loc[0, "cost_backhaul_vnd"] == pytest.approx(5.0 * s.cost_fibre_per_km_vnd,
                                                          rel=1e-3)
    grid = bool(villages["has_grid_power"].iloc[near])
    assert c.loc[0, "power"] == ("grid" if grid else "solar")
    assert c.loc[0, "cost_tower_vnd"] == s.cost_tower_vnd
    assert c.loc[0, "opex_vnd"] == s.opex_per_year_vnd * s.opex_years
    total = c.loc[0, ["cost_tower_vnd", "cost_equipment_vnd", "cost_power_vnd",
                      "cost_backhaul_vnd", "opex_vnd"]].sum()
    assert c.loc[0, "total_cost_vnd"] == pytest.approx(total, abs=1)
    # without roads: straight line to the fibre
    c2 = candidate_costs(cands, villages=villages, fibre=bundle["fibre_routes"], settings=s)
    assert c2.loc[0, "fibre_km"] == pytest.approx(5.0, abs=0.01)
    assert c2.loc[0, "fibre_route"] == "straight"


def test_costs_shared_tower(toy):
    bundle, _ = toy
    towers = bundle["towers"]
    tm = towers.to_crs(METRIC)
    pts = list(zip(tm.geometry.x, tm.geometry.y, strict=True))
    cands = _cand(pts, site_type="shared", tower_id=list(towers["tower_id"]))
    c = candidate_costs(cands, villages=bundle["villages"], towers=towers,
                        fibre=bundle["fibre_routes"], settings=DEFAULT)
    assert (c["cost_tower_vnd"] == DEFAULT.cost_colocation_vnd).all()
    assert (c["cost_power_vnd"] == 0).all() and (c["power"] == "existing").all()
    # t1 (y=2000 m) and t3 (y=3000 m) lie within 2 km of the fibre: nothing to add
    assert list(c["backhaul"].iloc[[0, 2]]) == ["existing", "existing"]
    assert (c["cost_backhaul_vnd"].iloc[[0, 2]] == 0).all()
    assert c["backhaul"].iloc[1] in ("fibre", "microwave")


def test_costs_microwave_hop_needs_fresnel_clearance(toy):
    """A far candidate takes a microwave hop to a fibre-fed tower over flat ground, and
    falls back to fibre when a ridge blocks every path (gis.links over the DEM)."""
    bundle, _ = toy
    flat = _dem()
    flat.elevation_m[:] = 400.0
    cands = _cand([(X0 + 10000, Y0 + 19000)])
    kw = dict(villages=bundle["villages"], towers=bundle["towers"],
              fibre=bundle["fibre_routes"], settings=DEFAULT)
    c = candidate_costs(cands, dem=flat, **kw)
    assert c.loc[0, "backhaul"] == "microwave"
    assert c.loc[0, "cost_backhaul_vnd"] == DEFAULT.cost_microwave_hop_vnd
    # fibre-fed towers: t1 (y=2000) and t3 (y=3000); t3 is the nearer
    assert c.loc[0, "microwave_tower_id"] == "t3"
    assert c.loc[0, "microwave_km"] == pytest.approx(np.hypot(8000, 16000) / 1000, abs=0.01)
    ridge = _dem()
    ridge.elevation_m[:] = 400.0
    ridge.elevation_m[95:105, :] = 2500.0  # an east-west wall at y ≈ 10 km
    c = candidate_costs(cands, dem=ridge, **kw)
    assert c.loc[0, "backhaul"] == "fibre"
    assert c.loc[0, "microwave_tower_id"] is None
    # beyond microwave_max_km there is no hop either
    c = candidate_costs(cands, dem=flat, **{**kw, "settings": DEFAULT.replace(
        microwave_max_km=10.0)})
    assert c.loc[0, "backhaul"] == "fibre"


# -- plan -------------------------------------------------------------------------------------
def test_plan_is_optimal_and_consistent(plan_radius):
    plan = plan_radius
    r = plan.report
    assert r["status"] == "Optimal" and r["gap"] == pytest.approx(0, abs=1e-9)
    assert r["cost_vnd"] <= 12e9
    assert r["greedy_objective"] <= r["objective"] + 1e-6
    # the same instance by brute force
    weights = plan.villages["weight"].to_numpy()
    prob = BudgetedMaxCover.from_matrix(plan.coverage, weights,
                                        plan.candidates["total_cost_vnd"].to_numpy(),
                                        budget=12e9)
    if prob.n_sites <= 16:
        best, _ = brute_force(prob)
        assert r["objective"] == pytest.approx(best, rel=1e-9)
    sites = plan.sites
    assert list(sites["rank"]) == list(range(1, len(sites) + 1))
    assert sites["cumulative_cost_vnd"].is_monotonic_increasing
    assert sites["cumulative_cost_vnd"].iloc[-1] == pytest.approx(sites["cost_vnd"].sum())
    assert sites["population_covered"].sum() == r["population_covered"]
    assert sites["villages_covered"].sum() == r["villages_covered"] == plan.villages[
        "covered"].sum()
    credited = plan.site_villages[plan.site_villages["credited"]]
    assert credited["village_id"].is_unique
    assert set(credited["village_id"]) == set(plan.villages.loc[plan.villages["covered"],
                                                                "village_id"])
    assert plan.curve["cumulative_population"].is_monotonic_increasing
    assert plan.curve.iloc[0]["cumulative_cost_vnd"] == 0
    assert sites.crs.to_epsg() == 4326
    assert plan.is_sample and plan.class_counts.loc["total", "villages"] == len(plan.classes)


def test_weights(toy):
    bundle, _ = toy
    v = bundle["villages"].iloc[:6]
    s = DEFAULT.replace(weight_border=2.0, weight_difficult=3.0)
    w = village_weights(v, settings=s)
    expect = (v["population"] * np.where(v["border_area"], 2.0, 1.0)
              * np.where(v["extremely_difficult"], 3.0, 1.0))
    np.testing.assert_allclose(w, expect)


def test_plan_max_sites_fixed_and_zero_budget(toy):
    bundle, status = toy
    one = plan_rollout(bundle, status, budget_vnd=50e9, max_sites=1, coverage_model="radius")
    assert len(one.sites) == 1
    fixed = plan_rollout(bundle, status, budget_vnd=50e9, coverage_model="radius",
                         fixed_sites=["T-t1"])
    assert "T-t1" in set(fixed.sites["site_id"])
    with pytest.raises(InputError, match="unknown candidate"):
        plan_rollout(bundle, status, budget_vnd=50e9, coverage_model="radius",
                     fixed_sites=["nope"])
    none = plan_rollout(bundle, status, budget_vnd=0, coverage_model="radius")
    assert len(none.sites) == 0 and none.report["population_covered"] == 0
    with pytest.raises(InputError, match="budget_vnd"):
        plan_rollout(bundle, status, budget_vnd=-1)


def test_plan_terrain_with_dem(toy, dem):
    bundle, status = toy
    plan = plan_rollout(bundle, status, budget_vnd=12e9, dem=dem, include_lom=True)
    assert plan.report["coverage_model"] == "terrain"
    assert plan.report["candidates_by_kind"].get("high_point", 0) >= 1
    assert plan.report["status"] == "Optimal"
    assert plan.report["cost_vnd"] <= 12e9
    assert plan.sites["ground_m"].notna().all()


# -- outputs ----------------------------------------------------------------------------------
def test_write_rollout(plan_radius, tmp_path):
    files = write_rollout(plan_radius, tmp_path / "out")
    assert set(files) == {"xlsx", "csv", "geojson", "villages", "classes", "curve_csv",
                          "curve_png"}
    for p in files.values():
        assert p.exists() and p.stat().st_size > 0
    raw = files["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Thứ tự ưu tiên,Mã vị trí đề xuất")
    assert "DỮ LIỆU MẪU" in text
    gj = json.loads(files["geojson"].read_text(encoding="utf-8"))
    assert len(gj["features"]) == len(plan_radius.sites)
    assert files["curve_png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sheets = pd.read_excel(files["xlsx"], sheet_name=None)
    assert "Trạm đề xuất" in sheets and len(sheets["Trạm đề xuất"]) == len(plan_radius.sites)
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_rollout(plan_radius, tmp_path / "out")
    write_rollout(plan_radius, tmp_path / "out", overwrite=True)


def test_write_rollout_english(plan_radius, tmp_path):
    en = DEFAULT.replace(language="en")
    files = write_rollout(plan_radius, tmp_path, settings=en)
    header = files["csv"].read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("Rank,Site id,Candidate kind,Type (new/shared)")
    lines = report_lines(plan_radius, settings=en)
    assert any(line.startswith("Solver: HiGHS Optimal") for line in lines)


def test_no_target_villages(toy, tmp_path):
    bundle, status = toy
    covered = status.assign(status_any="phu", status_any_3G="phu")
    plan = plan_rollout(bundle, covered, budget_vnd=10e9, coverage_model="radius")
    assert plan.report["target_villages"] == 0 and plan.report["method"] == "trivial"
    assert len(plan.sites) == 0 and len(plan.curve) == 1
    files = write_rollout(plan, tmp_path)
    assert files["curve_png"].exists()


def test_plan_frontier_and_outputs(toy, tmp_path):
    bundle, status = toy
    plan = plan_rollout(bundle, status, budget_vnd=12e9, coverage_model="radius",
                        frontier=True, settings=DEFAULT.replace(frontier_steps=5))
    fr = plan.frontier
    assert fr.all_optimal and plan.report["frontier_optimal"]
    tab = fr.table
    assert 12e9 in set(tab["budget_vnd"])  # the plan's own budget is on the ladder
    at_plan = tab.loc[tab["budget_vnd"] == 12e9].iloc[0]
    assert at_plan["people_covered"] == plan.report["population_covered"]
    assert at_plan["cost_vnd"] == pytest.approx(plan.report["cost_vnd"])
    # the last budget covers every coverable target village
    assert tab["villages_covered"].iloc[-1] == plan.report["coverable_villages"]
    # every chosen site has the frontier budget it enters at, no more than the plan's budget
    assert (plan.sites["frontier_budget_vnd"] <= 12e9).all()
    files = write_rollout(plan, tmp_path)
    assert {"frontier_csv", "frontier_png"} <= set(files)
    sheets = pd.read_excel(files["xlsx"], sheet_name=None)
    assert "Đường biên chi phí (tối ưu)" in sheets
    lines = report_lines(plan)
    assert any("Đường biên chi phí" in line for line in lines)
    # with no target village the frontier is one trivial step
    none = plan_rollout(bundle, status.assign(status_any="phu", status_any_3G="phu"),
                        budget_vnd=5e9, coverage_model="radius", frontier=True)
    assert len(none.frontier.table) == 1 and none.frontier.table["sites"].iloc[0] == 0
