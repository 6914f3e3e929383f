"""The rollout optimiser on tiny coverage matrices, checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from phusong.analysis.rollout.greedy import greedy_order, lazy_greedy
from phusong.analysis.rollout.model import BudgetedMaxCover, brute_force
from phusong.gis.errors import InputError, SolverError


@st.composite
def instances(draw):
    n_sites = draw(st.integers(6, 10))
    n_villages = draw(st.integers(5, 15))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    density = draw(st.sampled_from([0.15, 0.3, 0.5]))
    cov = rng.random((n_sites, n_villages)) < density
    weights = rng.integers(0, 1000, n_villages).astype(float)
    costs = rng.integers(1, 40, n_sites).astype(float) * 1e8  # VND-sized numbers
    budget = float(rng.integers(0, 120)) * 1e8
    max_sites = draw(st.one_of(st.none(), st.integers(0, n_sites)))
    n_fixed = draw(st.integers(0, 2))
    fixed = rng.choice(n_sites, size=n_fixed, replace=False)
    existing = rng.random(n_villages) < 0.1
    return cov, weights, costs, budget, max_sites, fixed, existing


@settings(max_examples=60, deadline=None)
@given(instances())
def test_optimum_equals_brute_force(inst):
    cov, weights, costs, budget, max_sites, fixed, existing = inst
    prob = BudgetedMaxCover.from_matrix(sp.csr_matrix(cov), weights, costs, budget=budget,
                                        max_sites=max_sites, fixed_open=fixed,
                                        existing_covered=existing)
    best, _ = brute_force(prob)
    if best == -np.inf:  # the fixed sites alone break budget or count
        with pytest.raises(SolverError, match="fixed"):
            prob.solve()
        return
    sol = prob.solve(time_limit_s=30)
    assert sol.is_optimal
    assert sol.objective == pytest.approx(best, abs=1e-6)
    assert sol.cost <= budget * (1 + 1e-9)
    assert set(fixed) <= set(sol.open_sites)
    if max_sites is not None:
        assert len(sol.open_sites) <= max_sites
    assert sol.gap == pytest.approx(0.0, abs=1e-6)
    assert sol.greedy_objective <= sol.objective + 1e-6
    # covered villages are exactly those of the open sites, existing ones weigh nothing
    expect = np.asarray(cov[sol.open_sites].any(axis=0)).ravel()
    np.testing.assert_array_equal(sol.covered, expect)
    assert sol.objective == pytest.approx(weights[expect & ~existing].sum())
    greedy = prob.greedy()
    assert prob.is_feasible(greedy.open_sites)
    assert greedy.objective <= best + 1e-6


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_p_site_equals_brute_force(seed, p):
    rng = np.random.default_rng(seed)
    cov = rng.random((8, 12)) < 0.25
    weights = rng.integers(1, 500, 12).astype(float)
    prob = BudgetedMaxCover.p_site(cov, weights, p)
    best, _ = brute_force(prob)
    sol = prob.solve()
    assert len(sol.open_sites) == p
    assert sol.objective == pytest.approx(best)
    assert prob.greedy().objective <= best + 1e-9
    # p-site greedy keeps the (1 - 1/e) guarantee
    assert prob.greedy().objective >= (1 - 1 / np.e) * best - 1e-9


def test_known_optimum_where_greedy_fails():
    # site 0 covers the big village cheaply per unit, but sites 1+2 together cover more
    cov = np.array([[1, 1, 0, 0],
                    [1, 0, 1, 0],
                    [0, 1, 0, 1]], dtype=bool)
    weights = np.array([10.0, 10.0, 9.0, 9.0])
    costs = np.array([4.0, 5.0, 5.0])
    prob = BudgetedMaxCover.from_matrix(cov, weights, costs, budget=10.0)
    sol = prob.solve()
    assert list(sol.open_sites) == [1, 2]
    assert sol.objective == 38.0
    # ratio greedy takes site 0 (5 per unit) first, then one of the others (1.8 per unit)
    assert sol.greedy_objective == 29.0
    assert sol.greedy_gap == pytest.approx((38 - 29) / 38)
    assert sol.bound == pytest.approx(38.0)


def test_greedy_single_site_safeguard():
    # one tiny cheap site has the best ratio; the expensive one covers far more
    cov = np.array([[1, 0], [0, 1]], dtype=bool)
    res = lazy_greedy(cov, np.array([1.0, 100.0]), np.array([0.1, 10.0]), budget=10.0)
    assert list(res.order) == [1] and res.objective == 100.0


def test_greedy_order_covers_all_chosen_sites():
    cov = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
    order, gains = greedy_order(cov, np.array([5.0, 5.0, 1.0]), np.ones(3), np.array([2, 1, 0]))
    assert list(order) == [0, 2, 1]
    assert list(gains) == [10.0, 1.0, 0.0]


def test_zero_budget_and_nothing_to_cover():
    cov = np.eye(3, dtype=bool)
    prob = BudgetedMaxCover.from_matrix(cov, np.zeros(3), np.ones(3), budget=5.0)
    sol = prob.solve()
    assert sol.method == "trivial" and sol.objective == 0.0 and len(sol.open_sites) == 0
    prob = BudgetedMaxCover.from_matrix(cov, np.ones(3), np.ones(3), budget=0.0)
    assert prob.solve().objective == 0.0
    # zero-cost sites (sharing an existing tower for free) are taken
    prob = BudgetedMaxCover.from_matrix(cov, np.ones(3), np.array([0.0, 0.0, 1.0]),
                                        budget=0.0)
    assert prob.solve().objective == 2.0


def test_bad_inputs_rejected():
    cov = np.eye(3, dtype=bool)
    with pytest.raises(InputError, match="weights has 2 values for 3 villages"):
        BudgetedMaxCover.from_matrix(cov, np.ones(2), np.ones(3), budget=1.0)
    with pytest.raises(InputError, match="costs must be finite"):
        BudgetedMaxCover.from_matrix(cov, np.ones(3), np.array([1, -1, 1]), budget=1.0)
    with pytest.raises(InputError, match="fixed_open"):
        BudgetedMaxCover.from_matrix(cov, np.ones(3), np.ones(3), budget=1.0, fixed_open=[5])
    prob = BudgetedMaxCover.from_matrix(cov, np.ones(3), np.ones(3), budget=1.0,
                                        fixed_open=[0, 1])
    with pytest.raises(SolverError, match="raise the budget"):
        prob.solve()


def test_larger_instance_solves_to_optimality():
    rng = np.random.default_rng(7)
    n_sites, n_villages, nnz = 120, 100, 600
    rows = rng.integers(0, n_sites, nnz)
    cols = rng.integers(0, n_villages, nnz)
    cov = sp.csr_matrix((np.ones(nnz, bool), (rows, cols)), shape=(n_sites, n_villages))
    weights = rng.integers(50, 800, n_villages).astype(float)
    costs = rng.uniform(1.5e9, 4e9, n_sites)
    prob = BudgetedMaxCover.from_matrix(cov, weights, costs, budget=12e9)
    sol = prob.solve(time_limit_s=60)
    assert sol.is_optimal
    assert sol.objective >= sol.greedy_objective
    assert sol.cost <= 12e9


def test_time_limit_returns_feasible_solution_with_gap():
    rng = np.random.default_rng(3)
    n_sites, n_villages, nnz = 300, 200, 2000
    rows = rng.integers(0, n_sites, nnz)
    cols = rng.integers(0, n_villages, nnz)
    cov = sp.csr_matrix((np.ones(nnz, bool), (rows, cols)), shape=(n_sites, n_villages))
    weights = rng.integers(50, 800, n_villages).astype(float)
    costs = rng.uniform(1.5e9, 4e9, n_sites)
    prob = BudgetedMaxCover.from_matrix(cov, weights, costs, budget=30e9)
    sol = prob.solve(time_limit_s=0.05)
    assert prob.is_feasible(sol.open_sites)
    assert sol.objective >= sol.greedy_objective - 1e-6
    assert sol.bound >= sol.objective - 1e-6
    assert 0.0 <= sol.gap <= 1.0
    if sol.status != "Optimal":
        assert sol.gap > 0 or sol.bound == sol.objective


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_dominated_and_duplicate_sites(seed, with_count):
    """Instances full of subsets and duplicates (what candidates on one hill look like)."""
    rng = np.random.default_rng(seed)
    parents = rng.random((4, 10)) < 0.4
    kids = parents[rng.integers(0, 4, 6)] & (rng.random((6, 10)) < 0.7)
    cov = np.r_[parents, kids, parents[:1]]  # 11 sites, one exact duplicate
    weights = rng.integers(1, 100, 10).astype(float)
    costs = rng.integers(1, 6, len(cov)).astype(float)
    fixed = rng.choice(len(cov), size=rng.integers(0, 2), replace=False)
    prob = BudgetedMaxCover.from_matrix(cov, weights, costs, budget=float(rng.integers(3, 15)),
                                        max_sites=3 if with_count else None, fixed_open=fixed)
    best, _ = brute_force(prob)
    if best == -np.inf:
        return
    sol = prob.solve()
    assert sol.objective == pytest.approx(best)
    assert prob.is_feasible(sol.open_sites)


def test_sites_adding_nothing_are_not_opened():
    # any two of the three sites cover everything; none dominates another. Money is left
    # over, but the third site adds nothing and must not be opened
    cov = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool)
    prob = BudgetedMaxCover.from_matrix(cov, np.ones(3), np.array([1.0, 2.0, 3.0]), budget=10)
    sol = prob.solve()
    assert sol.objective == 3.0
    assert list(sol.open_sites) == [0, 1] and sol.cost == 3.0
