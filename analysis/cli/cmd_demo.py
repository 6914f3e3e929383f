"""``phusong demo``: generate the sample province and print its figures beside the reported
ones (first version: generation only; the full pipeline follows)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from analysis.cli._options import common_options
from layers.bundle import ProvinceBundle
from seeds.presets import PRESETS

__all__ = ["cli", "print_summary", "run_generate"]

SAMPLE_LABEL = "DỮ LIỆU MẪU / SAMPLE DATA"


def run_generate(*, preset: str = "lai-chau", seed: int = 0, out: str | os.PathLike = "outputs",
                 overwrite: bool = False, scale: float = 1.0) -> ProvinceBundle:
    """Generate ``<out>/<preset>-sample/`` (bundle.gpkg, dem.tif) and return the bundle."""
    from seeds.sample import generate_sample

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
    from seeds.sample import sample_summary

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
@click.option("--lang", "language", type=click.Choice(["vi", "en"]), default="vi",
              show_default=True, help="Language of the summary.")
@common_options
def cli(preset: str, seed: int, scale: float, language: str, out: Path,
        overwrite: bool) -> None:
    """Generate the sample province (DỮ LIỆU MẪU / SAMPLE DATA) into OUT/<preset>-sample/."""
    bundle = run_generate(preset=preset, seed=seed, out=out, overwrite=overwrite, scale=scale)
    print_summary(bundle, language=language)
