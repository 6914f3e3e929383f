"""``phusong timeline``: villages with signal, broadband and white at each date to 2030."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import RunOptions, bundle_argument, shared_options


@click.command(name="timeline")
@bundle_argument
@click.option("--start-year", "start_year", type=int, default=None,
              help="First year (default: the bundle's year, else this year).")
@click.option("--end-year", "end_year", type=int, default=None,
              help="Last year (default 2030).")
@click.option("--date-2g-off", "date_2g_off", default=None,
              help="2G network switch-off date YYYY-MM-DD (default 2026-09-15).")
@click.option("--date-3g-off", "date_3g_off", default=None,
              help="3G network switch-off date YYYY-MM-DD (default 2028-09-15).")
@shared_options()
def cli(bundle: Path, start_year: int | None, end_year: int | None,
        date_2g_off: str | None, date_3g_off: str | None, opts: RunOptions) -> None:
    """The 2G/3G switch-off timeline of BUNDLE: villages with signal, with broadband and
    white at the end of each year from the report's year to 2030 and on the switch-off
    dates. Writes OUT/timeline.xlsx, timeline.csv and timeline.png."""
    from phusong.analysis.compare.timeline import (
        TIMELINE_LABELS,
        event_label,
        switch_off_timeline,
        timeline_chart,
    )
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.export import write_table
    from phusong.gis.atomic import atomic_write_bytes, check_writable
    from phusong.layers.bundle import read_bundle
    from phusong.layers.settings import DEFAULT

    language, model = opts.lang, opts.model
    out, overwrite = opts.out_dir, opts.overwrite
    changes: dict = {"language": language}
    for key, value in (("timeline_end_year", end_year), ("date_2g_off", date_2g_off),
                       ("date_3g_off", date_3g_off)):
        if value is not None:
            changes[key] = value
    settings = DEFAULT.replace(**changes)
    paths = [Path(out) / f for f in ("timeline.xlsx", "timeline.csv", "timeline.png")]
    for p in paths:
        check_writable(p, overwrite=overwrite)
    b = read_bundle(bundle)
    year = str(b.meta.get("year", "") or "")
    start = start_year or (int(year) if year.isdigit() else None)
    cov = compute_coverage(b, model=model, settings=settings)
    status = village_status(b, cov, settings=settings)
    table = switch_off_timeline(status, settings=settings, start_year=start)
    shown = table.assign(event=table["event"].map(lambda e: event_label(e, language)))
    Path(out).mkdir(parents=True, exist_ok=True)
    title = ("Lộ trình tắt sóng 2G/3G" if language == "vi" else "2G/3G switch-off timeline")
    write_table(shown, paths[0], headers=language, labels=TIMELINE_LABELS,
                overwrite=overwrite, sample=b.is_sample, title=f"{title} – {b.province}")
    write_table(shown, paths[1], headers=language, labels=TIMELINE_LABELS,
                overwrite=overwrite, sample=b.is_sample)
    atomic_write_bytes(paths[2], timeline_chart(table, language=language,
                                                is_sample=b.is_sample), overwrite=overwrite)
    if b.is_sample:
        click.echo("DỮ LIỆU MẪU / SAMPLE DATA")
    for r in table.itertuples():
        click.echo(f"{r.date}  {r.techs_on:<16} signal {r.villages_signal}/{r.villages_total}"
                   f"  broadband {r.villages_broadband}  white {r.villages_white}")
    for p in paths:
        click.echo(f"wrote {p}")
