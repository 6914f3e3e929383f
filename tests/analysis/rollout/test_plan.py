"""The rollout plan from the toy province of conftest.py, and its outputs.

Candidates and costs have their own files; the optimiser is tested on tiny matrices in
test_model.py.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from phusong.analysis.rollout.model import BudgetedMaxCover, brute_force
from phusong.analysis.rollout.outputs import report_lines, write_rollout
from phusong.analysis.rollout.plan import plan_rollout, village_weights
from phusong.gis.errors import InputError, OutputExistsError
from phusong.layers.settings import DEFAULT


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
