"""Public-utility telecom station rollout (trạm viễn thông công ích).

Classify white villages as the ministry does, generate candidate sites, cost them, and choose
sites by budgeted maximal covering (MILP with HiGHS, lazy greedy fallback).
"""

from __future__ import annotations

from analysis.rollout.greedy import GreedyResult, greedy_order, lazy_greedy
from analysis.rollout.model import BudgetedMaxCover, Solution, brute_force

__all__ = [
    "BudgetedMaxCover",
    "GreedyResult",
    "Solution",
    "brute_force",
    "greedy_order",
    "lazy_greedy",
]
