"""Which village (tower, BTS, cable, postal point) of one year is which of another.

Villages are matched in three passes, each over what the previous left unmatched:

1. **id** — the same ``village_id`` in both bundles. Two villages that share an id but have
   different names *and* lie farther apart than the match distance are a clash: the ids were
   reused for other villages, and the comparison stops with one line naming the id;
2. **name** — the same name within the same commune, compared without diacritics, case or
   spacing (``"BAN TA MUONG"`` is ``"Bản Tà Muông"``), when the name is unique in that
   commune on both sides;
3. **position** — the nearest pair of centres within ``settings.compare_village_match_m``
   (closest pairs first, each village used once).

What is left is reported as ``removed`` (only in the old bundle) or ``added`` (only in the
new one): every village of both bundles is in the match table, none is dropped.

Towers and postal points are matched by id, then by position within
``settings.compare_feature_match_m``; BTS by id, then by (matched tower, operator,
technology); cable routes by id, then by shape (Hausdorff distance within the feature match
distance).
"""

from __future__ import annotations

import logging
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from phusong.gis.errors import InputError
from phusong.layers.settings import DEFAULT, Settings
from phusong.layers.villages import village_centres

logger = logging.getLogger(__name__)

__all__ = ["MATCH_COLUMNS", "check_unique_ids", "match_bts", "match_points", "match_routes",
           "match_villages", "name_key"]

#: columns of the village match table
MATCH_COLUMNS = ("old_id", "new_id", "method", "distance_m", "old_name", "new_name",
                 "old_commune", "new_commune")


def name_key(text: object) -> str:
    """A name compared without diacritics, case, punctuation or repeated spaces.

    ``"Bản Tà Muông"``, ``"BAN TA MUONG"`` and ``"ban  ta-muong"`` give ``"ban ta muong"``;
    ``đ`` counts as ``d``.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    s = unicodedata.normalize("NFD", str(text)).replace("\u0111", "d").replace("\u0110", "D")
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    s = "".join(c if c.isalnum() else " " for c in s)
    return " ".join(s.split())


def check_unique_ids(gdf: pd.DataFrame, column: str, *, source: str, layer: str) -> None:
    """Raise one line naming the first repeated id (row numbers count from 1)."""
    if column not in gdf or len(gdf) == 0:
        return
    ids = gdf[column].astype(str).reset_index(drop=True)
    dup = ids.duplicated(keep=False)
    if dup.any():
        first = ids[dup].iloc[0]
        rows = [int(i) + 1 for i in ids.index[ids == first]]
        more = int(ids[dup].nunique()) - 1
        raise InputError(f"{source}: {layer} rows {rows[0]} and {rows[1]}: {column} "
                         f"{first!r} repeats" + (f" (and {more} more repeated ids)" if more
                                                 else "")
                         + f"; ids must be unique within a bundle — fix the {layer} layer")


def _xy(points: gpd.GeoSeries) -> np.ndarray:
    if len(points) == 0:
        return np.zeros((0, 2))
    return np.column_stack([points.x.to_numpy(float), points.y.to_numpy(float)])


def match_villages(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, crs: CRS | str,
                   settings: Settings = DEFAULT, old_source: str = "OLD",
                   new_source: str = "NEW") -> pd.DataFrame:
    """Match the villages of two bundles (see the module docstring).

    Parameters
    ----------
    old, new
        Villages layers (EPSG:4326 or any CRS).
    crs
        Metric CRS the distances are measured in.
    settings
        ``compare_village_match_m``.
    old_source, new_source
        Names of the bundles in messages (paths).

    Returns
    -------
    pandas.DataFrame
        :data:`MATCH_COLUMNS`; ``method`` is ``id``, ``name``, ``position``, ``removed`` or
        ``added``. Rows: every old village once and every new village once.

    Raises
    ------
    InputError
        Ids repeated within a bundle, or an id naming two different villages.
    """
    check_unique_ids(old, "village_id", source=old_source, layer="villages")
    check_unique_ids(new, "village_id", source=new_source, layer="villages")
    limit = float(settings.compare_village_match_m)
    o = old.reset_index(drop=True)
    n = new.reset_index(drop=True)
    oxy = np.column_stack(village_centres(o, crs)) if len(o) else np.zeros((0, 2))
    nxy = np.column_stack(village_centres(n, crs)) if len(n) else np.zeros((0, 2))
    oid = o["village_id"].astype(str).to_numpy()
    nid = n["village_id"].astype(str).to_numpy()
    okey = np.array([name_key(v) for v in o["name"]], dtype=object)
    nkey = np.array([name_key(v) for v in n["name"]], dtype=object)
    ocom = o["commune_code"].astype(str).to_numpy()
    ncom = n["commune_code"].astype(str).to_numpy()
    o_used = np.zeros(len(o), bool)
    n_used = np.zeros(len(n), bool)
    pairs: list[tuple[int, int, str]] = []

    # 1. id
    n_pos = {v: i for i, v in enumerate(nid)}
    clashes = []
    for i, v in enumerate(oid):
        j = n_pos.get(v)
        if j is None:
            continue
        d = float(np.hypot(*(oxy[i] - nxy[j])))
        if d > limit and okey[i] != nkey[j]:
            clashes.append((v, i, j, d))
            continue
        pairs.append((i, j, "id"))
        o_used[i] = n_used[j] = True
    if clashes:
        v, i, j, d = clashes[0]
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise InputError(
            f"village_id {v!r} clashes: {old_source} row {i + 1} is {o.loc[i, 'name']!r} "
            f"(commune {ocom[i]}), {new_source} row {j + 1} is {n.loc[j, 'name']!r} (commune "
            f"{ncom[j]}) {d / 1000:.1f} km away{more}; the id names two villages — give the "
            "bundles consistent ids or remove the id column of one to match by name and place")

    # 2. name within the commune, unique on both sides
    def groups(keys: np.ndarray, com: np.ndarray, used: np.ndarray) -> dict:
        out: dict[tuple[str, str], list[int]] = {}
        for i in np.flatnonzero(~used):
            if keys[i]:
                out.setdefault((com[i], keys[i]), []).append(int(i))
        return out

    og = groups(okey, ocom, o_used)
    ng = groups(nkey, ncom, n_used)
    for k, rows in sorted(og.items()):
        other = ng.get(k)
        if other is not None and len(rows) == 1 and len(other) == 1:
            pairs.append((rows[0], other[0], "name"))
            o_used[rows[0]] = n_used[other[0]] = True

    # 3. position: closest pairs first
    oi = np.flatnonzero(~o_used)
    ni = np.flatnonzero(~n_used)
    if len(oi) and len(ni):
        d = np.sqrt(((oxy[oi][:, None, :] - nxy[ni][None, :, :]) ** 2).sum(-1))
        cand = np.argwhere(d <= limit)
        order = np.lexsort((ni[cand[:, 1]], oi[cand[:, 0]], d[cand[:, 0], cand[:, 1]]))
        for a, b in cand[order]:
            i, j = int(oi[a]), int(ni[b])
            if o_used[i] or n_used[j]:
                continue
            pairs.append((i, j, "position"))
            o_used[i] = n_used[j] = True

    rows = []
    for i, j, how in pairs:
        rows.append((oid[i], nid[j], how, round(float(np.hypot(*(oxy[i] - nxy[j]))), 1),
                     o.loc[i, "name"], n.loc[j, "name"], ocom[i], ncom[j]))
    for i in np.flatnonzero(~o_used):
        rows.append((oid[i], None, "removed", np.nan, o.loc[i, "name"], None, ocom[i], None))
    for j in np.flatnonzero(~n_used):
        rows.append((None, nid[j], "added", np.nan, None, n.loc[j, "name"], None, ncom[j]))
    out = pd.DataFrame(rows, columns=list(MATCH_COLUMNS)).astype(
        {c: object for c in MATCH_COLUMNS if c != "distance_m"})
    out = out.where(out.notna(), None)
    counts = out["method"].value_counts()
    logger.info("matched villages: %s", ", ".join(f"{k} {int(counts.get(k, 0))}" for k in
                                                  ("id", "name", "position", "removed",
                                                   "added")))
    return out


def match_points(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, id_col: str, *,
                 crs: CRS | str, distance_m: float) -> pd.DataFrame:
    """Match point features by id, then nearest position within ``distance_m``.

    Returns ``old_id``, ``new_id``, ``method`` (``id``, ``position``, ``removed``,
    ``added``) and ``distance_m``; every feature of both sides appears once.
    """
    o = old.reset_index(drop=True)
    n = new.reset_index(drop=True)
    oid = o[id_col].astype(str).to_numpy() if len(o) else np.array([], dtype=object)
    nid = n[id_col].astype(str).to_numpy() if len(n) else np.array([], dtype=object)
    oxy = _xy(o.to_crs(crs).geometry) if len(o) else np.zeros((0, 2))
    nxy = _xy(n.to_crs(crs).geometry) if len(n) else np.zeros((0, 2))
    o_used = np.zeros(len(o), bool)
    n_used = np.zeros(len(n), bool)
    rows = []
    n_pos = {v: i for i, v in enumerate(nid)}
    for i, v in enumerate(oid):
        j = n_pos.get(v)
        if j is not None:
            rows.append((v, v, "id", round(float(np.hypot(*(oxy[i] - nxy[j]))), 1)))
            o_used[i] = n_used[j] = True
    oi, ni = np.flatnonzero(~o_used), np.flatnonzero(~n_used)
    if len(oi) and len(ni):
        d = np.sqrt(((oxy[oi][:, None, :] - nxy[ni][None, :, :]) ** 2).sum(-1))
        cand = np.argwhere(d <= distance_m)
        order = np.lexsort((ni[cand[:, 1]], oi[cand[:, 0]], d[cand[:, 0], cand[:, 1]]))
        for a, b in cand[order]:
            i, j = int(oi[a]), int(ni[b])
            if not (o_used[i] or n_used[j]):
                rows.append((oid[i], nid[j], "position", round(float(d[a, b]), 1)))
                o_used[i] = n_used[j] = True
    rows += [(oid[i], None, "removed", np.nan) for i in np.flatnonzero(~o_used)]
    rows += [(None, nid[j], "added", np.nan) for j in np.flatnonzero(~n_used)]
    return pd.DataFrame(rows, columns=["old_id", "new_id", "method", "distance_m"])


def match_bts(old: pd.DataFrame, new: pd.DataFrame, tower_match: pd.DataFrame) -> pd.DataFrame:
    """Match BTS by ``bts_id``, then by (matched tower, operator, technology) in id order.

    Returns ``old_id``, ``new_id``, ``method`` (``id``, ``tower``, ``removed``, ``added``).
    """
    oid = old["bts_id"].astype(str) if len(old) else pd.Series([], dtype=object)
    nid = new["bts_id"].astype(str) if len(new) else pd.Series([], dtype=object)
    common = sorted(set(oid) & set(nid))
    rows = [(v, v, "id") for v in common]
    rest_o = old[~oid.isin(common)] if len(old) else old
    rest_n = new[~nid.isin(common)] if len(new) else new
    tmap = {str(a): str(b) for a, b in zip(tower_match["old_id"], tower_match["new_id"],
                                           strict=True) if a is not None and b is not None}

    def keyed(df: pd.DataFrame, towers: dict | None) -> dict:
        out: dict[tuple, list[str]] = {}
        for r in df.sort_values("bts_id").itertuples():
            t = str(r.tower_id)
            t = towers.get(t) if towers is not None else t
            if t is None:
                continue
            out.setdefault((t, str(r.operator), str(r.tech)), []).append(str(r.bts_id))
        return out

    ko = keyed(rest_o, tmap) if len(rest_o) else {}
    kn = keyed(rest_n, None) if len(rest_n) else {}
    used_o: set[str] = set()
    used_n: set[str] = set()
    for k, ids in sorted(ko.items()):
        for a, b in zip(ids, kn.get(k, []), strict=False):
            rows.append((a, b, "tower"))
            used_o.add(a)
            used_n.add(b)
    rows += [(v, None, "removed") for v in sorted(set(rest_o["bts_id"].astype(str)) - used_o)] \
        if len(rest_o) else []
    rows += [(None, v, "added") for v in sorted(set(rest_n["bts_id"].astype(str)) - used_n)] \
        if len(rest_n) else []
    return pd.DataFrame(rows, columns=["old_id", "new_id", "method"])


def match_routes(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, crs: CRS | str,
                 distance_m: float) -> pd.DataFrame:
    """Match cable routes by ``route_id``, then by shape (Hausdorff distance ≤
    ``distance_m``). Returns ``old_id``, ``new_id``, ``method`` (``id``, ``shape``,
    ``removed``, ``added``)."""
    o = old.reset_index(drop=True)
    n = new.reset_index(drop=True)
    oid = o["route_id"].astype(str).to_numpy() if len(o) else np.array([], dtype=object)
    nid = n["route_id"].astype(str).to_numpy() if len(n) else np.array([], dtype=object)
    common = set(oid) & set(nid)
    rows = [(v, v, "id") for v in sorted(common)]
    oi = [i for i, v in enumerate(oid) if v not in common]
    ni = [j for j, v in enumerate(nid) if v not in common]
    used_n: set[int] = set()
    if oi and ni:
        og = o.iloc[oi].to_crs(crs).geometry.to_numpy()
        ng = n.iloc[ni].to_crs(crs).geometry.to_numpy()
        tree = shapely.STRtree(ng)
        left, right = tree.query(og, predicate="dwithin", distance=distance_m)
        hd = shapely.hausdorff_distance(og[left], ng[right]) if len(left) else np.array([])
        order = np.lexsort((right, left, hd))
        used_o: set[int] = set()
        for k in order:
            a, b = int(left[k]), int(right[k])
            if hd[k] <= distance_m and a not in used_o and b not in used_n:
                rows.append((oid[oi[a]], nid[ni[b]], "shape"))
                used_o.add(a)
                used_n.add(b)
        oi_left = [oi[a] for a in range(len(oi)) if a not in used_o]
    else:
        oi_left = oi
    rows += [(oid[i], None, "removed") for i in oi_left]
    rows += [(None, nid[ni[b]], "added") for b in range(len(ni)) if b not in used_n]
    return pd.DataFrame(rows, columns=["old_id", "new_id", "method"])
