"""phusong — telecom coverage and infrastructure GIS for Vietnam's northern mountain provinces.

One namespace, in the manner of ``import osmnx``::

    import phusong
    bundle = phusong.read_bundle("outputs/bundle")
    cov = phusong.compute_coverage(bundle)
    status = phusong.village_status(bundle, cov)
    gaps = phusong.gap_lists(bundle, status, operators=["viettel"])

The packages are ``phusong.gis`` (geospatial building blocks, nothing about telecom),
``phusong.layers`` (the data model: schemas, validation, readers, the province bundle),
``phusong.analysis`` (coverage, tables, rollout, map, report, CLI) and ``phusong.seeds`` (the
reported figures and the sample province). Names are loaded on first use.
"""

from __future__ import annotations

from phusong.gis._lazy import lazy_exports

__version__ = "0.1.0"

_WHERE = {
    # data model
    "Settings": "phusong.layers.settings",
    "Operator": "phusong.layers.operators",
    "ProvinceBundle": "phusong.layers.bundle",
    "read_bundle": "phusong.layers.bundle",
    "write_bundle": "phusong.layers.bundle",
    "validate_bundle": "phusong.layers.validate",
    "read_layer": "phusong.layers.io",
    "write_layer": "phusong.layers.io",
    # errors
    "PhusongError": "phusong.gis.errors",
    # analyses
    "compute_coverage": "phusong.analysis.coverage.engine",
    "run_coverage": "phusong.analysis.coverage.run",
    "site_village_matrix": "phusong.analysis.coverage.engine",
    "village_status": "phusong.analysis.coverage.status",
    "coverage_ratios": "phusong.analysis.coverage.ratios",
    "gap_lists": "phusong.analysis.tables.gaps",
    "write_gap_lists": "phusong.analysis.tables.gaps",
    "run_analyses": "phusong.analysis.analyses",
    "plan_rollout": "phusong.analysis.rollout.plan",
    "build_map": "phusong.analysis.publish.mapping",
    "write_map": "phusong.analysis.publish.mapping",
    "build_report": "phusong.analysis.publish.report",
    "write_tables": "phusong.analysis.export",
    "run_pipeline": "phusong.analysis.pipeline",
    # sample province
    "generate_sample": "phusong.seeds.sample",
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
