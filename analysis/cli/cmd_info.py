"""``phusong info``: what a bundle holds — layer counts, CRS, extent, DEM, sample flag."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import bundle_argument, verbosity_option


@click.command(name="info")
@bundle_argument
@verbosity_option
def cli(bundle: Path) -> None:
    """Print layer counts, CRS (stored and metric), extent (lon/lat and TM-3), DEM size and
    resolution, and whether BUNDLE is sample data."""
    from rich.console import Console
    from rich.table import Table

    from phusong.layers.io import bundle_info

    info = bundle_info(bundle)
    console = Console()
    table = Table(title=f"phusong info {bundle}", show_header=False)
    table.add_column("key")
    table.add_column("value")
    for key, value in info.items():
        if key == "layers":
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        table.add_row(key, str(value))
    console.print(table)
