"""analysis: what phusong computes, and its command line.

Coverage (radius and terrain models), village status and ratios, gap lists, sharing, 2G/3G
sunset, service radius, fibre and postal analyses, the public-utility rollout, the map, the
indicator report, the multi-province runner and the pipeline. Names are loaded on first use.
"""

from __future__ import annotations

from gis._lazy import lazy_exports

_WHERE = {
    "compute_coverage": "analysis.coverage",
    "site_village_matrix": "analysis.coverage",
    "village_status": "analysis.status",
    "coverage_ratios": "analysis.ratios",
    "run_analyses": "analysis.analyses",
    "plan_rollout": "analysis.rollout.plan",
    "build_map": "analysis.mapping",
    "write_map": "analysis.mapping",
    "build_report": "analysis.report",
    "write_table": "analysis.export",
    "write_tables": "analysis.export",
    "run_pipeline": "analysis.pipeline",
}

__all__ = [
    "build_map",
    "build_report",
    "compute_coverage",
    "coverage_ratios",
    "plan_rollout",
    "run_analyses",
    "run_pipeline",
    "site_village_matrix",
    "village_status",
    "write_map",
    "write_table",
    "write_tables",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
