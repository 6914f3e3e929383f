"""The model-vs-reported table compares with the status in the report's own year."""

from __future__ import annotations

import copy

import pytest

from phusong.analysis.coverage.engine import compute_coverage
from phusong.analysis.coverage.status import village_status
from phusong.analysis.publish.report import build_report
from phusong.layers.settings import DEFAULT


@pytest.fixture(scope="module")
def as_lai_chau(tiny_bundle):
    bundle = copy.copy(tiny_bundle)
    bundle.meta = {**tiny_bundle.meta, "province": "Lai Châu"}
    coverage = compute_coverage(bundle, model="radius")
    return bundle, coverage


def _signal(comparison) -> float:
    return float(comparison.set_index("key").loc["villages_with_signal", "model"])


def test_after_the_2g_switch_off_the_comparison_uses_the_reported_year(toys, as_lai_chau) -> None:
    bundle, coverage = as_lai_chau
    today = DEFAULT.replace(as_of="2026-11-23")
    status_now = village_status(bundle, coverage, settings=today)
    then = DEFAULT.replace(as_of="2022-12-31")
    status_then = village_status(bundle, coverage, settings=then)
    report = build_report(bundle, **toys.report_inputs(bundle), status=status_now, coverage=coverage, settings=today)
    comparison = report.tables["model_vs_reported"]
    assert (status_then["status_any"] != "trang").sum() > (status_now["status_any"] != "trang").sum()
    assert _signal(comparison) == (status_then["status_any"] != "trang").sum()
    assert any("31/12/2022" in note for note in report.notes)
    # the province table keeps the analysis date
    assert report.tables["province"]["villages_with_signal"].iloc[0] == (
        status_now["status_any"] != "trang").sum()


def test_before_the_switch_off_there_is_one_status(toys, as_lai_chau) -> None:
    bundle, coverage = as_lai_chau
    settings = DEFAULT.replace(as_of="2023-06-30")
    status = village_status(bundle, coverage, settings=settings)
    report = build_report(bundle, **toys.report_inputs(bundle), status=status, coverage=coverage, settings=settings)
    assert _signal(report.tables["model_vs_reported"]) == (status["status_any"] != "trang").sum()
    assert not any("31/12/2022" in note for note in report.notes)
