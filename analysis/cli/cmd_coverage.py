"""``phusong coverage``: coverage rasters, village status and ratios of a bundle."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import bundle_argument, common_options, language_option, progress


@click.command(name="coverage")
@bundle_argument
@click.option("--dem", "dem", type=click.Path(path_type=Path, exists=True), default=None,
              help="DEM GeoTIFF/.hgt (default: the bundle's dem.tif).")
@click.option("--model", "model", type=click.Choice(["terrain", "radius"]), default=None,
              help="Coverage model (default: terrain when a DEM is available).")
@click.option("--operators", "operators", default=None,
              help="Comma-separated operators (default: all).")
@click.option("--max-radius-km", type=float, default=None, help="Terrain model reach (15).")
@click.option("--as-of", "as_of", default=None,
              help="Analysis date YYYY-MM-DD (2G/3G switch-off; default today).")
@click.option("--compare", is_flag=True, default=False,
              help="Also run the other model and write a side-by-side table.")
@click.option("--no-rasters", is_flag=True, default=False, help="Skip the GeoTIFFs.")
@click.option("--path-model", "path_model", type=click.Choice(["p526", "hata", "free_space"]),
              default=None, help="Path-loss model of the terrain model (p526).")
@click.option("--clutter", "clutter", type=click.Path(path_type=Path, exists=True),
              default=None, help="Land cover: ESA WorldCover GeoTIFF or OSM landuse/natural "
              "polygons (default: no clutter loss).")
@click.option("--location-probability", type=click.FloatRange(0.01, 0.99), default=None,
              help="Location probability of the fading margin (0.5: median).")
@click.option("--penetration", type=click.Choice(["outdoor", "in_vehicle", "indoor"]),
              default=None, help="Penetration class (outdoor).")
@language_option
@common_options
def cli(bundle: Path, dem: Path | None, model: str | None, operators: str | None,
        max_radius_km: float | None, as_of: str | None, compare: bool, no_rasters: bool,
        path_model: str | None, clutter: Path | None, location_probability: float | None,
        penetration: str | None, language: str, out: Path, overwrite: bool) -> None:
    """Compute best-server coverage per operator and technology (float32 dBm GeoTIFFs),
    the status of every village (trắng / lõm / phủ sóng) and the coverage ratios of BUNDLE."""
    from rich.console import Console
    from rich.table import Table

    from phusong.analysis.coverage.engine import run_coverage
    from phusong.layers.bundle import read_bundle
    from phusong.layers.operators import parse_operator
    from phusong.layers.settings import DEFAULT

    changes: dict = {"language": language}
    if max_radius_km is not None:
        changes["max_radius_km"] = max_radius_km
    if as_of is not None:
        changes["as_of"] = as_of
    for key, value in (("path_loss_model", path_model),
                       ("location_probability", location_probability),
                       ("penetration", penetration)):
        if value is not None:
            changes[key] = value
    settings = DEFAULT.replace(**changes)
    ops = None if not operators else [parse_operator(o).value for o in operators.split(",")]
    b = read_bundle(bundle)
    with progress() as bar:
        task = bar.add_task("coverage", total=max(1, len(b.layer("bts"))))
        run = run_coverage(b, out=out, dem=dem, model=model, settings=settings, operators=ops,
                           overwrite=overwrite, compare=compare, write_rasters=not no_rasters,
                           clutter=clutter, progress=lambda done, total: bar.update(task, completed=done))
    console = Console()
    if b.is_sample:
        console.print("[yellow]SAMPLE DATA — generated province, not real coverage[/]")
    console.print(f"[bold]{run.coverage.model}[/] model, as of "
                  f"{settings.as_of_date().isoformat()}")
    for line in run.lines:
        console.print(line)
    if run.comparison_summary is not None:
        summary = run.comparison_summary.T  # rows: measures, columns: operators
        table = Table(title="radius vs terrain (villages)")
        table.add_column("")
        for op in summary.columns:
            table.add_column(str(op), justify="right")
        for measure, row in summary.iterrows():
            table.add_row(str(measure), *[str(v) for v in row])
        console.print(table)
    console.print(f"wrote {len(run.paths)} files to {out}")
