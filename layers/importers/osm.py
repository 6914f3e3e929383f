"""OpenStreetMap → ``roads``, ``villages``, ``towers``, ``bts`` and ``post_offices``.

Sources: an OSM XML file (``.osm``, also ``.osm.bz2``) offline, or — online, through osmnx
and the Overpass API — a place name (``"Lai Châu, Việt Nam"``) or a lon/lat polygon.
Every source goes through the same mapping:

roads
    Ways with a drivable ``highway`` class or ``track`` (:data:`ROAD_CLASSES`), read with
    :func:`osmnx.graph_from_xml` / ``graph_from_place`` / ``graph_from_polygon``,
    simplified, made undirected, one row per edge: ``highway`` (the first class of a merged
    edge), ``road_id`` ``OSM-W<way id>``. Footways, paths, steps … are rejected with their
    class. :func:`gis.roads.graph_from_roads` rebuilds the graph from the layer.
villages
    ``place=village|hamlet|isolated_dwelling`` (nodes → points, which get a settlement
    buffer in the analyses; closed ways and multipolygons → polygons). ``village_id`` is
    ``OSM-N<id>`` (``W`` ways, ``R`` relations) — never a name. ``name`` is ``name:vi``,
    else ``name`` (NFC); a place without either is rejected. ``population`` comes from the
    ``population`` tag, else 0 (to be filled from a population raster,
    :func:`layers.importers.population.fill_population`); ``households`` is
    population / 4.5 (:data:`~layers.importers._common.AVG_HOUSEHOLD_SIZE`), rounded.
    ``commune_code`` is the commune polygon (``admin_units``, level ``commune``) holding
    the village; a village in none of them is rejected as outside the province. Without
    communes every village gets commune ``"unknown"`` and a warning.
    OSM knows nothing of grid power, border areas or extremely difficult areas: the three
    flags default to False and the result's warnings say for how many villages.
towers and bts
    ``man_made=mast|tower`` with ``tower:type=communication`` (other masts are skipped and
    counted in a warning). ``tower_id`` ``OSM-N<id>``; ``height_m`` from ``height``
    (``"36"``, ``"36 m"``, ``"118 ft"``) else 30 m; ``owner`` the first operator of the
    ``operator`` tag (``"Viettel;VNPT"`` → both operators get BTS) mapped with
    :func:`layers.operators.parse_operator` — a mast with no known operator is rejected with
    the reason. One BTS per operator × technology; technologies come from
    ``communication:mobile_phone`` (``gsm``/``umts``/``lte``/``nr`` or ``2g``…``5g``);
    ``yes`` or no tag means 4G (the technology every operator runs today) with a warning.
    Band and EIRP take the defaults of their technology; power source ``grid``.
post_offices
    ``amenity=post_office``: ``po_id`` ``OSM-N<id>``, ``name`` (``name:vi``/``name``, else
    ``"Bưu cục (không tên)"`` with a warning), ``kind`` guessed from the name ("bưu điện văn
    hóa xã" → BĐVHX, "bưu điện tỉnh" → cấp I, "bưu điện huyện" → cấp II, "đại lý" → đại lý,
    else cấp III), ``operator`` ``vnpost`` or ``viettelpost`` from the ``operator`` tag
    (default ``vnpost``), ``has_public_internet`` from ``internet_access``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import xml.sax
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from phusong.gis.errors import InputError, SchemaError
from phusong.layers.importers._common import (
    AVG_HOUSEHOLD_SIZE,
    DEFAULT_BAND_MHZ,
    DEFAULT_TOWER_HEIGHT_M,
    UNKNOWN_COMMUNE,
    ImportResult,
    finish,
    name_key,
    nfc,
)
from phusong.layers.operators import parse_operator

logger = logging.getLogger(__name__)

#: errors raised by the XML parsers osmnx uses on a malformed file
ET_ERRORS: tuple[type[Exception], ...] = (ParseError,)

__all__ = ["OSM_LAYERS", "PLACE_VALUES", "ROAD_CLASSES", "read_osm"]

OSM_LAYERS = ("roads", "villages", "towers", "bts", "post_offices")
PLACE_VALUES = ("village", "hamlet", "isolated_dwelling")
#: highway classes kept as roads: the drivable network plus tracks
ROAD_CLASSES = frozenset({
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "living_street", "service", "road", "track", "motorway_link", "trunk_link",
    "primary_link", "secondary_link", "tertiary_link"})
_TECH_TOKENS = {"gsm": "2G", "2g": "2G", "umts": "3G", "wcdma": "3G", "3g": "3G",
                "lte": "4G", "4g": "4G", "nr": "5G", "5g": "5G"}
_PREFIX = {"node": "N", "way": "W", "relation": "R"}


# -- sources --------------------------------------------------------------------------------
def _kind(source: Any) -> str:
    if isinstance(source, BaseGeometry):
        return "polygon"
    if isinstance(source, os.PathLike) or (isinstance(source, str) and source.lower().endswith(
            (".osm", ".xml", ".osm.bz2", ".osm.xml", ".pbf"))):
        return "file"
    if isinstance(source, str):
        return "place"
    raise InputError(f"OSM source {source!r}: pass an .osm file, a place name or a polygon")


def _label(source: Any) -> str:
    if isinstance(source, BaseGeometry):
        return f"OSM polygon {tuple(round(v, 4) for v in source.bounds)}"
    return str(source)


def _check_file(path: Path) -> None:
    if path.name.lower().endswith(".pbf"):
        raise InputError(f"{path}: OSM PBF is not read directly; convert it to OSM XML, e.g. "
                         f"`osmium cat {path.name} -o {path.name[:-4]}` (osmium-tool), or cut "
                         "the province with `osmium extract -b W,S,E,N … -o province.osm`")
    if not path.exists():
        raise InputError(f"{path}: no such OSM file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file; export the area from OpenStreetMap again")


def _features(source: Any, tags: dict[str, Any]) -> gpd.GeoDataFrame:
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    kind = _kind(source)
    try:
        if kind == "file":
            _check_file(Path(source))
            gdf = ox.features_from_xml(Path(source), tags=tags)
        elif kind == "place":
            gdf = ox.features_from_place(source, tags)
        else:
            gdf = ox.features_from_polygon(source, tags)
    except InsufficientResponseError:
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    except (xml.sax.SAXException, *ET_ERRORS) as exc:
        raise InputError(f"{source}: not a well-formed OSM XML file ({exc}); it may be "
                         "truncated — export it again") from None
    return gdf


def _graph(source: Any):
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    kind = _kind(source)
    filt = '["highway"~"' + "|".join(sorted(ROAD_CLASSES)) + '"]'
    try:
        if kind == "file":
            _check_file(Path(source))
            return ox.graph_from_xml(Path(source), simplify=True, retain_all=True)
        if kind == "place":
            return ox.graph_from_place(source, custom_filter=filt, retain_all=True)
        return ox.graph_from_polygon(source, custom_filter=filt, retain_all=True)
    except InsufficientResponseError:
        return None
    except (xml.sax.SAXException, *ET_ERRORS) as exc:
        raise InputError(f"{source}: not a well-formed OSM XML file ({exc}); it may be "
                         "truncated — export it again") from None


def _osm_ids(gdf: gpd.GeoDataFrame) -> pd.Series:
    """``OSM-N123`` style ids from the (element, id) index of an osmnx features frame."""
    if isinstance(gdf.index, pd.MultiIndex):
        elem = gdf.index.get_level_values(0)
        ids = gdf.index.get_level_values(1)
    else:
        elem = gdf.get("element", pd.Series("node", index=gdf.index))
        ids = gdf.get("id", gdf.index)
    return pd.Series([f"OSM-{_PREFIX.get(str(e), 'X')}{i}" for e, i in zip(elem, ids,
                                                                               strict=True)],
                     index=gdf.index)


def _tag(gdf: pd.DataFrame, key: str) -> pd.Series:
    if key in gdf:
        return gdf[key].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                            else nfc(v))
    return pd.Series("", index=gdf.index, dtype=object)


def _flat(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out.insert(0, "osm_id", _osm_ids(gdf).values)
    return out.reset_index(drop=True)


# -- layers ---------------------------------------------------------------------------------
def _roads(source: Any, label: str) -> ImportResult:
    import osmnx as ox

    G = _graph(source)
    if G is None or G.number_of_edges() == 0:
        return finish("roads", None, warnings=["no roads in the OSM data"], source=label)
    edges = ox.graph_to_gdfs(ox.convert.to_undirected(G), nodes=False).reset_index()

    def first(v: Any) -> Any:
        return v[0] if isinstance(v, list) and v else v

    hw = edges["highway"].map(lambda v: str(first(v)))
    osmid = edges["osmid"].map(first)
    rows = gpd.GeoDataFrame({"highway": hw, "road_id": "OSM-W" + osmid.astype(str),
                             "length_m": edges["length"]}, geometry=edges.geometry.values,
                            crs=edges.crs)
    keep = hw.isin(ROAD_CLASSES)
    pre = {pos: ("highway", f"{hw.iloc[pos]} is not a road for vehicles or a track")
           for pos in np.flatnonzero(~keep.to_numpy())}
    logger.info("roads from OSM: %d edges, %.1f km kept", int(keep.sum()),
                float(rows.loc[keep, "length_m"].sum()) / 1000)
    return finish("roads", rows, pre_rejects=pre, source=label)


def _parse_int(text: str) -> int | None:
    s = re.sub(r"[\s.,]", "", text)
    return int(s) if s.isdigit() else None


def _points_or_none(geom: gpd.GeoSeries, is_point: pd.Series) -> np.ndarray:
    arr = np.asarray(geom.values, dtype=object)
    return np.where(is_point.to_numpy(bool), arr, None) if len(arr) else np.array([], object)


def _or_none(values: np.ndarray) -> np.ndarray:
    """Floats with NaN as None (the validator reads NaN as a bad number, None as empty)."""
    return np.array([None if v != v else float(v) for v in values], dtype=object)


def _villages(source: Any, label: str, admin_units: gpd.GeoDataFrame | None) -> ImportResult:
    raw = _features(source, {"place": list(PLACE_VALUES)})
    if len(raw) and "place" in raw:
        raw = raw[raw["place"].isin(PLACE_VALUES)]
    gdf = _flat(raw) if len(raw) else gpd.GeoDataFrame({"osm_id": []}, geometry=[],
                                                      crs="EPSG:4326")
    warnings: list[str] = []
    name = _tag(gdf, "name:vi").where(_tag(gdf, "name:vi") != "", _tag(gdf, "name"))
    pop_tag = _tag(gdf, "population")
    pops = pop_tag.map(_parse_int)
    bad_pop = (pop_tag != "") & pops.isna()
    if bad_pop.any():
        warnings.append(f"{int(bad_pop.sum())} population tags are not numbers "
                        f"({', '.join(sorted(set(pop_tag[bad_pop])))}); set to 0")
    population = pops.fillna(0).astype(int)
    geom = gdf.geometry
    is_point = geom.geom_type == "Point"
    rows = gpd.GeoDataFrame({
        "village_id": gdf["osm_id"], "name": name.where(name != "", None), "commune_code": UNKNOWN_COMMUNE,
        "population": population,
        "households": (population / AVG_HOUSEHOLD_SIZE).round().astype(int),
        "has_grid_power": False, "border_area": False, "extremely_difficult": False,
        "centre_lon": _or_none(shapely.get_x(_points_or_none(geom, is_point))),
        "centre_lat": _or_none(shapely.get_y(_points_or_none(geom, is_point))),
    }, geometry=geom.values, crs=gdf.crs or "EPSG:4326")
    reason = pd.Series("", index=rows.index, dtype=object)
    communes = None
    if admin_units is not None and len(admin_units):
        communes = admin_units[admin_units["level"] == "commune"]
        if communes.empty:
            communes = None
            warnings.append("admin units have no communes: commune_code set to 'unknown'")
            prov = shapely.union_all(shapely.make_valid(admin_units.to_crs(
                "EPSG:4326").geometry.values))
            out = ~rows.geometry.representative_point().within(prov)
            reason[out & (reason == "")] = "outside the province"
    else:
        warnings.append("no commune polygons in the bundle: commune_code set to 'unknown' "
                        "(import admin boundaries first to join villages to communes)")
    if communes is not None and len(rows):
        pts = gpd.GeoDataFrame({"i": rows.index},
                               geometry=rows.geometry.representative_point().values,
                               crs=rows.crs)
        com = communes[["code", "geometry"]].to_crs(rows.crs)
        com = com.assign(geometry=shapely.make_valid(com.geometry.values))
        joined = gpd.sjoin(pts, com, how="left", predicate="within")
        joined = joined[~joined.index.duplicated()]
        code = pd.Series(joined["code"].values, index=joined["i"].values)
        rows["commune_code"] = code.reindex(rows.index).fillna("").astype(str)
        outside = rows["commune_code"] == ""
        reason[outside & (reason == "")] = "outside the province (in no commune polygon)"
    pre = {pos: ("geometry", reason.iloc[pos]) for pos in np.flatnonzero((reason != "")
                                                                          .to_numpy())}
    ok = (reason == "") & (name != "")
    n_ok = int(ok.sum())
    if n_ok:
        warnings.append(f"{n_ok} villages: grid power, border area and extremely difficult "
                        "area unknown in OSM; set to False — correct them from provincial lists")
        no_pop = int((rows.loc[ok, "population"] == 0).sum())
        if no_pop:
            warnings.append(f"{no_pop} villages have no population tag: population 0 until "
                            "filled from a population raster (phusong import population)")
    return finish("villages", rows, pre_rejects=pre, warnings=warnings, source=label)


def _height_m(text: str) -> float | None:
    m = re.match(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(m|ft|')?\s*$", text or "")
    if not m:
        return None
    v = float(m.group(1).replace(",", "."))
    return v * 0.3048 if m.group(2) in ("ft", "'") else v


def _masts(source: Any, label: str, area: BaseGeometry | None
           ) -> tuple[ImportResult, ImportResult]:
    raw = _features(source, {"man_made": ["mast", "tower"]})
    gdf = _flat(raw) if len(raw) else gpd.GeoDataFrame({"osm_id": []}, geometry=[],
                                                      crs="EPSG:4326")
    warnings: list[str] = []
    ttype = _tag(gdf, "tower:type").str.lower()
    telecom = ttype == "communication"
    if (~telecom).any():
        warnings.append(f"{int((~telecom).sum())} man_made=mast/tower without "
                        "tower:type=communication skipped (not telecom)")
    gdf = gdf[telecom].reset_index(drop=True)
    geoms = gdf.geometry.where(gdf.geometry.geom_type == "Point",
                               gdf.geometry.representative_point())
    op_tags, heights, mobile = (_tag(gdf, "operator"), _tag(gdf, "height"),
                                _tag(gdf, "communication:mobile_phone"))
    towers, bts, pre = [], [], {}
    n_height, n_tech = 0, 0
    for pos in range(len(gdf)):
        tid, op_tag = gdf["osm_id"].iloc[pos], op_tags.iloc[pos]
        ops, unknown = [], []
        for part in re.split(r"[;,/]", op_tag):
            if not part.strip():
                continue
            try:
                op = parse_operator(part).value
                if op not in ops:
                    ops.append(op)
            except SchemaError:
                unknown.append(part.strip())
        h = _height_m(heights.iloc[pos])
        if h is None:
            h, n_height = DEFAULT_TOWER_HEIGHT_M, n_height + 1
        towers.append({"tower_id": tid, "height_m": h, "owner": ops[0] if ops else op_tag or None,
                       "power_source": "grid", "geometry": geoms.iloc[pos]})
        if not ops:  # the validator rejects the unknown or empty owner
            continue
        if area is not None and not geoms.iloc[pos].within(area):
            pre[pos] = ("geometry", "outside the province")
            continue
        if unknown:
            warnings.append(f"{tid}: operators {', '.join(unknown)} unknown; kept "
                            f"{', '.join(ops)}")
        tokens = re.split(r"[;,\s]+", mobile.iloc[pos].lower())
        techs = sorted({_TECH_TOKENS[t] for t in tokens if t in _TECH_TOKENS})
        if not techs:
            techs, n_tech = ["4G"], n_tech + 1
        for op in ops:
            for tech in techs:
                bts.append({"bts_id": f"{tid}-{op}-{tech}", "tower_id": tid, "operator": op,
                            "tech": tech, "band_mhz": DEFAULT_BAND_MHZ[tech],
                            "antenna_height_m": h, "eirp_dbm": None,
                            "geometry": geoms.iloc[pos]})
    if n_height:
        warnings.append(f"{n_height} masts without a usable height tag: "
                        f"{DEFAULT_TOWER_HEIGHT_M:g} m")
    if n_tech:
        warnings.append(f"{n_tech} masts without communication:mobile_phone technologies: "
                        "4G assumed")
    if bts:
        warnings.append(f"{len({b['tower_id'] for b in bts})} masts: power source unknown in OSM, set to "
                        "grid; band and EIRP are technology defaults")
    tg = gpd.GeoDataFrame(towers, geometry="geometry", crs="EPSG:4326") if towers else None
    t = finish("towers", tg, pre_rejects=pre, warnings=warnings, source=label)
    bg = gpd.GeoDataFrame(bts, geometry="geometry", crs="EPSG:4326") if bts else None
    pre_b = {}
    if bg is not None:
        orphan = ~bg["tower_id"].isin(set(t.accepted["tower_id"]))
        pre_b = {pos: ("tower_id", "its tower was rejected")
                 for pos in np.flatnonzero(orphan.to_numpy())}
    b = finish("bts", bg, pre_rejects=pre_b, source=label)
    return t, b


def _po_kind(name: str) -> str | None:
    k = name_key(name, strip_prefix=False)
    if "vanhoaxa" in k or k.startswith("bdvhx") or "diemphucvu" in k:
        return "bdvhx"
    if "daily" in k:
        return "dai_ly"
    if "khaithac" in k or "kt1" in k:
        return "kt1"
    if "khachhanglon" in k:
        return "khach_hang_lon"
    if "buudientinh" in k or "capi" == k[-4:] or "cap1" in k:
        return "buu_cuc_cap_1"
    if "buudienhuyen" in k or "buudienthanhpho" in k or "buudienthixa" in k or "cap2" in k:
        return "buu_cuc_cap_2"
    return None


def _post_offices(source: Any, label: str, area: BaseGeometry | None) -> ImportResult:
    raw = _features(source, {"amenity": "post_office"})
    gdf = _flat(raw) if len(raw) else gpd.GeoDataFrame({"osm_id": []}, geometry=[],
                                                      crs="EPSG:4326")
    n_in = len(gdf)
    warnings: list[str] = []
    name = _tag(gdf, "name:vi").where(_tag(gdf, "name:vi") != "", _tag(gdf, "name"))
    no_name = name == ""
    if no_name.any():
        warnings.append(f"{int(no_name.sum())} post offices without a name: "
                        "'Bưu cục (không tên)'")
    name = name.where(~no_name, "Bưu cục (không tên)")
    kinds = name.map(_po_kind)
    if kinds.isna().any():
        warnings.append(f"{int(kinds.isna().sum())} post offices of unknown kind: "
                        "bưu cục cấp III assumed")
    op_tag = _tag(gdf, "operator").map(lambda s: name_key(s, strip_prefix=False))
    operator = np.where(op_tag.str.contains("viettel"), "viettelpost", "vnpost")
    if (op_tag == "").any():
        warnings.append(f"{int((op_tag == '').sum())} post offices without an operator tag: "
                        "vnpost assumed")
    internet = _tag(gdf, "internet_access").str.lower().isin(
        ["yes", "wlan", "wifi", "wired", "terminal", "public"])
    geoms = gdf.geometry.where(gdf.geometry.geom_type == "Point",
                               gdf.geometry.representative_point()) if n_in else gdf.geometry
    rows = gpd.GeoDataFrame({"po_id": gdf["osm_id"], "name": name,
                             "kind": kinds.fillna("buu_cuc_cap_3"), "operator": operator,
                             "has_public_internet": internet, "multi_service": False},
                            geometry=geoms.values, crs="EPSG:4326")
    pre = {}
    if area is not None and n_in:
        outside = ~rows.geometry.within(area)
        pre = {pos: ("geometry", "outside the province")
               for pos in np.flatnonzero(outside.to_numpy())}
    return finish("post_offices", rows, pre_rejects=pre, warnings=warnings, source=label)


def read_osm(source: str | os.PathLike | BaseGeometry, *,
             layers: Iterable[str] = OSM_LAYERS,
             admin_units: gpd.GeoDataFrame | None = None,
             area_lonlat: BaseGeometry | None = None) -> dict[str, ImportResult]:
    """Read OSM data into bundle layers.

    Parameters
    ----------
    source
        An OSM XML file (offline), a place name or a lon/lat polygon (online: osmnx
        queries the Overpass API).
    layers
        Which of :data:`OSM_LAYERS` to build.
    admin_units
        The bundle's admin units: villages are joined to their commune polygon.
    area_lonlat
        Keep masts and post offices inside this lon/lat polygon (the province); features
        outside are rejected.

    Returns
    -------
    dict
        Layer name → :class:`~layers.importers._common.ImportResult`.
    """
    layers = tuple(layers)
    unknown = [name for name in layers if name not in OSM_LAYERS]
    if unknown:
        raise InputError(f"unknown OSM layers {unknown}; choose from {', '.join(OSM_LAYERS)}")
    label = _label(source)
    out: dict[str, ImportResult] = {}
    if "roads" in layers:
        out["roads"] = _roads(source, label)
    if "villages" in layers:
        out["villages"] = _villages(source, label, admin_units)
    if "towers" in layers or "bts" in layers:
        out["towers"], out["bts"] = _masts(source, label, area_lonlat)
    if "post_offices" in layers:
        out["post_offices"] = _post_offices(source, label, area_lonlat)
    return {k: v for k, v in out.items() if k in layers}
