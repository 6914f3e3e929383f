"""Post offices: points per kind per district, communes without a point, BĐVHX with public
internet, and each village's road distance to its nearest post office.

* **Points per kind per district** — every postal point is placed in the district polygon that
  contains it (the nearest district when it lies outside all of them, e.g. on a border
  line); kinds are those of :data:`layers.schema.POST_OFFICE_KINDS` with their Vietnamese
  labels; a ``total`` column and a province row close the table.
* **Communes without a postal point** — new-rural criterion 8.1 asks every commune to have one;
  a commune has one when a point lies inside its polygon.
* **BĐVHX with public internet** — cultural post offices (``kind == "bdvhx"``) with
  ``has_public_internet``, as "n/N" (Điện Biên 2023: 67/115).
* **Road distance** — one multi-source Dijkstra over the road graph from all postal points
  (:func:`gis.roads.multi_source_distance_m`, with the straight legs from each point to its
  nearest road node); villages farther than ``settings.postal_max_road_km`` (10 km) by road,
  or not reachable by road at all, are listed. Without a roads layer the road distance is NaN
  and the list uses the straight-line distance instead (said in the ``basis`` column).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from phusong.analysis.coverage.villages import village_points
from phusong.analysis.tables.fibre import format_ratio, road_graph
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.schema import POST_OFFICE_KINDS
from phusong.layers.settings import DEFAULT, Settings
from phusong.layers.validate import as_bool
from phusong.layers.villages import admin_names

logger = logging.getLogger(__name__)

__all__ = ["postal_tables", "village_post_distance"]


def _unit_of(points: np.ndarray, polys: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Code of the polygon containing each point (nearest polygon when none does)."""
    out = np.full(len(points), None, dtype=object)
    if len(points) == 0 or len(polys) == 0:
        return out
    tree = shapely.STRtree(polys)
    p_idx, g_idx = tree.query(points, predicate="within")
    for p, g in sorted(zip(p_idx, g_idx, strict=True)):
        if out[p] is None:
            out[p] = codes[g]
    missing = np.flatnonzero([o is None for o in out])
    if len(missing):
        near = tree.query_nearest(points[missing], all_matches=False)
        out[missing[near[0]]] = codes[near[1]]
    return out


def village_post_distance(bundle: ProvinceBundle, *, graph: Any = None,
                          settings: Settings = DEFAULT) -> pd.DataFrame:
    """Road (and straight-line) distance from each village to its nearest postal point.

    Returns
    -------
    pandas.DataFrame
        Index of the villages layer: ``village_id``, ``name``, ``commune_code``,
        ``population``, ``nearest_po_id`` (straight line), ``straight_km``, ``road_km``
        (``inf`` unreachable, NaN without roads), ``beyond_limit``, ``basis`` (``road`` or
        ``straight``).
    """
    from phusong.gis.roads import multi_source_distance_m

    vp = village_points(bundle.layer("villages"), bundle.metric_crs)
    vil = bundle.layer("villages")
    po = bundle.to_metric("post_offices")
    vxy = np.column_stack([vp["x"], vp["y"]]).reshape(-1, 2)
    out = pd.DataFrame({"village_id": vp["village_id"].to_numpy(),
                        "name": vil["name"].to_numpy(),
                        "commune_code": vil["commune_code"].astype(str).to_numpy(),
                        "population": pd.to_numeric(vil["population"]).to_numpy(),
                        "nearest_po_id": None, "straight_km": np.nan, "road_km": np.nan},
                       index=vil.index)
    limit = settings.postal_max_road_km
    if len(po) == 0 or len(vxy) == 0:
        out["beyond_limit"] = True
        out["basis"] = "none"
        return out
    pxy = np.column_stack([po.geometry.x, po.geometry.y])
    d, i = cKDTree(pxy).query(vxy)
    out["nearest_po_id"] = po["po_id"].astype(str).to_numpy()[i]
    out["straight_km"] = np.round(d / 1000.0, 3)
    G = graph if graph is not None else road_graph(bundle)
    if G is not None and G.number_of_nodes():
        road = multi_source_distance_m(G, pxy, vxy) / 1000.0
        out["road_km"] = np.round(road, 3)
        out["beyond_limit"] = ~(road <= limit)
        out["basis"] = "road"
    else:
        out["beyond_limit"] = ~(out["straight_km"].to_numpy() <= limit)
        out["basis"] = "straight"
    logger.info("postal distance: %d of %d villages beyond %.0f km (%s)",
                int(out["beyond_limit"].sum()), len(out), limit, out["basis"].iloc[0])
    return out


def postal_tables(bundle: ProvinceBundle, *, graph: Any = None, settings: Settings = DEFAULT
                  ) -> dict[str, pd.DataFrame]:
    """All postal tables (see the module docstring).

    Returns
    -------
    dict
        ``by_district`` (district × kind counts), ``communes_without`` (commune code and name,
        district), ``indicators`` (``indicator``, ``value``), ``villages`` (every village's
        distance, :func:`village_post_distance`) and ``beyond`` (the villages beyond the
        limit, farthest first).
    """
    admin = bundle.to_metric("admin_units")
    po = bundle.to_metric("post_offices")
    pts = po.geometry.to_numpy() if len(po) else np.array([], dtype=object)
    kinds = list(POST_OFFICE_KINDS)
    lang = settings.language
    if len(admin):
        districts = admin[admin["level"] == "district"].sort_values("code")
        communes = admin[admin["level"] == "commune"].sort_values("code")
    else:
        districts = communes = admin
    d_codes = districts["code"].astype(str).to_numpy() if len(districts) else np.array([])
    d_names = dict(zip(d_codes, districts["name"], strict=True)) if len(districts) else {}
    po_district = _unit_of(pts, districts.geometry.to_numpy() if len(districts) else
                           np.array([], dtype=object), d_codes)
    kind_col = po["kind"].astype(str).to_numpy() if len(po) else np.array([], dtype=object)
    rows = []
    for code in [*list(d_codes), None]:
        sel = np.ones(len(pts), bool) if code is None else (po_district == code)
        row = {"district_code": code if code is not None else "",
               "district_name": d_names.get(code) if code is not None
               else ("Toàn tỉnh" if lang == "vi" else "Province")}
        for k in kinds:
            row[k] = int((sel & (kind_col == k)).sum())
        row["total"] = int(sel.sum())
        rows.append(row)
    by_district = pd.DataFrame(rows)
    # communes without a point
    c_codes = communes["code"].astype(str).to_numpy() if len(communes) else np.array([])
    has = np.zeros(len(c_codes), dtype=bool)
    if len(pts) and len(c_codes):
        _, g_idx = shapely.STRtree(communes.geometry.to_numpy()).query(pts, predicate="within")
        has[np.unique(g_idx)] = True
    names = admin_names(bundle)
    without = pd.DataFrame({"commune_code": c_codes[~has]})
    without["commune_name"] = without["commune_code"].map(names["commune_name"]) \
        if len(names) else None
    without["district_code"] = without["commune_code"].map(names["district_code"]) \
        if len(names) else None
    without["district_name"] = without["commune_code"].map(names["district_name"]) \
        if len(names) else None
    # BĐVHX with internet
    is_bd = kind_col == "bdvhx"
    inet = as_bool(po["has_public_internet"]) if len(po) else np.array([], bool)
    n_bd, n_inet = int(is_bd.sum()), int((is_bd & inet).sum())
    dist = village_post_distance(bundle, graph=graph, settings=settings)
    beyond = dist[dist["beyond_limit"]].copy()
    key = beyond["road_km"] if beyond["basis"].eq("road").all() else beyond["straight_km"]
    beyond = beyond.assign(_k=key.fillna(np.inf)).sort_values(
        ["_k", "village_id"], ascending=[False, True], kind="mergesort").drop(columns="_k")
    finite = dist["road_km"].replace(np.inf, np.nan)
    ind = [
        ("postal_points", len(po)),
        ("communes_with_postal_point", format_ratio(int(has.sum()), len(c_codes))),
        ("communes_without_postal_point", int((~has).sum())),
        ("bdvhx_points", n_bd),
        ("bdvhx_with_public_internet", format_ratio(n_inet, n_bd)),
        ("bdvhx_with_public_internet_ratio", round(n_inet / n_bd, 4) if n_bd else np.nan),
        ("postal_max_road_km", settings.postal_max_road_km),
        ("villages_beyond_limit", format_ratio(len(beyond), len(dist))),
        ("population_beyond_limit", int(beyond["population"].sum())),
        ("median_road_km", round(float(finite.median()), 3) if finite.notna().any()
         else np.nan),
    ]
    indicators = pd.DataFrame(ind, columns=["indicator", "value"])
    indicators["value"] = indicators["value"].astype(object)
    logger.info("postal: %d points, communes with a point %s, BĐVHX with internet %s",
                len(po), ind[1][1], ind[4][1])
    return {"by_district": by_district, "communes_without": without,
            "indicators": indicators, "villages": dist, "beyond": beyond}


def kind_labels(language: str = "vi") -> dict[str, str]:
    """Column headers for the kind columns of ``by_district``."""
    en = {"buu_cuc_cap_1": "Post office class I", "buu_cuc_cap_2": "Post office class II",
          "buu_cuc_cap_3": "Post office class III", "kt1": "KT1 office",
          "khach_hang_lon": "Key-account office", "bdvhx": "Commune cultural post office",
          "dai_ly": "Postal agent"}
    return dict(POST_OFFICE_KINDS) if language == "vi" else en
