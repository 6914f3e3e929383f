"""Writing rejected rows: a CSV that Excel opens (UTF-8 with BOM) and that cannot run formulas."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pandas as pd

from phusong.gis.atomic import atomic_write_bytes
from phusong.gis.cells import neutralise_cell

logger = logging.getLogger(__name__)

__all__ = ["rejects_csv_bytes", "write_rejects_csv"]

def rejects_csv_bytes(rejected: pd.DataFrame, *, header: bool = True) -> bytes:
    """Rejected rows as CSV bytes (reason columns first, cells neutralised, CRLF); with
    ``header`` the bytes start with the UTF-8 BOM and the header row (a chunk of a longer
    file goes without)."""
    first = [c for c in ("source_row", "reject_field", "reject_reason") if c in rejected]
    df = rejected[first + [c for c in rejected.columns if c not in first]]
    df = df.map(neutralise_cell) if len(df) else df
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\r\n", header=header)
    return buf.getvalue().encode("utf-8-sig" if header else "utf-8")


def write_rejects_csv(rejected: pd.DataFrame, path: str | os.PathLike, *,
                      overwrite: bool = False) -> Path:
    """Write rejected rows to ``path`` atomically; the reason columns come first."""
    out = atomic_write_bytes(path, rejects_csv_bytes(rejected), overwrite=overwrite)
    logger.info("wrote %d rejected rows to %s", len(rejected), out)
    return Path(out)
