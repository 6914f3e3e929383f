"""Hand-built toy provinces with known answers for the gap/sharing/sunset/fibre/postal tests.

The tests of this folder reach these helpers through the ``toys`` fixture. Everything is laid out in
EPSG:9205 (VN-2000 / TM-3 103°) metres relative to (X0, Y0) and stored in EPSG:4326 like a
real bundle.

Layout (km)::

    y=8  V5(C1)                                    V6(C4, no grid)
    y=0  V1 T1(viettel) V2   V3 T2(vinaphone)  V4 T3(mobifone)
         x=0            x=3  x=10              x=20             x=30

Roads: main road y=0 from x=-1 to x=31 km; spurs x=0 and x=30 km up to y=8 km.
Fibre: along the main road from x=0 to x=10 km (aerial 0–6 km, underground 6–10 km).
Post offices: PO1 bdvhx at V1 with public internet, PO2 bưu cục cấp III at V4.
Communes: C1 x∈[-5,5], C2 [5,15] (district D1); C3 [15,25], C4 [25,35] (district D2); y∈[-5,15].
"""

from __future__ import annotations

import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from shapely.geometry import LineString, Point, box

from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS
from phusong.layers.settings import DEFAULT, TECHNOLOGIES

X0, Y0 = 500_000.0, 2_450_000.0
CRS = "EPSG:9205"

VILLAGES = [
    # id, name, commune, x_km, y_km, pop, hh, grid, border, difficult
    ("V1", "Bản Nà Hì", "C1", 0, 0, 500, 100, True, True, False),
    ("V2", "Thôn Hai", "C1", 3, 0, 200, 40, True, False, False),
    ("V3", "Bản Ba", "C2", 10, 0, 1000, 200, False, False, False),
    ("V4", "Bản Bốn", "C3", 20, 0, 50, 10, True, False, True),
    ("V5", "Bản Năm", "C1", 0, 8, 300, 60, True, False, False),
    ("V6", "Bản Sáu", "C4", 30, 8, 120, 25, False, True, True),
]
TOWERS = [("T1", 0, 0, 30.0, "viettel"), ("T2", 10, 0.5, 40.0, "vinaphone"),
          ("T3", 20, 1, 30.0, "mobifone")]
BTS = [("B1", "T1", "viettel", "4G", 1800.0), ("B2", "T1", "viettel", "2G", 900.0),
       ("B3", "T2", "vinaphone", "4G", 1800.0), ("B4", "T3", "mobifone", "2G", 900.0)]


def _g(rows, geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS).to_crs("EPSG:4326")


def xy(x_km: float, y_km: float) -> tuple[float, float]:
    return X0 + 1000.0 * x_km, Y0 + 1000.0 * y_km


def make_bundle(names: dict[str, str] | None = None, *, sample: bool = True) -> ProvinceBundle:
    """The toy province; ``names`` overrides village names (id → name)."""
    names = names or {}
    v = pd.DataFrame([{
        "village_id": r[0], "name": names.get(r[0], r[1]), "commune_code": r[2],
        "population": r[5], "households": r[6], "has_grid_power": r[7], "border_area": r[8],
        "extremely_difficult": r[9], "centre_lon": np.nan, "centre_lat": np.nan,
    } for r in VILLAGES])
    vgeom = [Point(*xy(r[3], r[4])).buffer(150.0) for r in VILLAGES]
    villages = _g(v, vgeom)
    cent = gpd.GeoSeries([Point(*xy(r[3], r[4])) for r in VILLAGES], crs=CRS).to_crs(4326)
    villages["centre_lon"] = cent.x.to_numpy()
    villages["centre_lat"] = cent.y.to_numpy()
    towers = _g(pd.DataFrame([{"tower_id": t[0], "height_m": t[3], "owner": t[4],
                               "power_source": "grid"} for t in TOWERS]),
                [Point(*xy(t[1], t[2])) for t in TOWERS])
    tpos = {t[0]: (t[1], t[2]) for t in TOWERS}
    bts = _g(pd.DataFrame([{"bts_id": b[0], "tower_id": b[1], "operator": b[2], "tech": b[3],
                            "band_mhz": b[4], "antenna_height_m": 30.0, "eirp_dbm": 58.0,
                            "azimuths": None} for b in BTS]),
             [Point(*xy(*tpos[b[1]])) for b in BTS])

    def bx(x0, y0, x1, y1):
        return box(*xy(x0, y0), *xy(x1, y1))

    admin = _g(pd.DataFrame([
        {"code": "P", "name": "Tỉnh Thử", "level": "province", "parent_code": None},
        {"code": "D1", "name": "Huyện Một", "level": "district", "parent_code": "P"},
        {"code": "D2", "name": "Huyện Hai", "level": "district", "parent_code": "P"},
        {"code": "C1", "name": "Xã Một", "level": "commune", "parent_code": "D1"},
        {"code": "C2", "name": "Xã Hai", "level": "commune", "parent_code": "D1"},
        {"code": "C3", "name": "Xã Ba", "level": "commune", "parent_code": "D2"},
        {"code": "C4", "name": "Xã Bốn", "level": "commune", "parent_code": "D2"},
    ]), [bx(-5, -5, 35, 15), bx(-5, -5, 15, 15), bx(15, -5, 35, 15), bx(-5, -5, 5, 15),
         bx(5, -5, 15, 15), bx(15, -5, 25, 15), bx(25, -5, 35, 15)])
    fibre = _g(pd.DataFrame([
        {"route_id": "F1", "operator": "viettel", "kind": "aerial"},
        {"route_id": "F2", "operator": "vinaphone", "kind": "underground"},
    ]), [LineString([xy(0, 0), xy(6, 0)]), LineString([xy(6, 0), xy(10, 0)])])
    roads = _g(pd.DataFrame({"highway": ["primary", "track", "track"],
                             "road_id": ["R1", "R2", "R3"]}),
               [LineString([xy(-1, 0), xy(31, 0)]), LineString([xy(0, 0), xy(0, 8)]),
                LineString([xy(30, 0), xy(30, 8)])])
    post = _g(pd.DataFrame([
        {"po_id": "PO1", "name": "Điểm BĐVHX Nà Hì", "kind": "bdvhx", "operator": "VNPost",
         "has_public_internet": True, "multi_service": True},
        {"po_id": "PO2", "name": "Bưu cục Bốn", "kind": "buu_cuc_cap_3", "operator": "VNPost",
         "has_public_internet": False, "multi_service": False},
    ]), [Point(*xy(0, 0.1)), Point(*xy(20, 0.1))])
    layers = {"villages": villages, "towers": towers, "bts": bts, "admin_units": admin,
              "fibre_routes": fibre, "roads": roads, "post_offices": post}
    meta = {"province": "Tỉnh Thử", "metric_epsg": "9205",
            "sample": "true" if sample else "false"}
    return ProvinceBundle(layers=layers, meta=meta)


def make_status(bundle: ProvinceBundle, per_op: dict[str, dict[str, str]] | None = None, *,
                per_tech: dict[tuple[str, str], dict[str, str]] | None = None,
                live: tuple[str, ...] = TECHNOLOGIES) -> pd.DataFrame:
    """A status table with the contract's columns.

    ``per_tech[(op, tech)]`` gives village → status (default trang); ``status_{op}`` is the
    best over ``live`` technologies unless ``per_op`` sets it directly.
    """
    order = {"trang": 0, "lom": 1, "phu": 2}
    inv = {v: k for k, v in order.items()}
    vil = bundle.layer("villages")
    ids = vil["village_id"].astype(str).tolist()
    df = pd.DataFrame(index=pd.Index(ids, name="village_id"))
    per_tech = per_tech or {}
    for op in (o.value for o in OPERATORS):
        best = np.zeros(len(ids), dtype=int)
        for tech in TECHNOLOGIES:
            vals = [per_tech.get((op, tech), {}).get(v, "trang") for v in ids]
            df[f"status_{op}_{tech}"] = vals
            if tech in live:
                best = np.maximum(best, [order[x] for x in vals])
        df[f"status_{op}"] = [inv[b] for b in best]
        if per_op and op in per_op:
            df[f"status_{op}"] = [per_op[op].get(v, "trang") for v in ids]
    ops = [o.value for o in OPERATORS]
    df["status_any"] = [inv[max(order[df.loc[v, f"status_{o}"]] for o in ops)] for v in ids]
    for op in [*ops, "any"]:
        df[f"share_{op}"] = df[f"status_{op}"].map({"phu": 1.0, "lom": 0.5, "trang": 0.0})
    for op in ops:
        df[f"dbm_{op}"] = np.nan
        df[f"has_4g_{op}"] = df[f"status_{op}_4G"] != "trang"
    df["has_4g_any"] = df[[f"has_4g_{o}" for o in ops]].any(axis=1)
    df["has_internet"] = df["has_4g_any"]
    df["name"] = vil["name"].to_numpy()
    df["commune_code"] = vil["commune_code"].to_numpy()
    df["population"] = vil["population"].to_numpy()
    df["households"] = vil["households"].to_numpy()
    return df


def radius_matrix(sites, villages, *, dem=None, settings=DEFAULT, model=None, crs=None):
    """A radius-model site × village matrix on the centres: 2 (phu) within R, else 0."""
    s = sites.to_crs(CRS)
    vil = villages.copy()
    cent = gpd.GeoSeries(gpd.points_from_xy(vil["centre_lon"], vil["centre_lat"]),
                         crs="EPSG:4326").to_crs(CRS)
    sx, sy = s.geometry.x.to_numpy(), s.geometry.y.to_numpy()
    vx, vy = cent.x.to_numpy(), cent.y.to_numpy()
    d = np.hypot(sx[:, None] - vx[None, :], sy[:, None] - vy[None, :])
    r = np.array([settings.radius_m(t, b) for t, b in zip(s["tech"], s["band_mhz"],
                                                             strict=True)])
    return sparse.csr_matrix(np.where(d <= r[:, None], 2, 0).astype(np.int8))


@pytest.fixture(scope="session")
def toys():
    """This module's helpers (the hand-built province), for the tests of this folder."""
    return sys.modules[__name__]
