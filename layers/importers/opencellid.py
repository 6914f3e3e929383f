"""OpenCelliD / Mozilla Location Service cell exports → ``towers`` and ``bts``.

Input: the CSV published by OpenCelliD (``cell_towers.csv.gz``, the per-country
``452.csv.gz``) and by Mozilla Location Service, plain or gzip-compressed, with or without
the header line::

    radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal

What happens to the rows (cells):

* rows with MCC other than 452 (Vietnam), an unknown MNC (``net``; 01 MobiFone,
  02 Vinaphone, 04 Viettel, 05 Vietnamobile), an unknown ``radio``, a missing or
  non-numeric position, lat/lon swapped, a position outside the area (the province), a
  duplicate cell id or the wrong number of fields (a truncated line) are rejected, each
  with its reason and line number;
* ``radio`` maps to the technology: GSM → 2G, UMTS (and CDMA-less WCDMA) → 3G, LTE → 4G,
  NR → 5G;
* OpenCelliD positions are averages of crowd-sourced fixes, not mast positions: cells of one
  operator closer than ``cluster_m`` (150 m) to each other are chained into one *tower*
  (single linkage in the metric CRS: :class:`scipy.spatial.cKDTree` pairs + connected
  components) placed at the samples-weighted mean of its cells. With
  ``merge_operators=True`` cells of all operators are clustered together (shared towers;
  the owner is the operator with most cells);
* a tower gets one BTS per operator × technology. OpenCelliD holds no heights, bands or
  powers: tower and antenna height and band take the defaults of
  :data:`~layers.importers._common.DEFAULT_BAND_MHZ` and ``tower_height_m`` (30 m); the
  radio fields (power, bandwidth, gain, feeder loss, tilt) are left empty, so that coverage
  takes :data:`layers.settings.RADIO_DEFAULTS`; the result's warnings say so.

Ids never depend on names: ``tower_id`` is ``OCID-452-<net>-<area>-<cell>`` of the
cluster's first cell, ``bts_id`` is ``<tower_id>-<operator>-<tech>``.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import os
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from phusong.gis.crs import VIETNAM_BOUNDS, tm3_crs_for_lon
from phusong.gis.errors import InputError, SchemaError
from phusong.layers.importers._common import (
    DEFAULT_BAND_MHZ,
    DEFAULT_TOWER_HEIGHT_M,
    ImportResult,
    concat_rejects,
    finish,
    reject_rows,
)
from phusong.layers.operators import OPERATORS, operator_from_mnc

logger = logging.getLogger(__name__)

__all__ = ["OPENCELLID_COLUMNS", "RADIO_TECH", "attach_to_existing", "read_opencellid"]

OPENCELLID_COLUMNS = ("radio", "mcc", "net", "area", "cell", "unit", "lon", "lat", "range",
                      "samples", "changeable", "created", "updated", "averageSignal")
#: OpenCelliD ``radio`` → technology
RADIO_TECH = {"GSM": "2G", "UMTS": "3G", "WCDMA": "3G", "LTE": "4G", "NR": "5G"}
_REQUIRED = ("radio", "mcc", "net", "area", "cell", "lon", "lat")


def _read_text(path: Path) -> str:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file; download the OpenCelliD export again")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise InputError(f"{path}: truncated or corrupt gzip ({exc}); download the "
                             "file again") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a UTF-8 text CSV ({exc})") from None


def _read_rows(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows as strings with a ``line`` column, rejects for malformed lines)."""
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text))
    lines = [(i, row) for i, row in enumerate(reader, start=1) if row and any(row)]
    if not lines:
        raise InputError(f"{path}: no rows")
    first = [c.strip() for c in lines[0][1]]
    if first and first[0].lower() == "radio":
        columns = first
        lines = lines[1:]
        missing = [c for c in _REQUIRED if c not in columns]
        if missing:
            raise SchemaError(f"{path}: header lacks {', '.join(missing)}; an OpenCelliD "
                              f"file has {','.join(OPENCELLID_COLUMNS)}")
    else:
        n = len(first)
        if n not in (13, 14) or not first[0].isalpha():
            raise SchemaError(f"{path}: line 1 has {n} fields and no header; not an "
                              f"OpenCelliD CSV ({','.join(OPENCELLID_COLUMNS)})")
        columns = list(OPENCELLID_COLUMNS[:n])
    good, bad = [], []
    for i, row in lines:
        if len(row) == len(columns):
            good.append([i, *row])
        else:
            bad.append({"raw": ",".join(row), "source_row": i,
                        "reason": f"{len(row)} fields, expected {len(columns)} (truncated or "
                                  "malformed line)"})
    df = pd.DataFrame(good, columns=["line", *columns], dtype=object)
    for c in columns:
        df[c] = df[c].astype(str).str.strip()
    return df, pd.DataFrame(bad)


def read_opencellid(path: str | os.PathLike, *, area_lonlat: BaseGeometry | None = None,
                    cluster_m: float = 150.0, merge_operators: bool = False,
                    metric_crs: CRS | str | int | None = None,
                    tower_height_m: float = DEFAULT_TOWER_HEIGHT_M,
                    power_source: str = "grid") -> dict[str, ImportResult]:
    """Read an OpenCelliD/MLS export into towers and BTS.

    Parameters
    ----------
    path
        CSV, plain or ``.gz``, with or without header.
    area_lonlat
        Keep cells inside this lon/lat polygon (the province); others are rejected.
    cluster_m
        Cells closer than this (metres) are chained into one tower.
    merge_operators
        Cluster cells of different operators together (shared towers).
    metric_crs
        CRS for clustering; by default the TM-3 zone of the cells' median longitude.
    tower_height_m
        Height given to every tower and antenna (OpenCelliD has none).
    power_source
        Power source given to every tower.

    Returns
    -------
    dict
        ``"cells"`` (the input rows: accepted cells with ``tower_id``, rejected with
        reasons), ``"towers"`` and ``"bts"`` (the layers derived from accepted cells).
    """
    path = Path(path)
    if not cluster_m > 0:
        raise InputError(f"cluster_m={cluster_m}: must be > 0 metres")
    df, bad_lines = _read_rows(path)
    n_in = len(df) + len(bad_lines)
    source = str(path)
    rejects = [reject_rows(bad_lines.drop(columns="reason"), field="line",
                           reason=bad_lines["reason"])] if len(bad_lines) else []

    reason = pd.Series("", index=df.index, dtype=object)
    field = pd.Series("", index=df.index, dtype=object)

    def flag(mask: pd.Series, text: str | pd.Series, name: str) -> None:
        new = mask & (reason == "")
        reason.loc[new] = text if isinstance(text, str) else text[new]
        field.loc[new] = name

    mcc = pd.to_numeric(df["mcc"], errors="coerce")
    flag(mcc != 452, "MCC " + df["mcc"] + " is not Vietnam (452)", "mcc")
    radio = df["radio"].str.upper()
    flag(~radio.isin(list(RADIO_TECH)), df["radio"] + " unknown; expected "
         + ", ".join(RADIO_TECH), "radio")
    ops = []
    for net in df["net"]:
        try:
            ops.append(operator_from_mnc(net).value)
        except SchemaError as exc:
            ops.append(f"!{exc}")
    ops = pd.Series(ops, index=df.index, dtype=object)
    bad_op = ops.str.startswith("!")
    flag(bad_op, ops.str[1:], "net")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    flag(lon.isna() | lat.isna(), "missing or not a number (lon=" + df["lon"]
         + ", lat=" + df["lat"] + ")", "lon;lat")
    w, s, e, n = VIETNAM_BOUNDS
    swapped = lon.between(s, n) & lat.between(w, e)
    flag(swapped, "lat/lon swapped (lon=" + df["lon"] + ", lat=" + df["lat"]
         + "); exchange the columns", "lon;lat")
    flag(~(lon.between(w, e) & lat.between(s, n)),
         "position outside Vietnam (lon=" + df["lon"] + ", lat=" + df["lat"] + ")", "lon;lat")
    for c in ("area", "cell"):
        flag(pd.to_numeric(df[c], errors="coerce").isna(), "not a number", c)
    key = df["radio"].str.upper() + "|" + df["mcc"] + "|" + df["net"] + "|" + df["area"] + "|" \
        + df["cell"]
    ok_so_far = reason == ""
    first_line = df.loc[ok_so_far].groupby(key[ok_so_far])["line"].transform("first")
    dup = pd.Series(False, index=df.index)
    dup.loc[first_line.index] = df.loc[first_line.index, "line"] != first_line
    flag(dup, "duplicate cell " + key.str.replace("|", "-") + " (first at row "
         + first_line.reindex(df.index).astype(str) + "); kept the first", "cell")
    if area_lonlat is not None:
        ok = reason == ""
        pts = gpd.GeoSeries(gpd.points_from_xy(lon[ok], lat[ok]), index=df.index[ok],
                            crs="EPSG:4326")
        inside = pts.within(area_lonlat)
        outside = pd.Series(False, index=df.index)
        outside.loc[inside.index] = ~inside
        flag(outside, "outside the province", "lon;lat")

    rejected_cells = df[reason != ""]
    if len(rejected_cells):
        rejects.append(reject_rows(rejected_cells.drop(columns="line"),
                                   field=field[reason != ""], reason=reason[reason != ""],
                                   source_row=rejected_cells["line"]))
    cells = df[reason == ""].copy()
    cells["operator"] = ops[cells.index]
    cells["tech"] = radio[cells.index].map(RADIO_TECH)
    cells["lon"], cells["lat"] = lon[cells.index], lat[cells.index]
    cells["samples"] = pd.to_numeric(cells.get("samples", 1), errors="coerce").fillna(1).clip(
        lower=1)
    warnings: list[str] = []
    towers, bts, cells = _towers_from_cells(cells, cluster_m=cluster_m,
                                            merge_operators=merge_operators,
                                            metric_crs=metric_crs,
                                            tower_height_m=tower_height_m,
                                            power_source=power_source)
    if len(towers):
        warnings.append(f"OpenCelliD holds no heights, bands or powers: {len(towers)} towers "
                        f"set to {tower_height_m:g} m ({power_source} power), {len(bts)} BTS "
                        "to the default band of their technology; power, bandwidth, gain and "
                        "feeder loss left empty (coverage takes the radio table's defaults)")
    cells_gdf = gpd.GeoDataFrame(cells, geometry=gpd.points_from_xy(cells["lon"],
                                                                    cells["lat"]),
                                 crs="EPSG:4326")
    cell_result = ImportResult(layer="cells", accepted=cells_gdf,
                               rejected=concat_rejects(rejects), n_in=n_in, source=source)
    logger.info("read %d OpenCelliD cells from %s: %d accepted, %d rejected, %d towers",
                n_in, path, len(cells), cell_result.n_rejected, len(towers))
    tower_result = finish("towers", towers, warnings=warnings, source=source)
    bts_result = finish("bts", bts, source=source)
    return {"cells": cell_result, "towers": tower_result, "bts": bts_result}


def _towers_from_cells(cells: pd.DataFrame, *, cluster_m: float, merge_operators: bool,
                       metric_crs: CRS | str | int | None, tower_height_m: float,
                       power_source: str
                       ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    cols_t = ["tower_id", "height_m", "owner", "power_source"]
    cols_b = ["bts_id", "tower_id", "operator", "tech", "band_mhz", "antenna_height_m",
              "eirp_dbm"]
    if cells.empty:
        cells = cells.assign(tower_id=pd.Series(dtype=object))
        return (gpd.GeoDataFrame(columns=cols_t, geometry=[], crs="EPSG:4326"),
                gpd.GeoDataFrame(columns=cols_b, geometry=[], crs="EPSG:4326"), cells)
    crs = CRS.from_user_input(metric_crs) if metric_crs is not None else tm3_crs_for_lon(
        float(cells["lon"].median()))
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = fwd.transform(cells["lon"].to_numpy(float), cells["lat"].to_numpy(float))
    n = len(cells)
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(r=cluster_m, output_type="ndarray")
    if not merge_operators and len(pairs):
        op = cells["operator"].to_numpy()
        pairs = pairs[op[pairs[:, 0]] == op[pairs[:, 1]]]
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    cells = cells.assign(_x=x, _y=y, _cluster=label)
    order = {op.value: i for i, op in enumerate(OPERATORS)}
    # the tower's id: its first cell by (net, area, cell)
    keyed = pd.DataFrame({"cl": label, "net": cells["net"].astype(int).to_numpy(),
                          "area": cells["area"].astype(int).to_numpy(),
                          "cell": cells["cell"].astype(int).to_numpy()})
    first = keyed.sort_values(["cl", "net", "area", "cell"]).drop_duplicates("cl")
    first = first.set_index("cl").sort_index()
    tower_ids = np.array([f"OCID-452-{a:02d}-{b}-{c}" for a, b, c in
                          zip(first["net"], first["area"], first["cell"], strict=True)],
                         dtype=object)
    # samples-weighted centre
    n_cl = len(first)
    w = cells["samples"].to_numpy(float)
    wsum = np.bincount(label, weights=w, minlength=n_cl)
    tx = np.bincount(label, weights=w * x, minlength=n_cl) / wsum
    ty = np.bincount(label, weights=w * y, minlength=n_cl) / wsum
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    tlon, tlat = inv.transform(tx, ty)
    # owner: the operator with most cells (ties: enum order)
    ops = pd.DataFrame({"cl": label, "op": cells["operator"].to_numpy()})
    counts = ops.groupby(["cl", "op"], sort=False).size().rename("n").reset_index()
    counts["rank"] = counts["op"].map(order)
    owner = counts.sort_values(["cl", "n", "rank"], ascending=[True, False, True]
                               ).drop_duplicates("cl").set_index("cl")["op"].sort_index()
    towers = pd.DataFrame({"tower_id": tower_ids, "height_m": float(tower_height_m),
                           "owner": owner.to_numpy(), "power_source": power_source,
                           "lon": tlon, "lat": tlat})
    # one BTS per tower × operator × technology
    combos = pd.DataFrame({"cl": label, "operator": cells["operator"].to_numpy(),
                           "tech": cells["tech"].to_numpy()}).drop_duplicates()
    combos["tower_id"] = tower_ids[combos["cl"].to_numpy()]
    bts = pd.DataFrame({
        "bts_id": combos["tower_id"] + "-" + combos["operator"] + "-" + combos["tech"],
        "tower_id": combos["tower_id"], "operator": combos["operator"], "tech": combos["tech"],
        "band_mhz": combos["tech"].map(DEFAULT_BAND_MHZ),
        "antenna_height_m": float(tower_height_m),
        "eirp_dbm": None,
        "lon": tlon[combos["cl"].to_numpy()], "lat": tlat[combos["cl"].to_numpy()]})
    cells = cells.drop(columns=["_x", "_y", "_cluster"])
    cells["tower_id"] = tower_ids[label]
    t = towers.sort_values("tower_id", ignore_index=True)
    b = bts.sort_values("bts_id", ignore_index=True)
    logger.info("clustered %d cells into %d towers (%g m, %s)", n, len(t), cluster_m,
                "all operators" if merge_operators else "per operator")
    tg = gpd.GeoDataFrame(t[cols_t], geometry=gpd.points_from_xy(t["lon"], t["lat"]),
                          crs="EPSG:4326")
    bg = gpd.GeoDataFrame(b[cols_b], geometry=gpd.points_from_xy(b["lon"], b["lat"]),
                          crs="EPSG:4326")
    return tg, bg, cells


def attach_to_existing(towers: ImportResult, bts: ImportResult, existing_towers: gpd.GeoDataFrame,
                       existing_bts: gpd.GeoDataFrame, *, distance_m: float,
                       metric_crs: CRS | str | int) -> tuple[ImportResult, ImportResult]:
    """Merge OpenCelliD towers into towers already in a bundle (e.g. OSM masts).

    A new tower within ``distance_m`` of an existing tower that carries (or is owned by) the
    new tower's owner is the same mast seen twice: it is not added (it goes to the rejects
    naming the existing tower), and its BTS are attached to the existing tower
    (``bts_id`` ``<existing tower>-<operator>-<tech>``); BTS the existing tower already has
    are rejected as duplicates. Without existing towers the results are returned as they are.
    """
    if not towers.n_accepted or existing_towers is None or not len(existing_towers):
        return towers, bts
    crs = CRS.from_user_input(metric_crs)
    old = existing_towers.to_crs(crs).reset_index(drop=True)
    ops_at: dict[str, set[str]] = {t: {str(o)} for t, o in zip(old["tower_id"], old["owner"],
                                                               strict=True)}
    if existing_bts is not None and len(existing_bts):
        for t, o in zip(existing_bts["tower_id"], existing_bts["operator"], strict=True):
            ops_at.setdefault(str(t), set()).add(str(o))
    new = towers.accepted.to_crs(crs)
    tree = cKDTree(np.column_stack([old.geometry.x, old.geometry.y]))
    same: dict[str, tuple[str, float]] = {}
    for tid, owner, geom in zip(new["tower_id"], new["owner"], new.geometry, strict=True):
        for j in sorted(tree.query_ball_point([geom.x, geom.y], r=distance_m),
                        key=lambda k: geom.distance(old.geometry[k])):
            if str(owner) in ops_at.get(str(old["tower_id"][j]), set()):
                same[tid] = (str(old["tower_id"][j]), float(geom.distance(old.geometry[j])))
                break
    if not same:
        return towers, bts
    gone = towers.accepted["tower_id"].isin(list(same))
    moved = towers.accepted[gone]
    rej_t = reject_rows(moved, field="geometry", reason=[
        f"same mast as tower {same[t][0]} already in the bundle ({same[t][1]:.0f} m away); "
        "its BTS were attached to it" for t in moved["tower_id"]])
    t_out = ImportResult(layer="towers", accepted=towers.accepted[~gone], n_in=towers.n_in,
                         rejected=concat_rejects([towers.rejected, rej_t]),
                         warnings=[*towers.warnings, f"{len(same)} OpenCelliD towers are "
                                   f"masts already in the bundle (within {distance_m:g} m): "
                                   "BTS attached to them"], source=towers.source)
    b = bts.accepted.copy()
    have = set(existing_bts["bts_id"]) if existing_bts is not None and len(existing_bts) \
        else set()
    for i in b.index[b["tower_id"].isin(list(same))]:
        target = same[b.at[i, "tower_id"]][0]
        b.at[i, "tower_id"] = target
        b.at[i, "bts_id"] = f"{target}-{b.at[i, 'operator']}-{b.at[i, 'tech']}"
        b.at[i, "geometry"] = existing_towers.set_index("tower_id").to_crs(
            "EPSG:4326").geometry[target]
    dup = b["bts_id"].isin(have) | b["bts_id"].duplicated()
    rej_b = reject_rows(b[dup], field="bts_id",
                        reason="already in the bundle (the same equipment seen by OpenCelliD)")
    b_out = ImportResult(layer="bts", accepted=b[~dup], n_in=bts.n_in,
                         rejected=concat_rejects([bts.rejected, rej_b]), warnings=bts.warnings,
                         source=bts.source)
    logger.info("attached %d OpenCelliD towers to existing towers", len(same))
    return t_out, b_out
