"""Budgeted maximal covering as a mixed-integer programme, solved with HiGHS.

The model is built from a coverage matrix alone (sites × villages), separate from the
geometry that produced it, so that it can be tested on tiny matrices with known optima
(spopt's ``from_cost_matrix`` pattern)::

    maximise    Σ_i w_i · y_i
    subject to  y_i ≤ Σ_{j covers i} x_j        for every village i
                Σ_j c_j · x_j ≤ B                (budget, optional)
                Σ_j x_j ≤ p   (or = p)           (site count, optional)
                x_j ∈ {0, 1},  x_j = 1 for fixed sites,  0 ≤ y_i ≤ 1

``y`` may stay continuous: for integer ``x`` an optimal ``y`` is integer. Before solving,
villages with the same set of covering sites are merged (their weights summed) and villages
nobody can cover or that weigh nothing are dropped; both leave the optimum unchanged.
The lazy greedy solution (:mod:`analysis.rollout.greedy`) is passed to HiGHS as a warm
start and is the fallback when HiGHS returns no solution. The reported gap is
``(bound − objective) / bound`` with HiGHS's proven upper bound.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import scipy.sparse as sp

from phusong.analysis.rollout.greedy import lazy_greedy
from phusong.gis.errors import InputError, SolverError

logger = logging.getLogger(__name__)

__all__ = ["BudgetedMaxCover", "Solution", "brute_force"]

_TOL = 1e-9


@dataclasses.dataclass(frozen=True)
class Solution:
    """A solution of :class:`BudgetedMaxCover`.

    Attributes
    ----------
    open_sites
        Sorted indices of the open sites (fixed ones included).
    covered
        Boolean mask over villages covered by the open sites.
    objective
        Covered weight (villages in ``existing_covered`` count zero).
    bound
        Proven upper bound on the objective (equal to it when optimal).
    gap
        ``(bound − objective) / bound`` (0 when the bound is 0).
    status
        HiGHS model status (``"Optimal"``, ``"Time limit reached"`` …) or ``"greedy"``.
    solve_s
        Wall time of the solve, seconds.
    method
        ``"milp"`` (HiGHS), ``"greedy"`` or ``"trivial"`` (nothing to decide).
    cost
        Total cost of the open sites.
    greedy_objective
        Objective of the lazy greedy solution (the warm start).
    greedy_gap
        ``(bound − greedy_objective) / bound``.
    """

    open_sites: np.ndarray
    covered: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    solve_s: float
    method: str
    cost: float
    greedy_objective: float
    greedy_gap: float

    @property
    def is_optimal(self) -> bool:
        """True when HiGHS proved optimality (or there was nothing to decide)."""
        return self.method in ("milp", "trivial") and self.status == "Optimal"


def _gap(bound: float, value: float) -> float:
    if not np.isfinite(bound):
        return np.inf
    if abs(bound) <= _TOL:
        return 0.0
    return max(0.0, (bound - value) / abs(bound))


@dataclasses.dataclass
class BudgetedMaxCover:
    """A budgeted maximal covering instance.

    Build it with :meth:`from_matrix` (or :meth:`p_site` for the p-site maximal covering
    problem) and call :meth:`solve`.
    """

    coverage: sp.csr_matrix
    weights: np.ndarray
    costs: np.ndarray
    budget: float | None
    max_sites: int | None
    exact_count: bool
    fixed_open: np.ndarray

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_matrix(cls, coverage: sp.spmatrix | np.ndarray, weights: np.ndarray,
                    costs: np.ndarray, *, budget: float | None, max_sites: int | None = None,
                    fixed_open: np.ndarray | None = None,
                    existing_covered: np.ndarray | None = None,
                    exact_count: bool = False) -> BudgetedMaxCover:
        """Instance from a coverage matrix.

        Parameters
        ----------
        coverage
            Sites × villages, nonzero where the site covers the village.
        weights
            Non-negative weight per village.
        costs
            Non-negative cost per site (same unit as ``budget``).
        budget
            Spending limit, fixed sites included; ``None`` for none.
        max_sites
            Limit on the number of open sites, fixed sites included; ``None`` for none.
        fixed_open
            Indices of sites that must be open (e.g. already decided).
        existing_covered
            Boolean mask of villages already covered by existing sites: they add nothing.
        exact_count
            Open exactly ``max_sites`` sites (the p-site maximal covering problem).
        """
        cov = sp.csr_matrix(coverage, dtype=bool)
        cov.eliminate_zeros()
        cov.sort_indices()
        n_sites, n_villages = cov.shape
        w = np.asarray(weights, dtype=float).ravel()
        c = np.asarray(costs, dtype=float).ravel()
        problems = []
        if w.shape != (n_villages,):
            problems.append(f"weights has {w.size} values for {n_villages} villages")
        elif not (np.isfinite(w).all() and (w >= 0).all()):
            problems.append("weights must be finite and >= 0")
        if c.shape != (n_sites,):
            problems.append(f"costs has {c.size} values for {n_sites} sites")
        elif not (np.isfinite(c).all() and (c >= 0).all()):
            problems.append("costs must be finite and >= 0")
        if budget is not None and not budget >= 0:
            problems.append(f"budget={budget}: must be >= 0")
        if max_sites is not None and max_sites < 0:
            problems.append(f"max_sites={max_sites}: must be >= 0")
        if exact_count and max_sites is None:
            problems.append("exact_count needs max_sites")
        fixed = np.unique(np.asarray(fixed_open if fixed_open is not None else [],
                                     dtype=np.int64))
        if len(fixed) and (fixed.min() < 0 or fixed.max() >= n_sites):
            problems.append(f"fixed_open indices must lie in [0, {n_sites})")
        if existing_covered is not None:
            ex = np.asarray(existing_covered, dtype=bool).ravel()
            if ex.shape != (n_villages,):
                problems.append(f"existing_covered has {ex.size} values for {n_villages} "
                                "villages")
            else:
                w = np.where(ex, 0.0, w)
        if problems:
            raise InputError("rollout model: " + "; ".join(problems))
        return cls(coverage=cov, weights=w, costs=c, budget=budget, max_sites=max_sites,
                   exact_count=exact_count, fixed_open=fixed)

    @classmethod
    def p_site(cls, coverage: sp.spmatrix | np.ndarray, weights: np.ndarray, p: int,
               **kwargs) -> BudgetedMaxCover:
        """The p-site maximal covering problem (Church & ReVelle): exactly ``p`` sites,
        no budget (unit costs)."""
        n_sites = sp.csr_matrix(coverage).shape[0]
        return cls.from_matrix(coverage, weights, np.ones(n_sites), budget=None, max_sites=p,
                               exact_count=True, **kwargs)

    @property
    def n_sites(self) -> int:
        return self.coverage.shape[0]

    @property
    def n_villages(self) -> int:
        return self.coverage.shape[1]

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(self, sites: np.ndarray) -> tuple[float, float, np.ndarray]:
        """Objective, cost and covered mask of a set of open sites."""
        sites = np.asarray(sites, dtype=np.int64)
        covered = np.zeros(self.n_villages, dtype=bool)
        if len(sites):
            covered[self.coverage[sites].indices] = True
        return float(self.weights[covered].sum()), float(self.costs[sites].sum()), covered

    def is_feasible(self, sites: np.ndarray) -> bool:
        """Whether a set of open sites meets budget, count and fixed sites."""
        sites = np.unique(np.asarray(sites, dtype=np.int64))
        _, cost, _ = self.evaluate(sites)
        if self.budget is not None and cost > self.budget * (1 + _TOL) + _TOL:
            return False
        if self.max_sites is not None:
            if len(sites) > self.max_sites or (self.exact_count and
                                               len(sites) != self.max_sites):
                return False
        return bool(np.isin(self.fixed_open, sites).all())

    def _check_fixed(self) -> None:
        cost = float(self.costs[self.fixed_open].sum())
        if self.budget is not None and cost > self.budget * (1 + _TOL) + _TOL:
            raise SolverError(f"the {len(self.fixed_open)} fixed sites cost {cost:.6g}, more "
                              f"than the budget {self.budget:.6g}; raise the budget or fix "
                              "fewer sites")
        if self.max_sites is not None and len(self.fixed_open) > self.max_sites:
            raise SolverError(f"{len(self.fixed_open)} fixed sites exceed max_sites="
                              f"{self.max_sites}; raise max_sites")
        if self.exact_count and self.max_sites is not None and self.max_sites > self.n_sites:
            raise SolverError(f"cannot open exactly {self.max_sites} of {self.n_sites} sites; "
                              "lower p")

    # -- solving ----------------------------------------------------------------------------
    def greedy(self) -> Solution:
        """The lazy greedy solution (no bound: ``bound`` is ``inf``)."""
        self._check_fixed()
        t0 = time.perf_counter()
        g = lazy_greedy(self.coverage, self.weights, self.costs, budget=self.budget,
                        max_sites=self.max_sites, fixed_open=self.fixed_open)
        sites = self._pad(np.sort(g.order))
        obj, cost, covered = self.evaluate(sites)
        return Solution(open_sites=sites, covered=covered, objective=obj, bound=np.inf,
                        gap=np.inf, status="greedy", solve_s=time.perf_counter() - t0,
                        method="greedy", cost=cost, greedy_objective=obj, greedy_gap=np.inf)

    def _prune(self, sites: np.ndarray) -> np.ndarray:
        """Drop open sites that add no weight (costliest first; fixed sites stay).

        The objective does not charge for money left over, so a solver may open a site whose
        villages are all covered by others, or weigh nothing; such sites are removed.
        """
        keep = [int(j) for j in sites]
        fixed = set(self.fixed_open.tolist())
        count = np.zeros(self.n_villages, dtype=np.int64)
        for j in keep:
            count[self.coverage.indices[self.coverage.indptr[j]:self.coverage.indptr[j + 1]]] += 1
        for j in sorted(keep, key=lambda k: (-self.costs[k], -k)):
            if j in fixed:
                continue
            r = self.coverage.indices[self.coverage.indptr[j]:self.coverage.indptr[j + 1]]
            sole = r[count[r] == 1]
            if float(self.weights[sole].sum()) <= 0.0:
                keep.remove(j)
                count[r] -= 1
        return np.sort(np.asarray(keep, dtype=np.int64))

    def _pad(self, sites: np.ndarray) -> np.ndarray:
        """Add zero-gain sites (cheapest first) until an exact count is met."""
        if not (self.exact_count and self.max_sites is not None):
            return sites
        need = self.max_sites - len(sites)
        if need <= 0:
            return sites
        rest = np.setdiff1d(np.arange(self.n_sites), sites)
        rest = rest[np.argsort(self.costs[rest], kind="stable")]
        return np.sort(np.r_[sites, rest[:need]]).astype(np.int64)

    def solve(self, *, time_limit_s: float = 60.0, mip_rel_gap: float = 0.0,
              warm_start: str | None = "greedy", threads: int | None = None) -> Solution:
        """Solve exactly with HiGHS (falls back to greedy if HiGHS yields no solution).

        Parameters
        ----------
        time_limit_s
            HiGHS time limit; the best solution found so far is returned with its gap.
        mip_rel_gap
            Relative gap at which HiGHS stops (0: prove optimality).
        warm_start
            ``"greedy"`` passes the lazy greedy solution to HiGHS; ``None`` passes none.
        threads
            HiGHS threads (default: HiGHS's choice).

        Returns
        -------
        Solution

        Raises
        ------
        SolverError
            If the fixed sites alone break the budget or the count, or HiGHS fails.
        """
        import highspy

        self._check_fixed()
        t0 = time.perf_counter()
        greedy = lazy_greedy(self.coverage, self.weights, self.costs, budget=self.budget,
                             max_sites=self.max_sites, fixed_open=self.fixed_open)
        g_sites = self._pad(np.sort(greedy.order))
        g_obj = self.evaluate(g_sites)[0]

        # reduce: only villages that weigh something and that some site covers, merged by
        # their set of covering sites
        cov_t = self.coverage.T.tocsr()
        cols = np.flatnonzero((self.weights > 0) & (np.diff(cov_t.indptr) > 0))
        groups: dict[bytes, int] = {}
        group_w: list[float] = []
        group_sites: list[np.ndarray] = []
        for i in cols:
            s = cov_t.indices[cov_t.indptr[i]:cov_t.indptr[i + 1]]
            k = s.tobytes()
            gi = groups.get(k)
            if gi is None:
                groups[k] = len(group_w)
                group_w.append(float(self.weights[i]))
                group_sites.append(s)
            else:
                group_w[gi] += float(self.weights[i])
        n_x, n_y = self.n_sites, len(group_w)
        if n_y == 0 or (self.max_sites == 0):
            sites = self._pad(np.sort(self.fixed_open))
            obj, cost, covered = self.evaluate(sites)
            logger.info("rollout model: nothing to decide (%d coverable villages)", n_y)
            return Solution(open_sites=sites, covered=covered, objective=obj, bound=obj,
                            gap=0.0, status="Optimal", solve_s=time.perf_counter() - t0,
                            method="trivial", cost=cost, greedy_objective=g_obj,
                            greedy_gap=_gap(obj, g_obj))

        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        h.setOptionValue("mip_feasibility_tolerance", 1e-9)
        h.setOptionValue("primal_feasibility_tolerance", 1e-9)
        h.setOptionValue("random_seed", 0)
        if threads is not None:
            h.setOptionValue("threads", int(threads))

        # constraint matrix: one cover row per village group, then budget and count rows
        lens = np.fromiter((len(s) for s in group_sites), dtype=np.int64, count=n_y)
        r_x = np.repeat(np.arange(n_y), lens)
        c_x = np.concatenate(group_sites).astype(np.int64)
        # an exact count can be met by padding with useless sites afterwards (the objective
        # is monotone), so the model only needs "at most p" unless a budget is also present
        relax_count = self.exact_count and self.budget is None
        dominated = np.zeros(n_x, dtype=bool)
        if not (self.exact_count and not relax_count):
            dominated, dom_by = _dominated_sites(r_x, c_x, n_y, n_x, self.costs,
                                                 self.fixed_open)
        warm_sites = g_sites
        if dominated.any():  # the warm start uses each dominated site's dominator instead
            mapped = np.where(dominated[g_sites], dom_by[g_sites], g_sites)
            warm_sites = np.unique(mapped[mapped >= 0])
        rows = [r_x, np.arange(n_y)]
        colz = [c_x, n_x + np.arange(n_y)]
        vals = [-np.ones(len(r_x)), np.ones(n_y)]
        row_lo = [np.full(n_y, -np.inf)]
        row_hi = [np.zeros(n_y)]
        n_rows = n_y
        col_hi = np.ones(n_x + n_y)
        col_lo = np.zeros(n_x + n_y)
        col_lo[self.fixed_open] = 1.0
        col_hi[:n_x][dominated] = 0.0
        if self.budget is not None:
            scale = max(float(self.costs.max(initial=0.0)), 1.0)
            over = (self.costs > self.budget * (1 + _TOL) + _TOL)
            over[self.fixed_open] = False
            col_hi[:n_x][over] = 0.0
            nz = np.flatnonzero(self.costs > 0)
            rows.append(np.full(len(nz), n_rows))
            colz.append(nz)
            vals.append(self.costs[nz] / scale)
            row_lo.append(np.array([-np.inf]))
            row_hi.append(np.array([self.budget / scale]))
            n_rows += 1
        if self.max_sites is not None:
            rows.append(np.full(n_x, n_rows))
            colz.append(np.arange(n_x))
            vals.append(np.ones(n_x))
            row_lo.append(np.array([float(self.max_sites)
                                    if self.exact_count and not relax_count else -np.inf]))
            row_hi.append(np.array([float(self.max_sites)]))
            n_rows += 1
        A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(colz))),
                          shape=(n_rows, n_x + n_y))
        A.sort_indices()

        inf = highspy.kHighsInf
        lp = highspy.HighsLp()
        lp.num_col_ = n_x + n_y
        lp.num_row_ = n_rows
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.col_cost_ = np.r_[np.zeros(n_x), np.asarray(group_w)]
        lp.col_lower_ = col_lo
        lp.col_upper_ = col_hi
        lp.row_lower_ = np.where(np.isinf(np.concatenate(row_lo)), -inf,
                                 np.concatenate(row_lo))
        lp.row_upper_ = np.concatenate(row_hi)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(float)
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n_x + \
            [highspy.HighsVarType.kContinuous] * n_y
        status = h.passModel(lp)
        if status == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the rollout model (passModel failed)")

        if warm_start == "greedy" and self.is_feasible(self._pad(warm_sites)):
            x0 = np.zeros(n_x)
            x0[warm_sites] = 1.0
            open_mask = x0.astype(bool)
            y0 = np.array([1.0 if open_mask[s].any() else 0.0 for s in group_sites])
            sol = highspy.HighsSolution()
            sol.col_value = list(np.r_[x0, y0])
            sol.value_valid = True
            h.setSolution(sol)
        elif warm_start not in (None, "greedy"):
            raise InputError(f"warm_start={warm_start!r}: use 'greedy' or None")

        h.run()
        solve_s = time.perf_counter() - t0
        model_status = h.modelStatusToString(h.getModelStatus())
        info = h.getInfo()
        bound = float(info.mip_dual_bound)
        have_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if model_status == "Infeasible":
            raise SolverError("the rollout model is infeasible: check budget, max_sites and "
                              "fixed sites")
        if have_solution:
            x = np.asarray(h.getSolution().col_value[:n_x])
            sites = self._pad(self._prune(np.flatnonzero(x > 0.5).astype(np.int64)))
            method = "milp"
            if not self.is_feasible(sites):
                logger.warning("HiGHS solution breaks a constraint by rounding; using greedy")
                sites, method = g_sites, "greedy"
        else:
            logger.warning("HiGHS returned no solution (%s); using the greedy one",
                           model_status)
            sites, method = g_sites, "greedy"
        obj, cost, covered = self.evaluate(sites)
        if obj < g_obj - _TOL:  # never worse than the warm start
            sites, method = g_sites, "greedy"
            obj, cost, covered = self.evaluate(sites)
        # HiGHS may stop before it has a bound; all coverable weight is always one
        trivial_ub = float(np.sum(group_w))
        if not np.isfinite(bound):
            bound = obj if model_status == "Optimal" else trivial_ub
        bound = max(min(bound, trivial_ub), obj)
        sol = Solution(open_sites=sites, covered=covered, objective=obj, bound=bound,
                       gap=_gap(bound, obj), status=model_status, solve_s=solve_s,
                       method=method, cost=cost, greedy_objective=g_obj,
                       greedy_gap=_gap(bound, g_obj))
        logger.info("solved rollout MILP (%d sites, %d dominated, × %d village groups from %d "
                    "villages): %s, objective %.6g, bound %.6g, gap %.3g%%, greedy %.6g, "
                    "%.2f s", n_x, int(dominated.sum()), n_y, self.n_villages, model_status,
                    obj, bound, 100 * sol.gap, g_obj, solve_s)
        return sol


def _dominated_sites(group_of: np.ndarray, site_of: np.ndarray, n_groups: int, n_sites: int,
                     costs: np.ndarray, fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sites that another site makes useless: it covers a superset for no more money.

    Site ``j`` is dominated by ``k`` when every village group ``j`` covers is covered by ``k``
    and ``k`` costs no more (or is fixed open); equal sites at equal cost keep the lowest
    index. Replacing a dominated site by its dominator never lowers the objective nor raises
    cost or count, so fixing dominated sites to 0 keeps an optimum. Sites covering nothing are
    dominated too. Fixed sites are never dominated.

    Returns
    -------
    tuple
        ``(dominated, dominator)``: a mask, and for each dominated site an undominated site
        that dominates it (``-1`` for sites covering nothing).
    """
    S = sp.csr_matrix((np.ones(len(site_of), dtype=np.int32), (site_of, group_of)),
                      shape=(n_sites, n_groups))
    size = np.diff(S.indptr)
    is_fixed = np.zeros(n_sites, dtype=bool)
    is_fixed[fixed] = True
    overlap = (S @ S.T).tocoo()
    j, k, common = overlap.row, overlap.col, overlap.data
    cj, ck = costs[j], costs[k]
    better = is_fixed[k] | (ck < cj) | ((ck == cj) & ((size[k] > size[j]) | (k < j)))
    hit = (j != k) & (common == size[j]) & better & ~is_fixed[j]
    dominated = np.zeros(n_sites, dtype=bool)
    dom_by = np.full(n_sites, -1, dtype=np.int64)
    dominated[j[hit]] = True
    dom_by[j[hit]] = k[hit]
    empty = (size == 0) & ~is_fixed
    dominated[empty] = True
    dom_by[empty] = -1
    # follow chains to an undominated dominator
    while True:  # acyclic: each step goes to a strictly "better" site
        has = dom_by >= 0
        target = np.where(has, dom_by, 0)
        step = has & dominated[target]
        if not step.any():
            break
        dom_by[step] = dom_by[target[step]]
    return dominated, dom_by


def brute_force(problem: BudgetedMaxCover) -> tuple[float, np.ndarray]:
    """Optimum by enumerating every subset of sites (for tests; up to 20 sites).

    Returns
    -------
    tuple
        ``(objective, sites)`` of a best feasible subset; ``(-inf, empty)`` if none.
    """
    n = problem.n_sites
    if n > 20:
        raise InputError(f"brute_force: {n} sites is too many to enumerate (max 20)")
    masks = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(bool)
    dense = problem.coverage.toarray().astype(np.int32)
    covered = (masks.astype(np.int32) @ dense) > 0
    objective = covered.astype(float) @ problem.weights
    cost = masks.astype(float) @ problem.costs
    count = masks.sum(axis=1)
    ok = masks[:, problem.fixed_open].all(axis=1) if len(problem.fixed_open) else \
        np.ones(len(masks), dtype=bool)
    if problem.budget is not None:
        ok &= cost <= problem.budget * (1 + _TOL) + _TOL
    if problem.max_sites is not None:
        ok &= (count == problem.max_sites) if problem.exact_count else \
            (count <= problem.max_sites)
    if not ok.any():
        return -np.inf, np.array([], dtype=np.int64)
    best = int(np.flatnonzero(ok)[np.argmax(objective[ok])])
    return float(objective[best]), np.flatnonzero(masks[best]).astype(np.int64)
