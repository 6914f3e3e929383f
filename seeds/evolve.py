"""The sample province one year on: new sites, sharing, a switch-off, more fibre and posts.

:func:`evolve_sample` takes a bundle (usually a generated sample) and returns the same
province for a following ``year`` with the network changed the way the yearly reports
describe change:

* **new sites** — public-utility style towers at the villages farthest from any BTS (the
  white villages of the sample sit in remote pockets by design), each with 4G (and 2G while
  2G is still on air at the end of ``year``) of one operator;
* **sharing** — an operator installs equipment on another operator's tower where it has none,
  choosing the towers farthest from its own sites (co-location, "dùng chung hạ tầng");
* **switch-off** — every BTS of a technology switched off by the end of ``year``
  (``settings.date_2g_off``, ``settings.date_3g_off``) is removed, and one operator retires
  2G on ``early_2g_off`` of its towers ahead of the national date (the refarming the
  operators did from 2024);
* **fibre** — a new aerial cable from each new site to the nearest existing cable, and the
  longest aerial cables in the capital district laid underground (ngầm hóa);
* **postal** — new BĐVHX points in the communes with the fewest points;
* **village list** (optional, for testing the matching of a later compare) — villages given
  new ids, names written without diacritics, renamed villages, merged villages and new
  resettlement villages.

Every change is listed in :attr:`Evolution.changes`, and :attr:`Evolution.village_map` says
which old village is which new one; ``phusong compare`` is expected to find exactly these.
The result is sample data and is labelled so (``meta.sample``, ``meta.evolved_from``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import os
import shutil
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from phusong.gis.atomic import atomic_path, check_writable
from phusong.gis.errors import InputError
from phusong.layers.bundle import BUNDLE_FILE, ProvinceBundle, write_bundle
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["CHANGE_COLUMNS", "Evolution", "evolve_sample", "write_evolution"]

#: columns of :attr:`Evolution.changes`
CHANGE_COLUMNS = ("change", "layer", "feature_id", "operator", "tech", "kind", "km",
                  "village_id", "note")

#: radio values of new equipment when the bundle has none of that operator and technology
_RADIO_FALLBACK = {"2G": (900.0, 58.0), "3G": (2100.0, 57.0), "4G": (1800.0, 60.0),
                   "5G": (3500.0, 62.0)}


@dataclasses.dataclass
class Evolution:
    """A province one year on, with the list of what changed.

    Attributes
    ----------
    bundle
        The new year's bundle (in memory; :func:`write_evolution` writes it).
    changes
        One row per change (:data:`CHANGE_COLUMNS`): ``change`` is ``tower_added``,
        ``bts_added``, ``bts_removed``, ``fibre_added``, ``fibre_undergrounded``,
        ``post_office_added``; ``note`` says why (``new_site``, ``sharing``, ``switch_off``,
        ``early_2g_off``...); ``km`` is the route length for fibre rows.
    village_map
        ``old_id``, ``new_id`` (``None`` for a merged village, ``old_id`` ``None`` for a new
        one) and ``change``: ``same``, ``new_id``, ``respelled`` (new id, name without
        diacritics), ``renamed`` (new id and name, same place), ``merged``, ``added``.
    year
        The year the new bundle describes.
    """

    bundle: ProvinceBundle
    changes: pd.DataFrame
    village_map: pd.DataFrame
    year: int


def _strip_diacritics(text: str) -> str:
    text = unicodedata.normalize("NFD", str(text)).replace("\u0111", "d").replace("\u0110", "D")
    return unicodedata.normalize("NFC", "".join(c for c in text if not unicodedata.combining(c)))


def _next_id(ids: pd.Series, fallback_prefix: str, width: int) -> tuple[str, int, int]:
    """Prefix, next number and digit count of ids shaped like ``MN-T0008``."""
    s = ids.astype(str)
    parsed = s.str.extract(r"^(.*?)(\d+)$")
    if len(s) and parsed[1].notna().all():
        prefix = parsed[0].mode().iloc[0]
        nums = parsed.loc[parsed[0] == prefix, 1]
        return prefix, int(nums.astype(int).max()) + 1, max(width, int(nums.str.len().max()))
    return fallback_prefix, 1, width


class _Ids:
    def __init__(self, ids: pd.Series, prefix: str, width: int) -> None:
        self.prefix, self.n, self.width = _next_id(ids, prefix, width)
        self.used = set(ids.astype(str))

    def __call__(self) -> str:
        while True:
            out = f"{self.prefix}{self.n:0{self.width}d}"
            self.n += 1
            if out not in self.used:
                self.used.add(out)
                return out


def _off_by(year: int, settings: Settings) -> set[str]:
    end = dt.date(year, 12, 31)
    off = set()
    if end >= dt.date.fromisoformat(settings.date_2g_off):
        off.add("2G")
    if end >= dt.date.fromisoformat(settings.date_3g_off):
        off.add("3G")
    return off


def _radio(bts: pd.DataFrame, op: str, tech: str) -> tuple[float, float, object]:
    for sel in (bts[(bts["operator"] == op) & (bts["tech"] == tech)], bts[bts["tech"] == tech]):
        if len(sel):
            r = sel.sort_values("bts_id").iloc[0]
            return float(r["band_mhz"]), float(r["eirp_dbm"]), r.get("azimuths")
    band, eirp = _RADIO_FALLBACK[tech]
    return band, eirp, None


def evolve_sample(bundle: ProvinceBundle, *, seed: int, year: int | None = None,
                  new_sites: int | None = None, shared: int | None = None,
                  early_2g_off: int | None = None, undergrounded: int | None = None,
                  new_post_offices: int | None = None, reid_villages: int = 0,
                  respell_villages: int = 0, rename_villages: int = 0,
                  merge_villages: int = 0, add_villages: int = 0,
                  settings: Settings = DEFAULT) -> Evolution:
    """The province of ``bundle`` one year on (see the module docstring).

    Parameters
    ----------
    bundle
        The earlier year's bundle (layers in EPSG:4326, ``meta['year']`` set for a sample).
    seed
        Random seed; the same bundle, seed and options give the same evolution.
    year
        The year the result describes (default: the bundle's year + 1).
    new_sites, shared, early_2g_off, undergrounded, new_post_offices
        How many new towers, co-locations, towers retiring 2G early, aerial cables laid
        underground and new BĐVHX points (defaults scale with the province: about 5 % of the
        towers, at least one each; 3 % of the cables; 10 % of the postal points).
    reid_villages, respell_villages, rename_villages, merge_villages, add_villages
        Changes to the village list that a later compare must see through (default none).
    settings
        The switch-off dates.

    Returns
    -------
    Evolution
    """
    villages = bundle.layer("villages")
    if len(villages) == 0:
        raise InputError("evolve_sample: the bundle has no villages")
    rng = np.random.default_rng(seed)
    old_year = int(bundle.meta.get("year", "0") or 0)
    year = int(year) if year is not None else (old_year + 1 if old_year else
                                               dt.date.today().year)
    if old_year and year <= old_year:
        raise InputError(f"evolve_sample: year {year} is not after the bundle's year {old_year}")
    crs = bundle.metric_crs
    towers = bundle.layer("towers").to_crs(crs).reset_index(drop=True)
    bts = bundle.layer("bts").to_crs(crs).reset_index(drop=True)
    fibre = bundle.layer("fibre_routes").to_crs(crs).reset_index(drop=True)
    posts = bundle.layer("post_offices").to_crs(crs).reset_index(drop=True)
    vil = villages.to_crs(crs).reset_index(drop=True)
    n_t = max(len(towers), 1)
    new_sites = max(1, round(0.05 * n_t)) if new_sites is None else int(new_sites)
    shared = max(1, round(0.05 * n_t)) if shared is None else int(shared)
    early_2g_off = max(1, round(0.03 * n_t)) if early_2g_off is None else int(early_2g_off)
    undergrounded = (max(1, round(0.03 * len(fibre))) if undergrounded is None
                     else int(undergrounded))
    new_post_offices = (max(1, round(0.1 * len(posts))) if new_post_offices is None
                        else int(new_post_offices))
    off = _off_by(year, settings)
    changes: list[dict] = []

    def log(change: str, layer: str, fid: str, **kw: object) -> None:
        changes.append({"change": change, "layer": layer, "feature_id": fid,
                        **{c: kw.get(c) for c in CHANGE_COLUMNS[3:]}})

    tower_id = _Ids(towers["tower_id"], "EV-T", 4)
    bts_id = _Ids(bts["bts_id"], "EV-B", 5)
    route_id = _Ids(fibre["route_id"], "EV-F", 5)
    po_id = _Ids(posts["po_id"], "EV-P", 4)
    ops = sorted(bts["operator"].astype(str).unique()) or ["viettel"]

    # village centres of the generator (centre_lon/lat when present, else representative point)
    cxy = np.column_stack([vil.geometry.representative_point().x,
                           vil.geometry.representative_point().y])
    if {"centre_lon", "centre_lat"} <= set(vil.columns):
        lon = pd.to_numeric(vil["centre_lon"], errors="coerce")
        lat = pd.to_numeric(vil["centre_lat"], errors="coerce")
        ok = (lon.notna() & lat.notna()).to_numpy()
        if ok.any():
            pts = gpd.GeoSeries(gpd.points_from_xy(lon[ok], lat[ok]), crs=4326).to_crs(crs)
            cxy[ok] = np.column_stack([pts.x, pts.y])

    def add_bts(tid: str, pt: shapely.Point, op: str, techs: list[str], height: float,
                note: str) -> list[dict]:
        rows = []
        for tech in techs:
            band, eirp, az = _radio(bts, op, tech)
            bid = bts_id()
            rows.append({"bts_id": bid, "tower_id": tid, "operator": op, "tech": tech,
                         "band_mhz": band, "antenna_height_m": round(height - 3.0, 1),
                         "eirp_dbm": eirp, "azimuths": az, "geometry": pt})
            log("bts_added", "bts", bid, operator=op, tech=tech, note=note)
        return rows

    new_towers: list[dict] = []
    new_bts: list[dict] = []
    new_fibre: list[dict] = []
    site_techs = [t for t in ("2G", "4G") if t not in off]

    # 1. new sites at the villages farthest from any BTS
    if len(bts):
        sxy = np.column_stack([bts.geometry.x, bts.geometry.y])
        d = np.sqrt(((cxy[:, None, :] - sxy[None, :, :]) ** 2).sum(-1)).min(axis=1)
    else:
        d = np.full(len(vil), np.inf)
    order = np.argsort(-d, kind="stable")
    fibre_lines = list(fibre.geometry)
    site_ops = ["viettel"] + [o for o in ops if o != "viettel"]
    for k, i in enumerate(order[:new_sites]):
        op = site_ops[k % len(site_ops)] if k else "viettel"
        ang = rng.uniform(0, 2 * math.pi)
        pt = shapely.Point(cxy[i, 0] + 150.0 * math.cos(ang), cxy[i, 1] + 150.0 * math.sin(ang))
        tid = tower_id()
        grid = bool(vil.loc[i, "has_grid_power"]) if "has_grid_power" in vil else True
        new_towers.append({"tower_id": tid, "height_m": 30.0, "owner": op,
                           "power_source": "grid" if grid else "solar", "geometry": pt})
        log("tower_added", "towers", tid, operator=op, village_id=str(vil.loc[i, "village_id"]),
            note="new_site")
        new_bts += add_bts(tid, pt, op, site_techs, 30.0, "new_site")
        if fibre_lines:
            nearest = min(fibre_lines, key=lambda g: g.distance(pt))
            _, q = shapely.ops.nearest_points(pt, nearest)
            if pt.distance(q) > 1.0:
                line = shapely.LineString([q, pt])
                rid = route_id()
                new_fibre.append({"route_id": rid, "operator": op, "kind": "aerial",
                                  "geometry": line})
                log("fibre_added", "fibre_routes", rid, operator=op, kind="aerial",
                    km=line.length / 1000.0, note="new_site")

    # 2. sharing: an operator on another's tower, farthest from its own sites
    on_tower = bts.groupby("tower_id")["operator"].agg(lambda s: set(s.astype(str)))
    pairs = []
    for t in towers.itertuples():
        have = on_tower.get(t.tower_id, set())
        for op in ops:
            if op in have:
                continue
            own = bts[bts["operator"] == op]
            dist = (own.geometry.distance(t.geometry).min() if len(own) else np.inf)
            pairs.append((-dist, str(t.tower_id), op, t.geometry, float(t.height_m)))
    pairs.sort(key=lambda p: (p[0], p[1], p[2]))
    used_towers: set[str] = set()
    n_shared = 0
    for _, tid, op, pt, h in pairs:
        if n_shared >= shared:
            break
        if tid in used_towers:
            continue
        used_towers.add(tid)
        new_bts += add_bts(tid, pt, op, site_techs, h, "sharing")
        n_shared += 1

    # 3. switch-off: national dates, then one operator's early 2G retirement
    removed: set[str] = set()
    for r in bts[bts["tech"].isin(sorted(off))].sort_values("bts_id").itertuples():
        removed.add(r.bts_id)
        log("bts_removed", "bts", r.bts_id, operator=r.operator, tech=r.tech, note="switch_off")
    if "2G" not in off and early_2g_off > 0:
        twog = bts[(bts["tech"] == "2G") & ~bts["bts_id"].isin(removed)]
        by_op = twog.groupby("operator").size().sort_values(ascending=False, kind="stable")
        if len(by_op):
            op = str(by_op.index[0])
            cand = twog[twog["operator"] == op]
            # towers where the operator has 2G only go first: their villages lose service
            techs_on = bts[bts["operator"] == op].groupby("tower_id")["tech"].agg(set)
            only = cand["tower_id"].map(lambda t: techs_on.get(t, set()) == {"2G"})
            cand = cand.assign(_only=~only).sort_values(["_only", "bts_id"])
            for r in cand.head(early_2g_off).itertuples():
                removed.add(r.bts_id)
                log("bts_removed", "bts", r.bts_id, operator=r.operator, tech="2G",
                    note="early_2g_off")

    # 4. undergrounding: longest aerial cables in the capital district first
    fib = fibre.copy()
    if len(fib):
        aerial = fib[fib["kind"] == "aerial"]
        lengths = aerial.geometry.length.sort_values(ascending=False, kind="stable")
        for idx in lengths.index[:undergrounded]:
            fib.loc[idx, "kind"] = "underground"
            log("fibre_undergrounded", "fibre_routes", str(fib.loc[idx, "route_id"]),
                operator=str(fib.loc[idx, "operator"]), kind="underground",
                km=float(lengths[idx]) / 1000.0)

    # 5. postal: BĐVHX points in the communes with the fewest points
    admin = bundle.layer("admin_units").to_crs(crs)
    communes = admin[admin["level"].astype(str) == "commune"].sort_values("code")
    new_posts: list[dict] = []
    if len(communes) and new_post_offices > 0:
        counts = []
        for c in communes.itertuples():
            counts.append((int(posts.geometry.within(c.geometry).sum()) if len(posts) else 0,
                           str(c.code), c))
        counts.sort(key=lambda x: (x[0], x[1]))
        for _n_have, code, c in counts[:new_post_offices]:
            in_c = vil[vil["commune_code"].astype(str) == code]
            if len(in_c):
                j = int(in_c["population"].astype(float).idxmax())
                pt = shapely.Point(cxy[j, 0] + 60.0, cxy[j, 1])
                place = str(vil.loc[j, "name"])
            else:
                pt = c.geometry.representative_point()
                place = str(c.name)
            pid = po_id()
            new_posts.append({"po_id": pid, "name": f"Điểm BĐVHX {place}", "kind": "bdvhx",
                              "operator": "VNPost", "has_public_internet": True,
                              "multi_service": True, "geometry": pt})
            log("post_office_added", "post_offices", pid, kind="bdvhx", note=f"commune {code}")

    # 6. the village list
    vnew = vil.copy()
    vmap = pd.DataFrame({"old_id": vil["village_id"].astype(str),
                         "new_id": vil["village_id"].astype(str), "change": "same"})
    vid = _Ids(vil["village_id"], "EV-V", 4)
    pool = list(rng.permutation(len(vil)))

    def take(n: int) -> list[int]:
        out = [pool.pop() for _ in range(min(n, len(pool)))]
        return sorted(out)

    for i in take(reid_villages):
        nid = vid()
        vnew.loc[i, "village_id"] = nid
        vmap.loc[i, ["new_id", "change"]] = [nid, "new_id"]
    for i in take(respell_villages):
        nid = vid()
        vnew.loc[i, "village_id"] = nid
        vnew.loc[i, "name"] = _strip_diacritics(str(vil.loc[i, "name"])).upper()
        vmap.loc[i, ["new_id", "change"]] = [nid, "respelled"]
    for i in take(rename_villages):
        nid = vid()
        vnew.loc[i, "village_id"] = nid
        vnew.loc[i, "name"] = f"Khu dân cư số {vid.n}"
        vmap.loc[i, ["new_id", "change"]] = [nid, "renamed"]
    merged = take(merge_villages)
    for i in merged:
        # the merged village's people join its nearest neighbour in the same commune
        same = vil.index[(vil["commune_code"] == vil.loc[i, "commune_code"])
                         & (vil.index != i) & ~vil.index.isin(merged)]
        if len(same):
            j = same[np.argmin(((cxy[same] - cxy[i]) ** 2).sum(1))]
            for col in ("population", "households"):
                vnew.loc[j, col] = int(vnew.loc[j, col]) + int(vil.loc[i, col])
        vmap.loc[i, ["new_id", "change"]] = [None, "merged"]
    vnew = vnew.drop(index=merged)
    added = []
    for k in range(add_villages):
        # a resettlement village beside a served village, in its commune
        j = int(rng.integers(len(vil)))
        off_xy = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1)])
        off_xy = 1200.0 * off_xy / max(np.hypot(*off_xy), 1e-9)
        cx, cy = cxy[j] + off_xy
        nid = vid()
        poly = shapely.Point(cx, cy).buffer(180.0, quad_segs=8)
        row = {c: vil.loc[j, c] for c in vil.columns if c != "geometry"}
        row.update({"village_id": nid, "name": f"Điểm tái định cư {k + 1}",
                    "population": 150, "households": 32, "geometry": poly})
        if "centre_lon" in row:
            lonlat = gpd.GeoSeries([shapely.Point(cx, cy)], crs=crs).to_crs(4326).iloc[0]
            row["centre_lon"], row["centre_lat"] = lonlat.x, lonlat.y
        added.append(row)
        vmap.loc[len(vmap)] = [None, nid, "added"]
    if added:
        vnew = pd.concat([vnew, gpd.GeoDataFrame(added, geometry="geometry", crs=crs)],
                         ignore_index=True)
    vnew = gpd.GeoDataFrame(vnew, geometry="geometry", crs=crs).reset_index(drop=True)

    # assemble
    def cat(base: gpd.GeoDataFrame, rows: list[dict]) -> gpd.GeoDataFrame:
        if not rows:
            return base
        add = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
        return gpd.GeoDataFrame(pd.concat([base, add.reindex(columns=base.columns)],
                                          ignore_index=True), geometry="geometry", crs=crs)

    layers = dict(bundle.layers)
    layers["villages"] = vnew
    layers["towers"] = cat(towers, new_towers)
    layers["bts"] = cat(bts[~bts["bts_id"].isin(removed)].reset_index(drop=True), new_bts)
    layers["fibre_routes"] = cat(fib, new_fibre)
    layers["post_offices"] = cat(posts, new_posts)
    layers = {k: v.to_crs(4326) for k, v in layers.items()}
    meta = {**bundle.meta, "year": str(year),
            "evolved_from": f"{bundle.meta.get('year', '')}:{int(seed)}"}
    meta.pop("calibration_villages", None)
    out = ProvinceBundle(layers=layers, meta=meta, folder=bundle.folder)
    cdf = pd.DataFrame(changes, columns=list(CHANGE_COLUMNS))
    logger.info("evolved %s to %d: %d towers added, %d BTS added, %d BTS removed, %d "
                "villages changed", bundle.province, year,
                int((cdf["change"] == "tower_added").sum()),
                int((cdf["change"] == "bts_added").sum()),
                int((cdf["change"] == "bts_removed").sum()),
                int((vmap["change"] != "same").sum()))
    return Evolution(bundle=out, changes=cdf, village_map=vmap.reset_index(drop=True),
                     year=year)


def write_evolution(evo: Evolution, out: str | os.PathLike, *,
                    overwrite: bool = False) -> ProvinceBundle:
    """Write the evolved bundle as a bundle folder, with ``changes.csv`` and
    ``village_map.csv`` beside it; the DEM and population rasters are copied from the
    source bundle's folder (the terrain does not change in a year)."""
    from phusong.layers.bundle import read_bundle

    folder = Path(out)
    src = evo.bundle.folder
    files = [f for f in (evo.bundle.meta.get("dem", "dem.tif"),
                         evo.bundle.meta.get("population", "population.tif"))
             if src is not None and (src / f).exists()]
    for f in [BUNDLE_FILE, *files, "changes.csv", "village_map.csv"]:
        check_writable(folder / f, overwrite=overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        if src is not None and (src / f).resolve() != (folder / f).resolve():
            with atomic_path(folder / f, overwrite=overwrite) as tmp:
                shutil.copyfile(src / f, tmp)
    write_bundle(ProvinceBundle(layers=evo.bundle.layers, meta={}), folder,
                 overwrite=overwrite, meta=evo.bundle.meta)
    for name, df in (("changes.csv", evo.changes), ("village_map.csv", evo.village_map)):
        with atomic_path(folder / name, overwrite=overwrite) as tmp:
            df.to_csv(tmp, index=False, encoding="utf-8")
    logger.info("wrote evolved bundle %s (%d)", folder, evo.year)
    return read_bundle(folder)
