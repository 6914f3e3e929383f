"""The province's village lists → ``villages``, in any of three shapes.

* **Polygons** (a GeoPackage, Shapefile, GeoJSON or KML of village areas): kept as drawn.
* **Points** (a table with lon/lat — degrees or DMS —, x/y, or point geometries): the
  settled area around the point — the populated cells of a population raster within
  ``settings.settlement_buffer_m`` when one is given, else the disc of that radius — clipped
  to the village's commune; the point is kept as the village centre (``centre_lon``,
  ``centre_lat``).
* **Names per commune without geometry** (the usual ``Danh sách thôn, bản`` workbook): each
  name is matched to an OSM place (the bundle's OSM villages, or ``places``) *inside its
  commune*, by name without diacritics, case, spaces or the ``Thôn``/``Bản``/``Xóm`` prefix,
  then fuzzily (rapidfuzz ratio ≥ ``threshold`` and clearly ahead of the next candidate). A
  :func:`match report <read_village_list>` lists every row: ``matched`` (exact or fuzzy, with
  the score and the place), ``ambiguous`` (several places fit equally) or ``unmatched``
  (with the closest candidate); ambiguous and unmatched rows are rejected with that reason —
  nothing is dropped silently. A matched village takes the place's geometry (a point becomes
  its settled area, as above) and the list's name, id and attributes.

The commune of a row is its ``commune_code`` (``Mã xã``; leading zeros lost by Excel are
restored), its commune name (``Xã``/``Tên xã``, matched to the bundle's communes like
village names) or, in lists laid out that way, the heading row (``Xã Tả Phìn`` alone on its
row) above it; a row with geometry and none of these is placed by the commune polygon
holding it.
Attributes the list does not give (population, grid power, border area, extremely difficult
area) stay unknown.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from phusong.gis.errors import InputError
from phusong.layers.importers._common import ImportResult, finish, name_key, nfc
from phusong.layers.importers.tables import prepare_table, read_tables
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["MATCH_MARGIN", "MATCH_THRESHOLD", "match_names", "read_village_list",
           "settled_polygons", "village_key", "write_match_report"]

#: lowest rapidfuzz ratio (0–100) of a fuzzy name match
MATCH_THRESHOLD = 80.0
#: a fuzzy match must beat the next candidate by this many points, else it is ambiguous
MATCH_MARGIN = 6.0

def village_key(name: object) -> str:
    """Key of a village name: no diacritics, case, spaces or ``Thôn``/``Bản``/``Xóm``/``Tổ``
    prefix (``"Bản Nà Hừ"`` and ``"ban na hu"`` → ``"nahu"``; ``"Thôn 3"`` → ``"3"``)."""
    import unicodedata

    s = unicodedata.normalize("NFD", nfc(name)).replace("đ", "d").replace("Đ", "D")
    s = s.encode("ascii", "ignore").decode().lower().replace("-", " ").replace("_", " ")
    s = " ".join(s.split())
    stripped = re.sub(r"^(thon|ban|xom|lang|to dan pho|to|khu|khoi|village|hamlet)\s+", "", s)
    return re.sub(r"[^a-z0-9]", "", stripped or s)


def match_names(names: list[str], candidates: list[str], *,
                threshold: float = MATCH_THRESHOLD, margin: float = MATCH_MARGIN
                ) -> list[tuple[str, list[int], float]]:
    """Match each name to the candidates: ``(status, candidate positions, score)``.

    ``status`` is ``"exact"`` (same :func:`village_key`), ``"fuzzy"`` (best rapidfuzz
    ratio ≥ ``threshold`` and ≥ ``margin`` ahead of the next), ``"ambiguous"`` (several
    exact or near-equal candidates; their positions) or ``"unmatched"`` (the closest
    candidate's position, if any, and its score).
    """
    from rapidfuzz import fuzz

    keys = [village_key(c) for c in candidates]
    out = []
    for name in names:
        k = village_key(name)
        exact = [i for i, ck in enumerate(keys) if ck == k and k]
        if len(exact) == 1:
            out.append(("exact", exact, 100.0))
            continue
        if len(exact) > 1:
            out.append(("ambiguous", exact, 100.0))
            continue
        if not keys or not k:
            out.append(("unmatched", [], 0.0))
            continue
        scores = np.array([fuzz.ratio(k, ck) for ck in keys])
        order = np.argsort(-scores, kind="stable")
        best = float(scores[order[0]])
        second = float(scores[order[1]]) if len(order) > 1 else 0.0
        if best >= threshold and best - second >= margin:
            out.append(("fuzzy", [int(order[0])], best))
        elif best >= threshold:
            near = [int(i) for i in order if scores[i] >= best - margin]
            out.append(("ambiguous", near, best))
        else:
            out.append(("unmatched", [int(order[0])], best))
    return out


def settled_polygons(points: gpd.GeoSeries, communes: gpd.GeoSeries | None, *,
                     raster: str | os.PathLike | None = None, settings: Settings = DEFAULT,
                     metric_crs: Any = None) -> gpd.GeoSeries:
    """The settled area around each point (lon/lat), clipped to its commune polygon.

    With ``raster`` (a population raster): the cells with people within
    ``settings.settlement_buffer_m`` of the point; where there are none, or without a
    raster, the disc of that radius. ``communes`` gives each point's commune polygon (same
    index; ``None``/missing: not clipped).
    """
    from phusong.gis.crs import tm3_crs_for_lon

    pts = points.to_crs("EPSG:4326")
    if metric_crs is None:
        metric_crs = tm3_crs_for_lon(float(pts.x.median()) if len(pts) else 105.0)
    metric = pts.to_crs(metric_crs)
    discs = metric.buffer(settings.settlement_buffer_m, quad_segs=16)
    areas = list(discs.values)
    if raster is not None:
        areas = [_populated(raster, d, metric_crs) or d for d in areas]
    out = gpd.GeoSeries(areas, index=points.index, crs=metric_crs).to_crs("EPSG:4326")
    if communes is not None:
        clipped = []
        for geom, com in zip(out.values, communes.reindex(points.index).values, strict=True):
            if com is None or (isinstance(com, float) and com != com) or com.is_empty:
                clipped.append(geom)
                continue
            part = shapely.intersection(geom, shapely.make_valid(com))
            part = _polygonal(part)
            clipped.append(part if part is not None and part.area > 0 else geom)
        out = gpd.GeoSeries(clipped, index=points.index, crs="EPSG:4326")
    return out


def _polygonal(geom: Any) -> Any:
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon",
                                                                        "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def _populated(raster: str | os.PathLike, disc: Any, metric_crs: Any) -> Any:
    """Union of the raster cells with people inside ``disc`` (metric), or None."""
    import rasterio
    from rasterio.features import geometry_mask, shapes
    from rasterio.warp import transform_geom
    from rasterio.windows import from_bounds

    with rasterio.open(raster) as ds:
        g = transform_geom(metric_crs, ds.crs, shapely.geometry.mapping(disc))
        shape = shapely.geometry.shape(g)
        try:
            win = from_bounds(*shape.bounds, transform=ds.transform).round_offsets(
                ).round_lengths()
            win = win.intersection(rasterio.windows.Window(0, 0, ds.width, ds.height))
        except rasterio.errors.WindowError:
            return None
        data = ds.read(1, window=win, masked=True)
        tr = ds.window_transform(win)
        src_crs = ds.crs
    if data.size == 0:
        return None
    inside = ~geometry_mask([g], out_shape=data.shape, transform=tr, all_touched=True)
    people = np.ma.filled(data, 0) > 0
    mask = (inside & people).astype("uint8")
    if not mask.any():
        return None
    polys = [shapely.geometry.shape(s) for s, v in shapes(mask, mask=mask.astype(bool),
                                                            transform=tr) if v]
    merged = shapely.union_all(polys)
    back = shapely.geometry.shape(transform_geom(src_crs, metric_crs,
                                                 shapely.geometry.mapping(merged)))
    out = _polygonal(shapely.intersection(back, disc))
    return out if out is not None and out.area > 0 else None


def _strip_code(code: object) -> str:
    s = nfc(code)
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    return s.lstrip("0") if s.isdigit() else s


def _commune_of(df: pd.DataFrame, communes: gpd.GeoDataFrame | None,
                pre: dict[int, tuple[str, str]]) -> pd.Series:
    """Commune code per row from ``commune_code`` or ``commune_name`` ('' when unknown)."""
    out = pd.Series("", index=df.index, dtype=object)
    if communes is None or communes.empty:
        if "commune_code" in df:
            out = df["commune_code"].map(lambda v: nfc(v) if v is not None and v == v else "")
        return out
    by_code = {_strip_code(c): str(c) for c in communes["code"]}
    names = list(communes["name"])
    codes = list(communes["code"].astype(str))
    for pos, idx in enumerate(df.index):
        code = df.at[idx, "commune_code"] if "commune_code" in df else None
        cname = df.at[idx, "commune_name"] if "commune_name" in df else None
        if code is not None and code == code and nfc(code):
            hit = by_code.get(_strip_code(code))
            if hit is None:
                pre.setdefault(pos, ("commune_code", f"commune code {nfc(code)!r} is not a "
                                    "commune of the bundle"))
            else:
                out[idx] = hit
        elif cname is not None and cname == cname and nfc(cname):
            keys = [name_key(n) for n in names]
            k = name_key(cname)
            exact = [i for i, x in enumerate(keys) if x == k]
            if len(exact) == 1:
                out[idx] = codes[exact[0]]
                continue
            status, found, score = match_names([cname], names, threshold=88.0)[0]
            if status in ("exact", "fuzzy"):
                out[idx] = codes[found[0]]
            elif status == "ambiguous" or len(exact) > 1:
                opts = ", ".join(f"{names[i]} ({codes[i]})" for i in (exact or found)[:4])
                pre.setdefault(pos, ("commune_name", f"commune {nfc(cname)!r} is ambiguous "
                                    f"({opts}); give the commune code"))
            else:
                close = f" (closest: {names[found[0]]!r}, {score:.0f}%)" if found else ""
                pre.setdefault(pos, ("commune_name", f"commune {nfc(cname)!r} is not a "
                                    f"commune of the bundle{close}"))
    return out


_HEADING = re.compile(r"^\s*(xa|phuong|thi tran)\s+\S", re.IGNORECASE)


def _commune_headings(df: gpd.GeoDataFrame, rows: list[int], pre: dict[int, tuple[str, str]],
                      warnings: list[str], label: str
                      ) -> tuple[gpd.GeoDataFrame, list[int], dict[int, tuple[str, str]]]:
    """Lists that give the commune as a heading row (``Xã Tả Phìn`` alone on its row, the
    villages below it): the headings become the ``commune_name`` of the rows under them and
    are not village rows themselves."""
    import unicodedata

    def folded(v: object) -> str:
        t = unicodedata.normalize("NFD", nfc(v)).replace("đ", "d").replace("Đ", "D")
        return t.encode("ascii", "ignore").decode()

    others = [c for c in df.columns if c not in ("name", "geometry")]
    empty_rest = pd.Series(True, index=df.index)
    for c in others:
        if c in ("stt", "STT") or str(c).lower() == "stt":
            continue
        empty_rest &= df[c].map(lambda v: v is None or (isinstance(v, float) and v != v)
                                or (isinstance(v, str) and not v.strip()))
    heading = df["name"].map(lambda v: bool(_HEADING.match(folded(v)))) & empty_rest
    if not heading.any():
        return df, rows, pre
    current = None
    names = []
    for is_h, v in zip(heading, df["name"], strict=True):
        if is_h:
            current = nfc(v)
        names.append(current)
    keep = ~heading.to_numpy()
    new_pos = {old: new for new, old in enumerate(np.flatnonzero(keep))}
    out = df.assign(commune_name=names)[keep].reset_index(drop=True)
    warnings.append(f"{label}: {int(heading.sum())} commune heading rows ("
                    f"{', '.join(df.loc[heading, 'name'].map(nfc).head(3))}…) give the commune "
                    "of the villages below them")
    return (out, [r for r, k in zip(rows, keep, strict=True) if k],
            {new_pos[k]: v for k, v in pre.items() if k in new_pos})


def read_village_list(path: str | os.PathLike, *,
                      admin_units: gpd.GeoDataFrame | None = None,
                      places: gpd.GeoDataFrame | None = None, sheet: str | None = None,
                      columns: Mapping[str, str] | None = None, encoding: str | None = None,
                      crs: Any = None, population: str | os.PathLike | None = None,
                      bounds: tuple[float, float, float, float] | None = None,
                      threshold: float = MATCH_THRESHOLD, settings: Settings = DEFAULT,
                      metric_crs: Any = None) -> tuple[ImportResult, pd.DataFrame]:
    """Read a village list: polygons, points or names per commune (module docstring).

    Parameters
    ----------
    path
        CSV/TXT, XLSX, GeoPackage, Shapefile, GeoJSON, KML or KMZ.
    admin_units
        The bundle's admin units (communes to place and clip villages, and to read commune
        names).
    places
        OSM places to match names against (the bundle's OSM villages, or
        :func:`~layers.importers.osm.read_osm` ``villages``); needed for a name list.
    sheet, columns, encoding, crs
        As for :func:`~layers.importers.tables.read_list`.
    population
        Population raster: the settled area of a point is its populated cells.
    bounds
        Lon/lat box the villages must fall in.
    threshold
        Lowest fuzzy score (0–100) of a name match.

    Returns
    -------
    (ImportResult, pandas.DataFrame)
        The villages (rows in = accepted + rejected) and the match report: one row per
        list row with ``source_row``, ``name``, ``commune_code``, ``match`` (``exact``,
        ``fuzzy``, ``ambiguous``, ``unmatched``, ``geometry`` — the row had its own — or
        ``error``), ``score``, ``place_id``, ``place_name`` and ``note``.
    """
    tables = read_tables(path, "villages", sheet=sheet, mapping=columns, encoding=encoding)
    frames, rows, pre, warnings = [], [], {}, []
    offset = 0
    for t in tables:
        gdf, _ = prepare_table(t, "villages", columns, crs)
        frames.append(gdf)
        rows.extend(t.rows.tolist())
        pre.update({offset + k: v for k, v in t.pre.items()})
        warnings.extend(t.warnings)
        offset += len(gdf)
    crs_all = next((f.crs for f in frames if f.crs is not None), None)
    df = gpd.GeoDataFrame(pd.concat([pd.DataFrame(f) for f in frames], ignore_index=True),
                          geometry="geometry", crs=crs_all)
    if df.crs is None and len(df):
        from phusong.gis.crs import detect_crs

        have = ~np.array([g is None or g.is_empty for g in df.geometry.values], dtype=bool)
        if have.any():
            guess = detect_crs(df.geometry[have], declared=None, expected_bounds=bounds)
            df = df.set_crs(guess.crs or "EPSG:4326")
        else:
            df = df.set_crs("EPSG:4326")
    df = df.to_crs("EPSG:4326")
    if "name" not in df:
        raise InputError(f"{path}: no column of village names (Tên thôn, bản / name); map it "
                         "with --columns name=<column>")
    if "commune_code" not in df and "commune_name" not in df:
        df, rows, pre = _commune_headings(df, rows, pre, warnings, str(path))
    communes = None
    if admin_units is not None and len(admin_units):
        communes = admin_units[admin_units["level"] == "commune"].to_crs("EPSG:4326")
        communes = communes if len(communes) else None
    code = _commune_of(df, communes, pre)
    has_geom = ~np.array([g is None or g.is_empty for g in df.geometry.values], dtype=bool)
    # rows with geometry and no commune: the commune polygon holding them
    if communes is not None and (has_geom & (code == "").to_numpy()).any():
        need = np.flatnonzero(has_geom & (code == "").to_numpy())
        pts = gpd.GeoDataFrame({"i": need}, geometry=df.geometry.iloc[need]
                               .representative_point().values, crs="EPSG:4326")
        com = communes[["code", "geometry"]].assign(
            geometry=shapely.make_valid(communes.geometry.values))
        j = gpd.sjoin(pts, com, how="left", predicate="within").drop_duplicates("i")
        for i, c in zip(j["i"], j["code"], strict=True):
            if isinstance(c, str):
                code.iloc[i] = c
            else:
                pre.setdefault(int(i), ("geometry", "outside the province (in no commune "
                                        "polygon)"))
    report = pd.DataFrame({"source_row": rows, "name": df["name"].map(nfc).values,
                           "commune_code": code.values, "match": "", "score": np.nan,
                           "place_id": "", "place_name": "", "note": ""})
    report.loc[has_geom, "match"] = "geometry"
    geoms = np.asarray(df.geometry.values, dtype=object).copy()
    place_ids = pd.Series("", index=df.index, dtype=object)
    # names without geometry: match to places inside their commune
    todo = np.flatnonzero(~has_geom)
    if len(todo):
        if places is None or len(places) == 0:
            raise InputError(f"{path}: {len(todo)} villages have no coordinates and there are "
                             "no OSM places to match their names to; import OSM villages "
                             "first (phusong import osm) or pass --places")
        if communes is None:
            raise InputError(f"{path}: villages given by name need the bundle's communes; "
                             "import admin boundaries first")
        pl = places.to_crs("EPSG:4326")
        pl_code = pl["commune_code"].astype(str) if "commune_code" in pl else pd.Series(
            "", index=pl.index)
        for c, group in pd.Series(todo).groupby(code.iloc[todo].values):
            if not c:
                for i in group:
                    report.loc[i, ["match", "note"]] = ["error", "no commune"]
                    pre.setdefault(int(i), ("commune_code", "no commune code or name; the "
                                            "village cannot be looked up"))
                continue
            cand = pl[pl_code.values == c]
            results = match_names(list(df["name"].iloc[group].map(nfc)),
                                  list(cand["name"].map(nfc)), threshold=threshold)
            for i, (status, found, score) in zip(group, results, strict=True):
                report.loc[i, "score"] = round(score, 1)
                if status in ("exact", "fuzzy"):
                    p = cand.iloc[found[0]]
                    geoms[i] = p.geometry
                    place_ids.iloc[i] = str(p["village_id"])
                    report.loc[i, ["match", "place_id", "place_name"]] = [
                        status, str(p["village_id"]), nfc(p["name"])]
                elif status == "ambiguous":
                    opts = ", ".join(f"{nfc(cand.iloc[k]['name'])!r} ({cand.iloc[k]['village_id']})"
                                     for k in found[:4])
                    report.loc[i, ["match", "note"]] = ["ambiguous", opts]
                    pre.setdefault(int(i), ("name", f"ambiguous: several OSM places in commune "
                                            f"{c} fit ({opts}); give coordinates"))
                else:
                    close = (f" (closest: {nfc(cand.iloc[found[0]]['name'])!r}, "
                             f"{score:.0f}%)") if found else ""
                    report.loc[i, ["match", "note"]] = ["unmatched", close.strip(" ()")]
                    pre.setdefault(int(i), ("name", f"no OSM place of that name in commune "
                                            f"{c}{close}; give coordinates"))
        # one place claimed by two rows: both ambiguous
        claimed = place_ids[place_ids != ""]
        for pid, idx in claimed.groupby(claimed.values).groups.items():
            if len(idx) > 1:
                for i in idx:
                    report.loc[i, ["match", "note"]] = ["ambiguous", f"{pid} claimed by "
                                                        f"{len(idx)} rows"]
                    pre.setdefault(int(i), ("name", f"OSM place {pid} matches {len(idx)} rows "
                                            "of the list; give coordinates"))
    # points (given or matched) → settled areas clipped to the commune
    is_point = np.array([g is not None and g.geom_type == "Point" for g in geoms], dtype=bool)
    centre_lon = np.full(len(df), np.nan)
    centre_lat = np.full(len(df), np.nan)
    if is_point.any():
        pts = gpd.GeoSeries(geoms[is_point], index=df.index[is_point], crs="EPSG:4326")
        com_geom = None
        if communes is not None:
            by = dict(zip(communes["code"].astype(str), communes.geometry.values, strict=True))
            com_geom = pd.Series([by.get(str(c)) for c in code.values[is_point]],
                                 index=df.index[is_point], dtype=object)
        areas = settled_polygons(pts, com_geom, raster=population, settings=settings,
                                 metric_crs=metric_crs)
        geoms[is_point] = areas.values
        centre_lon[is_point], centre_lat[is_point] = pts.x.values, pts.y.values
        how = "populated cells of the population raster" if population is not None else \
            f"a {settings.settlement_buffer_m:g} m disc"
        warnings.append(f"{int(is_point.sum())} village points drawn as their settled area "
                        f"({how}, clipped to the commune); the point is the village centre")
    vid = df["village_id"].map(lambda v: nfc(v) if v is not None and v == v else "") \
        if "village_id" in df else pd.Series("", index=df.index)
    gen = [p or f"{c}-{village_key(n)}" for p, c, n in zip(place_ids, code, df["name"],
                                                          strict=True)]
    vid = vid.where(vid != "", pd.Series(gen, index=df.index))
    out = df.drop(columns=[c for c in ("commune_name", "geometry") if c in df.columns])
    out["village_id"] = vid.values
    out["commune_code"] = code.where(code != "", None).values
    if "centre_lon" not in out or out["centre_lon"].isna().all():
        out["centre_lon"] = [None if v != v else v for v in centre_lon]
        out["centre_lat"] = [None if v != v else v for v in centre_lat]
    for f in ("population", "households", "has_grid_power", "border_area",
              "extremely_difficult"):
        if f not in out:
            out[f] = None
    if "population" in df and "households" not in df:
        from phusong.layers.importers._common import AVG_HOUSEHOLD_SIZE
        from phusong.layers.validate import parse_number

        out["households"] = [None if parse_number(v, integer=True)[0] is None else
                             round(parse_number(v, integer=True)[0] / AVG_HOUSEHOLD_SIZE)
                             for v in df["population"]]
    gdf = gpd.GeoDataFrame(out, geometry=list(geoms), crs="EPSG:4326")
    counts = report["match"].value_counts()
    if len(todo):
        warnings.append("village names matched to OSM places: " + ", ".join(
            f"{k} {int(counts.get(k, 0))}" for k in ("exact", "fuzzy", "ambiguous",
                                                      "unmatched")))
    result = finish("villages", gdf, source=str(path), pre_rejects=pre, source_rows=rows,
                    warnings=warnings, bounds=bounds)
    rejected_rows = set(result.rejected["source_row"].tolist()) if len(result.rejected) else set()
    bad = report["source_row"].isin(rejected_rows) & report["match"].isin(
        ["exact", "fuzzy", "geometry"])
    if bad.any():
        reasons = dict(zip(result.rejected["source_row"], result.rejected["reject_reason"],
                           strict=False))
        report.loc[bad, "note"] = report.loc[bad, "source_row"].map(reasons)
        report.loc[bad, "match"] = "error"
    return result, report


def write_match_report(report: pd.DataFrame, path: str | os.PathLike, *,
                       overwrite: bool = True) -> Path:
    """The match report as CSV (UTF-8 with BOM, cells neutralised)."""
    from phusong.layers._rejects import write_rejects_csv

    return write_rejects_csv(report, Path(path), overwrite=overwrite)
