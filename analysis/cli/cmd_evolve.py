"""``phusong evolve``: a sample bundle one year on (new sites, sharing, a switch-off)."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import RunOptions, bundle_argument, shared_options


@click.command(name="evolve")
@bundle_argument
@click.option("--year", "year", type=int, default=None,
              help="Year of the new bundle (default: the bundle's year + 1).")
@click.option("--seed", "seed", type=int, default=1, show_default=True, help="Random seed.")
@click.option("--new-sites", type=click.IntRange(min=0), default=None,
              help="New towers at the most remote villages (default ~5 % of towers).")
@click.option("--shared", type=click.IntRange(min=0), default=None,
              help="Co-locations on another operator's tower (default ~5 % of towers).")
@click.option("--early-2g-off", "early_2g_off", type=click.IntRange(min=0), default=None,
              help="Towers on which one operator retires 2G early (default ~3 %).")
@shared_options(analysis=False)
def cli(bundle: Path, year: int | None, seed: int, new_sites: int | None, shared: int | None,
        early_2g_off: int | None, opts: RunOptions) -> None:
    """Write BUNDLE's province one year on into OUT (a bundle folder, DỮ LIỆU MẪU / SAMPLE
    DATA): new sites, sharing, the switch-offs in force by then, more fibre and postal points,
    with changes.csv listing every change. Compare the two with phusong compare."""
    from phusong.layers.bundle import read_bundle
    from phusong.seeds.evolve import evolve_sample, write_evolution

    out, overwrite = opts.out_dir, opts.overwrite
    b = read_bundle(bundle)
    evo = evolve_sample(b, seed=seed, year=year, new_sites=new_sites, shared=shared,
                        early_2g_off=early_2g_off)
    nb = write_evolution(evo, out, overwrite=overwrite)
    click.echo("DỮ LIỆU MẪU / SAMPLE DATA")
    counts = evo.changes["change"].value_counts()
    click.echo(f"{b.province} {b.meta.get('year', '?')} → {evo.year}: "
               + ", ".join(f"{k} {int(v)}" for k, v in counts.items()))
    click.echo(f"wrote {nb.folder}")
