"""Write the importer test fixtures in their real file formats.

Run from the repository root::

    .venv/bin/python tests/data/importers/make_fixtures.py

Every fixture is synthetic (written by this script, no third-party data) and deterministic.
The fixture province "Lai Châu" is a small rectangle at 102.95–103.30 °E, 22.25–22.45 °N
(the real province is ~9 000 km²; this one is ~750 km²) split into two districts and four
communes; a neighbour "Điện Biên" lies south of it (22.05–22.25 °N). See README.md in this
folder for the provenance of each file and the real format it imitates.

SRTM ``.hgt`` tiles are 2.9 MB (3″) or 26 MB (1″) each, too big to commit:
:func:`write_hgt` writes them at test time into a temporary folder.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Polygon, box

HERE = Path(__file__).resolve().parent

# -- geography of the fixture province ------------------------------------------------------
PROVINCE_BOUNDS = (102.95, 22.25, 103.30, 22.45)   # lon/lat
NEIGHBOUR_BOUNDS = (102.95, 22.05, 103.30, 22.25)
LON_SPLIT, LAT_SPLIT = 103.125, 22.35

#: (code, name, district code, district name, bounds) — old 3-level structure
COMMUNES_OLD = [
    ("03124", "Xã Nà Hừ", "105", "Huyện Mường Tè", (102.95, 22.35, LON_SPLIT, 22.45)),
    ("03125", "Xã Pa Vệ Sử", "105", "Huyện Mường Tè", (102.95, 22.25, LON_SPLIT, 22.35)),
    ("03226", "Xã Sín Chải", "106", "Huyện Sìn Hồ", (LON_SPLIT, 22.35, 103.30, 22.45)),
    ("03227", "Xã Tả Phìn", "106", "Huyện Sìn Hồ", (LON_SPLIT, 22.25, 103.30, 22.35)),
]
#: new 2-level structure (after 1/7/2025): two merged communes, parent = province
COMMUNES_NEW = [
    ("03130", "Xã Mường Tè", (102.95, 22.25, LON_SPLIT, 22.45)),
    ("03230", "Xã Sìn Hồ", (LON_SPLIT, 22.25, 103.30, 22.45)),
]

#: villages: (osm node id, name:vi, name (ascii), lon, lat, population tag or None)
VILLAGES = [
    (1001, "Bản Nà Hừ", "Ban Na Hu", 103.02, 22.40, "420"),
    (1002, "Bản Pa Vệ Sử", "Ban Pa Ve Su", 103.05, 22.30, None),
    (1003, "Thôn Sín Chải", "Thon Sin Chai", 103.20, 22.41, "315"),
    (1004, "Bản Tả Phìn", None, 103.24, 22.29, None),
    (1005, "Bản Huổi Luông", "Ban Huoi Luong", 103.15, 22.33, "not a number"),
    (1006, "Bản Nậm Pồ", "Ban Nam Po", 103.10, 22.15, None),   # in Điện Biên: outside
    (1007, None, None, 103.08, 22.36, None),                    # no name: rejected
]
#: masts: (node id, man_made, tower:type, operator, height, communication:mobile_phone, lon, lat)
MASTS = [
    (2001, "mast", "communication", "Viettel", "42", "gsm;lte", 103.03, 22.39),
    (2002, "tower", "communication", "VNPT", "36 m", "yes", 103.21, 22.40),
    (2003, "mast", "communication", "Viettel;MobiFone", None, None, 103.06, 22.31),
    (2004, "mast", "communication", "Công ty ABC", "30", None, 103.23, 22.30),  # unknown op
    (2005, "mast", "communication", None, "25", None, 103.15, 22.34),         # no operator
    (2006, "tower", "observation", None, "15", None, 103.12, 22.42),          # not telecom
]
#: post offices: (node id, name, operator, internet_access, lon, lat)
POST_OFFICES = [
    (3001, "Bưu điện văn hóa xã Nà Hừ", "VNPost", "wlan", 103.021, 22.401),
    (3002, "Bưu điện huyện Sìn Hồ", "Bưu điện Việt Nam", None, 103.201, 22.409),
    (3003, None, None, None, 103.051, 22.301),
]


def _xml_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _node(nid: int, lon: float, lat: float, tags: dict[str, str | None]) -> str:
    attrs = (f'id="{nid}" visible="true" version="1" changeset="1" '
             f'timestamp="2024-05-01T00:00:00Z" user="fixture" uid="1" '
             f'lat="{lat:.7f}" lon="{lon:.7f}"')
    tag_xml = "".join(f'\n    <tag k="{k}" v="{_xml_escape(v)}"/>' for k, v in tags.items()
                      if v is not None)
    if not tag_xml:
        return f"  <node {attrs}/>"
    return f"  <node {attrs}>{tag_xml}\n  </node>"


def _way(wid: int, refs: list[int], tags: dict[str, str]) -> str:
    nds = "".join(f'\n    <nd ref="{r}"/>' for r in refs)
    tag_xml = "".join(f'\n    <tag k="{k}" v="{_xml_escape(v)}"/>' for k, v in tags.items())
    return (f'  <way id="{wid}" visible="true" version="1" changeset="1" '
            f'timestamp="2024-05-01T00:00:00Z" user="fixture" uid="1">{nds}{tag_xml}\n  </way>')


def osm_xml() -> str:
    """An OSM XML extract (API 0.6 format) of the fixture province."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<osm version="0.6" generator="phusong make_fixtures.py">',
             '  <bounds minlat="22.05" minlon="102.95" maxlat="22.45" maxlon="103.30"/>']
    # road nodes: a primary road west-east through the province, a track north, a
    # residential spur, a footway (not drivable: rejected by the roads importer)
    road_nodes = {
        1: (102.96, 22.33), 2: (103.02, 22.34), 3: (103.06, 22.32), 4: (103.125, 22.335),
        5: (103.18, 22.37), 6: (103.22, 22.40), 7: (103.29, 22.41),
        8: (103.03, 22.37), 9: (103.02, 22.395),                   # track to Nà Hừ
        10: (103.23, 22.33), 11: (103.24, 22.295),                 # residential to Tả Phìn
        12: (103.10, 22.36), 13: (103.08, 22.36),                  # footway
        14: (103.125, 22.30), 15: (103.125, 22.16),                # tertiary south to Điện Biên
    }
    for nid, (lon, lat) in road_nodes.items():
        lines.append(_node(nid, lon, lat, {}))
    # village polygon (closed way) for Huổi Luông
    poly = {21: (103.145, 22.325), 22: (103.158, 22.325), 23: (103.158, 22.337),
            24: (103.145, 22.337)}
    for nid, (lon, lat) in poly.items():
        lines.append(_node(nid, lon, lat, {}))
    for nid, name_vi, name, lon, lat, pop in VILLAGES:
        if nid == 1005:
            continue  # mapped as a polygon below
        tags = {"place": "village" if nid != 1004 else "hamlet", "name": name or name_vi,
                "name:vi": name_vi, "population": pop}
        if name_vi is None:
            tags = {"place": "isolated_dwelling"}
        lines.append(_node(nid, lon, lat, tags))
    for nid, man_made, ttype, op, height, mobile, lon, lat in MASTS:
        lines.append(_node(nid, lon, lat, {"man_made": man_made, "tower:type": ttype,
                                           "operator": op, "height": height,
                                           "communication:mobile_phone": mobile}))
    for nid, name, op, internet, lon, lat in POST_OFFICES:
        lines.append(_node(nid, lon, lat, {"amenity": "post_office", "name": name,
                                           "operator": op, "internet_access": internet}))
    lines.append(_way(101, [1, 2, 3, 4, 5, 6, 7], {"highway": "primary", "ref": "QL4D",
                                                   "name": "Quốc lộ 4D"}))
    lines.append(_way(102, [2, 8, 9], {"highway": "track", "tracktype": "grade3"}))
    lines.append(_way(103, [6, 10, 11], {"highway": "residential", "oneway": "yes"}))
    lines.append(_way(104, [3, 12, 13], {"highway": "footway"}))
    lines.append(_way(105, [4, 14, 15], {"highway": "tertiary"}))
    name_vi, name = VILLAGES[4][1], VILLAGES[4][2]
    lines.append(_way(201, [21, 22, 23, 24, 21], {"place": "village", "name": name,
                                                  "name:vi": name_vi,
                                                  "population": VILLAGES[4][5]}))
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


# -- OpenCelliD ----------------------------------------------------------------------------
OCID_COLUMNS = ["radio", "mcc", "net", "area", "cell", "unit", "lon", "lat", "range",
                "samples", "changeable", "created", "updated", "averageSignal"]


def opencellid_rows() -> list[list[object]]:
    """Cell rows: several cells per site, four operators, and the malformed ones."""
    rng = np.random.default_rng(452)
    sites = [  # (net, lon, lat, radios)
        (4, 103.030, 22.390, ("GSM", "LTE", "LTE")),      # Viettel, Nà Hừ
        (4, 103.210, 22.405, ("GSM", "UMTS", "LTE")),     # Viettel, Sín Chải
        (2, 103.212, 22.404, ("GSM", "LTE")),             # Vinaphone, ~200 m away
        (1, 103.060, 22.310, ("LTE",)),                   # MobiFone, Pa Vệ Sử
        (5, 103.235, 22.300, ("GSM",)),                   # Vietnamobile, Tả Phìn
        (4, 103.150, 22.335, ("LTE", "NR")),              # Viettel, Huổi Luông
    ]
    rows: list[list[object]] = []
    cell = 10_000
    for i, (net, lon, lat, radios) in enumerate(sites):
        for radio in radios:
            cell += 1
            dlon, dlat = rng.normal(0, 0.0003, 2)  # ~30 m scatter of crowd-sourced fixes
            rows.append([radio, 452, net, 1200 + i, cell, 0, round(lon + dlon, 6),
                         round(lat + dlat, 6), 1000, 12 + i, 1, 1_600_000_000,
                         1_700_000_000, 0])
    # malformed / foreign rows, each rejected with its own reason
    rows.append(["LTE", 310, 260, 1, 99001, 0, 103.1, 22.3, 1000, 5, 1, 1_600_000_000,
                 1_700_000_000, 0])                                  # wrong MCC
    rows.append(["LTE", 452, 7, 1, 99002, 0, 103.1, 22.3, 1000, 5, 1, 1_600_000_000,
                 1_700_000_000, 0])                                  # unknown MNC
    rows.append(["GSM", 452, 4, 1, 99003, 0, 22.36, 103.10, 1000, 5, 1, 1_600_000_000,
                 1_700_000_000, 0])                                  # lat/lon swapped
    rows.append(["LTE", 452, 4, 1, 99004, 0, "abc", 22.3, 1000, 5, 1, 1_600_000_000,
                 1_700_000_000, 0])                                  # bad lon
    rows.append(["LTE", 452, 4, 1, 99005, 0, 103.10, 22.15, 1000, 5, 1, 1_600_000_000,
                 1_700_000_000, 0])                                  # outside province
    rows.append(["CDMA", 452, 4, 1, 99006, 0, 103.10, 22.30, 1000, 5, 1, 1_600_000_000,
                 1_700_000_000, 0])                                  # unknown radio
    rows.append(list(rows[0]))                                      # duplicate cell
    return rows


def opencellid_csv(*, header: bool = True, truncated: bool = True) -> str:
    lines = [",".join(OCID_COLUMNS)] if header else []
    lines += [",".join(str(v) for v in row) for row in opencellid_rows()]
    if truncated:
        lines.append("LTE,452,4,1205,10099,0,103.15")  # a download cut short
    return "\n".join(lines) + "\n"


# -- admin boundaries ----------------------------------------------------------------------
def _gadm_frames() -> dict[int, gpd.GeoDataFrame]:
    base = {"GID_0": "VNM", "COUNTRY": "Vietnam"}
    # GADM 4.1 spells some Vietnamese names without the space ("LaiChâu"): kept on purpose
    prov = [("VNM.27_1", "LaiChâu", "Lai Chau", box(*PROVINCE_BOUNDS)),
            ("VNM.15_1", "ĐiệnBiên", "Dien Bien", box(*NEIGHBOUR_BOUNDS))]
    l1 = gpd.GeoDataFrame([{**base, "GID_1": g, "NAME_1": n, "VARNAME_1": v,
                            "NL_NAME_1": "", "TYPE_1": "Tỉnh", "ENGTYPE_1": "Province",
                            "CC_1": "", "HASC_1": "VN.LC" if g == "VNM.27_1" else "VN.DB",
                            "ISO_1": "", "geometry": geom} for g, n, v, geom in prov],
                          crs="EPSG:4326")
    dists = {}
    for _code, _name, dcode, dname, b in COMMUNES_OLD:
        dists.setdefault(dcode, [dname, []])[1].append(box(*b))
    l2_rows, l3_rows = [], []
    for j, (dcode, (dname, geoms)) in enumerate(sorted(dists.items()), start=1):
        gid2 = f"VNM.27.{j}_1"
        union = gpd.GeoSeries(geoms).union_all()
        l2_rows.append({**base, "GID_1": "VNM.27_1", "NAME_1": "LaiChâu", "GID_2": gid2,
                        "NAME_2": dname.removeprefix("Huyện "), "TYPE_2": "Huyện",
                        "ENGTYPE_2": "District", "geometry": union})
        k = 0
        for _code, name, dc, _dn, b in COMMUNES_OLD:
            if dc != dcode:
                continue
            k += 1
            l3_rows.append({**base, "GID_1": "VNM.27_1", "NAME_1": "LaiChâu", "GID_2": gid2,
                            "NAME_2": dname.removeprefix("Huyện "),
                            "GID_3": f"VNM.27.{j}.{k}_1", "NAME_3": name.removeprefix("Xã "),
                            "TYPE_3": "Xã", "ENGTYPE_3": "Commune", "geometry": box(*b)})
    # one district of the neighbour, so filtering by province is exercised
    l2_rows.append({**base, "GID_1": "VNM.15_1", "NAME_1": "ĐiệnBiên", "GID_2": "VNM.15.1_1",
                    "NAME_2": "Mường Nhé", "TYPE_2": "Huyện", "ENGTYPE_2": "District",
                    "geometry": box(*NEIGHBOUR_BOUNDS)})
    l3_rows.append({**base, "GID_1": "VNM.15_1", "NAME_1": "ĐiệnBiên", "GID_2": "VNM.15.1_1",
                    "NAME_2": "Mường Nhé", "GID_3": "VNM.15.1.1_1", "NAME_3": "Nậm Kè",
                    "TYPE_3": "Xã", "ENGTYPE_3": "Commune",
                    "geometry": box(*NEIGHBOUR_BOUNDS)})
    return {1: l1, 2: gpd.GeoDataFrame(l2_rows, crs="EPSG:4326"),
            3: gpd.GeoDataFrame(l3_rows, crs="EPSG:4326")}


def _geoboundaries_frames() -> dict[int, gpd.GeoDataFrame]:
    gadm = _gadm_frames()
    out = {}
    for level, gdf in gadm.items():
        name_col = f"NAME_{level}"
        names = gdf[name_col].str.replace("LaiChâu", "Lai Châu").str.replace(
            "ĐiệnBiên", "Điện Biên")
        if level == 2:
            names = "Huyện " + names
        rows = [{"shapeName": n, "shapeISO": "", "shapeID": f"{17000000 + 1000 * level + i}"
                 f"B{level}{i:08d}", "shapeGroup": "VNM", "shapeType": f"ADM{level}",
                 "geometry": g} for i, (n, g) in enumerate(zip(names, gdf.geometry,
                                                                strict=True))]
        out[level] = gpd.GeoDataFrame(rows, crs="EPSG:4326")
    return out


def _official_old() -> gpd.GeoDataFrame:
    rows = [{"MaTinh": "12", "TenTinh": "Tỉnh Lai Châu", "MaHuyen": dcode, "TenHuyen": dname,
             "MaXa": code, "TenXa": name, "geometry": box(*b)}
            for code, name, dcode, dname, b in COMMUNES_OLD]
    rows.append({"MaTinh": "11", "TenTinh": "Tỉnh Điện Biên", "MaHuyen": "096",
                 "TenHuyen": "Huyện Mường Nhé", "MaXa": "03160", "TenXa": "Xã Nậm Kè",
                 "geometry": box(*NEIGHBOUR_BOUNDS)})
    # VN-2000 / TM-3 103-00 (EPSG:9205), the CRS of provincial cadastral data
    return gpd.GeoDataFrame(rows, crs="EPSG:4326").to_crs("EPSG:9205")


def _official_new() -> gpd.GeoDataFrame:
    rows = [{"ma_tinh": "12", "ten_tinh": "Lai Châu", "ma_xa": code, "ten_xa": name,
             "geometry": box(*b)} for code, name, b in COMMUNES_NEW]
    # reportedly the post-2025 map meridian of Lai Châu: 104°45′ (EPSG:9208)
    return gpd.GeoDataFrame(rows, crs="EPSG:4326").to_crs("EPSG:9208")


# -- rasters ------------------------------------------------------------------------------
def _terrain(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Smooth synthetic mountains (m): ridges running NW-SE, 300–2 400 m."""
    return (1300 + 700 * np.sin((lon - 102.9) * 40 + (lat - 22.2) * 25)
            + 400 * np.cos((lat - 22.2) * 55)).astype("float32")


def write_dem_geotiff(path: Path, *, voids: bool = True, crs: str | None = "EPSG:4326") -> Path:
    """A 1 arc-second-ish (0.0025°) float32 GeoTIFF DEM over the province, with voids."""
    res = 0.0025
    west, north = 102.90, 22.50
    cols, rows = 180, 140                      # 102.90–103.35 °E, 22.15–22.50 °N
    lon = west + (np.arange(cols) + 0.5) * res
    lat = north - (np.arange(rows) + 0.5) * res
    z = _terrain(*np.meshgrid(lon, lat))
    nodata = -32768.0
    if voids:
        z[40:46, 60:67] = nodata               # a radar-shadow void of ~6×7 cells
        z[100, 150] = nodata
    profile = {"driver": "GTiff", "width": cols, "height": rows, "count": 1,
               "dtype": "float32", "transform": from_origin(west, north, res, res),
               "nodata": nodata, "compress": "deflate"}
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z, 1)
    return path


def write_hgt(folder: Path, lat: int, lon: int, *, arcsec: int = 3,
              void_block: bool = False) -> Path:
    """Write an SRTM ``.hgt`` tile (big-endian int16, 1201² for 3″, 3601² for 1″).

    The name follows the SRTM convention (``N22E103.hgt`` is the tile whose south-west corner
    is 22 °N 103 °E); -32768 marks voids.
    """
    n = {3: 1201, 1: 3601}[arcsec]
    step = 1.0 / (n - 1)
    lons = lon + np.arange(n) * step
    lats = lat + 1 - np.arange(n) * step
    z = np.round(_terrain(*np.meshgrid(lons, lats))).astype(">i2")
    if void_block:  # a radar-shadow void of 8×8 cells at ~0.65° S, 0.1° E of the NW corner
        r, c = int(0.65 * (n - 1)), int(0.1 * (n - 1))
        z[r: r + 8, c: c + 8] = -32768
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    path = Path(folder) / f"{ns}{abs(lat):02d}{ew}{abs(lon):03d}.hgt"
    path.write_bytes(z.tobytes())
    return path


def write_worldpop(path: Path, *, crs: str | None = "EPSG:4326") -> Path:
    """A WorldPop-style population raster: float32 people per 3″ (~90 m) cell, -99999 nodata."""
    res = 3 / 3600
    west, north = 102.95, 22.45
    cols, rows = 420, 240                      # covers the province
    lon = west + (np.arange(cols) + 0.5) * res
    lat = north - (np.arange(rows) + 0.5) * res
    glon, glat = np.meshgrid(lon, lat)
    pop = np.zeros((rows, cols), dtype="float32")
    for _nid, _vi, _n, vlon, vlat, _p in VILLAGES:
        d2 = ((glon - vlon) * 103_000) ** 2 + ((glat - vlat) * 111_000) ** 2
        pop += (3.0 * np.exp(-d2 / (2 * 150.0 ** 2))).astype("float32")
    pop[0:5, 0:5] = -99999.0                   # nodata corner
    profile = {"driver": "GTiff", "width": cols, "height": rows, "count": 1,
               "dtype": "float32", "transform": from_origin(west, north, res, res),
               "nodata": -99999.0, "compress": "deflate"}
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(pop, 1)
    return path


def write_all(folder: Path = HERE) -> list[Path]:
    """Write every committed fixture into ``folder``; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []

    def text(name: str, content: str) -> None:
        p = folder / name
        p.write_text(content, encoding="utf-8")
        out.append(p)

    # OSM
    xml = osm_xml()
    text("lai_chau.osm", xml)
    text("truncated.osm", xml[: len(xml) // 2])
    # OpenCelliD (the full export has a header; the per-MCC downloads 452.csv.gz do not)
    text("cells_452.csv", opencellid_csv(header=True, truncated=True))
    gz = folder / "cells_452_noheader.csv.gz"
    with gzip.GzipFile(gz, "wb", mtime=0) as fh:
        fh.write(opencellid_csv(header=False, truncated=False).encode())
    out.append(gz)
    data = gz.read_bytes()
    (folder / "cells_truncated.csv.gz").write_bytes(data[: len(data) // 2])
    out.append(folder / "cells_truncated.csv.gz")
    text("cells_empty.csv", "")
    text("cells_wrong_columns.csv", "cell_id;operator;x;y\n1;viettel;103.1;22.3\n")
    # admin boundaries
    gadm = folder / "gadm41_VNM_fixture.gpkg"
    gadm.unlink(missing_ok=True)
    country = gpd.GeoDataFrame({"GID_0": ["VNM"], "COUNTRY": ["Vietnam"]},
                               geometry=[box(102.95, 22.05, 103.30, 22.45)], crs="EPSG:4326")
    pyogrio.write_dataframe(country, gadm, layer="ADM_ADM_0", driver="GPKG")
    for level, gdf in _gadm_frames().items():
        pyogrio.write_dataframe(gdf, gadm, layer=f"ADM_ADM_{level}", driver="GPKG")
    out.append(gadm)
    gb = folder / "geoboundaries"
    gb.mkdir(exist_ok=True)
    for level, gdf in _geoboundaries_frames().items():
        p = gb / f"geoBoundaries-VNM-ADM{level}.geojson"
        p.unlink(missing_ok=True)
        pyogrio.write_dataframe(gdf, p, driver="GeoJSON")
        out.append(p)
    off = folder / "official_old"
    off.mkdir(exist_ok=True)
    shp = off / "RanhGioiXa.shp"
    pyogrio.write_dataframe(_official_old(), shp, driver="ESRI Shapefile", encoding="UTF-8")
    (off / "RanhGioiXa.prj").unlink()          # as delivered: VN-2000 without a .prj
    out += sorted(off.iterdir())
    new = folder / "official_new"
    new.mkdir(exist_ok=True)
    shp = new / "xa_2025.shp"
    pyogrio.write_dataframe(_official_new(), shp, driver="ESRI Shapefile", encoding="UTF-8")
    out += sorted(new.iterdir())
    # the same communes with TCVN3 (ABC font) names and no .cpg, as old offices saved them
    from phusong.layers._encoding import encode_legacy

    tc = folder / "official_tcvn3"
    tc.mkdir(exist_ok=True)
    legacy = _official_old()
    for col in ("TenTinh", "TenHuyen", "TenXa"):
        legacy[col] = [encode_legacy(v, "tcvn3").decode("latin1") for v in legacy[col]]
    pyogrio.write_dataframe(legacy, tc / "xa_tcvn3.shp", driver="ESRI Shapefile",
                            encoding="latin1")
    (tc / "xa_tcvn3.cpg").unlink(missing_ok=True)
    out += sorted(tc.iterdir())
    bad = gpd.GeoDataFrame({"foo": ["a"], "bar": [1]}, geometry=[box(103, 22.3, 103.1, 22.4)],
                           crs="EPSG:4326")
    p = folder / "admin_unknown_columns.geojson"
    p.unlink(missing_ok=True)
    pyogrio.write_dataframe(bad, p, driver="GeoJSON")
    out.append(p)
    # official-style: a bow-tie (self-intersecting) commune, a duplicate code, no geometry
    bow = gpd.GeoDataFrame(
        {"MaTinh": "12", "TenTinh": "Lai Châu", "MaXa": ["03130", "03230", "03130", "03231"],
         "TenXa": ["Xã Mường Tè", "Xã Hỏng", "Xã Trùng Mã", "Xã Không Hình"]},
        geometry=[box(*COMMUNES_NEW[0][2]),
                  Polygon([(103.13, 22.26), (103.29, 22.44), (103.29, 22.26),
                           (103.13, 22.44)]),
                  box(103.0, 22.3, 103.05, 22.35), None],
        crs="EPSG:4326")
    p = folder / "admin_invalid_geometry.geojson"
    p.unlink(missing_ok=True)
    pyogrio.write_dataframe(bow, p, driver="GeoJSON")
    out.append(p)
    text("admin_empty.gpkg", "")
    # rasters
    out.append(write_dem_geotiff(folder / "dem_voids.tif"))
    out.append(write_dem_geotiff(folder / "dem_no_crs.tif", voids=False, crs=None))
    text("dem_not_a_raster.tif", "this is not a GeoTIFF\n")
    out.append(write_worldpop(folder / "worldpop_fixture.tif"))
    return out


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else HERE
    for p in write_all(folder):
        print(f"{p.stat().st_size:>8} {p.relative_to(folder)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))


__all__ = ["OCID_COLUMNS", "PROVINCE_BOUNDS", "osm_xml", "write_all", "write_dem_geotiff",
           "write_hgt", "write_worldpop"]
