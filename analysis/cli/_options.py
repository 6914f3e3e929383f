"""Options shared by every ``phusong`` command, defined once."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.logging import RichHandler

__all__ = ["bundle_argument", "common_options", "language_option", "out_option",
           "overwrite_option", "progress", "scenario_option", "verbosity_option"]


def _configure_logging(verbosity: int) -> None:
    level = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}.get(
        max(-1, min(1, verbosity)), logging.INFO)
    root = logging.getLogger()
    if not any(isinstance(h, RichHandler) for h in root.handlers):
        root.addHandler(RichHandler(show_path=False, rich_tracebacks=False, markup=False))
    logging.getLogger("phusong").setLevel(level)
    root.setLevel(logging.WARNING)


def verbosity_option(f: Callable) -> Callable:
    """``-v`` (more) and ``-q`` (less) logging."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        return value

    f = click.option("-v", "--verbose", "verbose", count=True, help="More log output.",
                     callback=callback, expose_value=True)(f)
    f = click.option("-q", "--quiet", "quiet", count=True, help="Less log output.",
                     callback=callback, expose_value=True)(f)

    @functools.wraps(f)
    def wrapper(*args: Any, verbose: int = 0, quiet: int = 0, **kwargs: Any) -> Any:
        _configure_logging(verbose - quiet)
        return f(*args, **kwargs)

    return wrapper


out_option = click.option("-o", "--out", "out", type=click.Path(path_type=Path),
                          default=Path("outputs"), show_default=True,
                          help="Folder the outputs are written to.")
overwrite_option = click.option("--overwrite", is_flag=True, default=False,
                                help="Replace existing output files.")
language_option = click.option("--lang", "language", type=click.Choice(["vi", "en"]),
                               default="vi", show_default=True,
                               help="Language of labels, headers and popups.")
bundle_argument = click.argument("bundle", type=click.Path(path_type=Path, exists=True))


def common_options(f: Callable) -> Callable:
    """``--out``, ``--overwrite``, ``-v/-q``."""
    return out_option(overwrite_option(verbosity_option(f)))


def progress(**kwargs: Any):
    """A rich progress bar for long steps (writes to stderr, silent when not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True, **kwargs)


scenario_option = click.option(
    "--scenario", "scenario", type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="A scenario file saved by `phusong serve` (JSON edits of the towers and BTS): "
         "compute as the scenario has the province. The bundle is not modified.")
