"""From a province bundle and its village status to a ranked rollout plan.

:func:`plan_rollout` chains the steps of DESIGN §5:

1. pick the target villages (``settings.rollout_target`` at ``settings.as_of``: by default
   those without mobile broadband) and classify them (:mod:`analysis.rollout.classes`); the
   public-utility fund class ``quy_vtci`` is planned for;
2. candidates around the targets (:mod:`analysis.rollout.candidates`) and the villages
   each would cover at mast height (terrain model with a DEM, radius model without);
3. a cost breakdown per candidate (:mod:`analysis.rollout.costs`), fibre routed on the road
   graph (:mod:`gis.roads`);
4. budgeted maximal covering (:mod:`analysis.rollout.model`), solved lexicographically:
   most covered weight, then least cost, then fewest sites; weight of a village =
   population × ``weight_border`` (border area) × ``weight_difficult`` (extremely
   difficult area);
5. the chosen sites ranked by marginal weight per cost (greedy order over the chosen set),
   each with the villages it adds, cost per person and the cumulative spend/population curve
   along that greedy order;
6. optionally (``frontier=True``) the exact spend frontier (:mod:`analysis.rollout.frontier`)
   and, per chosen site, the smallest frontier budget whose optimal plan holds it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from phusong.analysis.coverage.engine import load_dem
from phusong.analysis.coverage.villages import village_points
from phusong.analysis.rollout.candidates import candidate_coverage, generate_candidates
from phusong.analysis.rollout.classes import class_counts, classify_villages
from phusong.analysis.rollout.costs import candidate_costs
from phusong.analysis.rollout.frontier import Frontier, budget_ladder, spend_frontier
from phusong.analysis.rollout.greedy import greedy_order
from phusong.analysis.rollout.model import BudgetedMaxCover, Solution
from phusong.gis.dem import Dem
from phusong.gis.errors import InputError
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import DEFAULT, Settings
from phusong.layers.validate import as_bool

logger = logging.getLogger(__name__)

__all__ = ["TARGET_CLASS", "RolloutPlan", "plan_rollout", "village_weights"]

#: the class the public-utility fund pays for
TARGET_CLASS = "quy_vtci"


@dataclasses.dataclass
class RolloutPlan:
    """A rollout plan and everything needed to explain it.

    Attributes
    ----------
    sites
        Chosen sites, ranked (EPSG:4326 GeoDataFrame): ``rank``, ``site_id``, ``kind``,
        ``site_type`` (new/shared), ``lon``, ``lat``, ``x_vn2000``, ``y_vn2000``,
        ``villages_covered`` (villages this site adds in rank order), ``population_covered``,
        ``villages_in_range`` (all target villages it covers), ``cost_vnd`` and its
        breakdown, ``cost_per_person_vnd``, ``cumulative_cost_vnd``,
        ``cumulative_population``, ``village_ids``, ``village_names``.
    site_villages
        One row per (site, covered target village): ``rank``, ``site_id``, ``village_id``,
        ``name``, ``commune_code``, ``population``, ``credited`` (the first site in rank order
        to cover it).
    villages
        The target villages with ``weight``, ``covered`` and ``covered_by_rank``.
    curve
        Cumulative spend vs covered population after each ranked site, in the greedy order
        of the chosen sites (row 0: nothing). Not a frontier: see ``frontier``.
    classes, class_counts
        Gap villages by ministry class (:func:`analysis.rollout.classes.classify_villages`).
    candidates
        Every candidate with its cost breakdown and ``n_villages`` (coverable targets).
    coverage
        Candidates × target villages boolean matrix (the optimiser's input).
    solution
        The optimiser's :class:`~analysis.rollout.model.Solution`.
    report
        Solver report and totals (plain dict, for printing and the indicator report).
    frontier
        The exact spend frontier (:class:`~analysis.rollout.frontier.Frontier`) when asked
        for; ``sites`` then has ``frontier_budget_vnd``.
    """

    sites: gpd.GeoDataFrame
    site_villages: pd.DataFrame
    villages: pd.DataFrame
    curve: pd.DataFrame
    classes: pd.DataFrame
    class_counts: pd.DataFrame
    candidates: gpd.GeoDataFrame
    coverage: sp.csr_matrix
    solution: Solution | None
    report: dict[str, Any]
    is_sample: bool = False
    province: str = ""
    frontier: Frontier | None = None


def village_weights(villages: pd.DataFrame, *, settings: Settings = DEFAULT) -> np.ndarray:
    """Population × ``weight_border`` (border) × ``weight_difficult`` (extremely difficult)."""
    pop = pd.to_numeric(villages["population"], errors="coerce").fillna(0).clip(lower=0)
    border = as_bool(villages["border_area"]).to_numpy()
    difficult = as_bool(villages["extremely_difficult"]).to_numpy()
    return (pop.to_numpy(float) * np.where(border, settings.weight_border, 1.0)
            * np.where(difficult, settings.weight_difficult, 1.0))


def plan_rollout(bundle: ProvinceBundle, status: pd.DataFrame, *, budget_vnd: float,
                 max_sites: int | None = None, include_lom: bool = False,
                 settings: Settings = DEFAULT, coverage_model: str | None = None,
                 dem: Dem | None = None, min_code: int = 2,
                 fixed_sites: Sequence[str] | None = None,
                 time_limit_s: float | None = None,
                 target_classes: Sequence[str] = (TARGET_CLASS,), frontier: bool = False,
                 frontier_budgets: Sequence[float] | None = None) -> RolloutPlan:
    """Plan public-utility stations for a province.

    Parameters
    ----------
    bundle
        :class:`layers.bundle.ProvinceBundle` (villages, towers, fibre_routes, optional
        roads; DEM when present).
    status
        :func:`analysis.status.village_status` output (``status_any`` per ``village_id``).
    budget_vnd
        Budget in VND (capex + operation over ``opex_years``).
    max_sites
        Optional cap on the number of sites.
    include_lom
        Target lõm villages of the class too.
    settings
        Target definition (``rollout_target``, ``as_of``), class rules
        (``border_counts_as_difficult``), costs, weights, mast height, solver limits and
        verbosity, frontier steps, language.
    coverage_model
        ``"terrain"`` (default with a DEM) or ``"radius"``.
    dem
        A metric :class:`gis.dem.Dem` (default: the bundle's DEM read in its metric CRS).
    min_code
        2: a village counts as covered when phủ sóng; 1: lõm counts too.
    fixed_sites
        Candidate ids that must be opened (decided already).
    time_limit_s
        HiGHS time limit (default ``settings.solver_time_limit_s``).
    target_classes
        Classes to plan for (default the public-utility fund class).
    frontier
        Also compute the exact spend frontier (``settings.frontier_steps`` budgets).
    frontier_budgets
        The frontier's budgets (VND) instead of the default ladder.

    Returns
    -------
    RolloutPlan
    """
    if not (isinstance(budget_vnd, (int, float, np.number)) and np.isfinite(budget_vnd)
            and budget_vnd >= 0):
        raise InputError(f"budget_vnd={budget_vnd!r}: must be a finite number >= 0 (VND, "
                         "e.g. 50e9)")
    crs = bundle.metric_crs
    villages = bundle.layer("villages")
    classes = classify_villages(villages, status, include_lom=include_lom, settings=settings)
    counts = class_counts(classes, settings=settings)
    target_ids = classes.index[classes["rollout_class"].isin(list(target_classes))]
    vil_by_id = villages.set_index(villages["village_id"].astype(str), drop=False)
    targets = vil_by_id.loc[target_ids.astype(str)].reset_index(drop=True)
    weights = village_weights(targets, settings=settings)

    dem_obj = load_dem(bundle, dem)
    towers = bundle.layer("towers")
    candidates = generate_candidates(targets, towers=towers, dem=dem_obj, crs=crs,
                                     settings=settings)
    if len(candidates) and len(targets):
        cov = candidate_coverage(candidates, targets, dem=dem_obj, settings=settings,
                                 model=coverage_model, min_code=min_code)
    else:
        cov = sp.csr_matrix((len(candidates), len(targets)), dtype=bool)
    road_graph = None
    if bundle.has("roads"):
        from phusong.gis.roads import graph_from_roads

        road_graph = graph_from_roads(bundle.to_metric("roads"))
    costs = candidate_costs(candidates, villages=villages, towers=towers,
                            fibre=bundle.layer("fibre_routes"), road_graph=road_graph,
                            dem=dem_obj, settings=settings)
    candidates = gpd.GeoDataFrame(pd.concat([candidates, costs], axis=1), geometry="geometry",
                                  crs=candidates.crs)
    candidates["n_villages"] = np.diff(cov.indptr)
    cost = candidates["total_cost_vnd"].to_numpy(float)

    fixed = None
    if fixed_sites:
        ids = candidates["candidate_id"].astype(str)
        unknown = sorted(set(fixed_sites) - set(ids))
        if unknown:
            raise InputError(f"fixed_sites: unknown candidate id(s) {', '.join(unknown[:5])}; "
                             "ids look like V-<village_id>, H-<cluster>-<n>, T-<tower_id>")
        fixed = np.flatnonzero(ids.isin(list(fixed_sites)).to_numpy())

    problem = BudgetedMaxCover.from_matrix(cov, weights, cost, budget=budget_vnd,
                                           max_sites=max_sites, fixed_open=fixed)
    limit = time_limit_s or settings.solver_time_limit_s
    solution = problem.solve(time_limit_s=limit, mip_rel_gap=settings.mip_rel_gap,
                             verbose=settings.solver_verbose)

    sites, site_villages, vil_table, curve = _rank(candidates, cov, targets, weights,
                                                   solution, crs)
    fr = None
    if frontier:
        pop = pd.to_numeric(targets["population"], errors="coerce").fillna(0).to_numpy(float) \
            if len(targets) else np.zeros(0)
        ladder = frontier_budgets
        if ladder is None:  # the default ladder, with the plan's own budget on it
            ladder = budget_ladder(cov, weights, cost, steps=settings.frontier_steps,
                                   max_sites=max_sites, fixed_open=fixed, time_limit_s=limit)
            if ladder.min(initial=np.inf) < budget_vnd < ladder.max(initial=-np.inf):
                ladder = np.unique(np.r_[ladder, float(budget_vnd)])
        fr = spend_frontier(cov, weights, cost, pop, budgets=ladder,
                            steps=settings.frontier_steps, max_sites=max_sites,
                            fixed_open=fixed, time_limit_s=limit,
                            mip_rel_gap=settings.mip_rel_gap, verbose=settings.solver_verbose)
        idx = pd.Index(candidates["candidate_id"].astype(str)).get_indexer(
            sites["site_id"].astype(str))
        sites.insert(sites.columns.get_loc("cumulative_cost_vnd"), "frontier_budget_vnd",
                     fr.entry_budget[idx] if len(sites) else np.zeros(0))
    kinds = candidates["kind"].value_counts()
    report = {
        "rollout_target": settings.rollout_target,
        "as_of": settings.as_of_date().isoformat(),
        "border_counts_as_difficult": settings.border_counts_as_difficult,
        "budget_vnd": float(budget_vnd),
        "max_sites": max_sites,
        "target_classes": list(target_classes),
        "include_lom": include_lom,
        "coverage_model": coverage_model or ("terrain" if dem_obj is not None else "radius"),
        "target_villages": len(targets),
        "target_population": int(pd.to_numeric(targets["population"]).sum()) if len(targets)
        else 0,
        "candidates": len(candidates),
        "candidates_by_kind": {k: int(v) for k, v in kinds.items()},
        "coverable_villages": int((np.diff(cov.tocsc().indptr) > 0).sum()),
        "matrix_nonzeros": int(cov.nnz),
        "status": solution.status,
        "method": solution.method,
        "objective": solution.objective,
        "bound": solution.bound,
        "gap": solution.gap,
        "coverage_gap": solution.coverage_gap,
        "cost_bound_vnd": solution.cost_bound,
        "cost_gap": solution.cost_gap,
        "sites_gap": solution.sites_gap,
        "stage_status": list(solution.stage_status),
        "is_optimal": solution.is_optimal,
        "greedy_objective": solution.greedy_objective,
        "greedy_gap": solution.greedy_gap,
        "solve_s": round(solution.solve_s, 3),
        "sites_chosen": len(sites),
        "cost_vnd": float(sites["cost_vnd"].sum()) if len(sites) else 0.0,
        "villages_covered": int(vil_table["covered"].sum()),
        "population_covered": int(vil_table.loc[vil_table["covered"], "population"].sum()),
        "frontier_s": round(fr.total_s, 3) if fr is not None else None,
        "frontier_optimal": fr.all_optimal if fr is not None else None,
    }
    logger.info("rollout plan: %d sites, %.4g VND, %d/%d target villages, population %d "
                "(%s, gap %.2g%%)", report["sites_chosen"], report["cost_vnd"],
                report["villages_covered"], report["target_villages"],
                report["population_covered"], solution.status, 100 * solution.gap)
    return RolloutPlan(sites=sites, site_villages=site_villages, villages=vil_table,
                       curve=curve, classes=classes, class_counts=counts,
                       candidates=candidates, coverage=cov, solution=solution, report=report,
                       is_sample=bool(getattr(bundle, "is_sample", False)),
                       province=str(getattr(bundle, "province", "")), frontier=fr)


def _rank(candidates: gpd.GeoDataFrame, cov: sp.csr_matrix, targets: pd.DataFrame,
          weights: np.ndarray, solution: Solution, crs: Any
          ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    cost = candidates["total_cost_vnd"].to_numpy(float)
    order, _gains = greedy_order(cov, weights, cost, solution.open_sites)
    pop = pd.to_numeric(targets["population"], errors="coerce").fillna(0).to_numpy(float) \
        if len(targets) else np.zeros(0)
    vid = targets["village_id"].astype(str).to_numpy() if len(targets) else np.zeros(0, str)
    names = targets["name"].astype(str).to_numpy() if len(targets) else np.zeros(0, str)
    covered_by = np.zeros(len(targets), dtype=np.int64)  # 0 = not covered
    rows_sv: list[dict[str, Any]] = []
    site_rows: list[dict[str, Any]] = []
    cum_cost = cum_pop = 0.0
    cum_vil = 0
    curve = [{"rank": 0, "site_id": None, "cost_vnd": 0.0, "cumulative_cost_vnd": 0.0,
              "population_added": 0, "cumulative_population": 0, "cumulative_villages": 0}]
    for rank, j in enumerate(order, start=1):
        vs = cov.indices[cov.indptr[j]:cov.indptr[j + 1]]
        new = vs[covered_by[vs] == 0]
        covered_by[new] = rank
        add_pop = float(pop[new].sum())
        c = float(cost[j])
        cum_cost += c
        cum_pop += add_pop
        cum_vil += len(new)
        rec = candidates.iloc[j]
        for v in vs:
            rows_sv.append({"rank": rank, "site_id": rec["candidate_id"], "village_id": vid[v],
                            "name": names[v],
                            "commune_code": targets["commune_code"].iloc[v],
                            "population": int(pop[v]), "credited": bool(covered_by[v] == rank)})
        site_rows.append({
            "rank": rank, "site_id": rec["candidate_id"], "kind": rec["kind"],
            "site_type": rec["site_type"], "tower_id": rec["tower_id"],
            "lon": rec["lon"], "lat": rec["lat"],
            "x_vn2000": round(float(rec["x"]), 1), "y_vn2000": round(float(rec["y"]), 1),
            "ground_m": round(float(rec["ground_m"]), 1), "antenna_height_m": rec["antenna_height_m"],
            "villages_covered": len(new), "population_covered": int(add_pop),
            "villages_in_range": len(vs),
            "cost_vnd": c, "cost_per_person_vnd": round(c / add_pop) if add_pop > 0 else np.nan,
            "cost_tower_vnd": rec["cost_tower_vnd"],
            "cost_equipment_vnd": rec["cost_equipment_vnd"],
            "cost_power_vnd": rec["cost_power_vnd"], "power": rec["power"],
            "cost_backhaul_vnd": rec["cost_backhaul_vnd"], "backhaul": rec["backhaul"],
            "fibre_km": rec["fibre_km"], "microwave_tower_id": rec["microwave_tower_id"],
            "opex_vnd": rec["opex_vnd"],
            "cumulative_cost_vnd": cum_cost, "cumulative_population": int(cum_pop),
            "village_ids": ", ".join(vid[new]), "village_names": ", ".join(names[new]),
            "geometry": rec.geometry})
        curve.append({"rank": rank, "site_id": rec["candidate_id"], "cost_vnd": c,
                      "cumulative_cost_vnd": cum_cost, "population_added": int(add_pop),
                      "cumulative_population": int(cum_pop), "cumulative_villages": cum_vil})
    cols = ["rank", "site_id", "kind", "site_type", "tower_id", "lon", "lat", "x_vn2000",
            "y_vn2000", "ground_m", "antenna_height_m", "villages_covered",
            "population_covered", "villages_in_range", "cost_vnd", "cost_per_person_vnd",
            "cost_tower_vnd", "cost_equipment_vnd", "cost_power_vnd", "power",
            "cost_backhaul_vnd", "backhaul", "fibre_km", "microwave_tower_id", "opex_vnd",
            "cumulative_cost_vnd", "cumulative_population", "village_ids", "village_names"]
    if site_rows:
        sites = gpd.GeoDataFrame(site_rows, geometry="geometry", crs=crs).to_crs("EPSG:4326")
    else:
        sites = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs="EPSG:4326")
    sites = sites[[*cols, "geometry"]]
    site_villages = pd.DataFrame(rows_sv, columns=["rank", "site_id", "village_id", "name",
                                                   "commune_code", "population", "credited"])
    centres = village_points(targets, crs) if len(targets) else None
    vil = pd.DataFrame({
        "village_id": vid, "name": names,
        "commune_code": targets["commune_code"].to_numpy() if len(targets) else [],
        "population": pop.astype(np.int64),
        "households": (pd.to_numeric(targets["households"], errors="coerce").fillna(0)
                       .astype(np.int64).to_numpy() if "households" in targets and len(targets)
                       else np.zeros(len(targets), np.int64)),
        "border_area": as_bool(targets["border_area"]).to_numpy() if len(targets) else [],
        "extremely_difficult": as_bool(targets["extremely_difficult"]).to_numpy()
        if len(targets) else [],
        "weight": np.round(weights, 3),
        "covered": covered_by > 0,
        "covered_by_rank": pd.array(np.where(covered_by > 0, covered_by, pd.NA), dtype="Int64"),
        "lon": np.round(centres["lon"].to_numpy(), 6) if centres is not None else [],
        "lat": np.round(centres["lat"].to_numpy(), 6) if centres is not None else [],
    })
    return sites.reset_index(drop=True), site_villages, vil, pd.DataFrame(curve)
