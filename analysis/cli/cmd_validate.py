"""``phusong validate``: check a bundle or a layer file, write the rejected rows.

Exit status: 0 when every row was accepted (warnings allowed), 2 when some rows were rejected
(their reasons are in ``rejects_<layer>.csv``), 1 on an error that stops the run (unreadable
file, missing column, unknown CRS, unusable DEM — one line on stderr).

The summary table is printed on every run, before anything is written. Rejects files are
written only for layers with rejected rows, into ``--out`` or, by default, beside the input
(``BUNDLE/rejects/`` for a bundle, ``<folder>/<name>_rejects/`` for a file — the command says
where); a rerun replaces its own earlier rejects without ``--overwrite`` and removes those of
layers now clean. Large CSV files are read in chunks with a progress bar.
"""

from __future__ import annotations

from pathlib import Path

import click

from phusong.analysis.cli._options import RunOptions, progress, shared_options
from phusong.layers.schema import LAYERS

EXIT_REJECTED = 2


def default_rejects_folder(path: Path) -> Path:
    """Where rejects go without ``--out``: beside the input, never the working folder."""
    if path.is_dir():
        return path / "rejects"
    if path.suffix.lower() == ".gpkg":
        return path.parent / "rejects"
    return path.parent / f"{path.stem}_rejects"


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
@click.option("--lang", "language", type=click.Choice(["vi", "en"]), default=None,
              help="Language of the summary (default: vi).")
@shared_options(analysis=False)
def cli(path: Path, layer: str | None, crs: str | None, encoding: str | None,
        province: str | None, show_warnings: bool, language: str | None,
        opts: RunOptions) -> None:
    """Validate BUNDLE_OR_FILE (a bundle folder, a .gpkg, or one layer file) and write the
    rejected rows with their reasons to rejects_<layer>.csv (only for layers with rejects).

    Exit status 0: all rows accepted (maybe with warnings); 2: some rows rejected; 1: error.
    """
    from rich.console import Console
    from rich.table import Table

    from phusong.analysis.preflight import check_out_folder
    from phusong.gis.atomic import StagedOutputs
    from phusong.gis.errors import OutputError
    from phusong.layers.io import bundle_dem_check, validate_path
    from phusong.layers.validate import write_rejects

    language = language or opts.lang
    out = opts.out  # None: beside the input; validate always replaces its own rejects
    folder = out if out is not None else default_rejects_folder(path)
    try:  # checked now, reported only if there is something to write
        check_out_folder(folder, language="en")
        folder_problem = None
    except OutputError as exc:
        folder_problem = exc
    is_bundle = path.is_dir() or path.suffix.lower() == ".gpkg"
    with progress(opts) as bar:
        task = bar.add_task("validating", total=len(LAYERS) if is_bundle else 1)

        def step(name: str) -> None:
            bar.update(task, description=f"validating {name}", advance=1 if is_bundle else 0)

        def rows(done: int, total: int) -> None:
            bar.update(task, total=total, completed=done)

        results = validate_path(path, layer=layer, crs=crs, encoding=encoding,
                                province=province, on_layer=step, on_progress=rows)
    dem = bundle_dem_check(path, province=province) if layer is None and is_bundle else None
    vi = language == "vi"
    words = WORDS["vi" if vi else "en"]
    table = Table(title=f"phusong validate {path}")
    for i, name in enumerate(words["columns"]):
        table.add_column(name, justify="left" if i == 0 else "right")
    for name, result in results.items():
        table.add_row(name, str(result.rows_in), str(result.n_accepted),
                      str(result.n_rejected), str(len(result.warnings)))
    if dem is not None:
        table.add_row(f"DEM {dem.path.name} ({dem.width}×{dem.height})", "", "", "",
                      str(len(dem.warnings)))
    console = Console()
    console.print(table)
    for name, result in results.items():
        lines = result.warnings if show_warnings else result.warnings[:3]
        for line in lines:
            console.print(f"[yellow]{words['warning']}[/]: " + _escape(line),
                          highlight=False, soft_wrap=True)
        if len(lines) < len(result.warnings):
            console.print(words["more_warnings"].format(n=len(result.warnings) - len(lines),
                                                        layer=name))
        for line in result.problems[:5]:
            console.print(f"[red]{words['rejected']}[/]: " + _escape(line), highlight=False,
                          soft_wrap=True)
        if len(result.problems) > 5:
            console.print(words["more_rejected"].format(
                n=result.n_rejected - min(5, result.n_rejected), layer=name,
                path=folder / f"rejects_{name}.csv"), highlight=False, markup=False,
                soft_wrap=True)
    for line in dem.warnings if dem is not None else ():
        console.print(f"[yellow]{words['warning']}[/]: " + _escape(line), highlight=False,
                      soft_wrap=True)
    if is_bundle and layer is None:  # what the analyses will refuse, said now
        for line in missing_layer_lines(results, language=language):
            console.print(f"[yellow]{words['warning']}[/]: " + _escape(f"{path}: {line}"),
                          highlight=False, soft_wrap=True)

    # rejects: one set per run, this run's layers only, replaced without --overwrite
    rejected = {n: r for n, r in results.items() if r.n_rejected}
    stage = StagedOutputs(folder, patterns=tuple(f"rejects_{n}.csv" for n in results))
    if rejected or stage.existing():
        if folder_problem is not None:
            raise folder_problem
        stage.open()
        try:
            for r in rejected.values():
                write_rejects(r, stage.path, overwrite=True)
            stage.commit()
        except BaseException:  # also a Ctrl-C on the way into the commit
            stage.abort()
            raise
        if rejected:
            console.print(words["written"].format(path=folder)
                          + ("" if out is not None else words["beside"]),
                          highlight=False, markup=False, soft_wrap=True)
    if rejected:
        raise SystemExit(EXIT_REJECTED)


#: the command's own words (the library's row messages are English)
WORDS = {
    "vi": {"columns": ("lớp", "số dòng", "dùng được", "bị loại", "cảnh báo"),
           "warning": "cảnh báo", "rejected": "bị loại",
           "more_warnings": "… còn {n} cảnh báo của lớp {layer} (--show-warnings)",
           "more_rejected": "… còn {n} dòng bị loại của lớp {layer}: xem {path}",
           "written": "Các dòng bị loại và lý do: {path}",
           "beside": " (cạnh dữ liệu vào; chọn nơi khác bằng -o)",
           "no_layer": "không có lớp {name} ({words}): {users} sẽ từ chối gói dữ liệu này",
           "empty_layer": "lớp {name} ({words}) không còn dòng dùng được: {users} sẽ từ chối "
                          "gói dữ liệu này"},
    "en": {"columns": ("layer", "rows in", "accepted", "rejected", "warnings"),
           "warning": "warning", "rejected": "rejected",
           "more_warnings": "… {n} more warnings for {layer} (--show-warnings)",
           "more_rejected": "… {n} more rejected rows for {layer}: see {path}",
           "written": "rejected rows with their reasons: {path}",
           "beside": " (beside the input; -o to choose)",
           "no_layer": "no {name} layer ({words}): {users} will refuse this bundle",
           "empty_layer": "the {name} layer ({words}) has no usable row: {users} will refuse "
                          "this bundle"},
}


def missing_layer_lines(results: dict, *, language: str = "vi") -> list[str]:
    """One line per layer the analysis commands need that is missing or left empty."""
    from phusong.analysis.preflight import NEEDS
    from phusong.layers.checks import LAYER_WORDS

    vi = language == "vi"
    w = WORDS["vi" if vi else "en"]
    lines = []
    needed = dict.fromkeys(n for layers in NEEDS.values() for n in layers)
    for name in needed:
        users = ", ".join(c for c, layers in NEEDS.items()
                          if name in layers and c not in ("pipeline", "run"))
        words = LAYER_WORDS[name][0 if vi else 1]
        r = results.get(name)
        if r is None:
            lines.append(w["no_layer"].format(name=name, words=words, users=users))
        elif r.n_accepted == 0:
            lines.append(w["empty_layer"].format(name=name, words=words, users=users))
    return lines


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
