"""The ``phusong`` command: a click group with one module per command.

Each command lives in ``analysis/cli/cmd_<name>.py`` and exposes a click command named
``cli``; the group discovers them. The group holds the shared options (``--as-of``,
``--lang``, ``--model``, ``-o/--out``, ``--overwrite``, ``-v/-q``), which every command
accepts after its name as well (:mod:`analysis.cli._options`).
A :class:`~gis.errors.PhusongError` or a file-system error (:class:`OSError`: disk full,
permission denied) becomes one readable line on stderr naming the path, and exit status 1.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import click

from phusong.analysis.cli._options import RunOptions, group_options
from phusong.gis.errors import PhusongError

__all__ = ["main", "os_error_line", "phusong"]


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [m.name[4:] for m in pkgutil.iter_modules(__path__) if m.name.startswith("cmd_")]
        return sorted(n.replace("_", "-") for n in names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        mod_name = f"{__name__}.cmd_{cmd_name.replace('-', '_')}"
        try:
            module = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:
                return None
            raise
        return module.cli

    def invoke(self, ctx: click.Context):  # one readable line, not a traceback
        try:
            return super().invoke(ctx)
        except PhusongError as exc:
            click.secho(f"phusong: error: {exc}", fg="red", err=True)
            ctx.exit(1)
        except OSError as exc:  # disk full, permission denied, …: one line naming the path
            click.secho(f"phusong: error: {os_error_line(exc)}", fg="red", err=True)
            ctx.exit(1)


def os_error_line(exc: OSError) -> str:
    """One line for a file-system error: the path, then what went wrong in words."""
    path = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        path = f"{path} → {exc.filename2}"
    what = exc.strerror or str(exc) or type(exc).__name__
    return f"{path}: {what}" if path else what


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="phusong")
@group_options
@click.pass_context
def phusong(ctx: click.Context, as_of: str | None, language: str | None, model: str | None,
            out: Path | None, overwrite: bool, verbose: int, quiet: int) -> None:
    """phusong (phủ sóng): telecom coverage and infrastructure analysis for Vietnam's
    northern mountain provinces.

    The options here apply to every command (a command's own --as-of, --lang, --model, -o,
    --overwrite, -v/-q given after its name win).
    """
    ctx.obj = RunOptions(as_of=as_of, language=language, model=model, out=out,
                         overwrite=overwrite, verbosity=verbose - quiet)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    phusong.main(args=argv if argv is not None else sys.argv[1:], prog_name="phusong")
