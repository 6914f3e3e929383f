"""``phusong run``: coverage, village status and ratios of several provinces on Dask."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import RunOptions, progress, shared_options
from phusong.analysis.labels import SAMPLE_LABEL


@click.command(name="run")
@click.argument("bundles", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--provinces", "provinces", default=None,
              help="Sample provinces, e.g. lai-chau,dien-bien or 'cluster' (the seven of the "
                   "northern-border cluster); generated under --out when missing.")
@click.option("--scheduler", "scheduler", default=None,
              help="Address of a running dask scheduler (default: start a LocalCluster).")
@click.option("--workers", "workers", type=int, default=None,
              help="LocalCluster worker processes (default: one per core).")
@click.option("--memory-limit", "memory_limit", default="auto", show_default=True,
              help="LocalCluster memory limit per worker, e.g. 4GiB.")
@click.option("--tile-km", "tile_km", type=float, default=50.0, show_default=True,
              help="Side of a DEM tile; each tile also reads a halo of the maximum radius.")
@click.option("--scale", "scale", type=float, default=1.0, show_default=True,
              help="Size of generated sample provinces (0 < scale <= 1).")
@click.option("--seed", "seed", type=int, default=0, show_default=True,
              help="Base seed of generated sample provinces.")
@click.option("--max-radius-km", type=float, default=None, help="Terrain model reach (15).")
@click.option("--no-rasters", is_flag=True, default=False, help="Skip the GeoTIFFs.")
@shared_options()
def cli(bundles: tuple[Path, ...], provinces: str | None, scheduler: str | None,
        workers: int | None, memory_limit: str, tile_km: float, scale: float, seed: int,
        max_radius_km: float | None, no_rasters: bool, opts: RunOptions) -> None:
    """Run coverage, village status and ratios of many provinces on dask.distributed.

    Give bundle folders (BUNDLES) and/or --provinces of the multi-province sample. Each
    province's DEM is cut into tiles with a halo of the maximum radius, so the results equal a
    single run. Writes OUT/<province>/ (coverage GeoTIFFs, village_status.csv, ratios.csv) and
    OUT/village_status_all.csv, OUT/ratios_all.csv, OUT/run_summary.csv.
    """
    import logging

    from rich.console import Console
    from rich.table import Table

    from phusong.analysis.coverage.ratios import format_ratio
    from phusong.analysis.coverage.tiled import open_client, run_provinces
    from phusong.analysis.preflight import (
        check_inputs,
        check_numbers,
        guarded_set,
        output_patterns,
    )
    from phusong.gis.errors import InputError
    from phusong.seeds.multi import generate_cluster, parse_provinces

    logging.getLogger("distributed").setLevel(logging.ERROR)  # dask's start/stop chatter
    settings = opts.settings
    if max_radius_km is not None:
        settings = settings.replace(max_radius_km=max_radius_km)
    out, overwrite, model = opts.out_dir, opts.overwrite, opts.model
    check_numbers(language=settings.language, tile_km=(tile_km, ">0"), scale=(scale, ">0"),
                  workers=(workers, ">0"), max_radius_km=(max_radius_km, ">0"))
    paths = list(bundles)
    if provinces:
        paths += generate_cluster(out, provinces=parse_provinces(provinces), seed=seed,
                                  scale=scale, overwrite=overwrite)
    if not paths:
        raise InputError("nothing to run: give bundle folders or --provinces (e.g. "
                         "--provinces cluster)")
    for p in paths:  # every bundle checked (and cached) before the cluster starts
        check_inputs("run", p, settings=settings, model=model)
    with guarded_set(out, patterns=output_patterns("run"), overwrite=overwrite,
                     settings=settings) as stage, \
            open_client(scheduler, n_workers=workers, memory_limit=memory_limit) as client, \
            progress(opts) as bar:
        task = bar.add_task("tiles", total=None)
        summary = run_provinces(
            paths, out=stage.path, client=client, tile_km=tile_km, settings=settings,
            model=model, overwrite=True, write_rasters=not no_rasters,
            progress=lambda done, total: bar.update(task, completed=done, total=total))
    console = Console()
    if summary.provinces["sample"].any():
        console.print(f"[yellow]{SAMPLE_LABEL} — generated provinces, not real coverage[/]")
    table = Table(title=f"{len(summary.provinces)} provinces, {summary.wall_s:.1f} s")
    for col in ("province", "villages", "BTS", "DEM cells", "tiles", "with signal", "wall s"):
        table.add_column(col)
    ratios = summary.ratios.groupby("province")[["villages_with_signal",
                                                 "villages_total"]].sum()
    for r in summary.provinces.itertuples(index=False):
        signal = (format_ratio(int(ratios.at[r.province, "villages_with_signal"]),
                               int(ratios.at[r.province, "villages_total"]))
                  if r.province in ratios.index else "")
        table.add_row(r.province, str(r.villages), str(r.bts), f"{r.dem_cells:,}",
                      f"{r.tile_tasks}/{r.tiles}", signal, f"{r.wall_s:.1f}")
    console.print(table)
    console.print(f"wrote {len(summary.files)} files to {out}")
