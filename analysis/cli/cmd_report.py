"""``phusong report``: the indicator report (HTML with charts, and XLSX)."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import bundle_argument, common_options, language_option, progress


@click.command(name="report")
@bundle_argument
@click.option("--model", "model", type=click.Choice(["terrain", "radius"]), default=None,
              help="Coverage model (default: terrain when the bundle has a DEM).")
@click.option("--as-of", "as_of", default=None, help="Analysis date YYYY-MM-DD (default today).")
@language_option
@common_options
def cli(bundle: Path, model: str | None, as_of: str | None, language: str, out: Path,
        overwrite: bool) -> None:
    """Indicator tables of BUNDLE per province, district and commune in the reports' terms,
    with the model beside the reported figures where the seeds have them.
    Writes OUT/report.html and OUT/report.xlsx."""
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.publish.report import build_report, write_report_html, write_report_xlsx
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.preflight import guarded_run
    from phusong.layers.settings import DEFAULT

    settings = DEFAULT.replace(language=language, as_of=as_of)
    with guarded_run("report", bundle, out=out, overwrite=overwrite, settings=settings,
                     model=model) as g, progress() as bar:
        b = g.bundle
        task = bar.add_task("report", total=3)
        coverage = compute_coverage(b, model=model, dem=g.dem, settings=settings)
        bar.update(task, advance=1)
        status = village_status(b, coverage, settings=settings)
        bar.update(task, advance=1)
        report = build_report(b, status=status, coverage=coverage, settings=settings)
        bar.update(task, advance=1)
        write_report_html(report, g.out / "report.html", overwrite=True)
        write_report_xlsx(report, g.out / "report.xlsx", overwrite=True)
    for line in report.lines:
        click.echo(line)
    for name in ("report.html", "report.xlsx"):
        click.echo(f"wrote {Path(out) / name}")
