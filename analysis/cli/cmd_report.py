"""``phusong report``: the indicator report (HTML with charts, and XLSX)."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import RunOptions, bundle_argument, progress, shared_options


@click.command(name="report")
@bundle_argument
@shared_options()
def cli(bundle: Path, opts: RunOptions) -> None:
    """Indicator tables of BUNDLE per province, district and commune in the reports' terms,
    with the model beside the reported figures where the seeds have them.
    Writes OUT/report.html and OUT/report.xlsx."""
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.publish.report import build_report, write_report_html, write_report_xlsx
    from phusong.analysis.tables.fibre import fibre_reach
    from phusong.analysis.tables.service_radius import service_radius_table
    from phusong.gis.atomic import check_writable
    from phusong.layers.bundle import read_bundle

    settings = opts.settings
    out, overwrite = opts.out_dir, opts.overwrite
    html_path, xlsx_path = out / "report.html", out / "report.xlsx"
    for p in (html_path, xlsx_path):
        check_writable(p, overwrite=overwrite)
    b = read_bundle(bundle)
    with progress(opts) as bar:
        task = bar.add_task("report", total=4)
        coverage = compute_coverage(b, model=opts.model, settings=settings)
        bar.update(task, advance=1)
        status = village_status(b, coverage, settings=settings)
        bar.update(task, advance=1)
        radius = service_radius_table(b, settings=settings)
        reach = fibre_reach(b, settings=settings)
        bar.update(task, advance=1)
        report = build_report(b, status=status, service_radius=radius, fibre_reach=reach,
                              coverage=coverage, settings=settings)
        bar.update(task, advance=1)
    for line in report.lines:
        click.echo(line)
    click.echo(f"wrote {write_report_html(report, html_path, overwrite=overwrite)}")
    click.echo(f"wrote {write_report_xlsx(report, xlsx_path, overwrite=overwrite)}")
