"""``phusong calibrate``: fit the coverage model to drive-test / crowdsourced measurements."""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import RunOptions, bundle_argument, shared_options


@click.command(name="calibrate")
@bundle_argument
@click.option("--measurements", "measurements", required=True,
              type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="CSV/XLSX of measurements (phone-app export, OpenCelliD, drive test).")
@click.option("--dem", "dem", type=click.Path(path_type=Path, exists=True), default=None,
              help="DEM GeoTIFF/.hgt (default: the bundle's dem.tif).")
@click.option("--model", "model", type=click.Choice(["terrain", "itm"]), default=None,
              help="Coverage model to calibrate (default: terrain).")
@click.option("--clutter", "clutter", type=click.Path(path_type=Path, exists=True),
              default=None, help="Clutter raster of integer classes (default: settled/open "
              "from the villages' settled areas).")
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True,
              help="k of the spatial k-fold cross-validation.")
@click.option("--min-rows", type=click.IntRange(3), default=30, show_default=True,
              help="Fewest usable measurements to fit a technology.")
@click.option("--lang", "language", type=click.Choice(["vi", "en"]), default=None,
              help="Language of the summary (default: vi).")
@shared_options(analysis=False)
def cli(bundle: Path, measurements: Path, dem: Path | None, model: str | None,
        clutter: Path | None, folds: int, min_rows: int, language: str | None,
        opts: RunOptions) -> None:
    """Fit per-technology corrections (offset, distance slope, clutter offsets) of the coverage
    model of BUNDLE to the measurements, with k-fold cross-validation; write
    ``calibration.json`` (use it with ``--calibration``), ``calibration_fit.csv``,
    ``calibration_points.csv`` and the rejected rows under OUT."""
    from rich.console import Console

    from phusong.analysis.coverage.calibrate import calibrate
    from phusong.analysis.export import write_table
    from phusong.analysis.preflight import check_out_folder
    from phusong.layers._rejects import write_rejects_csv
    from phusong.layers.bundle import read_bundle
    from phusong.layers.settings import DEFAULT

    language = language or opts.lang
    out, overwrite = opts.out_dir, opts.overwrite
    settings = DEFAULT.replace(language=language, as_of=opts.as_of).resolved()
    check_out_folder(out, language=language)  # before any computing
    b = read_bundle(bundle)
    run = calibrate(b, measurements, model=model or "terrain", dem=dem, settings=settings,
                    clutter=clutter, folds=folds, min_rows=min_rows)
    out.mkdir(parents=True, exist_ok=True)
    cal_path = run.calibration.write(out / "calibration.json", overwrite=overwrite)
    table = run.calibration.table()
    write_table(table, out / "calibration_fit.csv", headers="raw", overwrite=overwrite,
                sample=b.is_sample)
    write_table(run.points, out / "calibration_points.csv", headers="raw",
                overwrite=overwrite, sample=b.is_sample)
    if len(run.rejected):
        write_rejects_csv(run.rejected, out / "calibration_rejected.csv", overwrite=overwrite)
    console = Console()
    if b.is_sample:
        console.print("[yellow]DỮ LIỆU MẪU / SAMPLE DATA — generated province[/]")
    vi = language == "vi"
    n_ok = len(run.points)
    console.print(
        (f"{run.rows_in} dòng đo: {n_ok} dùng để hiệu chỉnh, {len(run.rejected)} bị loại"
         if vi else f"{run.rows_in} measurement rows: {n_ok} used, {len(run.rejected)} rejected"),
        markup=False)
    for r in table.itertuples(index=False):
        console.print(
            (f"{r.group}: n={r.n}, bù {r.offset_db:+.1f} dB, độ dốc {r.slope_db_per_decade:+.1f}"
             f" dB/decade; sai số TB {r.mean_error_before_db:+.1f} → {r.mean_error_after_db:+.1f}"
             f" dB, RMSE {r.rmse_before_db:.1f} → {r.rmse_after_db:.1f} dB (kiểm định chéo "
             f"{r.folds} phần)" if vi else
             f"{r.group}: n={r.n}, offset {r.offset_db:+.1f} dB, slope "
             f"{r.slope_db_per_decade:+.1f} dB/decade; mean error {r.mean_error_before_db:+.1f}"
             f" → {r.mean_error_after_db:+.1f} dB, RMSE {r.rmse_before_db:.1f} → "
             f"{r.rmse_after_db:.1f} dB ({r.folds}-fold cross-validation)"), markup=False)
    console.print(f"wrote {cal_path}", markup=False)
