"""``phusong report``: the indicator report (HTML with charts, and XLSX)."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import bundle_argument, common_options, language_option, progress


@click.command(name="report")
@bundle_argument
@click.option("--model", "model", type=click.Choice(["terrain", "radius", "itm"]), default=None,
              help="Coverage model (default: terrain when the bundle has a DEM).")
@click.option("--calibration", "calibration", type=click.Path(path_type=Path, exists=True,
              dir_okay=False), default=None,
              help="calibration.json of `phusong calibrate`, applied to the coverage fields.")
@click.option("--as-of", "as_of", default=None, help="Analysis date YYYY-MM-DD (default today).")
@language_option
@common_options
def cli(bundle: Path, model: str | None, calibration: Path | None, as_of: str | None, language: str, out: Path,
        overwrite: bool) -> None:
    """Indicator tables of BUNDLE per province, district and commune in the reports' terms,
    with the model beside the reported figures where the seeds have them.
    Writes OUT/report.html and OUT/report.xlsx."""
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.publish.report import build_report, write_report_html, write_report_xlsx
    from phusong.analysis.coverage.status import village_status
    from phusong.gis.atomic import check_writable
    from phusong.layers.bundle import read_bundle
    from phusong.layers.settings import DEFAULT

    settings = DEFAULT.replace(language=language, as_of=as_of)
    html_path, xlsx_path = Path(out) / "report.html", Path(out) / "report.xlsx"
    for p in (html_path, xlsx_path):
        check_writable(p, overwrite=overwrite)
    b = read_bundle(bundle)
    with progress() as bar:
        task = bar.add_task("report", total=3)
        coverage = compute_coverage(b, model=model, settings=settings)
        if calibration is not None:
            from phusong.analysis.coverage.calibrate import apply_calibration, read_calibration

            apply_calibration(coverage, b, read_calibration(calibration), settings=settings)
        bar.update(task, advance=1)
        status = village_status(b, coverage, settings=settings)
        bar.update(task, advance=1)
        report = build_report(b, status=status, coverage=coverage, settings=settings)
        bar.update(task, advance=1)
    for line in report.lines:
        click.echo(line)
    click.echo(f"wrote {write_report_html(report, html_path, overwrite=overwrite)}")
    click.echo(f"wrote {write_report_xlsx(report, xlsx_path, overwrite=overwrite)}")
