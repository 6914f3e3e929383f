"""A hand-built toy province for the map, report and browser tests.

The tests of this folder reach these helpers through the ``toys`` fixture. Twelve round villages in
three communes of two districts of "Lai Châu" (so the report finds the seeds' reported
figures), three towers with four BTS, two fibre routes (aerial 103.0→103.3°E along ~22.05°N,
underground along 103.1°E), two post offices, and a status table built by hand in the layout
of :func:`analysis.status.village_status`. Village ``V000`` is named :data:`EVIL`.
"""

from __future__ import annotations

import sys

import affine
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS, Transformer
from shapely.geometry import LineString, Point, box

from phusong.layers.bundle import ProvinceBundle

EVIL = "<img src=x onerror=alert(1)>"
OPS = ("viettel", "vinaphone", "mobifone", "vietnamobile")
_CYCLE = ("phu", "lom", "trang")
_ORDER = {"trang": 0, "lom": 1, "phu": 2}


def toy_bundle(*, province: str = "Lai Châu", sample: bool = True) -> ProvinceBundle:
    prov = box(103.0, 22.0, 103.3, 22.3)
    communes = [box(103.0, 22.0, 103.15, 22.15), box(103.0, 22.15, 103.15, 22.3),
                box(103.15, 22.0, 103.3, 22.3)]
    admin = gpd.GeoDataFrame({
        "code": ["12", "105", "106", "10501", "10502", "10601"],
        "name": [province, "Huyện Tam Đường", "Huyện Phong Thổ", "Xã Bản Bo", "Xã Nà Tăm",
                 "Xã Sì Lở Lầu"],
        "level": ["province", "district", "district", "commune", "commune", "commune"],
        "parent_code": [None, "12", "12", "105", "105", "106"]},
        geometry=[prov, box(103.0, 22.0, 103.15, 22.3), box(103.15, 22.0, 103.3, 22.3),
                  *communes], crs="EPSG:4326")
    rows = []
    for i in range(12):
        cx, cy = 103.02 + 0.025 * i, 22.05 + 0.02 * (i % 6)
        cc = "10601" if cx >= 103.15 else ("10501" if cy < 22.15 else "10502")
        rows.append({"village_id": f"V{i:03d}", "name": EVIL if i == 0 else f"Bản Nậm {i}",
                     "commune_code": cc, "population": 200 + 30 * i, "households": 40 + 5 * i,
                     "has_grid_power": bool(i % 4), "border_area": i > 8,
                     "extremely_difficult": i % 3 == 0, "centre_lon": cx, "centre_lat": cy,
                     "geometry": Point(cx, cy).buffer(0.008)})
    villages = gpd.GeoDataFrame(rows, crs="EPSG:4326")
    towers = gpd.GeoDataFrame({
        "tower_id": ["T1", "T2", "T3"], "height_m": [30.0, 40.0, 25.0],
        "owner": ["viettel", "vinaphone", "mobifone"], "power_source": ["grid", "solar", "grid"]},
        geometry=[Point(103.05, 22.06), Point(103.12, 22.1), Point(103.22, 22.2)],
        crs="EPSG:4326")
    bts = gpd.GeoDataFrame({
        "bts_id": ["B1", "B2", "B3", "B4"], "tower_id": ["T1", "T1", "T2", "T3"],
        "operator": ["viettel", "vinaphone", "vinaphone", "mobifone"],
        "tech": ["4G", "2G", "3G", "4G"], "band_mhz": [1800.0, 900.0, 2100.0, 1800.0],
        "antenna_height_m": [28.0, 25.0, 35.0, 22.0], "eirp_dbm": [60.0, 58.0, 59.0, 60.0]},
        geometry=[Point(103.05, 22.06), Point(103.05, 22.06), Point(103.12, 22.1),
                  Point(103.22, 22.2)], crs="EPSG:4326")
    fibre = gpd.GeoDataFrame({
        "route_id": ["F1", "F2"], "operator": ["viettel", "vinaphone"],
        "kind": ["aerial", "underground"]},
        geometry=[LineString([(103.0, 22.05), (103.3, 22.1)]),
                  LineString([(103.1, 22.0), (103.1, 22.3)])], crs="EPSG:4326")
    post = gpd.GeoDataFrame({
        "po_id": ["P1", "P2"], "name": ["Bưu cục Tam Đường", "Điểm BĐVHX Bản Bo"],
        "kind": ["buu_cuc_cap_2", "bdvhx"], "operator": ["VNPost", "VNPost"],
        "has_public_internet": [True, False], "multi_service": [True, True]},
        geometry=[Point(103.06, 22.1), Point(103.2, 22.22)], crs="EPSG:4326")
    return ProvinceBundle(
        layers={"admin_units": admin, "villages": villages, "towers": towers, "bts": bts,
                "fibre_routes": fibre, "post_offices": post},
        meta={"province": province, "sample": "true" if sample else "false",
              "metric_epsg": "9205", "year": "2022"})


def toy_status(bundle: ProvinceBundle) -> pd.DataFrame:
    """Village ``i`` gets status ``_CYCLE[(i + k) % 3]`` for operator ``k``; Vietnamobile none;
    villages 9–11 are white for everyone."""
    v = bundle["villages"]
    n = len(v)
    d: dict[str, object] = {"name": v["name"].to_numpy(),
                            "commune_code": v["commune_code"].to_numpy(),
                            "population": v["population"].to_numpy(),
                            "households": v["households"].to_numpy()}
    best = np.array(["trang"] * n, dtype=object)
    for k, op in enumerate(OPS):
        st = np.array(["trang" if op == "vietnamobile" or i >= 9 else _CYCLE[(i + k) % 3]
                       for i in range(n)], dtype=object)
        for tech in ("2G", "3G", "4G", "5G"):
            d[f"status_{op}_{tech}"] = st if tech == "4G" else np.array(["trang"] * n, object)
        d[f"status_{op}"] = st
        d[f"share_{op}"] = np.where(st == "phu", 0.95, np.where(st == "lom", 0.4, 0.0))
        d[f"dbm_{op}"] = np.where(st == "trang", np.nan, -90.0 - k)
        d[f"has_4g_{op}"] = st != "trang"
        best = np.array([a if _ORDER[a] >= _ORDER[b] else b for a, b in zip(best, st, strict=True)],
                        dtype=object)
    for tech in ("2G", "3G", "4G", "5G"):
        d[f"status_any_{tech}"] = best if tech == "4G" else np.array(["trang"] * n, object)
    d["status_any"] = best
    d["share_any"] = np.where(best == "phu", 0.95, np.where(best == "lom", 0.4, 0.0))
    d["has_4g_any"] = best != "trang"
    d["has_internet"] = best != "trang"
    return pd.DataFrame(d, index=pd.Index(v["village_id"].to_numpy(), name="village_id"))


class FakeGrid:
    def __init__(self, transform, crs, shape):
        self.transform, self.crs, self.shape = transform, crs, shape


class FakeCoverage:
    """Duck-typed CoverageResult: a dBm field falling off with distance from each tower."""

    model = "radius"

    def __init__(self, bundle: ProvinceBundle, *, res_m: float = 250.0) -> None:
        crs = CRS.from_epsg(9205)
        to_m = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        x0, y0 = to_m.transform(103.0, 22.0)
        x1, y1 = to_m.transform(103.3, 22.3)
        cols, rows = int((x1 - x0) / res_m), int((y1 - y0) / res_m)
        self.grid = FakeGrid(affine.Affine(res_m, 0, x0, 0, -res_m, y1), crs, (rows, cols))
        xs = x0 + (np.arange(cols) + 0.5) * res_m
        ys = y1 - (np.arange(rows) + 0.5) * res_m
        gx, gy = np.meshgrid(xs, ys)
        self.best_dbm = {}
        bts = bundle["bts"]
        for op, tech, geom in zip(bts["operator"], bts["tech"], bts.geometry, strict=True):
            tx, ty = to_m.transform(geom.x, geom.y)
            d_km = np.hypot(gx - tx, gy - ty) / 1000.0
            field = (-60.0 - 12.0 * d_km).astype(np.float32)
            field[d_km > 6] = np.nan
            key = (op, tech)
            self.best_dbm[key] = field if key not in self.best_dbm else np.fmax(
                self.best_dbm[key], field)


def toy_dem():
    """A 90 m DEM over the toy province in EPSG:9205 with one ridge (a gis.dem.Dem)."""
    from phusong.gis.dem import Dem

    crs = CRS.from_epsg(9205)
    to_m = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x0, y0 = to_m.transform(102.99, 21.99)
    x1, y1 = to_m.transform(103.31, 22.31)
    res = 90.0
    cols, rows = int((x1 - x0) / res), int((y1 - y0) / res)
    xs = np.arange(cols) * res
    ys = np.arange(rows) * res
    gx, gy = np.meshgrid(xs, ys)
    z = 800 + 900 * np.exp(-(((gx - xs.mean()) / 6000.0) ** 2)) + 0.02 * gy
    return Dem(z.astype(np.float32), affine.Affine(res, 0, x0, 0, -res, y1), crs)


def report_inputs(bundle: ProvinceBundle, settings=None) -> dict:
    """The tables :func:`analysis.publish.report.build_report` is given by a run: the official
    service-radius table and the fibre reach, computed here as ``run_analyses`` does."""
    from phusong.analysis.tables.fibre import fibre_reach
    from phusong.analysis.tables.service_radius import service_radius_table
    from phusong.layers.settings import DEFAULT

    settings = settings or DEFAULT
    return {"service_radius": service_radius_table(bundle, settings=settings),
            "fibre_reach": fibre_reach(bundle, settings=settings)}


@pytest.fixture(scope="session")
def toys():
    """This module's helpers (the toy province of the map and report tests), for the tests of this folder."""
    return sys.modules[__name__]
