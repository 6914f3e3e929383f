"""Benchmark of the rollout optimiser on the sample province.

Prints, for the default sample province (Lai Châu preset, seed 0):

0. a random run: ``--random`` (2 000) tiny instances (seed ``--random-seed``) solved exactly
   and compared with an enumeration of every subset of sites, on the covered weight and, at
   that weight, on the least cost and the fewest sites (issue 12);
1. the rollout plan's instance (public-utility fund villages, as ``phusong rollout`` builds
   it): size, HiGHS status, objective, bound, gap and time, greedy objective and gap;
2. a *greenfield* instance on the same province — every village a target, every village
   centre, DEM high point and existing tower a candidate — so that the model is exercised at
   the size of a province (a few thousand candidates × ~1 000 villages): the budgeted
   problem (exact vs greedy) and the p-site maximal covering problem solved by us and by
   PySAL spopt's ``MCLP.from_cost_matrix`` (PuLP + HiGHS). Objectives must be equal.

Usage::

    .venv/bin/python bench/rollout.py                    # full Lai Châu sample
    .venv/bin/python bench/rollout.py --scale 0.25       # quicker
    .venv/bin/python bench/rollout.py --bundle path/to/bundle --model radius
    .venv/bin/python bench/rollout.py --random-only      # only the random run

The sample bundle, its village status and the greenfield coverage matrix are computed once
into ``--cache`` and reused (delete the folder to recompute).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# bench/ holds scripts named like packages (bench/coverage.py shadows coverage.py, which numba
# imports): run with the repository root on the path instead of this folder
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402


def _line(label: str, value: object) -> None:
    print(f"  {label:<34} {value}")


def _solution_lines(sol, n_label: str = "") -> None:
    _line("status / method", f"{sol.status} / {sol.method}")
    _line("objective", f"{sol.objective:,.1f}")
    _line("bound", f"{sol.bound:,.1f}")
    _line("gap (whole lexicographic objective)", f"{100 * sol.gap:.4f} %")
    _line("stages (coverage / cost / sites)", " / ".join(sol.stage_status))
    _line("cost / proven lower bound", f"{sol.cost:.6g} / {sol.cost_bound:.6g} VND")
    _line("solve time (3 stages + greedy baseline)", f"{sol.solve_s:.3f} s")
    _line("stage times (coverage / cost / sites)", " / ".join(f"{t:.3f} s" for t in sol.stage_s))
    _line("sites open", f"{len(sol.open_sites)}{n_label}")
    _line("greedy objective", f"{sol.greedy_objective:,.1f}")
    _line("greedy gap (UB − greedy)/UB", f"{100 * sol.greedy_gap:.3f} %")


def _bundle(args: argparse.Namespace):
    from phusong.layers.bundle import read_bundle

    if args.bundle:
        return read_bundle(args.bundle)
    from phusong.seeds.sample import generate_sample

    folder = Path(args.cache) / f"{args.preset}-s{args.scale:g}-seed{args.seed}"
    if (folder / "bundle.gpkg").exists():
        return read_bundle(folder)
    t0 = time.perf_counter()
    b = generate_sample(args.preset, seed=args.seed, out=folder, scale=args.scale)
    print(f"generated sample {args.preset} (scale {args.scale:g}) in "
          f"{time.perf_counter() - t0:.1f} s → {folder}")
    return b


def spopt_mclp(coverage: sp.csr_matrix, weights: np.ndarray, p: int, *, solver: str,
               time_limit_s: float) -> tuple[float, float, float, np.ndarray]:
    """p-site MCLP with spopt from a 0/1 cost matrix (clients × facilities).

    Returns (objective, build_s, solve_s, open sites).
    """
    import pulp
    from spopt.locate import MCLP

    t0 = time.perf_counter()
    cost = np.where(coverage.T.toarray(), 0.0, 1.0)  # 0 = within the service radius
    model = MCLP.from_cost_matrix(cost, weights, service_radius=0.5, p_facilities=p)
    build_s = time.perf_counter() - t0
    if solver == "highs":
        lp_solver = pulp.HiGHS(msg=False, timeLimit=time_limit_s, gapRel=0.0)
    else:
        lp_solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s, gapRel=0.0)
    t1 = time.perf_counter()
    model = model.solve(lp_solver)
    solve_s = time.perf_counter() - t1
    open_sites = np.array([j for j, v in enumerate(model.fac_vars) if (v.value() or 0) > 0.5],
                          dtype=np.int64)
    covered = np.asarray(coverage[open_sites].sum(axis=0)).ravel() > 0
    # the covered weight of spopt's chosen sites (equal to its objective value)
    return float(weights[covered].sum()), build_s, solve_s, open_sites


def _enumerate(cov: np.ndarray, w: np.ndarray, c: np.ndarray, budget: float,
               max_sites: int | None, fixed: np.ndarray) -> tuple[float, float, int] | None:
    """(most weight, least cost at it, fewest sites at both) over every subset of sites."""
    n = cov.shape[0]
    masks = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(bool)
    hit = (masks.astype(np.int32) @ cov.astype(np.int32)) > 0
    obj = hit.astype(float) @ w
    cost = masks.astype(float) @ c
    count = masks.sum(axis=1)
    ok = cost <= budget * (1 + 1e-9)
    if len(fixed):
        ok &= masks[:, fixed].all(axis=1)
    if max_sites is not None:
        ok &= count <= max_sites
    if not ok.any():
        return None
    keys = np.lexsort((count[ok], cost[ok], -obj[ok]))
    b = np.flatnonzero(ok)[keys[0]]
    return float(obj[b]), float(cost[b]), int(count[b])


def random_check(n: int, seed: int) -> bool:
    """Solve ``n`` random feasible tiny instances and compare with :func:`_enumerate`."""
    from phusong.analysis.rollout.model import BudgetedMaxCover

    rng = np.random.default_rng(seed)
    bad: list[int] = []
    t_solve = 0.0
    n_run = 0
    t0 = time.perf_counter()
    k = -1
    while n_run < n:
        k += 1
        n_sites = int(rng.integers(4, 13))
        n_vil = int(rng.integers(4, 20))
        cov = rng.random((n_sites, n_vil)) < rng.choice([0.15, 0.3, 0.5])
        w = rng.integers(0, 1000, n_vil).astype(float)
        w[rng.random(n_vil) < 0.1] = 0.0  # already covered
        c = rng.integers(1, 40, n_sites).astype(float) * 1e8
        c[rng.random(n_sites) < 0.05] = 0.0  # a free shared tower now and then
        budget = float(rng.integers(0, 150)) * 1e8
        max_sites = None if rng.random() < 0.6 else int(rng.integers(0, n_sites + 1))
        fixed = rng.choice(n_sites, size=int(rng.integers(0, 3)), replace=False)
        want = _enumerate(cov, w, c, budget, max_sites, fixed)
        if want is None:
            continue
        prob = BudgetedMaxCover.from_matrix(cov, w, c, budget=budget, max_sites=max_sites,
                                            fixed_open=fixed)
        sol = prob.solve(time_limit_s=30)
        t_solve += sol.solve_s
        n_run += 1
        got = (sol.objective, sol.cost, len(sol.open_sites))
        if not (sol.is_optimal and abs(got[0] - want[0]) <= 1e-6
                and abs(got[1] - want[1]) <= 1e-9 * max(1.0, want[1]) and got[2] == want[2]):
            bad.append(k)
            if len(bad) <= 5:
                print(f"  MISMATCH instance {k}: solver {got} ({sol.status}), "
                      f"enumeration {want}")
    print(f"\n[0] random instances vs enumeration (seed {seed}): {n_run} solved ({k + 1} drawn, "
          f"the rest infeasible by their fixed sites), "
          f"{len(bad)} disagree; mean solve {1e3 * t_solve / max(1, n_run):.1f} ms, "
          f"total {time.perf_counter() - t0:.1f} s")
    return not bad


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", help="an existing bundle folder (default: the sample)")
    ap.add_argument("--preset", default="lai-chau")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default="/tmp/phusong-bench")
    ap.add_argument("--model", choices=["terrain", "radius"], default=None)
    ap.add_argument("--budget", type=float, default=50e9, help="VND (default 50e9)")
    ap.add_argument("--greenfield-budget", type=float, default=150e9,
                    help="budget of the greenfield instance, VND (default 150e9)")
    ap.add_argument("--p", type=int, default=None,
                    help="sites of the p-site MCLP (default: half as many as the greenfield "
                         "budgeted solution opens)")
    ap.add_argument("--spopt-solver", choices=["highs", "cbc"], default="highs")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--no-spopt", action="store_true")
    ap.add_argument("--random", type=int, default=2000,
                    help="random tiny instances checked against enumeration (default 2000)")
    ap.add_argument("--random-seed", type=int, default=12)
    ap.add_argument("--random-only", action="store_true")
    ap.add_argument("--frontier-steps", type=int, default=12)
    args = ap.parse_args(argv)

    if args.random:
        ok = random_check(args.random, args.random_seed)
        if args.random_only:
            raise SystemExit(0 if ok else 1)

    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.rollout.candidates import candidate_coverage, generate_candidates
    from phusong.analysis.rollout.costs import candidate_costs
    from phusong.analysis.rollout.model import BudgetedMaxCover
    from phusong.analysis.rollout.plan import plan_rollout, village_weights
    from phusong.gis.dem import read_dem
    from phusong.gis.roads import graph_from_roads
    from phusong.layers.settings import DEFAULT

    settings = DEFAULT
    bundle = _bundle(args)
    print(f"province: {bundle.province} — {bundle.counts()}")

    # 1. the plan's instance ---------------------------------------------------------------
    t0 = time.perf_counter()
    cache = Path(args.cache)
    status_file = cache / (f"status-{args.preset}-s{args.scale:g}-seed{args.seed}-"
                           f"{args.model or 'default'}.pkl") if not args.bundle else None
    if status_file is not None and status_file.exists():
        status = pd.read_pickle(status_file)  # our own cache, written below
        print(f"village status read from {status_file}")
    else:
        cov_result = compute_coverage(bundle, model=args.model, settings=settings)
        status = village_status(bundle, cov_result, settings=settings)
        if status_file is not None:
            status_file.parent.mkdir(parents=True, exist_ok=True)
            status.to_pickle(status_file)
    t_status = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = plan_rollout(bundle, status, budget_vnd=args.budget, settings=settings,
                        coverage_model=args.model, time_limit_s=args.time_limit)
    t_plan = time.perf_counter() - t0
    r = plan.report
    print(f"\n[1] rollout plan, budget {args.budget:.3g} VND "
          f"(coverage+status {t_status:.1f} s, plan {t_plan:.1f} s)")
    counts = plan.class_counts
    _line("white villages by class", ", ".join(
        f"{k} {int(v)}" for k, v in counts["villages"].items()))
    _line("instance (candidates × targets, nnz)",
          f"{r['candidates']} × {r['target_villages']}, {r['matrix_nonzeros']}")
    _solution_lines(plan.solution)
    _line("cost / population covered",
          f"{r['cost_vnd']:.4g} VND / {r['population_covered']}")

    from phusong.analysis.rollout.frontier import spend_frontier

    pop = plan.villages["population"].to_numpy(float)
    t0 = time.perf_counter()
    fr = spend_frontier(plan.coverage, plan.villages["weight"].to_numpy(float),
                        plan.candidates["total_cost_vnd"].to_numpy(float), pop,
                        steps=args.frontier_steps, time_limit_s=args.time_limit)
    t_fr = time.perf_counter() - t0
    print(f"\n[1b] exact spend frontier of the plan's instance ({len(fr.table)} budgets)")
    _line("frontier time (ladder + solves)", f"{t_fr:.2f} s")
    _line("every step proven optimal", "yes" if fr.all_optimal else "NO")
    for row in fr.table.itertuples():
        _line(f"  {row.budget_vnd / 1e9:8.2f} bn VND", f"{row.sites} sites, "
              f"{row.people_covered} people, {row.villages_covered} villages, "
              f"+{row.marginal_people_per_bn_vnd:g} people/bn, {row.status}, {row.solve_s:.3f} s")

    # 2. greenfield instance ---------------------------------------------------------------
    villages = bundle.layer("villages")
    dem = read_dem(bundle.dem_path, crs=bundle.metric_crs) if bundle.dem_path else None
    t0 = time.perf_counter()
    cands = generate_candidates(villages, towers=bundle.layer("towers"), dem=dem,
                                crs=bundle.metric_crs, settings=settings, cluster_km=2.0)
    t_cand = time.perf_counter() - t0
    t0 = time.perf_counter()
    cov_file = cache / (f"greenfield-{args.preset}-s{args.scale:g}-seed{args.seed}-"
                        f"{args.model or 'default'}-{len(cands)}.npz") if not args.bundle \
        else None
    if cov_file is not None and cov_file.exists():
        cov = sp.load_npz(cov_file).tocsr()
        print(f"greenfield coverage matrix read from {cov_file}")
    else:
        cov = candidate_coverage(cands, villages, dem=dem, settings=settings,
                                 model=args.model)
        if cov_file is not None:
            sp.save_npz(cov_file, cov)
    t_cov = time.perf_counter() - t0
    graph = graph_from_roads(bundle.to_metric("roads")) if bundle.has("roads") else None
    t0 = time.perf_counter()
    costs = candidate_costs(cands, villages=villages, towers=bundle.layer("towers"),
                            fibre=bundle.layer("fibre_routes"), road_graph=graph, dem=dem,
                            settings=settings)
    t_cost = time.perf_counter() - t0
    w = village_weights(villages, settings=settings)
    c = costs["total_cost_vnd"].to_numpy(float)
    kinds = cands["kind"].value_counts().to_dict()
    print(f"\n[2] greenfield instance: {len(cands)} candidates {kinds} × {len(villages)} "
          f"villages, {cov.nnz} covering pairs ({cov.nnz / max(1, cov.shape[0]):.1f} per "
          "candidate)")
    _line("candidates / coverage / costs", f"{t_cand:.1f} s / {t_cov:.1f} s / {t_cost:.1f} s")

    print(f"\n[2a] budgeted maximal covering, budget {args.greenfield_budget:.3g} VND")
    prob = BudgetedMaxCover.from_matrix(cov, w, c, budget=args.greenfield_budget)
    sol = prob.solve(time_limit_s=args.time_limit, mip_rel_gap=0.0)
    _solution_lines(sol)
    _line("cost", f"{sol.cost:.4g} VND")
    t0 = time.perf_counter()
    g = prob.greedy()
    _line("greedy alone", f"{g.objective:,.1f} in {time.perf_counter() - t0:.3f} s")
    sol_warm = prob.solve(time_limit_s=args.time_limit, warm_start="greedy")
    _line("exact with the greedy MIP start", f"{sol_warm.objective:,.1f}, {sol_warm.status}, "
          f"{sol_warm.solve_s:.3f} s")

    p = args.p or max(1, len(sol.open_sites) // 2)
    print(f"\n[2b] p-site maximal covering (no budget), p = {p}")
    pprob = BudgetedMaxCover.p_site(cov, w, p)
    t0 = time.perf_counter()
    psol = pprob.solve(time_limit_s=args.time_limit)
    t_ours = time.perf_counter() - t0
    _solution_lines(psol)
    _line("phusong total (build + solve)", f"{t_ours:.3f} s")
    if not args.no_spopt:
        obj, build_s, solve_s, _open = spopt_mclp(cov, w, p, solver=args.spopt_solver,
                                                  time_limit_s=args.time_limit)
        _line(f"spopt MCLP ({args.spopt_solver}) objective", f"{obj:,.1f}")
        _line("spopt build / solve / total", f"{build_s:.3f} s / {solve_s:.3f} s / "
              f"{build_s + solve_s:.3f} s")
        same = abs(obj - psol.objective) <= 1e-6 * max(1.0, abs(obj))
        _line("objectives equal", "yes" if same else f"NO ({obj} vs {psol.objective})")
        _line("speed-up vs spopt", f"{(build_s + solve_s) / max(t_ours, 1e-9):.1f}×")


if __name__ == "__main__":
    main()
