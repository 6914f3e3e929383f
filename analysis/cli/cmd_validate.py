"""``phusong validate``: check a bundle or a layer file, write the rejected rows.

Exit status: 0 when every row was accepted (warnings allowed), 2 when some rows were rejected
(their reasons are in ``rejects_<layer>.csv`` under ``--out``), 1 on an error that stops the
run (unreadable file, missing column, unknown CRS, unusable DEM — one line on stderr).
"""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import RunOptions, progress, shared_options
from phusong.layers.schema import LAYERS

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
              help="Print every warning line, not only the first three per layer.")
@shared_options(analysis=False)
def cli(path: Path, layer: str | None, crs: str | None, encoding: str | None,
        province: str | None, show_warnings: bool, opts: RunOptions) -> None:
    """Validate BUNDLE_OR_FILE (a bundle folder, a .gpkg, or one layer file) and write the
    rejected rows with their reasons to OUT/rejects_<layer>.csv.

    Exit status 0: all rows accepted (maybe with warnings); 2: some rows rejected; 1: error.
    """
    from rich.console import Console
    from rich.table import Table

    from phusong.layers.io import bundle_dem_check, validate_path
    from phusong.layers.validate import write_rejects

    out, overwrite = opts.out_dir, opts.overwrite
    with progress(opts) as bar:
        task = bar.add_task("validating", total=len(LAYERS) if path.is_dir() or
                            path.suffix.lower() == ".gpkg" else 1)

        def step(name: str) -> None:
            bar.update(task, description=f"validating {name}", advance=1)

        results = validate_path(path, layer=layer, crs=crs, encoding=encoding,
                                province=province, on_layer=step)
    dem = bundle_dem_check(path, province=province) if layer is None and (
        path.is_dir() or path.suffix.lower() == ".gpkg") else None
    table = Table(title=f"phusong validate {path}")
    for name in ("layer", "rows in", "accepted", "rejected", "warnings"):
        table.add_column(name, justify="left" if name == "layer" else "right")
    for name, result in results.items():
        table.add_row(name, str(result.rows_in), str(result.n_accepted),
                      str(result.n_rejected), str(len(result.warnings)))
        write_rejects(result, out, overwrite=overwrite)
    if dem is not None:
        table.add_row(f"DEM {dem.path.name} ({dem.width}×{dem.height})", "", "", "",
                      str(len(dem.warnings)))
    console = Console()
    console.print(table)
    for name, result in results.items():
        lines = result.warnings if show_warnings else result.warnings[:3]
        for line in lines:
            console.print(f"[yellow]warning[/]: {line}", highlight=False, soft_wrap=True)
        if len(lines) < len(result.warnings):
            console.print(f"… {len(result.warnings) - len(lines)} more warnings for {name} "
                          "(--show-warnings)")
        for line in result.problems[:5]:
            console.print(f"[red]rejected[/]: {line}", highlight=False, soft_wrap=True)
        if len(result.problems) > 5:
            console.print(f"… {len(result.problems) - 5} more problems for {name}: see "
                          f"{out / f'rejects_{name}.csv'}")
    for line in dem.warnings if dem is not None else ():
        console.print(f"[yellow]warning[/]: {line}", highlight=False, soft_wrap=True)
    if any(r.n_rejected for r in results.values()):
        raise SystemExit(EXIT_REJECTED)
