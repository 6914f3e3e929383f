"""``phusong analyse``: gap lists, sharing, 2G/3G sunset, service radius, fibre and postal."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import bundle_argument, common_options, language_option, progress


@click.command(name="analyse")
@bundle_argument
@click.option("--model", "model", type=click.Choice(["terrain", "radius", "itm"]), default=None,
              help="Coverage model (default: terrain when the bundle has a DEM).")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
              help="Analysis date (default: today).")
@click.option("--calibration", "calibration", type=click.Path(path_type=Path, exists=True,
              dir_okay=False), default=None,
              help="calibration.json of `phusong calibrate`, applied to the coverage fields.")
@click.option("--postal-max-km", "postal_max_km", type=float, default=None,
              help="List villages farther than this by road from a post office (default 10).")
@language_option
@common_options
def cli(bundle: Path, model: str | None, calibration: Path | None, as_of: str | None,
        postal_max_km: float | None,
        language: str, out: Path, overwrite: bool) -> None:
    """Compute coverage and village status of BUNDLE, then write the operator gap lists and
    the sharing, sunset, service-radius, fibre and postal tables under OUT.
    """
    from rich.console import Console

    from phusong.analysis.analyses import report_lines, run_analyses
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.layers.bundle import read_bundle
    from phusong.layers.settings import DEFAULT

    changes = {"language": language, "as_of": as_of}
    if postal_max_km is not None:
        changes["postal_max_road_km"] = postal_max_km
    settings = DEFAULT.replace(**changes)
    b = read_bundle(bundle)
    with progress() as bar:
        task = bar.add_task("analyse", total=3)
        coverage = compute_coverage(b, model=model, settings=settings)
        if calibration is not None:
            from phusong.analysis.coverage.calibrate import apply_calibration, read_calibration

            apply_calibration(coverage, b, read_calibration(calibration), settings=settings)
        bar.update(task, advance=1)
        status = village_status(b, coverage, settings=settings)
        bar.update(task, advance=1)
        result = run_analyses(b, status, coverage, out=out, settings=settings,
                              overwrite=overwrite)
        bar.update(task, advance=1)
    console = Console()
    for line in report_lines(result, settings=settings):
        console.print(line, markup=False, highlight=False)
    console.print(f"wrote {len(result['files'])} files to {out}", markup=False)
