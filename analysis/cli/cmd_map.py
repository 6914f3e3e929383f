"""``phusong map``: the planner's interactive map as one HTML file."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import RunOptions, bundle_argument, progress, shared_options


@click.command(name="map")
@bundle_argument
@click.option("--offline", is_flag=True, default=False,
              help="Inline Leaflet and the plugins and use a DEM hillshade as base layer: "
                   "the file opens with no internet at all.")
@click.option("--no-rasters", "no_rasters", is_flag=True, default=False,
              help="Leave out the coverage rasters (smaller file).")
@shared_options()
def cli(bundle: Path, offline: bool, no_rasters: bool, opts: RunOptions) -> None:
    """Draw BUNDLE's villages coloured by coverage status, towers, fibre, post offices and
    coverage rasters on one map. Writes OUT/map.html."""
    from phusong.analysis.preflight import guarded_run
    from phusong.analysis.publish.mapping import write_map

    settings = opts.settings
    with guarded_run("map", bundle, out=opts.out_dir, overwrite=opts.overwrite,
                     settings=settings, model=opts.model) as g:
        fmap = _build(g.bundle, g.dem, opts=opts, offline=offline, no_rasters=no_rasters,
                      settings=settings)
        write_map(fmap, g.out / "map.html", overwrite=True)
    click.echo(f"wrote {opts.out_dir / 'map.html'}")


def _build(b, dem, *, opts, offline, no_rasters, settings):
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.publish.mapping import build_map

    with progress(opts) as bar:
        task = bar.add_task("map", total=3)
        coverage = compute_coverage(b, model=opts.model, dem=dem, settings=settings)
        bar.update(task, advance=1)
        status = village_status(b, coverage, settings=settings)
        bar.update(task, advance=1)
        fmap = build_map(b, status=status, coverage=None if no_rasters else coverage,
                         offline=offline, settings=settings)
        bar.update(task, advance=1)
    return fmap
