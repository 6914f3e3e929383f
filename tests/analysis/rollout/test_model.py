"""The rollout optimiser on tiny coverage matrices, checked against brute force.

The brute force here (:func:`_brute_lex`) is written from the problem statement with
``itertools`` and plain arrays; it shares no code with :mod:`analysis.rollout.model`.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from phusong.analysis.rollout.greedy import greedy_order, lazy_greedy
from phusong.analysis.rollout.model import BudgetedMaxCover, brute_force
from phusong.gis.errors import InputError, SolverError


def _brute_lex(cov, weights, costs, *, budget=None, max_sites=None, fixed=(), existing=None,
               exact=False):
    """(most covered weight, least cost at it, fewest sites at both) over every subset."""
    cov = np.asarray(cov, dtype=bool)
    w = np.asarray(weights, dtype=float).copy()
    if existing is not None:
        w[np.asarray(existing, dtype=bool)] = 0.0
    n = cov.shape[0]
    best = None
    for k in range(n + 1):
        for subset in itertools.combinations(range(n), k):
            if not set(int(f) for f in fixed) <= set(subset):
                continue
            if max_sites is not None and (k != max_sites if exact else k > max_sites):
                continue
            cost = float(sum(costs[j] for j in subset))
            if budget is not None and cost > budget * (1 + 1e-9):
                continue
            hit = cov[list(subset)].any(axis=0) if subset else np.zeros(cov.shape[1], bool)
            key = (-float(w[hit].sum()), cost, k)
            if best is None or key < best:
                best = key
    if best is None:
        return None
    return -best[0], best[1], best[2]


#: issue 12: HiGHS reported 6015 as optimal (it handed back the greedy MIP start)
ISSUE12_COV = np.array([[1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0],
                        [0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1],
                        [1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0],
                        [0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0],
                        [0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0],
                        [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0]], bool)
ISSUE12_W = np.array([815, 841, 513, 382, 533, 220, 269, 432, 775, 836, 525, 459, 251, 559.])
ISSUE12_C = np.array([8e8, 3e9, 2.1e9, 1e8, 9e8, 1e8])


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


@settings(max_examples=300, deadline=None, derandomize=True)
@given(instances())
@example((ISSUE12_COV, ISSUE12_W, ISSUE12_C, 6.1e9, None, np.array([], int),
          np.zeros(14, bool)))
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
    # lexicographic: least cost at that coverage, then fewest sites (independent brute force)
    want = _brute_lex(cov, weights, costs, budget=budget, max_sites=max_sites, fixed=fixed,
                      existing=existing)
    assert sol.objective == pytest.approx(want[0], abs=1e-6)
    assert sol.cost == pytest.approx(want[1], rel=1e-9)
    assert len(sol.open_sites) == want[2]
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


@settings(max_examples=60, deadline=None, derandomize=True)
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
    assert sol.objective == pytest.approx(_brute_lex(cov, weights, np.ones(8), max_sites=p,
                                                     exact=True)[0])
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
    for bad in (np.inf, np.nan, -1.0):
        with pytest.raises(InputError, match=r"budget=.*must be finite"):
            BudgetedMaxCover.from_matrix(cov, np.ones(3), np.ones(3), budget=bad)
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


@settings(max_examples=60, deadline=None, derandomize=True)
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
    want = _brute_lex(cov, weights, costs, budget=prob.budget,
                      max_sites=3 if with_count else None, fixed=fixed)
    assert (sol.objective, sol.cost, len(sol.open_sites)) == pytest.approx(want)


def test_sites_adding_nothing_are_not_opened():
    # any two of the three sites cover everything; none dominates another. Money is left
    # over, but the third site adds nothing and must not be opened
    cov = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool)
    prob = BudgetedMaxCover.from_matrix(cov, np.ones(3), np.array([1.0, 2.0, 3.0]), budget=10)
    sol = prob.solve()
    assert sol.objective == 3.0
    assert list(sol.open_sites) == [0, 1] and sol.cost == 3.0


@pytest.mark.parametrize("warm_start", [None, "greedy"])
def test_issue12_false_optimum(warm_start):
    """HiGHS once returned its MIP start (6015) as optimal; 6574 is reachable."""
    prob = BudgetedMaxCover.from_matrix(sp.csr_matrix(ISSUE12_COV), ISSUE12_W, ISSUE12_C,
                                        budget=6.1e9, max_sites=None,
                                        fixed_open=np.array([], int),
                                        existing_covered=np.zeros(14, bool))
    sol = prob.solve(warm_start=warm_start)
    assert _brute_lex(ISSUE12_COV, ISSUE12_W, ISSUE12_C, budget=6.1e9) == (6574.0, 5.3e9, 4)
    assert sol.is_optimal and sol.gap == 0.0
    assert sol.objective == 6574.0
    # {0,1,2,3} (6.0e9) covers 6574 too, but {1,2,3,5} does it for 5.3e9
    assert list(sol.open_sites) == [1, 2, 3, 5] and sol.cost == pytest.approx(5.3e9)
    assert sol.greedy_objective == 6015.0
    assert brute_force(prob)[0] == 6574.0 and list(brute_force(prob)[1]) == [1, 2, 3, 5]


def test_lexicographic_cost_then_sites():
    # sites 0+1 and site 2 cover the same two villages; 2 is cheaper; 3 and 4 cost the same
    # as 2 but together (two sites at 2.5 each) only reach the same total
    cov = np.array([[1, 0], [0, 1], [1, 1], [1, 0], [0, 1]], dtype=bool)
    w = np.array([10.0, 10.0])
    prob = BudgetedMaxCover.from_matrix(cov, w, np.array([4.0, 4.0, 5.0, 2.5, 2.5]),
                                        budget=100.0)
    sol = prob.solve()
    assert sol.objective == 20.0 and sol.cost == 5.0 and list(sol.open_sites) == [2]
    assert sol.is_optimal and sol.cost_gap == 0.0 and sol.sites_gap == 0.0
    assert sol.stage_status == ("Optimal", "Optimal", "Optimal")
    assert _brute_lex(cov, w, np.array([4.0, 4.0, 5.0, 2.5, 2.5]), budget=100.0) == \
        (20.0, 5.0, 1)


def test_gap_covers_the_cost_stage(monkeypatch):
    """When the cost stage is not proven, the reported gap says so (it is not 0 %)."""
    from phusong.analysis.rollout import model

    real = model._run_stage
    calls = []

    def stop_after_stage_1(h, highspy, deadline, warm, value, *, sense):
        calls.append(sense)
        if len(calls) == 1:
            return real(h, highspy, deadline, warm, value, sense=sense)
        return "Time limit reached", None, np.nan, np.nan

    monkeypatch.setattr(model, "_run_stage", stop_after_stage_1)
    cov = np.array([[1, 0], [0, 1], [1, 1]], dtype=bool)
    prob = BudgetedMaxCover.from_matrix(cov, np.array([10.0, 10.0]),
                                        np.array([4.0, 4.0, 5.0]), budget=100.0)
    sol = prob.solve()
    assert sol.objective == 20.0 and sol.coverage_gap == 0.0
    assert sol.stage_status[1] == "Time limit reached"
    assert not sol.is_optimal
    assert sol.cost_gap > 0 and sol.gap == sol.cost_gap


@pytest.mark.parametrize("verbose", [False, True])
def test_highs_quiet_unless_asked(verbose):
    code = ("import numpy as np\n"
            "from analysis.rollout.model import BudgetedMaxCover\n"
            "p = BudgetedMaxCover.from_matrix(np.eye(3, dtype=bool), np.ones(3), np.ones(3),"
            " budget=2.0)\n"
            f"s = p.solve(verbose={verbose})\n"
            "print('objective', s.objective)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "objective 2.0" in out
    assert ("Running HiGHS" in out) is verbose
