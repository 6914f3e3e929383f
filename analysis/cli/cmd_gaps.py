"""``phusong gaps``: gap lists per operator (villages not covered, with what to do)."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import (
    RunOptions,
    bundle_argument,
    operator_choice,
    progress,
    shared_options,
)


@click.command(name="gaps")
@bundle_argument
@click.option("--operator", "operator", default="all", show_default=True,
              help="viettel, vinaphone, mobifone, vietnamobile (aliases accepted) or all.")
@shared_options()
def cli(bundle: Path, operator: str, opts: RunOptions) -> None:
    """Write the gap lists of BUNDLE: every village an operator does not cover (trắng or lõm)
    with ids, centre (WGS84 and VN-2000), population, grid power, nearest own site, the other
    operator's tower that would cover it if shared, distance to fibre, priority and the
    suggested action. After 2026-09-15 (--as-of) 2G no longer counts.

    Writes OUT/gaps_<operator>.{xlsx,csv,geojson} and, for --operator all, OUT/gaps_all.xlsx.
    """
    from rich.console import Console

    from phusong.analysis.preflight import guarded_run, output_patterns
    from phusong.analysis.tables.gaps import gap_lines, write_gap_lists

    settings = opts.settings
    ops = operator_choice(operator)
    with guarded_run("gaps", bundle, out=opts.out_dir, overwrite=opts.overwrite,
                     settings=settings, model=opts.model,
                     patterns=output_patterns("gaps", operators=ops)) as g:
        b = g.bundle
        lists = _gaps(b, g.dem, ops, opts=opts, settings=settings)
        files = write_gap_lists(lists, g.out, settings=settings, sample=b.is_sample,
                                overwrite=True, bundle=b)
    console = Console()
    for line in gap_lines(lists, settings=settings):
        console.print(line, markup=False, highlight=False)
    console.print(f"wrote {len(files)} files to {opts.out_dir}", markup=False)


def _gaps(b, dem, ops, *, opts, settings):
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.tables.fibre import fibre_extension_km, road_graph
    from phusong.analysis.tables.gaps import gap_lists

    with progress(opts) as bar:
        task = bar.add_task("gaps", total=3)
        coverage = compute_coverage(b, model=opts.model, dem=dem, settings=settings)
        bar.update(task, advance=1)
        status = village_status(b, coverage, settings=settings)
        bar.update(task, advance=1)
        ext = fibre_extension_km(b, graph=road_graph(b))["extension_km"]
        lists = gap_lists(b, status, operators=ops,
                          dem=dem if coverage.model == "terrain" else None,
                          settings=settings, model=coverage.model, fibre_extension=ext)
        bar.update(task, advance=1)
    return lists
