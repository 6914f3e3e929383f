"""Write fixtures in the shapes of real sources the tool must read (tests/data/importers/real/).

Run from the repository root::

    .venv/bin/python tests/data/importers/make_real_shapes.py

Every file is synthetic (written here, deterministic, no third-party data) but has the exact
layout of a real source that is not in ``../shared/realdata``:

* ``gadm41_VNM.gpkg`` — a national GADM 4.1 GeoPackage (layers ``ADM_ADM_1..3``, full
  columns ``GID_0, COUNTRY, GID_1, NAME_1, VARNAME_1, NL_NAME_1, TYPE_1, ENGTYPE_1, CC_1,
  HASC_1, ISO_1, …``) of five provinces: the three seed provinces (Lai Châu, Điện Biên,
  Lạng Sơn), Vĩnh Phúc and Hà Nội, each a small box inside the real province with two
  districts of two communes;
* ``gadm41_VNM_2_simplified.shp`` — the simplified GADM (``GID_1, NAME_1, GID_2, NAME_2``);
* ``gadm2_VNM_adm3.shp`` — a GADM 2.x file starting at regions (``ID_0, ISO, NAME_0, ID_1,
  NAME_1`` = region, ``ID_2, NAME_2`` = province, ``ID_3, NAME_3`` = district) and
  ``gadm2_VNM_adm2.shp`` starting at provinces;
* ``official_tm3/xa_toan_quoc.shp`` — an official ``MaTinh, TenTinh, MaHuyen, TenHuyen, MaXa,
  TenXa`` file of two provinces in VN-2000 / TM-3 103° without ``.prj``;
* ``geoBoundaries-VNM-ADM1.geojson`` / ``-ADM2.geojson`` — national geoBoundaries files;
* ``tinh_khong_ro.geojson`` + ``tinh_khong_ro_columns.txt`` — a file of unknown layout
  (``TINH, HUYEN, TEN_XA, MA_XA``) and its column mapping;
* ``osm_export.geojson`` — an overpass-turbo GeoJSON export of villages, masts (with and
  without ``operator``), post offices and roads of the five provinces;
* ``bts_operators.xlsx`` — operators' BTS lists: a title row, a merged two-row header
  (``Tọa độ`` over ``Kinh độ``/``Vĩ độ``), one sheet per operator (decimal degrees;
  degrees-minutes-seconds with comma seconds) and a notes sheet;
* ``cot_anten.csv`` — towers with the tool's own Vietnamese headers (``Mã vị trí cột``,
  ``Độ cao cột (m)``, ``Chủ sở hữu``, ``Nguồn điện`` as ``Điện lưới``/``Năng lượng mặt
  trời``/``Máy phát``), ``;`` and decimal comma, UTF-8 with BOM;
* ``bts_theo_cot.csv`` — BTS keyed by ``Mã vị trí cột`` without coordinates (one id matches
  no tower);
* ``cot_anten.kmz`` — towers as Google Earth placemarks; ``cap_quang.kml`` — fibre routes;
* ``buu_cuc.csv`` + ``buu_cuc_columns.txt`` — post offices with unusual headers and their
  column mapping;
* ``danh_sach_thon.xlsx`` — the province's list of villages of Lai Châu: names per commune
  (commune names, no codes, no coordinates), 5 % of the names misspelt, one village OSM
  does not have and one name two OSM places share; ``thon_toa_do.csv`` — villages as points.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
from shapely.geometry import LineString, Point, box

HERE = Path(__file__).resolve().parent
OUT = HERE / "real"

#: (GID_1 number, NAME_1, VARNAME_1, HASC, box (lon/lat), districts (name, communes))
PROVINCES = [
    (27, "Lai Châu", "Lai Chau", "VN.LC", (103.10, 22.30, 103.40, 22.50),
     [("Sìn Hồ", ["Tả Phìn", "Nậm Tăm"]), ("Phong Thổ", ["Mường So", "Sì Lở Lầu"])]),
    (15, "Điện Biên", "Dien Bien", "VN.DB", (102.95, 21.30, 103.25, 21.50),
     [("Mường Ảng", ["Ẳng Nưa", "Búng Lao"]), ("Tuần Giáo", ["Quài Tở", "Mùn Chung"])]),
    (34, "Lạng Sơn", "Lang Son", "VN.LS", (106.50, 21.80, 106.80, 22.00),
     [("Cao Lộc", ["Tân Liên", "Hải Yến"]), ("Văn Quan", ["Tú Xuyên", "Yên Phúc"])]),
    (62, "Vĩnh Phúc", "Vinh Phuc", "VN.VP", (105.45, 21.25, 105.75, 21.45),
     [("Tam Đảo", ["Đại Đình", "Hồ Sơn"]), ("Lập Thạch", ["Bắc Bình", "Tử Du"])]),
    (26, "Hà Nội", "Ha Noi", "VN.HN", (105.75, 20.95, 106.05, 21.15),
     [("Ba Vì", ["Tản Lĩnh", "Vân Hòa"]), ("Sóc Sơn", ["Minh Phú", "Nam Sơn"])]),
]
REGIONS = {27: (1, "Tây Bắc"), 15: (1, "Tây Bắc"), 34: (2, "Đông Bắc"), 62: (3, "Đồng bằng "
                                                                            "sông Hồng"),
           26: (3, "Đồng bằng sông Hồng")}


def _quarters(b: tuple[float, float, float, float]):
    w, s, e, n = b
    mx, my = (w + e) / 2, (s + n) / 2
    return [box(w, my, mx, n), box(w, s, mx, my), box(mx, my, e, n), box(mx, s, e, my)]


def units() -> list[dict]:
    """One row per commune with its province and district (codes as GADM 4.1 GIDs)."""
    rows = []
    for g1, name, var, hasc, b, districts in PROVINCES:
        q = _quarters(b)
        for j, (dname, communes) in enumerate(districts, start=1):
            for k, cname in enumerate(communes, start=1):
                rows.append({"g1": g1, "name1": name, "var1": var, "hasc": hasc,
                             "g2": j, "name2": dname, "g3": k, "name3": cname,
                             "geom": q[2 * (j - 1) + (k - 1)], "pbox": box(*b)})
    return rows


def write_gadm41() -> None:
    rows = units()
    base = {"GID_0": "VNM", "COUNTRY": "Vietnam"}
    l1, l2, l3 = [], [], []
    for g1, name, var, hasc, b, _d in PROVINCES:
        l1.append({**base, "GID_1": f"VNM.{g1}_1", "NAME_1": name, "VARNAME_1": var,
                   "NL_NAME_1": "", "TYPE_1": "Tỉnh", "ENGTYPE_1": "Province", "CC_1": "",
                   "HASC_1": hasc, "ISO_1": "", "geometry": box(*b)})
    seen = set()
    for r in rows:
        gid1, gid2 = f"VNM.{r['g1']}_1", f"VNM.{r['g1']}.{r['g2']}_1"
        if gid2 not in seen:
            seen.add(gid2)
            geom = gpd.GeoSeries([x["geom"] for x in rows if x["g1"] == r["g1"]
                                  and x["g2"] == r["g2"]]).union_all()
            l2.append({**base, "GID_1": gid1, "NAME_1": r["name1"], "NL_NAME_1": "",
                       "GID_2": gid2, "NAME_2": r["name2"], "VARNAME_2": "", "NL_NAME_2": "",
                       "TYPE_2": "Huyện", "ENGTYPE_2": "District", "CC_2": "",
                       "HASC_2": "", "geometry": geom})
        l3.append({**base, "GID_1": gid1, "NAME_1": r["name1"], "NL_NAME_1": "",
                   "GID_2": gid2, "NAME_2": r["name2"], "NL_NAME_2": "",
                   "GID_3": f"VNM.{r['g1']}.{r['g2']}.{r['g3']}_1", "NAME_3": r["name3"],
                   "VARNAME_3": "", "NL_NAME_3": "", "TYPE_3": "Xã", "ENGTYPE_3": "Commune",
                   "CC_3": "", "HASC_3": "", "geometry": r["geom"]})
    p = OUT / "gadm41_VNM.gpkg"
    p.unlink(missing_ok=True)
    for k, frame in ((1, l1), (2, l2), (3, l3)):
        pyogrio.write_dataframe(gpd.GeoDataFrame(frame, crs="EPSG:4326"), p,
                                layer=f"ADM_ADM_{k}", driver="GPKG", append=k > 1)
    simple = gpd.GeoDataFrame([{k: v for k, v in r.items() if k in (
        "GID_1", "NAME_1", "GID_2", "NAME_2", "geometry")} for r in l2], crs="EPSG:4326")
    pyogrio.write_dataframe(simple, OUT / "gadm41_VNM_2_simplified.shp", encoding="UTF-8")


def write_gadm2() -> None:
    rows = units()
    by_district = {}
    for r in rows:
        by_district.setdefault((r["g1"], r["g2"]), []).append(r)
    adm3, adm2 = [], []
    for n, ((g1, _g2), rs) in enumerate(sorted(by_district.items()), start=1):
        rid, rname = REGIONS[g1]
        geom = gpd.GeoSeries([x["geom"] for x in rs]).union_all()
        adm3.append({"ID_0": 250, "ISO": "VNM", "NAME_0": "Vietnam", "ID_1": rid,
                     "NAME_1": rname, "ID_2": g1, "NAME_2": rs[0]["name1"], "ID_3": n,
                     "NAME_3": rs[0]["name2"], "TYPE_3": "Huyện", "ENGTYPE_3": "District",
                     "NL_NAME_3": "", "VARNAME_3": "", "geometry": geom})
        adm2.append({"ID_0": 250, "ISO": "VNM", "NAME_0": "Vietnam", "ID_1": g1,
                     "NAME_1": rs[0]["name1"], "ID_2": n, "NAME_2": rs[0]["name2"],
                     "TYPE_2": "Huyện", "ENGTYPE_2": "District", "geometry": geom})
    pyogrio.write_dataframe(gpd.GeoDataFrame(adm3, crs="EPSG:4326"),
                            OUT / "gadm2_VNM_adm3.shp", encoding="UTF-8")
    pyogrio.write_dataframe(gpd.GeoDataFrame(adm2, crs="EPSG:4326"),
                            OUT / "gadm2_VNM_adm2.shp", encoding="UTF-8")


def write_official() -> None:
    codes = {27: ("12", {1: "106", 2: "107"}), 15: ("11", {1: "098", 2: "099"})}
    rows = []
    for n, r in enumerate(units()):
        if r["g1"] not in codes:
            continue
        pc, dcs = codes[r["g1"]]
        rows.append({"MaTinh": int(pc), "TenTinh": f"Tỉnh {r['name1']}",
                     "MaHuyen": int(dcs[r["g2"]]), "TenHuyen": f"Huyện {r['name2']}",
                     "MaXa": 3100 + n, "TenXa": f"Xã {r['name3']}", "geometry": r["geom"]})
    gdf = gpd.GeoDataFrame(rows, crs="EPSG:4326").to_crs(9205)
    folder = OUT / "official_tm3"
    folder.mkdir(exist_ok=True)
    for f in folder.iterdir():
        f.unlink()
    pyogrio.write_dataframe(gdf, folder / "xa_toan_quoc.shp", encoding="UTF-8")
    (folder / "xa_toan_quoc.prj").unlink()  # as delivered: no .prj


def write_geoboundaries() -> None:
    adm1 = [{"shapeName": name, "shapeISO": f"VN-{g1:02d}", "shapeID": f"VNM-ADM1-{g1}",
             "shapeGroup": "VNM", "shapeType": "ADM1", "geometry": box(*b)}
            for g1, name, _v, _h, b, _d in PROVINCES]
    gpd.GeoDataFrame(adm1, crs="EPSG:4326").to_file(OUT / "geoBoundaries-VNM-ADM1.geojson",
                                                    driver="GeoJSON")
    adm2, seen = [], set()
    rows = units()
    for r in rows:
        key = (r["g1"], r["g2"])
        if key in seen:
            continue
        seen.add(key)
        geom = gpd.GeoSeries([x["geom"] for x in rows if (x["g1"], x["g2"]) == key]).union_all()
        adm2.append({"shapeName": f"Huyện {r['name2']}", "shapeISO": "",
                     "shapeID": f"VNM-ADM2-{r['g1']}-{r['g2']}", "shapeGroup": "VNM",
                     "shapeType": "ADM2", "geometry": geom})
    gpd.GeoDataFrame(adm2, crs="EPSG:4326").to_file(OUT / "geoBoundaries-VNM-ADM2.geojson",
                                                    driver="GeoJSON")


def write_unknown_layout() -> None:
    rows = [{"TINH": r["name1"], "HUYEN": r["name2"], "TEN_XA": r["name3"],
             "MA_XA": f"{r['g1']:02d}{r['g2']}{r['g3']:02d}", "geometry": r["geom"]}
            for r in units()]
    gpd.GeoDataFrame(rows, crs="EPSG:4326").to_file(OUT / "tinh_khong_ro.geojson",
                                                    driver="GeoJSON")
    (OUT / "tinh_khong_ro_columns.txt").write_text(
        "# cột của tệp ranh giới tinh_khong_ro.geojson\nprovince_name = TINH\n"
        "district_name = HUYEN\ncommune_name = TEN_XA\ncommune_code = MA_XA\n",
        encoding="utf-8")


# -- OSM ---------------------------------------------------------------------------------------
SYLL = ["Nà", "Pa", "Huổi", "Nậm", "Sín", "Tả", "Phìn", "Chải", "Lũng", "Cang", "Hồ", "Pá",
        "Khao", "Lếch", "Ló", "Xà", "Dề", "Mò", "Phăng", "Lìn", "Cáy", "Hon", "Ngải", "Thầu",
        "Chang", "Luông", "Hán", "Khum"]


def village_names(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out, keys = [], set()
    while len(out) < n:
        a, b = rng.choice(SYLL, 2, replace=False)
        name = f"Bản {a} {b.lower() if rng.random() < 0 else b}"
        key = name.lower()
        if key not in keys:
            keys.add(key)
            out.append(name)
    return out


def osm_features() -> tuple[list[dict], list[dict]]:
    """GeoJSON features of all provinces, and the Lai Châu village places (for the list)."""
    feats, lc_places = [], []
    nid = 7_000_000_000
    rng = np.random.default_rng(7)
    for r in units():
        g = r["geom"]
        w, s, e, n = g.bounds
        count = 16 if r["g1"] == 27 else 3
        names = village_names(count, seed=r["g1"] * 100 + r["g2"] * 10 + r["g3"])
        if r["g1"] == 27 and r["g2"] == 1 and r["g3"] == 1:
            names[-1] = names[0]  # two places share a name: a list row for it is ambiguous
        for name in names:
            nid += 1
            lon = float(rng.uniform(w + 0.005, e - 0.005))
            lat = float(rng.uniform(s + 0.005, n - 0.005))
            tags = {"place": "hamlet" if rng.random() < 0.3 else "village", "name": name}
            if rng.random() < 0.3:
                tags["population"] = str(int(rng.integers(80, 900)))
            feats.append({"type": "Feature", "id": f"node/{nid}", "properties": {
                "@id": f"node/{nid}", **tags}, "geometry": Point(lon, lat).__geo_interface__})
            if r["g1"] == 27:
                lc_places.append({"id": f"OSM-N{nid}", "name": name, "commune": r["name3"]})
        # a mast with an operator, one without, a post office, a road
        cx, cy = g.centroid.x, g.centroid.y
        nid += 1
        feats.append({"type": "Feature", "id": f"node/{nid}", "properties": {
            "man_made": "mast", "tower:type": "communication", "operator": "Viettel",
            "height": "42", "communication:mobile_phone": "gsm;lte"},
            "geometry": Point(cx + 0.01, cy + 0.01).__geo_interface__})
        nid += 1
        feats.append({"type": "Feature", "id": f"node/{nid}", "properties": {
            "man_made": "mast", "tower:type": "communication", "height": "30"},
            "geometry": Point(cx - 0.01, cy - 0.01).__geo_interface__})
        nid += 1
        feats.append({"type": "Feature", "id": f"node/{nid}", "properties": {
            "amenity": "post_office", "name": f"Bưu điện văn hóa xã {r['name3']}"},
            "geometry": Point(cx, cy + 0.02).__geo_interface__})
        nid += 1
        feats.append({"type": "Feature", "id": f"way/{nid}", "properties": {
            "highway": "tertiary", "name": f"Đường {r['name3']}"},
            "geometry": LineString([(w + 0.002, cy), (e - 0.002, cy + 0.01)]).__geo_interface__})
    # a village, a mast and a post office outside every province
    for props, geom in (({"place": "village", "name": "Bản Ngoài Tỉnh"}, Point(104.5, 22.0)),
                        ({"man_made": "mast", "tower:type": "communication"},
                         Point(103.45, 22.45)),
                        ({"amenity": "post_office", "name": "Bưu cục ngoài"},
                         Point(103.42, 22.31))):
        nid += 1
        feats.append({"type": "Feature", "id": f"node/{nid}", "properties": props,
                      "geometry": geom.__geo_interface__})
    return feats, lc_places


def write_osm() -> list[dict]:
    feats, places = osm_features()
    doc = {"type": "FeatureCollection", "generator": "overpass-turbo",
           "copyright": "synthetic test data in the layout of an OSM export",
           "timestamp": "2025-06-01T00:00:00Z", "features": feats}
    (OUT / "osm_export.geojson").write_text(json.dumps(doc, ensure_ascii=False, indent=0),
                                            encoding="utf-8")
    return places


# -- operators' lists --------------------------------------------------------------------------
def dms(value: float, hemi: str, *, comma: bool) -> str:
    total = round(value * 3600, 1)  # tenths of a second, carried into minutes and degrees
    d = int(total // 3600)
    m = int((total - d * 3600) // 60)
    s = total - d * 3600 - m * 60
    sec = f"{s:.1f}".replace(".", ",") if comma else f"{s:.1f}"
    return f"{d}°{m:02d}'{sec}\"{hemi}"


#: BTS of the operators' workbook: (sheet, id, name, lon, lat, operator, tech, band, antenna)
BTS_ROWS = [
    ("Viettel", "LCU0001", "Tả Phìn 1", 103.1700, 22.4500, "Viettel", "4G", 1800, 35),
    ("Viettel", "LCU0002", "Tả Phìn 1", 103.17005, 22.45005, "Viettel", "GSM", 900, 35),
    ("Viettel", "LCU0003", "Nậm Tăm", 103.2100, 22.3600, "Viettel", "LTE", None, None),
    ("VNPT", "VNP-LC-01", "Mường So", 103.3000, 22.4600, "VNPT", "4G", 2100, 30),
    ("VNPT", "VNP-LC-02", "Sì Lở Lầu", 103.3300, 22.3500, "Vinaphone", "3G", 2100, 28),
    ("VNPT", "VNP-LC-03", "Sì Lở Lầu", 103.33010, 22.35010, "Vinaphone", "4G", 1800, 28),
]


def write_bts_workbook() -> None:
    import openpyxl
    from openpyxl.styles import Alignment, Font

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    notes = wb.create_sheet("Hướng dẫn")
    notes.append(["Danh sách trạm BTS trên địa bàn tỉnh Lai Châu (số liệu mẫu)"])
    notes.append(["Mỗi doanh nghiệp một trang tính; tọa độ WGS84."])
    for sheet in ("Viettel", "VNPT"):
        ws = wb.create_sheet(sheet)
        ws.append([f"DANH SÁCH TRẠM BTS {sheet.upper()} – TỈNH LAI CHÂU"])
        ws.merge_cells("A1:J1")
        ws["A1"].font = Font(bold=True)
        ws.append(["STT", "Mã trạm", "Tên trạm", "Tọa độ", None, "Nhà mạng", "Công nghệ",
                   "Băng tần (MHz)", "Độ cao anten (m)", "Hướng anten (độ)"])
        ws.append([None, None, None, "Kinh độ", "Vĩ độ", None, None, None, None, None])
        for col in "ABCFGHIJ":
            ws.merge_cells(f"{col}2:{col}3")
        ws.merge_cells("D2:E2")
        for cell in ws[2] + ws[3]:
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        k = 0
        for sh, bid, name, lon, lat, op, tech, band, ant in BTS_ROWS:
            if sh != sheet:
                continue
            k += 1
            if sheet == "VNPT":  # degrees-minutes-seconds, comma seconds
                x, y = dms(lon, "E", comma=True), dms(lat, "N", comma=True)
            else:
                x, y = lon, lat
            ws.append([k, bid, name, x, y, op, tech, band, ant, "0/120/240"])
    wb.save(OUT / "bts_operators.xlsx")


TOWERS = [
    ("LC-T001", 42.0, "Viettel", "Điện lưới", 103.1300, 22.4700),
    ("LC-T002", 36.5, "VNPT", "Năng lượng mặt trời", 103.2400, 22.4300),
    ("LC-T003", 30.0, "MobiFone", "Máy phát", 103.3500, 22.3200),
    ("LC-T004", 45.0, "Viettel", "Điện lưới", 103.2800, 22.4800),
]


def write_tower_lists() -> None:
    lines = ["Mã vị trí cột;Độ cao cột (m);Chủ sở hữu;Nguồn điện;Kinh độ;Vĩ độ"]
    for tid, h, owner, power, lon, lat in TOWERS:
        lines.append(f"{tid};{str(h).replace('.', ',')};{owner};{power};"
                     f"{str(lon).replace('.', ',')};{str(lat).replace('.', ',')}")
    (OUT / "cot_anten.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))
    bts = ["Mã thiết bị trạm,Mã vị trí cột,Doanh nghiệp,Công nghệ,Băng tần (MHz),"
           "Độ cao anten (m),EIRP (dBm)",
           "LC-T001-VT-4G,LC-T001,Viettel,4G,1800,40,58",
           "LC-T001-VT-2G,LC-T001,Viettel,2G,900,40,57",
           "LC-T002-VNP-4G,LC-T002,Vinaphone,LTE,1800,34,",
           "LC-T003-MB-3G,LC-T003,MobiFone,3G,2100,,",
           "LC-T999-VT-4G,LC-T999,Viettel,4G,1800,40,58"]  # tower id matches no tower
    (OUT / "bts_theo_cot.csv").write_text("\r\n".join(bts) + "\r\n", encoding="utf-8")
    # the same towers as Google Earth placemarks in a KMZ
    pm = []
    for tid, h, owner, power, lon, lat in TOWERS:
        pm.append(f"""  <Placemark><name>{tid}</name>
   <ExtendedData><Data name="tower_id"><value>{tid}</value></Data>
    <Data name="height_m"><value>{h}</value></Data><Data name="owner"><value>{owner}</value>
    </Data><Data name="power_source"><value>{power}</value></Data></ExtendedData>
   <Point><coordinates>{lon},{lat},0</coordinates></Point></Placemark>""")
    kml = ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
           "\n<Document><name>Cột anten Lai Châu</name><Folder><name>cot</name>\n"
           + "\n".join(pm) + "\n</Folder></Document></kml>\n")
    with zipfile.ZipFile(OUT / "cot_anten.kmz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", kml)
    routes = [("LC-F01", "Viettel", "Cáp treo", [(103.13, 22.47), (103.20, 22.44),
                                                  (103.24, 22.43)]),
              ("LC-F02", "VNPT", "Cáp ngầm", [(103.24, 22.43), (103.30, 22.40),
                                               (103.35, 22.32)])]
    pms = "\n".join(f"""  <Placemark><name>{rid}</name><ExtendedData>
   <Data name="route_id"><value>{rid}</value></Data><Data name="operator"><value>{op}</value>
   </Data><Data name="kind"><value>{kind}</value></Data></ExtendedData>
   <LineString><coordinates>{' '.join(f'{x},{y},0' for x, y in pts)}</coordinates></LineString>
  </Placemark>""" for rid, op, kind, pts in routes)
    (OUT / "cap_quang.kml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        f"\n<Document><name>Cáp quang</name>\n{pms}\n</Document></kml>\n", encoding="utf-8")
    po = ["So hieu;Ten don vi;Phan loai;Kinh do;Vi do;Wifi",
          "BC-LC-01;Bưu điện huyện Sìn Hồ;Bưu cục cấp II;103,2350;22,4450;có",
          "BC-LC-02;Điểm BĐVHX Tả Phìn;BĐVHX;103,1600;22,4550;không",
          "BC-LC-03;Đại lý bưu điện Nậm Tăm;Đại lý;103,2050;22,3550;",
          "BC-LC-04;Bưu cục Phố Mới;Bưu cục cấp 9;103,3100;22,4700;có"]  # unknown kind
    (OUT / "buu_cuc.csv").write_bytes(("\r\n".join(po) + "\r\n").encode("utf-8-sig"))
    (OUT / "buu_cuc_columns.txt").write_text(
        "po_id = So hieu\nname = Ten don vi\nkind = Phan loai\nhas_public_internet = Wifi\n",
        encoding="utf-8")


# -- village lists -----------------------------------------------------------------------------
def misspell(name: str, rng: np.random.Generator) -> str:
    """A typing error of the kind found in provincial lists: one diacritic lost, two
    letters swapped, or one letter dropped (the ``Bản`` prefix is left alone)."""
    import unicodedata

    head, _, body = name.partition(" ")
    kind = int(rng.integers(3))
    if kind == 0:
        chars = [c for c in body if unicodedata.normalize("NFD", c) != c]
        if chars:
            c = chars[0]
            base = unicodedata.normalize("NFD", c)[0]
            return f"{head} {body.replace(c, base, 1)}"
        kind = 1
    letters = [i for i in range(1, len(body) - 1) if body[i].isalpha() and body[i + 1].isalpha()]
    i = letters[len(letters) // 2]
    if kind == 1:
        body = body[:i] + body[i + 1] + body[i] + body[i + 2:]
    else:
        body = body[:i] + body[i + 1:]
    return f"{head} {body}"


def write_village_lists(places: list[dict]) -> list[dict]:
    import openpyxl

    rng = np.random.default_rng(15)
    by_commune: dict[str, list[dict]] = {}
    for p in places:
        by_commune.setdefault(p["commune"], []).append(p)
    rows = []
    for commune, ps in by_commune.items():
        seen = set()
        for p in ps:
            if p["name"] in seen:
                continue  # the shared name is listed once
            seen.add(p["name"])
            rows.append({"commune": commune, "name": p["name"], "osm": p["id"]})
    n_bad = round(0.05 * len(rows))
    bad = set(rng.choice(len(rows), n_bad, replace=False).tolist())
    for i in sorted(bad):
        rows[i]["listed"] = misspell(rows[i]["name"], rng)
        rows[i]["kind"] = "misspelt"
    for r in rows:
        r.setdefault("listed", r["name"])
        r.setdefault("kind", "exact")
    shared = next(r for r in rows if r["osm"] in {p["id"] for p in places}
                  and sum(q["name"] == r["name"] and q["commune"] == r["commune"]
                          for q in places) > 1)
    shared["kind"] = "ambiguous"
    rows.append({"commune": "Nậm Tăm", "name": "Bản Mới Lập", "listed": "Bản Mới Lập",
                 "osm": "", "kind": "unmatched"})
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Danh sách thôn"
    ws.append(["DANH SÁCH THÔN, BẢN TỈNH LAI CHÂU (dữ liệu mẫu)"])
    ws.merge_cells("A1:F1")
    ws.append(["STT", "Xã", "Tên thôn, bản", "Dân số", "Có điện lưới", "Khu vực biên giới"])
    for k, r in enumerate(rows, start=1):
        grid = None if k % 4 == 0 else ("có" if k % 3 else "không")
        ws.append([k, f"Xã {r['commune']}", r["listed"], 100 + 7 * k, grid,
                   "x" if r["commune"] in ("Mường So", "Sì Lở Lầu") else None])
    wb.save(OUT / "danh_sach_thon.xlsx")
    (OUT / "danh_sach_thon_key.json").write_text(json.dumps(rows, ensure_ascii=False,
                                                            indent=1), encoding="utf-8")
    pts = ["Mã thôn,Tên thôn,Xã,Kinh độ,Vĩ độ,Dân số",
           f"LC-TP-01,Bản Tả Phìn Cũ,Tả Phìn,{dms(103.16, 'E', comma=False)},"
           f"{dms(22.46, 'N', comma=False)},320",
           "LC-NT-01,Bản Nậm Tăm Mới,Nậm Tăm,103 12 36,22 21 36,210",
           "LC-MS-01,Bản Biên Giới,,103.31,22.47,"]
    (OUT / "thon_toa_do.csv").write_text("\r\n".join(pts) + "\r\n", encoding="utf-8")
    return rows


def write_all() -> list[Path]:
    OUT.mkdir(exist_ok=True)
    write_gadm41()
    write_gadm2()
    write_official()
    write_geoboundaries()
    write_unknown_layout()
    places = write_osm()
    write_bts_workbook()
    write_tower_lists()
    write_village_lists(places)
    return sorted(OUT.rglob("*"))


def main(argv: list[str]) -> int:
    for p in write_all():
        print(p.relative_to(HERE))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
