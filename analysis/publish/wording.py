"""Numbers as the provincial reports write them.

Vietnamese reports group thousands with a dot and write decimals with a comma ("1.842 thiết
bị trạm", "4,12 km/điểm", "10,2%"); English uses "1,842", "4.12". Counts are plain integers;
ratios are written "x/N" (:func:`analysis.coverage.ratios.format_ratio`). Every sentence of
the comparison, the DOCX report and the report sections formats its figures here, so a test
can read them back with :func:`parse_number`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["NUMBER_RE", "Section", "cell_text", "format_change", "format_number", "format_pct",
           "parse_number"]

#: a number as written by :func:`format_number` in either language
NUMBER_RE = re.compile(r"(?<![\w/])-?\d{1,3}(?:[.,]\d{3})*(?:[.,]\d+)?(?![\w])|-?\d+(?:[.,]\d+)?")


def format_number(value: float | int, *, digits: int = 0, language: str = "vi") -> str:
    """``1842 → "1.842"`` (vi) / ``"1,842"`` (en); ``4.123, digits=2 → "4,12"``.

    NaN and infinity are written ``"–"``.
    """
    if value is None or not math.isfinite(float(value)):
        return "–"
    text = f"{float(value):,.{digits}f}" if digits else f"{round(float(value)):,d}"
    if language == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def format_pct(ratio: float, *, digits: int = 1, language: str = "vi") -> str:
    """A fraction as a percentage without the sign: ``0.102 → "10,2"`` (vi)."""
    if ratio is None or not math.isfinite(float(ratio)):
        return "–"
    return format_number(100.0 * float(ratio), digits=digits, language=language)


def format_change(delta: float, *, digits: int = 0, language: str = "vi",
                  unit: str = "") -> str:
    """``+5 → "tăng 5"``, ``-3 → "giảm 3"``, ``0 → "không đổi"`` (en: up/down/unchanged)."""
    vi = language == "vi"
    if round(float(delta), digits) == 0:
        return "không đổi" if vi else "unchanged"
    word = ("tăng" if delta > 0 else "giảm") if vi else ("up" if delta > 0 else "down")
    text = format_number(abs(delta), digits=digits, language=language)
    return f"{word} {text}{(' ' + unit) if unit else ''}"


def parse_number(text: str, *, language: str = "vi") -> float:
    """Read back a number written by :func:`format_number` (``"1.842" → 1842.0``)."""
    t = text.strip()
    if language == "vi":
        t = t.replace(".", "").replace(",", ".")
    else:
        t = t.replace(",", "")
    return float(t)


@dataclasses.dataclass
class Section:
    """One section of a report in the province's form, rendered alike in DOCX and HTML.

    Attributes
    ----------
    key
        Stable id (``"telecom_bts"``).
    heading
        The heading in the report's language.
    paragraphs
        Sentences with the figures filled in (plain text; renderers escape them).
    level
        Heading level (1 = part, 2 = section, 3 = subsection).
    bullets
        Lines shown as a list under the paragraphs ("+ Tỷ lệ phủ sóng Viettel: 98%").
    after
        Paragraphs that follow the list.
    tables
        ``(caption, DataFrame, labels)``: machine column names and a ``column -> (vi, en)``
        mapping for the headers.
    images
        ``(caption, PNG bytes)``.
    """

    key: str
    heading: str
    paragraphs: list[str] = dataclasses.field(default_factory=list)
    level: int = 2
    bullets: list[str] = dataclasses.field(default_factory=list)
    after: list[str] = dataclasses.field(default_factory=list)
    tables: list[tuple[str, Any, Mapping[str, tuple[str, str]]]] = dataclasses.field(
        default_factory=list)
    images: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)

    def text(self) -> list[str]:
        """The heading, paragraphs, bullets and closing paragraphs as lines (for text output
        and tests)."""
        return [self.heading, *self.paragraphs, *self.bullets, *self.after]


def cell_text(value: Any, language: str = "vi") -> str:
    """A table cell of the province's form as text: empty for a missing value, Có/Không
    (Yes/No), whole numbers grouped, other numbers with 2 decimals below 100, else 1."""
    import numpy as np

    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return ("Có" if value else "Không") if language == "vi" else ("Yes" if value else "No")
    if isinstance(value, (int, np.integer)):
        return format_number(int(value), language=language)
    if isinstance(value, (float, np.floating)):
        digits = 0 if float(value).is_integer() else (2 if abs(value) < 100 else 1)
        return format_number(float(value), digits=digits, language=language)
    return str(value)
