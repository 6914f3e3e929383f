"""The province's and the operators' own lists → ``towers``, ``bts``, ``villages``,
``post_offices`` and ``fibre_routes``.

Files
-----
CSV/TXT (any encoding, ``,`` ``;`` or tab, decimal comma), Excel ``.xlsx`` (every sheet that
holds a table of the layer, or ``sheet=``; title rows above the header and merged header
cells are handled), GeoPackage, Shapefile (with or without ``.prj``), GeoJSON, KML and KMZ.

Headers
-------
Matched in Vietnamese and English, with or without diacritics, case, spaces or units in
brackets: the schema's own labels (the tool's output headers — ``Mã vị trí cột``, ``Độ cao
cột (m)``, ``Mã thôn``, ``Có điện lưới`` … — so a list edited in Excel goes back in), the
aliases of :mod:`layers.validate`, and the headers of operators' lists (:data:`HEADER_ALIASES`:
``Mã trạm``, ``Tên trạm``, ``Kinh độ``, ``Vĩ độ``, ``Nhà mạng``, ``Công nghệ``, ``Băng tần``,
``Độ cao anten``, ``Hướng anten``, ``Góc ngẩng`` …). Anything else goes through a column
mapping (``columns={"tower_id": "Số hiệu"}``, ``--columns FILE``). Choice values are read in
Vietnamese too (``Điện lưới``, ``Năng lượng mặt trời``, ``Máy phát``, ``Cáp ngầm``, ``Cáp
treo``, operator names and aliases) by the validator.

Coordinates
-----------
Longitude/latitude in decimal degrees or degrees-minutes-seconds
(:func:`layers.io.parse_degrees`), VN-2000 x/y metres, WKT, or the file's own geometry.
BTS rows without coordinates take their tower's position (``tower_id`` looked up in the
towers of the same import, then in the bundle); a BTS whose tower is found nowhere is
rejected with that reason. BTS rows with coordinates but no ``tower_id`` are grouped into
towers: BTS within ``colocate_m`` (default 20 m) of each other are one tower.

Defaults
--------
A BTS without band, EIRP or antenna height takes its technology's defaults
(:data:`~layers.importers._common.DEFAULT_BAND_MHZ`, ``DEFAULT_EIRP_DBM``) and its tower's
height; a tower without height or power source takes 30 m and ``grid`` — each with a warning
counting the rows. Village attributes that a list does not give stay unknown.

Rows in = accepted + rejected for every file; rejected rows keep their reason.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from phusong.gis.errors import InputError
from phusong.layers.importers._common import (
    DEFAULT_BAND_MHZ,
    DEFAULT_EIRP_DBM,
    DEFAULT_TOWER_HEIGHT_M,
    ImportResult,
    finish,
    nfc,
)
from phusong.layers.settings import DEFAULT
from phusong.layers.sheets import (
    HEADER_ALIASES,
    RADIO_FIELDS,
    Table,
    canonical_columns,
    header_key,
    xlsx_tables,
)

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_COLOCATE_M", "HEADER_ALIASES", "RADIO_FIELDS", "TABLE_LAYERS",
           "TABLE_SUFFIXES", "Table", "canonical_columns", "group_bts_into_towers",
           "prepare_table", "read_list", "read_tables"]

#: layers read by :func:`read_list` (CLI names ``towers bts villages post-offices fibre``)
TABLE_LAYERS = ("towers", "bts", "villages", "post_offices", "fibre_routes")
TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".gpkg", ".geojson", ".json", ".shp",
                  ".zip", ".kml", ".kmz")
#: BTS within this distance of each other (m) are one tower when the list gives no tower id
#: (the default of :attr:`layers.settings.Settings.colocate_m`)
DEFAULT_COLOCATE_M = DEFAULT.colocate_m
# -- reading files ----------------------------------------------------------------------------
def read_tables(path: str | os.PathLike, layer: str, *, sheet: str | None = None,
                mapping: Mapping[str, str] | None = None,
                encoding: str | None = None) -> list[Table]:
    """The tables of a file, as read (no header mapping or validation yet).

    Raises
    ------
    InputError
        Missing, empty or unreadable file; unknown format; a ``sheet`` that is not there;
        a workbook without a table of the layer.
    """
    from phusong.layers import io as lio

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a folder; give a file")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: empty file (0 bytes); re-export it")
    suffix = p.suffix.lower()
    if sheet is not None and suffix not in (".xlsx", ".xlsm"):
        raise InputError(f"{p}: --sheet applies to Excel workbooks only")
    if suffix in (".csv", ".txt"):
        df, rows, pre, enc, warns = lio.csv_table(p, encoding=encoding)
        if enc in ("cp1258", "tcvn3", "vni"):
            warns.insert(0, f"{p}: not UTF-8; text decoded as {enc}")
        return [Table(str(p), df, rows, pre, warns)]
    if suffix in (".xlsx", ".xlsm"):
        return xlsx_tables(p, layer, sheet=sheet, mapping=mapping)
    if suffix == ".xls":
        raise InputError(f"{p}: old Excel 97-2003 workbook; save it as .xlsx or CSV UTF-8")
    if suffix in (".shp", ".zip"):
        gdf, _enc, warns = lio.read_shapefile(p, encoding=encoding)
        return [Table(str(p), gdf, range(1, len(gdf) + 1), warnings=warns)]
    if suffix in (".kml", ".kmz"):
        gdf = lio.read_kmz(p) if suffix == ".kmz" else lio.read_kml(p)
        if len(gdf) == 0:
            raise InputError(f"{p}: {'KMZ' if suffix == '.kmz' else 'KML'} has no "
                             "placemarks")
        return [Table(str(p), gdf, range(1, len(gdf) + 1))]
    if suffix == ".gpkg":
        names = lio.vector_layers(p)
        chosen = layer if layer in names else (names[0] if len(names) == 1 else None)
        if chosen is None:
            raise InputError(f"{p}: has no layer {layer!r} (layers: {', '.join(names)})")
        gdf = lio.read_vector(p, layer=chosen)
        return [Table(str(p), gdf, range(1, len(gdf) + 1))]
    if suffix in (".geojson", ".json"):
        gdf = lio.read_vector(p)
        return [Table(str(p), gdf, range(1, len(gdf) + 1))]
    raise InputError(f"{p}: unknown format {suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}")


# -- rows to layer rows -----------------------------------------------------------------------
def _geometry(table: Table, cols: Mapping[str, str], *, crs: Any = None
              ) -> tuple[np.ndarray, Any, list[str]]:
    """Geometry of every row: the file's own, lon/lat (degrees or DMS), x/y, or None.

    Returns the geometries, their CRS (None: to be detected) and the input columns used."""
    from phusong.layers.io import parse_degrees
    from phusong.layers.validate import parse_number

    df = table.frame
    if isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df.columns:
        return np.asarray(df.geometry.values, dtype=object), df.crs, []
    by_field = {v: k for k, v in cols.items()}
    lon, lat = by_field.get("lon"), by_field.get("lat")
    parse = parse_degrees
    if lon is None or lat is None:
        lon, lat = by_field.get("x"), by_field.get("y")
        parse = parse_number
    n = len(df)
    geoms = np.full(n, None, dtype=object)
    if lon is None or lat is None:
        return geoms, crs, []
    for i, (xv, yv) in enumerate(zip(df[lon], df[lat], strict=True)):
        if i in table.pre:
            continue
        x, px = parse(xv)
        y, py = parse(yv)
        if px or py:
            table.pre[i] = ((lon, f"coordinate {px}") if px else (lat, f"coordinate {py}"))
        elif x is not None and y is not None:
            geoms[i] = shapely.Point(x, y)
        elif (x is None) != (y is None):
            table.pre[i] = (lon if x is None else lat, "half a coordinate; give both")
    return geoms, crs, [lon, lat]


def _fill_default(df: pd.DataFrame, field: str, values: Any, warnings: list[str],
                  what: str) -> None:
    missing = df[field].isna() | (df[field].astype(str).str.strip() == "") if field in df \
        else pd.Series(True, index=df.index)
    if missing.any():
        fill = pd.Series(values, index=df.index) if not np.isscalar(values) else values
        if field in df:
            df[field] = df[field].astype(object).where(~missing, fill)
        else:
            df[field] = fill
        warnings.append(f"{int(missing.sum())} rows without {field}: {what}")


def prepare_table(table: Table, layer: str, mapping: Mapping[str, str] | None,
                  crs: Any) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The table with canonical column names and geometry (not validated)."""
    cols = canonical_columns(table.frame.columns, layer, mapping)
    geoms, gcrs, used = _geometry(table, cols, crs=crs)
    gcol = getattr(table.frame, "_geometry_column_name", None) if isinstance(
        table.frame, gpd.GeoDataFrame) else None
    drop = [c for c in [gcol, *used] if c is not None and c in table.frame.columns]
    df = pd.DataFrame(table.frame.drop(columns=drop))
    df = df.rename(columns={k: v for k, v in cols.items() if k in df.columns})
    df = df.loc[:, ~df.columns.duplicated()]
    df = df.map(lambda v: nfc(v) if isinstance(v, str) else v)
    if cols:
        shown = {k: v for k, v in cols.items() if header_key(k) != header_key(v)}
        if shown:
            table.warnings.append(f"{table.label}: columns read as " + ", ".join(
                f"{k!r} → {v}" for k, v in list(shown.items())[:12]))
    gdf = gpd.GeoDataFrame(df.reset_index(drop=True), geometry=list(geoms), crs=gcrs)
    if crs is not None and gcrs is None:
        gdf = gdf.set_crs(crs)
    return gdf, used


def _missing_geometry(gdf: gpd.GeoDataFrame) -> np.ndarray:
    g = np.asarray(gdf.geometry.values, dtype=object)
    return np.array([v is None or v.is_empty for v in g], dtype=bool)


def group_bts_into_towers(points: gpd.GeoSeries, *, colocate_m: float = DEFAULT_COLOCATE_M,
                          metric_crs: Any = None) -> np.ndarray:
    """Group positions within ``colocate_m`` of each other (single linkage) into towers.

    Returns a group number per position (-1 where the position is missing).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    from phusong.gis.crs import tm3_crs_for_lon

    ok = np.array([g is not None and not g.is_empty for g in points.values], dtype=bool)
    out = np.full(len(points), -1, dtype=int)
    if not ok.any():
        return out
    pts = gpd.GeoSeries(points.values[ok], crs=points.crs or "EPSG:4326")
    if metric_crs is None:
        metric_crs = tm3_crs_for_lon(float(pts.to_crs("EPSG:4326").x.median()))
    m = pts.to_crs(metric_crs)
    xy = np.column_stack([m.x, m.y])
    pairs = cKDTree(xy).query_pairs(colocate_m, output_type="ndarray")
    n = len(xy)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) \
        if len(pairs) else coo_matrix((n, n))
    _, labels = connected_components(graph, directed=False)
    out[np.flatnonzero(ok)] = labels
    return out


def read_list(path: str | os.PathLike, layer: str, *, sheet: str | None = None,
              columns: Mapping[str, str] | None = None, encoding: str | None = None,
              crs: Any = None, bounds: Sequence[float] | None = None,
              towers: gpd.GeoDataFrame | None = None,
              colocate_m: float = DEFAULT_COLOCATE_M) -> dict[str, ImportResult]:
    """Read a list of ``layer`` rows from a file (see the module docstring).

    Parameters
    ----------
    path
        CSV/TXT, XLSX, GeoPackage, Shapefile, GeoJSON, KML or KMZ.
    layer
        One of :data:`TABLE_LAYERS` (villages with geometry; a village *name list* goes
        through :func:`layers.importers.villages.read_village_list`).
    sheet
        The workbook sheet to read (default: every sheet holding a table of the layer).
    columns
        Field → input column, for headers the tool does not know.
    encoding, crs
        Text encoding (CSV, DBF) and CRS of the coordinates when the file does not say.
    bounds
        Lon/lat box the rows must fall in (the province); default Vietnam.
    towers
        BTS only: towers already known (the bundle's), for BTS rows given by tower id.
    colocate_m
        BTS only: BTS with coordinates and no tower id within this distance are one tower.

    Returns
    -------
    dict
        Layer → :class:`~layers.importers._common.ImportResult`; for BTS also ``towers``
        (the towers formed from BTS positions, when there are any).
    """
    if layer not in TABLE_LAYERS:
        raise InputError(f"unknown list layer {layer!r}; use one of {', '.join(TABLE_LAYERS)}")
    tables = read_tables(path, layer, sheet=sheet, mapping=columns, encoding=encoding)
    frames, rows, pre, warnings, labels = [], [], {}, [], []
    offset = 0
    for t in tables:
        gdf, _used = prepare_table(t, layer, columns, crs)
        frames.append(gdf)
        rows.extend(t.rows.tolist())
        pre.update({offset + k: v for k, v in t.pre.items()})
        warnings.extend(t.warnings)
        labels.append(t.label)
        offset += len(gdf)
    crs_all = next((f.crs for f in frames if f.crs is not None), None)
    gdf = gpd.GeoDataFrame(pd.concat([pd.DataFrame(f) for f in frames], ignore_index=True),
                           geometry="geometry", crs=crs_all)
    if len(tables) > 1:
        gdf["sheet"] = np.repeat([t.label.rsplit(":", 1)[-1] for t in tables],
                                 [len(f) for f in frames])
    source = str(path)
    box = tuple(bounds) if bounds is not None else None
    if layer == "bts":
        return _bts(gdf, rows, pre, warnings, source, box, towers, colocate_m)
    if layer == "towers":
        _fill_default(gdf, "height_m", DEFAULT_TOWER_HEIGHT_M, warnings,
                      f"{DEFAULT_TOWER_HEIGHT_M:g} m assumed")
        _fill_default(gdf, "power_source", "grid", warnings, "grid assumed")
    if layer == "post_offices":
        _fill_default(gdf, "operator", "vnpost", warnings, "vnpost assumed")
        _fill_default(gdf, "has_public_internet", False, warnings, "no public internet "
                      "assumed")
        _fill_default(gdf, "multi_service", False, warnings, "not multi-service assumed")
    if layer in ("towers", "post_offices", "fibre_routes", "villages"):
        missing = _missing_geometry(gdf)
        for pos in np.flatnonzero(missing):
            pre.setdefault(int(pos), ("geometry", "no coordinates or geometry; give lon/lat "
                                      "(degrees or DMS), x/y or a geometry"))
    result = finish(layer, gdf, source=source, pre_rejects=pre, source_rows=rows,
                    warnings=warnings, bounds=box)
    return {layer: result}


def _bts(gdf: gpd.GeoDataFrame, rows: list[int], pre: dict[int, tuple[str, str]],
         warnings: list[str], source: str, box: tuple[float, ...] | None,
         towers: gpd.GeoDataFrame | None, colocate_m: float) -> dict[str, ImportResult]:
    """BTS rows: positions from their tower, towers from their positions, radio defaults."""
    if "tower_id" not in gdf:
        gdf["tower_id"] = None
    tid = gdf["tower_id"].map(lambda v: nfc(v) if v is not None and v == v else "")
    tid = tid.map(lambda v: v[:-2] if v.endswith(".0") and v[:-2].isdigit() else v)
    no_geom = _missing_geometry(gdf)
    known: dict[str, Any] = {}
    known_h: dict[str, float] = {}
    if towers is not None and len(towers):
        t4326 = towers.to_crs("EPSG:4326")
        known = dict(zip(t4326["tower_id"].astype(str), t4326.geometry.values, strict=True))
        known_h = dict(zip(t4326["tower_id"].astype(str),
                           pd.to_numeric(t4326["height_m"], errors="coerce"), strict=True))
    new_towers = None
    # BTS with a position and no tower id: co-located ones form a tower
    loose = (~no_geom) & (tid == "").to_numpy()
    if loose.any():
        if gdf.crs is None:
            from phusong.gis.crs import detect_crs

            guess = detect_crs(gdf.geometry[loose], declared=None)
            gdf = gdf.set_crs(guess.crs or "EPSG:4326")
        groups = group_bts_into_towers(gdf.geometry[loose], colocate_m=colocate_m)
        pos = np.flatnonzero(loose)
        ids = np.array([nfc(v) for v in gdf.get("bts_id", pd.Series("", index=gdf.index))],
                       dtype=object)
        tower_rows = []
        for g in np.unique(groups):
            members = pos[groups == g]
            first = sorted(str(ids[m]) or f"row{rows[m]}" for m in members)[0]
            t = f"T-{first}"
            for m in members:
                tid.iloc[m] = t
            pts = gpd.GeoSeries(gdf.geometry.values[members], crs=gdf.crs)
            centre = shapely.MultiPoint(list(pts.values)).centroid if len(members) > 1 \
                else pts.values[0]
            ops = [str(v) for v in gdf.get("operator", pd.Series(None, index=gdf.index)
                                          ).iloc[members] if v is not None and v == v]
            heights = pd.to_numeric(gdf.get("tower_height_m", gdf.get(
                "antenna_height_m", pd.Series(np.nan, index=gdf.index))).iloc[members],
                errors="coerce")
            power = gdf["power_source"].iloc[members].dropna() if "power_source" in gdf \
                else pd.Series(dtype=object)
            tower_rows.append({"tower_id": t, "height_m": float(heights.max())
                               if heights.notna().any() else DEFAULT_TOWER_HEIGHT_M,
                               "owner": ops[0] if ops else None,
                               "power_source": power.iloc[0] if len(power) else "grid",
                               "n_bts": len(members), "geometry": centre})
        tg = gpd.GeoDataFrame(tower_rows, geometry="geometry", crs=gdf.crs)
        new_towers = finish("towers", tg, source=source, bounds=box, warnings=[
            f"{len(tg)} towers formed from {int(loose.sum())} BTS without a tower id "
            f"(BTS within {colocate_m:g} m are one tower)"])
        for row in new_towers.accepted.itertuples():
            known[str(row.tower_id)] = row.geometry
            known_h[str(row.tower_id)] = float(row.height_m)
    gdf["tower_id"] = tid.where(tid != "", None).values
    # BTS without a position: their tower's
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326") and no_geom.any():
        geoms = np.asarray(gdf.to_crs("EPSG:4326").geometry.values, dtype=object)
        gdf = gdf.to_crs("EPSG:4326")
    n_joined = 0
    for i in np.flatnonzero(no_geom):
        if i in pre:
            continue
        t = tid.iloc[i]
        if not t:
            pre[int(i)] = ("geometry", "no coordinates and no tower_id; give either")
        elif t in known:
            geoms[i] = known[t]
            n_joined += 1
        else:
            pre[int(i)] = ("tower_id", f"tower_id {t!r} matches no tower (in this file or "
                           "the bundle); import the towers first or give coordinates")
    if no_geom.any():
        gdf = gpd.GeoDataFrame(pd.DataFrame(gdf.drop(columns="geometry")), geometry=list(
            geoms), crs=gdf.crs or "EPSG:4326")
    if n_joined:
        warnings.append(f"{n_joined} BTS without coordinates placed at their tower "
                        "(joined by tower_id)")
    # radio defaults
    tech = gdf["tech"].map(_tech) if "tech" in gdf else pd.Series(None, index=gdf.index)
    _fill_default(gdf, "band_mhz", tech.map(lambda t: DEFAULT_BAND_MHZ.get(t)), warnings,
                  "the band most used for the technology assumed")
    _fill_default(gdf, "eirp_dbm", tech.map(lambda t: DEFAULT_EIRP_DBM.get(t)), warnings,
                  "the technology's default EIRP assumed")
    heights = gdf["tower_id"].map(lambda t: known_h.get(str(t)) if t else None)
    if "tower_height_m" in gdf:
        heights = heights.where(heights.notna(), pd.to_numeric(gdf["tower_height_m"],
                                                               errors="coerce"))
    _fill_default(gdf, "antenna_height_m", heights.where(heights.notna(),
                                                         DEFAULT_TOWER_HEIGHT_M),
                  warnings, "the tower's height assumed")
    result = finish("bts", gdf, source=source, pre_rejects=pre, source_rows=rows,
                    warnings=warnings, bounds=box)
    out = {"bts": result}
    if new_towers is not None:
        out["towers"] = new_towers
    return out


def _tech(value: object) -> str | None:
    from phusong.layers.validate import canonical_choice

    return canonical_choice("tech", value)
