"""Options shared by every ``phusong`` command, defined once.

The group holds the shared options — ``--as-of``, ``--lang``, ``--model``, ``-o/--out``,
``--overwrite``, ``-v/-q`` — and every command that uses them accepts them again after its
name, so both ``phusong --as-of 2022-12-31 analyse BUNDLE`` and
``phusong analyse BUNDLE --as-of 2022-12-31`` work. A value given after the command wins over
the group's; ``-v``/``-q`` add up. The merged values live in one :class:`RunOptions` (the click
context's ``obj``), which builds the run's :class:`~layers.settings.Settings` once, with the
analysis date fixed (``None`` → today, resolved once for the whole run).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.logging import RichHandler

from phusong.analysis.coverage.models import MODELS
from phusong.gis.errors import InputError, SchemaError
from phusong.layers.operators import OPERATORS, parse_operator
from phusong.layers.settings import DEFAULT, Settings

__all__ = ["DEFAULT_OUT", "RunOptions", "bundle_argument", "calibration_option", "group_options", "operator_choice",
           "progress", "scenario_option", "shared_options", "verbosity_option"]

#: the output folder when neither the group nor the command names one
DEFAULT_OUT = Path("outputs")


@dataclasses.dataclass
class RunOptions:
    """The shared options of one invocation, merged from the group and the command.

    Attributes
    ----------
    as_of, language, model
        ``--as-of``, ``--lang``, ``--model`` (None: not given; the library's defaults apply).
    out, overwrite
        ``-o/--out`` (:data:`DEFAULT_OUT` when not given) and ``--overwrite``.
    verbosity
        ``-v`` count minus ``-q`` count (0: informative logs, < 0: quiet, > 0: debug).
    """

    as_of: str | None = None
    language: str | None = None
    model: str | None = None
    out: Path | None = None
    overwrite: bool = False
    verbosity: int = 0
    _settings: Settings | None = dataclasses.field(default=None, repr=False)

    @property
    def quiet(self) -> bool:
        """``-q``: no progress bar, no tables, warnings and errors only."""
        return self.verbosity < 0

    @property
    def lang(self) -> str:
        return self.language or DEFAULT.language

    @property
    def out_dir(self) -> Path:
        return self.out if self.out is not None else DEFAULT_OUT

    @property
    def settings(self) -> Settings:
        """The run's settings, built once: language and a fixed analysis date."""
        if self._settings is None:
            self._settings = DEFAULT.replace(language=self.lang, as_of=self.as_of).resolved()
        return self._settings

    def merged(self, **given: Any) -> RunOptions:
        """These options with the values given after the command name laid over them."""
        out = dataclasses.replace(self, _settings=None)
        for key in ("as_of", "language", "model", "out"):
            if given.get(key) is not None:
                setattr(out, key, given[key])
        out.overwrite = self.overwrite or bool(given.get("overwrite"))
        out.verbosity = self.verbosity + int(given.get("verbose") or 0) \
            - int(given.get("quiet") or 0)
        return out


def _configure_logging(verbosity: int) -> None:
    level = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}.get(
        max(-1, min(1, verbosity)), logging.INFO)
    root = logging.getLogger()
    if not any(isinstance(h, RichHandler) for h in root.handlers):
        root.addHandler(RichHandler(show_path=False, rich_tracebacks=False, markup=False))
    logging.getLogger("phusong").setLevel(level)
    root.setLevel(logging.WARNING)


def _option_decorators(*, analysis: bool, out: bool) -> list[Callable]:
    """click options of the shared set; no defaults here (the merge supplies them)."""
    opts: list[Callable] = []
    if analysis:
        opts += [
            click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
                         help=f"Analysis date (default: today); 2G counts until "
                              f"{DEFAULT.date_2g_off}, 3G until {DEFAULT.date_3g_off}."),
            click.option("--lang", "language", type=click.Choice(["vi", "en"]), default=None,
                         help="Language of labels, headers and summaries (default: vi)."),
            click.option("--model", "model", type=click.Choice(MODELS), default=None,
                         help="Coverage model (default: terrain when the bundle has a DEM, "
                              "else radius)."),
        ]
    if out:
        opts += [
            click.option("-o", "--out", "out", type=click.Path(path_type=Path), default=None,
                         help=f"Folder the outputs are written to (default: {DEFAULT_OUT})."),
            click.option("--overwrite", is_flag=True, default=False,
                         help="Replace existing output files."),
        ]
    opts += [
        click.option("-v", "--verbose", "verbose", count=True, help="More log output."),
        click.option("-q", "--quiet", "quiet", count=True,
                     help="Quiet: warnings and errors only, no progress bar (the demo also "
                          "leaves out its tables)."),
    ]
    return opts


def group_options(f: Callable) -> Callable:
    """The shared options on the group; stores a :class:`RunOptions` as ``ctx.obj``."""
    for deco in reversed(_option_decorators(analysis=True, out=True)):
        f = deco(f)
    return f


def shared_options(*, analysis: bool = True, out: bool = True,
                   pass_opts: bool = True) -> Callable[[Callable], Callable]:
    """Add the shared options to a command and pass it ``opts`` (a :class:`RunOptions`).

    Parameters
    ----------
    analysis
        Add ``--as-of``, ``--lang`` and ``--model`` (commands that analyse).
    out
        Add ``-o/--out`` and ``--overwrite`` (commands that write files).
    pass_opts
        Call the command with ``opts=``; False for commands that only take ``-v/-q``.
    """

    keys = ("verbose", "quiet", *(("as_of", "language", "model") if analysis else ()),
            *(("out", "overwrite") if out else ()))

    def decorate(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = {k: kwargs.pop(k, None) for k in keys}
            ctx = click.get_current_context()
            base = ctx.find_object(RunOptions) or RunOptions()
            opts = base.merged(**given)
            ctx.obj = opts
            _configure_logging(opts.verbosity)
            return f(*args, opts=opts, **kwargs) if pass_opts else f(*args, **kwargs)

        for deco in reversed(_option_decorators(analysis=analysis, out=out)):
            wrapper = deco(wrapper)
        return wrapper

    return decorate


#: ``-v/-q`` only, for commands that neither analyse nor share the output folder
verbosity_option = shared_options(analysis=False, out=False, pass_opts=False)

bundle_argument = click.argument("bundle", type=click.Path(path_type=Path, exists=True))


def operator_choice(value: str) -> list[str]:
    """``--operator``: ``all`` → every operator, else the one operator named (any alias)."""
    if str(value).strip().lower() in ("all", "tat ca", "tất cả"):
        return [o.value for o in OPERATORS]
    try:
        return [parse_operator(value).value]
    except SchemaError as exc:
        raise InputError(f"--operator {value!r}: {exc}") from None


def progress(opts: RunOptions | None = None, **kwargs: Any):
    """A rich progress bar for long steps (stderr; silent when not a terminal or with -q)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True, quiet=bool(opts and opts.quiet)),
                    transient=True, **kwargs)


scenario_option = click.option(
    "--scenario", "scenario", type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="A scenario file saved by `phusong serve` (JSON edits of the towers and BTS): "
         "compute as the scenario has the province. The bundle is not modified.")

calibration_option = click.option(
    "--calibration", "calibration",
    type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
    help="calibration.json of `phusong calibrate`, applied to the coverage fields.")
