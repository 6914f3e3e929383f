"""OpenStreetMap → ``roads``, ``villages``, ``towers``, ``bts`` and ``post_offices``.

Sources, told apart by their content (not their suffix): OSM XML (``.osm``, ``.osm.bz2``);
``.osm.pbf`` (the part within the province's box is written as OSM XML with pyosmium first);
Geofabrik's free shapefiles (their folder, one of its ``gis_osm_*_free_1.shp`` or the zip;
``fclass`` read as the OSM tags); GeoJSON exports (overpass turbo, osmtogeojson, QuickOSM,
ogr2ogr/QGIS with ``other_tags``); or — online, through osmnx and the Overpass API — a place
name (``"Lai Châu, Việt Nam"``) or a lon/lat polygon. From national files only the features
within the province's box plus :data:`AREA_MARGIN_DEG` are read; those of them outside the
province are rejected with that reason. Every source goes through the same mapping:

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
    ``population`` tag, else unknown (to be filled from a population raster,
    :func:`layers.importers.population.fill_population`, or a village list); ``households`` is
    population / 4.5 (:data:`~layers.importers._common.AVG_HOUSEHOLD_SIZE`), rounded.
    ``commune_code`` is the commune polygon (``admin_units``, level ``commune``) holding
    the village; a village in none of them is rejected as outside the province. Without
    communes every village gets commune ``"unknown"`` and a warning.
    OSM knows nothing of grid power, border areas or extremely difficult areas: the three
    flags stay unknown (empty, never False) and the result's warnings say for how many
    villages.
towers and bts
    ``man_made=mast|tower`` with ``tower:type=communication`` (other masts are skipped and
    counted in a warning). ``tower_id`` ``OSM-N<id>``; ``height_m`` from ``height``
    (``"36"``, ``"36 m"``, ``"118 ft"``) else 30 m; ``owner`` the first operator of the
    ``operator`` tag (``"Viettel;VNPT"`` → both operators get BTS) mapped with
    :func:`layers.operators.parse_operator` — a mast whose operator the tool does not know is
    rejected with the reason; a mast **without** an ``operator`` tag (most of OSM) is kept as
    a tower of owner ``unknown`` (:data:`layers.operators.UNKNOWN_OPERATOR`) without BTS: a
    sharing candidate for every operator and a rollout candidate site. Masts outside the
    province are rejected as such. One BTS per operator × technology; technologies come from
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
import pyogrio
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
from phusong.layers.operators import UNKNOWN_OPERATOR, parse_operator

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
#: suffixes read as OSM files even before they exist (a missing file is then reported)
_FILE_SUFFIXES = (".osm", ".xml", ".osm.bz2", ".osm.xml", ".pbf", ".geojson", ".json",
                  ".shp", ".zip")
#: Geofabrik shapefile layers read (``gis_osm_<layer>_free_1.shp``, older ``gis.osm_…``)
GEOFABRIK_LAYERS = ("places", "places_a", "pois", "pois_a", "roads")
#: Geofabrik ``fclass`` → OSM tags
_GEOFABRIK_TAGS: dict[str, dict[str, dict[str, str]]] = {
    "places": {c: {"place": c} for c in (*PLACE_VALUES, "dwelling", "farm")},
    "pois": {"comms_tower": {"man_made": "mast", "tower:type": "communication"},
             "tower": {"man_made": "tower"},
             "post_office": {"amenity": "post_office"}},
}
#: margin around the province's box within which OSM features of a national or regional
#: file are read (and those outside the province rejected with the reason); features
#: further away are not input rows of this province
AREA_MARGIN_DEG = 0.1


def _kind(source: Any) -> str:
    """``"xml"``, ``"pbf"``, ``"geojson"``, ``"geofabrik"`` (files, detected by content),
    ``"place"`` or ``"polygon"`` (online)."""
    if isinstance(source, BaseGeometry):
        return "polygon"
    if isinstance(source, str) and not Path(source).exists() and not source.lower().endswith(
            _FILE_SUFFIXES):
        return "place"
    if not isinstance(source, str | os.PathLike):
        raise InputError(f"OSM source {source!r}: pass an OSM file, a place name or a polygon")
    return _file_kind(Path(source))


def _file_kind(path: Path) -> str:
    if not path.exists():
        raise InputError(f"{path}: no such OSM file or folder")
    if path.is_dir():
        if _geofabrik_files(path):
            return "geofabrik"
        raise InputError(f"{path}: folder holds no Geofabrik OSM shapefiles "
                         "(gis_osm_places_free_1.shp, gis_osm_pois_free_1.shp, …)")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file; export the area from OpenStreetMap again")
    name = path.name.lower()
    if name.endswith((".shp", ".dbf", ".zip")):
        if name.endswith(".zip") or re.search(r"gis[._]osm_", name):
            return "geofabrik"
        raise InputError(f"{path}: a Shapefile that is not one of Geofabrik's OSM layers "
                         "(gis_osm_<layer>_free_1.shp); import it with the layer's own "
                         "command (phusong import towers|villages|… FILE)")
    if name.endswith(".bz2"):
        return "xml"
    with open(path, "rb") as fh:
        head = fh.read(512)
    if b"OSMHeader" in head[:64]:
        return "pbf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "xml"
    if text.startswith(b"{"):
        return "geojson"
    raise InputError(f"{path}: not an OSM file (OSM XML, .osm.pbf, GeoJSON or Geofabrik "
                     "shapefiles); check the download")


def _label(source: Any) -> str:
    if isinstance(source, BaseGeometry):
        return f"OSM polygon {tuple(round(v, 4) for v in source.bounds)}"
    return str(source)


def _geofabrik_files(path: Path) -> dict[str, str]:
    """Geofabrik layer name → shapefile (a GDAL path), from a folder, one of its files or a
    zip."""
    if path.is_dir():
        candidates = [str(p) for p in path.iterdir()]
    elif path.suffix.lower() == ".zip":
        import zipfile

        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except zipfile.BadZipFile:
            raise InputError(f"{path}: not a valid zip file (truncated?)") from None
        candidates = [f"/vsizip/{path.resolve()}/{n}" for n in names]
    else:
        candidates = [str(p) for p in path.parent.iterdir()]
    out = {}
    for c in candidates:
        m = re.fullmatch(r"gis[._]osm_([a-z_]+?)_free_1\.shp", c.rsplit("/", 1)[-1].lower())
        if m and m.group(1) in GEOFABRIK_LAYERS:
            out[m.group(1)] = c
    return out


def _area_box(area: BaseGeometry | None) -> tuple[float, float, float, float] | None:
    if area is None or area.is_empty:
        return None
    w, s, e, n = area.bounds
    m = AREA_MARGIN_DEG
    return (w - m, s - m, e + m, n + m)


def _geofabrik_frame(path: Path, tags: dict[str, Any],
                     box: tuple[float, float, float, float] | None) -> gpd.GeoDataFrame:
    """Geofabrik shapefiles as an osmnx-like features frame: (element, id) index and OSM
    tag columns, for the features matching ``tags``."""
    files = _geofabrik_files(path)
    frames = []
    for layer, shp in sorted(files.items()):
        base = layer.removesuffix("_a")
        mapping = _GEOFABRIK_TAGS.get(base)
        if mapping is None:
            continue
        wanted = [fc for fc, t in mapping.items() if _tags_match(t, tags)]
        if not wanted:
            continue
        where = "fclass IN ({})".format(", ".join(f"'{w}'" for w in wanted))
        try:
            gdf = pyogrio.read_dataframe(shp, where=where, bbox=box)
        except Exception as exc:
            raise InputError(f"{shp}: cannot be read as a Shapefile ({exc})") from None
        if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
            gdf = gdf.to_crs("EPSG:4326")
        rows = []
        for rec in gdf.itertuples(index=False):
            t = dict(mapping[rec.fclass])
            name = getattr(rec, "name", None)
            if isinstance(name, str) and name.strip():
                t["name"] = name
            pop = getattr(rec, "population", None)
            if pop is not None and pop == pop and int(pop) > 0:
                t["population"] = str(int(pop))
            rows.append(t)
        element = "way" if layer.endswith("_a") else "node"
        idx = pd.MultiIndex.from_arrays([[element] * len(gdf), gdf["osm_id"].astype(str)],
                                        names=["element", "id"])
        frames.append(gpd.GeoDataFrame(pd.DataFrame(rows, index=idx), geometry=gdf.geometry
                                       .values, crs="EPSG:4326"))
    if not frames:
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    return gpd.GeoDataFrame(pd.concat(frames), geometry="geometry", crs="EPSG:4326")


def _tags_match(feature_tags: dict[str, str], wanted: dict[str, Any]) -> bool:
    for key, value in wanted.items():
        if key not in feature_tags:
            continue
        have = feature_tags[key]
        if value is True or have == value or (isinstance(value, list | tuple) and have in value):
            return True
    return False


def _geojson_frame(path: Path, tags: dict[str, Any],
                   box: tuple[float, float, float, float] | None) -> gpd.GeoDataFrame:
    """An OSM GeoJSON export (overpass turbo, osmtogeojson, QuickOSM, ogr2ogr/QGIS with
    ``other_tags``) as an osmnx-like features frame."""
    import json

    from shapely.geometry import shape

    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid GeoJSON ({exc}); it may be truncated — export "
                         "it again") from None
    feats = data.get("features") if isinstance(data, dict) else None
    if not isinstance(feats, list):
        raise InputError(f"{path}: not a GeoJSON FeatureCollection of OSM features")
    elems, ids, rows, geoms = [], [], [], []
    for i, f in enumerate(feats):
        props = dict(f.get("properties") or {})
        inner = props.pop("tags", None)
        if isinstance(inner, dict):
            props.update(inner)
        hstore = props.pop("other_tags", None)  # ogr2ogr / QGIS exports of OSM
        if isinstance(hstore, str):
            for k, v in re.findall(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"', hstore):
                props.setdefault(k, v.replace('\\"', '"'))
        way_id = props.pop("osm_way_id", None)
        if way_id and not props.get("osm_id"):
            props["osm_id"], props["osm_type"] = way_id, "way"
        t = {str(k): str(v) for k, v in props.items() if v is not None and not str(
            k).startswith("@") and k not in ("id", "osm_id", "osm_type", "type", "osm_way_id")}
        if not _tags_match(t, tags) or not f.get("geometry"):
            continue
        ref = str(f.get("id") or props.get("@id") or props.get("id") or "")
        m = re.fullmatch(r"(node|way|relation)/(\d+)", ref)
        if m:
            elem, oid = m.group(1), m.group(2)
        else:
            oid = str(props.get("osm_id") or ref or i)
            elem = str(props.get("osm_type") or "node").lower()
            elem = {"n": "node", "w": "way", "r": "relation"}.get(elem[:1], "node")
        try:
            g = shape(f["geometry"])
        except Exception as exc:  # a broken geometry: reported per row by validation
            logger.info("%s: feature %d has a broken geometry (%s)", path, i, exc)
            g = None
        if box is not None and g is not None and not g.is_empty and not shapely.intersects(
                shapely.box(*box), g):
            continue
        elems.append(elem)
        ids.append(oid)
        rows.append(t)
        geoms.append(g)
    idx = pd.MultiIndex.from_arrays([elems, ids], names=["element", "id"])
    return gpd.GeoDataFrame(pd.DataFrame(rows, index=idx), geometry=geoms, crs="EPSG:4326")


def pbf_to_xml(pbf: str | os.PathLike, xml: str | os.PathLike, *,
               box: tuple[float, float, float, float] | None = None) -> dict[str, int]:
    """Write the part of an ``.osm.pbf`` that the importers use as OSM XML (pyosmium).

    Kept: ways tagged ``highway``, ``place``, ``man_made`` or ``amenity`` with a node in
    ``box`` (all of them without a box) and their nodes; nodes with such tags in the box;
    ``place`` relations whose member ways are kept. Returns counts of what was written.
    """
    import osmium
    from osmium.filter import EntityFilter, IdFilter, KeyFilter

    keys = ("highway", "place", "man_made", "amenity")

    def inside(lon: float, lat: float) -> bool:
        return box is None or (box[0] <= lon <= box[2] and box[1] <= lat <= box[3])

    # the filters run in C++: Python only sees the few objects the importers use
    way_ids: set[int] = set()
    node_ids: set[int] = set()
    try:
        fp = (osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations().with_filter(EntityFilter(osmium.osm.WAY))
              .with_filter(KeyFilter(*keys)))
        for w in fp:
            try:
                locs = [(n.lon, n.lat) for n in w.nodes]
            except osmium.InvalidLocationError:
                continue
            if any(inside(x, y) for x, y in locs):
                way_ids.add(w.id)
                node_ids.update(n.ref for n in w.nodes)
    except RuntimeError as exc:
        raise InputError(f"{pbf}: cannot be read as OSM PBF ({exc}); it may be truncated — "
                         "download it again") from None
    counts = {"nodes": 0, "ways": 0, "relations": 0}
    written: set[int] = set()
    with osmium.SimpleWriter(str(xml), overwrite=True) as writer:
        for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE).with_filter(
                IdFilter(node_ids)):
            writer.add_node(node)
            written.add(node.id)
        for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE).with_filter(
                KeyFilter(*keys)):
            if node.id not in written and node.location.valid() and inside(
                    node.location.lon, node.location.lat):
                writer.add_node(node)
                written.add(node.id)
        for way in osmium.FileProcessor(str(pbf), osmium.osm.WAY).with_filter(
                IdFilter(way_ids)):
            writer.add_way(way)
            counts["ways"] += 1
        for rel in osmium.FileProcessor(str(pbf), osmium.osm.RELATION).with_filter(
                KeyFilter("place")):
            members = [m for m in rel.members if m.type == "w"]
            if members and all(m.ref in way_ids for m in members):
                writer.add_relation(rel)
                counts["relations"] += 1
    counts["nodes"] = len(written)
    logger.info("%s → %s: %s", pbf, xml, counts)
    return counts


def _features(source: Any, tags: dict[str, Any],
              box: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    kind = _kind(source)
    if kind == "geofabrik":
        return _geofabrik_frame(Path(source), tags, box)
    if kind == "geojson":
        return _geojson_frame(Path(source), tags, box)
    if kind == "pbf":
        raise InputError(f"{source}: internal: PBF must be converted first")  # read_osm does
    try:
        if kind == "xml":
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
        if kind == "xml":
            return ox.graph_from_xml(Path(source), simplify=True, retain_all=True)
        if kind == "place":
            return ox.graph_from_place(source, custom_filter=filt, retain_all=True)
        return ox.graph_from_polygon(source, custom_filter=filt, retain_all=True)
    except InsufficientResponseError:
        return None
    except (xml.sax.SAXException, *ET_ERRORS) as exc:
        raise InputError(f"{source}: not a well-formed OSM XML file ({exc}); it may be "
                         "truncated — export it again") from None
    except ValueError as exc:  # osmnx: "Found no graph nodes within the requested polygon"
        logger.info("no road graph in %s: %s", source, exc)
        return None


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
def _roads_from_frame(source: Any, label: str, box: tuple[float, float, float, float] | None
                      ) -> ImportResult:
    """Roads of a Geofabrik ``roads`` layer or a GeoJSON export: one row per way."""
    kind = _kind(source)
    if kind == "geofabrik":
        files = _geofabrik_files(Path(source))
        if "roads" not in files:
            return finish("roads", None, source=label, warnings=[
                "no roads layer (gis_osm_roads_free_1.shp) among the Geofabrik files; "
                "distances use straight lines"])
        try:
            gdf = pyogrio.read_dataframe(files["roads"], bbox=box)
        except Exception as exc:
            raise InputError(f"{files['roads']}: cannot be read as a Shapefile ({exc})"
                             ) from None
        hw = gdf["fclass"].astype(str).str.replace(r"^track_grade\d$", "track", regex=True)
        hw = hw.replace({"unknown": "road"})
        ids = "OSM-W" + gdf["osm_id"].astype(str)
        geoms = gdf.to_crs("EPSG:4326").geometry.values if gdf.crs else gdf.geometry.values
    else:
        raw = _features(source, {"highway": True}, box)
        raw = raw[raw.geometry.geom_type.isin(["LineString", "MultiLineString"])] \
            if len(raw) else raw
        flat = _flat(raw) if len(raw) else gpd.GeoDataFrame({"osm_id": []}, geometry=[])
        hw = _tag(flat, "highway")
        ids = flat["osm_id"]
        geoms = flat.geometry.values
    rows = gpd.GeoDataFrame({"highway": hw.values, "road_id": ids.values}, geometry=geoms,
                            crs="EPSG:4326")
    keep = rows["highway"].isin(ROAD_CLASSES)
    pre = {pos: ("highway", f"{rows['highway'].iloc[pos]} is not a road for vehicles or a "
                 "track") for pos in np.flatnonzero(~keep.to_numpy())}
    return finish("roads", rows, pre_rejects=pre, source=label)


def _roads(source: Any, label: str, box: tuple[float, float, float, float] | None = None
           ) -> ImportResult:
    import osmnx as ox

    if _kind(source) in ("geofabrik", "geojson"):
        return _roads_from_frame(source, label, box)
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


def _villages(source: Any, label: str, admin_units: gpd.GeoDataFrame | None,
              box: tuple[float, float, float, float] | None = None) -> ImportResult:
    raw = _features(source, {"place": list(PLACE_VALUES)}, box)
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
                        f"({', '.join(sorted(set(pop_tag[bad_pop])))}); left unknown")
    population = pops.astype("Int64")
    geom = gdf.geometry
    is_point = geom.geom_type == "Point"
    rows = gpd.GeoDataFrame({
        "village_id": gdf["osm_id"], "name": name.where(name != "", None), "commune_code": UNKNOWN_COMMUNE,
        "population": pd.Series([None if v is pd.NA else int(v) for v in population],
                                index=gdf.index, dtype=object),
        "households": pd.Series([None if v is pd.NA else round(v / AVG_HOUSEHOLD_SIZE)
                                 for v in population], index=gdf.index, dtype=object),
        "has_grid_power": None, "border_area": None, "extremely_difficult": None,
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
                        "area are not in OSM; left unknown — fill them from the province's "
                        "village list (phusong import villages)")
        no_pop = int(rows.loc[ok, "population"].isna().sum())
        if no_pop:
            warnings.append(f"{no_pop} villages have no population tag: population unknown "
                            "until filled from a population raster (phusong import "
                            "population) or a village list")
    return finish("villages", rows, pre_rejects=pre, warnings=warnings, source=label)


def _height_m(text: str) -> float | None:
    m = re.match(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(m|ft|')?\s*$", text or "")
    if not m:
        return None
    v = float(m.group(1).replace(",", "."))
    return v * 0.3048 if m.group(2) in ("ft", "'") else v


def _masts(source: Any, label: str, area: BaseGeometry | None,
           box: tuple[float, float, float, float] | None = None
           ) -> tuple[ImportResult, ImportResult]:
    raw = _features(source, {"man_made": ["mast", "tower"]}, box)
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
    n_height, n_tech, n_unknown = 0, 0, 0
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
        owner = ops[0] if ops else (UNKNOWN_OPERATOR if not op_tag else op_tag)
        towers.append({"tower_id": tid, "height_m": h, "owner": owner,
                       "power_source": "grid", "geometry": geoms.iloc[pos]})
        if area is not None and not geoms.iloc[pos].within(area):
            pre[pos] = ("geometry", "outside the province")
            continue
        if not ops:  # no operator tag: a tower of unknown owner, without BTS; an operator
            n_unknown += not op_tag  # the tool does not know is rejected by validation
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
    if n_unknown:
        warnings.append(f"{n_unknown} telecom masts without an operator tag: kept as towers of "
                        f"owner '{UNKNOWN_OPERATOR}' (sharing and rollout candidates, no BTS)")
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


def _post_offices(source: Any, label: str, area: BaseGeometry | None,
                  box: tuple[float, float, float, float] | None = None) -> ImportResult:
    raw = _features(source, {"amenity": "post_office"}, box)
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
        Keep masts and post offices inside this lon/lat polygon (the province; default: the
        union of ``admin_units``); features outside are rejected with that reason.

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
    area = area_lonlat
    if area is None and admin_units is not None and len(admin_units):
        area = shapely.union_all(shapely.make_valid(admin_units.to_crs(
            "EPSG:4326").geometry.values))
    box = _area_box(area)
    if _kind(source) == "pbf":
        import tempfile

        with tempfile.TemporaryDirectory(prefix="phusong-osm-") as tmp:
            xml_path = Path(tmp) / "extract.osm"
            counts = pbf_to_xml(source, xml_path, box=box)
            if not any(counts.values()):
                raise InputError(f"{source}: no OSM features of use inside the province's "
                                 "box; is it the right extract?")
            out = read_osm(xml_path, layers=layers, admin_units=admin_units,
                           area_lonlat=area_lonlat)
        for result in out.values():
            result.source = label
        return out
    out: dict[str, ImportResult] = {}
    if "roads" in layers:
        out["roads"] = _roads(source, label, box)
    if "villages" in layers:
        out["villages"] = _villages(source, label, admin_units, box)
    if "towers" in layers or "bts" in layers:
        out["towers"], out["bts"] = _masts(source, label, area, box)
    if "post_offices" in layers:
        out["post_offices"] = _post_offices(source, label, area, box)
    if box is not None and _kind(source) in ("geofabrik", "geojson"):
        for result in out.values():
            result.warnings.insert(0, f"read the features within lon {box[0]:.2f}–{box[2]:.2f}, "
                                      f"lat {box[1]:.2f}–{box[3]:.2f} (the province's box and "
                                      f"{AREA_MARGIN_DEG}°); those outside the province are "
                                      "rejected")
    return {k: v for k, v in out.items() if k in layers}
