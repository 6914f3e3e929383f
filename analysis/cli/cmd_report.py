"""``phusong report``: the indicator report (HTML with charts, XLSX, and the province's form
as an editable Word document)."""

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
from phusong.analysis.pipeline import DEFAULT_BUDGET_VND


@click.command(name="report")
@bundle_argument
@click.option("--docx", "docx", is_flag=True, default=False,
              help="Also write OUT/report.docx: the telecom and postal section of the "
                   "provincial report in its own form (editable Word).")
@click.option("--previous", "previous", type=click.Path(path_type=Path, exists=True),
              default=None, help="An earlier bundle of the province: adds the progress "
                                 "section (villages cleared, towers and BTS added...).")
@click.option("--budget", "budget_vnd", type=float, default=DEFAULT_BUDGET_VND,
              show_default=True, help="Budget (VND) of the public-utility proposal (--docx).")
@click.option("--no-rollout", "no_rollout", is_flag=True, default=False,
              help="Skip the public-utility rollout plan of the --docx proposal section.")
@scenario_option
@calibration_option
@shared_options()
def cli(bundle: Path, docx: bool, previous: Path | None, budget_vnd: float, no_rollout: bool,
        scenario: Path | None, calibration: Path | None, opts: RunOptions) -> None:
    """Indicator tables of BUNDLE per province, district and commune in the reports' terms,
    with the model beside the reported figures where the seeds have them, and the telecom
    and postal sections in the province's own form. Writes OUT/report.html and
    OUT/report.xlsx (and OUT/report.docx with --docx)."""
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.preflight import check_numbers, guarded_run, output_patterns
    from phusong.analysis.publish.report import build_report, write_report_html, write_report_xlsx
    from phusong.analysis.serve.scenario import with_scenario
    from phusong.analysis.tables.fibre import fibre_reach
    from phusong.analysis.tables.service_radius import service_radius_table
    from phusong.layers.bundle import read_bundle

    settings = opts.settings
    out = opts.out_dir
    model = opts.model
    check_numbers(language=settings.language, budget=(budget_vnd, ">=0"))
    patterns = output_patterns("report") + (("report.docx",) if docx else ())
    steps = 4 + (1 if docx and not no_rollout else 0) + (1 if previous is not None else 0)
    rollout = comparison = None
    with guarded_run("report", bundle, out=out, overwrite=opts.overwrite, settings=settings,
                     model=model, patterns=patterns) as g, progress(opts) as bar:
        b, settings = with_scenario(g.bundle, scenario, settings=settings)
        task = bar.add_task("report", total=steps)
        coverage = compute_coverage(b, model=model, dem=g.dem, settings=settings)
        if calibration is not None:
            from phusong.analysis.coverage.calibrate import apply_calibration, read_calibration

            apply_calibration(coverage, b, read_calibration(calibration), settings=settings)
        bar.update(task, advance=1)
        status = village_status(b, coverage, settings=settings)
        bar.update(task, advance=1)
        radius = service_radius_table(b, settings=settings)
        reach = fibre_reach(b, settings=settings)
        bar.update(task, advance=1)
        if previous is not None:
            from phusong.analysis.compare.changes import (
                Snapshot,
                compare_bundles,
                snapshot_date,
                snapshot_label,
            )

            ob = read_bundle(previous)
            s_old = settings.replace(as_of=snapshot_date(ob, settings))
            status_old = village_status(ob, compute_coverage(ob, model=model, settings=s_old),
                                        settings=s_old)
            comparison = compare_bundles(
                Snapshot(ob, status_old, s_old, label=snapshot_label(ob, s_old),
                         source=str(previous)),
                Snapshot(b, status, settings, label=snapshot_label(b, settings),
                         source=str(bundle)),
                settings=settings)
            bar.update(task, advance=1)
        if docx and not no_rollout:
            from phusong.analysis.rollout.plan import plan_rollout

            rollout = plan_rollout(b, status, budget_vnd=budget_vnd, settings=settings,
                                   coverage_model=coverage.model)
            bar.update(task, advance=1)
        report = build_report(b, status=status, service_radius=radius, fibre_reach=reach,
                              coverage=coverage, rollout=rollout, settings=settings,
                              progress=comparison)
        bar.update(task, advance=1)
        write_report_html(report, g.out / "report.html", overwrite=True)
        write_report_xlsx(report, g.out / "report.xlsx", overwrite=True)
        if docx:
            from phusong.analysis.publish.docx import write_report_docx

            write_report_docx(report.form, g.out / "report.docx", overwrite=True)
    for line in report.lines:
        click.echo(line)
    for name in ("report.html", "report.xlsx") + (("report.docx",) if docx else ()):
        click.echo(f"wrote {out / name}")
