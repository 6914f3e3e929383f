"""Readers and writers of single layers: GeoPackage, GeoJSON, Shapefile, CSV and KML.

:func:`read_layer` reads one layer from a file and validates it
(:func:`layers.validate.validate_layer`), so what comes back is a
:class:`~layers.validate.ValidationResult`: accepted rows in EPSG:4326, rejected rows with
their reasons, and warnings. A file that cannot be read at all (missing, empty, truncated,
not the format its suffix says) raises :class:`~gis.errors.InputError` with one line naming
the file.

Formats
-------
``.gpkg``
    One layer by name (the layer's own name by default).
``.geojson`` / ``.json``
    A FeatureCollection (UTF-8 by specification).
``.shp`` / ``.zip``
    A Shapefile, or a zip holding one. Without a ``.prj`` the CRS is detected; without a
    ``.cpg`` the text encoding of the DBF is detected (UTF-8, Windows-1258, TCVN3).
``.csv`` / ``.txt``
    A header row and one row per feature, delimiter ``,`` ``;`` or tab. Points come from
    lon/lat columns (``lon``/``lng``/``longitude``/``kinh_do`` and ``lat``/``latitude``/
    ``vi_do``), or from VN-2000 ``x``/``y`` metres (either order: Vietnamese surveyors
    write X for northing — the CRS and the TM-3 zone are detected), or a ``wkt`` column.
    Encoding is detected (UTF-8 with or without BOM, Windows-1258, TCVN3, VNI) and reported.
    Row numbers are the lines a user sees: the header is row 1.
``.kml`` / ``.kmz``
    Placemarks of every folder; ``ExtendedData`` fields become columns. KML altitude is
    dropped silently (KML always carries it). A KMZ is read through its ``doc.kml``.
``.xlsx``
    Every sheet holding a table of the layer (``source_layer`` picks one sheet): the header
    row is found below title rows, merged header cells are filled
    (:func:`layers.sheets.xlsx_tables`); coordinates as for CSV. Row numbers are Excel's.

Coordinates in CSV and XLSX may be decimal degrees or degrees-minutes-seconds
(:func:`parse_degrees`).

:func:`write_layer` writes by suffix, atomically, refusing to overwrite unless asked.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from phusong.gis.atomic import atomic_path, atomic_write_bytes, check_writable
from phusong.gis.cells import is_text_dtype, neutralise_cell
from phusong.gis.crs import WGS84_EPSG, province_bounds, to_wgs84
from phusong.gis.errors import CRSMismatchError, InputError
from phusong.layers._encoding import decode_text, tcvn3_decode, vni_decode
from phusong.layers.schema import LAYERS
from phusong.layers.validate import (
    ValidationResult,
    bounds_from_admin,
    colkey,
    cross_validate,
    parse_number,
    validate_layer,
)

logger = logging.getLogger(__name__)

__all__ = [
    "LAT_COLUMNS",
    "LON_COLUMNS",
    "READERS",
    "STREAM_MIN_BYTES",
    "bundle_dem_check",
    "bundle_info",
    "csv_table",
    "guess_layer",
    "parse_degrees",
    "read_kml",
    "read_kmz",
    "read_layer",
    "read_shapefile",
    "read_vector",
    "validate_csv_stream",
    "validate_path",
    "vector_layers",
    "write_layer",
]

#: column names read as longitude / latitude (compared case- and diacritic-insensitively)
LON_COLUMNS = ("lon", "lng", "long", "longitude", "kinh_do", "kinhdo", "x_lon", "lon_dd")
LAT_COLUMNS = ("lat", "latitude", "vi_do", "vido", "y_lat", "lat_dd")
#: column names of projected coordinates (either order; detected from the values)
X_COLUMNS = ("x", "easting", "toa_do_x", "x_vn2000", "east")
Y_COLUMNS = ("y", "northing", "toa_do_y", "y_vn2000", "north")
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom")
READERS = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".csv", ".txt", ".kml", ".kmz",
           ".xlsx")


def _check_file(p: Path) -> None:
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a folder; give a file (or use validate_path for a bundle)")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: empty file (0 bytes); re-export it")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_layer(path: str | os.PathLike, layer: str, *, crs: Any = None,
               lon_col: str | None = None, lat_col: str | None = None,
               encoding: str | None = None,
               bounds: tuple[float, float, float, float] | None = None,
               source_layer: str | None = None) -> ValidationResult:
    """Read one layer from a file and validate it.

    Parameters
    ----------
    path
        The file; its suffix picks the reader (see the module docstring).
    layer
        Which bundle layer the rows are (``"villages"``, ``"towers"``, …).
    crs
        CRS of the coordinates when the file does not say (CSV) or says wrongly; detected
        from the values when ``None``.
    lon_col, lat_col
        CSV coordinate columns; detected when ``None``.
    encoding
        Text encoding of a CSV or DBF (``"utf-8"``, ``"cp1258"``, ``"tcvn3"``); detected when
        ``None``.
    bounds
        Lon/lat box the features must fall in (the province); defaults to Vietnam.
    source_layer
        Layer name inside a GeoPackage or KML when it differs from ``layer``.

    Raises
    ------
    InputError
        The file is missing, empty, truncated or not in the format its suffix says.
    SchemaError
        A required column is missing.
    """
    p = Path(path)
    if layer not in LAYERS:
        raise InputError(f"{p}: unknown layer {layer!r}; layers are {', '.join(LAYERS)}")
    _check_file(p)
    suffix = p.suffix.lower()
    kwargs = {"crs_hint": crs, "bounds": bounds}
    if suffix in (".csv", ".txt"):
        gdf, rows, pre, enc, warns = _read_csv(p, layer, crs=crs, lon_col=lon_col,
                                               lat_col=lat_col, encoding=encoding)
        result = validate_layer(gdf, layer, source=str(p), source_rows=rows, pre_rejects=pre,
                                encoding=enc, **kwargs)
        result.warnings[:0] = warns
        geo_cols = [c for c in gdf.attrs.get("coordinate_columns", ())
                    if c in result.accepted.columns]
        result.accepted = result.accepted.drop(columns=geo_cols)
        return result
    if suffix == ".gpkg":
        gdf = _read_ogr(p, layer=source_layer or layer, list_first=True)
    elif suffix in (".geojson", ".json"):
        gdf = _read_ogr(p)
    elif suffix in (".shp", ".zip"):
        gdf, enc, warns = read_shapefile(p, encoding=encoding)
        result = validate_layer(gdf, layer, source=str(p), encoding=enc, **kwargs)
        result.warnings[:0] = warns
        return result
    elif suffix == ".kml":
        gdf = _read_kml(p, source_layer)
    elif suffix == ".kmz":
        gdf = read_kmz(p)
    elif suffix in (".xlsx", ".xlsm"):
        gdf, rows, pre, warns = _read_xlsx(p, layer, crs=crs, lon_col=lon_col,
                                           lat_col=lat_col, sheet=source_layer)
        result = validate_layer(gdf, layer, source=str(p), source_rows=rows, pre_rejects=pre,
                                **kwargs)
        result.warnings[:0] = warns
        geo_cols = [c for c in gdf.attrs.get("coordinate_columns", ())
                    if c in result.accepted.columns]
        result.accepted = result.accepted.drop(columns=geo_cols)
        return result
    else:
        raise InputError(f"{p}: unknown format {suffix!r}; use one of {', '.join(READERS)}")
    return validate_layer(gdf, layer, source=str(p), **kwargs)


# -- vector files through GDAL --------------------------------------------------------------

def read_vector(p: str | os.PathLike, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """A vector file (GeoPackage layer, GeoJSON, KML…) through GDAL; one-line errors."""
    return _read_ogr(Path(p), layer=layer, list_first=layer is not None)


def read_kml(p: str | os.PathLike, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Placemarks of every folder of a KML (or one folder), 2-D, styling columns dropped."""
    return _read_kml(Path(p), layer)


def read_kmz(p: str | os.PathLike) -> gpd.GeoDataFrame:
    """The placemarks of a KMZ (a zip whose ``doc.kml`` — else first ``.kml`` — is read)."""
    p = Path(p)
    try:
        with zipfile.ZipFile(p) as z:
            kmls = [n for n in z.namelist() if n.lower().endswith(".kml")]
            if not kmls:
                raise InputError(f"{p}: the KMZ holds no .kml document")
            doc = "doc.kml" if "doc.kml" in kmls else kmls[0]
            data = z.read(doc)
    except zipfile.BadZipFile:
        raise InputError(f"{p}: not a valid KMZ (zip) file; it may be truncated") from None
    with tempfile.TemporaryDirectory(prefix="phusong-kmz-") as tmp:
        kml = Path(tmp) / "doc.kml"
        kml.write_bytes(data)
        try:
            gdf = read_kml(kml)
        except InputError as exc:
            if "no placemarks" in str(exc):
                raise InputError(f"{p}: KMZ has no placemarks (its {doc} holds none)"
                                 ) from None
            raise InputError(str(exc).replace(str(kml), f"{p}:{doc}")) from None
    if len(gdf) == 0:
        raise InputError(f"{p}: KMZ has no placemarks (its {doc} holds none)")
    return gdf


def vector_layers(p: str | os.PathLike) -> list[str]:
    """Layer names of a vector file (one-line error when unreadable)."""
    try:
        with _quiet_gdal():
            return [str(n) for n, _ in pyogrio.list_layers(p)]
    except Exception as exc:
        raise InputError(f"{p}: cannot be read as a vector file ({_first_line(exc)})"
                         ) from None


def _read_ogr(p: Path, *, layer: str | None = None, list_first: bool = False,
              **kwargs: Any) -> gpd.GeoDataFrame:
    target = p if p.suffix.lower() != ".zip" else f"/vsizip/{p}"
    try:
        if list_first:
            with _quiet_gdal():
                names = [str(n) for n, _ in pyogrio.list_layers(target)]
            if layer not in names:
                raise InputError(f"{p}: has no layer {layer!r} (layers: "
                                 f"{', '.join(names) or 'none'}); pass the layer name")
        with _quiet_gdal():
            return pyogrio.read_dataframe(target, layer=layer, **kwargs)
    except InputError:
        raise
    except Exception as exc:  # pyogrio DataSourceError, DataLayerError, ...
        kind = {".gpkg": "a GeoPackage", ".geojson": "GeoJSON", ".json": "GeoJSON",
                ".shp": "a Shapefile", ".zip": "a zipped Shapefile", ".kml": "KML"}.get(
                    p.suffix.lower(), "a vector file")
        raise InputError(f"{p}: cannot be read as {kind} (truncated or not that format: "
                         f"{_first_line(exc)})") from None


@contextlib.contextmanager
def _quiet_gdal():
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # GDAL's own warnings
        warnings.filterwarnings("ignore", message=".*Measured.*", category=UserWarning)
        yield


def read_shapefile(p: str | os.PathLike, *, encoding: str | None = None
                   ) -> tuple[gpd.GeoDataFrame, str | None, list[str]]:
    """A Shapefile (or zip), with the DBF text decoded by the CPG, ``encoding`` or detection.

    Returns the frame, the encoding used (None when the CPG decided) and warnings.
    """
    p = Path(p)
    has_cpg = _has_sidecar(p, ".cpg")
    if not _has_sidecar(p, ".dbf"):
        raise InputError(f"{p}: the Shapefile has no .dbf (attributes); copy all its files "
                         "(.shp .shx .dbf .prj) together")
    warns: list[str] = []
    if has_cpg and encoding is None:
        return _read_ogr(p), None, warns
    gdf = _read_ogr(p, encoding="latin1")
    text_cols = [c for c in gdf.columns if c != gdf.geometry.name and is_text_dtype(gdf[c].dtype)]
    blob = b"\n".join(v.encode("latin1") for c in text_cols for v in gdf[c]
                      if isinstance(v, str))
    if encoding is None and blob.isascii():
        return gdf, "ascii", warns
    _, enc = decode_text(blob, encoding=encoding, source=str(p))
    for c in text_cols:
        gdf[c] = pd.Series([_redecode(v, enc) for v in gdf[c]], index=gdf.index, dtype=object)
    if encoding is None:
        warns.append(f"{p}: no .cpg file; DBF text read as {enc}")
    return gdf, enc, warns


def _redecode(value: object, enc: str) -> object:
    if not isinstance(value, str):
        return value
    raw = value.encode("latin1")
    if enc in ("tcvn3", "vni"):
        text = tcvn3_decode(raw) if enc == "tcvn3" else vni_decode(raw)
    else:
        text = raw.decode("utf-8" if enc == "utf-8-sig" else enc, "replace")
    return unicodedata.normalize("NFC", text)


def _has_sidecar(p: Path, ext: str) -> bool:
    if p.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(p) as z:
                names = [n.lower() for n in z.namelist()]
        except zipfile.BadZipFile:
            raise InputError(f"{p}: not a valid zip file (truncated?)") from None
        if not any(n.endswith(".shp") for n in names):
            raise InputError(f"{p}: the zip holds no .shp file")
        return any(n.endswith(ext) for n in names)
    return any(p.with_suffix(s).exists() for s in (ext, ext.upper()))


def _read_kml(p: Path, source_layer: str | None) -> gpd.GeoDataFrame:
    drivers = pyogrio.list_drivers()
    driver = "LIBKML" if "LIBKML" in drivers else "KML"
    try:
        with _quiet_gdal():
            names = [str(n) for n, _ in pyogrio.list_layers(p)]
    except Exception as exc:
        raise InputError(f"{p}: cannot be read as KML ({_first_line(exc)})") from None
    if source_layer is not None:
        names = [source_layer]
    frames = [_read_ogr(p, layer=n, driver=driver) for n in names]
    frames = [f for f in frames if len(f)] or frames[:1]
    if not frames:
        raise InputError(f"{p}: KML has no placemarks")
    gdf = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    gdf = gpd.GeoDataFrame(gdf, geometry=gdf.geometry.name, crs=frames[0].crs)
    gdf[gdf.geometry.name] = shapely.force_2d(np.asarray(gdf.geometry.values, dtype=object))
    # LIBKML adds styling columns: drop them, and its text columns when empty
    style = ["timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
             "visibility", "drawOrder", "icon", "snippet"]
    gdf = gdf.drop(columns=[c for c in style if c in gdf.columns])
    for c in ("id", "Name", "description", "Description"):
        if c in gdf.columns and (gdf[c].isna() | (gdf[c].astype(str) == "")).all():
            gdf = gdf.drop(columns=c)
    return gdf


# -- CSV ------------------------------------------------------------------------------------

_DMS = re.compile(
    r"^(?P<h1>[NSEW])?\s*(?P<d>\d{1,3}(?:[.,]\d+)?)\s*(?:°|d|deg|:|\s)\s*"
    r"(?:(?P<m>\d{1,2}(?:[.,]\d+)?)\s*(?:'|m|min|:|\s)?\s*"
    r"(?:(?P<s>\d{1,2}(?:[.,]\d+)?)\s*(?:\"|s|sec)?)?)?\s*(?P<h2>[NSEW])?$",
    re.IGNORECASE)
_PRIMES = {"″": '"', "”": '"', "“": '"', "′′": '"', "''": '"', "′": "'", "’": "'", "‘": "'",
           "º": "°", "˚": "°"}


def parse_degrees(value: object) -> tuple[float | None, str | None]:
    """A coordinate in decimal degrees or degrees-minutes-seconds.

    ``105.5``, ``"105,5"``, ``22°23'45.6"N``, ``"22 23 45,6"``, ``"22°23.76'"``,
    ``"105:30:12 E"`` are read (``S``/``W`` make it negative). Returns ``(degrees, None)``,
    ``(None, problem)``, or ``(None, None)`` for an empty cell; minutes or seconds of 60 or
    more are a problem.
    """
    if not isinstance(value, str):
        return parse_number(value, integer=False)
    text = unicodedata.normalize("NFC", value).strip().replace("\u00a0", " ")
    for k in sorted(_PRIMES, key=len, reverse=True):
        text = text.replace(k, _PRIMES[k])
    plain = re.fullmatch(r"[+-]?\d+(?:[.,]\d+)?", text.replace(" ", "")) and " " not in text
    if plain or not text:
        return parse_number(value, integer=False)
    m = _DMS.match(text)
    if not m or (m.group("m") is None and not re.search(r"[°dNSEW]", text, re.I)):
        return None, f"{value.strip()!r} is not a number or degrees-minutes-seconds"
    deg = float(m.group("d").replace(",", "."))
    minutes = float((m.group("m") or "0").replace(",", "."))
    seconds = float((m.group("s") or "0").replace(",", "."))
    if minutes >= 60 or seconds >= 60:
        return None, (f"{value.strip()!r}: minutes and seconds must be below 60 "
                      "(degrees-minutes-seconds)")
    hemi = (m.group("h1") or m.group("h2") or "").upper()
    out = deg + minutes / 60 + seconds / 3600
    return (-out if hemi in ("S", "W") else out), None


def _find(columns: list[str], names: tuple[str, ...], given: str | None, p: Path,
          what: str) -> str | None:
    if given is not None:
        if given not in columns:
            raise InputError(f"{p}: no column {given!r} for {what} (columns: "
                             f"{', '.join(columns)})")
        return given
    for c in columns:
        if colkey(c) in names:
            return c
    return None


def csv_table(p: Path, *, encoding: str | None = None
              ) -> tuple[pd.DataFrame, list[int], dict[int, tuple[str, str]], str, list[str]]:
    """A CSV/TXT file as a table of text cells.

    Returns the frame (header cells NFC-stripped, unnamed empty columns dropped), each row's
    line number as the user sees it (header = row 1), problems found per row position
    (ragged rows), the encoding and warnings. Encoding and delimiter (``,`` ``;`` tab) are
    detected.

    Raises
    ------
    InputError
        NUL bytes (a binary file), no header row, broken quotes, a repeated header.
    """
    data = p.read_bytes()
    text, enc = decode_text(data, encoding=encoding, source=str(p))
    return _csv_text_table(text, enc, p)


def _csv_frame(text: str, enc: str, p: Path, *, crs: Any, lon_col: str | None,
               lat_col: str | None, row_shift: int = 0, first: bool = True,
               ) -> tuple[gpd.GeoDataFrame, np.ndarray, dict[int, tuple[str, str]], str,
                          list[str]]:
    """Parse decoded CSV text (header first) into points; ``row_shift`` is added to every row
    number (a chunk of a streamed file); ``first`` says whether file-level notes are due."""
    df, rows, pre, enc, warns = _csv_text_table(text, enc, p, row_shift=row_shift, first=first)
    gdf = _table_geometry(p, df, pre, crs=crs, lon_col=lon_col, lat_col=lat_col, warns=warns,
                          first=first)
    return gdf, np.asarray(rows, dtype=int), pre, enc, warns


def _csv_text_table(text: str, enc: str, p: Path, *, row_shift: int = 0, first: bool = True,
                    ) -> tuple[pd.DataFrame, list[int], dict[int, tuple[str, str]], str,
                               list[str]]:
    """:func:`csv_table` of decoded text (a whole file, or a chunk of one with its header)."""
    warns: list[str] = []
    if enc in ("cp1258", "tcvn3", "vni") and first:
        label = {"cp1258": "Windows-1258", "tcvn3": "TCVN3/ABC", "vni": "VNI-Windows"}[enc]
        warns.append(f"{p}: not UTF-8; text decoded as {enc} ({label}); check the names and "
                     "pass encoding= if they look wrong")
    if "\x00" in text:
        raise InputError(f"{p}: contains NUL bytes; not a text CSV (is it an Excel file? "
                         "save it as CSV UTF-8)")
    lines = text.splitlines()
    head = next((ln for ln in lines if ln.strip()), None)
    if head is None:
        raise InputError(f"{p}: no header row; the file holds only blank lines")
    delim = max((",", ";", "\t"), key=lambda d: head.count(d))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    header: list[str] | None = None
    records: list[list[str]] = []
    rows: list[int] = []
    blank: list[int] = []
    start = 1
    try:
        for rec in reader:
            if header is None:
                if any(c.strip() for c in rec):
                    header = [unicodedata.normalize("NFC", c).strip() for c in rec]
                start = reader.line_num + 1
                continue
            if any(c.strip() for c in rec):
                records.append(rec)
                rows.append(start)
            else:
                blank.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{p}:{start}: broken CSV ({exc}); check the quotes") from None
    assert header is not None
    blank = [b + row_shift for b in blank]
    rows = [r + row_shift for r in rows]
    if blank:
        warns.append(f"{p}: skipped {len(blank)} blank row{'s' if len(blank) > 1 else ''} "
                     f"(row {', '.join(map(str, blank[:5]))}{' …' if len(blank) > 5 else ''})")
    width = len(header)
    pre: dict[int, tuple[str, str]] = {}
    fixed: list[list[str]] = []
    for i, rec in enumerate(records):
        if len(rec) != width:
            pre[i] = ("row", f"row has {len(rec)} fields, the header has {width}; check "
                      "delimiters and quotes")
            rec = (rec + [""] * width)[:width]
        fixed.append(rec)
    # columns without a name: drop them when empty (Excel's trailing commas), else name them
    keep = []
    for j, name in enumerate(header):
        if name:
            keep.append(j)
        elif any(r[j].strip() for r in fixed):
            header[j] = f"column_{j + 1}"
            warns.append(f"{p}: column {j + 1} has no name; called it {header[j]}")
            keep.append(j)
    if not keep:
        raise InputError(f"{p}: empty header row")
    header = [header[j] for j in keep]
    fixed = [[r[j] for j in keep] for r in fixed]
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise InputError(f"{p}: header repeats column {', '.join(map(repr, dup))}; "
                         "rename the columns so each appears once")
    df = pd.DataFrame(fixed, columns=header, dtype=object)
    logger.info("read %d rows from %s (%s, delimiter %r)", len(df), p, enc, delim)
    return df, rows, pre, enc, warns


def _read_csv(p: Path, layer: str, *, crs: Any, lon_col: str | None, lat_col: str | None,
              encoding: str | None) -> tuple[gpd.GeoDataFrame, np.ndarray,
                                             dict[int, tuple[str, str]], str, list[str]]:
    df, rows, pre, enc, warns = csv_table(p, encoding=encoding)
    gdf = _table_geometry(p, df, pre, crs=crs, lon_col=lon_col, lat_col=lat_col, warns=warns)
    return gdf, np.asarray(rows, dtype=int), pre, enc, warns


def _read_xlsx(p: Path, layer: str, *, crs: Any, lon_col: str | None, lat_col: str | None,
               sheet: str | None) -> tuple[gpd.GeoDataFrame, np.ndarray,
                                           dict[int, tuple[str, str]], list[str]]:
    """The sheets of a workbook holding a table of ``layer``, as one layer (column
    ``sheet`` added when there are several)."""
    from phusong.layers.sheets import xlsx_tables

    tables = xlsx_tables(p, layer, sheet=sheet, mapping=None)
    warns = [w for t in tables for w in t.warnings]
    frames = [t.frame for t in tables]
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(tables) > 1:
        df["sheet"] = np.repeat([t.label.rsplit(":", 1)[-1] for t in tables],
                                [len(f) for f in frames])
    rows = np.concatenate([t.rows for t in tables])
    pre: dict[int, tuple[str, str]] = {}
    gdf = _table_geometry(p, df, pre, crs=crs, lon_col=lon_col, lat_col=lat_col, warns=warns)
    return gdf, rows, pre, warns


def _table_geometry(p: Path, df: pd.DataFrame, pre: dict[int, tuple[str, str]], *, crs: Any,
                    lon_col: str | None, lat_col: str | None, warns: list[str],
                    first: bool = True) -> gpd.GeoDataFrame:
    """Points from lon/lat (degrees or DMS) or x/y columns, or a wkt column; problems per
    row go to ``pre``."""
    header = [str(c) for c in df.columns]
    lon = _find(header, LON_COLUMNS, lon_col, p, "longitude")
    lat = _find(header, LAT_COLUMNS, lat_col, p, "latitude")
    if lon is None or lat is None:
        lon = lon or _find(header, X_COLUMNS, None, p, "x")
        lat = lat or _find(header, Y_COLUMNS, None, p, "y")
    wkt = _find(header, WKT_COLUMNS, None, p, "geometry")
    geoms: list[Any] = [None] * len(df)
    if lon is not None and lat is not None:
        degrees = colkey(lon) in LON_COLUMNS and colkey(lat) in LAT_COLUMNS
        xs = np.full(len(df), np.nan)
        ys = np.full(len(df), np.nan)
        for i, (xv, yv) in enumerate(zip(df[lon], df[lat], strict=True)):
            if degrees:  # decimal degrees or degrees-minutes-seconds
                x, px = parse_degrees(xv)
                y, py = parse_degrees(yv)
            else:
                x, px = parse_number(xv, integer=False)
                y, py = parse_number(yv, integer=False)
            if i in pre:
                continue
            if px or py:
                field, msg = (lon, px) if px else (lat, py)
                pre[i] = (field, f"coordinate {msg}")
            elif x is None or y is None:
                pre[i] = (lon if x is None else lat, "no coordinate; the row has no position")
            else:
                xs[i], ys[i] = x, y
        ok = np.isfinite(xs)
        points = shapely.points(xs[ok], ys[ok])
        for i, g in zip(np.flatnonzero(ok), points, strict=True):
            geoms[i] = g
        coordinate_columns = (lon, lat)
    elif wkt is not None:
        for i, v in enumerate(df[wkt]):
            if i in pre:
                continue
            try:
                g = shapely.from_wkt(v) if isinstance(v, str) and v.strip() else None
            except shapely.errors.GEOSException as exc:
                pre[i] = (wkt, f"not valid WKT ({_first_line(exc)})")
                continue
            if g is None:
                pre[i] = (wkt, "no geometry (empty WKT cell)")
            geoms[i] = g
        df = df.drop(columns=wkt)
        coordinate_columns = ()
    else:
        raise InputError(
            f"{p}: no coordinate columns; add lon/lat (WGS84 degrees) or x/y (VN-2000 metres) "
            f"columns, or a wkt column (columns found: {', '.join(header)}); a BTS list keyed "
            "by tower id or a village name list goes in with `phusong import bts|villages`")
    # undo the formula neutralisation of our own CSV writer ('=x -> =x)
    df = df.map(lambda v: v[1:] if isinstance(v, str) and v[:2] in ("'=", "'+", "'-", "'@")
                else v)
    gdf = gpd.GeoDataFrame(df, geometry=geoms, crs=None)
    gdf.attrs["coordinate_columns"] = coordinate_columns
    if crs is not None:
        try:
            gdf = gdf.set_crs(crs)
        except Exception as exc:
            raise CRSMismatchError(f"{p}: crs={crs!r} is not a CRS ({_first_line(exc)})"
                                   ) from None
    if not len(df) and first:
        warns.append(f"{p}: header only, no data rows")
    return gdf


# -- large CSV files, in chunks -------------------------------------------------------------

#: CSV files larger than this are validated in chunks (bounded memory, progress by bytes)
STREAM_MIN_BYTES = 16 * 2**20
#: rows per chunk of a streamed CSV
STREAM_CHUNK_ROWS = 100_000
#: streamed validation keeps this many problem / row-warning lines and rejected rows in memory
#: (all rejected rows are in the rejects file)
STREAM_KEEP_LINES = 1000


def _chunks(fh: Any, header_lines: int, chunk_rows: int) -> Any:
    """``(first_line_number, [lines])`` blocks of about ``chunk_rows`` lines, never cutting a
    quoted field that holds a line break (a block ends where its quotes are balanced)."""
    line_no = header_lines
    block: list[bytes] = []
    quotes = 0
    start = line_no + 1
    for line in fh:
        block.append(line)
        quotes += line.count(b'"')
        line_no += 1
        if len(block) >= chunk_rows and quotes % 2 == 0:
            yield start, block
            block, quotes, start = [], 0, line_no + 1
    if block:
        yield start, block


def validate_csv_stream(path: str | os.PathLike, layer: str, *, crs: Any = None,
                        encoding: str | None = None, lon_col: str | None = None,
                        lat_col: str | None = None,
                        bounds: tuple[float, float, float, float] | None = None,
                        chunk_rows: int = STREAM_CHUNK_ROWS,
                        on_progress: Callable[[int, int], None] | None = None,
                        ) -> ValidationResult:
    """Validate a large CSV in chunks of ``chunk_rows`` rows with bounded memory.

    Each chunk goes through the same reader and :func:`layers.validate.validate_layer` as
    :func:`read_layer`; ids repeated across chunks are rejected as within one. The result
    carries counts (``accepted_count``, ``rejected_count``), the first
    :data:`STREAM_KEEP_LINES` problems, row warnings and rejected rows, every file-level
    warning once, and all rejected rows in ``rejects_spool`` (a temporary rejects CSV, removed
    at exit). ``on_progress(bytes_done, bytes_total)`` is called after each chunk.
    """
    import atexit

    from phusong.layers._rejects import rejects_csv_bytes
    from phusong.layers.validate import move_to_rejected

    p = Path(path)
    if layer not in LAYERS:
        raise InputError(f"{p}: unknown layer {layer!r}; layers are {', '.join(LAYERS)}")
    _check_file(p)
    total = p.stat().st_size
    id_field = LAYERS[layer].id_field
    with open(p, "rb") as fh:
        sample = fh.read(1 << 20)
    cut = sample.rfind(b"\n")
    _, enc = decode_text(sample[: cut + 1] if cut > 0 else sample, encoding=encoding,
                         source=str(p))
    spool_fd, spool_name = tempfile.mkstemp(prefix="phusong-rejects-", suffix=".csv")
    spool = Path(spool_name)
    atexit.register(lambda: spool.unlink(missing_ok=True))
    seen: dict[Any, int] = {}
    file_warnings: dict[str, None] = {}
    row_warnings: list[str] = []
    problems: list[str] = []
    kept_rejects: list[pd.DataFrame] = []
    n_in = n_acc = n_rej = n_row_warn = n_prob = 0
    guess = None
    done = 0
    wrote_header = False
    with open(p, "rb") as fh, os.fdopen(spool_fd, "wb") as out:
        header = b""
        header_lines = 0
        for line in fh:  # the header is the first line that is not blank
            header_lines += 1
            done += len(line)
            if line.strip(b"\r\n\t \xef\xbb\xbf"):
                header = line
                break
        if not header:
            raise InputError(f"{p}: no header row; the file holds only blank lines")
        if not header.endswith(b"\n"):
            header += b"\n"
        first = True
        for start, block in _chunks(fh, header_lines, chunk_rows):
            data = header + b"".join(block)
            text, _ = decode_text(data, encoding=enc, source=str(p))
            gdf, rows, pre, _, warns = _csv_frame(text, enc, p, crs=crs, lon_col=lon_col,
                                                   lat_col=lat_col, row_shift=start - 2,
                                                   first=first)
            r = validate_layer(gdf, layer, source=str(p), source_rows=rows, pre_rejects=pre,
                               encoding=enc, crs_hint=crs, bounds=bounds)
            del gdf
            if id_field and len(r.accepted):
                ids = r.accepted[id_field].to_numpy(dtype=object)
                mask = np.array([k is not None and k in seen for k in ids], dtype=bool)
                move_to_rejected(r, mask, id_field, [
                    f"duplicate {id_field} {k!r} (first at row {seen[k]}); kept the first"
                    for k in ids[mask]])
                pos_rows = rows[r._accepted_pos]
                for k, row in zip(r.accepted[id_field].to_numpy(dtype=object), pos_rows,
                                  strict=True):
                    seen[k] = int(row)
            guess = guess or r.crs_guess
            n_in += r.rows_in
            n_acc += r.n_accepted
            n_rej += r.n_rejected
            for w in [*warns, *r.warnings]:
                if re.match(rf"{re.escape(str(p))}:\d+:", w):
                    n_row_warn += 1
                    if len(row_warnings) < STREAM_KEEP_LINES:
                        row_warnings.append(w)
                else:
                    file_warnings.setdefault(w)
            n_prob += len(r.problems)
            problems.extend(r.problems[: max(0, STREAM_KEEP_LINES - len(problems))])
            if r.n_rejected:
                rej = r.rejected.sort_values("source_row", kind="stable")
                out.write(rejects_csv_bytes(rej, header=not wrote_header))
                wrote_header = True
                if sum(len(k) for k in kept_rejects) < STREAM_KEEP_LINES:
                    kept_rejects.append(rej.head(STREAM_KEEP_LINES))
            del r
            done += sum(len(b) for b in block)
            first = False
            if on_progress is not None:
                on_progress(done, total)
    if n_row_warn > len(row_warnings):
        file_warnings.setdefault(f"{p}: {n_row_warn - len(row_warnings)} more row warnings "
                                 "not listed")
    if n_prob > len(problems):
        problems.append(f"{p}: {n_prob - len(problems)} more problems: see the rejects file")
    if n_in == 0:
        file_warnings.setdefault(f"{p}: header only, no data rows")
    rejected = (pd.concat(kept_rejects) if kept_rejects else
                pd.DataFrame(columns=["source_row", "reject_field", "reject_reason"]))
    accepted = gpd.GeoDataFrame({f.name: [] for f in LAYERS[layer].fields}, geometry=[],
                                crs=f"EPSG:{WGS84_EPSG}")
    result = ValidationResult(layer=layer, source=str(p), accepted=accepted,
                              rejected=rejected.head(STREAM_KEEP_LINES),
                              warnings=[*file_warnings, *row_warnings], problems=problems,
                              rows_in=n_in, crs_guess=guess, encoding=enc,
                              accepted_count=n_acc, rejected_count=n_rej,
                              rejects_spool=spool if n_rej else None)
    result.check_invariant()
    logger.info("validated %s in chunks: %d rows, %d accepted, %d rejected", p, n_in, n_acc,
                n_rej)
    return result


# -- bundles and paths ----------------------------------------------------------------------

def guess_layer(path: str | os.PathLike) -> str:
    """The layer a file holds, from its name (``towers.csv``, ``bts_viettel.geojson``)."""
    p = Path(path)
    key = colkey(p.stem)
    for name in sorted(LAYERS, key=len, reverse=True):
        if key == name or key.startswith(name + "_") or key.endswith("_" + name):
            return name
    raise InputError(f"{p}: cannot tell which layer this file holds from its name; pass "
                     f"--layer (one of {', '.join(LAYERS)})")


def validate_path(path: str | os.PathLike, *, layer: str | None = None, crs: Any = None,
                  encoding: str | None = None, province: str | None = None,
                  bounds: tuple[float, float, float, float] | None = None,
                  on_layer: Callable[[str], None] | None = None,
                  on_progress: Callable[[int, int], None] | None = None,
                  ) -> dict[str, ValidationResult]:
    """Validate a bundle (folder or ``.gpkg``) or a single layer file.

    A bundle's layers are each read with :func:`read_layer` (so messages carry feature
    numbers) and then checked across layers (:func:`layers.validate.cross_validate`). A single
    file needs ``layer`` unless its name says it. ``province`` (or ``bounds``) sets the box
    points must fall in; for a bundle it defaults to the extent of its ``admin_units``
    province, else the province named in its metadata. ``on_layer`` is called with each
    layer's name before it is read (progress display). A CSV larger than
    :data:`STREAM_MIN_BYTES` is validated in chunks (:func:`validate_csv_stream`), reporting
    ``on_progress(bytes_done, bytes_total)``.
    """
    p = Path(path)
    if bounds is None and province:
        bounds = province_bounds(province)
    gpkg = p / "bundle.gpkg" if p.is_dir() else p
    if p.is_dir() and not gpkg.exists():
        raise InputError(f"{p}: folder has no bundle.gpkg; give a bundle folder or a file")
    if gpkg.suffix.lower() == ".gpkg":
        _check_file(gpkg)
        try:
            with _quiet_gdal():
                names = [str(n) for n, _ in pyogrio.list_layers(gpkg)]
        except Exception as exc:
            raise InputError(f"{gpkg}: cannot be read as a GeoPackage (truncated or not that "
                             f"format: {_first_line(exc)})") from None
        if bounds is None:
            bounds = _gpkg_bounds(gpkg, names)
        wanted = [layer] if layer else [n for n in LAYERS if n in names]
        if not wanted:
            raise InputError(f"{gpkg}: holds none of the bundle layers ({', '.join(LAYERS)}); "
                             f"its layers: {', '.join(names) or 'none'}")
        results = {}
        for name in wanted:
            if on_layer is not None:
                on_layer(name)
            results[name] = read_layer(gpkg, name, crs=crs, bounds=bounds)
        cross_validate(results)
        return results
    name = layer or guess_layer(p)
    if on_layer is not None:
        on_layer(name)
    if p.suffix.lower() in (".csv", ".txt") and p.is_file() and \
            p.stat().st_size > STREAM_MIN_BYTES:
        return {name: validate_csv_stream(p, name, crs=crs, encoding=encoding, bounds=bounds,
                                          chunk_rows=STREAM_CHUNK_ROWS,
                                          on_progress=on_progress)}
    return {name: read_layer(p, name, crs=crs, encoding=encoding, bounds=bounds)}


def bundle_dem_check(path: str | os.PathLike, *, province: str | None = None) -> Any:
    """:func:`layers.validate.validate_dem` on a bundle folder's DEM; ``None`` without one.

    The box is the province's (as in :func:`validate_path`).
    """
    from phusong.layers.validate import validate_dem

    p = Path(path)
    folder = p if p.is_dir() else p.parent
    gpkg = folder / "bundle.gpkg"
    dem_name = "dem.tif"
    names: list[str] = []
    if gpkg.exists():
        try:
            with _quiet_gdal():
                names = [str(n) for n, _ in pyogrio.list_layers(gpkg)]
            if "bundle_meta" in names:
                meta = pyogrio.read_dataframe(gpkg, layer="bundle_meta")
                dem_name = dict(zip(meta["key"], meta["value"], strict=True)).get("dem",
                                                                                   dem_name)
        except Exception:  # the GeoPackage itself is reported by validate_path
            names = []
    dem = folder / dem_name
    if not dem.exists():
        return None
    box = province_bounds(province) if province else (  # the province itself, no margin
        _gpkg_bounds(gpkg, names, margin_deg=0.0) if names else None)
    return validate_dem(dem, province_bounds=box)


def _gpkg_bounds(gpkg: Path, names: list[str], *, margin_deg: float = 0.05,
                 ) -> tuple[float, float, float, float] | None:
    """The province box of a bundle: its admin_units extent, else its preset/province name."""
    if "admin_units" in names:
        try:
            with _quiet_gdal():
                admin = pyogrio.read_dataframe(gpkg, layer="admin_units")
        except Exception:  # read again (and reported) when the layer itself is validated
            admin = None
        box = bounds_from_admin(admin, margin_deg=margin_deg)
        if box is not None:
            return box
    if "bundle_meta" not in names:
        return None
    try:
        meta = pyogrio.read_dataframe(gpkg, layer="bundle_meta")
        values = dict(zip(meta["key"], meta["value"], strict=True))
    except Exception:  # no usable metadata: Vietnam's box is used
        return None
    for key in ("preset", "province"):
        try:
            return province_bounds(values.get(key) or "")
        except CRSMismatchError:
            continue
    return None


# -- writers --------------------------------------------------------------------------------

def write_layer(gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, overwrite: bool = False,
                layer: str | None = None) -> Path:
    """Write a layer by suffix (``.gpkg .geojson .json .shp .zip .csv .kml``), atomically.

    A ``.gpkg`` gets one layer (named ``layer`` or the file's stem): use
    :func:`layers.bundle.write_bundle` for a whole bundle. CSV is UTF-8 with BOM, points as
    ``lon``/``lat`` columns and other geometries as a ``wkt`` column, text cells neutralised.
    KML is written in EPSG:4326.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    check_writable(p, overwrite=overwrite)
    name = layer or p.stem
    if suffix == ".csv":
        _write_csv(gdf, p, overwrite=overwrite)
    elif suffix in (".gpkg", ".geojson", ".json", ".kml"):
        driver = {".gpkg": "GPKG", ".kml": "KML"}.get(suffix, "GeoJSON")
        out = to_wgs84(gdf) if suffix in (".kml", ".geojson", ".json") and \
            gdf.crs is not None else gdf
        with atomic_path(p, overwrite=overwrite) as tmp:
            pyogrio.write_dataframe(out, tmp, layer=name, driver=driver)
    elif suffix in (".shp", ".zip"):
        _write_shapefile(gdf, p, name=name, overwrite=overwrite)
    else:
        raise InputError(f"{p}: cannot write {suffix!r}; use .gpkg .geojson .shp .zip .csv .kml")
    logger.info("wrote %d features to %s", len(gdf), p)
    return p


def _write_csv(gdf: gpd.GeoDataFrame, p: Path, *, overwrite: bool) -> None:
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    geoms = to_wgs84(gdf).geometry if gdf.crs is not None else gdf.geometry
    if len(gdf) and (geoms.geom_type == "Point").all():
        df["lon"], df["lat"] = geoms.x.to_numpy(), geoms.y.to_numpy()
    else:
        df["wkt"] = [None if g is None else g.wkt for g in geoms]
    df = df.map(neutralise_cell)
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\r\n")
    atomic_write_bytes(p, buf.getvalue().encode("utf-8-sig"), overwrite=overwrite)


def _write_shapefile(gdf: gpd.GeoDataFrame, p: Path, *, name: str, overwrite: bool) -> None:
    """Shapefile sidecars are written in a temporary folder, then moved in (or zipped)."""
    p.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=p.parent, prefix=f".{p.stem}.") as tmpdir:
        shp = Path(tmpdir) / f"{name}.shp"
        with _quiet_gdal():  # GDAL warns that it cuts field names to 10 characters
            pyogrio.write_dataframe(gdf, shp, driver="ESRI Shapefile", encoding="UTF-8")
        parts = sorted(Path(tmpdir).iterdir())
        if p.suffix.lower() == ".zip":
            with atomic_path(p, overwrite=overwrite) as tmp:
                with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
                    for f in parts:
                        z.write(f, f.name)
            return
        for f in parts:
            check_writable(p.with_suffix(f.suffix), overwrite=overwrite)
        for f in parts:
            os.replace(f, p.with_suffix(f.suffix))


def bundle_info(path: str | os.PathLike) -> dict[str, Any]:
    """What a bundle holds, for ``phusong info``.

    Keys: ``province``, ``sample``, ``layers`` (name → feature count), ``stored_crs``,
    ``metric_crs``, ``extent_lonlat`` and ``extent_metric`` (min x, min y, max x, max y),
    ``unknown`` (villages whose population, grid power, border or difficult flag is not
    known, per field), ``dem`` (size, resolution and CRS, or ``"none"``), ``population``.
    """
    from phusong.layers.bundle import read_bundle

    bundle = read_bundle(path)
    info: dict[str, Any] = {
        "province": bundle.province or "(not set)",
        "sample": "yes — generated sample data" if bundle.is_sample else "no",
        "layers": bundle.counts(),
        "stored_crs": f"EPSG:{WGS84_EPSG} (WGS 84)",
    }
    metric = bundle.metric_crs if (bundle.meta.get("metric_epsg") or any(
        len(g) for g in bundle.layers.values())) else None
    info["metric_crs"] = f"EPSG:{metric.to_epsg()} ({metric.name})" if metric else "unknown"
    if any(len(g) for g in bundle.layers.values()):
        b = bundle.total_bounds()
        info["extent_lonlat"] = tuple(round(float(v), 5) for v in b)
        if metric is not None:
            from phusong.gis.crs import transformer

            t = transformer(WGS84_EPSG, metric)
            xs, ys = t.transform([b[0], b[2], b[0], b[2]], [b[1], b[1], b[3], b[3]])
            info["extent_metric"] = (round(min(xs)), round(min(ys)), round(max(xs)),
                                     round(max(ys)))
    else:
        info["extent_lonlat"] = "empty bundle"
    if bundle.has("villages"):
        from phusong.layers.validate import unknown_summary

        info["unknown"] = unknown_summary(bundle.layer("villages")) or "none"
    info["dem"] = _raster_info(bundle.dem_path)
    info["population"] = _raster_info(bundle.population_path)
    return info


def _raster_info(path: Path | None) -> str:
    if path is None:
        return "none"
    import rasterio

    try:
        with rasterio.open(path) as ds:
            crs = ds.crs.to_epsg() if ds.crs else None
            return (f"{path.name}: {ds.width}×{ds.height} cells, {abs(ds.res[0]):g}×"
                    f"{abs(ds.res[1]):g} {'m' if ds.crs and ds.crs.is_projected else 'units'}"
                    f", EPSG:{crs}")
    except Exception as exc:  # an unreadable raster is reported, not raised, by info
        return f"{path.name}: unreadable ({_first_line(exc)})"
