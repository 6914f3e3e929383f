"""compare: progress over time — two snapshots of a province side by side.

:func:`compare_bundles` (villages cleared of white and lõm status, villages that lost
signal, towers, BTS, cable and postal points added or removed, per province, district and
commune), :func:`match_villages` (id, then name within the commune, then position),
:func:`switch_off_timeline` (villages with signal, with broadband and white at each date to
2030) and the writers of their tables, map layer and report sentences.
"""

from __future__ import annotations

from phusong.gis._lazy import lazy_exports

_WHERE = {
    "BundleComparison": "phusong.analysis.compare.changes",
    "Snapshot": "phusong.analysis.compare.changes",
    "compare_bundles": "phusong.analysis.compare.changes",
    "snapshot_date": "phusong.analysis.compare.changes",
    "match_villages": "phusong.analysis.compare.matching",
    "switch_off_timeline": "phusong.analysis.compare.timeline",
    "timeline_chart": "phusong.analysis.compare.timeline",
    "comparison_lines": "phusong.analysis.compare.outputs",
    "write_comparison": "phusong.analysis.compare.outputs",
}

__all__ = [
    "BundleComparison",
    "Snapshot",
    "compare_bundles",
    "comparison_lines",
    "match_villages",
    "snapshot_date",
    "switch_off_timeline",
    "timeline_chart",
    "write_comparison",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
