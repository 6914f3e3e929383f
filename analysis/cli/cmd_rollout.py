"""``phusong rollout``: choose public-utility telecom stations (trạm viễn thông công ích)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from phusong.analysis.cli._options import (
    RunOptions,
    bundle_argument,
    progress,
    scenario_option,
    shared_options,
)
from phusong.gis.errors import InputError


class _FiniteFloat(click.ParamType):
    """A finite number ``>= minimum`` (``> minimum`` when ``open_min``); anything else is one
    line of error (a :class:`~gis.errors.InputError`) before any computing starts."""

    name = "number"

    def __init__(self, *, minimum: float = 0.0, open_min: bool = False, unit: str = "",
                 example: str = "") -> None:
        self.minimum, self.open_min, self.unit, self.example = minimum, open_min, unit, example

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        if isinstance(value, float):
            v = value
        else:
            try:
                v = float(str(value).strip().replace("_", ""))
            except ValueError:
                v = math.nan
        ok = math.isfinite(v) and (v > self.minimum if self.open_min else v >= self.minimum)
        if not ok:
            name = param.opts[0] if param is not None and param.opts else "value"
            rel = ">" if self.open_min else ">="
            raise InputError(f"{name} {value!r}: must be a finite number {rel} "
                             f"{self.minimum:g}{self.unit} (e.g. {name} {self.example})")
        return v


@click.command(name="rollout")
@bundle_argument
@click.option("--budget", "budget", type=_FiniteFloat(unit=" VND", example="50e9"),
              default=50e9, show_default=True,
              help="Budget in VND, investment plus operation (e.g. 50e9 = 50 tỷ đồng).")
@click.option("--max-sites", "max_sites", type=click.IntRange(min=0), default=None,
              help="At most this many sites.")
@click.option("--target", "target", type=click.Choice(["no-signal", "no-broadband", "no-4g"]),
              default=None,
              help="Target villages at the analysis date: no signal, no 3G/4G/5G, or no 4G/5G "
                   "(default: the settings' no-broadband).")
@click.option("--border-counts-as-difficult", is_flag=True, default=False,
              help="Also put grid-powered border villages in the fund class (off by default).")
@click.option("--include-lom", is_flag=True, default=False,
              help="Also target lõm villages (signal at the centre only).")
@click.option("--covered-when", "covered_when", type=click.Choice(["phu", "lom"]),
              default="phu", show_default=True,
              help="A candidate covers a village when the village would be phủ sóng under it "
                   "(phu), or at least lõm (lom).")
@click.option("--time-limit", "time_limit_s",
              type=_FiniteFloat(open_min=True, unit=" s", example="60"), default=None,
              help="HiGHS time limit in seconds per solve (default: the settings' 60 s).")
@click.option("--frontier", is_flag=True, default=False,
              help="Also solve exactly at a ladder of budgets and write the spend frontier "
                   "(rollout_frontier.{csv,png}).")
@click.option("--frontier-steps", "frontier_steps", type=click.IntRange(2, 200), default=None,
              help="Budgets on the frontier (default: the settings' 12).")
@click.option("--solver-log", is_flag=True, default=False,
              help="Let HiGHS print its log (silent by default).")
@scenario_option
@shared_options()
def cli(bundle: Path, budget: float, max_sites: int | None, target: str | None,
        border_counts_as_difficult: bool, include_lom: bool, covered_when: str,
        time_limit_s: float | None, frontier: bool, frontier_steps: int | None,
        solver_log: bool, scenario: Path | None, opts: RunOptions) -> None:
    """Plan public-utility stations for BUNDLE: pick the target villages, class them by the
    ministry's rules, and choose sites for the fund class by budgeted maximal covering (MILP,
    HiGHS; most coverage, then least cost, then fewest sites). --model is the coverage
    model of the village status and of the candidates; --as-of decides which technologies
    are on air.

    Writes OUT/rollout_sites.{xlsx,csv,geojson}, OUT/rollout_villages.csv,
    OUT/rollout_classes.csv, OUT/rollout_curve.{csv,png} (greedy order) and, with
    --frontier, OUT/rollout_frontier.{csv,png}.
    """
    from rich.console import Console

    from phusong.analysis.preflight import check_numbers, guarded_run
    from phusong.analysis.rollout.outputs import rollout_lines, write_rollout
    from phusong.analysis.serve.scenario import with_scenario

    changes: dict[str, Any] = {"solver_verbose": solver_log,
                               "border_counts_as_difficult": border_counts_as_difficult}
    if target is not None:
        changes["rollout_target"] = target
    if frontier_steps is not None:
        changes["frontier_steps"] = frontier_steps
    settings = opts.settings.replace(**changes)  # validated here, before any computing
    check_numbers(language=settings.language, budget=(budget, ">=0"),
                  time_limit=(time_limit_s, ">0"))
    with guarded_run("rollout", bundle, out=opts.out_dir, overwrite=opts.overwrite,
                     settings=settings, model=opts.model) as g:
        b, settings = with_scenario(g.bundle, scenario, settings=settings)
        plan = _plan(b, g.dem, opts=opts, settings=settings, budget=budget,
                     max_sites=max_sites, include_lom=include_lom, covered_when=covered_when,
                     time_limit_s=time_limit_s, frontier=frontier)
        files = write_rollout(plan, g.out, bundle=b, settings=settings, overwrite=True)
    console = Console()
    for line in rollout_lines(plan, settings=settings):
        console.print(line, markup=False, highlight=False)
    console.print(f"wrote {len(files)} files to {opts.out_dir}", markup=False)


def _plan(b, dem, *, opts, settings, budget, max_sites, include_lom, covered_when,
          time_limit_s, frontier):
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.rollout.plan import plan_rollout

    model = opts.model
    with progress(opts) as bar:
        task = bar.add_task("rollout", total=3)
        coverage = compute_coverage(b, model=model, dem=dem, settings=settings)
        bar.update(task, advance=1)
        status = village_status(b, coverage, settings=settings)
        bar.update(task, advance=1)
        plan = plan_rollout(b, status, budget_vnd=budget, max_sites=max_sites,
                            include_lom=include_lom, settings=settings, coverage_model=model,
                            min_code=2 if covered_when == "phu" else 1,
                            time_limit_s=time_limit_s, frontier=frontier)
        bar.update(task, advance=1)
    return plan
