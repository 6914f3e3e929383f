"""analysis: what phusong computes, and its command line.

Coverage (radius and terrain models), village status and ratios, gap lists, sharing, 2G/3G
sunset, service radius, fibre and postal analyses, the public-utility rollout, the map, the
indicator report, the multi-province runner and the pipeline. Names are loaded on first use.
"""

from __future__ import annotations

from phusong.gis._lazy import lazy_exports

_WHERE = {
    "compute_coverage": "phusong.analysis.coverage.engine",
    "run_coverage": "phusong.analysis.coverage.run",
    "site_village_matrix": "phusong.analysis.coverage.engine",
    "village_status": "phusong.analysis.coverage.status",
    "coverage_ratios": "phusong.analysis.coverage.ratios",
    "run_analyses": "phusong.analysis.analyses",
    "plan_rollout": "phusong.analysis.rollout.plan",
    "build_map": "phusong.analysis.publish.mapping",
    "write_map": "phusong.analysis.publish.mapping",
    "build_report": "phusong.analysis.publish.report",
    "write_table": "phusong.analysis.export",
    "write_tables": "phusong.analysis.export",
    "run_pipeline": "phusong.analysis.pipeline",
}

__all__ = [
    "build_map",
    "build_report",
    "compute_coverage",
    "coverage_ratios",
    "plan_rollout",
    "run_analyses",
    "run_coverage",
    "run_pipeline",
    "site_village_matrix",
    "village_status",
    "write_map",
    "write_table",
    "write_tables",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
