"""Progress between two snapshots of a province: villages cleared, lost, and what was built.

:func:`compare_bundles` takes the village status of an *old* and a *new* snapshot — two
bundles (e.g. the 2022 and 2023 data) or one bundle at two analysis dates — and returns a
:class:`BundleComparison`:

* per village (matched by :func:`analysis.compare.matching.match_villages`): status before
  and after, overall (any operator) and per operator, and its *transition*:

  ========================  ==================================================
  ``cleared_white``         trắng → lõm or phủ ("xoá trắng")
  ``cleared_lom``           lõm → phủ ("xoá lõm")
  ``lost_signal``           lõm or phủ → trắng (cause ``switch_off`` when the old
                            signal came only from technologies off at the new date,
                            else ``network``)
  ``became_lom``            phủ → lõm
  ``still_trang`` / ``still_lom`` / ``still_phu``  unchanged
  ``added`` / ``removed``   only in the new / only in the old snapshot
  ========================  ==================================================

  and whether it gained or lost internet;
* per province, district and commune: the counts of each transition in the reports' form
  ("xoá trắng được 46/128 thôn/bản": cleared / white before), villages with signal and
  internet before and after, towers, BTS, postal points and cable km before and after;
* towers per owner, BTS per operator and technology, cable km per operator and kind
  (routes added and removed, cables laid underground, the undergrounding ratio) and postal
  points per kind: before, after, added, removed.

Units are those of the new snapshot's ``admin_units`` (a removed village keeps its old
commune); features outside every commune count in unit ``"?"``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from phusong.analysis.compare.matching import (
    check_unique_ids,
    match_bts,
    match_points,
    match_routes,
    match_villages,
    name_key,
)
from phusong.gis.errors import InputError
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS, parse_operator
from phusong.layers.schema import POST_OFFICE_KINDS
from phusong.layers.settings import DEFAULT, TECHNOLOGIES, Settings, in_service_techs

logger = logging.getLogger(__name__)

__all__ = ["LEVELS", "TRANSITIONS", "BundleComparison", "Snapshot", "check_comparable",
           "compare_bundles", "snapshot_date", "snapshot_label", "transition"]

LEVELS = ("province", "district", "commune")

#: transition codes, in the order of the legend
TRANSITIONS = ("cleared_white", "cleared_lom", "lost_signal", "became_lom", "still_trang",
               "still_lom", "still_phu", "added", "removed")


@dataclasses.dataclass
class Snapshot:
    """One side of a comparison: a bundle, its village status and the settings (date) the
    status was computed for.

    Attributes
    ----------
    bundle
        The province bundle.
    status
        :func:`analysis.coverage.status.village_status` of ``bundle`` at ``settings``.
    settings
        Settings of that status (``as_of`` is the snapshot's date).
    label
        How the snapshot is named in tables and sentences (``"2022"``, ``"31/12/2026"``).
    source
        Where it came from (a path), for messages.
    """

    bundle: ProvinceBundle
    status: pd.DataFrame
    settings: Settings = DEFAULT
    label: str = ""
    source: str = ""

    @property
    def year(self) -> int:
        """The year the snapshot describes: the analysis date's year."""
        return self.settings.as_of_date().year


@dataclasses.dataclass
class BundleComparison:
    """Everything :func:`compare_bundles` found (see the module docstring).

    Attributes
    ----------
    province, is_sample
        The province's name; True when either snapshot is generated sample data.
    old_label, new_label, old_date, new_date
        Names and analysis dates of the two snapshots.
    villages
        One row per village of either snapshot (GeoDataFrame, EPSG:4326; geometry of the new
        snapshot, or the old one for a removed village).
    matches
        The village match table (:data:`analysis.compare.matching.MATCH_COLUMNS`).
    units
        Level (``province``, ``district``, ``commune``) → summary per unit.
    towers, bts, fibre, postal
        Province totals before/after per owner, per operator × technology, per operator ×
        kind and per kind.
    features
        One row per added or removed tower, BTS, cable route or postal point (and each cable
        laid underground): ``layer``, ``change``, ``old_id``, ``new_id``, ``operator``,
        ``tech``, ``kind``, ``km``, ``commune_code`` and ``shared`` (BTS added on another
        operator's tower that already stood in the old snapshot).
    operators
        Operators in the tables.
    """

    province: str
    is_sample: bool
    old_label: str
    new_label: str
    old_date: str
    new_date: str
    villages: gpd.GeoDataFrame
    matches: pd.DataFrame
    units: dict[str, pd.DataFrame]
    towers: pd.DataFrame
    bts: pd.DataFrame
    fibre: pd.DataFrame
    postal: pd.DataFrame
    features: pd.DataFrame
    operators: list[str]


def transition(old: object, new: object) -> str:
    """The transition code of a village whose status goes from ``old`` to ``new``
    (``None`` for a village missing on that side)."""
    if old is None or (isinstance(old, float) and np.isnan(old)):
        return "added"
    if new is None or (isinstance(new, float) and np.isnan(new)):
        return "removed"
    if old == "trang" and new != "trang":
        return "cleared_white"
    if old != "trang" and new == "trang":
        return "lost_signal"
    if old == "lom" and new == "phu":
        return "cleared_lom"
    if old == "phu" and new == "lom":
        return "became_lom"
    return f"still_{old}"


def _province_key(bundle: ProvinceBundle) -> tuple[str, str]:
    code = str(bundle.meta.get("province_code", "") or "")
    admin = bundle.layer("admin_units")
    if not code and len(admin):
        prov = admin[admin["level"].astype(str) == "province"]
        if len(prov):
            code = str(prov["code"].iloc[0])
    name = bundle.province
    if not name and len(admin):
        prov = admin[admin["level"].astype(str) == "province"]
        name = str(prov["name"].iloc[0]) if len(prov) else ""
    return code, name


def check_comparable(old: ProvinceBundle, new: ProvinceBundle, *, old_source: str = "OLD",
                     new_source: str = "NEW") -> None:
    """Raise one line when two bundles cannot be compared: different provinces, a bundle
    without villages, ids repeated within a bundle."""
    for b, src in ((old, old_source), (new, new_source)):
        if len(b.layer("villages")) == 0:
            raise InputError(f"{src}: the bundle has no villages; compare needs the villages "
                             "of both snapshots (import them with phusong import villages)")
    (oc, on), (nc, nn) = _province_key(old), _province_key(new)
    same = (oc == nc) if (oc and nc) else (name_key(on.split(" (")[0])
                                          == name_key(nn.split(" (")[0]))
    if not same:
        raise InputError(f"{old_source} is {on or '?'} (code {oc or '?'}) but {new_source} is "
                         f"{nn or '?'} (code {nc or '?'}): compare needs two snapshots of one "
                         "province")
    for b, src in ((old, old_source), (new, new_source)):
        for layer, col in (("villages", "village_id"), ("towers", "tower_id"),
                           ("bts", "bts_id"), ("fibre_routes", "route_id"),
                           ("post_offices", "po_id")):
            check_unique_ids(b.layer(layer), col, source=src, layer=layer)


# -- helpers ---------------------------------------------------------------------------------
def _operators(*statuses: pd.DataFrame) -> list[str]:
    known = [o.value for o in OPERATORS]
    present = set()
    for s in statuses:
        present |= {c[len("status_"):] for c in s.columns
                    if c.startswith("status_") and c.count("_") == 1 and c != "status_any"}
    return [o for o in known if o in present] + sorted(present - set(known))


def _had_signal_from(status: pd.DataFrame, ids: list, ops: list[str],
                     techs: tuple[str, ...]) -> np.ndarray:
    out = np.zeros(len(ids), bool)
    sub = status.reindex(ids)
    for op in ops:
        for t in techs:
            col = f"status_{op}_{t}"
            if col in sub:
                out |= sub[col].isin(["lom", "phu"]).to_numpy()
    return out


def _admin_maps(*bundles: ProvinceBundle) -> tuple[dict[str, str], dict[str, str], str, str]:
    """commune → district, code → name, the province code and name (first bundle wins)."""
    parent: dict[str, str] = {}
    names: dict[str, str] = {}
    prov_code = prov_name = ""
    for b in reversed(bundles):
        a = b.layer("admin_units")
        for r in a.itertuples():
            names[str(r.code)] = str(r.name)
            if r.parent_code is not None and not (isinstance(r.parent_code, float)
                                                  and np.isnan(r.parent_code)):
                parent[str(r.code)] = str(r.parent_code)
            if str(r.level) == "province":
                prov_code, prov_name = str(r.code), str(r.name)
    pc, pn = _province_key(bundles[0])
    prov_code = prov_code or pc or "province"
    prov_name = bundles[0].province or prov_name or pn or prov_code
    names[prov_code] = prov_name
    return parent, names, prov_code, prov_name


def _commune_of(points: gpd.GeoSeries, communes: gpd.GeoDataFrame) -> np.ndarray:
    out = np.full(len(points), "?", dtype=object)
    if len(points) == 0 or len(communes) == 0:
        return out
    geoms = communes.geometry.to_numpy()
    codes = communes["code"].astype(str).to_numpy()
    tree = shapely.STRtree(geoms)
    pi, gi = tree.query(points.to_numpy(), predicate="intersects")
    order = np.lexsort((gi, pi))
    seen = set()
    for k in order:
        if pi[k] not in seen:
            out[pi[k]] = codes[gi[k]]
            seen.add(pi[k])
    return out


def _line_km_by_commune(lines: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> pd.Series:
    """Cable km per commune code (lines cut by the polygons; the rest under ``"?"``)."""
    if len(lines) == 0:
        return pd.Series(dtype=float)
    total = float(lines.geometry.length.sum()) / 1000.0
    out: dict[str, float] = {}
    if len(communes):
        geoms = lines.geometry.to_numpy()
        tree = shapely.STRtree(geoms)
        for code, poly in zip(communes["code"].astype(str), communes.geometry, strict=True):
            idx = tree.query(poly, predicate="intersects")
            if len(idx):
                km = float(shapely.length(shapely.intersection(geoms[idx], poly)).sum()) / 1000
                out[code] = out.get(code, 0.0) + km
    rest = total - sum(out.values())
    if rest > 1e-6:
        out["?"] = rest
    return pd.Series(out, dtype=float)


def _units(level: str, commune: pd.Series, parent: dict[str, str], prov: str) -> pd.Series:
    if level == "commune":
        return commune.astype(str)
    if level == "district":
        return commune.astype(str).map(lambda c: parent.get(c, "?"))
    return pd.Series(prov, index=commune.index)


# -- the comparison --------------------------------------------------------------------------
def compare_bundles(old: Snapshot, new: Snapshot, *, settings: Settings = DEFAULT
                    ) -> BundleComparison:
    """Compare two snapshots of one province (see the module docstring).

    Parameters
    ----------
    old, new
        The earlier and the later snapshot (bundle, village status and its settings).
    settings
        Match distances (``compare_village_match_m``, ``compare_feature_match_m``).

    Raises
    ------
    InputError
        Two provinces, a snapshot without villages, ids repeated within a bundle, a village
        id naming two different villages.
    """
    ob, nb = old.bundle, new.bundle
    osrc, nsrc = old.source or "OLD", new.source or "NEW"
    check_comparable(ob, nb, old_source=osrc, new_source=nsrc)
    if new.settings.as_of_date() < old.settings.as_of_date():
        raise InputError(f"{nsrc} is dated {new.settings.as_of_date()}, before {osrc} "
                         f"({old.settings.as_of_date()}): give the earlier snapshot first")
    crs = nb.metric_crs
    ov = ob.layer("villages")
    nv = nb.layer("villages")
    matches = match_villages(ov, nv, crs=crs, settings=settings, old_source=osrc,
                             new_source=nsrc)
    ops = _operators(old.status, new.status)
    parent, names, prov_code, prov_name = _admin_maps(nb, ob)
    techs_new = in_service_techs(new.settings)

    # -- per village -------------------------------------------------------------------------
    m = matches
    oid = [i if isinstance(i, str) else None for i in m["old_id"]]
    nid = [i if isinstance(i, str) else None for i in m["new_id"]]
    ost = old.status.reindex([i for i in oid])
    nst = new.status.reindex([i for i in nid])
    v = pd.DataFrame({"old_id": oid, "new_id": nid, "match": m["method"].to_numpy()})
    v["name"] = [nn if isinstance(nn, str) else on for on, nn in
                 zip(m["old_name"], m["new_name"], strict=True)]
    v["commune_code"] = [nc if isinstance(nc, str) else oc for oc, nc in
                         zip(m["old_commune"], m["new_commune"], strict=True)]
    v["district_code"] = v["commune_code"].map(lambda c: parent.get(str(c), "?"))
    v["commune_name"] = v["commune_code"].map(lambda c: names.get(str(c), str(c)))
    v["district_name"] = v["district_code"].map(lambda c: names.get(str(c), str(c)))
    pop_new = pd.to_numeric(nst["population"], errors="coerce").to_numpy() \
        if "population" in nst else np.full(len(v), np.nan)
    pop_old = pd.to_numeric(ost["population"], errors="coerce").to_numpy() \
        if "population" in ost else np.full(len(v), np.nan)
    v["population"] = np.where(np.isfinite(pop_new), pop_new, pop_old)
    present_o = np.array([i is not None for i in oid])
    present_n = np.array([i is not None for i in nid])

    def side(st: pd.DataFrame, col: str, present: np.ndarray) -> np.ndarray:
        vals = st[col].to_numpy(dtype=object) if col in st else np.full(len(st), "trang",
                                                                           dtype=object)
        return np.where(present, vals, None)

    for who in ["any", *ops]:
        col = f"status_{who}"
        so = side(ost, col, present_o)
        sn = side(nst, col, present_n)
        v[f"old_{who}"] = so
        v[f"new_{who}"] = sn
        v[f"transition_{who}"] = [transition(a, b) for a, b in zip(so, sn, strict=True)]
        lost = v[f"transition_{who}"] == "lost_signal"
        cause = np.full(len(v), None, dtype=object)
        if lost.any():
            ids = [oid[i] for i in np.flatnonzero(lost)]
            group = ops if who == "any" else [who]
            still = _had_signal_from(old.status, ids, group, techs_new)
            cause[np.flatnonzero(lost)] = np.where(still, "network", "switch_off")
        v[f"cause_{who}"] = cause
    v["transition"] = v["transition_any"]
    v["cause"] = v["cause_any"]
    oi = side(ost, "has_internet", present_o)
    ni = side(nst, "has_internet", present_n)
    v["old_internet"] = oi
    v["new_internet"] = ni
    both = present_o & present_n
    v["gained_internet"] = both & (ni == True) & (oi == False)  # noqa: E712
    v["lost_internet"] = both & (ni == False) & (oi == True)  # noqa: E712

    # geometry: new snapshot's, else the old one's
    def geom_of(vil: gpd.GeoDataFrame, ids: list) -> list:
        g = dict(zip(vil["village_id"].astype(str), vil.to_crs(4326).geometry, strict=True))
        return [g.get(i) if i is not None else None for i in ids]

    gn = geom_of(nv, nid)
    go = geom_of(ov, oid)
    villages = gpd.GeoDataFrame(v, geometry=[a if a is not None else b for a, b in
                                             zip(gn, go, strict=True)], crs="EPSG:4326")

    # -- infrastructure ----------------------------------------------------------------------
    fm = float(settings.compare_feature_match_m)
    admin = nb.to_metric("admin_units")
    communes = admin[admin["level"].astype(str) == "commune"] if len(admin) else admin
    feat_rows: list[dict] = []

    def where(b: ProvinceBundle, layer: str, id_col: str) -> dict[str, str]:
        g = b.to_metric(layer)
        if len(g) == 0:
            return {}
        pts = g.geometry if g.geom_type.eq("Point").all() else g.geometry.representative_point()
        return dict(zip(g[id_col].astype(str), _commune_of(pts, communes), strict=True))

    # towers
    ot, nt = ob.layer("towers"), nb.layer("towers")
    tm = match_points(ot, nt, "tower_id", crs=crs, distance_m=fm)
    t_where_o, t_where_n = where(ob, "towers", "tower_id"), where(nb, "towers", "tower_id")
    owner_o = {str(a): parse_operator(b).value for a, b in zip(ot["tower_id"], ot["owner"],
                                                                 strict=True)} if len(ot) else {}
    owner_n = {str(a): parse_operator(b).value for a, b in zip(nt["tower_id"], nt["owner"],
                                                                 strict=True)} if len(nt) else {}
    for r in tm.itertuples():
        if r.method == "added":
            feat_rows.append({"layer": "towers", "change": "added", "new_id": r.new_id,
                              "operator": owner_n.get(r.new_id),
                              "commune_code": t_where_n.get(r.new_id, "?")})
        elif r.method == "removed":
            feat_rows.append({"layer": "towers", "change": "removed", "old_id": r.old_id,
                              "operator": owner_o.get(r.old_id),
                              "commune_code": t_where_o.get(r.old_id, "?")})
    # BTS
    obts, nbts = ob.layer("bts"), nb.layer("bts")
    bm = match_bts(obts, nbts, tm)
    b_o = {str(r.bts_id): (parse_operator(r.operator).value, str(r.tech), str(r.tower_id))
           for r in obts.itertuples()} if len(obts) else {}
    b_n = {str(r.bts_id): (parse_operator(r.operator).value, str(r.tech), str(r.tower_id))
           for r in nbts.itertuples()} if len(nbts) else {}
    old_towers_in_new = {str(b) for a, b in zip(tm["old_id"], tm["new_id"], strict=True)
                         if a is not None and b is not None}
    for r in bm.itertuples():
        if r.method in ("added", "removed"):
            fid = r.new_id if r.method == "added" else r.old_id
            op, tech, tid = (b_n if r.method == "added" else b_o)[fid]
            wh = (t_where_n if r.method == "added" else t_where_o).get(tid, "?")
            # equipment added on another operator's existing tower: sharing
            shared = (r.method == "added" and tid in old_towers_in_new
                      and owner_n.get(tid) not in (None, op))
            feat_rows.append({"layer": "bts", "change": r.method,
                              "old_id": r.old_id, "new_id": r.new_id, "operator": op,
                              "tech": tech, "commune_code": wh, "shared": shared})
    # fibre
    of, nf = ob.to_metric("fibre_routes"), nb.to_metric("fibre_routes")
    rm = match_routes(ob.layer("fibre_routes"), nb.layer("fibre_routes"), crs=crs,
                      distance_m=fm)

    def route_info(g: gpd.GeoDataFrame) -> dict[str, tuple[str, str, float, object]]:
        return {str(r.route_id): (parse_operator(r.operator).value, str(r.kind),
                                  float(r.geometry.length) / 1000.0, r.geometry)
                for r in g.itertuples()} if len(g) else {}

    f_o, f_n = route_info(of), route_info(nf)
    under_km: dict[str, float] = {}
    for r in rm.itertuples():
        if r.method in ("added", "removed"):
            fid = r.new_id if r.method == "added" else r.old_id
            op, kind, km, geom = (f_n if r.method == "added" else f_o)[fid]
            wh = _commune_of(gpd.GeoSeries([geom.interpolate(0.5, normalized=True)]),
                             communes)[0]
            feat_rows.append({"layer": "fibre_routes", "change": r.method, "old_id": r.old_id,
                              "new_id": r.new_id, "operator": op, "kind": kind, "km": km,
                              "commune_code": wh})
        else:
            (_, k0, _, _), (op1, k1, km1, geom) = f_o[r.old_id], f_n[r.new_id]
            if k0 == "aerial" and k1 == "underground":
                under_km[op1] = under_km.get(op1, 0.0) + km1
                wh = _commune_of(gpd.GeoSeries([geom.interpolate(0.5, normalized=True)]),
                                 communes)[0]
                feat_rows.append({"layer": "fibre_routes", "change": "undergrounded",
                                  "old_id": r.old_id, "new_id": r.new_id, "operator": op1,
                                  "kind": "underground", "km": km1, "commune_code": wh})
    # postal
    op_, np_ = ob.layer("post_offices"), nb.layer("post_offices")
    pm = match_points(op_, np_, "po_id", crs=crs, distance_m=fm)
    p_where_o = where(ob, "post_offices", "po_id")
    p_where_n = where(nb, "post_offices", "po_id")
    kind_o = dict(zip(op_["po_id"].astype(str), op_["kind"].astype(str), strict=True)) \
        if len(op_) else {}
    kind_n = dict(zip(np_["po_id"].astype(str), np_["kind"].astype(str), strict=True)) \
        if len(np_) else {}
    for r in pm.itertuples():
        if r.method == "added":
            feat_rows.append({"layer": "post_offices", "change": "added", "new_id": r.new_id,
                              "kind": kind_n.get(r.new_id),
                              "commune_code": p_where_n.get(r.new_id, "?")})
        elif r.method == "removed":
            feat_rows.append({"layer": "post_offices", "change": "removed", "old_id": r.old_id,
                              "kind": kind_o.get(r.old_id),
                              "commune_code": p_where_o.get(r.old_id, "?")})
    fcols = ["layer", "change", "old_id", "new_id", "operator", "tech", "kind", "km",
             "commune_code", "shared"]
    features = pd.DataFrame(feat_rows, columns=fcols)
    features["shared"] = features["shared"].fillna(False).astype(bool)
    features["km"] = pd.to_numeric(features["km"], errors="coerce")

    # -- province tables ---------------------------------------------------------------------
    def count_table(keys_old: list[tuple], keys_new: list[tuple], added: list[tuple],
                    removed: list[tuple], names: list[str]) -> pd.DataFrame:
        allk = sorted(set(keys_old) | set(keys_new) | set(added) | set(removed))
        rows = []
        for k in allk:
            rows.append({**dict(zip(names, k, strict=True)),
                         "old": keys_old.count(k), "new": keys_new.count(k),
                         "added": added.count(k), "removed": removed.count(k)})
        df = pd.DataFrame(rows, columns=[*names, "old", "new", "added", "removed"])
        df["change"] = df["new"] - df["old"]
        return df

    fa = features
    towers = count_table([(o,) for o in owner_o.values()], [(o,) for o in owner_n.values()],
                         [(o,) for o in fa.loc[(fa.layer == "towers") & (fa.change == "added"),
                                                "operator"]],
                         [(o,) for o in fa.loc[(fa.layer == "towers") &
                                               (fa.change == "removed"), "operator"]],
                         ["operator"])
    towers = pd.concat([towers, pd.DataFrame([{"operator": "all", **towers[
        ["old", "new", "added", "removed", "change"]].sum().to_dict()}])], ignore_index=True)
    sel = fa[fa.layer == "bts"]
    bts = count_table([(a, b) for a, b, _ in b_o.values()], [(a, b) for a, b, _ in b_n.values()],
                      list(zip(sel.loc[sel.change == "added", "operator"],
                               sel.loc[sel.change == "added", "tech"], strict=True)),
                      list(zip(sel.loc[sel.change == "removed", "operator"],
                               sel.loc[sel.change == "removed", "tech"], strict=True)),
                      ["operator", "tech"])
    extra = []
    for tech in TECHNOLOGIES:
        sub = bts[bts["tech"] == tech]
        if len(sub):
            extra.append({"operator": "all", "tech": tech,
                          **sub[["old", "new", "added", "removed", "change"]].sum().to_dict()})
    for op in sorted(bts["operator"].unique()):
        sub = bts[bts["operator"] == op]
        extra.append({"operator": op, "tech": "all",
                      **sub[["old", "new", "added", "removed", "change"]].sum().to_dict()})
    extra.append({"operator": "all", "tech": "all",
                  **bts[["old", "new", "added", "removed", "change"]].sum().to_dict()})
    bts = pd.concat([bts, pd.DataFrame(extra)], ignore_index=True)
    for c in ("old", "new", "added", "removed", "change"):
        bts[c] = bts[c].astype(int)
        towers[c] = towers[c].astype(int)

    # fibre per operator × kind
    fr = []
    fops = sorted({x[0] for x in f_o.values()} | {x[0] for x in f_n.values()})
    for op in [*fops, "all"]:
        for kind in ("aerial", "underground", "all"):
            def km(info: dict, op: str = op, kind: str = kind) -> float:
                return float(sum(x[2] for x in info.values()
                                 if (op == "all" or x[0] == op)
                                 and (kind == "all" or x[1] == kind)))
            sub = fa[(fa.layer == "fibre_routes") & ((fa.operator == op) if op != "all"
                                                     else True)]
            add = sub[(sub.change == "added") & ((sub.kind == kind) if kind != "all" else True)]
            rem = sub[(sub.change == "removed") & ((sub.kind == kind) if kind != "all"
                                                   else True)]
            und = sub[sub.change == "undergrounded"]
            row = {"operator": op, "kind": kind, "km_old": km(f_o), "km_new": km(f_n),
                   "km_added": float(add["km"].sum()), "km_removed": float(rem["km"].sum()),
                   "km_undergrounded": float(und["km"].sum()) if kind in ("underground", "all")
                   else 0.0}
            row["km_change"] = row["km_new"] - row["km_old"]
            fr.append(row)
    fibre = pd.DataFrame(fr)
    tot = fibre[fibre["kind"] == "all"].set_index("operator")
    und = fibre[fibre["kind"] == "underground"].set_index("operator")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio_old = (und["km_old"] / tot["km_old"]).where(tot["km_old"] > 0)
        ratio_new = (und["km_new"] / tot["km_new"]).where(tot["km_new"] > 0)
    fibre["underground_ratio_old"] = np.where(fibre["kind"] == "all",
                                              fibre["operator"].map(ratio_old), np.nan)
    fibre["underground_ratio_new"] = np.where(fibre["kind"] == "all",
                                              fibre["operator"].map(ratio_new), np.nan)
    for c in ("km_old", "km_new", "km_added", "km_removed", "km_undergrounded", "km_change"):
        fibre[c] = fibre[c].round(3)

    sel = fa[fa.layer == "post_offices"]
    postal = count_table([(k,) for k in kind_o.values()], [(k,) for k in kind_n.values()],
                         [(k,) for k in sel.loc[sel.change == "added", "kind"]],
                         [(k,) for k in sel.loc[sel.change == "removed", "kind"]], ["kind"])
    order = {k: i for i, k in enumerate(POST_OFFICE_KINDS)}
    postal = postal.sort_values("kind", key=lambda s: s.map(lambda k: order.get(k, 99)))
    postal = pd.concat([postal, pd.DataFrame([{"kind": "all", **postal[
        ["old", "new", "added", "removed", "change"]].sum().to_dict()}])], ignore_index=True)
    for c in ("old", "new", "added", "removed", "change"):
        postal[c] = postal[c].astype(int)

    # -- per unit ----------------------------------------------------------------------------
    km_o = _line_km_by_commune(of, communes)
    km_n = _line_km_by_commune(nf, communes)
    t_o = pd.Series(list(t_where_o.values()), dtype=object).value_counts()
    t_n = pd.Series(list(t_where_n.values()), dtype=object).value_counts()
    bts_com_o = pd.Series([t_where_o.get(t, "?") for _, _, t in b_o.values()],
                          dtype=object).value_counts()
    bts_com_n = pd.Series([t_where_n.get(t, "?") for _, _, t in b_n.values()],
                          dtype=object).value_counts()
    po_o = pd.Series(list(p_where_o.values()), dtype=object).value_counts()
    po_n = pd.Series(list(p_where_n.values()), dtype=object).value_counts()
    units: dict[str, pd.DataFrame] = {}
    levels = [lv for lv in LEVELS if lv == "province" or
              (len(admin) and (admin["level"].astype(str) == lv).any())]
    for level in levels:
        key = _units(level, v["commune_code"], parent, prov_code)
        df = v.assign(_u=key.to_numpy())
        g = df.groupby("_u", sort=True)
        out = pd.DataFrame(index=pd.Index(sorted(g.groups), name="code"))
        out["name"] = [names.get(c, c) for c in out.index]
        out["level"] = level

        def cnt(mask: pd.Series, g_index: pd.Index = out.index,
                units: pd.Series = df["_u"]) -> pd.Series:
            return mask.groupby(units).sum().reindex(g_index).fillna(0).astype(int)

        so, sn = df["old_any"], df["new_any"]
        out["villages_old"] = cnt(so.notna())
        out["villages_new"] = cnt(sn.notna())
        out["matched"] = cnt(so.notna() & sn.notna())
        out["removed"] = cnt(df["transition"] == "removed")
        out["added"] = cnt(df["transition"] == "added")
        out["signal_old"] = cnt(so.isin(["lom", "phu"]))
        out["signal_new"] = cnt(sn.isin(["lom", "phu"]))
        out["white_old"] = cnt(so == "trang")
        out["white_new"] = cnt(sn == "trang")
        out["lom_old"] = cnt(so == "lom")
        out["lom_new"] = cnt(sn == "lom")
        for t in TRANSITIONS[:4]:
            out[t] = cnt(df["transition"] == t)
        out["lost_signal_switch_off"] = cnt(df["cause"] == "switch_off")
        out["cleared_white_text"] = [f"{a}/{b}" for a, b in zip(out["cleared_white"],
                                                                out["white_old"], strict=True)]
        out["cleared_lom_text"] = [f"{a}/{b}" for a, b in zip(out["cleared_lom"],
                                                              out["lom_old"], strict=True)]
        out["internet_old"] = cnt(df["old_internet"] == True)  # noqa: E712
        out["internet_new"] = cnt(df["new_internet"] == True)  # noqa: E712
        out["gained_internet"] = cnt(df["gained_internet"])
        out["lost_internet"] = cnt(df["lost_internet"])
        for op in ops:
            out[f"covered_old_{op}"] = cnt(df[f"old_{op}"].isin(["lom", "phu"]))
            out[f"covered_new_{op}"] = cnt(df[f"new_{op}"].isin(["lom", "phu"]))
            out[f"cleared_white_{op}"] = cnt(df[f"transition_{op}"] == "cleared_white")
            out[f"white_old_{op}"] = cnt(df[f"old_{op}"] == "trang")
            out[f"cleared_lom_{op}"] = cnt(df[f"transition_{op}"] == "cleared_lom")
            out[f"lom_old_{op}"] = cnt(df[f"old_{op}"] == "lom")
            out[f"lost_signal_{op}"] = cnt(df[f"transition_{op}"] == "lost_signal")

        def per_unit(series: pd.Series, level: str = level,
                     index: pd.Index = out.index) -> pd.Series:
            if len(series) == 0:
                return pd.Series(0, index=index)
            u = _units(level, pd.Series(series.index.astype(str), index=series.index), parent,
                       prov_code)
            return series.groupby(u.to_numpy()).sum().reindex(index).fillna(0)

        out["towers_old"] = per_unit(t_o).astype(int)
        out["towers_new"] = per_unit(t_n).astype(int)
        out["bts_old"] = per_unit(bts_com_o).astype(int)
        out["bts_new"] = per_unit(bts_com_n).astype(int)
        out["postal_old"] = per_unit(po_o).astype(int)
        out["postal_new"] = per_unit(po_n).astype(int)
        out["fibre_km_old"] = per_unit(km_o).round(3)
        out["fibre_km_new"] = per_unit(km_n).round(3)
        fsel = fa.assign(_u=_units(level, fa["commune_code"].fillna("?"), parent,
                                   prov_code).to_numpy())
        for lay, col in (("towers", "towers"), ("bts", "bts"), ("post_offices", "postal")):
            for ch in ("added", "removed"):
                s = fsel[(fsel.layer == lay) & (fsel.change == ch)].groupby("_u").size()
                out[f"{col}_{ch}"] = s.reindex(out.index).fillna(0).astype(int)
        s = fsel[(fsel.layer == "fibre_routes") & (fsel.change == "added")].groupby("_u")["km"]
        out["fibre_km_added"] = s.sum().reindex(out.index).fillna(0).round(3)
        units[level] = out.reset_index()
    od = old.settings.as_of_date().isoformat()
    nd = new.settings.as_of_date().isoformat()
    res = BundleComparison(
        province=prov_name, is_sample=ob.is_sample or nb.is_sample,
        old_label=old.label or od, new_label=new.label or nd, old_date=od, new_date=nd,
        villages=villages, matches=matches, units=units, towers=towers, bts=bts,
        fibre=fibre, postal=postal, features=features, operators=ops)
    p = units["province"].iloc[0]
    logger.info("compared %s %s → %s: white cleared %s, lõm cleared %s, %d lost signal, "
                "towers %+d, BTS %+d", prov_name, res.old_label, res.new_label,
                p["cleared_white_text"], p["cleared_lom_text"], int(p["lost_signal"]),
                int(towers.iloc[-1]["change"]), int(bts.iloc[-1]["change"]))
    return res


def snapshot_date(bundle: ProvinceBundle, settings: Settings = DEFAULT) -> str | None:
    """The default analysis date of a bundle in a comparison: the end of its ``meta.year``
    (the reports count what was on air in their year), else ``settings.as_of``."""
    year = str(bundle.meta.get("year", "") or "")
    if year.isdigit():
        return dt.date(int(year), 12, 31).isoformat()
    return settings.as_of


def snapshot_label(bundle: ProvinceBundle, settings: Settings = DEFAULT) -> str:
    """How a snapshot is named: its year (``"2022"``) when its status is as of the end of the
    bundle's year, else the analysis date (``"30/11/2026"``)."""
    day = settings.as_of_date()
    year = str(bundle.meta.get("year", "") or "")
    if year.isdigit() and day == dt.date(int(year), 12, 31):
        return year
    return day.strftime("%d/%m/%Y")
