"""``phusong compare``: progress between two snapshots of a province."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import RunOptions, progress, shared_options
from phusong.analysis.coverage.models import MODELS


@click.command(name="compare")
@click.argument("old", type=click.Path(path_type=Path, exists=True))
@click.argument("new", type=click.Path(path_type=Path, exists=True), required=False)
@click.option("--as-of", "as_of", multiple=True,
              help="Analysis date YYYY-MM-DD of each snapshot: give it twice with one bundle "
                   "(OLD at two dates), or once per bundle; default: the end of each "
                   "bundle's year (meta 'year'), else today.")
@click.option("--model", "model", type=click.Choice(MODELS), default=None,
              help="Coverage model (default: terrain when the bundle has a DEM).")
@click.option("--lang", "language", type=click.Choice(["vi", "en"]), default=None,
              help="Language of labels, headers and summaries (default: vi).")
@click.option("--match-m", "match_m", type=click.FloatRange(min=0), default=None,
              help="Villages without a common id or name are matched by position within this "
                   "many metres (default 500).")
@click.option("--no-map", "no_map", is_flag=True, default=False,
              help="Skip compare_map.html.")
@click.option("--online-map", "online_map", is_flag=True, default=False,
              help="Load Leaflet from the internet instead of inlining it.")
@shared_options(analysis=False)
def cli(old: Path, new: Path | None, as_of: tuple[str, ...], model: str | None,
        language: str | None, match_m: float | None, no_map: bool, online_map: bool,
        opts: RunOptions) -> None:
    """Compare two snapshots of one province: OLD and NEW bundles (e.g. 2022 and 2023 data),
    or OLD alone at two --as-of dates. Villages cleared of white and lõm status per operator
    and overall, villages that lost signal (and why), towers, BTS, cable and postal points
    added or removed, per province, district and commune. Writes OUT/compare.xlsx,
    compare_*.csv, compare_villages.geojson, compare_map.html and compare.txt."""
    from phusong.analysis.compare.changes import (
        Snapshot,
        compare_bundles,
        snapshot_date,
        snapshot_label,
    )
    from phusong.analysis.compare.outputs import comparison_lines, write_comparison
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.gis.errors import InputError
    from phusong.layers.bundle import read_bundle
    from phusong.layers.settings import DEFAULT

    language = language or opts.lang
    model = model or opts.model
    out, overwrite = opts.out_dir, opts.overwrite
    changes: dict = {"language": language}
    if match_m is not None:
        changes["compare_village_match_m"] = match_m
    settings = DEFAULT.replace(**changes)
    if new is None and len(as_of) != 2:
        raise InputError("compare: give two bundles (OLD NEW), or one bundle and --as-of twice "
                         "(e.g. --as-of 2025-12-31 --as-of 2026-12-31)")
    if len(as_of) > 2:
        raise InputError(f"compare: --as-of given {len(as_of)} times; give it at most twice")
    ob = read_bundle(old)
    nb = read_bundle(new) if new is not None else ob
    dates = list(as_of)
    if len(dates) == 1:
        dates = [dates[0], dates[0]]
    if not dates:
        dates = [snapshot_date(ob, settings), snapshot_date(nb, settings)]
    snaps = []
    with progress(opts) as bar:
        task = bar.add_task("compare", total=4 if new is not None else 3)
        cov_o = compute_coverage(ob, model=model, settings=settings.replace(as_of=dates[0]))
        bar.update(task, advance=1)
        cov_n = cov_o if new is None else compute_coverage(
            nb, model=model, settings=settings.replace(as_of=dates[1]))
        bar.update(task, advance=1 if new is not None else 0)
        for b, cov, d, path in ((ob, cov_o, dates[0], old), (nb, cov_n, dates[1], new or old)):
            s = settings.replace(as_of=d)
            snaps.append(Snapshot(b, village_status(b, cov, settings=s), s,
                                  label=snapshot_label(b, s), source=str(path)))
            bar.update(task, advance=1)
        if snaps[0].label == snaps[1].label:
            for sn in snaps:
                sn.label = sn.settings.as_of_date().strftime("%d/%m/%Y")
        result = compare_bundles(snaps[0], snaps[1], settings=settings)
    files = write_comparison(result, out, settings=settings, overwrite=overwrite,
                             new_bundle=None if no_map else nb, new_status=snaps[1].status,
                             old_bundle=ob, offline_map=not online_map)
    if result.is_sample:
        click.echo("DỮ LIỆU MẪU / SAMPLE DATA")
    for line in comparison_lines(result, language=language):
        click.echo(line)
    for path in files.values():
        click.echo(f"wrote {path}")
