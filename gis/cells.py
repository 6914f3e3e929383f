"""Spreadsheet-safe text: one rule for every CSV and XLSX cell phusong writes.

A text cell that begins with ``=``, ``+``, ``-``, ``−`` (U+2212), ``@``, a tab, a carriage
return or a line feed (or the full-width ``＝ ＋ － ＠``) is prefixed with an apostrophe, so
that Excel and LibreOffice show it as text and never evaluate it (OWASP "CSV injection").
Text is NFC-normalised; every other value is returned unchanged.
"""

from __future__ import annotations

import unicodedata
from typing import Any

__all__ = ["DANGEROUS_FIRST", "is_text_dtype", "neutralise_cell"]

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


def is_text_dtype(dtype: Any) -> bool:
    """Whether a column of this dtype holds text: numpy object/str/bytes, or pandas' string
    dtype (what ``pandas.api.types.is_string_dtype`` says of a dtype).

    Not pandas' function itself: for any other dtype it evaluates ``dtype == "string"``, and
    numpy, failing to read "string" as a dtype, clears whatever error is pending, a
    KeyboardInterrupt included. A Ctrl-C that arrived then was lost and the run went on.

    >>> import numpy as np
    >>> is_text_dtype(np.dtype("O")), is_text_dtype(np.dtype("float64"))
    (True, False)
    """
    import numpy as np
    import pandas as pd

    if isinstance(dtype, np.dtype):
        return dtype.kind in "OSU"
    return isinstance(dtype, pd.StringDtype)
