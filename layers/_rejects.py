"""Writing rejected rows: a CSV that Excel opens (UTF-8 with BOM) and that cannot run formulas."""

from __future__ import annotations

import io
import logging
import os
import re
from pathlib import Path

import pandas as pd

from gis.atomic import atomic_write_bytes

logger = logging.getLogger(__name__)

__all__ = ["neutralise", "write_rejects_csv"]

_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def neutralise(value: object) -> object:
    """Prefix ``'`` to text a spreadsheet would run as a formula (= + - @, tab, CR).

    Plain numbers such as ``-5`` stay as they are: they are values, not formulas.
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "=+-@\t\r" and not _NUMBER.fullmatch(value.strip()):
        return "'" + value
    return value


def write_rejects_csv(rejected: pd.DataFrame, path: str | os.PathLike, *,
                      overwrite: bool = False) -> Path:
    """Write rejected rows to ``path`` atomically; the reason columns come first."""
    first = [c for c in ("source_row", "reject_field", "reject_reason") if c in rejected]
    df = rejected[first + [c for c in rejected.columns if c not in first]]
    df = df.map(neutralise) if len(df) else df
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\r\n")
    out = atomic_write_bytes(path, buf.getvalue().encode("utf-8-sig"), overwrite=overwrite)
    logger.info("wrote %d rejected rows to %s", len(df), out)
    return Path(out)
