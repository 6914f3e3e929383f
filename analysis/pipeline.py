"""The main job: every analysis of one province bundle, written under one folder.

:func:`run_pipeline` is what ``phusong demo`` runs on the sample province and what
``phusong run`` runs on a real bundle: validation, coverage (terrain model when the bundle has
a DEM, else radius), village status and coverage ratios, the operator gap lists and the other
analyses, the public-utility rollout, the Folium map and the indicator report. Each step logs
one line and its outputs are listed in the returned :class:`PipelineResult`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from phusong.gis.atomic import atomic_write_text
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_BUDGET_VND", "PipelineResult", "run_pipeline"]

#: default budget of the demo's rollout: 50 billion VND
DEFAULT_BUDGET_VND = 50e9


@dataclasses.dataclass
class PipelineResult:
    """What one run produced: in-memory results and the files written."""

    bundle: ProvinceBundle
    out: Path
    coverage: Any = None
    status: pd.DataFrame | None = None
    ratios: pd.DataFrame | None = None
    analyses: dict[str, Any] = dataclasses.field(default_factory=dict)
    rollout: Any = None
    report: Any = None
    files: dict[str, Path] = dataclasses.field(default_factory=dict)
    timings_s: dict[str, float] = dataclasses.field(default_factory=dict)
    rejected_rows: int = 0


def _step(result: PipelineResult, name: str, fn: Callable[[], Any],
          on_step: Callable[[str], None] | None) -> Any:
    if on_step:
        on_step(name)
    t0 = time.perf_counter()
    value = fn()
    result.timings_s[name] = round(time.perf_counter() - t0, 2)
    logger.info("%s done in %.1f s", name, result.timings_s[name])
    return value


def run_pipeline(bundle: ProvinceBundle, out: str | Path, *, settings: Settings = DEFAULT,
                 model: str | None = None, budget_vnd: float = DEFAULT_BUDGET_VND,
                 max_sites: int | None = None, offline_map: bool = True,
                 overwrite: bool = False,
                 on_step: Callable[[str], None] | None = None) -> PipelineResult:
    """Run every analysis of ``bundle`` and write the outputs under ``out``.

    Parameters
    ----------
    bundle
        The province (read with :func:`layers.bundle.read_bundle` or generated).
    out
        Output folder; created if missing.
    settings
        Thresholds, costs, language and dates.
    model
        ``"terrain"`` or ``"radius"``; default terrain when the bundle has a DEM.
    budget_vnd, max_sites
        Rollout budget and optional site cap.
    offline_map
        Write the map with Leaflet inlined and a hillshade base layer (opens with no internet).
    overwrite
        Replace existing outputs.
    on_step
        Called with each step's name before it runs (progress display).
    """
    from phusong.analysis.analyses import run_analyses
    from phusong.analysis.coverage.engine import compute_coverage, link_budget_lines
    from phusong.analysis.publish.mapping import build_map, write_map
    from phusong.analysis.coverage.ratios import coverage_ratios, report_lines
    from phusong.analysis.publish.report import build_report, write_report_html, write_report_xlsx
    from phusong.analysis.rollout.outputs import write_rollout
    from phusong.analysis.rollout.plan import plan_rollout
    from phusong.analysis.coverage.status import village_status
    from phusong.layers.validate import validate_bundle, write_rejects

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    res = PipelineResult(bundle=bundle, out=out)

    def validate() -> None:
        results = validate_bundle(bundle)
        for layer, vr in results.items():
            res.rejected_rows += len(vr.rejected)
            # a clean layer still replaces an earlier run's list (never a stale rejects file)
            if len(vr.rejected) or (out / "rejects" / f"rejects_{layer}.csv").exists():
                path = write_rejects(vr, out / "rejects", overwrite=overwrite)
                res.files[f"rejects_{layer}"] = path
            bundle.layers[layer] = vr.accepted

    _step(res, "validate", validate, on_step)

    res.coverage = _step(res, "coverage", lambda: compute_coverage(
        bundle, model=model, settings=settings), on_step)
    for path in res.coverage.write_rasters(out / "coverage", overwrite=overwrite):
        res.files[f"raster_{path.stem}"] = path

    def status_and_ratios() -> None:
        res.status = village_status(bundle, res.coverage, settings=settings)
        res.ratios = coverage_ratios(bundle, res.status, level="province", settings=settings)
        path = out / "village_status.csv"
        from phusong.analysis.export import write_table

        res.files["village_status"] = write_table(
            res.status.reset_index(), path, headers="raw", overwrite=overwrite,
            sample=bundle.is_sample)
        lines = report_lines(res.ratios, language=settings.language)
        lines += link_budget_lines(res.coverage, settings=settings)
        if getattr(res.coverage, "budget", None) is not None and len(res.coverage.budget):
            res.files["link_budget"] = write_table(
                res.coverage.budget.reset_index(drop=True), out / "link_budget.csv",
                headers="raw", overwrite=overwrite, sample=bundle.is_sample)
        res.files["summary"] = atomic_write_text(out / "summary.txt", "\n".join(lines) + "\n",
                                                 overwrite=overwrite)

    _step(res, "status", status_and_ratios, on_step)

    res.analyses = _step(res, "analyses", lambda: run_analyses(
        bundle, res.status, res.coverage, out=out, settings=settings, overwrite=overwrite),
        on_step)
    for key, path in res.analyses.get("files", {}).items():
        res.files[key] = path

    def rollout() -> None:
        res.rollout = plan_rollout(bundle, res.status, budget_vnd=budget_vnd,
                                   max_sites=max_sites, settings=settings,
                                   coverage_model=res.coverage.model)
        for key, path in write_rollout(res.rollout, out / "rollout", bundle=bundle,
                                       settings=settings, overwrite=overwrite).items():
            res.files[f"rollout_{key}"] = path

    _step(res, "rollout", rollout, on_step)

    def outputs() -> None:
        fmap = build_map(bundle, status=res.status, coverage=res.coverage,
                         rollout=res.rollout, offline=offline_map, settings=settings)
        res.files["map"] = write_map(fmap, out / "map.html", overwrite=overwrite)
        res.report = build_report(bundle, status=res.status, coverage=res.coverage,
                                  analyses=res.analyses, rollout=res.rollout, settings=settings)
        res.files["report_html"] = write_report_html(res.report, out / "report.html",
                                                     overwrite=overwrite)
        res.files["report_xlsx"] = write_report_xlsx(res.report, out / "report.xlsx",
                                                     overwrite=overwrite)

    _step(res, "map_report", outputs, on_step)
    return res
