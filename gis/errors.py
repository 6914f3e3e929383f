"""The exception hierarchy of phusong.

Every error the library raises derives from :class:`PhusongError` and from the builtin
exception it means, so callers can catch either. The CLI turns any ``PhusongError`` into one
readable line.
"""

from __future__ import annotations

__all__ = [
    "CRSMismatchError",
    "DEMError",
    "InputError",
    "MissingDependencyError",
    "OutputError",
    "OutputExistsError",
    "PhusongError",
    "SchemaError",
    "SettingsError",
    "SolverError",
]


class PhusongError(Exception):
    """Root of every error raised by phusong."""


class InputError(PhusongError, ValueError):
    """An input file cannot be read at all (empty, truncated, wrong format).

    The message names the file and, where there is one, the row and the field.
    """


class SchemaError(PhusongError, ValueError):
    """A layer does not fit its schema (missing column, wrong type, bad value)."""


class CRSMismatchError(PhusongError, ValueError):
    """A coordinate reference system is missing, wrong, or differs between inputs."""


class DEMError(PhusongError, ValueError):
    """A DEM is empty, unreadable, or does not cover the area asked for."""


class SettingsError(PhusongError, ValueError):
    """A settings key is unknown or its value is out of range."""


class OutputExistsError(PhusongError, FileExistsError):
    """An output file exists and ``overwrite`` was not given."""


class OutputError(PhusongError, OSError):
    """An output cannot be written: the folder is a file, read-only, full, or a target is
    locked. The message names the path."""


class SolverError(PhusongError, RuntimeError):
    """The optimiser failed or returned no usable solution."""


class MissingDependencyError(PhusongError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""
