"""Spreadsheet-safe text: one rule for every CSV and XLSX cell phusong writes.

A text cell that begins with ``=``, ``+``, ``-``, ``−`` (U+2212), ``@``, a tab, a carriage
return or a line feed (or the full-width ``＝ ＋ － ＠``) is prefixed with an apostrophe, so
that Excel and LibreOffice show it as text and never evaluate it (OWASP "CSV injection").
Text is NFC-normalised; every other value is returned unchanged.
"""

from __future__ import annotations

import unicodedata
from typing import Any

__all__ = ["DANGEROUS_FIRST", "neutralise_cell"]

#: first characters that make a spreadsheet read a cell as a formula
DANGEROUS_FIRST = ("=", "+", "-", "\u2212", "@", "\t", "\r", "\n",
                   "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise_cell(value: Any) -> Any:
    """Make one cell value safe for a spreadsheet.

    Examples
    --------
    >>> neutralise_cell('=HYPERLINK("http://x")')
    '\\'=HYPERLINK("http://x")'
    >>> neutralise_cell(-3.5)
    -3.5
    """
    if isinstance(value, str):
        text = unicodedata.normalize("NFC", value)
        return "'" + text if text.startswith(DANGEROUS_FIRST) else text
    return value
