"""``phusong rollout``: choose public-utility telecom stations (trạm viễn thông công ích)."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import bundle_argument, common_options, language_option, progress
from phusong.analysis.cli._options import scenario_option


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
@scenario_option
@language_option
@common_options
def cli(bundle: Path, budget: float, max_sites: int | None, include_lom: bool,
        model: str | None, covered_when: str, time_limit_s: float | None, language: str,
        out: Path,
        overwrite: bool, scenario: Path | None = None) -> None:
    """Plan public-utility stations for BUNDLE: classify the white villages as the ministry
    does, and choose sites for the fund class by budgeted maximal covering (MILP, HiGHS).

    Writes OUT/rollout_sites.{xlsx,csv,geojson}, OUT/rollout_villages.csv,
    OUT/rollout_classes.csv and OUT/rollout_curve.{csv,png}.
    """
    from rich.console import Console

    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.rollout.outputs import report_lines, write_rollout
    from phusong.analysis.rollout.plan import plan_rollout
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.serve.scenario import read_bundle_scenario
    from phusong.layers.settings import DEFAULT

    settings = DEFAULT.replace(language=language)
    b, settings = read_bundle_scenario(bundle, scenario, settings=settings)
    with progress() as bar:
        task = bar.add_task("rollout", total=3)
        coverage = compute_coverage(b, model=model, settings=settings)
        bar.update(task, advance=1)
        status = village_status(b, coverage, settings=settings)
        bar.update(task, advance=1)
        plan = plan_rollout(b, status, budget_vnd=budget, max_sites=max_sites,
                            include_lom=include_lom, settings=settings, coverage_model=model,
                            min_code=2 if covered_when == "phu" else 1,
                            time_limit_s=time_limit_s)
        bar.update(task, advance=1)
    files = write_rollout(plan, out, bundle=b, settings=settings, overwrite=overwrite)
    console = Console()
    for line in report_lines(plan, settings=settings):
        console.print(line, markup=False, highlight=False)
    console.print(f"wrote {len(files)} files to {out}", markup=False)
