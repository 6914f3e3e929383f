"""Tables as people keep them: header names in Vietnamese or English, Excel workbooks.

:func:`canonical_columns` maps input headers onto layer fields: the schema's names and
labels (the tool's own output headers, so an edited export goes back in), the aliases of real
lists (:data:`HEADER_ALIASES`) and a user's column mapping. :func:`xlsx_tables` reads the
sheets of a workbook that hold a table of a layer, with the header row found below title rows
and merged header cells filled.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phusong.gis.errors import InputError
from phusong.layers.schema import LAYERS

logger = logging.getLogger(__name__)

__all__ = ["HEADER_ALIASES", "RADIO_FIELDS", "Table", "canonical_columns", "header_key",
           "layer_aliases",
           "xlsx_tables"]


def _nfc(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


#: BTS radio fields accepted by name (their checks belong to the schema of the BTS layer)
RADIO_FIELDS = ("tx_power_w", "bandwidth_mhz", "antenna_gain_dbi", "feeder_loss_db",
                "azimuth_deg", "mech_tilt_deg", "elec_tilt_deg", "antenna_height_m",
                "pattern")

#: headers of real lists (keys compared without diacritics, case or units) → field, per layer;
#: ``lon``/``lat`` are coordinates
HEADER_ALIASES: Mapping[str, Mapping[str, str]] = {
    "*": {"kinh do": "lon", "vi do": "lat", "kinh do (x)": "lon", "vi do (y)": "lat",
          "longitude": "lon", "latitude": "lat", "lon": "lon", "lat": "lat", "lng": "lon",
          "long": "lon", "x lon": "lon", "y lat": "lat", "toa do x": "x", "toa do y": "y",
          "ten": "name", "ghi chu": "note"},
    "towers": {"ma cot": "tower_id", "ma vi tri": "tower_id", "ma vi tri cot": "tower_id",
               "ma nha tram": "tower_id", "ma tram": "tower_id", "ma site": "tower_id",
               "site id": "tower_id", "tower id": "tower_id", "do cao cot": "height_m",
               "chieu cao cot": "height_m", "chieu cao": "height_m", "height": "height_m",
               "chu so huu": "owner", "chu cot": "owner", "don vi so huu": "owner",
               "nha mang": "owner", "doanh nghiep": "owner", "owner": "owner",
               "nguon dien": "power_source", "nguon cap dien": "power_source",
               "ten tram": "name", "ten cot": "name"},
    "bts": {"ma tram": "bts_id", "ma thiet bi": "bts_id", "ma thiet bi tram": "bts_id",
            "ma bts": "bts_id", "cell id": "bts_id", "ma cell": "bts_id", "bts id": "bts_id",
            "ma cot": "tower_id", "ma vi tri": "tower_id", "ma vi tri cot": "tower_id",
            "ma nha tram": "tower_id", "ma site": "tower_id", "site id": "tower_id",
            "nha mang": "operator", "doanh nghiep": "operator", "nha khai thac": "operator",
            "cong nghe": "tech", "technology": "tech", "bang tan": "band_mhz",
            "tan so": "band_mhz", "band": "band_mhz", "do cao anten": "antenna_height_m",
            "chieu cao anten": "antenna_height_m", "do cao ang ten": "antenna_height_m",
            "eirp": "eirp_dbm", "huong anten": "azimuth_deg", "goc phuong vi": "azimuth_deg",
            "azimuth": "azimuth_deg", "goc ngang": "mech_tilt_deg",
            "goc ngang co": "mech_tilt_deg", "goc nghieng co": "mech_tilt_deg",
            "goc nghieng": "mech_tilt_deg", "tilt": "mech_tilt_deg",
            "goc nghieng dien": "elec_tilt_deg", "goc ngang dien": "elec_tilt_deg",
            "cong suat phat": "tx_power_w", "cong suat": "tx_power_w",
            "bang thong": "bandwidth_mhz", "do loi anten": "antenna_gain_dbi",
            "do loi": "antenna_gain_dbi", "suy hao feeder": "feeder_loss_db",
            "suy hao cap": "feeder_loss_db", "mau anten": "pattern", "bup song": "pattern",
            "ten tram": "name", "do cao cot": "tower_height_m", "nguon dien": "power_source"},
    "villages": {"ma thon": "village_id", "ma thon ban": "village_id",
                 "ten thon": "name", "ten thon ban": "name", "thon ban": "name",
                 "thon": "name", "ma xa": "commune_code", "ten xa": "commune_name",
                 "xa": "commune_name", "xa phuong": "commune_name", "dan so": "population",
                 "so dan": "population", "so nhan khau": "population", "so ho": "households",
                 "co dien luoi": "has_grid_power", "dien luoi": "has_grid_power",
                 "bien gioi": "border_area", "khu vuc bien gioi": "border_area",
                 "dbkk": "extremely_difficult", "dac biet kho khan": "extremely_difficult"},
    "post_offices": {"ma diem": "po_id", "ma diem phuc vu": "po_id", "ma buu cuc": "po_id",
                     "ten diem": "name", "ten diem phuc vu": "name", "ten buu cuc": "name",
                     "loai": "kind", "loai diem": "kind", "doanh nghiep": "operator",
                     "doanh nghiep buu chinh": "operator", "internet": "has_public_internet",
                     "co internet cong cong": "has_public_internet",
                     "da dich vu": "multi_service"},
    "fibre_routes": {"ma tuyen": "route_id", "ma tuyen cap": "route_id",
                     "doanh nghiep": "operator", "loai": "kind", "loai cap": "kind"},
}


def header_key(text: object) -> str:
    """Header key: ASCII, lower-case, single-spaced, without bracketed units."""
    s = unicodedata.normalize("NFD", _nfc(text).lstrip("\ufeff")).replace("đ", "d").replace(
        "Đ", "D")
    s = s.encode("ascii", "ignore").decode().lower()
    s = re.sub(r"\([^)]*\)|\[[^]]*\]", " ", s)
    s = re.sub(r"[^a-z0-9]+", " ", s)
    return " ".join(s.split())


def layer_aliases(layer: str) -> dict[str, str]:
    """Header key → field for ``layer``: the schema's names and labels, then real lists'."""
    out: dict[str, str] = {}
    for spec in LAYERS[layer].fields:
        for text in (spec.name, spec.label_vi, spec.label_en):
            if text:
                out.setdefault(header_key(text), spec.name)
    if layer == "bts":
        for f in RADIO_FIELDS:
            out.setdefault(header_key(f), f)
    names = {f.name for f in LAYERS[layer].fields}
    if layer == "bts" and "azimuth_deg" not in names and "azimuths" in names:
        out = {k: ("azimuths" if v == "azimuth_deg" else v) for k, v in out.items()}
    for src in (HEADER_ALIASES.get(layer, {}), HEADER_ALIASES["*"]):
        for k, v in src.items():
            out.setdefault(header_key(k), v)
    return out


def canonical_columns(columns: Sequence[object], layer: str,
                      mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """Input column → field name for the columns this tool knows (first match wins).

    ``mapping`` (field → input column) takes precedence; a mapped column that is not in the
    input is an :class:`~gis.errors.InputError`.
    """
    cols = [str(c) for c in columns]
    out: dict[str, str] = {}
    taken: set[str] = set()
    for field, col in (mapping or {}).items():
        if col not in cols:
            raise InputError(f"column mapping: {field} = {col!r}, but there is no column "
                             f"{col!r} (columns: {', '.join(cols)})")
        out[col] = field
        taken.add(field)
    aliases = layer_aliases(layer)
    for c in cols:
        if c in out:
            continue
        field = aliases.get(header_key(c))
        if field and field not in taken:
            out[c] = field
            taken.add(field)
    return out


class Table:
    """One table read from a file (or one sheet of a workbook).

    Attributes
    ----------
    label
        ``file`` or ``file:sheet``; starts every message.
    frame
        Cells as read (a GeoDataFrame when the file has geometry).
    rows
        Row number of every row as the user sees it (CSV/XLSX: header row included).
    pre
        Problems the reader found per row position (field, message).
    warnings
        Notes on what was assumed.
    """

    def __init__(self, label: str, frame: pd.DataFrame, rows: Sequence[int],
                 pre: Mapping[int, tuple[str, str]] | None = None,
                 warnings: Sequence[str] = ()) -> None:
        self.label = label
        self.frame = frame
        self.rows = np.asarray(rows, dtype=int)
        self.pre = dict(pre or {})
        self.warnings = list(warnings)


def xlsx_tables(p: Path, layer: str, *, sheet: str | None,
                 mapping: Mapping[str, str] | None) -> list[Table]:
    import zipfile

    import openpyxl

    try:
        wb = openpyxl.load_workbook(p, read_only=False, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{p}: cannot be read as an Excel workbook (.xlsx): {exc}") from None
    names = list(wb.sheetnames)
    if sheet is not None:
        if sheet not in names:
            raise InputError(f"{p}: has no sheet {sheet!r} (sheets: {', '.join(names)}); "
                             "pass --sheet with one of these names")
        chosen = [sheet]
    else:
        chosen = names
    tables, skipped = [], []
    for name in chosen:
        ws = wb[name]
        grid = [list(r) for r in ws.iter_rows(values_only=True)]
        for rng in ws.merged_cells.ranges:  # merged cells: every cell carries the value
            value = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    if r - 1 < len(grid) and c - 1 < len(grid[r - 1]):
                        grid[r - 1][c - 1] = value
        head = _header_row(grid, layer, mapping)
        if head is None:
            skipped.append(name)
            continue
        header = [_nfc(v) for v in grid[head]]
        # a merged group label above (e.g. "Tọa độ" over "Kinh độ", "Vĩ độ") is ignored;
        # a header cell left empty under it takes the group's name
        if head > 0:
            for j, h in enumerate(header):
                if not h and j < len(grid[head - 1]) and grid[head - 1][j] is not None:
                    header[j] = _nfc(grid[head - 1][j])
        keep = [j for j, h in enumerate(header) if h]
        seen: dict[str, int] = {}
        cols = []
        for j in keep:
            h = header[j]
            seen[h] = seen.get(h, 0) + 1
            cols.append(h if seen[h] == 1 else f"{h} ({seen[h]})")
        records, rows = [], []
        for i in range(head + 1, len(grid)):
            rec = [grid[i][j] if j < len(grid[i]) else None for j in keep]
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in rec):
                continue
            records.append(rec)
            rows.append(i + 1)
        frame = pd.DataFrame(records, columns=cols, dtype=object)
        label = f"{p}:{name}" if len(names) > 1 else str(p)
        warns = [f"{label}: header in row {head + 1}; rows above it skipped"] if head else []
        tables.append(Table(label, frame, rows, warnings=warns))
    if not tables:
        what = f"sheet {sheet!r}" if sheet else "no sheet"
        raise InputError(f"{p}: {what} holds a table of {layer} (no header row with its "
                         f"columns in the first 20 rows; sheets: {', '.join(names)}); pass "
                         "--sheet or map the columns with --columns")
    if skipped and sheet is None:
        tables[0].warnings.append(f"{p}: sheets without a table of {layer} skipped: "
                                  f"{', '.join(skipped)}")
    return tables


def _header_row(grid: list[list[Any]], layer: str, mapping: Mapping[str, str] | None
                ) -> int | None:
    """The row (0-based, within the first 20) whose cells name the most known fields."""
    aliases = layer_aliases(layer)
    mapped = set((mapping or {}).values())
    # a table of the layer names its id (villages and post offices: or their name)
    ids = {LAYERS[layer].id_field} | ({"name"} if layer in ("villages", "post_offices")
                                      else set())
    ids |= {f for f, c in (mapping or {}).items() if f in ids}
    best, best_n = None, 0
    for i, row in enumerate(grid[:20]):
        cells = [_nfc(v) for v in row if v is not None and str(v).strip()]
        fields = {aliases.get(header_key(c)) for c in cells} | {c for c in cells if c in mapped}
        fields.discard(None)
        n = len(fields)
        if n > best_n and (fields & ids or (ids & set(mapping or {}) and mapped & set(cells))):
            best, best_n = i, n
    return best if best_n >= 2 else None


