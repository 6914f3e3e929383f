"""Public-utility telecom station rollout (trạm viễn thông công ích, DESIGN §5).

Pick the target villages (no mobile broadband by default) and class them by the rules of
DESIGN §5, each village with its rule (:mod:`~analysis.rollout.classes`),
generate candidate sites (:mod:`~analysis.rollout.candidates`), cost them
(:mod:`~analysis.rollout.costs`), choose sites by budgeted maximal covering — exactly with
HiGHS, lazy greedy as warm start and fallback (:mod:`~analysis.rollout.model`,
:mod:`~analysis.rollout.greedy`) — lexicographically (most coverage, then least cost, then fewest sites), trace the exact
spend frontier (:mod:`~analysis.rollout.frontier`) and write the ranked plan
(:mod:`~analysis.rollout.plan`, :mod:`~analysis.rollout.outputs`).
"""

from __future__ import annotations

from phusong.analysis.rollout.candidates import (
    candidate_coverage,
    cluster_villages,
    dem_high_points,
    generate_candidates,
)
from phusong.analysis.rollout.classes import (
    CLASS_LABELS,
    CLASS_RULES,
    CLASSES,
    TARGETS,
    class_counts,
    classify_villages,
)
from phusong.analysis.rollout.costs import candidate_costs, fibre_fed_towers
from phusong.analysis.rollout.frontier import Frontier, budget_ladder, spend_frontier
from phusong.analysis.rollout.greedy import GreedyResult, greedy_order, lazy_greedy
from phusong.analysis.rollout.model import BudgetedMaxCover, Solution, brute_force
from phusong.analysis.rollout.outputs import (
    plot_curve,
    plot_frontier,
    report_lines,
    rollout_lines,
    write_rollout,
)
from phusong.analysis.rollout.plan import TARGET_CLASS, RolloutPlan, plan_rollout, village_weights

__all__ = [
    "CLASSES",
    "CLASS_LABELS",
    "CLASS_RULES",
    "TARGETS",
    "TARGET_CLASS",
    "BudgetedMaxCover",
    "Frontier",
    "GreedyResult",
    "RolloutPlan",
    "Solution",
    "brute_force",
    "budget_ladder",
    "candidate_costs",
    "candidate_coverage",
    "class_counts",
    "classify_villages",
    "cluster_villages",
    "dem_high_points",
    "fibre_fed_towers",
    "generate_candidates",
    "greedy_order",
    "lazy_greedy",
    "plan_rollout",
    "plot_curve",
    "plot_frontier",
    "report_lines",
    "rollout_lines",
    "spend_frontier",
    "village_weights",
    "write_rollout",
]
