"""Validation of layers against their schemas (DESIGN §2): collect every problem, drop nothing.

:func:`validate_layer` checks one GeoDataFrame against :data:`layers.schema.LAYERS` and splits
it into accepted rows (canonical: operator aliases → ids, booleans and numbers parsed, text NFC
and stripped, geometry in EPSG:4326 and repaired where that is safe) and rejected rows (the
original values, with ``reject_field``, ``reject_reason`` and ``source_row``). It never stops at
the first problem, and always ``rows_in == len(accepted) + len(rejected)``.

Decisions
---------
* **Whole-layer problems raise** one line: a missing required column →
  :class:`~gis.errors.SchemaError`; coordinates that fit no CRS of Vietnam (and no CRS was
  declared) → :class:`~gis.errors.CRSMismatchError`.
* **Missing or wrong CRS**: the CRS is detected from the coordinates
  (:func:`gis.crs.detect_crs`); when it differs from the declared one (or none was declared) the
  detected one is used and a warning says so. VN-2000 data (degrees or TM-3 metres) is shifted to
  WGS84 with the EPSG:6960 Helmert transformation.
* **Swapped lat/lon** is fixed, with a warning: for the whole layer when the detector sees it,
  and per row when a point lies outside the province but inside once x and y are exchanged (in
  Vietnam the two ranges never overlap, so the fix is unambiguous). Points outside the province
  otherwise are rejected.
* **Geometry**: Z is dropped (warning); a self-intersecting polygon is repaired with
  ``make_valid`` when the result is still polygonal (warning), else rejected; a village given
  as a MultiPolygon is kept as one village with its parts dissolved (warning); empty or
  missing geometry and the wrong geometry type are rejected.
* **Duplicate ids**: the first row is kept, later ones are rejected naming the first's row.
* **Aliases** (``VNPT`` → ``vinaphone``, ``LTE`` → ``4G``, ``có`` → ``True``, ``điện lưới`` →
  ``grid``) are accepted; a warning lists the mappings so a reader can audit them.

Row numbers (``source_row``) are the numbers a user sees in the file: for CSV the header is
row 1, so the first data row is row 2; for vector files the first feature is row 1.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from phusong.gis.crs import (
    VIETNAM_BOUNDS,
    WGS84_EPSG,
    CRSGuess,
    detect_crs,
    province_bounds,
    swap_xy,
    transform_xy,
    transformer,
)
from phusong.gis.errors import CRSMismatchError, DEMError, SchemaError
from phusong.layers.operators import owner_id, parse_operator
from phusong.layers.schema import LAYERS, POST_OFFICE_KINDS, FieldSpec, LayerSchema

logger = logging.getLogger(__name__)

__all__ = [
    "REJECT_COLUMNS",
    "UNKNOWN_VILLAGE_FIELDS",
    "DemCheck",
    "ValidationResult",
    "as_bool",
    "as_flag",
    "bounds_from_admin",
    "canonical_choice",
    "colkey",
    "cross_validate",
    "move_to_rejected",
    "parse_azimuths",
    "parse_bool",
    "parse_number",
    "parse_tech",
    "unknown_counts",
    "unknown_summary",
    "validate_bundle",
    "validate_dem",
    "validate_layer",
    "write_rejects",
]

#: columns added to every rejected row
REJECT_COLUMNS = ("source_row", "reject_field", "reject_reason")


# -- result ---------------------------------------------------------------------------------

@dataclasses.dataclass
class ValidationResult:
    """The outcome of validating one layer.

    Attributes
    ----------
    layer
        Layer name (a key of :data:`layers.schema.LAYERS`).
    source
        File (or label) the rows came from; starts every message.
    accepted
        Canonical rows in EPSG:4326, keeping the input's index.
    rejected
        Original rows (as read, geometry as WKT) plus ``source_row``, ``reject_field``,
        ``reject_reason``; keeps the input's index.
    warnings
        One-line messages about fixes and assumptions (``"file:row:field: message"`` or
        ``"file: message"``).
    problems
        One line per problem that rejected a row, ``"file:row:field: message"``.
    rows_in
        Number of input rows; always ``len(accepted) + len(rejected)``.
    crs_guess
        What CRS detection concluded (``None`` when nothing was detected).
    encoding
        Text encoding assumed for text formats (CSV), else ``None``.
    """

    layer: str
    source: str
    accepted: gpd.GeoDataFrame
    rejected: pd.DataFrame
    warnings: list[str]
    problems: list[str]
    rows_in: int
    crs_guess: CRSGuess | None = None
    encoding: str | None = None
    #: streamed validation (:func:`layers.io.validate_csv_stream`) keeps counts, not rows: the
    #: accepted rows are not held, ``rejected`` holds the first rows only and all of them are
    #: in ``rejects_spool`` (a finished rejects CSV)
    accepted_count: int | None = None
    rejected_count: int | None = None
    rejects_spool: Path | None = None
    # raw rows (positional) and the position of each accepted row, for cross-layer checks
    _raw: pd.DataFrame = dataclasses.field(default=None, repr=False)  # type: ignore[assignment]
    _accepted_pos: np.ndarray = dataclasses.field(default=None, repr=False)  # type: ignore

    @property
    def n_accepted(self) -> int:
        return len(self.accepted) if self.accepted_count is None else self.accepted_count

    @property
    def n_rejected(self) -> int:
        return len(self.rejected) if self.rejected_count is None else self.rejected_count

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return self.n_rejected == 0

    def summary(self) -> dict[str, Any]:
        """Counts for tables: layer, source, rows_in, accepted, rejected, warnings."""
        return {"layer": self.layer, "source": self.source, "rows_in": self.rows_in,
                "accepted": self.n_accepted, "rejected": self.n_rejected,
                "warnings": len(self.warnings)}

    def check_invariant(self) -> None:
        if self.rows_in != self.n_accepted + self.n_rejected:  # pragma: no cover - a bug
            raise AssertionError(f"{self.source}: {self.layer}: rows in {self.rows_in} != "
                                 f"accepted {self.n_accepted} + rejected {self.n_rejected}")


# -- value parsing --------------------------------------------------------------------------

def _fold(text: object) -> str:
    """ASCII, lower-case, single-spaced key of a label (``"Điện lưới"`` → ``"dien luoi"``)."""
    s = unicodedata.normalize("NFD", str(text)).replace("đ", "d").replace("Đ", "D")
    s = s.encode("ascii", "ignore").decode().lower().replace("_", " ").replace("-", " ")
    return " ".join(s.split())


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating) and math.isnan(value):
        return True  # an empty numeric cell of a GeoPackage/Shapefile arrives as NaN
    return isinstance(value, str) and value.strip() == ""


_NAN_WORDS = {"nan", "na", "n/a", "#n/a", "null", "none", "inf", "-inf", "#value!"}
_GROUPED = re.compile(r"[+-]?\d{1,3}([.,\u00a0 ]\d{3})+")


_PLAIN_INT = re.compile(r"[+-]?\d+")
_PLAIN_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_number(value: object, *, integer: bool = False) -> tuple[float | None, str | None]:
    """``(number, None)`` or ``(None, problem)``; ``(None, None)`` for an empty cell.

    Accepts decimal commas and grouped thousands as Vietnamese spreadsheets write them.
    """
    if type(value) is str:  # the common case of a text file: a plain number, parsed at once
        if (_PLAIN_INT if integer else _PLAIN_FLOAT).fullmatch(value):
            x = float(value)
            if math.isfinite(x):
                return x, None
    if _is_missing(value):
        return None, None
    if isinstance(value, bool | np.bool_):
        return None, f"{value!r} is a yes/no value, not a number"
    if isinstance(value, int | np.integer):
        return float(value), None
    if isinstance(value, float | np.floating):
        x = float(value)
    else:
        s = unicodedata.normalize("NFKC", str(value)).strip().replace("\u00a0", " ")
        if s.lower() in _NAN_WORDS:
            return None, f"{s!r} is not a number"
        compact = s.replace(" ", "")
        if _GROUPED.fullmatch(s) and (integer or s.count(",") + s.count(".") > 1
                                      or " " in s):
            compact = re.sub(r"[.,\u00a0 ]", "", s)  # 1.234 / 1,234 / 1 234 thousands
        elif "," in compact and "." in compact:  # 1.234,5 or 1,234.5
            if compact.rfind(",") > compact.rfind("."):
                compact = compact.replace(".", "").replace(",", ".")
            else:
                compact = compact.replace(",", "")
        elif compact.count(",") == 1:  # decimal comma, as Vietnamese spreadsheets write
            compact = compact.replace(",", ".")
        try:
            x = float(compact)
        except ValueError:
            return None, f"{s!r} is not a number"
    if not math.isfinite(x):
        return None, f"{x} is not a finite number"
    if integer and x != round(x):
        return None, f"{x:g} is not a whole number"
    return x, None


def canonical_choice(field: str, value: object, layer: str | None = None) -> str | None:
    """The canonical value of a choice field (``"LTE"`` → ``"4G"``, ``"Điện lưới"`` →
    ``"grid"``, ``"Cáp ngầm"`` → ``"underground"``), or ``None`` when not recognised."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    table = _CHOICE_ALIASES.get(f"{field}@{layer}") or _CHOICE_ALIASES.get(field) or {}
    return table.get(_fold(value))


_TRUE = {"1", "true", "t", "yes", "y", "co", "c", "x", "dung", "on", "1.0"}
_FALSE = {"0", "false", "f", "no", "n", "khong", "k", "ko", "sai", "off", "0.0"}


def parse_bool(value: object) -> tuple[bool | None, str | None]:
    """``(flag, None)`` or ``(None, problem)``; ``(None, None)`` for an empty cell.

    The one yes/no parser: True/False, 1/0, and text with or without diacritics (``có``/
    ``không``, ``yes``/``no``, ``true``/``false``, ``x``, ``đúng``/``sai``, ...).
    """
    if _is_missing(value):
        return None, None
    if isinstance(value, bool | np.bool_):
        return bool(value), None
    if isinstance(value, int | float | np.integer | np.floating):
        if value in (0, 1):
            return bool(value), None
        return None, f"{value!r} is not a yes/no value (use có/không, yes/no, 1/0)"
    key = _fold(value)
    if key in _TRUE:
        return True, None
    if key in _FALSE:
        return False, None
    return None, f"{str(value).strip()!r} is not a yes/no value (use có/không, yes/no, 1/0)"


def as_flag(values: pd.Series) -> pd.arrays.BooleanArray:
    """A flag column as a nullable boolean by :func:`parse_bool`: unknown (empty, NA,
    unreadable) stays unknown (``pd.NA``)."""
    if values.dtype == bool:
        return pd.array(values.to_numpy(), dtype="boolean")
    return pd.array([pd.NA if (f := parse_bool(v)[0]) is None else f for v in values],
                    dtype="boolean")


def as_bool(values: pd.Series) -> pd.Series:
    """A flag column as booleans by :func:`parse_bool`; empty or unreadable cells are False."""
    if values.dtype == bool:
        return values
    return values.map(lambda v: parse_bool(v)[0] is True).astype(bool)


def _text(value: object) -> str | None:
    if _is_missing(value):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)  # ids read as numbers: 12.0 -> "12"
    return unicodedata.normalize("NFC", str(value)).strip()


def _choice_map(canonical: Sequence[str], extra: Mapping[str, str]) -> dict[str, str]:
    out = {_fold(c): c for c in canonical}
    out.update({_fold(k): v for k, v in extra.items()})
    return out


_CHOICE_ALIASES: dict[str, dict[str, str]] = {
    "tech": _choice_map(("2G", "3G", "4G", "5G"), {
        "gsm": "2G", "2g gsm": "2G", "umts": "3G", "wcdma": "3G", "hspa": "3G", "lte": "4G",
        "4g lte": "4G", "nr": "5G", "5g nr": "5G"}),
    "power_source": _choice_map(("grid", "diesel", "solar", "hybrid"), {
        "điện lưới": "grid", "lưới điện": "grid", "lưới": "grid", "EVN": "grid",
        "máy nổ": "diesel", "máy phát": "diesel", "máy phát điện": "diesel",
        "năng lượng mặt trời": "solar", "mặt trời": "solar", "pin mặt trời": "solar",
        "điện mặt trời": "solar", "hỗn hợp": "hybrid", "lai": "hybrid"}),
    "kind@fibre_routes": _choice_map(("aerial", "underground"), {
        "treo": "aerial", "cáp treo": "aerial", "overhead": "aerial", "ngầm": "underground",
        "cáp ngầm": "underground", "ngầm hóa": "underground", "buried": "underground"}),
    "level": _choice_map(("province", "district", "commune"), {
        "tỉnh": "province", "huyện": "district", "quận": "district", "thị xã": "district",
        "xã": "commune", "phường": "commune", "thị trấn": "commune", "ward": "commune"}),
    "kind@post_offices": _choice_map(tuple(POST_OFFICE_KINDS), {
        **{label: kid for kid, label in POST_OFFICE_KINDS.items()},
        "bưu cục cấp 1": "buu_cuc_cap_1", "bưu cục cấp 2": "buu_cuc_cap_2",
        "bưu cục cấp 3": "buu_cuc_cap_3", "cấp I": "buu_cuc_cap_1",
        "cấp II": "buu_cuc_cap_2", "cấp III": "buu_cuc_cap_3", "BĐVHX": "bdvhx",
        "điểm BĐVHX": "bdvhx", "điểm bưu điện văn hóa xã": "bdvhx",
        "bưu điện văn hóa xã": "bdvhx", "đại lý": "dai_ly", "đại lý bưu điện": "dai_ly",
        "KT1": "kt1", "khách hàng lớn": "khach_hang_lon"}),
}

_COLUMN_ALIASES: dict[str, dict[str, str]] = {
    "*": {"ten": "name", "ten_goi": "name"},
    "admin_units": {"ma": "code", "ma_dvhc": "code", "cap": "level", "ma_cap_tren": "parent_code"},
    "villages": {"ma_thon": "village_id", "ten_thon": "name", "ma_xa": "commune_code",
                 "dan_so": "population", "so_dan": "population", "so_ho": "households",
                 "co_dien_luoi": "has_grid_power", "dien_luoi": "has_grid_power",
                 "bien_gioi": "border_area", "dbkk": "extremely_difficult",
                 "dac_biet_kho_khan": "extremely_difficult"},
    "towers": {"ma_cot": "tower_id", "ma_vi_tri": "tower_id", "do_cao_cot": "height_m",
               "chieu_cao": "height_m", "height": "height_m", "chu_so_huu": "owner",
               "nguon_dien": "power_source"},
    "bts": {"ma_tram": "bts_id", "ma_cot": "tower_id", "nha_mang": "operator",
            "doanh_nghiep": "operator", "cong_nghe": "tech", "technology": "tech",
            "bang_tan": "band_mhz", "band": "band_mhz", "do_cao_anten": "antenna_height_m",
            "eirp": "eirp_dbm", "azimuths": "azimuth_deg", "azimuth": "azimuth_deg",
            "huong_anten": "azimuth_deg", "power_w": "tx_power_w", "cong_suat_w": "tx_power_w",
            "bandwidth": "bandwidth_mhz", "gain_dbi": "antenna_gain_dbi",
            "tilt_deg": "elec_tilt_deg"},
    "fibre_routes": {"ma_tuyen": "route_id", "doanh_nghiep": "operator", "loai": "kind"},
    "post_offices": {"ma_diem": "po_id", "ten_diem": "name", "loai": "kind",
                     "doanh_nghiep": "operator", "internet": "has_public_internet"},
    "roads": {"class": "highway", "cap_duong": "highway"},
}


def colkey(name: object) -> str:
    """Column-name key: folded to ASCII lower case, runs of other characters → ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", _fold(str(name).lstrip("\ufeff"))).strip("_")


# -- the validator --------------------------------------------------------------------------

def _one_line(message: str) -> str:
    """A message quoting a cell that holds a line break stays one line (``⏎`` marks it)."""
    return message.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎")


class _Collector:
    """Row problems and warnings, in input order."""

    def __init__(self, source: str, rows: np.ndarray) -> None:
        self.source = source
        self.rows = rows
        self.rejects: dict[int, list[tuple[str, str]]] = {}
        self.row_warnings: list[tuple[int, str, str]] = []
        self.warnings: list[str] = []

    def reject(self, pos: int, field: str, message: str) -> None:
        self.rejects.setdefault(int(pos), []).append((field, _one_line(message)))

    def warn_row(self, pos: int, field: str, message: str) -> None:
        self.row_warnings.append((int(pos), field, _one_line(message)))

    def warn(self, message: str) -> None:
        self.warnings.append(f"{self.source}: {message}")

    def line(self, pos: int, field: str, message: str) -> str:
        return f"{self.source}:{self.rows[pos]}:{field}: {message}"


def _schema(layer: str) -> LayerSchema:
    if layer not in LAYERS:
        raise SchemaError(f"unknown layer {layer!r}; layers are {', '.join(LAYERS)}")
    return LAYERS[layer]


def _rename_columns(df: pd.DataFrame, schema: LayerSchema, col: _Collector) -> dict[str, str]:
    """Map input column names to schema names (case, spaces, diacritics, known aliases)."""
    fields = {f.name for f in schema.fields}
    aliases = {**_COLUMN_ALIASES["*"], **_COLUMN_ALIASES.get(schema.name, {})}
    if schema.id_field:
        aliases.setdefault("id", schema.id_field)
    from phusong.layers.sheets import header_key, layer_aliases

    known = layer_aliases(schema.name)
    mapping: dict[str, str] = {}
    taken = {c for c in df.columns if c in fields}
    for c in df.columns:
        if c in fields or c == getattr(df, "_geometry_column_name", None):
            continue
        key = colkey(c)
        target = key if key in fields else aliases.get(key)
        if target is None:  # the tool's own headers and those of real lists
            target = known.get(header_key(c))
        if target is None and len(str(c)) == 10:  # a Shapefile's DBF cuts names at 10
            cut = [f for f in fields if len(f) > 10 and f[:10] == str(c).lower()]
            target = cut[0] if len(cut) == 1 else None
        if target and target in fields and target not in taken:
            mapping[c] = target
            taken.add(target)
    if mapping:
        col.warn("columns read as " + ", ".join(f"{k!r} → {v}" for k, v in mapping.items()))
    missing = [f.name for f in schema.fields if f.required and f.name not in taken]
    if missing:
        found = ", ".join(str(c) for c in df.columns if c != getattr(
            df, "_geometry_column_name", None)) or "none"
        raise SchemaError(
            f"{col.source}: layer {schema.name}: missing required column"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} (columns found: {found}); "
            "add or rename the column (see layers/schema.py)")
    return mapping


def _resolve_crs(gdf: gpd.GeoDataFrame, geoms: np.ndarray, *, crs_hint: Any,
                 bounds: tuple[float, ...] | None, col: _Collector,
                 ) -> tuple[np.ndarray, CRSGuess | None]:
    """Detect the CRS, undo a whole-layer swap and reproject to WGS84."""
    declared = crs_hint if crs_hint is not None else gdf.crs
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return geoms, None
    guess = detect_crs(geoms[present], declared=declared, expected_bounds=bounds)
    crs = guess.crs
    if declared is None:
        if crs is None:
            xy = shapely.get_coordinates(geoms[present])
            if xy.size and (np.abs(xy) <= 180).all():
                crs = CRS.from_epsg(WGS84_EPSG)
                col.warn("no CRS declared and the coordinates fit no place in the province; "
                         "read as WGS84 lon/lat (EPSG:4326)")
            else:
                raise CRSMismatchError(
                    f"{col.source}: no CRS declared and {guess.note}; "
                    "pass crs= (e.g. 4326 for lon/lat, 9205 for VN-2000 TM-3 103°)")
        else:
            what = ("lon/lat read as WGS84 (EPSG:4326); pass crs=4756 if they are VN-2000 "
                    "degrees" if crs.is_geographic else guess.note)
            col.warn(f"no CRS declared; {what}")
    elif guess.declared_ok is False:
        if crs is None:
            crs = CRS.from_user_input(declared)  # the rows themselves are out of place
        else:
            col.warn(f"wrong CRS: {guess.note}; used EPSG:{crs.to_epsg()}")
    elif crs is None:
        crs = CRS.from_user_input(declared)
    if guess.swapped:
        geoms = swap_xy(geoms)
        col.warn("x and y are swapped (lat/lon or northing/easting) in the whole layer; "
                 "exchanged them")
    has_z = shapely.has_z(geoms)
    if has_z.any():
        geoms = np.where(has_z, shapely.force_2d(geoms), geoms)
        col.warn(f"{int(has_z.sum())} geometries have Z values; dropped them (2D only)")
    wgs = CRS.from_epsg(WGS84_EPSG)
    if not crs.equals(wgs):
        out = geoms.copy()
        out[present] = shapely.transform(
            geoms[present],
            lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], crs, wgs)))
        geoms = out
        logger.info("%s: projected %d features from EPSG:%s to EPSG:4326 (%s)", col.source,
                    int(present.sum()), crs.to_epsg(), transformer(crs, wgs).description)
    return geoms, guess


def _fix_geometry(pos: int, geom: Any, schema: LayerSchema, col: _Collector) -> Any:
    """Return a usable geometry or ``None`` (after rejecting the row)."""
    if geom is None or shapely.is_missing(geom):
        col.reject(pos, "geometry", "no geometry (missing coordinates)")
        return None
    if geom.is_empty:
        col.reject(pos, "geometry", "empty geometry")
        return None
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        col.reject(pos, "geometry", "coordinates are not finite numbers (NaN or infinite); "
                   "check the CRS and the coordinate columns")
        return None
    gtype = geom.geom_type
    allowed = schema.geometry
    multi_village = schema.name == "villages" and gtype == "MultiPolygon"
    n_parts = len(geom.geoms) if multi_village else 0
    if gtype == "MultiPoint" and "Point" in allowed and len(geom.geoms) == 1:
        geom, gtype = geom.geoms[0], "Point"
    if gtype == "GeometryCollection":
        parts = [g for g in geom.geoms if g.geom_type in allowed]
        if len(parts) == len(geom.geoms) and len(parts) == 1:
            geom, gtype = parts[0], parts[0].geom_type
    if gtype not in allowed:
        col.reject(pos, "geometry", f"geometry is {gtype}; {schema.name} needs "
                   f"{' or '.join(allowed)}")
        return None
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        fixed = shapely.make_valid(geom)
        if fixed.geom_type == "GeometryCollection":
            keep = [g for g in fixed.geoms if g.geom_type in allowed or (
                g.geom_type.startswith("Multi") and g.geom_type in allowed)]
            fixed = shapely.union_all(keep) if keep else shapely.Point()
        if fixed.is_empty or fixed.geom_type not in allowed or not fixed.is_valid or (
                gtype.endswith("Polygon") and fixed.area <= 0):
            col.reject(pos, "geometry", f"invalid geometry ({reason}) that cannot be repaired; "
                       "fix it in a GIS")
            return None
        col.warn_row(pos, "geometry", f"invalid geometry ({reason}); repaired with make_valid")
        geom, gtype = fixed, fixed.geom_type
    if multi_village:
        if geom.geom_type == "MultiPolygon":
            geom = shapely.union_all(list(geom.geoms))
        col.warn_row(pos, "geometry", f"village is a MultiPolygon of {n_parts} parts; parts "
                     "dissolved and kept as one village")
    return geom


def _in_box(pt: Any, box: tuple[float, ...]) -> bool:
    return box[0] <= pt.x <= box[2] and box[1] <= pt.y <= box[3]


def _check_position(pos: int, geom: Any, box: tuple[float, ...], what: str,
                    col: _Collector) -> Any:
    pt = geom if geom.geom_type == "Point" else geom.representative_point()
    if _in_box(pt, box):
        return geom
    swapped = shapely.Point(pt.y, pt.x)
    if _in_box(swapped, box):
        col.warn_row(pos, "geometry", f"lat/lon swapped (x={pt.x:.6f}, y={pt.y:.6f}); "
                     "exchanged them")
        return swap_xy(np.array([geom], dtype=object))[0]
    col.reject(pos, "geometry", f"position lon {pt.x:.6f}, lat {pt.y:.6f} is outside {what} "
               f"(lon {box[0]}–{box[2]}, lat {box[1]}–{box[3]}); check the coordinates and "
               "the CRS")
    return None


def _check_field(spec: FieldSpec, layer: str, values: np.ndarray, col: _Collector,
                 aliases_used: dict[str, set[str]]) -> list[Any]:
    out: list[Any] = [None] * len(values)
    choices = _CHOICE_ALIASES.get(f"{spec.name}@{layer}") or _CHOICE_ALIASES.get(spec.name)
    for pos, raw in enumerate(values):
        if spec.nullable and isinstance(raw, float | np.floating) and math.isnan(raw):
            raw = None  # a NULL of a binary format (GeoPackage, Shapefile): unknown
        if spec.kind in ("int", "float"):
            value, problem = parse_number(raw, integer=spec.kind == "int")
            if value is not None:
                if spec.min is not None and value < spec.min:
                    problem, value = f"{value:g} is below the minimum {spec.min:g}", None
                elif spec.max is not None and value > spec.max:
                    problem, value = f"{value:g} is above the maximum {spec.max:g}", None
            if value is not None and spec.kind == "int":
                value = int(value)
        elif spec.kind == "bool":
            value, problem = parse_bool(raw)
        elif spec.kind == "operator":
            value, problem = None, None
            text = _text(raw)
            if text is not None:
                try:
                    value = (owner_id(text) if "unknown" in spec.also
                             else parse_operator(text).value)
                except Exception as exc:  # SchemaError with the accepted names
                    problem = str(exc)
                else:
                    if text != value:
                        aliases_used[spec.name].add(f"{text} → {value}")
        else:  # str, date
            value, problem = _text(raw), None
            if value is not None and spec.choices:
                canon = (choices or {}).get(_fold(value))
                if canon is None:
                    problem = (f"unknown value {value!r}; use one of "
                               f"{', '.join(spec.choices)}")
                    value = None
                else:
                    if canon != value:
                        aliases_used[spec.name].add(f"{value} → {canon}")
                    value = canon
            elif value is not None and spec.kind == "date":
                try:
                    value = pd.Timestamp(value).date().isoformat()
                except (ValueError, TypeError):
                    problem, value = f"{value!r} is not a date (YYYY-MM-DD)", None
        if problem is not None:
            col.reject(pos, spec.name, problem)
        elif value is None and spec.required and not spec.nullable:
            col.reject(pos, spec.name, "is empty; a value is required")
        out[pos] = value
    return out


def _raw_frame(gdf: gpd.GeoDataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The input as the user wrote it: attributes, geometry objects, source_row."""
    geom_name = gdf.geometry.name if isinstance(gdf, gpd.GeoDataFrame) and \
        gdf._geometry_column_name in gdf.columns else None
    raw = pd.DataFrame({c: gdf[c].to_numpy(dtype=object) for c in gdf.columns
                        if c != geom_name})
    if geom_name is not None:
        raw["geometry"] = gdf[geom_name].to_numpy(dtype=object)
    raw["source_row"] = rows
    return raw


def _raw_rows(raw: pd.DataFrame, positions: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """Rows of the raw frame for the rejects, geometry as WKT (only these rows are written)."""
    out = raw.iloc[positions].copy()
    out.index = index
    if "geometry" in out.columns:
        out["geometry"] = pd.Series(
            [None if g is None or not hasattr(g, "geom_type") else
             shapely.to_wkt(g, rounding_precision=-1) for g in out["geometry"]],
            index=out.index, dtype=object)
    return out


def validate_layer(gdf: gpd.GeoDataFrame | pd.DataFrame, layer: str, *,
                   source: str = "<data>", bounds: tuple[float, float, float, float] | None = None,
                   crs_hint: Any = None, source_rows: Sequence[int] | None = None,
                   pre_rejects: Mapping[int, tuple[str, str]] | None = None,
                   encoding: str | None = None) -> ValidationResult:
    """Check a layer against its schema; split it into accepted and rejected rows.

    Parameters
    ----------
    gdf
        The rows as read (any CRS, column names in any case or a known alias).
    layer
        Layer name, a key of :data:`layers.schema.LAYERS`.
    source
        File name (or label) that starts every message.
    bounds
        Lon/lat box the features must fall in (the province, e.g.
        :func:`gis.crs.province_bounds`); defaults to Vietnam.
    crs_hint
        CRS to assume when the data declares none (or to override a wrong one).
    source_rows
        Row number of each input row as the user sees it in the file (default 1, 2, …).
    pre_rejects
        Problems the reader already found, by row position: ``{pos: (field, message)}``
        (e.g. a coordinate cell that is not a number).
    encoding
        Text encoding the reader assumed, recorded on the result.

    Returns
    -------
    ValidationResult

    Raises
    ------
    SchemaError
        A required column is missing (or the layer name is unknown).
    CRSMismatchError
        No CRS was declared and the coordinates fit none of Vietnam's.
    """
    schema = _schema(layer)
    n = len(gdf)
    rows = np.arange(1, n + 1) if source_rows is None else np.asarray(source_rows)
    if len(rows) != n:
        raise ValueError("source_rows must have one number per row")
    col = _Collector(source, rows)
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf._geometry_column_name not in gdf.columns:
        raise SchemaError(f"{source}: layer {layer}: no geometry column; give a spatial file "
                          "(GeoPackage, GeoJSON, Shapefile, KML) or lon/lat columns")
    raw = _raw_frame(gdf, rows)
    mapping = _rename_columns(gdf, schema, col)
    attrs = gdf.drop(columns=[gdf.geometry.name]).rename(columns=mapping)
    box = tuple(bounds) if bounds is not None else VIETNAM_BOUNDS
    where = "the province" if bounds is not None else "Vietnam"

    for pos, (field, message) in (pre_rejects or {}).items():
        col.reject(pos, field, message)

    geoms = np.asarray(gdf.geometry.values, dtype=object)
    geoms, guess = _resolve_crs(gdf, geoms, crs_hint=crs_hint, bounds=bounds, col=col)

    out_geoms: list[Any] = [None] * n
    for pos in range(n):
        if pos in col.rejects:
            continue
        g = _fix_geometry(pos, geoms[pos], schema, col)
        if g is not None:
            g = _check_position(pos, g, box, where, col)
        out_geoms[pos] = g

    if "centre_lon" in attrs.columns and "centre_lat" in attrs.columns:
        attrs = _fix_swapped_centres(attrs, box, col)
    aliases_used: dict[str, set[str]] = {f.name: set() for f in schema.fields}
    values: dict[str, list[Any]] = {}
    for spec in schema.fields:
        if spec.name in attrs.columns:
            column = attrs[spec.name]
            if isinstance(column, pd.DataFrame):  # duplicated header
                column = column.iloc[:, 0]
            values[spec.name] = _check_field(spec, layer, column.to_numpy(dtype=object),
                                             col, aliases_used)
        else:
            values[spec.name] = [None] * n
    for name, used in aliases_used.items():
        if used:
            col.warn(f"{name}: aliases mapped to canonical values: "
                     + ", ".join(sorted(used)[:8]) + (" …" if len(used) > 8 else ""))

    _layer_rules(schema, values, out_geoms, box, col)

    if schema.id_field:
        _check_duplicates(schema.id_field, values[schema.id_field], rows, col)

    return _assemble(gdf, layer, schema, attrs, values, out_geoms, raw, col, guess, encoding)


def _check_duplicates(field: str, ids: list[Any], rows: np.ndarray, col: _Collector) -> None:
    """Keep the first otherwise valid row of each id; reject (or add a reason to) the others."""
    where: dict[Any, list[int]] = {}
    for pos, key in enumerate(ids):
        if key is not None:
            where.setdefault(key, []).append(pos)
    for key, positions in where.items():
        if len(positions) < 2:
            continue
        valid = [p for p in positions if p not in col.rejects]
        keeper = valid[0] if valid else positions[0]
        for pos in positions:
            if pos != keeper:
                col.reject(pos, field, f"duplicate {field} {key!r} (first at row "
                           f"{rows[keeper]}); kept the first")


def _fix_swapped_centres(attrs: pd.DataFrame, box: tuple[float, ...],
                         col: _Collector) -> pd.DataFrame:
    """Exchange centre_lon/centre_lat where only the exchanged pair lies in the box."""
    lon = attrs["centre_lon"].to_numpy(dtype=object).copy()
    lat = attrs["centre_lat"].to_numpy(dtype=object).copy()
    changed = False
    for pos in range(len(lon)):
        x, _ = parse_number(lon[pos], integer=False)
        y, _ = parse_number(lat[pos], integer=False)
        if x is None or y is None:
            continue
        if not _in_box(shapely.Point(x, y), box) and _in_box(shapely.Point(y, x), box):
            lon[pos], lat[pos] = lat[pos], lon[pos]
            col.warn_row(pos, "centre_lon", "centre lat/lon swapped; exchanged them")
            changed = True
    if not changed:
        return attrs
    attrs = attrs.copy()
    attrs["centre_lon"], attrs["centre_lat"] = lon, lat
    return attrs


def _layer_rules(schema: LayerSchema, values: dict[str, list[Any]], geoms: list[Any],
                 box: tuple[float, ...], col: _Collector) -> None:
    """Checks that involve several fields of a row, or the whole layer."""
    if schema.name == "villages":
        line = unknown_summary({f: [v for pos, v in enumerate(values[f]) if pos not in
                                    col.rejects] for f in UNKNOWN_VILLAGE_FIELDS})
        if line:
            col.warn(line)
        lon, lat = values["centre_lon"], values["centre_lat"]
        for pos in range(len(lon)):
            if (lon[pos] is None) != (lat[pos] is None):
                col.reject(pos, "centre_lon" if lon[pos] is None else "centre_lat",
                           "centre needs both centre_lon and centre_lat (or neither)")
            elif lon[pos] is not None and not _in_box(shapely.Point(lon[pos], lat[pos]), box):
                col.reject(pos, "centre_lon", f"centre lon {lon[pos]}, lat {lat[pos]} is "
                           "outside the province; check the centre columns")
            pop, hh = values["population"][pos], values["households"][pos]
            if pop is not None and hh is not None and hh > pop and pos not in col.rejects:
                col.warn_row(pos, "households", f"{hh} households but population {pop}")
    if schema.name == "bts":
        _bts_rules(values, col)
    if schema.name == "roads":
        ok = [g for pos, g in enumerate(geoms) if g is not None and pos not in col.rejects]
        n_parts, largest = _road_components(ok)
        if n_parts > 1:
            col.warn(f"roads form {n_parts} separate networks; the largest holds {largest} of "
                     f"{len(ok)} segments (distances between networks are unknown: connect "
                     "the segments or add the missing roads)")


#: village fields that may be unknown (empty): counted by validate and info
UNKNOWN_VILLAGE_FIELDS = ("population", "households", "has_grid_power", "border_area",
                          "extremely_difficult")


def unknown_counts(villages: Mapping[str, Sequence[Any]] | pd.DataFrame) -> dict[str, int]:
    """Number of villages whose value of each :data:`UNKNOWN_VILLAGE_FIELDS` is unknown
    (empty/NA), by field; fields absent from ``villages`` count every village."""
    n = len(villages) if isinstance(villages, pd.DataFrame) else max(
        (len(v) for v in villages.values()), default=0)
    out = {}
    for f in UNKNOWN_VILLAGE_FIELDS:
        if f not in villages:
            out[f] = n
            continue
        vals = villages[f]
        out[f] = int(sum(1 for v in vals if v is None or v is pd.NA or (
            isinstance(v, float) and math.isnan(v))))
    return out


def unknown_summary(villages: Mapping[str, Sequence[Any]] | pd.DataFrame) -> str:
    """One line saying how many villages have unknown population, grid power, … (``""``
    when every value is known)."""
    counts = unknown_counts(villages)
    n = len(villages) if isinstance(villages, pd.DataFrame) else max(
        (len(v) for v in villages.values()), default=0)
    parts = [f"{f} {k}/{n}" for f, k in counts.items() if k]
    return ("unknown (empty) values — " + ", ".join(parts) +
            "; they stay unknown in the analyses") if parts else ""


def parse_azimuths(value: object) -> list[float]:
    """Azimuths (degrees clockwise from north) of a ``bts`` row: one, or a sector list.

    Empty → ``[]`` (omni). ``"0;120;240"`` (also ``,``, ``/``, ``|``) lists the sectors of one
    BTS that share its radio values. ValueError for text that is not degrees or a value
    outside 0–360.
    """
    if _is_missing(value):
        return []
    text = str(value).strip()
    if not text or text.lower() in ("nan", "none", "omni"):
        return []
    out = []
    for part in re.split(r"[;,/|]", text):
        part = part.strip()
        if not part:
            continue
        try:
            a = float(part)
        except ValueError:
            raise ValueError(f"{value!r} is not degrees such as '90' or '0;120;240'") from None
        if not (math.isfinite(a) and 0.0 <= a <= 360.0):
            raise ValueError(f"azimuth {a:g}° is outside 0–360")
        out.append(a % 360.0)
    if len(out) > 6:
        raise ValueError(f"{len(out)} azimuths; at most 6 sectors per row")
    return out


def _bts_rules(values: dict[str, list[Any]], col: _Collector) -> None:
    """Radio fields: a bandwidth the technology has, azimuths, a readable pattern file."""
    from phusong.gis.antenna import PatternError, read_msi
    from phusong.layers.settings import reference_offset_db

    patterns: dict[str, str | None] = {}
    for pos, tech in enumerate(values["tech"]):
        bw = values["bandwidth_mhz"][pos]
        if bw is not None and tech is not None:
            try:
                reference_offset_db(tech, bw)
            except ValueError as exc:
                col.reject(pos, "bandwidth_mhz", str(exc))
        try:
            values["azimuth_deg"][pos] = ";".join(
                f"{a:g}" for a in parse_azimuths(values["azimuth_deg"][pos])) or None
        except ValueError as exc:
            col.reject(pos, "azimuth_deg", str(exc))
        pat = values["pattern"][pos]
        if pat is not None:
            if pat not in patterns:
                path = Path(pat)
                if not path.is_absolute():  # relative to the layer's file, else the cwd
                    beside = Path(col.source).parent / path
                    path = beside if beside.exists() else path
                try:
                    read_msi(path)
                    patterns[pat] = None
                except PatternError as exc:
                    patterns[pat] = str(exc)
            if patterns[pat] is not None:
                col.reject(pos, "pattern", patterns[pat])


def _road_components(geoms: list[Any], *, tol_deg: float = 1e-5) -> tuple[int, int]:
    """Connected networks of road lines (lon/lat): two lines are joined when a vertex of one
    lies within ``tol_deg`` (~1 m) of the other — shared ends, T-junctions drawn a little short
    and crossings at a common vertex, as :func:`gis.roads.graph_from_roads` joins them; lines
    that merely cross (a bridge) are not. Returns (number of networks, lines in the largest).
    """
    if not geoms:
        return 0, 0
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    arr = np.asarray(geoms, dtype=object)
    parts, owner = shapely.get_parts(arr, return_index=True)
    coords, vowner = shapely.get_coordinates(parts, return_index=True)
    tree = shapely.STRtree(parts)
    vi, li = tree.query(shapely.points(coords), predicate="dwithin", distance=tol_deg)
    a, b = owner[vowner[vi]], owner[li]
    n = len(geoms)
    m = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    n_comp, labels = connected_components(m, directed=False)
    return int(n_comp), int(np.bincount(labels).max())


def _assemble(gdf: gpd.GeoDataFrame, layer: str, schema: LayerSchema, attrs: pd.DataFrame,
              values: dict[str, list[Any]], geoms: list[Any], raw: pd.DataFrame,
              col: _Collector, guess: CRSGuess | None, encoding: str | None,
              ) -> ValidationResult:
    n = len(gdf)
    rejected_pos = np.array(sorted(col.rejects), dtype=int)
    keep = np.ones(n, dtype=bool)
    keep[rejected_pos] = False
    accepted_pos = np.flatnonzero(keep)
    index = gdf.index

    data: dict[str, Any] = {}
    for spec in schema.fields:
        series = pd.Series([values[spec.name][p] for p in accepted_pos], dtype=object)
        if spec.kind == "int":
            series = series.astype("Int64") if series.isna().any() else series.astype("int64")
        elif spec.kind == "float":
            series = series.astype("float64")
        elif spec.kind == "bool":
            series = series.astype("boolean") if series.isna().any() else series.astype(bool)
        data[spec.name] = series.to_numpy()
    schema_names = {f.name for f in schema.fields}
    for c in attrs.columns:
        if c in schema_names or c in data:
            continue
        extra = attrs[c]
        if isinstance(extra, pd.DataFrame):
            extra = extra.iloc[:, 0]
        vals = extra.to_numpy(dtype=object)[accepted_pos]
        data[str(c)] = [unicodedata.normalize("NFC", v).strip() if isinstance(v, str) else v
                        for v in vals]
    accepted = gpd.GeoDataFrame(data, geometry=[geoms[p] for p in accepted_pos],
                                crs=f"EPSG:{WGS84_EPSG}", index=index[accepted_pos])
    for c in accepted.columns:  # leave object columns of extras to pandas' inference
        if c not in schema_names and c != "geometry" and accepted[c].dtype == object:
            accepted[c] = accepted[c].infer_objects()

    rejected = _raw_rows(raw, rejected_pos, index[rejected_pos])
    problems: list[str] = []
    fields_col, reasons_col = [], []
    for p in rejected_pos:
        items = col.rejects[int(p)]
        fields_col.append(";".join(dict.fromkeys(f for f, _ in items)))
        reasons_col.append("; ".join(f"{f}: {m}" for f, m in items))
        problems.extend(col.line(int(p), f, m) for f, m in items)
    rejected["reject_field"] = pd.Series(fields_col, index=rejected.index, dtype=object)
    rejected["reject_reason"] = pd.Series(reasons_col, index=rejected.index, dtype=object)

    warnings = list(col.warnings)
    warnings.extend(col.line(p, f, m) for p, f, m in col.row_warnings if p not in col.rejects)
    result = ValidationResult(layer=layer, source=col.source, accepted=accepted,
                              rejected=rejected, warnings=warnings, problems=problems,
                              rows_in=n, crs_guess=guess, encoding=encoding, _raw=raw,
                              _accepted_pos=accepted_pos)
    result.check_invariant()
    logger.info("validated %s %s: %d rows, %d accepted, %d rejected, %d warnings", layer,
                col.source, n, len(accepted), len(rejected), len(warnings))
    return result


# -- cross-layer checks ---------------------------------------------------------------------

def move_to_rejected(result: ValidationResult, mask: np.ndarray, field: str,
                     reasons: Sequence[str]) -> None:
    """Move accepted rows (boolean mask over ``accepted``) to ``rejected`` with their reasons
    (checks that need more than one layer or more than one chunk of a file)."""
    if not mask.any():
        return
    pos = result._accepted_pos[mask]
    moved = _raw_rows(result._raw, pos, result.accepted.index[mask])
    moved["reject_field"] = field
    moved["reject_reason"] = [f"{field}: {r}" for r in reasons]
    result.problems.extend(f"{result.source}:{row}:{field}: {r}"
                           for row, r in zip(moved["source_row"], reasons, strict=True))
    result.rejected = pd.concat([result.rejected, moved]) if len(result.rejected) else moved
    result.accepted = result.accepted[~mask]
    result._accepted_pos = result._accepted_pos[~mask]
    result.check_invariant()


def cross_validate(results: Mapping[str, ValidationResult]) -> None:
    """Checks between layers, moving offending rows to the rejected ones (in place).

    * ``bts.tower_id`` must exist in ``towers`` (when the towers layer is given);
    * ``villages.commune_code`` must be a commune ``code`` of ``admin_units`` (when that layer
      has communes; otherwise a warning says the codes were not checked);
    * ``admin_units.parent_code`` should exist (warning only).
    """
    towers, bts = results.get("towers"), results.get("bts")
    if bts is not None and towers is not None and len(bts.accepted):
        known = set(towers.accepted["tower_id"])
        ids = bts.accepted["tower_id"].to_numpy(dtype=object)
        mask = np.array([t not in known for t in ids], dtype=bool)
        move_to_rejected(bts, mask, "tower_id", [
            f"tower_id {t!r} is not in the towers layer; add the tower or fix the id"
            for t in ids[mask]])
    admin, villages = results.get("admin_units"), results.get("villages")
    if villages is not None and admin is not None and len(villages.accepted):
        a = admin.accepted
        communes = set(a.loc[a["level"] == "commune", "code"])
        if communes:
            codes = villages.accepted["commune_code"].to_numpy(dtype=object)
            mask = np.array([c not in communes for c in codes], dtype=bool)
            move_to_rejected(villages, mask, "commune_code", [
                f"commune_code {c!r} is not a commune of admin_units" for c in codes[mask]])
        else:
            villages.warnings.append(f"{villages.source}: admin_units has no communes; "
                                     "commune codes were not checked")
    if admin is not None and len(admin.accepted):
        a = admin.accepted
        codes = set(a["code"])
        orphans = a[(a["level"] != "province") & a["parent_code"].notna()
                    & ~a["parent_code"].isin(codes)]
        if len(orphans):
            admin.warnings.append(f"{admin.source}: {len(orphans)} units name a parent_code that "
                                  f"is not in the layer (e.g. {orphans['parent_code'].iloc[0]!r})")


def bounds_from_admin(admin: gpd.GeoDataFrame | None, *, margin_deg: float = 0.05,
                      ) -> tuple[float, float, float, float] | None:
    """Lon/lat box of the admin units (province polygon first) with a margin.

    ``None`` when there are none, they have no CRS, or the box is not in Vietnam.
    """
    if admin is None or not len(admin) or admin.crs is None:
        return None
    gdf = admin
    if "level" in admin.columns:
        prov = admin[admin["level"].astype(str).str.lower().isin(["province", "tỉnh", "tinh"])]
        gdf = prov if len(prov) else admin
    geoms = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if not len(geoms):
        return None
    try:
        b = geoms.to_crs(WGS84_EPSG).total_bounds
    except Exception:  # an admin layer in a CRS PROJ cannot use: fall back to other boxes
        return None
    box = (b[0] - margin_deg, b[1] - margin_deg, b[2] + margin_deg, b[3] + margin_deg)
    v = VIETNAM_BOUNDS
    if not (np.isfinite(b).all() and v[0] <= b[0] and b[2] <= v[2] and v[1] <= b[1]
            and b[3] <= v[3]):
        return None
    return box


def _bundle_bounds(bundle: Any) -> tuple[float, float, float, float] | None:
    box = bounds_from_admin(bundle.layers.get("admin_units"))
    if box is not None:
        return box
    for key in ("preset", "province"):
        name = bundle.meta.get(key) or ""
        try:
            return province_bounds(name) if name else None
        except CRSMismatchError:
            continue
    return None


def validate_bundle(bundle: Any, *, bounds: tuple[float, float, float, float] | None = None,
                    ) -> dict[str, ValidationResult]:
    """Validate every layer of a :class:`~layers.bundle.ProvinceBundle` and across layers.

    ``bounds`` defaults to the extent of the ``admin_units`` province (0.05° margin), else
    the box of the province named in ``meta`` (:data:`gis.crs.PROVINCE_BOUNDS`), else Vietnam.
    """
    box = bounds if bounds is not None else _bundle_bounds(bundle)
    src = str(bundle.folder) if bundle.folder is not None else "<bundle>"
    results = {name: validate_layer(gdf, name, source=f"{src}:{name}", bounds=box)
               for name, gdf in bundle.layers.items() if name in LAYERS}
    cross_validate(results)
    return results


# -- rejects --------------------------------------------------------------------------------

def write_rejects(result: ValidationResult, folder: str | os.PathLike, *,
                  overwrite: bool = False) -> Path:
    """Write ``rejects_<layer>.csv`` (UTF-8 with BOM, cells neutralised) into ``folder``.

    Callers write it only for layers with rejected rows (``phusong validate`` and every
    command remove an earlier run's file of a layer now clean). Returns the path.
    """
    from phusong.gis.atomic import atomic_path
    from phusong.layers._rejects import write_rejects_csv

    path = Path(folder) / f"rejects_{result.layer}.csv"
    if result.rejects_spool is not None:  # a streamed validation: the file is ready
        import shutil

        with atomic_path(path, overwrite=overwrite) as tmp:
            shutil.copyfile(result.rejects_spool, tmp)
        return path
    return write_rejects_csv(result.rejected, path, overwrite=overwrite)


# -- DEM ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class DemCheck:
    """What :func:`validate_dem` found: size, resolution, CRS, void share, warnings."""

    path: Path
    width: int
    height: int
    res: tuple[float, float]
    crs: CRS | None
    void_share: float
    covered_share: float
    warnings: tuple[str, ...]


def validate_dem(path: str | os.PathLike, *,
                 province_bounds: tuple[float, float, float, float] | None = None,
                 max_void_share: float = 0.5, units: str = "auto",
                 max_elevation_m: float | None = None) -> DemCheck:
    """Check a DEM GeoTIFF before use: readable, georeferenced, covering, not mostly void.

    Parameters
    ----------
    path
        The raster.
    province_bounds
        Lon/lat box the DEM must cover (the province); not checked when ``None``.
    max_void_share
        More voids than this (NaN / nodata cells, undeclared markers such as −32768) is an
        error; fewer is a warning.
    units, max_elevation_m
        The elevation rule of every reader (:func:`gis.dem.clean_elevation`): feet are
        detected (declared, or values too high for metres) and reported, values that are no
        elevations are refused.

    Raises
    ------
    DEMError
        One line naming the file: empty, unreadable, no CRS, does not cover the province,
        or mostly voids.
    """
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.warp import transform_bounds

    p = Path(path)
    if not p.exists():
        raise DEMError(f"{p}: no such DEM file")
    if p.stat().st_size == 0:
        raise DEMError(f"{p}: empty file (0 bytes), not a DEM; re-export or re-download it")
    try:
        with rasterio.open(p) as ds:
            if ds.crs is None:
                raise DEMError(f"{p}: DEM has no CRS; assign one (e.g. gdal_edit.py -a_srs "
                               "EPSG:4326) and retry")
            # the void share of a large DEM is estimated on a decimated read (≤ 1000² cells)
            shape = (min(ds.height, 1000), min(ds.width, 1000))
            arr = ds.read(1, masked=True, out_shape=shape, out_dtype="float32")
            crs = CRS.from_user_input(ds.crs)
            bounds = ds.bounds
            width, height, res = ds.width, ds.height, ds.res
            declared = (ds.units or (None,))[0] or ds.tags(1).get("UNITTYPE")
    except DEMError:
        raise
    except (RasterioError, OSError, ValueError) as exc:
        raise DEMError(f"{p}: cannot be read as a raster ({str(exc).splitlines()[0]}); "
                       "give a GeoTIFF or .hgt DEM") from None
    from phusong.gis.dem import VIETNAM_MAX_ELEVATION_M, clean_elevation, void_mask

    data = np.ma.filled(arr, np.nan)
    void = void_mask(data)
    void_share = float(void.mean()) if void.size else 1.0
    warnings: list[str] = []
    if void_share < 1.0:
        _, elev = clean_elevation(data, source=str(p), units=units, declared_units=declared,
                                  max_elevation_m=max_elevation_m or VIETNAM_MAX_ELEVATION_M,
                                  max_fill_px=None)
        warnings.extend(elev.warnings)
    covered = 1.0
    if province_bounds is not None:
        lon0, lat0, lon1, lat1 = transform_bounds(crs, "EPSG:4326", *bounds)
        b = province_bounds
        ix = max(0.0, min(lon1, b[2]) - max(lon0, b[0]))
        iy = max(0.0, min(lat1, b[3]) - max(lat0, b[1]))
        covered = (ix * iy) / ((b[2] - b[0]) * (b[3] - b[1]))
        if covered <= 0:
            raise DEMError(f"{p}: DEM covers lon {lon0:.3f}–{lon1:.3f}, lat {lat0:.3f}–{lat1:.3f}"
                           f", outside the province (lon {b[0]}–{b[2]}, lat {b[1]}–{b[3]}); "
                           "use a DEM of this province")
        if covered < 0.99:
            warnings.append(f"{p}: DEM covers only {covered:.0%} of the province's box; "
                            "terrain outside it is treated as unknown")
    if void_share > max_void_share:
        raise DEMError(f"{p}: {void_share:.0%} of the DEM cells are voids (nodata); fill them "
                       "or use another DEM")
    if void_share > 0:
        warnings.append(f"{p}: {void_share:.1%} of the DEM cells are voids (nodata); they are "
                        "filled or treated as unknown terrain")
    return DemCheck(path=p, width=width, height=height, res=(abs(res[0]), abs(res[1])), crs=crs,
                    void_share=void_share, covered_share=covered, warnings=tuple(warnings))


def parse_tech(value: object) -> str:
    """Technology ``"2G"``–``"5G"`` of a name or alias (GSM, WCDMA, LTE, NR, ...).

    Raises
    ------
    SchemaError
        When the value is not a known technology.
    """
    key = _fold(str(value))
    tech = _CHOICE_ALIASES["tech"].get(key)
    if tech is None:
        raise SchemaError(f"unknown technology {value!r}; use 2G, 3G, 4G or 5G (GSM, WCDMA, "
                          "LTE, NR are accepted)")
    return tech
