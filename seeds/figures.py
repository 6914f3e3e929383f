"""Reported figures of the seed reports, as data with provenance.

``seeds/reported.csv`` holds one row per figure quoted in the yearly reports of the provincial
Departments of Information and Communications (Sở TT&TT) that this tool is held to: the
province (and district, for per-district tables), the year the figure describes, the report
(seed file id and title), the section it sits under, a stable snake_case ``indicator`` key,
the value, its unit and the short Vietnamese phrase it was read from (NFC).

Ratios are stored as fractions (98 % → 0.98). Counts are stored as written; where a report
has an evident slip (Lai Châu 2022 "19,585 triệu đồng" of postal revenue) the value is kept
as written and the indicator says so.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from importlib import resources

import pandas as pd

from phusong.gis.errors import InputError

logger = logging.getLogger(__name__)

__all__ = ["REPORTED_COLUMNS", "reported", "reported_value"]

REPORTED_COLUMNS = ("province", "district", "year", "report", "report_title", "section",
                    "indicator", "value", "unit", "quote")


def _nfc(text: object) -> str:
    return unicodedata.normalize("NFC", str(text)).strip()


@functools.lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    with resources.files("phusong.seeds").joinpath("reported.csv").open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype={"district": str, "report": str}, keep_default_na=False)
    df["value"] = df["value"].astype(float)
    df["year"] = df["year"].astype(int)
    return df


def reported(province: str | None = None, year: int | None = None, *,
             district: str | None = None) -> pd.DataFrame:
    """The reported figures, optionally for one province and year.

    Parameters
    ----------
    province
        Province name with diacritics (``"Lai Châu"``); compared after NFC normalisation and
        case folding. ``None`` returns every province.
    year
        The year the figures describe; ``None`` returns every year.
    district
        Restrict to one district's figures; ``None`` returns province-level figures and
        per-district rows together (``district`` is ``""`` for province-level rows).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REPORTED_COLUMNS`; a copy the caller may modify.
    """
    df = _table()
    mask = pd.Series(True, index=df.index)
    if province is not None:
        key = _nfc(province).casefold()
        mask &= df["province"].map(lambda p: _nfc(p).casefold()) == key
    if year is not None:
        mask &= df["year"] == int(year)
    if district is not None:
        mask &= df["district"].map(lambda d: _nfc(d).casefold()) == _nfc(district).casefold()
    return df.loc[mask].copy()


def reported_value(province: str, indicator: str, year: int | None = None) -> float:
    """One province-level figure.

    When ``year`` is ``None`` and the indicator is reported for several years, the latest
    year wins (the Lai Châu 2022 report restates some figures in two sections; those agree).

    Raises
    ------
    KeyError
        When the province has no such indicator; the message lists the ones it has.
    """
    df = reported(province, year)
    df = df[df["district"] == ""]
    hit = df[df["indicator"] == indicator]
    if hit.empty:
        have = ", ".join(sorted(df["indicator"].unique())) or "none"
        raise KeyError(f"no reported figure {indicator!r} for {province!r}"
                       f"{'' if year is None else f' in {year}'}; available: {have}")
    hit = hit[hit["year"] == hit["year"].max()]
    values = hit["value"].unique()
    if len(values) > 1:
        raise InputError(f"seeds/reported.csv: {province} {indicator} has conflicting values "
                         f"{sorted(values)}; fix the table")
    return float(values[0])
