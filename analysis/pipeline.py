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
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from phusong.gis.atomic import atomic_write_text
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import DEFAULT, Settings

if TYPE_CHECKING:  # the steps' modules load when the pipeline runs
    from phusong.analysis.analyses import AnalysesResult
    from phusong.analysis.coverage.engine import CoverageResult
    from phusong.analysis.publish.report import Report
    from phusong.analysis.rollout.plan import RolloutPlan

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_BUDGET_VND", "PipelineResult", "run_pipeline"]

T = TypeVar("T")

#: default budget of the demo's rollout: 50 billion VND
DEFAULT_BUDGET_VND = 50e9


@dataclasses.dataclass
class PipelineResult:
    """What one run produced: in-memory results and the files written."""

    bundle: ProvinceBundle
    out: Path
    coverage: CoverageResult | None = None
    status: pd.DataFrame | None = None
    ratios: pd.DataFrame | None = None
    analyses: AnalysesResult | None = None
    rollout: RolloutPlan | None = None
    report: Report | None = None
    files: dict[str, Path] = dataclasses.field(default_factory=dict)
    timings_s: dict[str, float] = dataclasses.field(default_factory=dict)
    rejected_rows: int = 0


def _step(result: PipelineResult, name: str, fn: Callable[[], T],
          on_step: Callable[[str], None] | None) -> T:
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
        Thresholds, costs, language and dates (``as_of=None``: today, fixed at the start).
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
    from phusong.analysis.preflight import check_numbers, guarded_run
    from phusong.layers.validate import validate_bundle, write_rejects

    target = Path(out)
    settings = settings.resolved()  # one analysis date for every step, even across midnight
    check_numbers(language=settings.language, budget=(budget_vnd, ">0"),
                  max_sites=(max_sites, ">=0"))
    res = PipelineResult(bundle=bundle, out=target)

    results: dict[str, Any] = {}

    def validate() -> None:
        results.update(validate_bundle(bundle))
        for layer, vr in results.items():
            res.rejected_rows += len(vr.rejected)
            bundle.layers[layer] = vr.accepted

    # validated first: the layer check of guarded_run then sees the accepted rows only
    _step(res, "validate", validate, on_step)
    with guarded_run("pipeline", bundle, out=target, overwrite=overwrite, settings=settings,
                     model=model) as g:
        for layer, vr in results.items():
            if len(vr.rejected):  # an earlier run's list of a now clean layer is removed
                res.files[f"rejects_{layer}"] = write_rejects(vr, g.out / "rejects",
                                                              overwrite=True)
        _run_steps(res, bundle, g.out, dem=g.dem, settings=settings, model=model,
                   budget_vnd=budget_vnd, max_sites=max_sites, offline_map=offline_map,
                   on_step=on_step)
        res.files = {k: g.stage.final(p) for k, p in res.files.items()}
    return res


def _run_steps(res: PipelineResult, bundle: ProvinceBundle, out: Path, *, dem: Any,
               settings: Settings, model: str | None, budget_vnd: float,
               max_sites: int | None, offline_map: bool,
               on_step: Callable[[str], None] | None) -> None:
    """The steps after validation, writing into ``out`` (a staging folder)."""
    from phusong.analysis.analyses import run_analyses
    from phusong.analysis.coverage.engine import compute_coverage, link_budget_lines
    from phusong.analysis.coverage.ratios import coverage_lines, coverage_ratios
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.publish.mapping import build_map, write_map
    from phusong.analysis.publish.report import build_report, write_report_html, write_report_xlsx
    from phusong.analysis.rollout.outputs import write_rollout
    from phusong.analysis.rollout.plan import plan_rollout

    overwrite = True  # a fresh staging folder

    res.coverage = _step(res, "coverage", lambda: compute_coverage(
        bundle, model=model, dem=dem, settings=settings), on_step)
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
        lines = coverage_lines(res.ratios, settings=settings)
        lines += link_budget_lines(res.coverage, settings=settings)
        if getattr(res.coverage, "budget", None) is not None and len(res.coverage.budget):
            res.files["link_budget"] = write_table(
                res.coverage.budget.reset_index(drop=True), out / "link_budget.csv",
                headers="raw", overwrite=overwrite, sample=bundle.is_sample)
        res.files["summary"] = atomic_write_text(out / "summary.txt", "\n".join(lines) + "\n",
                                                 overwrite=overwrite)

    _step(res, "status", status_and_ratios, on_step)

    res.analyses = _step(res, "analyses", lambda: run_analyses(
        bundle, res.status, res.coverage, out=out, settings=settings, overwrite=overwrite,
        dem=dem if res.coverage.model == "terrain" else None), on_step)
    res.files.update(res.analyses.files)

    def rollout() -> None:
        res.rollout = plan_rollout(bundle, res.status, budget_vnd=budget_vnd,
                                   max_sites=max_sites, settings=settings,
                                   coverage_model=res.coverage.model,
                                   frontier=True)  # the report shows the spend frontier
        for key, path in write_rollout(res.rollout, out / "rollout", bundle=bundle,
                                       settings=settings, overwrite=overwrite).items():
            res.files[f"rollout_{key}"] = path

    _step(res, "rollout", rollout, on_step)

    def outputs() -> None:
        fmap = build_map(bundle, status=res.status, coverage=res.coverage,
                         rollout=res.rollout, offline=offline_map, settings=settings)
        res.files["map"] = write_map(fmap, out / "map.html", overwrite=overwrite)
        res.report = build_report(bundle, status=res.status,
                                  service_radius=res.analyses.service_radius.official,
                                  fibre_reach=(res.analyses.fibre.reach,
                                               res.analyses.fibre.villages),
                                  coverage=res.coverage, rollout=res.rollout, settings=settings,
                                  postal=res.analyses.postal, sunset=res.analyses.sunset)
        res.files["report_html"] = write_report_html(res.report, out / "report.html",
                                                     overwrite=overwrite)
        res.files["report_xlsx"] = write_report_xlsx(res.report, out / "report.xlsx",
                                                     overwrite=overwrite)

    _step(res, "map_report", outputs, on_step)
