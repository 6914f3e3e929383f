"""Generate the bad-input corpus: malformed files for every reader and layer, with expectations.

Run from the repository root::

    .venv/bin/python tests/corpus/make_corpus.py

It rewrites ``tests/corpus/inputs/*``, ``tests/corpus/cases.csv`` and
``tests/corpus/README.md``. Everything is deterministic (no RNG; GeoPackage timestamps pinned
with GDAL's ``OGR_CURRENT_DATE``). Coordinates are made-up positions in Lai Châu; names are
real place names of the province, used as text samples only. The expected outcome of each
case (kind, message pattern, counts) is written here by hand, from what a user should get —
it is *not* computed by running the validator.

Outcome kinds
-------------
``accepted``
    every row accepted, nothing to say (documented limitations, and empty cells the schema
    allows);
``accepted_with_warning``
    every row accepted, and a warning matching the pattern;
``rows_rejected``
    some rows rejected, a problem line matching the pattern;
``error``
    the whole file refused with one line (a ``PhusongError``) matching the pattern.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pyogrio  # noqa: E402
import shapely  # noqa: E402

from phusong.gis.crs import from_wgs84  # noqa: E402
from phusong.layers._encoding import encode_legacy  # noqa: E402

INPUTS = HERE / "inputs"
CASES: list[dict] = []

TOWER_COLS = ["tower_id", "height_m", "owner", "power_source", "lon", "lat"]
VILLAGE_COLS = ["village_id", "name", "commune_code", "population", "households",
                "has_grid_power", "border_area", "extremely_difficult", "lon", "lat"]
BTS_COLS = ["bts_id", "tower_id", "operator", "tech", "band_mhz", "antenna_height_m",
            "eirp_dbm", "lon", "lat"]
NAMES = ["Bản Nậm Cuổi", "Mường Tè", "Phong Thổ", "Sìn Hồ", "Tam Đường", "Nậm Nhùn",
         "Than Uyên", "Tân Uyên", "Bản Pa Vây Sử", "Thôn Nà Khằn"]


def case(file: str, reader: str, layer: str, expected: str, regex: str, rows_in: int | str,
         accepted: int | str, rejected: int | str, what: str, *, crs: str = "") -> None:
    CASES.append({"file": file, "reader": reader, "layer": layer, "crs": crs,
                  "expected": expected, "expected_message_regex": regex, "rows_in": rows_in,
                  "accepted": accepted, "rejected": rejected, "description": what})


def lonlat(i: int) -> tuple[float, float]:
    """A position in Lai Châu (lon 103.0–103.6, lat 22.0–22.6)."""
    return round(103.05 + 0.047 * (i % 11), 6), round(22.05 + 0.043 * (i % 13), 6)


def tower_rows(n: int) -> list[list[object]]:
    owners = ["viettel", "vinaphone", "mobifone", "vietnamobile"]
    power = ["grid", "solar", "diesel", "hybrid"]
    return [[f"LCU{i:04d}", 30 + i % 15, owners[i % 4], power[i % 4], *lonlat(i)]
            for i in range(n)]


def village_rows(n: int) -> list[list[object]]:
    return [[f"V{i:04d}", NAMES[i % len(NAMES)], f"0{3200 + i % 5}", 250 + 17 * i, 50 + 3 * i,
             "có" if i % 3 else "không", "1" if i % 4 == 0 else "0", "yes" if i % 2 else "no",
             *lonlat(i)] for i in range(n)]


def bts_rows(n: int) -> list[list[object]]:
    ops = ["viettel", "vinaphone", "mobifone", "vietnamobile"]
    techs = ["2G", "3G", "4G", "4G"]
    bands = [900, 2100, 1800, 1800]
    return [[f"B{i:04d}", f"LCU{i:04d}", ops[i % 4], techs[i % 4], bands[i % 4], 28, 57,
             *lonlat(i)] for i in range(n)]


def write_csv(name: str, header: list[str], rows: list[list[object]], *,
              encoding: str = "utf-8", delimiter: str = ",", bom: bool = False,
              folder: Path | None = None) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    data = encode_legacy(buf.getvalue(), encoding)
    (folder or INPUTS).joinpath(name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def gdf_from(header: list[str], rows: list[list[object]], *, crs: int | None = 4326,
             geoms: list | None = None) -> gpd.GeoDataFrame:
    cols = [c for c in header if c not in ("lon", "lat")]
    data = {c: [r[header.index(c)] for r in rows] for c in cols}
    if geoms is None:
        geoms = [shapely.Point(r[header.index("lon")], r[header.index("lat")]) for r in rows]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


def write_vector(name: str, gdf: gpd.GeoDataFrame, *, layer: str | None = None,
                 driver: str | None = None, **kwargs) -> Path:
    path = INPUTS / name
    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(gdf, path, layer=layer, driver=driver, **kwargs)
    if driver == "GPKG":
        shrink_gpkg(path)
    return path


def shrink_gpkg(path: Path) -> None:
    """1 KiB SQLite pages: a GeoPackage of a few rows fits in ~25 KB instead of ~100 KB."""
    import sqlite3

    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA page_size=1024")
        con.execute("VACUUM")
    finally:
        con.close()


def write_geojson(name: str, features: list[dict], *, crs_name: str | None = None) -> None:
    doc: dict = {"type": "FeatureCollection", "features": features}
    if crs_name:
        doc["crs"] = {"type": "name", "properties": {"name": crs_name}}
    (INPUTS / name).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def feature(props: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def village_props(i: int) -> dict:
    r = village_rows(i + 1)[i]
    return dict(zip(VILLAGE_COLS[:-2], r[:-2], strict=True))


def square(lon: float, lat: float, d: float = 0.01) -> list:
    return [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]


def zip_shapefile(name: str, gdf: gpd.GeoDataFrame, *, drop: tuple[str, ...] = (),
                  encoding: str = "UTF-8") -> None:
    tmp = INPUTS / f"_{Path(name).stem}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyogrio.write_dataframe(gdf, tmp / "layer.shp", driver="ESRI Shapefile",
                                encoding=encoding)
    with zipfile.ZipFile(INPUTS / name, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(tmp.iterdir()):
            if f.suffix.lower() not in drop:
                info = zipfile.ZipInfo(f.name, date_time=(2024, 1, 1, 0, 0, 0))
                z.writestr(info, f.read_bytes())
    shutil.rmtree(tmp)


def write_dem(name: str, lon0: float, lat0: float, *, voids: float = 0.0, crs: str | None =
              "EPSG:4326", n: int = 40, cell: float = 0.05, scale: float = 1.0,
              units: str | None = None, nodata: float | None = -32768.0,
              marker: float = -32768.0, dtype: str = "float32") -> None:
    """A 40×40 DEM of 200–1 790 m (× ``scale``); ``voids`` share of cells set to ``marker``
    (declared as ``nodata`` unless that is None); ``units`` written as the band's unit."""
    import rasterio
    from rasterio.transform import from_origin

    yy, xx = np.mgrid[0:n, 0:n]
    z = ((800 + 600 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 10 * xx) * scale).astype("float32")
    if voids:
        k = round(voids * n * n)
        flat = z.ravel()
        flat[np.arange(k) * 7 % (n * n) if voids < 1 else np.arange(n * n)] = marker
        z = flat.reshape(n, n)
    profile = {"driver": "GTiff", "width": n, "height": n, "count": 1, "dtype": dtype,
               "transform": from_origin(lon0, lat0 + n * cell, cell, cell)}
    if nodata is not None:
        profile["nodata"] = nodata
    if crs:
        profile["crs"] = crs
    with rasterio.open(INPUTS / name, "w", **profile) as ds:
        ds.write(z.astype(dtype), 1)
        if units:
            ds.units = (units,)


# -- the cases ----------------------------------------------------------------------------------

def csv_cases() -> None:
    rows = tower_rows(6)
    for r in (rows[1], rows[4]):
        r[4], r[5] = r[5], r[4]
    write_csv("csv_swapped_latlon_some_rows.csv", TOWER_COLS, rows)
    case("csv_swapped_latlon_some_rows.csv", "csv", "towers", "accepted_with_warning",
         r":3:geometry: lat/lon swapped", 6, 6, 0, "2 of 6 towers have lat and lon exchanged")

    rows = tower_rows(5)
    write_csv("csv_swapped_latlon_all_rows.csv", ["tower_id", "height_m", "owner", "power_source",
                                                  "lat", "lon"], rows)
    case("csv_swapped_latlon_all_rows.csv", "csv", "towers", "accepted_with_warning",
         r"swapped .* in the whole layer", 5, 5, 0, "header says lat,lon but columns hold lon,lat")

    rows = tower_rows(6)
    rows[2][4:6] = [105.85, 21.03]  # Hà Nội
    rows[5][4:6] = [106.7, 10.78]  # TP Hồ Chí Minh
    write_csv("csv_points_outside_province.csv", TOWER_COLS, rows)
    case("csv_points_outside_province.csv", "csv", "towers", "rows_rejected",
         r":4:geometry: position lon 105\.850000, lat 21\.030000 is outside the province", 6, 4,
         2, "two towers in Hà Nội and Hồ Chí Minh City")

    rows = tower_rows(5)
    gdf = from_wgs84(gdf_from(TOWER_COLS, rows), 9205)
    xy = [[r[0], r[1], r[2], r[3], round(g.x, 2), round(g.y, 2)]
          for r, g in zip(rows, gdf.geometry, strict=True)]
    write_csv("csv_vn2000_tm3_xy_no_crs.csv", ["tower_id", "height_m", "owner", "power_source",
                                               "x", "y"], xy)
    case("csv_vn2000_tm3_xy_no_crs.csv", "csv", "towers", "accepted_with_warning",
         r"no CRS declared; coordinates are metres in EPSG:9205", 5, 5, 0,
         "VN-2000 TM-3 103° easting/northing, no CRS given")

    yx = [[r[0], r[1], r[2], r[3], r[5], r[4]] for r in xy]
    write_csv("csv_vn2000_tm3_northing_first.csv", ["ma_cot", "height_m", "owner", "power_source",
                                                    "x", "y"], yx)
    case("csv_vn2000_tm3_northing_first.csv", "csv", "towers", "accepted_with_warning",
         r"EPSG:9205 .*written as northing/easting", 5, 5, 0,
         "surveyor's convention: X = northing; Vietnamese column name ma_cot")

    write_csv("csv_wrong_crs_given.csv", TOWER_COLS, tower_rows(4))
    case("csv_wrong_crs_given.csv", "csv", "towers", "accepted_with_warning",
         r"wrong CRS: declared EPSG:9205 .* fit EPSG:4326", 4, 4, 0,
         "lon/lat degrees but the user passed crs=9205", crs="9205")

    write_csv("csv_vn2000_degrees_declared.csv", TOWER_COLS, tower_rows(4))
    case("csv_vn2000_degrees_declared.csv", "csv", "towers", "accepted", "", 4, 4, 0,
         "VN-2000 geographic degrees with crs=4756: the EPSG:6960 shift (~220 m) is applied",
         crs="4756")

    rows = tower_rows(6)
    rows[3][0] = rows[1][0]
    rows[5][0] = rows[1][0]
    write_csv("csv_duplicate_ids.csv", TOWER_COLS, rows)
    case("csv_duplicate_ids.csv", "csv", "towers", "rows_rejected",
         r":5:tower_id: duplicate tower_id 'LCU0001' \(first at row 3\)", 6, 4, 2,
         "tower id repeated three times")

    rows = bts_rows(6)
    rows[2][2] = "Gmobile"
    rows[4][2] = "452-07"
    write_csv("csv_bts_unknown_operator.csv", BTS_COLS, rows)
    case("csv_bts_unknown_operator.csv", "csv", "bts", "rows_rejected",
         r":4:operator: unknown operator 'Gmobile'", 6, 4, 2,
         "a defunct operator name and an unknown MNC")

    rows = bts_rows(6)
    for r, op, tech in zip(rows, ["VNPT", "Viettel Telecom", "452-01", "MOBIFONE", "vnpt-vinaphone",
                                  "452-05"], ["lte", "Gsm", "WCDMA", "4g", "LTE", "2g"],
                           strict=True):
        r[2], r[3] = op, tech
    write_csv("csv_bts_mixed_case_aliases.csv", BTS_COLS, rows)
    case("csv_bts_mixed_case_aliases.csv", "csv", "bts", "accepted_with_warning",
         r"operator: aliases mapped to canonical values: .*VNPT → vinaphone", 6, 6, 0,
         "operators as VNPT, Viettel Telecom, MNC 452-01; techs as LTE/GSM/WCDMA")

    write_csv("csv_mixed_case_headers.csv", ["Tower_ID", "HEIGHT_M", "Owner", "Nguồn điện",
                                             "Longitude", "Latitude"], tower_rows(4))
    case("csv_mixed_case_headers.csv", "csv", "towers", "accepted_with_warning",
         r"columns read as 'Tower_ID' → tower_id.*'Nguồn điện' → power_source", 4, 4, 0,
         "header in mixed case and Vietnamese")

    rows = village_rows(6)
    rows[1][3] = -120
    rows[4][3] = "-5"
    write_csv("csv_villages_negative_population.csv", VILLAGE_COLS, rows)
    case("csv_villages_negative_population.csv", "csv", "villages", "rows_rejected",
         r":3:population: -120 is below the minimum 0", 6, 4, 2, "negative population")

    rows = village_rows(5)
    rows[0][3] = "NaN"
    rows[3][3] = "#N/A"
    rows[4][4] = ""
    write_csv("csv_villages_nan_population.csv", VILLAGE_COLS, rows)
    case("csv_villages_nan_population.csv", "csv", "villages", "rows_rejected",
         r":2:population: 'NaN' is not a number", 5, 3, 2,
         "NaN and #N/A population rejected; empty households accepted as unknown")

    rows = tower_rows(5)
    rows[1][1] = "ba mươi"
    rows[3][1] = "30m"
    write_csv("csv_towers_non_numeric_height.csv", TOWER_COLS, rows)
    case("csv_towers_non_numeric_height.csv", "csv", "towers", "rows_rejected",
         r":3:height_m: 'ba mươi' is not a number", 5, 3, 2, "heights written in words or with units")

    for enc, label in (("cp1258", "Windows-1258"), ("tcvn3", "TCVN3 (ABC)"),
                       ("vni", "VNI-Windows")):
        name = f"csv_villages_{enc}.csv"
        write_csv(name, VILLAGE_COLS, village_rows(8), encoding=enc)
        case(name, "csv", "villages", "accepted_with_warning", rf"text decoded as {enc}", 8, 8,
             0, f"village names encoded in {label}")

    write_csv("csv_towers_utf8_bom.csv", TOWER_COLS, tower_rows(4), bom=True)
    case("csv_towers_utf8_bom.csv", "csv", "towers", "accepted_with_warning",
         r"lon/lat read as WGS84", 4, 4, 0, "UTF-8 with BOM (Excel's 'CSV UTF-8')")

    rows = [[r[0], r[1], r[2], r[3], str(r[4]).replace(".", ","), str(r[5]).replace(".", ",")]
            for r in tower_rows(4)]
    write_csv("csv_towers_bom_semicolon_decimal_comma.csv", TOWER_COLS, rows, bom=True,
              delimiter=";")
    case("csv_towers_bom_semicolon_decimal_comma.csv", "csv", "towers", "accepted_with_warning",
         r"lon/lat read as WGS84", 4, 4, 0, "Vietnamese-locale Excel: ';' and decimal comma")

    (INPUTS / "csv_empty_0_bytes.csv").write_bytes(b"")
    case("csv_empty_0_bytes.csv", "csv", "towers", "error", r"empty file \(0 bytes\)", "", "",
         "", "0-byte file")

    write_csv("csv_header_only.csv", TOWER_COLS, [])
    case("csv_header_only.csv", "csv", "towers", "accepted_with_warning", r"header only", 0, 0,
         0, "header row and nothing else")

    (INPUTS / "csv_blank_lines_only.csv").write_bytes(b"\r\n\r\n  \r\n")
    case("csv_blank_lines_only.csv", "csv", "towers", "error", r"no header row", "", "", "",
         "only blank lines")

    write_csv("csv_missing_column.csv", TOWER_COLS[:3] + TOWER_COLS[4:],
              [r[:3] + r[4:] for r in tower_rows(3)])
    case("csv_missing_column.csv", "csv", "towers", "error",
         r"missing required column power_source", "", "", "", "power_source column absent")

    write_csv("csv_no_coordinates.csv", TOWER_COLS[:4], [r[:4] for r in tower_rows(3)])
    case("csv_no_coordinates.csv", "csv", "towers", "error", r"no coordinate columns", "", "",
         "", "no lon/lat, x/y or wkt column")

    rows = [list(map(str, r)) for r in tower_rows(5)]
    rows[2] = rows[2][:3]
    rows[4] = [*rows[4], "extra", "fields"]
    write_csv("csv_ragged_rows.csv", TOWER_COLS, rows)
    case("csv_ragged_rows.csv", "csv", "towers", "rows_rejected",
         r":4:row: row has 3 fields, the header has 6", 5, 3, 2, "short and long rows")

    rows = tower_rows(5)
    rows[1][4] = ""
    rows[3][5] = "N/A"
    write_csv("csv_empty_coordinates.csv", TOWER_COLS, rows)
    case("csv_empty_coordinates.csv", "csv", "towers", "rows_rejected",
         r":3:lon: no coordinate", 5, 3, 2, "missing and N/A coordinates")

    rows = village_rows(5)
    rows[2][5] = "chưa rõ"
    write_csv("csv_villages_bad_boolean.csv", VILLAGE_COLS, rows)
    case("csv_villages_bad_boolean.csv", "csv", "villages", "rows_rejected",
         r":4:has_grid_power: 'chưa rõ' is not a yes/no value", 5, 4, 1,
         "grid power 'not known yet'")

    rows = tower_rows(4)
    rows[0][3] = "wind"
    rows[1][3] = "điện lưới"
    rows[2][3] = "Năng lượng mặt trời"
    write_csv("csv_towers_power_source_vi.csv", TOWER_COLS, rows)
    case("csv_towers_power_source_vi.csv", "csv", "towers", "rows_rejected",
         r":2:power_source: unknown value 'wind'", 4, 3, 1,
         "power source in Vietnamese (accepted) and an unknown one")

    rows = [[*r[:4], 1.5e7 + i, -3.2e6] for i, r in enumerate(tower_rows(3))]
    write_csv("csv_garbage_metres_no_crs.csv", ["tower_id", "height_m", "owner", "power_source",
                                                "x", "y"], rows)
    case("csv_garbage_metres_no_crs.csv", "csv", "towers", "error",
         r"no CRS declared and coordinates .* fit no CRS", "", "", "",
         "metres of an unknown projection, no CRS")

    wkts = [f"POLYGON(({lon} {lat}, {lon + 0.01} {lat + 0.01}, {lon + 0.01} {lat}, {lon} "
            f"{lat + 0.01}, {lon} {lat}))" for lon, lat in (lonlat(i) for i in range(3))]
    rows = [[*r[:8], w] for r, w in zip(village_rows(3), wkts, strict=True)]
    write_csv("csv_villages_wkt_self_intersecting.csv", [*VILLAGE_COLS[:8], "wkt"], rows)
    case("csv_villages_wkt_self_intersecting.csv", "csv", "villages", "accepted_with_warning",
         r":2:geometry: invalid geometry \(Self-intersection", 3, 3, 0,
         "bow-tie village polygons as WKT")

    rows = village_rows(4)
    rows[1][4] = 900
    write_csv("csv_villages_households_gt_population.csv", VILLAGE_COLS, rows)
    case("csv_villages_households_gt_population.csv", "csv", "villages",
         "accepted_with_warning", r":3:households: 900 households but population 267", 4, 4, 0,
         "more households than people")

    (INPUTS / "csv_xlsx_renamed.csv").write_bytes(
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)) * 2)
    case("csv_xlsx_renamed.csv", "csv", "towers", "error", r"NUL bytes; not a text CSV", "", "",
         "", "an Excel workbook renamed to .csv")

    rows = bts_rows(4)
    rows[1][4] = "1,8"  # 1.8 (GHz written where MHz was asked)
    write_csv("csv_bts_band_in_ghz.csv", BTS_COLS, rows)
    case("csv_bts_band_in_ghz.csv", "csv", "bts", "rows_rejected",
         r":3:band_mhz: 1\.8 is below the minimum 400", 4, 3, 1, "band given in GHz")


def csv_more_cases() -> None:
    rows = [[*r, "", ""] for r in tower_rows(4)]
    rows.insert(2, [""] * 8)
    write_csv("csv_excel_trailing_commas.csv", [*TOWER_COLS, "", ""], rows)
    case("csv_excel_trailing_commas.csv", "csv", "towers", "accepted_with_warning",
         r"skipped 1 blank row \(row 4\)", 4, 4, 0,
         "Excel export with empty trailing columns and an empty row")

    rows = village_rows(4)
    header = [*VILLAGE_COLS, "centre_lon", "centre_lat"]
    rows = [[*r, r[8] + 0.001, r[9] + 0.001] for r in rows]
    rows[1][10], rows[1][11] = rows[1][11], rows[1][10]
    rows[3][10] = ""
    write_csv("csv_villages_centre_swapped_or_half.csv", header, rows)
    case("csv_villages_centre_swapped_or_half.csv", "csv", "villages", "rows_rejected",
         r":5:centre_lon: centre needs both centre_lon and centre_lat", 4, 3, 1,
         "village centre (nhà văn hóa) with lat/lon swapped (fixed) and one half missing")

    wkts = [f"POINT ({lon} {lat})" for lon, lat in (lonlat(i) for i in range(4))]
    wkts[1] = "POLYGON ((103.1 22.3, 103.2"
    wkts[2] = "không có"
    rows = [[*r[:4], w] for r, w in zip(tower_rows(4), wkts, strict=True)]
    write_csv("csv_towers_broken_wkt.csv", [*TOWER_COLS[:4], "wkt"], rows)
    case("csv_towers_broken_wkt.csv", "csv", "towers", "rows_rejected",
         r":3:wkt: not valid WKT", 4, 2, 2, "geometry column with cut and non-WKT text")


def geojson_cases() -> None:
    feats = []
    for i in range(4):
        lon, lat = lonlat(i)
        ring = square(lon, lat)
        if i in (1, 2):  # bow-tie
            ring = [[lon, lat], [lon + 0.01, lat + 0.01], [lon + 0.01, lat], [lon, lat + 0.01],
                    [lon, lat]]
        feats.append(feature(village_props(i), {"type": "Polygon", "coordinates": [ring]}))
    write_geojson("geojson_villages_self_intersecting.geojson", feats)
    case("geojson_villages_self_intersecting.geojson", "geojson", "villages",
         "accepted_with_warning", r":2:geometry: invalid geometry \(Self-intersection.*make_valid",
         4, 4, 0, "two bow-tie village polygons")

    rows = tower_rows(5)
    props = [dict(zip(TOWER_COLS[:4], r[:4], strict=True)) for r in rows]
    geoms = [{"type": "Point", "coordinates": list(r[4:6])} for r in rows]
    geoms[1] = None
    geoms[3] = {"type": "Point", "coordinates": []}
    write_geojson("geojson_towers_empty_geometries.geojson",
                  [feature(p, g) for p, g in zip(props, geoms, strict=True)])
    case("geojson_towers_empty_geometries.geojson", "geojson", "towers", "rows_rejected",
         r":2:geometry: no geometry", 5, 3, 2, "null and empty point geometries")

    geoms = [{"type": "Point", "coordinates": [*r[4:6], 1200.0 + i]} for i, r in enumerate(rows)]
    write_geojson("geojson_towers_z.geojson", [feature(p, g) for p, g in zip(props, geoms,
                                                                               strict=True)])
    case("geojson_towers_z.geojson", "geojson", "towers", "accepted_with_warning",
         r"5 geometries have Z values; dropped them", 5, 5, 0, "3D points with elevation")

    feats = []
    for i in range(3):
        lon, lat = lonlat(i)
        geom = {"type": "Polygon", "coordinates": [square(lon, lat)]}
        if i == 1:
            geom = {"type": "MultiPolygon", "coordinates": [[square(lon, lat)],
                                                            [square(lon + 0.02, lat)]]}
        feats.append(feature(village_props(i), geom))
    write_geojson("geojson_villages_multipolygon.geojson", feats)
    case("geojson_villages_multipolygon.geojson", "geojson", "villages", "accepted_with_warning",
         r":2:geometry: village is a MultiPolygon of 2 parts", 3, 3, 0,
         "a village drawn as two separate hamlets")

    geoms = [{"type": "Point", "coordinates": list(r[4:6])} for r in rows]
    lon, lat = rows[2][4:6]
    geoms[2] = {"type": "Polygon", "coordinates": [square(lon, lat, 0.001)]}
    geoms[4] = {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.01, lat]]}
    write_geojson("geojson_towers_wrong_geometry_type.geojson",
                  [feature(p, g) for p, g in zip(props, geoms, strict=True)])
    case("geojson_towers_wrong_geometry_type.geojson", "geojson", "towers", "rows_rejected",
         r":3:geometry: geometry is Polygon; towers needs Point", 5, 3, 2,
         "a tower footprint polygon and a line")

    good = json.dumps({"type": "FeatureCollection", "features": [
        feature(p, {"type": "Point", "coordinates": list(r[4:6])})
        for p, r in zip(props, rows, strict=True)]})
    (INPUTS / "geojson_truncated.geojson").write_text(good[: len(good) // 2], encoding="utf-8")
    case("geojson_truncated.geojson", "geojson", "towers", "error",
         r"cannot be read as GeoJSON", "", "", "", "download cut in the middle")

    (INPUTS / "geojson_html_error_page.geojson").write_text(
        "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>\n", encoding="utf-8")
    case("geojson_html_error_page.geojson", "geojson", "towers", "error",
         r"cannot be read as GeoJSON", "", "", "", "an HTML error page saved as .geojson")

    feats = [feature(village_props(i), {"type": "Polygon", "coordinates": [square(*lonlat(i))]})
             for i in range(4)]
    lon, lat = lonlat(2)
    feats[2]["geometry"] = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat],
                                                                [lon + 0.02, lat], [lon, lat]]]}
    write_geojson("geojson_villages_degenerate_polygon.geojson", feats)
    case("geojson_villages_degenerate_polygon.geojson", "geojson", "villages", "rows_rejected",
         r":3:geometry: invalid geometry .* cannot be repaired", 4, 3, 1,
         "a polygon with zero area (all vertices on a line)")

    lines = [[[103.10, 22.30], [103.12, 22.31]], [[103.12, 22.31], [103.15, 22.33]],
             [[103.15, 22.33], [103.16, 22.36]], [[103.40, 22.50], [103.42, 22.52]],
             [[103.50, 22.10], [103.52, 22.12]]]
    write_geojson("geojson_roads_disconnected.geojson", [
        feature({"highway": hw, "road_id": f"R{i}"}, {"type": "LineString", "coordinates": c})
        for i, (hw, c) in enumerate(zip(["primary", "secondary", "track", "track", "path"], lines,
                                        strict=True))])
    case("geojson_roads_disconnected.geojson", "geojson", "roads", "accepted_with_warning",
         r"roads form 3 separate networks; the largest holds 3 of 5", 5, 5, 0,
         "road segments that do not connect")

    kinds = ["cáp treo", "Ngầm", "aerial", "underground", "ngầm hóa"]
    ops = ["Viettel", "VNPT", "mobifone", "viettel", "vnpt"]
    write_geojson("geojson_fibre_vietnamese_kinds.geojson", [
        feature({"route_id": f"F{i}", "operator": op, "kind": k},
                {"type": "LineString", "coordinates": [list(lonlat(i)), list(lonlat(i + 1))]})
        for i, (k, op) in enumerate(zip(kinds, ops, strict=True))])
    case("geojson_fibre_vietnamese_kinds.geojson", "geojson", "fibre_routes",
         "accepted_with_warning", r"kind: aliases mapped to canonical values: .*cáp treo → aerial",
         5, 5, 0, "cable kinds in Vietnamese")

    po_kinds = ["Bưu cục cấp III", "Điểm BĐVHX", "kiosk", "đại lý", "bdvhx"]
    write_geojson("geojson_post_offices_kinds.geojson", [
        feature({"po_id": f"PO{i}", "name": f"Điểm {NAMES[i]}", "kind": k, "operator": "VNPost",
                 "has_public_internet": "có", "multi_service": "không"},
                {"type": "Point", "coordinates": list(lonlat(i))})
        for i, k in enumerate(po_kinds)])
    case("geojson_post_offices_kinds.geojson", "geojson", "post_offices", "rows_rejected",
         r":3:kind: unknown value 'kiosk'", 5, 4, 1, "postal kinds as Vietnamese labels and one "
         "unknown kind")

    levels = ["Tỉnh", "huyện", "Xã", "thị trấn", "bản"]
    codes = ["12", "105", "03220", "03223", "0"]
    parents = [None, "12", "105", "105", "03220"]
    write_geojson("geojson_admin_units_levels.geojson", [
        feature({"code": c, "name": n, "level": lv, "parent_code": pc},
                {"type": "Polygon", "coordinates": [square(103.0 + 0.1 * i, 22.2, 0.08)]})
        for i, (c, n, lv, pc) in enumerate(zip(codes, ["Lai Châu", "Mường Tè", "Mù Cả",
                                                        "Mường Tè", "Nậm Cuổi"], levels, parents,
                                                    strict=True))])
    case("geojson_admin_units_levels.geojson", "geojson", "admin_units", "rows_rejected",
         r":5:level: unknown value 'bản'", 5, 4, 1,
         "levels in Vietnamese (tỉnh/huyện/xã/thị trấn) and a village given as a level")

    rows = tower_rows(4)
    feats = [feature(dict(zip(TOWER_COLS[:4], r[:4], strict=True)),
                     {"type": "Point", "coordinates": list(r[4:6])}) for r in rows]
    write_geojson("geojson_vn2000_degrees_as_wgs84.geojson", feats)
    case("geojson_vn2000_degrees_as_wgs84.geojson", "geojson", "towers", "accepted", "", 4, 4,
         0, "LIMITATION: VN-2000 degrees labelled WGS84 (no shift applied) cannot be told apart "
         "from WGS84; accepted ~220 m off (documented in gis/crs.py)")

    rows = tower_rows(4)
    metric = from_wgs84(gdf_from(TOWER_COLS, rows), 9205)
    feats = [feature(dict(zip(TOWER_COLS[:4], r[:4], strict=True)),
                     {"type": "Point", "coordinates": [round(g.x, 2), round(g.y, 2)]})
             for r, g in zip(rows, metric.geometry, strict=True)]
    write_geojson("geojson_tm3_metres_labelled_wgs84.geojson", feats)
    case("geojson_tm3_metres_labelled_wgs84.geojson", "geojson", "towers",
         "accepted_with_warning", r"wrong CRS: declared EPSG:4326 .* fit EPSG:9205", 4, 4, 0,
         "TM-3 metres in a GeoJSON (which always says WGS84)")


def gpkg_cases() -> None:
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2024-01-01T00:00:00.000Z",
                                     "OGR_GPKG_SPATIAL_INDEX": "NO"})
    towers = gdf_from(TOWER_COLS, tower_rows(8))
    path = write_vector("_full.gpkg", towers, layer="towers", driver="GPKG")
    data = path.read_bytes()
    path.unlink()
    (INPUTS / "gpkg_truncated.gpkg").write_bytes(data[: len(data) // 4])
    case("gpkg_truncated.gpkg", "gpkg", "towers", "error", r"cannot be read as a GeoPackage",
         "", "", "", "GeoPackage cut to a quarter of its size")

    write_vector("gpkg_wrong_layer_name.gpkg", towers, layer="cot_bts", driver="GPKG")
    case("gpkg_wrong_layer_name.gpkg", "gpkg", "towers", "error",
         r"has no layer 'towers' \(layers: cot_bts\)", "", "", "", "layer named cot_bts")

    (INPUTS / "gpkg_text_file.gpkg").write_text("village_id,name\nV1,Mường Tè\n",
                                                encoding="utf-8")
    case("gpkg_text_file.gpkg", "gpkg", "villages", "error", r"cannot be read as a GeoPackage",
         "", "", "", "a CSV renamed to .gpkg")

    metric = from_wgs84(gdf_from(TOWER_COLS, tower_rows(5)), 9205)
    write_vector("gpkg_wrong_tm3_zone.gpkg", metric.set_crs(9208, allow_override=True),
                 layer="towers", driver="GPKG")
    case("gpkg_wrong_tm3_zone.gpkg", "gpkg", "towers", "accepted_with_warning",
         r"wrong CRS: declared EPSG:9208 .* fit EPSG:9205", 5, 5, 0,
         "TM-3 103° data labelled with the 104°45′ zone")

    villages = gdf_from(VILLAGE_COLS, village_rows(6), geoms=[
        shapely.Polygon(square(*lonlat(i))) for i in range(6)])
    write_vector("gpkg_villages_vn2000_tm3.gpkg", from_wgs84(villages, 9205), layer="villages",
                 driver="GPKG")
    case("gpkg_villages_vn2000_tm3.gpkg", "gpkg", "villages", "accepted", "", 6, 6, 0,
         "village polygons stored in VN-2000 / TM-3 103° (declared): shifted to WGS84")

    bts = gdf_from(BTS_COLS, bts_rows(5))
    bts.loc[3, "tower_id"] = "LCU9999"
    path = INPUTS / "bundle_bts_unknown_tower.gpkg"
    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(gdf_from(TOWER_COLS, tower_rows(5)), path, layer="towers",
                            driver="GPKG")
    pyogrio.write_dataframe(bts, path, layer="bts", driver="GPKG", append=True)
    shrink_gpkg(path)
    case("bundle_bts_unknown_tower.gpkg", "bundle", "bts", "rows_rejected",
         r":4:tower_id: tower_id 'LCU9999' is not in the towers layer", 5, 4, 1,
         "a BTS on a tower that is not in the towers layer")


def shapefile_cases() -> None:
    metric = from_wgs84(gdf_from(TOWER_COLS, tower_rows(5)), 9205)
    zip_shapefile("shp_no_prj.zip", metric, drop=(".prj",))
    case("shp_no_prj.zip", "shp", "towers", "accepted_with_warning",
         r"no CRS declared; coordinates are metres in EPSG:9205", 5, 5, 0,
         "zipped Shapefile in TM-3 without its .prj")

    villages = gdf_from(VILLAGE_COLS, village_rows(6), geoms=[
        shapely.Polygon(square(*lonlat(i))) for i in range(6)])
    zip_shapefile("shp_villages_cp1258_no_cpg.zip", villages, drop=(".cpg",), encoding="cp1258")
    case("shp_villages_cp1258_no_cpg.zip", "shp", "villages", "accepted_with_warning",
         r"no \.cpg file; DBF text read as cp1258", 6, 6, 0,
         "village names in a Windows-1258 DBF without .cpg (cut field names too)")

    zip_shapefile("shp_missing_dbf.zip", metric, drop=(".dbf", ".cpg"))
    case("shp_missing_dbf.zip", "shp", "towers", "error", r"has no \.dbf", "", "", "",
         "zip without the attribute table")

    with zipfile.ZipFile(INPUTS / "shp_zip_without_shp.zip", "w") as z:
        z.writestr(zipfile.ZipInfo("doc.txt", date_time=(2024, 1, 1, 0, 0, 0)), "không có")
    case("shp_zip_without_shp.zip", "shp", "towers", "error", r"the zip holds no \.shp", "",
         "", "", "a zip with no Shapefile")


def kml_cases() -> None:
    def placemarks(rows: list[list[object]]) -> str:
        out = []
        for r in rows:
            data = "".join(f'<Data name="{k}"><value>{v}</value></Data>'
                           for k, v in zip(TOWER_COLS[:4], r[:4], strict=True))
            out.append(f"<Placemark><name>{r[0]}</name><ExtendedData>{data}</ExtendedData>"
                       f"<Point><coordinates>{r[4]},{r[5]},0</coordinates></Point></Placemark>")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/'
                '2.2"><Document><Folder><name>towers</name>' + "\n".join(out)
                + "</Folder></Document></kml>\n")

    rows = tower_rows(5)
    rows[1][2], rows[3][2] = "VNPT", "Viettel Telecom"
    (INPUTS / "kml_towers_aliases.kml").write_text(placemarks(rows), encoding="utf-8")
    case("kml_towers_aliases.kml", "kml", "towers", "accepted_with_warning",
         r"owner: aliases mapped to canonical values", 5, 5, 0,
         "Google Earth placemarks with ExtendedData, owners as aliases")

    rows = tower_rows(4)
    rows[2][4:6] = [108.2, 16.05]  # Đà Nẵng
    (INPUTS / "kml_towers_outside.kml").write_text(placemarks(rows), encoding="utf-8")
    case("kml_towers_outside.kml", "kml", "towers", "rows_rejected",
         r":3:geometry: position .* outside the province", 4, 3, 1, "a placemark in Đà Nẵng")

    text = placemarks(tower_rows(4))
    (INPUTS / "kml_truncated.kml").write_text(text[: len(text) // 2], encoding="utf-8")
    case("kml_truncated.kml", "kml", "towers", "error", r"cannot be read as KML", "", "", "",
         "KML cut in the middle")


def dem_cases() -> None:
    (INPUTS / "dem_zero_bytes.tif").write_bytes(b"")
    case("dem_zero_bytes.tif", "dem", "dem", "error", r"empty", "", "", "", "0-byte DEM")

    write_dem("dem_outside_province.tif", 105.3, 20.5)  # Hà Nội area
    case("dem_outside_province.tif", "dem", "dem", "error",
         r"outside the province|do not cover", "", "", "", "a DEM of the Red River delta")

    write_dem("dem_with_voids.tif", 102.2, 21.6, voids=0.05)
    case("dem_with_voids.tif", "dem", "dem", "accepted_with_warning",
         r"of the DEM cells are voids", "", "", "", "5 % nodata cells (SRTM voids)")

    write_dem("dem_mostly_voids.tif", 102.2, 21.6, voids=0.7)
    case("dem_mostly_voids.tif", "dem", "dem", "error", r"70% of the DEM cells are voids", "",
         "", "", "70 % nodata")

    write_dem("dem_partial_cover.tif", 102.9, 21.6)
    case("dem_partial_cover.tif", "dem", "dem", "accepted_with_warning",
         r"DEM covers only \d+% of the province", "", "", "", "DEM covering the east half only")

    write_dem("_dem_full.tif", 102.2, 21.6)
    data = (INPUTS / "_dem_full.tif").read_bytes()
    (INPUTS / "_dem_full.tif").unlink()
    (INPUTS / "dem_truncated.tif").write_bytes(data[: len(data) // 3])
    case("dem_truncated.tif", "dem", "dem", "error", r"cannot (be )?read", "", "", "",
         "GeoTIFF cut to a third")

    write_dem("dem_no_crs.tif", 102.2, 21.6, crs=None)
    case("dem_no_crs.tif", "dem", "dem", "error", r"has no CRS", "", "", "",
         "GeoTIFF without georeferencing CRS")


def guard_cases() -> None:
    """Inputs of the analyses' guards (issue: every command guards its inputs)."""
    # -- villages the analyses used to trust
    rows = village_rows(6)
    rows[4][0] = rows[1][0]
    write_csv("csv_villages_duplicate_ids.csv", VILLAGE_COLS, rows)
    case("csv_villages_duplicate_ids.csv", "csv", "villages", "rows_rejected",
         r":6:village_id: duplicate village_id 'V0001' \(first at row 3\)", 6, 5, 1,
         "a village id repeated (counted twice by coverage before)")

    header = [*VILLAGE_COLS, "centre_lon", "centre_lat"]
    rows = [[*r, "", ""] for r in village_rows(4)]
    rows[2][10], rows[2][11] = rows[2][8] + 0.001, rows[2][9] + 0.001
    write_csv("csv_villages_empty_optional_centre.csv", header, rows)
    case("csv_villages_empty_optional_centre.csv", "csv", "villages", "accepted", "", 4, 4, 0,
         "optional centre columns left empty (nullable: accepted)")

    rows = village_rows(5)
    rows[2][3] = "-5"
    write_csv("csv_villages_population_minus5.csv", VILLAGE_COLS, rows)
    case("csv_villages_population_minus5.csv", "csv", "villages", "rows_rejected",
         r":4:population: -5 is below the minimum 0", 5, 4, 1,
         "population −5 (went into the gap lists before)")

    rows = village_rows(4)
    rows[1][8], rows[1][9] = "", ""
    write_csv("csv_villages_no_position.csv", VILLAGE_COLS, rows)
    case("csv_villages_no_position.csv", "csv", "villages", "rows_rejected",
         r":3:lon: no coordinate", 4, 3, 1, "a village without a position (crashed gaps)")

    rows = bts_rows(5)
    rows[3][5] = -28
    write_csv("csv_bts_negative_antenna_height.csv", BTS_COLS, rows)
    case("csv_bts_negative_antenna_height.csv", "csv", "bts", "rows_rejected",
         r":5:antenna_height_m: -28 is below the minimum 0", 5, 4, 1,
         "antenna height with a minus sign")

    rows = bts_rows(4)
    rows[2][6] = 570
    write_csv("csv_bts_eirp_in_tenths.csv", BTS_COLS, rows)
    case("csv_bts_eirp_in_tenths.csv", "csv", "bts", "rows_rejected",
         r":4:eirp_dbm: 570 is above the maximum 90", 4, 3, 1, "EIRP written in tenths of a dB")

    rows = bts_rows(4)
    write_csv("csv_bts_no_tower_id_column.csv", [c for c in BTS_COLS if c != "tower_id"],
              [[v for j, v in enumerate(r) if BTS_COLS[j] != "tower_id"] for r in rows])
    case("csv_bts_no_tower_id_column.csv", "csv", "bts", "error",
         r"missing required column tower_id", "", "", "", "BTS list without the tower column")

    rows = tower_rows(4)
    rows[2][1] = 450
    write_csv("csv_towers_height_in_cm.csv", TOWER_COLS, rows)
    case("csv_towers_height_in_cm.csv", "csv", "towers", "rows_rejected",
         r":4:height_m: 450 is above the maximum 300", 4, 3, 1, "a height in decimetres")

    write_csv("csv_towers_tab_delimited.csv", TOWER_COLS, tower_rows(4), delimiter="\t")
    case("csv_towers_tab_delimited.csv", "csv", "towers", "accepted_with_warning",
         r"lon/lat read as WGS84", 4, 4, 0, "tab-separated export")

    rows = [list(map(str, r)) for r in tower_rows(4)]
    rows[1][2] = "Viettel\nLai Châu"
    write_csv("csv_towers_owner_with_line_break.csv", TOWER_COLS, rows)
    case("csv_towers_owner_with_line_break.csv", "csv", "towers", "rows_rejected",
         r":3:owner: unknown operator 'Viettel\\nLai Châu'", 4, 3, 1,
         "a quoted owner cell holding a line break (rows still counted right)")

    rows = tower_rows(4)
    rows[3][4] = 10.332
    write_csv("csv_towers_lon_typo.csv", TOWER_COLS, rows)
    case("csv_towers_lon_typo.csv", "csv", "towers", "rows_rejected",
         r":5:geometry: position lon 10\.332000, lat 22\.179000 is outside the province", 4, 3,
         1, "a longitude with a digit dropped (103.32 written 10.332)")

    (INPUTS / "csv_towers_utf16.csv").write_bytes(
        ("\ufeff" + "tower_id,height_m,owner,power_source,lon,lat\r\n"
         + "LCU0000,30,viettel,grid,103.05,22.05\r\n").encode("utf-16-le"))
    case("csv_towers_utf16.csv", "csv", "towers", "accepted_with_warning",
         r"lon/lat read as WGS84", 1, 1, 0,
         "Excel 'Unicode text' (UTF-16 with BOM) saved as .csv: decoded")

    (INPUTS / "csv_towers_html_page.csv").write_text(
        "<!DOCTYPE html><html><body>Đăng nhập để tải dữ liệu</body></html>\n",
        encoding="utf-8")
    case("csv_towers_html_page.csv", "csv", "towers", "error", r"no coordinate columns", "",
         "", "", "a login page saved as .csv")

    rows = [[f"F{i}", ["viettel", "vnpt"][i % 2], ["aerial", "ngầm"][i % 2],
             f"LINESTRING ({lonlat(i)[0]} {lonlat(i)[1]}, {lonlat(i + 1)[0]} "
             f"{lonlat(i + 1)[1]})"] for i in range(4)]
    write_csv("csv_fibre_wkt.csv", ["route_id", "operator", "kind", "wkt"], rows)
    case("csv_fibre_wkt.csv", "csv", "fibre_routes", "accepted_with_warning",
         r"kind: aliases mapped to canonical values: ngầm → underground", 4, 4, 0,
         "fibre routes as WKT lines with a Vietnamese kind")

    rows = [[f"PO{i}", f"Điểm {NAMES[i]}", "bdvhx", "VNPost", ["có", "chưa"][i % 2], "không",
             *lonlat(i)] for i in range(4)]
    write_csv("csv_post_offices_bad_bool.csv", ["po_id", "name", "kind", "operator",
                                                "has_public_internet", "multi_service", "lon",
                                                "lat"], rows)
    case("csv_post_offices_bad_bool.csv", "csv", "post_offices", "rows_rejected",
         r":3:has_public_internet: 'chưa' is not a yes/no value", 4, 2, 2,
         "public internet answered 'chưa' (not yet)")

    # -- GeoJSON nulls
    feats = [feature(village_props(i), {"type": "Polygon", "coordinates": [square(*lonlat(i))]})
             for i in range(4)]
    feats[1]["properties"]["population"] = None
    write_geojson("geojson_villages_null_population.geojson", feats)
    case("geojson_villages_null_population.geojson", "geojson", "villages",
         "accepted_with_warning", r"unknown \(empty\) values — population 1/4", 4, 4, 0,
         "population left null: unknown stays unknown (counted, not rejected)")

    feats = [feature({**village_props(i), "centre_lon": None, "centre_lat": None},
                     {"type": "Polygon", "coordinates": [square(*lonlat(i))]})
             for i in range(4)]
    write_geojson("geojson_villages_null_centre.geojson", feats)
    case("geojson_villages_null_centre.geojson", "geojson", "villages", "accepted", "", 4, 4,
         0, "optional centre left null (nullable, was 'nan is not a finite number')")

    rows = bts_rows(5)
    rows[3][0] = rows[0][0]
    write_geojson("geojson_bts_duplicate_ids.geojson", [
        feature(dict(zip(BTS_COLS[:7], r[:7], strict=True)),
                {"type": "Point", "coordinates": list(r[7:9])}) for r in rows])
    case("geojson_bts_duplicate_ids.geojson", "geojson", "bts", "rows_rejected",
         r":4:bts_id: duplicate bts_id 'B0000' \(first at row 1\)", 5, 4, 1,
         "a BTS id repeated")

    # -- bundles: what the analyses read
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2024-01-01T00:00:00.000Z",
                                     "OGR_GPKG_SPATIAL_INDEX": "NO"})

    def villages_gdf(n: int) -> gpd.GeoDataFrame:
        return gdf_from(VILLAGE_COLS, village_rows(n), geoms=[
            shapely.Polygon(square(*lonlat(i))) for i in range(n)])

    def bundle(name: str, layers: dict[str, gpd.GeoDataFrame]) -> None:
        path = INPUTS / name
        path.unlink(missing_ok=True)
        for k, (lname, gdf) in enumerate(layers.items()):
            pyogrio.write_dataframe(gdf, path, layer=lname, driver="GPKG", append=k > 0)
        shrink_gpkg(path)

    vil = villages_gdf(5)
    vil.loc[2, "geometry"] = None
    bundle("bundle_villages_no_geometry.gpkg", {"villages": vil})
    case("bundle_villages_no_geometry.gpkg", "bundle", "villages", "rows_rejected",
         r":3:geometry: no geometry", 5, 4, 1, "a village without geometry (GEOSException in gaps)")

    vil = villages_gdf(5)
    vil.loc[3, "village_id"] = vil.loc[0, "village_id"]
    bundle("bundle_villages_duplicate_id.gpkg", {"villages": vil})
    case("bundle_villages_duplicate_id.gpkg", "bundle", "villages", "rows_rejected",
         r":4:village_id: duplicate village_id 'V0000' \(first at row 1\)", 5, 4, 1,
         "a village id twice (gaps crashed, coverage counted it twice)")

    vil = villages_gdf(5)
    vil["population"] = vil["population"].astype("int64")
    vil.loc[1, "population"] = -5
    bundle("bundle_villages_negative_population.gpkg", {"villages": vil})
    case("bundle_villages_negative_population.gpkg", "bundle", "villages", "rows_rejected",
         r":2:population: -5 is below the minimum 0", 5, 4, 1,
         "population −5 stored in the GeoPackage")

    vil = villages_gdf(4)
    vil["centre_lon"] = [np.nan, 103.1, np.nan, np.nan]
    vil["centre_lat"] = [np.nan, 22.1, np.nan, np.nan]
    vil.loc[1, ["centre_lon", "centre_lat"]] = [lonlat(1)[0] + 0.002, lonlat(1)[1] + 0.002]
    bundle("bundle_villages_null_centre.gpkg", {"villages": vil})
    case("bundle_villages_null_centre.gpkg", "bundle", "villages", "accepted", "", 4, 4, 0,
         "empty optional centre_lon in a GeoPackage (NULL reads as NaN): accepted")

    admin = gpd.GeoDataFrame({"code": ["12", "105", "03220"], "name": ["Lai Châu", "Mường Tè",
                                                                       "Mù Cả"],
                              "level": ["province", "district", "commune"],
                              "parent_code": [None, "12", "105"]},
                             geometry=[shapely.box(103.0, 22.0, 103.7, 22.7)] * 3, crs=4326)
    vil = villages_gdf(4)
    vil["commune_code"] = ["03220", "03220", "09999", "03220"]
    bundle("bundle_villages_unknown_commune.gpkg", {"admin_units": admin, "villages": vil})
    case("bundle_villages_unknown_commune.gpkg", "bundle", "villages", "rows_rejected",
         r":3:commune_code: commune_code '09999' is not a commune of admin_units", 4, 3, 1,
         "a village in a commune the admin layer does not have")

    bts = gdf_from(BTS_COLS, bts_rows(4))
    bundle("bundle_bts_without_towers.gpkg", {"bts": bts})
    case("bundle_bts_without_towers.gpkg", "bundle", "bts", "accepted", "", 4, 4, 0,
         "BTS with no towers layer: tower ids cannot be checked (the commands then ask for "
         "villages)")

    # -- DEMs: units, markers, values that are no elevations
    write_dem("dem_feet_declared.tif", 102.2, 21.6, units="ft", scale=1 / 0.3048)
    case("dem_feet_declared.tif", "dem", "dem", "accepted_with_warning",
         r"read as feet and converted to metres \(the file declares feet\)", "", "", "",
         "elevations in feet, declared")

    write_dem("dem_feet_undeclared.tif", 102.2, 21.6, scale=1 / 0.3048)
    case("dem_feet_undeclared.tif", "dem", "dem", "accepted_with_warning",
         r"read as feet .*too high for metres", "", "", "",
         "feet not declared: values up to 5 900 are no metres here")

    write_dem("dem_undeclared_void_markers.tif", 102.2, 21.6, voids=0.05, nodata=None)
    case("dem_undeclared_void_markers.tif", "dem", "dem", "accepted_with_warning",
         r"no-data marker .* the file does not declare", "", "", "",
         "−32768 voids without a nodata tag (SRTM exported raw)")

    write_dem("dem_minus9999_markers.tif", 102.2, 21.6, voids=0.03, nodata=None, marker=-9999)
    case("dem_minus9999_markers.tif", "dem", "dem", "accepted_with_warning",
         r"no-data marker", "", "", "", "−9999 voids without a nodata tag")

    write_dem("dem_not_elevations.tif", 102.2, 21.6, scale=60.0)
    case("dem_not_elevations.tif", "dem", "dem", "error", r"neither metres nor feet", "", "",
         "", "a raster of something else (values up to 100 000)")

    write_dem("dem_metres_declared_too_high.tif", 102.2, 21.6, units="metre", scale=4.0)
    case("dem_metres_declared_too_high.tif", "dem", "dem", "error",
         r"though the file says metres", "", "", "", "declared metres, values up to 7 000")

    write_dem("dem_all_voids.tif", 102.2, 21.6, voids=1.0)
    case("dem_all_voids.tif", "dem", "dem", "error", r"100% of the DEM cells are voids", "",
         "", "", "nothing but nodata")

    write_dem("dem_int16_srtm.tif", 102.2, 21.6, voids=0.02, dtype="int16")
    case("dem_int16_srtm.tif", "dem", "dem", "accepted_with_warning",
         r"of the DEM cells are voids", "", "", "", "int16 SRTM-style DEM with declared −32768")

    # -- more Shapefile / KML
    rows = tower_rows(5)
    rows[4][0] = rows[2][0]
    zip_shapefile("shp_towers_duplicate_ids.zip", gdf_from(TOWER_COLS, rows))
    case("shp_towers_duplicate_ids.zip", "shp", "towers", "rows_rejected",
         r":5:tower_id: duplicate tower_id 'LCU0002' \(first at row 3\)", 5, 4, 1,
         "a Shapefile with a tower id twice")


README_HEAD = """# Bad-input corpus

Malformed inputs for every reader (CSV, GeoJSON, GeoPackage, Shapefile, KML, DEM GeoTIFF) and
every layer, each with the outcome a user should get. **All files are generated** by
`make_corpus.py` in this folder (deterministic; run it from the repository root with
`.venv/bin/python tests/corpus/make_corpus.py`); none comes from a real dataset. Positions are
made-up points in Lai Châu; names are real place names of the province used as text samples.

`cases.csv` holds, per file: the reader, the layer, a CRS passed by the user (if any), the
expected outcome, a regular expression the warning / problem / error must match, and the row
counts (rows in = accepted + rejected). `tests/layers/test_corpus.py` checks every case
through the library (`layers.io.read_layer`, `layers.io.validate_path`, and for DEMs
`layers.validate.validate_dem` plus `gis.dem.read_dem`) and through `phusong validate`.

Outcomes: `accepted` (all rows, no warning needed — documented limitations, and cells the
schema allows to be empty),
`accepted_with_warning`, `rows_rejected` (with the reason in the rejects), `error` (one line,
a `PhusongError`, never a traceback). All checks run with the bounds of Lai Châu.

| file | reader | layer | expected | rows in / accepted / rejected | what it is |
|---|---|---|---|---|---|
"""


FINDINGS = """
## What the corpus found (fixed in the library)

* A Shapefile DBF cuts `extremely_difficult` to `extremely_` (GDAL keeps the trailing `_`);
  the column matcher compared a normalised key without it and raised a missing-column error.
* With pandas 3 the DBF's text columns are `str`, not `object`: legacy-encoded DBFs (no `.cpg`)
  were read as ASCII and never re-decoded.
* A row that was already rejected for another reason and also repeated an id did not mention
  the duplicate; every reason of a row is now listed.
* GDAL's own warnings (e.g. "bad application_id" on a damaged GeoPackage) escaped as Python
  warnings; they are silenced around the reader, which reports one line instead.
* The test-file TCVN3 encoder wrote Latin-1 bytes for letters whose Latin-1 code is unassigned
  in TCVN3 (à, Â); the decoder was right, the generated files were not.
* The expected row of one case was written wrong (CSV rows count the header as row 1).
* An empty optional number (a NULL `centre_lon` in a GeoPackage or GeoJSON, read as NaN) was
  rejected as "nan is not a finite number"; a NaN cell is now an empty cell (rejected only
  where a value is required).
* DEMs: undeclared −32768 / −9999 voids were read as elevations and feet as metres; one rule
  (`gis.dem.clean_elevation`) now serves `validate`, `read_dem` (every analysis, `--dem`
  included) and the DEM importer: markers are voids, feet are converted (declared, or values
  too high for metres), values that are no elevations are refused.
* Villages without geometry, with a repeated id or a negative population passed into the
  analyses (a GEOSException in `gaps`, a village counted twice by `coverage`): every command
  now reads the bundle through the same validation and sets such rows aside.
"""


def list_cases() -> None:
    """Operators' and the province's own lists: workbooks, DMS, KMZ, BTS keyed by tower."""
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Hướng dẫn"
    wb.active.append(["Danh sách cột anten: xem trang tính 'Cột' (chưa nhập)"])
    wb.create_sheet("Tổng hợp").append(["Tổng số cột", 12])
    wb.save(INPUTS / "xlsx_wrong_sheet.xlsx")
    case("xlsx_wrong_sheet.xlsx", "xlsx", "towers", "error",
         r"no sheet holds a table of towers .*sheets: Hướng dẫn, Tổng hợp", "", "", "",
         "a workbook whose sheets hold notes and totals, no table of towers")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "BTS"
    ws.append(["DANH SÁCH THIẾT BỊ TRẠM – LAI CHÂU"])
    ws.merge_cells("A1:I1")
    ws.append(["Mã thiết bị trạm", "Mã vị trí cột", "Doanh nghiệp", "Công nghệ",
               "Băng tần (MHz)", "Độ cao anten (m)", "EIRP (dBm)", "Tọa độ", None])
    ws.append([None] * 7 + ["Kinh độ", "Vĩ độ"])
    for col in "ABCDEFG":
        ws.merge_cells(f"{col}2:{col}3")
    ws.merge_cells("H2:I2")
    for i, r in enumerate(bts_rows(5)):
        if i == 2:
            r[3] = "6G"
        ws.append(r)
    wb.save(INPUTS / "xlsx_bts_merged_header.xlsx")
    case("xlsx_bts_merged_header.xlsx", "xlsx", "bts", "rows_rejected",
         r":6:tech: unknown value '6G'", 5, 4, 1,
         "title row, two-row header with merged cells (Tọa độ over Kinh độ/Vĩ độ), a 6G row")

    def dms(v: float, hemi: str, *, minutes: int | None = None) -> str:
        total = round(v * 3600, 1)  # tenths of a second, carried into minutes and degrees
        d = int(total // 3600)
        m = int((total - d * 3600) // 60)
        sec = round(total - d * 3600 - m * 60, 1)
        return f"{d}°{m if minutes is None else minutes:02d}'{str(sec).replace('.', ',')}\"{hemi}"

    rows = tower_rows(5)
    for i, r in enumerate(rows):
        r[4], r[5] = dms(r[4], "E"), dms(r[5], "N", minutes=61 if i == 3 else None)
    write_csv("csv_towers_dms_comma_seconds.csv", TOWER_COLS, rows, delimiter=";")
    case("csv_towers_dms_comma_seconds.csv", "csv", "towers", "rows_rejected",
         r":5:lat: coordinate .*minutes and seconds must be below 60", 5, 4, 1,
         "degrees-minutes-seconds with comma seconds (Vietnamese Excel); one 61′")

    with zipfile.ZipFile(INPUTS / "kmz_no_placemarks.kmz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://'
                   'www.opengis.net/kml/2.2"><Document><name>Cột anten</name><Folder>'
                   '<name>cot</name></Folder></Document></kml>\n')
    case("kmz_no_placemarks.kmz", "kmz", "towers", "error", r"KMZ has no placemarks", "", "",
         "", "a KMZ whose document has a folder and no placemark")

    rows = bts_rows(4)
    rows[3][1], rows[3][7], rows[3][8] = "LCU9999", "", ""
    write_csv("csv_bts_id_matches_no_tower.csv", BTS_COLS, rows)
    case("csv_bts_id_matches_no_tower.csv", "list", "bts", "rows_rejected",
         r":5:tower_id: tower_id 'LCU9999' matches no tower", 4, 3, 1,
         "a BTS without coordinates whose tower id matches no tower (operator's list)")


# -- drive-test / crowdsourced measurements (phusong calibrate) ------------------------------
MEAS_CASES: list[dict] = []
MEAS_README = """
## Measurement files (`phusong calibrate --measurements`)

Files in `measurements/`, checked by `tests/analysis/test_calibrate.py` through
`analysis.coverage.calibrate.read_measurements` (expectations in `measurement_cases.csv`).

| file | expected | rows in / accepted / rejected | what it is |
|---|---|---|---|
"""


def meas_case(file: str, expected: str, regex: str, rows_in: int | str, accepted: int | str,
              rejected: int | str, what: str) -> None:
    MEAS_CASES.append({"file": file, "expected": expected, "expected_message_regex": regex,
                       "rows_in": rows_in, "accepted": accepted, "rejected": rejected,
                       "description": what})


def measurement_cases() -> str:
    """Write the measurement files (``measurements/``) and ``measurement_cases.csv``; return
    the README section."""
    MEAS_CASES.clear()
    folder = HERE / "measurements"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    app = ["Time", "Latitude", "Longitude", "Operator", "Technology", "RSRP", "RSCP", "RxLev",
           "CID"]

    def pos(i: int) -> tuple[float, float]:
        lon, lat = lonlat(i)
        return round(lat, 6), round(lon, 6)

    rows = []
    for i in range(6):
        lat, lon = pos(i)
        rows.append([f"2025-03-0{i + 1} 08:00:00", lat, lon, "Viettel", "LTE", "", "", "",
                     f"{1000 + i}"])
    rows[1][5] = "23"  # ASU
    rows[3][5] = "-44.5e1"  # far below any handset
    for r in (0, 2, 4, 5):
        rows[r][5] = str(-95 - r)
    write_csv("measurements_asu_and_impossible_levels.csv", app, rows, folder=folder)
    meas_case("measurements_asu_and_impossible_levels.csv", "rows_rejected",
              "outside -150", 6, 4, 2, "RSRP given in ASU (23) and a mistyped -445 dBm")
    rows = []
    for i in range(5):
        lat, lon = pos(i)
        rows.append([f"2025-03-01 09:0{i}:00", lat, lon, "Vinaphone", "LTE", "", "", "", ""])
    write_csv("measurements_rssi_only_for_lte.csv",
              [*app, "RSSI"], [[*r, str(-70 - i)] for i, r in enumerate(rows)],
              folder=folder)
    meas_case("measurements_rssi_only_for_lte.csv", "rows_rejected", "RSSI is not RSCP/RSRP",
              5, 0, 5, "LTE rows with RSSI only (not RSRP)")
    oc = ["mcc", "net", "area", "cell", "lon", "lat", "signal", "measured", "created",
          "rating", "speed", "direction", "radio", "ta", "rnc", "cid", "psc", "tac", "pci",
          "sid", "nid", "bid"]
    rows = []
    for i in range(6):
        lat, lon = pos(i)
        mcc, net = (452, 4) if i % 3 else (310, 260)
        rows.append([mcc, net, 12001, 3301 + i, lon, lat, -101 + i, 1740790000 + i,
                     1740790100 + i, "", 0, "", "LTE", "", "", "", "", 12001, 77, "", "", ""])
    write_csv("measurements_opencellid_foreign_mcc.csv", oc, rows, folder=folder)
    meas_case("measurements_opencellid_foreign_mcc.csv", "rows_rejected", "MCC 310 is not",
              6, 4, 2, "OpenCelliD measurement export with two roaming rows of MCC 310")
    rows = []
    for i in range(5):
        lat, lon = pos(i)
        rows.append([f"2025-03-01 10:0{i}:00", lat, lon, "Mobifone", "GSM", "", "", "",
                     str(30 + i)])
    rows[2][1], rows[2][2] = 0, 0
    rows[4][1], rows[4][2] = "", ""
    for r in rows:
        r[7] = "40"  # RxLev 40 = -70 dBm
    write_csv("measurements_no_gps_fix.csv", app, rows, folder=folder)
    meas_case("measurements_no_gps_fix.csv", "rows_rejected", "no GPS fix|position missing",
              5, 3, 2, "rows without a GPS fix (0, 0 and empty); RxLev 0–63 read as dBm − 110")
    rows = []
    for i, tech in enumerate(["WiMAX", "LTE", "CDMA2000", "WCDMA", "NR"]):
        lat, lon = pos(i)
        rows.append([f"2025-03-01 11:0{i}:00", lat, lon, "Viettel", tech, "-98", "-99", "",
                     ""])
    write_csv("measurements_unknown_technology.csv", app, rows, folder=folder)
    meas_case("measurements_unknown_technology.csv", "rows_rejected", "unknown technology",
              5, 3, 2, "WiMAX and CDMA2000 rows among LTE / WCDMA / NR")
    rows = []
    for i in range(4):
        lat, lon = pos(i)
        rows.append([f"01/03/2025 12:0{i}", str(lat).replace(".", ","),
                     str(lon).replace(".", ","), "452-04", "4G", f"-97,{i}", "", "", ""])
    write_csv("measurements_semicolon_decimal_comma.csv",
              ["Thời gian", "Vĩ độ", "Kinh độ", "Nhà mạng", "Công nghệ", "RSRP", "RSCP",
               "RxLev", "Mã trạm"], rows, delimiter=";", bom=True, folder=folder)
    meas_case("measurements_semicolon_decimal_comma.csv", "accepted", "", 4, 4, 0,
              "Vietnamese-locale Excel CSV: ';', decimal comma, Vietnamese headers, MNC 452-04")
    write_csv("measurements_no_position_columns.csv", ["Operator", "Technology", "RSRP"],
              [["Viettel", "LTE", "-90"]], folder=folder)
    meas_case("measurements_no_position_columns.csv", "error", "no lat / lon column", "", "",
              "", "no latitude/longitude columns at all")
    (folder / "measurements_empty_0_bytes.csv").write_bytes(b"")
    meas_case("measurements_empty_0_bytes.csv", "error", "empty file", "", "", "",
              "0-byte file")
    write_csv("measurements_no_signal_column.csv", ["Latitude", "Longitude", "Operator",
                                                   "Technology", "Speed"],
              [[*pos(0), "Viettel", "LTE", "12"]], folder=folder)
    meas_case("measurements_no_signal_column.csv", "error", "no signal column", "", "", "",
              "a speed-test export without any signal level")
    fields = ["file", "expected", "expected_message_regex", "rows_in", "accepted", "rejected",
              "description"]
    with open(HERE / "measurement_cases.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(MEAS_CASES)
    lines = [MEAS_README]
    for c in MEAS_CASES:
        counts = f"{c['rows_in']} / {c['accepted']} / {c['rejected']}" if c["rows_in"] != "" \
            else "—"
        lines.append(f"| `{c['file']}` | {c['expected']} | {counts} | {c['description']} |\n")
    return "".join(lines)


def main() -> None:
    if INPUTS.exists():
        shutil.rmtree(INPUTS)
    INPUTS.mkdir(parents=True)
    csv_cases()
    csv_more_cases()
    geojson_cases()
    gpkg_cases()
    shapefile_cases()
    kml_cases()
    dem_cases()
    list_cases()
    guard_cases()
    for f in INPUTS.iterdir():
        if f.name.endswith(".aux.xml"):
            f.unlink()
    fields = ["file", "reader", "layer", "crs", "expected", "expected_message_regex", "rows_in",
              "accepted", "rejected", "description"]
    with open(HERE / "cases.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(CASES)
    lines = [README_HEAD]
    for c in CASES:
        counts = f"{c['rows_in']} / {c['accepted']} / {c['rejected']}" if c["rows_in"] != "" \
            else "—"
        lines.append(f"| `{c['file']}` | {c['reader']} | {c['layer']} | {c['expected']} | "
                     f"{counts} | {c['description']} |\n")
    by_kind: dict[str, int] = {}
    for c in CASES:
        by_kind[c["expected"]] = by_kind.get(c["expected"], 0) + 1
    lines.append(f"\n{len(CASES)} cases: " + ", ".join(f"{k} {v}" for k, v in
                                                      sorted(by_kind.items())) + ".\n")
    lines.append(FINDINGS)
    lines.append(measurement_cases())
    (HERE / "README.md").write_text("".join(lines), encoding="utf-8")
    big = [f.name for f in INPUTS.iterdir() if f.stat().st_size > 50_000]
    if big:
        raise SystemExit(f"files over 50 KB: {big}")
    print(f"wrote {len(CASES)} cases in {INPUTS}")


if __name__ == "__main__":
    main()
