"""Lazy greedy heuristic for budgeted maximal covering.

Picks sites one by one by marginal covered weight per unit cost (a priority queue with lazy
re-evaluation: a popped site's gain is recomputed and it is only taken when it still beats
the next one in the queue, which is exact because gains only shrink). The result is
compared with the best single affordable site and the better of the two kept (Khuller, Moss
& Naor 1999: this is within a factor ``(1 − 1/e)/2`` of the optimum; with unit costs and a
site count the plain greedy is within ``1 − 1/e``).

The greedy solution is the MILP's warm start and its fallback; it also orders the chosen
sites of any plan (:func:`greedy_order`).
"""

from __future__ import annotations

import dataclasses
import heapq
import logging

import numpy as np
import scipy.sparse as sp

logger = logging.getLogger(__name__)

__all__ = ["GreedyResult", "greedy_order", "lazy_greedy"]

_EPS = 1e-12


@dataclasses.dataclass(frozen=True)
class GreedyResult:
    """Outcome of :func:`lazy_greedy`.

    Attributes
    ----------
    order
        Site indices in the order they were picked (fixed sites first).
    gains
        Marginal covered weight each pick added.
    objective
        Total covered weight.
    cost
        Total cost of the picked sites.
    covered
        Boolean mask over villages (columns of the coverage matrix).
    """

    order: np.ndarray
    gains: np.ndarray
    objective: float
    cost: float
    covered: np.ndarray


def _rows(coverage: sp.csr_matrix) -> list[np.ndarray]:
    return [coverage.indices[coverage.indptr[j]:coverage.indptr[j + 1]]
            for j in range(coverage.shape[0])]


def _run(rows: list[np.ndarray], weights: np.ndarray, costs: np.ndarray, budget: float,
         max_sites: int | None, fixed: np.ndarray, candidates: np.ndarray,
         by_ratio: bool) -> tuple[list[int], list[float], np.ndarray, float]:
    covered = np.zeros(len(weights), dtype=bool)
    order: list[int] = []
    gains: list[float] = []
    spent = 0.0
    for j in fixed:
        r = rows[j]
        gains.append(float(weights[r[~covered[r]]].sum()))
        covered[r] = True
        order.append(int(j))
        spent += costs[j]

    def key(gain: float, j: int) -> float:
        if not by_ratio:
            return gain
        c = costs[j]
        return np.inf if c <= _EPS else gain / c

    heap: list[tuple[float, float, int]] = []
    for j in candidates:
        r = rows[j]
        g = float(weights[r].sum())
        if g > 0:
            heap.append((-key(g, j), costs[j], int(j)))
    heapq.heapify(heap)
    while heap and (max_sites is None or len(order) < max_sites):
        _negk, _c, j = heapq.heappop(heap)
        if spent + costs[j] > budget * (1 + 1e-12) + _EPS:
            continue  # never fits again: the budget only shrinks
        r = rows[j]
        g = float(weights[r[~covered[r]]].sum())
        if g <= 0:
            continue
        k = key(g, j)
        if heap and k < -heap[0][0] - 1e-12 * max(1.0, abs(k)):
            heapq.heappush(heap, (-k, costs[j], j))  # stale: re-queue with the fresh gain
            continue
        order.append(j)
        gains.append(g)
        covered[r] = True
        spent += costs[j]
    return order, gains, covered, spent


def lazy_greedy(coverage: sp.spmatrix, weights: np.ndarray, costs: np.ndarray, *,
                budget: float | None = None, max_sites: int | None = None,
                fixed_open: np.ndarray | None = None) -> GreedyResult:
    """Budgeted maximal covering by lazy greedy.

    Parameters
    ----------
    coverage
        Sites × villages sparse boolean matrix (nonzero = site covers village).
    weights
        Weight per village (population × priority); villages already covered get 0.
    costs
        Cost per site.
    budget
        Spending limit (``None``: no limit).
    max_sites
        Limit on the number of open sites, fixed ones included (``None``: no limit).
    fixed_open
        Site indices that are open whatever they cost (their cost counts).

    Returns
    -------
    GreedyResult
        A feasible solution whenever the fixed sites alone are feasible.
    """
    cov = sp.csr_matrix(coverage, dtype=bool)
    cov.eliminate_zeros()
    cov.sort_indices()
    w = np.asarray(weights, dtype=float)
    c = np.asarray(costs, dtype=float)
    n_sites = cov.shape[0]
    fixed = np.unique(np.asarray(fixed_open if fixed_open is not None else [], dtype=np.int64))
    bud = np.inf if budget is None else float(budget)
    rows = _rows(cov)
    is_fixed = np.zeros(n_sites, dtype=bool)
    is_fixed[fixed] = True
    cand = np.flatnonzero(~is_fixed)

    best = _run(rows, w, c, bud, max_sites, fixed, cand, by_ratio=budget is not None)
    if budget is not None:
        # the classic safeguard: the single best affordable site (after the fixed ones)
        base_cov = np.zeros(len(w), dtype=bool)
        for j in fixed:
            base_cov[rows[j]] = True
        base_cost = float(c[fixed].sum())
        room = max_sites is None or len(fixed) < max_sites
        best_single, best_gain = -1, 0.0
        if room:
            for j in cand:
                if base_cost + c[j] <= bud * (1 + 1e-12) + _EPS:
                    r = rows[j]
                    g = float(w[r[~base_cov[r]]].sum())
                    if g > best_gain:
                        best_single, best_gain = int(j), g
        if best_single >= 0 and best_gain > sum(best[1][len(fixed):]) + _EPS:
            cov_single = base_cov.copy()
            cov_single[rows[best_single]] = True
            fixed_gains = _run(rows, w, c, np.inf, None, fixed, np.array([], int), False)[1]
            best = ([*fixed.tolist(), best_single], [*fixed_gains, best_gain], cov_single,
                    base_cost + float(c[best_single]))
    order, gains, covered, spent = best
    obj = float(w[covered].sum())
    logger.info("greedy: %d sites, objective %.6g, cost %.6g", len(order), obj, spent)
    return GreedyResult(order=np.asarray(order, dtype=np.int64),
                        gains=np.asarray(gains, dtype=float), objective=obj, cost=float(spent),
                        covered=covered)


def greedy_order(coverage: sp.spmatrix, weights: np.ndarray, costs: np.ndarray,
                 sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order a chosen set of sites by decreasing marginal weight per cost.

    Every site of ``sites`` appears once (those adding nothing come last, cheapest first).

    Returns
    -------
    tuple
        ``(order, gains)``: site indices and the marginal weight each adds in that order.
    """
    cov = sp.csr_matrix(coverage, dtype=bool)
    rows = _rows(cov)
    w = np.asarray(weights, dtype=float)
    c = np.asarray(costs, dtype=float)
    left = [int(j) for j in sites]
    covered = np.zeros(cov.shape[1], dtype=bool)
    order: list[int] = []
    gains: list[float] = []
    while left:
        best_j, best_k, best_g = left[0], -1.0, 0.0
        for j in left:
            r = rows[j]
            g = float(w[r[~covered[r]]].sum())
            k = np.inf if c[j] <= _EPS and g > 0 else (g / c[j] if c[j] > _EPS else 0.0)
            if k > best_k or (k == best_k and c[j] < c[best_j]):
                best_j, best_k, best_g = j, k, g
        order.append(best_j)
        gains.append(best_g)
        covered[rows[best_j]] = True
        left.remove(best_j)
    return np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=float)
