"""``phusong rollout``: choose public-utility telecom stations (trạm viễn thông công ích)."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import bundle_argument, common_options, language_option, progress


@click.command(name="rollout")
@bundle_argument
@click.option("--budget", "budget", type=float, default=50e9, show_default=True,
              help="Budget in VND, investment plus operation (e.g. 50e9 = 50 tỷ đồng).")
@click.option("--max-sites", "max_sites", type=click.IntRange(min=0), default=None,
              help="At most this many sites.")
@click.option("--include-lom", is_flag=True, default=False,
              help="Also target lõm villages (signal at the centre only).")
@click.option("--model", "model", type=click.Choice(["terrain", "radius"]), default=None,
              help="Coverage model of candidates (default: terrain when the bundle has a DEM).")
@click.option("--covered-when", "covered_when", type=click.Choice(["phu", "lom"]),
              default="phu", show_default=True,
              help="A candidate covers a village when the village would be phủ sóng under it "
                   "(phu), or at least lõm (lom).")
@click.option("--time-limit", "time_limit_s", type=float, default=None,
              help="HiGHS time limit in seconds (default: the settings' 60 s).")
@language_option
@common_options
def cli(bundle: Path, budget: float, max_sites: int | None, include_lom: bool,
        model: str | None, covered_when: str, time_limit_s: float | None, language: str,
        out: Path,
        overwrite: bool) -> None:
    """Plan public-utility stations for BUNDLE: classify the white villages as the ministry
    does, and choose sites for the fund class by budgeted maximal covering (MILP, HiGHS).

    Writes OUT/rollout_sites.{xlsx,csv,geojson}, OUT/rollout_villages.csv,
    OUT/rollout_classes.csv and OUT/rollout_curve.{csv,png}.
    """
    from rich.console import Console

    from phusong.analysis.rollout.outputs import report_lines, write_rollout
    from phusong.analysis.preflight import check_numbers, guarded_run
    from phusong.layers.settings import DEFAULT

    check_numbers(language=language, budget=(budget, ">0"), time_limit=(time_limit_s, ">0"))
    settings = DEFAULT.replace(language=language)
    with guarded_run("rollout", bundle, out=out, overwrite=overwrite, settings=settings,
                     model=model) as g:
        b = g.bundle
        plan = _plan(b, g.dem, model=model, settings=settings, budget=budget,
                     max_sites=max_sites, include_lom=include_lom, covered_when=covered_when,
                     time_limit_s=time_limit_s)
        files = write_rollout(plan, g.out, bundle=b, settings=settings, overwrite=True)
    console = Console()
    for line in report_lines(plan, settings=settings):
        console.print(line, markup=False, highlight=False)
    console.print(f"wrote {len(files)} files to {out}", markup=False)


def _plan(b, dem, *, model, settings, budget, max_sites, include_lom, covered_when,
          time_limit_s):
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.rollout.plan import plan_rollout

    with progress() as bar:
        task = bar.add_task("rollout", total=3)
        coverage = compute_coverage(b, model=model, dem=dem, settings=settings)
        bar.update(task, advance=1)
        status = village_status(b, coverage, settings=settings)
        bar.update(task, advance=1)
        plan = plan_rollout(b, status, budget_vnd=budget, max_sites=max_sites,
                            include_lom=include_lom, settings=settings, coverage_model=model,
                            min_code=2 if covered_when == "phu" else 1,
                            time_limit_s=time_limit_s)
        bar.update(task, advance=1)
    return plan
