"""The exact spend frontier (analysis.rollout.frontier), checked against brute force.

The brute force enumerates every subset of sites with ``itertools`` (no solver code).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phusong.analysis.rollout.frontier import budget_ladder, spend_frontier
from phusong.gis.errors import InputError


def _best(cov, w, c, budget):
    """(most weight, least cost at it, fewest sites) within ``budget``; and the subset."""
    best, arg = None, ()
    for k in range(cov.shape[0] + 1):
        for sub in itertools.combinations(range(cov.shape[0]), k):
            cost = float(sum(c[j] for j in sub))
            if budget is not None and cost > budget * (1 + 1e-9):
                continue
            hit = cov[list(sub)].any(axis=0) if sub else np.zeros(cov.shape[1], bool)
            key = (-float(w[hit].sum()), cost, k)
            if best is None or key < best:
                best, arg = key, sub
    return (-best[0], best[1], best[2]), arg


def _instance(seed):
    rng = np.random.default_rng(seed)
    n_sites, n_vil = int(rng.integers(4, 9)), int(rng.integers(4, 12))
    cov = rng.random((n_sites, n_vil)) < 0.35
    pop = rng.integers(50, 900, n_vil).astype(float)
    w = pop * np.where(rng.random(n_vil) < 0.4, 1.5, 1.0)
    c = rng.integers(5, 40, n_sites).astype(float) * 1e8
    return cov, w, c, pop


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1))
def test_frontier_steps_equal_brute_force(seed):
    cov, w, c, pop = _instance(seed)
    fr = spend_frontier(cov, w, c, pop, steps=6)
    tab = fr.table
    coverable = cov.any(axis=0) & (w > 0)
    if not coverable.any():
        return
    # the ladder: cheapest useful single site … least cost covering every coverable village
    useful = cov[:, w > 0].any(axis=1)
    assert tab["budget_vnd"].iloc[0] == pytest.approx(c[useful].min())
    full, _ = _best(cov, w, c, None)
    assert full[0] == pytest.approx(w[coverable].sum())
    assert tab["budget_vnd"].iloc[-1] == pytest.approx(full[1])
    assert tab["budget_vnd"].is_monotonic_increasing
    assert fr.all_optimal
    for row, plan in zip(tab.itertuples(), fr.plans, strict=True):
        want, _sub = _best(cov, w, c, row.budget_vnd)
        assert row.weight_covered == pytest.approx(want[0], abs=1e-3)
        assert row.cost_vnd == pytest.approx(want[1])
        assert row.sites == want[2] == len(plan)
        hit = cov[list(plan)].any(axis=0) if len(plan) else np.zeros(cov.shape[1], bool)
        assert row.villages_covered == hit.sum()
        assert row.people_covered == pop[hit].sum()
    # people covered never falls as the budget grows (weights ∝ people here up to priority:
    # the weighted optimum can trade people for priority, so only weight is monotone)
    assert tab["weight_covered"].is_monotonic_increasing
    # entry budgets: the first ladder budget whose plan holds the site
    for j in range(cov.shape[0]):
        held = [b for b, p in zip(tab["budget_vnd"], fr.plans, strict=True) if j in p]
        if held:
            assert fr.entry_budget[j] == held[0]
            assert fr.steps_in_plan[j] == len(held)
        else:
            assert np.isnan(fr.entry_budget[j])


def test_marginal_people_per_billion():
    # three villages, one site each, costs 1, 2, 4 bn VND
    cov = np.eye(3, dtype=bool)
    pop = np.array([1000.0, 600.0, 400.0])
    c = np.array([1e9, 2e9, 4e9])
    fr = spend_frontier(cov, pop, c, pop, budgets=[1e9, 3e9, 7e9])
    tab = fr.table
    assert list(tab["people_covered"]) == [1000, 1600, 2000]
    assert list(tab["sites"]) == [1, 2, 3]
    assert list(tab["marginal_people_per_bn_vnd"]) == [1000.0, 300.0, 100.0]
    ladder = budget_ladder(cov, pop, c, steps=4)
    assert ladder[0] == 1e9 and ladder[-1] == 7e9 and len(ladder) == 4


def test_bad_frontier_budgets():
    cov = np.eye(2, dtype=bool)
    with pytest.raises(InputError, match="finite"):
        spend_frontier(cov, np.ones(2), np.ones(2), np.ones(2), budgets=[1.0, np.inf])
    with pytest.raises(InputError, match="finite"):
        spend_frontier(cov, np.ones(2), np.ones(2), np.ones(2), budgets=[-1.0])
