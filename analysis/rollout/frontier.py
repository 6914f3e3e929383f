"""The exact spend frontier: what each further billion VND buys.

:func:`spend_frontier` re-solves the rollout model (:class:`~analysis.rollout.model.
BudgetedMaxCover`, lexicographic: most covered weight, then least cost, then fewest sites)
at a ladder of budgets and keeps each step's proven status. The default ladder
(:func:`budget_ladder`) runs, in ``settings.frontier_steps`` evenly spaced budgets, from the
cheapest single site that covers a target to the least cost of covering every coverable
target (itself an exact solve with no budget). People and villages covered are counted over
the target villages; the model maximises their weight (population × priority), so the
people column is what the weighted optimum buys, not a separate optimum.

Optimal plans at successive budgets need not be nested (a cheaper pair may give way to one
better site); :attr:`Frontier.entry_budget` is the smallest ladder budget whose plan holds a
site, and :attr:`Frontier.steps_in_plan` how many ladder plans hold it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from phusong.analysis.rollout.model import BudgetedMaxCover
from phusong.gis.errors import InputError

logger = logging.getLogger(__name__)

__all__ = ["Frontier", "budget_ladder", "spend_frontier"]


@dataclasses.dataclass(frozen=True)
class Frontier:
    """An exact spend frontier.

    Attributes
    ----------
    table
        One row per budget: ``step``, ``budget_vnd``, ``cost_vnd`` (of the plan), ``sites``,
        ``people_covered``, ``villages_covered``, ``weight_covered``,
        ``marginal_people_per_bn_vnd`` (people added since the previous step per billion VND
        of added budget), ``status``, ``gap``, ``solve_s``.
    plans
        Open sites (candidate indices) at each step.
    entry_budget
        Per candidate: the smallest ladder budget whose optimal plan holds it (NaN: none).
    steps_in_plan
        Per candidate: how many ladder plans hold it.
    total_s
        Wall time of the whole frontier, seconds.
    """

    table: pd.DataFrame
    plans: list[np.ndarray]
    entry_budget: np.ndarray
    steps_in_plan: np.ndarray
    total_s: float

    @property
    def all_optimal(self) -> bool:
        """Whether every step was proven optimal."""
        return bool((self.table["status"] == "Optimal").all() and
                    (self.table["gap"] <= 1e-6).all())


def budget_ladder(coverage: sp.spmatrix, weights: np.ndarray, costs: np.ndarray, *,
                  steps: int = 12, max_sites: int | None = None,
                  fixed_open: np.ndarray | None = None,
                  time_limit_s: float = 60.0) -> np.ndarray:
    """Budgets from the cheapest useful single site to the least cost covering every target.

    Returns
    -------
    numpy.ndarray
        ``steps`` increasing budgets in VND (fewer when the two ends meet); intermediate
        budgets are rounded to 0.1 billion VND.
    """
    cov = sp.csr_matrix(coverage, dtype=bool)
    w = np.asarray(weights, dtype=float)
    c = np.asarray(costs, dtype=float)
    fixed = np.asarray(fixed_open if fixed_open is not None else [], dtype=np.int64)
    gain = np.asarray(cov.astype(float) @ w).ravel()
    useful = np.flatnonzero(gain > 0)
    if len(useful) == 0:
        return np.array([float(c[fixed].sum())])
    base = float(c[fixed].sum())
    lo = base + float(c[useful].min())
    full = BudgetedMaxCover.from_matrix(cov, w, c, budget=None, max_sites=max_sites,
                                        fixed_open=fixed).solve(time_limit_s=time_limit_s)
    hi = max(lo, float(full.cost))
    if hi - lo <= 1e-9 * hi:
        return np.array([hi])
    mid = np.linspace(lo, hi, int(steps))[1:-1]
    mid = np.round(mid / 1e8) * 1e8
    return np.unique(np.r_[lo, mid[(mid > lo) & (mid < hi)], hi])


def spend_frontier(coverage: sp.spmatrix, weights: np.ndarray, costs: np.ndarray,
                   population: np.ndarray, *, budgets: Sequence[float] | None = None,
                   steps: int = 12, max_sites: int | None = None,
                   fixed_open: np.ndarray | None = None, time_limit_s: float = 60.0,
                   mip_rel_gap: float = 0.0, verbose: bool = False) -> Frontier:
    """Solve the rollout model exactly at each budget of a ladder.

    Parameters
    ----------
    coverage
        Candidates × target villages.
    weights
        Weight per target village (the objective).
    costs
        Cost per candidate, VND.
    population
        People per target village (counted, not optimised).
    budgets
        The ladder (VND); default :func:`budget_ladder` with ``steps``.
    max_sites, fixed_open
        As in :meth:`BudgetedMaxCover.from_matrix`.
    time_limit_s, mip_rel_gap, verbose
        Per solve, as in :meth:`BudgetedMaxCover.solve`.

    Returns
    -------
    Frontier
    """
    t0 = time.perf_counter()
    cov = sp.csr_matrix(coverage, dtype=bool)
    pop = np.asarray(population, dtype=float)
    if budgets is None:
        budgets = budget_ladder(cov, weights, costs, steps=steps, max_sites=max_sites,
                                fixed_open=fixed_open, time_limit_s=time_limit_s)
    b = np.asarray(budgets, dtype=float)
    if not (np.isfinite(b).all() and (b >= 0).all()):
        raise InputError("frontier budgets must be finite and >= 0 (VND)")
    b = np.unique(b)
    rows = []
    plans: list[np.ndarray] = []
    entry = np.full(cov.shape[0], np.nan)
    count = np.zeros(cov.shape[0], dtype=np.int64)
    for k, budget in enumerate(b):
        prob = BudgetedMaxCover.from_matrix(cov, weights, costs, budget=float(budget),
                                            max_sites=max_sites, fixed_open=fixed_open)
        sol = prob.solve(time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, verbose=verbose)
        plans.append(sol.open_sites)
        new = sol.open_sites[np.isnan(entry[sol.open_sites])]
        entry[new] = budget
        count[sol.open_sites] += 1
        rows.append({"step": k + 1, "budget_vnd": float(budget), "cost_vnd": sol.cost,
                     "sites": len(sol.open_sites),
                     "people_covered": round(float(pop[sol.covered].sum())),
                     "villages_covered": int(sol.covered.sum()),
                     "weight_covered": round(sol.objective, 3), "status": sol.status,
                     "gap": sol.gap, "solve_s": round(sol.solve_s, 3)})
    table = pd.DataFrame(rows, columns=["step", "budget_vnd", "cost_vnd", "sites",
                                        "people_covered", "villages_covered",
                                        "weight_covered", "status", "gap", "solve_s"])
    d_people = np.array(table["people_covered"].diff(), dtype=float)
    d_budget = np.array(table["budget_vnd"].diff(), dtype=float) / 1e9
    if len(table):  # the first step: from nothing spent (beyond fixed sites) to its budget
        d_people[0] = table["people_covered"].iloc[0]
        d_budget[0] = table["budget_vnd"].iloc[0] / 1e9
    with np.errstate(divide="ignore", invalid="ignore"):
        marginal = np.where(d_budget > 0, d_people / d_budget, np.nan)
    table.insert(7, "marginal_people_per_bn_vnd", np.round(marginal, 1))
    total = time.perf_counter() - t0
    fr = Frontier(table=table, plans=plans, entry_budget=entry, steps_in_plan=count,
                  total_s=total)
    logger.info("spend frontier: %d budgets from %.4g to %.4g VND, %s, %.2f s", len(b),
                b.min(initial=0), b.max(initial=0),
                "all proven optimal" if fr.all_optimal else "NOT all proven optimal", total)
    return fr
