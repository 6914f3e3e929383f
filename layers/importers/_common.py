"""Plumbing shared by the importers: results, name keys, defaults, validation, merging."""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import pandas as pd

from phusong.gis.errors import InputError
from phusong.layers.bundle import EXCHANGE_CRS, ProvinceBundle, empty_layer
from phusong.layers.schema import LAYERS
from phusong.layers.settings import RADIO_DEFAULTS, default_eirp_dbm

logger = logging.getLogger(__name__)

#: Band assumed for a BTS whose band is not known, per technology (MHz): the bands most
#: used in Vietnam's mountain provinces (GSM 900, UMTS 2100, LTE 1800, NR 3500 — Viettel's
#: 5G also runs at 2600); from the one radio table, :data:`layers.settings.RADIO_DEFAULTS`.
DEFAULT_BAND_MHZ: Mapping[str, float] = MappingProxyType(
    {t: float(r["band_mhz"]) for t, r in RADIO_DEFAULTS.items()})
#: Total EIRP of a BTS with the table's defaults (dBm): ``10 log10(tx_power_w · 1000) +
#: antenna_gain_dbi − feeder_loss_db`` of :data:`layers.settings.RADIO_DEFAULTS`. Importers
#: leave the radio fields of a BTS empty when the source has none: coverage then takes the
#: table's values per field and says how many BTS did.
DEFAULT_EIRP_DBM: Mapping[str, float] = MappingProxyType(
    {t: default_eirp_dbm(t) for t in RADIO_DEFAULTS})
#: Height of a tower whose height is not known (m); antennas are mounted at it.
DEFAULT_TOWER_HEIGHT_M = 30.0
#: Average household size used to estimate households from population (GSO 2019
#: census, northern midlands and mountains: ~4.5 people per household in ethnic-minority
#: villages; the national figure is 3.5).
AVG_HOUSEHOLD_SIZE = 4.5
#: commune code given to villages when the bundle has no commune polygons
UNKNOWN_COMMUNE = "unknown"


@dataclasses.dataclass
class ImportResult:
    """The outcome of importing one layer from one source.

    Attributes
    ----------
    layer
        Name of the bundle layer (:data:`layers.schema.LAYERS`).
    accepted
        Rows that fit the schema, in EPSG:4326 with the schema's columns.
    rejected
        Input rows that did not, with a ``reason`` column (and ``source``, ``row`` where
        known). ``n_in == len(accepted) + len(rejected)`` for row-based sources.
    n_in
        Rows (features, cells, lines) read from the source.
    warnings
        Human-readable notes on defaults taken and data fixed.
    source
        The file or query the rows came from.
    stats
        Importer-specific counts (e.g. villages filled by the population importer).
    """

    layer: str
    accepted: gpd.GeoDataFrame
    rejected: pd.DataFrame
    n_in: int
    warnings: list[str] = dataclasses.field(default_factory=list)
    source: str = ""
    stats: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def n_accepted(self) -> int:
        return len(self.accepted)

    @property
    def n_rejected(self) -> int:
        return len(self.rejected)

    def summary(self) -> dict[str, Any]:
        """One row for a summary table."""
        return {"layer": self.layer, "source": self.source, "in": self.n_in,
                "accepted": self.n_accepted, "rejected": self.n_rejected,
                "warnings": len(self.warnings)}


# -- text -----------------------------------------------------------------------------------
def nfc(value: object) -> str:
    """Text as stripped NFC Unicode ('' for None/NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


_PREFIXES = re.compile(r"^(tinh|thanh pho|tp\.?|huyen|quan|thi xa|xa|phuong|thi tran)\s+")


def name_key(value: object, *, strip_prefix: bool = True) -> str:
    """A key to compare Vietnamese names with or without diacritics and spaces.

    ``"Tỉnh Lai Châu"``, ``"Lai Chau"``, ``"LaiChâu"`` and ``"lai-chau"`` share the key
    ``"laichau"``. ``đ`` becomes ``d``.
    """
    s = unicodedata.normalize("NFD", nfc(value)).replace("đ", "d").replace("Đ", "D")
    s = s.encode("ascii", "ignore").decode().lower().replace("-", " ").replace("_", " ")
    s = " ".join(s.split())
    if strip_prefix:
        s = _PREFIXES.sub("", s)
    return re.sub(r"[^a-z0-9]", "", s)


# -- rows -----------------------------------------------------------------------------------
#: columns every rejected row carries (as in :func:`layers.validate.validate_layer`)
REJECT_COLUMNS = ("source_row", "reject_field", "reject_reason")


def reject_rows(rows: pd.DataFrame, *, field: str | pd.Series,
                reason: str | list[str] | pd.Series,
                source_row: Any = None) -> pd.DataFrame:
    """Rows an importer rejects before validation (e.g. malformed CSV lines), in the shape
    of :attr:`layers.validate.ValidationResult.rejected`: original values (geometry as
    WKT), ``source_row``, ``reject_field`` and ``reject_reason`` (``"field: message"``)."""
    df = pd.DataFrame(rows).copy()
    if "geometry" in df:
        df["geometry"] = [None if g is None else getattr(g, "wkt", g) for g in df["geometry"]]
        df = pd.DataFrame(df)
    if source_row is not None:
        df["source_row"] = source_row
    elif "source_row" not in df:
        df["source_row"] = pd.NA
    df["reject_field"] = field
    f = pd.Series(field, index=df.index) if isinstance(field, str) else field
    r = pd.Series(reason, index=df.index) if isinstance(reason, str | list) else reason
    df["reject_reason"] = (f.astype(str) + ": " + r.astype(str)) if len(df) else []
    return df


def concat_rejects(frames: Iterable[pd.DataFrame | None]) -> pd.DataFrame:
    """Rejected rows of several steps, reason columns first."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in REJECT_COLUMNS})
    out = pd.concat([pd.DataFrame(f).astype(object) for f in frames], ignore_index=True)
    first = [c for c in REJECT_COLUMNS if c in out]
    return out[first + [c for c in out.columns if c not in first]]


def to_layer(layer: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep the schema's columns (plus geometry) of ``gdf``, in EPSG:4326, in schema order."""
    cols = [f.name for f in LAYERS[layer].fields if f.name in gdf.columns]
    out = gpd.GeoDataFrame(gdf[cols].copy(), geometry=gdf.geometry.values, crs=gdf.crs,
                           index=gdf.index)
    if out.crs is not None and not out.crs.equals(EXCHANGE_CRS):
        out = out.to_crs(EXCHANGE_CRS)
    return out


def finish(layer: str, rows: gpd.GeoDataFrame, *, source: str,
           pre_rejects: Mapping[int, tuple[str, str]] | None = None,
           source_rows: Any = None, extra_rejects: Iterable[pd.DataFrame] = (),
           n_extra: int = 0, warnings: Iterable[str] = (),
           bounds: tuple[float, float, float, float] | None = None) -> ImportResult:
    """Validate the rows against the layer schema and assemble the result.

    Every row goes through :func:`layers.validate.validate_layer`; problems the importer
    found itself are passed as ``pre_rejects`` (row position → (field, message)), so that
    rows in = rows accepted + rows rejected. ``extra_rejects`` are input rows that never
    became layer rows (``n_extra`` of them), such as malformed CSV lines.
    """
    from phusong.layers.validate import validate_layer

    if rows is None or len(rows) == 0:
        rows = empty_layer(layer)
    rows = rows.reset_index(drop=True)
    result = validate_layer(rows, layer, source=source, bounds=bounds,
                            source_rows=source_rows, pre_rejects=dict(pre_rejects or {}))
    accepted = to_layer(layer, result.accepted)
    extra = list(extra_rejects)
    out = ImportResult(layer=layer, accepted=accepted,
                       rejected=concat_rejects([*extra, result.rejected]),
                       n_in=result.rows_in + n_extra,
                       warnings=[*warnings, *result.warnings], source=source)
    logger.info("imported %s from %s: %d in, %d accepted, %d rejected", layer, source,
                out.n_in, out.n_accepted, out.n_rejected)
    return out


def reject_outside(result: ImportResult, area: Any, *, what: str = "the province"
                   ) -> ImportResult:
    """Move accepted rows whose (representative) point lies outside the lon/lat polygon
    ``area`` to the rejected rows, reason ``geometry: outside the province``."""
    import shapely

    acc = result.accepted
    if area is None or not len(acc):
        return result
    pts = acc.to_crs(EXCHANGE_CRS).geometry.representative_point()
    inside = shapely.contains_xy(area, pts.x.to_numpy(), pts.y.to_numpy()) | pts.within(
        area).to_numpy()
    if inside.all():
        return result
    rej = reject_rows(acc[~inside], field="geometry", reason=f"outside {what}")
    return dataclasses.replace(result, accepted=acc[inside],
                               rejected=concat_rejects([result.rejected, rej]))


# -- bundles --------------------------------------------------------------------------------
def merge_layer(bundle: ProvinceBundle, result: ImportResult, *, mode: str = "append"
                ) -> ImportResult:
    """Put the accepted rows into ``bundle`` (in place): append to the layer or replace it.

    On append, rows whose id already exists in the bundle are moved to the rejects (the
    reason says to use ``mode="replace"``). Returns the (possibly updated) result.
    """
    if mode not in ("append", "replace"):
        raise InputError(f"mode={mode!r}: use 'append' or 'replace'")
    name = result.layer
    new = result.accepted
    before = len(bundle.layers[name]) if bundle.has(name) else 0
    if mode == "replace" or not bundle.has(name):
        bundle.layers[name] = new.reset_index(drop=True)
        result.stats["change"] = (f"{name}: {before} → {len(new)} rows (layer replaced)"
                                  if before else f"{name}: {len(new)} rows (new layer)")
        return result
    old = bundle.layers[name]
    id_field = LAYERS[name].id_field
    if id_field is not None and id_field in old and len(new):
        dup = new[id_field].astype(str).isin(set(old[id_field].astype(str)))
        if dup.any():
            rej = reject_rows(new[dup], field=id_field, reason="already in the bundle; "
                              "import with --mode replace to replace the layer")
            result = dataclasses.replace(result, accepted=new[~dup],
                                         rejected=concat_rejects([result.rejected, rej]))
            new = result.accepted
    bundle.layers[name] = gpd.GeoDataFrame(pd.concat([old, new.to_crs(old.crs)],
                                                     ignore_index=True), crs=old.crs)
    result.stats["change"] = (f"{name}: {before} → {len(bundle.layers[name])} rows "
                              f"({len(new)} added)")
    return result


def write_rejects(result: ImportResult, folder: str | Path, *, overwrite: bool = False
                  ) -> Path | None:
    """Write ``result.rejected`` as ``rejects_<layer>_<source>.csv`` (UTF-8 with BOM, cells
    neutralised) into ``folder``; ``None`` when nothing was rejected."""
    if not result.n_rejected:
        return None
    from phusong.layers._rejects import write_rejects_csv

    name = Path(result.source.split(",")[0].strip()).name.split(".")[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", name) or "input"
    return write_rejects_csv(result.rejected, Path(folder) / f"rejects_{result.layer}_{stem}.csv",
                             overwrite=overwrite)


# -- column mappings ------------------------------------------------------------------------
def read_column_map(path: str | Path) -> dict[str, str]:
    """A column mapping file: which column of an input holds which field.

    Accepted shapes (UTF-8, with or without BOM): a JSON object ``{"field": "column"}``;
    or one pair per line, ``field = column`` or ``field: column`` (``#`` starts a comment);
    or a two-column CSV with a ``field,column`` header. Column names keep their case and
    diacritics (``tower_id = Mã vị trí``).

    Raises
    ------
    InputError
        The file is missing, empty or a line is not a pair (one line naming file and line).
    """
    import json

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such column mapping file")
    text = p.read_bytes().decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise InputError(f"{p}: empty column mapping file")
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{p}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise InputError(f"{p}: a JSON mapping must be an object of field → column name")
        return {nfc(k): nfc(v) for k, v in data.items()}
    out: dict[str, str] = {}
    lines = text.splitlines()
    first = [c.strip().lower() for c in lines[0].split(",")] if lines else []
    csv_like = first == ["field", "column"]
    for n, line in enumerate(lines, start=1):
        body = line.split("#", 1)[0].strip()
        if not body or (csv_like and n == 1):
            continue
        m = re.match(r"^([^=:,]+?)\s*[=:,]\s*(.+)$", body)
        if not m:
            raise InputError(f"{p}:{n}: {line.strip()!r} is not a 'field = column' pair")
        field, column = nfc(m.group(1)), nfc(m.group(2).strip().strip('"').strip("'"))
        if field in out:
            raise InputError(f"{p}:{n}: field {field!r} is mapped twice")
        out[field] = column
    if not out:
        raise InputError(f"{p}: no 'field = column' pairs")
    return out
