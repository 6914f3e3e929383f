"""``phusong coverage``: coverage rasters, village status and ratios of a bundle."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import (
    RunOptions,
    bundle_argument,
    calibration_option,
    progress,
    shared_options,
)
from phusong.analysis.labels import SAMPLE_LABEL


@click.command(name="coverage")
@bundle_argument
@click.option("--dem", "dem", type=click.Path(path_type=Path, exists=True), default=None,
              help="DEM GeoTIFF/.hgt (default: the bundle's dem.tif).")
@click.option("--operators", "operators", default=None,
              help="Comma-separated operators (default: all).")
@click.option("--max-radius-km", type=float, default=None, help="Terrain model reach (15).")
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
@calibration_option
@shared_options()
def cli(bundle: Path, dem: Path | None, operators: str | None, max_radius_km: float | None,
        compare: bool, no_rasters: bool, path_model: str | None, clutter: Path | None,
        location_probability: float | None, penetration: str | None,
        calibration: Path | None, opts: RunOptions) -> None:
    """Compute best-server coverage per operator and technology (float32 dBm GeoTIFFs),
    the status of every village (trắng / lõm / phủ sóng) and the coverage ratios of BUNDLE."""
    from rich.console import Console
    from rich.table import Table

    from phusong.analysis.coverage.run import run_coverage
    from phusong.analysis.preflight import check_numbers, guarded_run, output_patterns
    from phusong.layers.operators import parse_operator

    settings = opts.settings
    check_numbers(language=settings.language, max_radius_km=(max_radius_km, ">0"))
    if max_radius_km is not None:
        settings = settings.replace(max_radius_km=max_radius_km)
    changes: dict = {}
    for key, value in (("path_loss_model", path_model),
                       ("location_probability", location_probability),
                       ("penetration", penetration)):
        if value is not None:
            changes[key] = value
    if changes:
        settings = settings.replace(**changes)
    out = opts.out_dir
    ops = None if not operators else [parse_operator(o).value for o in operators.split(",")]
    cal = None
    if calibration is not None:
        from phusong.analysis.coverage.calibrate import read_calibration

        cal = read_calibration(calibration)
    patterns = output_patterns("coverage", operators=ops, compare=compare,
                               rasters=not no_rasters)
    with guarded_run("coverage", bundle, out=out, overwrite=opts.overwrite, settings=settings,
                     dem=dem, model=opts.model, patterns=patterns) as g, progress(opts) as bar:
        b = g.bundle
        task = bar.add_task("coverage", total=max(1, len(b.layer("bts"))))
        run = run_coverage(b, out=g.out, dem=g.dem if g.dem is not None else dem,
                           model=opts.model, settings=settings,
                           operators=ops, overwrite=True, compare=compare,
                           write_rasters=not no_rasters, calibration=cal, clutter=clutter,
                           progress=lambda done, total: bar.update(task, completed=done))
    console = Console()
    if b.is_sample:
        console.print(f"[yellow]{SAMPLE_LABEL} — generated province, not real coverage[/]")
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
