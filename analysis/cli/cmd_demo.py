"""``phusong demo``: generate the sample province, run the main job on it and print its figures
beside the reported ones. Everything it writes is labelled sample data."""

from __future__ import annotations

import math
import os
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from phusong.analysis.cli._options import RunOptions, shared_options
from phusong.analysis.labels import SAMPLE_LABEL
from phusong.analysis.pipeline import DEFAULT_BUDGET_VND, PipelineResult
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import DEFAULT, Settings
from phusong.seeds.presets import PRESETS

__all__ = ["cli", "print_results", "print_summary", "run_generate"]



def run_generate(*, preset: str = "lai-chau", seed: int = 0, out: str | os.PathLike = "outputs",
                 overwrite: bool = False, scale: float = 1.0) -> ProvinceBundle:
    """Generate ``<out>/<preset>-sample/`` (bundle.gpkg, dem.tif) and return the bundle."""
    from phusong.seeds.sample import generate_sample

    folder = Path(out) / f"{preset}-sample"
    return generate_sample(preset, seed=seed, out=folder, overwrite=overwrite, scale=scale)


def _fmt(indicator: str, value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "—"
    if "ratio" in indicator:
        return f"{100 * value:.1f} %"
    return f"{value:,.0f}".replace(",", " ") if value >= 1000 else f"{value:g}"


def print_summary(bundle: ProvinceBundle, *, language: str = "vi",
                  console: Console | None = None) -> None:
    """Print counts and radius-model ratios beside the reported figures (rich table)."""
    from phusong.seeds.sample import sample_summary

    console = console or Console()
    df = sample_summary(bundle)
    title = (f"{bundle.province} — {SAMPLE_LABEL} (preset {bundle.meta.get('preset')}, "
             f"seed {bundle.meta.get('seed')})")
    table = Table(title=title)
    vi = language == "vi"
    table.add_column("Chỉ tiêu" if vi else "Indicator")
    table.add_column("Mẫu" if vi else "Sample", justify="right")
    table.add_column("Mục tiêu" if vi else "Target", justify="right")
    table.add_column("Báo cáo" if vi else "Reported", justify="right")
    for row in df.itertuples():
        table.add_row(row.label_vi if vi else row.label_en, _fmt(row.indicator, row.sample),
                      _fmt(row.indicator, row.target), _fmt(row.indicator, row.reported))
    console.print(table)
    console.print(f"{bundle.folder}: " + ", ".join(f"{k} {v}" for k, v in bundle.counts().items()))


@click.command()
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default="lai-chau",
              show_default=True, help="Sample province recipe.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--scale", type=click.FloatRange(0.0, 1.0, min_open=True), default=1.0,
              show_default=True, help="Shrink area and counts (for quick runs).")
@click.option("--budget", "budget_vnd", type=float, default=DEFAULT_BUDGET_VND,
              show_default=True, help="Rollout budget in VND.")
@click.option("--generate-only", is_flag=True, help="Only generate the sample bundle.")
@click.option("--online-map", is_flag=True,
              help="Load Leaflet from the internet instead of inlining it.")
@shared_options()
def cli(preset: str, seed: int, scale: float, budget_vnd: float, generate_only: bool,
        online_map: bool, opts: RunOptions) -> None:
    """Generate the sample province (DỮ LIỆU MẪU – SAMPLE DATA) into OUT/<preset>-sample/
    and run the main job on it: coverage, village status and ratios, gap lists and the other
    analyses, the public-utility rollout, the map and the indicator report. With -q only the
    key figures and the output folder are printed."""
    from phusong.analysis.cli._options import progress
    from phusong.analysis.pipeline import run_pipeline

    settings = opts.settings
    bundle = run_generate(preset=preset, seed=seed, out=opts.out_dir, overwrite=opts.overwrite,
                          scale=scale)
    if not opts.quiet:
        print_summary(bundle, language=settings.language)
    if generate_only:
        return
    console = Console()
    with progress(opts) as bar:
        task = bar.add_task("phusong", total=6)

        def on_step(name: str) -> None:
            bar.update(task, description=name, advance=0 if name == "validate" else 1)

        result = run_pipeline(bundle, bundle.folder, settings=settings, model=opts.model,
                              budget_vnd=budget_vnd, offline_map=not online_map,
                              overwrite=opts.overwrite, on_step=on_step)
        bar.update(task, completed=6)
    print_results(result, settings=settings, console=console, tables=not opts.quiet)


def print_results(result: PipelineResult, *, settings: Settings = DEFAULT,
                  console: Console | None = None, tables: bool = True) -> None:
    """Print the coverage lines, the rollout summary and where the outputs are.

    ``tables=False`` (``-q``) leaves out the model-vs-reported table, the notes and the
    timings.
    """
    from phusong.analysis.coverage.ratios import coverage_lines
    from phusong.analysis.rollout.outputs import rollout_lines

    console = console or Console()
    vi = settings.language == "vi"
    console.print(f"[bold]{SAMPLE_LABEL if result.bundle.is_sample else ''}[/bold]")
    for line in coverage_lines(result.ratios, settings=settings):
        console.print("  " + line)
    comparison = result.report.tables.get("model_vs_reported") \
        if result.report is not None and tables else None
    if comparison is not None and len(comparison):
        table = Table(title=("Mô hình vs Báo cáo" if vi else "Model vs reported")
                      + f" ({comparison['year'].iloc[0]})")
        for col in ("indicator", "model", "reported", "difference"):
            table.add_column(col if not vi else {"indicator": "Chỉ tiêu", "model": "Mô hình",
                                                 "reported": "Báo cáo",
                                                 "difference": "Chênh lệch"}[col],
                             justify="left" if col == "indicator" else "right")
        for row in comparison.itertuples():
            table.add_row(str(row.indicator), f"{row.model:g}", f"{row.reported:g}",
                          f"{row.difference:+g}")
        console.print(table)
        for note in result.report.notes:
            if "Báo cáo" in note or "reported" in note.lower():
                console.print("  " + note)
    if result.rollout is not None:
        for line in rollout_lines(result.rollout, settings=settings):
            console.print("  " + line)
    if tables:
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings_s.items())
        console.print(("Thời gian: " if vi else "Timings: ") + timings)
    console.print(("Kết quả: " if vi else "Outputs: ") + str(result.out))
    for key in ("map", "report_html", "report_xlsx", "village_status"):
        if key in result.files:
            console.print(f"  {result.files[key]}")
