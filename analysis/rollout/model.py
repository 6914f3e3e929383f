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
nobody can cover or that weigh nothing are dropped; both leave the optimum unchanged. Sites
that another covers a superset of for no more money are fixed closed (swapping one for its
dominator never lowers coverage nor raises cost or count).

The solve is lexicographic, on the same model: (1) the most covered weight ``z*``; (2) the
least cost among plans covering ``z*`` (row ``Σ w·y ≥ z*``, objective ``min Σ c·x``); (3) the
fewest sites among those (row ``Σ c·x ≤ cost*``, objective ``min Σ x``). The reported gap
is the largest of the three stages' relative gaps, each computed from the plan as evaluated
here and HiGHS's proven bound, so a 0 gap means the whole lexicographic objective is proven.

The lazy greedy solution (:mod:`analysis.rollout.greedy`) is the baseline reported beside
the optimum and the fallback when HiGHS returns no solution. It is *not* passed to HiGHS as a
MIP start by default: HiGHS 1.16 maps a start through presolve wrongly on some instances,
prices it at the optimum in the reduced space, stops at the root and hands the start back
with status "Optimal" (issue 12: objective 6015 reported optimal where 6574 is reachable).
Every stage's solution is re-evaluated here and compared with HiGHS's reported objective
(:func:`_run_stage`), which catches that failure even when a start is asked for.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

import numpy as np
import scipy.sparse as sp

from phusong.analysis.rollout.greedy import lazy_greedy
from phusong.gis.errors import InputError, SolverError

logger = logging.getLogger(__name__)

__all__ = ["BudgetedMaxCover", "Solution", "brute_force"]

_TOL = 1e-9
#: a gap at most this counts as proven optimal (HiGHS's own absolute-gap tolerance scale)
_OPT_TOL = 1e-6
#: the third stage (fewest sites) gets this share of the time limit, at least _STAGE3_MIN_S
_STAGE3_SHARE = 0.25
_STAGE3_MIN_S = 2.0


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
    coverage_gap
        ``(bound − objective) / bound``: the gap of the first stage (covered weight).
    cost_bound, cost_gap
        Proven lower bound on the cost of any plan covering ``objective``, and
        ``(cost − cost_bound) / cost`` (second stage).
    sites_bound, sites_gap
        Proven lower bound on the number of sites of any plan at that objective and cost, and
        ``(sites − sites_bound) / sites`` (third stage).
    stage_status
        HiGHS status of each stage (``"Not run"`` when an earlier one was not solved).
    stage_s
        Wall time of each stage, seconds (the greedy baseline and model building are in
        ``solve_s`` only).

    The solution is lexicographically optimal — most covered weight, then least cost at that
    weight, then fewest sites — when :attr:`is_optimal`; ``gap`` is the largest of the three
    stage gaps, so it is 0 only when all three are proven.
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
    coverage_gap: float = np.nan
    cost_bound: float = 0.0
    cost_gap: float = np.nan
    sites_bound: float = 0.0
    sites_gap: float = np.nan
    stage_status: tuple[str, ...] = ()
    stage_s: tuple[float, ...] = ()

    @property
    def is_optimal(self) -> bool:
        """True when every stage is proven optimal (or there was nothing to decide)."""
        return (self.method in ("milp", "trivial") and self.status == "Optimal"
                and self.gap <= _OPT_TOL)


def _gap(bound: float, value: float) -> float:
    if not np.isfinite(bound):
        return np.inf
    if abs(bound) <= _TOL:
        return 0.0
    gap = (bound - value) / abs(bound)
    return gap if gap > 1e-12 else 0.0  # rounding noise is not a gap


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
        if budget is not None and not (np.isfinite(budget) and budget >= 0):
            problems.append(f"budget={budget}: must be finite and >= 0 (None: no limit)")
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
              warm_start: str | None = None, threads: int | None = None,
              verbose: bool = False) -> Solution:
        """Solve exactly with HiGHS, lexicographically (falls back to greedy if HiGHS yields
        no solution).

        Three stages on one model: (1) maximise the covered weight; (2) at that weight,
        minimise the cost; (3) at that weight and cost, minimise the number of sites. Each
        stage's solution is checked by evaluating the chosen sites here, not by trusting the
        solver's report.

        Parameters
        ----------
        time_limit_s
            HiGHS time limit for the three stages together (the third, a tie-break, gets at
            most a quarter of it, at least 2 s); the best plan found so far is returned with
            its gaps.
        mip_rel_gap
            Relative gap at which HiGHS stops each stage (0: prove optimality).
        warm_start
            ``"greedy"`` passes the lazy greedy solution to HiGHS as a MIP start; ``None``
            (default) passes none. HiGHS 1.16 can mis-map a MIP start through presolve and
            return the start itself as "optimal" (issue 12); a returned solution whose value
            differs from HiGHS's reported objective is detected and the stage re-solved
            without the start.
        threads
            HiGHS threads (default: HiGHS's choice).
        verbose
            Let HiGHS print its log (and banner) on stdout.

        Returns
        -------
        Solution

        Raises
        ------
        SolverError
            If the fixed sites alone break the budget or the count, or HiGHS fails.
        """
        import highspy

        if warm_start not in (None, "greedy"):
            raise InputError(f"warm_start={warm_start!r}: use 'greedy' or None")
        self._check_fixed()
        t0 = time.perf_counter()
        deadline = t0 + float(time_limit_s)
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
        fixed_cost = float(self.costs[self.fixed_open].sum())
        if n_y == 0 or (self.max_sites == 0):
            # nothing to cover: the fixed sites (padded with the cheapest to an exact count)
            sites = self._pad(np.sort(self.fixed_open))
            obj, cost, covered = self.evaluate(sites)
            logger.info("rollout model: nothing to decide (%d coverable villages)", n_y)
            return Solution(open_sites=sites, covered=covered, objective=obj, bound=obj,
                            gap=0.0, status="Optimal", solve_s=time.perf_counter() - t0,
                            method="trivial", cost=cost, greedy_objective=g_obj,
                            greedy_gap=_gap(obj, g_obj), coverage_gap=0.0, cost_bound=cost,
                            cost_gap=0.0, sites_gap=0.0,
                            sites_bound=float(len(sites)),
                            stage_status=("Optimal", "Optimal", "Optimal"))

        # an exact count can be met by padding with useless sites afterwards (the objective
        # is monotone), so the model only needs "at most p" unless a budget is also present
        # or the sites cost different amounts (then padding is part of the cost stage)
        same_cost = bool(np.ptp(self.costs) <= _TOL * max(1.0, float(np.abs(self.costs).max(
            initial=0.0))))
        relax_count = self.exact_count and self.budget is None and same_cost
        lens = np.fromiter((len(s) for s in group_sites), dtype=np.int64, count=n_y)
        r_x = np.repeat(np.arange(n_y), lens)
        c_x = np.concatenate(group_sites).astype(np.int64)
        dominated = np.zeros(n_x, dtype=bool)
        dom_by = np.full(n_x, -1, dtype=np.int64)
        if not self.exact_count or relax_count:
            # a dominator covers a superset for no more money: swapping keeps coverage, cost
            # and count no worse, so every stage of the lexicographic order keeps an optimum
            dominated, dom_by = _dominated_sites(r_x, c_x, n_y, n_x, self.costs,
                                                 self.fixed_open)
        scale = max(float(self.costs.max(initial=0.0)), 1.0)
        h = _highs(verbose)
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        h.setOptionValue("mip_feasibility_tolerance", 1e-9)
        h.setOptionValue("primal_feasibility_tolerance", 1e-9)
        h.setOptionValue("random_seed", 0)
        if threads is not None:
            h.setOptionValue("threads", int(threads))
        self._pass_model(h, highspy, group_w, r_x, c_x, n_y, dominated, scale, relax_count)

        warm = None
        if warm_start == "greedy":
            warm_sites = g_sites
            if dominated.any():  # the start uses each dominated site's dominator instead
                mapped = np.where(dominated[g_sites], dom_by[g_sites], g_sites)
                warm_sites = np.unique(mapped[mapped >= 0])
            if self.is_feasible(self._pad(warm_sites)):
                x0 = np.zeros(n_x)
                x0[warm_sites] = 1.0
                open_mask = x0.astype(bool)
                y0 = np.array([1.0 if open_mask[s].any() else 0.0 for s in group_sites])
                warm = np.r_[x0, y0]

        def finish(x: np.ndarray) -> np.ndarray:
            return self._pad(self._prune(np.flatnonzero(x[:n_x] > 0.5).astype(np.int64)))

        # -- stage 1: most covered weight ---------------------------------------------------
        def value1(x: np.ndarray) -> float:
            return self.evaluate(np.flatnonzero(x[:n_x] > 0.5))[0]

        times = [0.0, 0.0, 0.0]
        ts = time.perf_counter()
        st1, x1, bound, _rep1 = _run_stage(h, highspy, deadline, warm, value1, sense=-1)
        times[0] = time.perf_counter() - ts
        if st1 == "Infeasible":
            raise SolverError("the rollout model is infeasible: check budget, max_sites and "
                              "fixed sites")
        method = "milp"
        sites = g_sites
        if x1 is not None:
            sites = finish(x1)
            if not self.is_feasible(sites):
                logger.warning("HiGHS solution breaks a constraint by rounding; using greedy")
                sites, method = g_sites, "greedy"
        else:
            logger.warning("HiGHS returned no solution (%s); using the greedy one", st1)
            method = "greedy"
        obj, cost, covered = self.evaluate(sites)
        if obj < g_obj - _TOL * max(1.0, abs(g_obj)):  # never worse than greedy
            sites, method = g_sites, "greedy"
            obj, cost, covered = self.evaluate(sites)
        # HiGHS may stop before it has a bound; all coverable weight is always one
        trivial_ub = float(np.sum(group_w))
        if not np.isfinite(bound):
            bound = obj if st1 == "Optimal" else trivial_ub
        bound = max(min(bound, trivial_ub), obj)
        cov_gap = _gap(bound, obj)
        # trivial bounds for the later stages (replaced by HiGHS's when a stage runs)
        cost_lb, sites_lb = fixed_cost, float(len(self.fixed_open))
        st2 = st3 = "Not run"

        # -- stage 2: least cost at that weight ---------------------------------------------
        if relax_count and method == "milp":
            # exactly p sites of one price: every plan costs the same and has p sites
            st2 = st3 = "Optimal"
            cost_lb, sites_lb = cost, float(len(sites))
        elif method == "milp":
            delta = 1e-7 * max(1.0, abs(obj))
            h.addRow(obj - delta, highspy.kHighsInf, n_y,
                     np.arange(n_x, n_x + n_y, dtype=np.int32), np.asarray(group_w, float))
            h.changeObjectiveSense(highspy.ObjSense.kMinimize)
            h.changeColsCost(n_x + n_y, np.arange(n_x + n_y, dtype=np.int32),
                             np.r_[self.costs / scale, np.zeros(n_y)])

            def value2(x: np.ndarray) -> float:
                return float(self.costs[np.flatnonzero(x[:n_x] > 0.5)].sum()) / scale

            ts = time.perf_counter()
            st2, x2, lb2, _ = _run_stage(h, highspy, deadline, None, value2, sense=1)
            times[1] = time.perf_counter() - ts
            if x2 is not None:
                cand = finish(x2)
                o2, c2, _ = self.evaluate(cand)
                if self.is_feasible(cand) and o2 >= obj - _TOL * max(1.0, abs(obj)) \
                        and c2 <= cost * (1 + _TOL) + _TOL:
                    sites = cand
                    obj, cost, covered = self.evaluate(sites)
            if np.isfinite(lb2):
                cost_lb = max(cost_lb, min(lb2 * scale, cost))
            if cost - cost_lb <= 1e-9 * max(1.0, cost):
                cost_lb = cost

            # -- stage 3: fewest sites at that weight and cost ------------------------------
            if st2 == "Optimal":
                eps = 1e-9 * max(1.0, cost / scale)
                idx = np.flatnonzero(self.costs > 0)
                h.addRow(-highspy.kHighsInf, cost / scale + eps, len(idx),
                         idx.astype(np.int32), self.costs[idx] / scale)
                h.changeColsCost(n_x + n_y, np.arange(n_x + n_y, dtype=np.int32),
                                 np.r_[np.ones(n_x), np.zeros(n_y)])

                def value3(x: np.ndarray) -> float:
                    return float(np.count_nonzero(x[:n_x] > 0.5))

                # a tie-break among plans of equal coverage and cost: proving the fewest sites
                # can take long where many candidates cost the same, so it gets a share of
                # the time limit; if unproven, its gap shows in the reported gap
                ts = time.perf_counter()
                share = max(_STAGE3_MIN_S, _STAGE3_SHARE * float(time_limit_s))
                st3, x3, lb3, _ = _run_stage(h, highspy, min(deadline, ts + share), None,
                                             value3, sense=1)
                times[2] = time.perf_counter() - ts
                if x3 is not None:
                    cand = finish(x3)
                    o3, c3, _ = self.evaluate(cand)
                    if self.is_feasible(cand) and o3 >= obj - _TOL * max(1.0, abs(obj)) \
                            and c3 <= cost * (1 + _TOL) + _TOL and len(cand) <= len(sites):
                        sites = cand
                        obj, cost, covered = self.evaluate(sites)
                if np.isfinite(lb3):
                    sites_lb = max(sites_lb, min(float(np.ceil(lb3 - 1e-6)), len(sites)))
        if self.exact_count and self.max_sites is not None:
            sites_lb = float(len(sites))  # the count is fixed
        cost_gap = _gap(cost, cost_lb) if cost > 0 else 0.0
        sites_gap = _gap(float(len(sites)), sites_lb) if len(sites) else 0.0
        stages = (st1 if method == "milp" else f"{st1} (greedy used)", st2, st3)
        overall = "Optimal" if all(s == "Optimal" for s in stages) else \
            next(s for s in stages if s != "Optimal")
        sol = Solution(open_sites=sites, covered=covered, objective=obj, bound=bound,
                       gap=max(cov_gap, cost_gap, sites_gap), status=overall,
                       solve_s=time.perf_counter() - t0, method=method, cost=cost,
                       greedy_objective=g_obj, greedy_gap=_gap(bound, g_obj),
                       coverage_gap=cov_gap, cost_bound=cost_lb, cost_gap=cost_gap,
                       sites_bound=sites_lb, sites_gap=sites_gap, stage_status=stages,
                       stage_s=tuple(round(t, 3) for t in times))
        logger.info("solved rollout MILP lexicographically (%d sites, %d dominated, × %d "
                    "village groups from %d villages): %s; objective %.6g (bound %.6g), cost "
                    "%.6g (bound %.6g), %d sites; gap %.3g%%; greedy %.6g; %.2f s (stages %s)", n_x,
                    int(dominated.sum()), n_y, self.n_villages, "/".join(stages), obj, bound,
                    cost, cost_lb, len(sites), 100 * sol.gap, g_obj, sol.solve_s,
                    "/".join(f"{t:.2f}" for t in sol.stage_s))
        return sol

    def _pass_model(self, h, highspy, group_w, r_x, c_x, n_y, dominated, scale,
                    relax_count) -> None:
        """Stage-1 model: maximise covered weight under budget and count."""
        n_x = self.n_sites
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
            over = (self.costs > self.budget * (1 + _TOL) + _TOL)
            over[self.fixed_open] = False
            col_hi[:n_x][over] = 0.0
            nz = np.flatnonzero(self.costs > 0)
            rows.append(np.full(len(nz), n_rows))
            colz.append(nz)
            vals.append(self.costs[nz] / scale)
            row_lo.append(np.array([-np.inf]))
            row_hi.append(np.array([(self.budget * (1 + _TOL) + _TOL) / scale]))
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
        if h.passModel(lp) == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the rollout model (passModel failed)")


_BANNER_DONE = False
_BANNER_LOCK = threading.Lock()


def _highs(verbose: bool):
    """A ``highspy.Highs`` with its output off unless ``verbose``.

    HiGHS prints a "Running HiGHS …" banner on the C-level stdout when the first instance of
    the process is built, before any option can be set; that one construction runs with file
    descriptor 1 pointed at ``/dev/null`` (C buffers flushed on both sides).
    """
    global _BANNER_DONE
    import highspy

    with _BANNER_LOCK:
        if verbose or _BANNER_DONE:
            h = highspy.Highs()
        else:
            h = _quiet_first_highs(highspy)
        _BANNER_DONE = True
    h.setOptionValue("output_flag", bool(verbose))
    return h


def _quiet_first_highs(highspy):
    import ctypes
    import os
    import sys

    try:
        libc = ctypes.CDLL(None)
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no libc or no fd 1: let it print
        return highspy.Highs()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        libc.fflush(None)
        os.dup2(devnull, 1)
        h = highspy.Highs()
        libc.fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return h


def _run_stage(h, highspy, deadline: float, warm: np.ndarray | None, value, *, sense: int
               ) -> tuple[str, np.ndarray | None, float, float]:
    """Run HiGHS once on the current model and check what it returns.

    ``value(x)`` recomputes the stage's objective from the solution here; when it does not
    match HiGHS's reported objective (in the solver's favour), the solution is not the one
    HiGHS's status and bound speak of: with a MIP start the stage is re-run without it,
    otherwise its status becomes ``"Inconsistent"``.

    Returns
    -------
    tuple
        ``(status, x or None, dual bound, reported objective)``; the bound is an upper bound
        for ``sense=-1`` (maximise), a lower bound for ``sense=1``.
    """
    left = deadline - time.perf_counter()
    if left <= 1e-3:
        return "Time limit reached", None, np.nan, np.nan
    h.setOptionValue("time_limit", float(left))
    if warm is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(warm)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    bound = float(info.mip_dual_bound)
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return status, None, bound, np.nan
    x = np.asarray(h.getSolution().col_value, dtype=float)
    reported = float(info.objective_function_value)
    mine = value(x)
    tol = 1e-7 * max(1.0, abs(reported))
    if (mine - reported) * sense > tol:  # ours is worse than what HiGHS says it found
        if warm is not None:
            logger.warning("HiGHS returned its MIP start (value %.10g) while reporting %.10g; "
                           "re-solving without the start", mine, reported)
            h.clearSolver()  # forget the start (and HiGHS's solution built on it)
            return _run_stage(h, highspy, deadline, None, value, sense=sense)
        logger.warning("HiGHS's solution is worth %.10g but it reports %.10g: not proven",
                       mine, reported)
        return "Inconsistent", x, bound, reported
    return status, x, bound, reported


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
    """Lexicographic optimum by enumerating every subset of sites (for tests; up to 20 sites).

    Among feasible subsets: the most covered weight, then the least cost, then the fewest
    sites (ties in all three: the first subset in binary order).

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
    idx = np.flatnonzero(ok)
    top = objective[idx].max()
    idx = idx[objective[idx] >= top - _TOL * max(1.0, abs(top))]
    cheapest = cost[idx].min()
    idx = idx[cost[idx] <= cheapest + _TOL * max(1.0, abs(cheapest))]
    best = int(idx[np.argmin(count[idx])])
    return float(objective[best]), np.flatnonzero(masks[best]).astype(np.int64)
