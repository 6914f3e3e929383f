"""Write analysis tables as XLSX, CSV and GeoJSON, safely and reproducibly.

Every helper of phusong that writes a table goes through :func:`write_table` (one table) or
:func:`write_tables` (several sheets of one workbook), so that the rules below hold for every
output:

* **Formula injection.** A text cell that begins with ``=``, ``+``, ``-``, ``−`` (U+2212),
  ``@``, a tab or a carriage return (or their full-width forms ``＝ ＋ － ＠``) is prefixed
  with an apostrophe by :func:`neutralise_cell`, so that a spreadsheet shows it as text and
  never evaluates it (OWASP "CSV injection"). Headers and the "About" sheet are neutralised
  too. Numbers, booleans and dates are left as they are. Text is NFC-normalised.
* **XLSX** (openpyxl): a bold header row, frozen below the header, an autofilter over the
  data range, column widths from the content, and a second sheet "Thông tin" / "About"
  holding the title, the sample-data label and any notes (how a score is computed, the
  analysis date...). The data sheet keeps its header on row 1 so that ``pandas.read_excel``
  reads it back unchanged.
* **Byte-identical output.** The same table gives the same bytes: workbook properties carry a
  fixed creation/modification time (:data:`FIXED_TIMESTAMP`) and the zip entries a fixed
  date, so a re-run can be compared with ``cmp``.
* **CSV** is UTF-8 with a byte-order mark (``utf-8-sig``) so that Excel opens Vietnamese text
  correctly, with CRLF line ends (RFC 4180).
* **GeoJSON** (pyogrio, RFC 7946, WGS84) is data, not a spreadsheet: property values are kept
  raw (only NFC-normalised, never prefixed) and column names stay the machine names unless a
  header language or mapping is asked for explicitly.
* **Sample data.** With ``sample=True`` every format carries a last column
  ``sample_data`` ("Dữ liệu mẫu" / "Sample data") whose value is :data:`SAMPLE_LABEL`, and the
  XLSX "About" sheet and workbook title say so as well.
* **Atomic.** Files are written through :func:`gis.atomic.atomic_path`; an existing file is
  refused unless ``overwrite=True``.

Headers: ``headers="vi"`` or ``"en"`` looks each column up in ``labels`` (a mapping
``column -> (vi, en)``), then in :data:`analysis._labels.ALL_LABELS`, then in the layer
schemas' field labels, and falls back to the column name; ``headers="raw"`` keeps the column
names; a mapping ``column -> header`` gives the headers directly (unlisted columns fall back
to the name).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import numbers
import os
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phusong.analysis.labels import SAMPLE_LABEL
from phusong.gis.atomic import atomic_path, atomic_write_bytes, check_writable
from phusong.gis.cells import is_text_dtype, neutralise_cell
from phusong.gis.errors import InputError

logger = logging.getLogger(__name__)

__all__ = [
    "FIXED_TIMESTAMP",
    "header_labels",
    "neutralise_cell",
    "neutralise_frame",
    "write_table",
    "write_tables",
]

#: the label every output of generated data carries
#: creation/modification time written into every workbook (reproducible bytes)
FIXED_TIMESTAMP = dt.datetime(2000, 1, 1, 0, 0, 0)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_FORMATS = {".xlsx": "xlsx", ".csv": "csv", ".geojson": "geojson", ".json": "geojson"}
_SAMPLE_COLUMN = "sample_data"
_SAMPLE_HEADER = {"vi": "Dữ liệu mẫu", "en": "Sample data"}
_ABOUT_SHEET = {"vi": "Thông tin", "en": "About"}
_MAX_WIDTH = 60
_MAX_CELL_CHARS = 32_767
_MIN_WIDTH = 6


# -- cells ------------------------------------------------------------------------------------
def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell passed through :func:`neutralise_cell`.

    Only object/string columns are touched; numeric columns keep their dtype. The index is
    kept.
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        if is_text_dtype(s.dtype):
            out[col] = s.map(_safe_object).astype(object)
    return out


def _safe_object(value: Any) -> Any:
    """Neutralise strings, and the text of any other non-scalar object a writer would str()."""
    if isinstance(value, str):
        return neutralise_cell(value)
    if value is None or isinstance(value, (numbers.Number, np.bool_, dt.date, dt.datetime,
                                           pd.Timestamp)):
        return value
    if value is pd.NA or value is pd.NaT:
        return value
    if hasattr(value, "wkt"):
        return value.wkt
    return neutralise_cell(str(value))


def _nfc_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if col != getattr(out, "_geometry_column_name", None) and (
            is_text_dtype(s.dtype)
        ):
            out[col] = s.map(lambda v: unicodedata.normalize("NFC", v) if isinstance(v, str) else v)
    return out


# -- headers ----------------------------------------------------------------------------------
def _lookup_label(col: str, lang: str, labels: Mapping[str, Any] | None) -> str:
    idx = 0 if lang == "vi" else 1
    if labels and col in labels:
        entry = labels[col]
        return entry if isinstance(entry, str) else entry[idx]
    from phusong.analysis.labels import ALL_LABELS

    if col in ALL_LABELS:
        return ALL_LABELS[col][idx]
    from phusong.layers.schema import LAYERS

    for schema in LAYERS.values():
        for f in schema.fields:
            if f.name == col and (f.label_vi or f.label_en):
                return f.label_vi if lang == "vi" else (f.label_en or f.label_vi)
    if col == _SAMPLE_COLUMN:
        return _SAMPLE_HEADER[lang]
    return col


def header_labels(
    columns: Iterable[Any],
    headers: str | Mapping[str, str] = "vi",
    *,
    labels: Mapping[str, Any] | None = None,
) -> list[str]:
    """The header text of each column.

    Parameters
    ----------
    columns
        Column names.
    headers
        ``"vi"``, ``"en"``, ``"raw"`` or a mapping ``column -> header``.
    labels
        Extra ``column -> (vi, en)`` labels looked up first.

    Returns
    -------
    list of str
        One header per column; duplicates get a `` (2)``, `` (3)`` suffix so that each header
        is unique.
    """
    cols = [str(c) for c in columns]
    if isinstance(headers, Mapping):
        out = [str(headers.get(c, c)) for c in cols]
    elif headers == "raw":
        out = list(cols)
    elif headers in ("vi", "en"):
        out = [_lookup_label(c, headers, labels) for c in cols]
    else:
        raise InputError(
            f"headers={headers!r}: use 'vi', 'en', 'raw' or a mapping column -> header"
        )
    seen: dict[str, int] = {}
    unique = []
    for h in out:
        h = unicodedata.normalize("NFC", h)
        if h in seen:
            seen[h] += 1
            h = f"{h} ({seen[h]})"
        else:
            seen[h] = 1
        unique.append(h)
    return unique


# -- helpers ----------------------------------------------------------------------------------
def _fmt_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in ("xlsx", "csv", "geojson"):
            raise InputError(f"{path}: format {fmt!r} unknown; use xlsx, csv or geojson")
        return fmt
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise InputError(
            f"{path}: cannot tell the format from the suffix {suffix!r}; "
            "use .xlsx, .csv or .geojson, or pass fmt="
        )
    return _FORMATS[suffix]


def _lang_of(headers: str | Mapping[str, str]) -> str:
    return headers if headers in ("vi", "en") else "vi"


def _with_sample(df: pd.DataFrame, sample: bool) -> pd.DataFrame:
    if not sample:
        return df
    out = df.copy()
    out[_SAMPLE_COLUMN] = SAMPLE_LABEL
    geom = getattr(out, "_geometry_column_name", None)
    if geom is not None and geom in out.columns:
        # keep geometry the last column (GeoDataFrame)
        cols = [c for c in out.columns if c != geom] + [geom]
        out = out[cols]
    return out


def _plain(value: Any) -> Any:
    """A value openpyxl writes correctly (NaN/NA → empty cell, numpy → Python)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        return None if (math.isnan(v) or math.isinf(v)) else v
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, str):
        return _xlsx_text(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value
    if hasattr(value, "wkt"):  # a stray geometry
        return _xlsx_text(value.wkt)
    return _xlsx_text(str(value))


def _xlsx_text(text: str) -> str:
    """Text an XLSX cell can hold: no XML-illegal control characters, at most 32 767
    characters (Excel's limit), neutralised after the clean-up (a stripped control character
    must not uncover a formula)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    clean = ILLEGAL_CHARACTERS_RE.sub("", text)
    if len(clean) > _MAX_CELL_CHARS:
        clean = clean[: _MAX_CELL_CHARS - 1] + "…"
    return neutralise_cell(clean)


def _safe_sheet_name(name: str, used: set[str]) -> str:
    bad = "[]:*?/\\"
    clean = "".join("_" if ch in bad else ch for ch in unicodedata.normalize("NFC", str(name)))
    clean = clean.strip("'") or "Sheet"
    clean = clean[:31]
    base, i = clean, 2
    while clean.lower() in {u.lower() for u in used}:
        suffix = f" ({i})"
        clean = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(clean)
    return clean


def _display_len(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = str(value)
    return max((len(line) for line in text.splitlines()), default=0)


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile whose entries all carry the same date (reproducible archives)."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo = zipfile.ZipInfo(zinfo_or_arcname, date_time=_ZIP_DATE)
            zinfo.compress_type = self.compression
            zinfo.external_attr = 0o600 << 16
            zinfo_or_arcname = zinfo
        else:
            zinfo_or_arcname.date_time = _ZIP_DATE
        return super().writestr(
            zinfo_or_arcname, data, compress_type=compress_type, compresslevel=compresslevel
        )

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        # openpyxl streams worksheets through temporary files; keep their dates fixed too
        with open(filename, "rb") as fh:
            data = fh.read()
        return self.writestr(
            str(arcname or filename), data, compress_type=compress_type, compresslevel=compresslevel
        )


def _about_rows(
    *, title: str | None, sample: bool, about: Any, lang: str, sheets: Sequence[str]
) -> list[tuple[Any, Any]]:
    rows: list[tuple[Any, Any]] = []
    if title:
        rows.append(("Tiêu đề" if lang == "vi" else "Title", title))
    if sample:
        rows.append(("Dữ liệu" if lang == "vi" else "Data", SAMPLE_LABEL))
    rows.append(("Trang dữ liệu" if lang == "vi" else "Data sheets", ", ".join(sheets)))
    if about:
        items = about.items() if isinstance(about, Mapping) else about
        for item in items:
            if isinstance(item, str):
                rows.append((item, None))
            else:
                k, v = item
                rows.append((k, v))
    rows.append(("Phần mềm" if lang == "vi" else "Software", "phusong"))
    return rows


def _workbook_bytes(
    tables: Mapping[str, pd.DataFrame],
    *,
    headers: str | Mapping[str, str],
    labels: Mapping[str, Any] | None,
    title: str | None,
    sample: bool,
    about: Any,
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    lang = _lang_of(headers)
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    used: set[str] = set()
    sheet_names: list[str] = []
    for name, df in tables.items():
        df = _with_sample(
            pd.DataFrame(df).drop(
                columns=[
                    c
                    for c in [getattr(df, "_geometry_column_name", None)]
                    if c is not None and c in df.columns
                ]
            ),
            sample,
        )
        ws = wb.create_sheet(_safe_sheet_name(name, used))
        sheet_names.append(ws.title)
        head = [_xlsx_text(h) for h in header_labels(df.columns, headers, labels=labels)]
        ws.append(head)
        widths = [_display_len(h) for h in head]
        safe = neutralise_frame(df)
        for row in safe.itertuples(index=False, name=None):
            values = [_plain(v) for v in row]
            ws.append(values)
            for j, v in enumerate(values):
                n = _display_len(v)
                if n > widths[j]:
                    widths[j] = n
        for j, cell in enumerate(ws[1], start=1):
            cell.font = bold
            cell.fill = fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            ws.column_dimensions[get_column_letter(j)].width = max(
                _MIN_WIDTH, min(_MAX_WIDTH, widths[j - 1] + 2)
            )
        ncols = max(1, len(head))
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{len(df) + 1}"
    if not tables:
        raise InputError("no tables to write")
    ws = wb.create_sheet(_safe_sheet_name(_ABOUT_SHEET[lang], used))
    rows = _about_rows(title=title, sample=sample, about=about, lang=lang, sheets=sheet_names)
    for k, v in rows:
        ws.append([neutralise_cell(_plain(k)), neutralise_cell(_plain(v))])
    for cell in ws["A"]:
        cell.font = bold
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 100
    for cell in ws["B"]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")

    props = wb.properties
    props.creator = "phusong"
    props.lastModifiedBy = "phusong"
    props.created = FIXED_TIMESTAMP
    props.modified = FIXED_TIMESTAMP
    if title:
        props.title = neutralise_cell(title + (f" – {SAMPLE_LABEL}" if sample else ""))
    elif sample:
        props.title = SAMPLE_LABEL
    if sample:
        props.keywords = "sample data; dữ liệu mẫu"
    buf = io.BytesIO()
    archive = _FixedTimeZip(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(wb, archive).save()  # bypasses save_workbook, which stamps "now"
    return buf.getvalue()


# -- public writers ---------------------------------------------------------------------------
def write_tables(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike,
    *,
    headers: str | Mapping[str, str] = "vi",
    labels: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    title: str | None = None,
    sample: bool = False,
    about: Mapping[str, Any] | Sequence[Any] | None = None,
) -> Path:
    """Write several tables as the sheets of one XLSX workbook.

    Parameters
    ----------
    tables
        Sheet name → DataFrame (a geometry column is dropped). Sheet names are cut to 31
        characters and made unique; characters Excel forbids become ``_``.
    path
        Target ``.xlsx`` file.
    headers
        ``"vi"``, ``"en"``, ``"raw"`` or a mapping ``column -> header``.
    labels
        Extra ``column -> (vi, en)`` header labels.
    overwrite
        Replace an existing file.
    title
        Workbook title (document property and first line of the "About" sheet).
    sample
        Label the workbook and every row as sample data.
    about
        Extra ``(key, value)`` lines (or a mapping, or plain strings) for the "About" sheet,
        e.g. how a score is computed or the analysis date.

    Returns
    -------
    Path
        The written file.
    """
    p = check_writable(path, overwrite=overwrite)
    data = _workbook_bytes(
        tables, headers=headers, labels=labels, title=title, sample=sample, about=about
    )
    atomic_write_bytes(p, data, overwrite=overwrite)
    logger.info("wrote %s (%s)", p, ", ".join(f"{k}: {len(v)} rows" for k, v in tables.items()))
    return p


def write_table(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    fmt: str | None = None,
    headers: str | Mapping[str, str] | None = None,
    labels: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    sheet_name: str | None = None,
    title: str | None = None,
    sample: bool = False,
    about: Mapping[str, Any] | Sequence[Any] | None = None,
    geometry: Any = None,
) -> Path:
    """Write one table as XLSX, CSV or GeoJSON (see the module docstring for the rules).

    Parameters
    ----------
    df
        The table. The index is not written (put ids in columns).
    path
        Target file; its suffix gives the format unless ``fmt`` is given.
    fmt
        ``"xlsx"``, ``"csv"`` or ``"geojson"``.
    headers
        ``"vi"``, ``"en"``, ``"raw"`` or a mapping ``column -> header``. Default: ``"vi"`` for
        XLSX/CSV, ``"raw"`` (machine names) for GeoJSON.
    labels
        Extra ``column -> (vi, en)`` header labels.
    overwrite
        Replace an existing file.
    sheet_name
        XLSX sheet name (default: the file stem).
    title
        XLSX workbook title.
    sample
        Label the output as sample data (a ``sample_data`` column; in XLSX also the "About"
        sheet and the title).
    about
        Extra lines for the XLSX "About" sheet.
    geometry
        GeoJSON only: the geometries (a GeoSeries or sequence, same length as ``df``) when
        ``df`` is not a GeoDataFrame.

    Returns
    -------
    Path
        The written file.
    """
    p = Path(path)
    kind = _fmt_of(p, fmt)
    if kind == "xlsx":
        return write_tables(
            {sheet_name or p.stem: df},
            p,
            headers=headers if headers is not None else "vi",
            labels=labels,
            overwrite=overwrite,
            title=title,
            sample=sample,
            about=about,
        )
    if kind == "csv":
        check_writable(p, overwrite=overwrite)
        hdr = headers if headers is not None else "vi"
        frame = pd.DataFrame(df)
        geom = getattr(df, "_geometry_column_name", None)
        if geom is not None and geom in frame.columns:
            frame = frame.drop(columns=[geom])
        frame = neutralise_frame(_with_sample(frame, sample))
        frame.columns = [
            neutralise_cell(h) for h in header_labels(frame.columns, hdr, labels=labels)
        ]
        text = frame.to_csv(index=False, lineterminator="\r\n")
        atomic_write_bytes(p, text.encode("utf-8-sig"), overwrite=overwrite)
        logger.info("wrote %s (%d rows)", p, len(frame))
        return p
    return _write_geojson(
        df,
        p,
        headers=headers if headers is not None else "raw",
        labels=labels,
        overwrite=overwrite,
        sample=sample,
        geometry=geometry,
    )


def _write_geojson(
    df: pd.DataFrame,
    p: Path,
    *,
    headers: str | Mapping[str, str],
    labels: Mapping[str, Any] | None,
    overwrite: bool,
    sample: bool,
    geometry: Any,
) -> Path:
    import geopandas as gpd
    import pyogrio

    check_writable(p, overwrite=overwrite)
    if isinstance(df, gpd.GeoDataFrame) and geometry is None:
        gdf = df.copy()
    else:
        if geometry is None:
            raise InputError(f"{p}: GeoJSON needs geometries; pass a GeoDataFrame or geometry=")
        geom = (
            geometry
            if isinstance(geometry, gpd.GeoSeries)
            else gpd.GeoSeries(list(geometry), crs="EPSG:4326")
        )
        if len(geom) != len(df):
            raise InputError(f"{p}: {len(geom)} geometries for {len(df)} rows")
        gdf = gpd.GeoDataFrame(
            pd.DataFrame(df).reset_index(drop=True),
            geometry=geom.reset_index(drop=True).values,
            crs=geom.crs or "EPSG:4326",
        )
    if gdf.crs is None:
        raise InputError(f"{p}: the table has no CRS; set one (bundles use EPSG:4326)")
    gdf = gdf.to_crs("EPSG:4326")
    gdf = _nfc_frame(_with_sample(gdf, sample))
    geom_col = gdf._geometry_column_name
    props = [c for c in gdf.columns if c != geom_col]
    names = header_labels(props, headers, labels=labels)
    gdf = gdf.rename(columns=dict(zip(props, names, strict=True)))
    # ±inf is not JSON: write null (pyogrio would warn and skip the value)
    for c in gdf.columns:
        if c != geom_col and pd.api.types.is_float_dtype(gdf[c].dtype):
            gdf[c] = gdf[c].replace([np.inf, -np.inf], np.nan)
    # object columns holding only booleans/None: pyogrio wants a real dtype
    for c in gdf.columns:
        if c != geom_col and gdf[c].dtype == object:
            vals = gdf[c].dropna()
            if len(vals) and all(isinstance(v, (bool, np.bool_)) for v in vals):
                gdf[c] = gdf[c].astype("boolean")
    gdf = gdf.reset_index(drop=True)
    with atomic_path(p, overwrite=overwrite) as tmp:
        pyogrio.write_dataframe(
            gdf,
            tmp,
            driver="GeoJSON",
            layer=p.stem,
            layer_options={"RFC7946": "YES", "WRITE_BBOX": "NO"},
        )
    logger.info("wrote %s (%d features)", p, len(gdf))
    return p
