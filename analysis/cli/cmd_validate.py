"""``phusong validate``: check a bundle or a layer file, write the rejected rows.

Exit status: 0 when every row was accepted (warnings allowed), 2 when some rows were rejected
(their reasons are in ``rejects_<layer>.csv`` under ``--out``), 1 on an error that stops the
run (unreadable file, missing column, unknown CRS — one line on stderr).
"""

from __future__ import annotations

from pathlib import Path

import click

from analysis.cli._options import common_options
from layers.schema import LAYERS

EXIT_REJECTED = 2


@click.command(name="validate")
@click.argument("path", metavar="BUNDLE_OR_FILE", type=click.Path(path_type=Path, exists=True))
@click.option("--layer", type=click.Choice(sorted(LAYERS)),
              help="Layer the file holds (default: from the file name), or the one bundle "
                   "layer to check.")
@click.option("--crs", default=None, help="CRS of the coordinates when the file does not say "
              "(e.g. 4326, 4756, 9205); detected when omitted.")
@click.option("--encoding", default=None, help="Text encoding of a CSV (utf-8, cp1258, "
              "tcvn3); detected when omitted.")
@click.option("--province", default=None, help="Province whose box points must fall in "
              "(e.g. lai-chau); default: the bundle's, else Vietnam.")
@click.option("--show-warnings/--no-show-warnings", default=False, show_default=True,
              help="Print every warning line, not only the counts.")
@common_options
def cli(path: Path, layer: str | None, crs: str | None, encoding: str | None,
        province: str | None, show_warnings: bool, out: Path, overwrite: bool) -> None:
    """Validate BUNDLE_OR_FILE (a bundle folder, a .gpkg, or one layer file) and write the
    rejected rows with their reasons to OUT/rejects_<layer>.csv."""
    from rich.console import Console
    from rich.table import Table

    from layers.io import validate_path
    from layers.validate import write_rejects

    results = validate_path(path, layer=layer, crs=crs, encoding=encoding, province=province)
    table = Table(title=f"phusong validate {path}")
    for name in ("layer", "rows in", "accepted", "rejected", "warnings"):
        table.add_column(name, justify="left" if name == "layer" else "right")
    console = Console()
    for name, result in results.items():
        table.add_row(name, str(result.rows_in), str(result.n_accepted),
                      str(result.n_rejected), str(len(result.warnings)))
        write_rejects(result, out, overwrite=overwrite)
    console.print(table)
    for result in results.values():
        lines = result.warnings if show_warnings else result.warnings[:3]
        for line in lines:
            console.print(f"[yellow]warning[/]: {line}", highlight=False, markup=True,
                          soft_wrap=True)
        if not show_warnings and len(result.warnings) > 3:
            console.print(f"… {len(result.warnings) - 3} more warnings for {result.layer} "
                          "(--show-warnings)")
        for line in result.problems[:5]:
            console.print(f"[red]rejected[/]: {line}", highlight=False, soft_wrap=True)
        if len(result.problems) > 5:
            console.print(f"… {len(result.problems) - 5} more problems for {result.layer}: "
                          f"see {out / f'rejects_{result.layer}.csv'}")
    if any(r.n_rejected for r in results.values()):
        raise SystemExit(EXIT_REJECTED)
