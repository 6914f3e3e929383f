"""``phusong analyse``: gap lists, sharing, 2G/3G sunset, service radius, fibre and postal."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import (
    RunOptions,
    bundle_argument,
    calibration_option,
    progress,
    scenario_option,
    shared_options,
)


@click.command(name="analyse")
@bundle_argument
@click.option("--postal-max-km", "postal_max_km", type=float, default=None,
              help="List villages farther than this by road from a post office (default 10).")
@scenario_option
@calibration_option
@shared_options()
def cli(bundle: Path, postal_max_km: float | None, scenario: Path | None,
        calibration: Path | None, opts: RunOptions) -> None:
    """Compute coverage and village status of BUNDLE, then write the operator gap lists and
    the sharing, sunset, service-radius, fibre and postal tables under OUT.
    """
    from rich.console import Console

    from phusong.analysis.analyses import analyses_lines, run_analyses
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.preflight import check_numbers, guarded_run
    from phusong.analysis.serve.scenario import with_scenario

    settings = opts.settings
    check_numbers(language=settings.language, postal_max_km=(postal_max_km, ">0"))
    if postal_max_km is not None:
        settings = settings.replace(postal_max_road_km=postal_max_km)
    with guarded_run("analyse", bundle, out=opts.out_dir, overwrite=opts.overwrite,
                     settings=settings, model=opts.model) as g, progress(opts) as bar:
        b, settings = with_scenario(g.bundle, scenario, settings=settings)
        task = bar.add_task("analyse", total=3)
        coverage = compute_coverage(b, model=opts.model, dem=g.dem, settings=settings)
        if calibration is not None:
            from phusong.analysis.coverage.calibrate import apply_calibration, read_calibration

            apply_calibration(coverage, b, read_calibration(calibration), settings=settings)
        bar.update(task, advance=1)
        status = village_status(b, coverage, settings=settings)
        bar.update(task, advance=1)
        result = run_analyses(b, status, coverage, out=g.out, settings=settings,
                              overwrite=True, dem=g.dem)
        bar.update(task, advance=1)
    console = Console()
    for line in analyses_lines(result, settings=settings):
        console.print(line, markup=False, highlight=False)
    console.print(f"wrote {len(result.files)} files to {opts.out_dir}", markup=False)
