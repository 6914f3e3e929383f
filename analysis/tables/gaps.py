"""Gap lists per operator: every village an operator does not cover, with what to do about it.

A village is in operator O's gap list when ``status_O`` (from
:func:`analysis.coverage.status.village_status`: the best status over the technologies still in service
at ``settings.as_of_date()``) is ``trang`` (no signal) or ``lom`` (dead spot). The gap list is
therefore exactly the complement of O's covered (``phu``) villages.

Columns (DESIGN §5)
-------------------
ids and names (``village_id``, ``name``, commune and district code and name), the centre
(:func:`analysis.coverage.villages.village_points`, the point village status and the rollout
use: ``centre_lon``/``centre_lat`` in WGS84 and the VN-2000 TM-3 coordinates of the province's
zone: ``vn2000_x_north_m`` is the northing and ``vn2000_y_east_m`` the easting, following the
Vietnamese survey convention X = north, Y = east), population, households, grid power, border
and extremely-difficult flags, the status overall and per technology, the nearest own site
(a tower carrying one of O's BTS) and its distance, the nearest other operator's tower that
would cover the village if O shared it, the distance to the nearest fibre route (straight
line) and, when the bundle has roads, the fibre extension length along roads, the priority
score and the suggested action.

Sharing ("would cover it if shared")
------------------------------------
For operator O, every tower that O does not own, that does not already carry O's equipment and
that lies within reach of a gap village (``max(settings.max_radius_km, largest radius_km)``) becomes a hypothetical O
site: antenna at the tower's ``height_m``, and for each technology O runs at the analysis
date, O's own radio parameters (the median of each radio field over O's BTS of that
technology; the radio table's :data:`DEFAULT_RADIO` when O has none). The site × village
matrix is computed once per operator for all candidate towers with :func:`analysis.coverage.site_village_matrix`
(terrain model when a DEM is given, else the radius model). A tower *clears* a village when,
alone, it gives the village ``phu`` for at least one technology; ``lom`` does not count. The
gap list names the nearest clearing tower (ties: the smaller ``tower_id``).

Priority score (0–100)
----------------------
``score = 100 · p · b · d · s · g / (weight_border · weight_difficult)`` with

* ``p = min(1, log(1 + population) / log(1 + 2000))`` — population on a log scale, saturating
  at 2 000 people (a large village in the northern mountains);
* ``b = settings.weight_border`` for a border-area village, else 1;
* ``d = settings.weight_difficult`` for an extremely difficult village, else 1;
* ``s = 1`` for a white (trắng) village, 0.6 for a dead-spot (lõm) village;
* ``g = 1`` with grid power, 0.5 without (it cannot be served before the grid arrives unless
  a tower is shared).

The score is rounded to one decimal; it depends only on the village's own attributes, so it
is stable across runs and provinces.

Suggested action
----------------
``share`` ("Dùng chung cột T (owner)") when a clearing tower exists; else ``wait_grid``
("Chờ điện lưới") when the village has no grid power; ``check_grid`` ("Xác minh điện lưới")
when whether it has grid power is not known (villages from OSM); else ``new_site`` ("Xây
trạm mới"). Unknown attributes stay unknown in the list (empty cells); in the score an
unknown population counts as 0, unknown border/difficult flags as "no" and unknown grid
power as "yes" (g = 1: the village is not put back for a grid it may have).
Rows are sorted by score (descending), then ``village_id``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from phusong.analysis.coverage.villages import village_points
from phusong.analysis.labels import ACTION_LABELS, GAP_LABELS, STATUS_LABELS
from phusong.gis.dem import Dem
from phusong.gis.errors import SchemaError
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS, owner_id, parse_operator
from phusong.layers.settings import (
    DEFAULT,
    RADIO_DEFAULTS,
    RADIO_FIELDS,
    TECHNOLOGIES,
    Settings,
    in_service_techs,
)
from phusong.layers.validate import as_flag
from phusong.layers.villages import admin_names

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_RADIO",
    "GAP_COLUMNS",
    "ShareCandidates",
    "gap_lines",
    "gap_list",
    "gap_lists",
    "nearest_fibre_km",
    "operator_radio",
    "priority_score",
    "share_candidates",
    "write_gap_lists",
]

#: fallback radio parameters per technology: the radio table's values
#: (:data:`layers.settings.RADIO_DEFAULTS`) of every ``bts`` radio field
DEFAULT_RADIO: Mapping[str, Mapping[str, float]] = {
    t: {k: float(RADIO_DEFAULTS[t][k]) for k in RADIO_FIELDS} for t in RADIO_DEFAULTS}
_POP_REF = 2000.0
_LOM_FACTOR = 0.6
_NO_GRID_FACTOR = 0.5

GAP_COLUMNS: tuple[str, ...] = (
    "operator", "village_id", "name", "commune_code", "commune_name", "district_code",
    "district_name", "centre_lon", "centre_lat", "vn2000_x_north_m", "vn2000_y_east_m",
    "population", "households", "has_grid_power", "border_area", "extremely_difficult",
    "status", "status_2G", "status_3G", "status_4G", "status_5G", "nearest_own_site_id",
    "nearest_own_site_km", "share_tower_id", "share_tower_owner", "share_tower_km",
    "nearest_fibre_km", "fibre_extension_km", "priority_score", "action", "action_text",
)  # fmt: skip



# -- small helpers shared by the analysis modules ---------------------------------------------
def _flag_or(values: Any, default: bool) -> np.ndarray:
    """A flag array with unknown values read as ``default``."""
    arr = pd.array(list(values) if not isinstance(values, pd.Series) else values,
                   dtype="boolean")
    return arr.fillna(default).to_numpy(dtype=bool)


def nearest_fibre_km(bundle: ProvinceBundle, points: gpd.GeoDataFrame) -> np.ndarray:
    """Straight-line distance (km) from each point to the nearest fibre route; NaN if none."""
    fibre = bundle.layer("fibre_routes")
    out = np.full(len(points), np.nan)
    if len(fibre) == 0 or len(points) == 0:
        return out
    lines = fibre.to_crs(points.crs).geometry.to_numpy()
    lines = lines[~(shapely.is_missing(lines) | shapely.is_empty(lines))]
    if len(lines) == 0:
        return out
    tree = shapely.STRtree(lines)
    _, dist = tree.query_nearest(points.geometry.to_numpy(), return_distance=True,
                                 all_matches=False)
    return np.asarray(dist, dtype=float) / 1000.0


def priority_score(population: Any, *, border: Any, difficult: Any, status: Any,
                   grid: Any, settings: Settings = DEFAULT) -> np.ndarray:
    """The documented priority score (0–100) of gap villages; see the module docstring."""
    pop = np.clip(pd.to_numeric(pd.Series(population), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan), 0, None)
    pop = np.nan_to_num(pop, nan=0.0)
    border, difficult = _flag_or(border, False), _flag_or(difficult, False)
    grid = _flag_or(grid, True)
    p = np.minimum(1.0, np.log1p(pop) / math.log1p(_POP_REF))
    b = np.where(np.asarray(border, dtype=bool), settings.weight_border, 1.0)
    d = np.where(np.asarray(difficult, dtype=bool), settings.weight_difficult, 1.0)
    s = np.where(np.asarray(status, dtype=object) == "lom", _LOM_FACTOR, 1.0)
    g = np.where(np.asarray(grid, dtype=bool), 1.0, _NO_GRID_FACTOR)
    norm = max(settings.weight_border, 1.0) * max(settings.weight_difficult, 1.0)
    return np.round(100.0 * p * b * d * s * g / norm, 1)


def _operator_bts(bundle: ProvinceBundle, operator: str) -> pd.DataFrame:
    bts = bundle.layer("bts")
    if len(bts) == 0:
        return pd.DataFrame(bts.drop(columns=bts.geometry.name))
    ops = bts["operator"].map(lambda v: parse_operator(v).value)
    return pd.DataFrame(bts[ops == operator].drop(columns=bts.geometry.name))


def operator_radio(bundle: ProvinceBundle, operator: str, techs: Iterable[str]
                   ) -> dict[str, dict[str, float]]:
    """O's typical radio values per technology: the median of each ``bts`` radio field
    (:data:`layers.settings.RADIO_FIELDS`, and a legacy ``eirp_dbm``) over O's BTS of that
    technology; a field O never gives stays NaN, so the link budget takes the radio table's
    value (:data:`DEFAULT_RADIO` when O has no BTS of the technology)."""
    bts = _operator_bts(bundle, operator)
    out: dict[str, dict[str, float]] = {}
    for tech in techs:
        rows = bts[bts["tech"] == tech] if len(bts) else bts
        if not len(rows):
            out[tech] = dict(DEFAULT_RADIO[tech])
            continue
        vals = {}
        for field in (*RADIO_FIELDS, "eirp_dbm"):
            col = pd.to_numeric(rows[field], errors="coerce") if field in rows else None
            vals[field] = float(col.median()) if col is not None and col.notna().any() \
                else float("nan")
        out[tech] = vals
    return out


def _operator_techs(bundle: ProvinceBundle, operator: str, settings: Settings) -> tuple[str, ...]:
    live = in_service_techs(settings)
    bts = _operator_bts(bundle, operator)
    have = set(bts["tech"]) if len(bts) else set()
    techs = tuple(t for t in live if t in have)
    if not techs:  # an operator with no equipment here would bring its main technology
        techs = ("4G",) if "4G" in live else live[-1:]
    return techs


def _own_towers(bundle: ProvinceBundle, operator: str, settings: Settings) -> gpd.GeoDataFrame:
    """Towers carrying O's BTS of a technology in service (metric CRS)."""
    towers = bundle.to_metric("towers")
    bts = _operator_bts(bundle, operator)
    if len(bts) == 0 or len(towers) == 0:
        return towers.iloc[0:0]
    live = set(in_service_techs(settings))
    ids = set(bts.loc[bts["tech"].isin(live), "tower_id"].astype(str))
    return towers[towers["tower_id"].astype(str).isin(ids)]


def _nearest(src_xy: np.ndarray, ids: np.ndarray, xy: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    if len(src_xy) == 0:
        return np.full(len(xy), None, dtype=object), np.full(len(xy), np.nan)
    dist, idx = cKDTree(src_xy).query(xy)
    return ids[idx], dist / 1000.0


# -- sharing candidates -----------------------------------------------------------------------
@dataclasses.dataclass
class ShareCandidates:
    """Which other operators' towers would cover which gap villages of one operator.

    Attributes
    ----------
    operator
        The operator that would co-locate.
    techs
        Technologies evaluated (O's technologies in service at the analysis date).
    tower_ids, owners
        Candidate towers (not carrying O's equipment, within reach of a gap village).
    tower_xy
        ``(n_towers, 2)`` metric coordinates.
    village_ids
        The gap villages evaluated.
    codes
        ``(n_towers, n_villages)`` int8: best code over ``techs`` (0 trang, 1 lom, 2 phu).
    """

    operator: str
    techs: tuple[str, ...]
    tower_ids: np.ndarray
    owners: np.ndarray
    tower_xy: np.ndarray
    village_ids: np.ndarray
    codes: np.ndarray

    def clears(self) -> np.ndarray:
        """Boolean ``(n_towers, n_villages)``: the tower alone gives the village ``phu``."""
        return self.codes >= 2

    def nearest_clearing(self, village_xy: np.ndarray) -> pd.DataFrame:
        """Per evaluated village: the nearest clearing tower, its owner and distance (km)."""
        n_v = len(self.village_ids)
        tid = np.full(n_v, None, dtype=object)
        own = np.full(n_v, None, dtype=object)
        km = np.full(n_v, np.nan)
        ok = self.clears()
        for j in range(n_v):
            rows = np.flatnonzero(ok[:, j])
            if len(rows) == 0:
                continue
            d = np.hypot(self.tower_xy[rows, 0] - village_xy[j, 0],
                         self.tower_xy[rows, 1] - village_xy[j, 1])
            order = np.lexsort((self.tower_ids[rows].astype(str), np.round(d, 3)))
            best = rows[order[0]]
            tid[j], own[j], km[j] = self.tower_ids[best], self.owners[best], d[order[0]] / 1000
        return pd.DataFrame({"share_tower_id": tid, "share_tower_owner": own,
                             "share_tower_km": km}, index=pd.Index(self.village_ids,
                                                                   name="village_id"))


def _default_matrix_fn() -> Callable[..., Any]:
    from phusong.analysis.coverage.engine import site_village_matrix

    return site_village_matrix


def share_candidates(bundle: ProvinceBundle, status: pd.DataFrame, operator: Any, *,
                     dem: Dem | None = None,
                     settings: Settings = DEFAULT, model: str | None = None,
                     village_ids: Iterable[str] | None = None,
                     matrix_fn: Callable[..., Any] | None = None) -> ShareCandidates:
    """Evaluate co-location of ``operator`` on every other operator's tower (see docstring).

    Parameters
    ----------
    bundle
        The province bundle.
    status
        Village status table (:func:`analysis.coverage.status.village_status`).
    operator
        The operator that would co-locate (any alias).
    dem
        A :class:`gis.dem.Dem` for the terrain model (``None``: radius model).
    settings
        Analysis settings.
    model
        ``"terrain"`` or ``"radius"``; default from ``dem``.
    village_ids
        Villages to evaluate (default: O's gap villages).
    matrix_fn
        Replacement for :func:`analysis.coverage.site_village_matrix` (tests).

    Returns
    -------
    ShareCandidates
    """
    op = parse_operator(operator).value
    col = f"status_{op}"
    _check_status(status, [col])
    if village_ids is None:
        ids = status.index[status[col].isin(["trang", "lom"])].astype(str).to_numpy()
    else:
        ids = np.asarray([str(v) for v in village_ids], dtype=object)
    techs = _operator_techs(bundle, op, settings)
    towers = bundle.to_metric("towers")
    # not "sharing": towers O owns, or already carrying any of O's equipment
    bts = _operator_bts(bundle, op)
    own_ids = set(bts["tower_id"].astype(str)) if len(bts) else set()
    if len(towers):
        owner_ids = towers["owner"].map(owner_id)
        own_ids |= set(towers.loc[owner_ids == op, "tower_id"].astype(str))
    empty = ShareCandidates(op, techs, np.array([], dtype=object), np.array([], dtype=object),
                            np.zeros((0, 2)), ids, np.zeros((0, len(ids)), dtype=np.int8))
    if len(ids) == 0 or len(towers) == 0:
        return empty
    vp = village_points(bundle.layer("villages"), bundle.metric_crs)
    vp = vp.set_index("village_id").loc[list(ids)]
    vxy = np.column_stack([vp["x"], vp["y"]])
    towers = towers[~towers["tower_id"].astype(str).isin(own_ids)]
    if len(towers) == 0:
        return empty
    txy = np.column_stack([towers.geometry.x, towers.geometry.y])
    reach_m = 1000.0 * max(settings.max_radius_km, *(settings.radius_km[t] for t in techs))
    near = cKDTree(vxy).query_ball_point(txy, r=reach_m, return_length=True) > 0
    towers, txy = towers[near], txy[near]
    if len(towers) == 0:
        return empty
    radio = operator_radio(bundle, op, techs)
    frames = []
    for tech in techs:
        frames.append(gpd.GeoDataFrame({
            "tower_id": towers["tower_id"].astype(str).to_numpy(), "tech": tech,
            "antenna_height_m": pd.to_numeric(towers["height_m"]).to_numpy(),
            **radio[tech], "operator": op,
        }, geometry=towers.geometry.to_numpy(), crs=towers.crs))  # fmt: skip
    sites = pd.concat(frames, ignore_index=True)
    villages = bundle.layer("villages")
    vsub = villages.set_index(villages["village_id"].astype(str), drop=False).loc[list(ids)]
    vsub = vsub.reset_index(drop=True)
    fn = matrix_fn or _default_matrix_fn()
    kwargs: dict[str, Any] = {"dem": dem, "settings": settings, "crs": bundle.metric_crs}
    if model is not None:
        kwargs["model"] = model
    m = fn(sites, vsub, **kwargs)
    m = m.toarray() if sparse.issparse(m) else np.asarray(m)
    n_t = len(towers)
    if m.shape != (n_t * len(techs), len(ids)):
        raise SchemaError(f"site_village_matrix returned shape {m.shape}, expected "
                          f"{(n_t * len(techs), len(ids))}")
    codes = m.reshape(len(techs), n_t, len(ids)).max(axis=0).astype(np.int8)
    owners = towers["owner"].map(owner_id).to_numpy(dtype=object)
    logger.info("sharing for %s: %d candidate towers × %d techs × %d gap villages, %d cleared",
                op, n_t, len(techs), len(ids), int((codes >= 2).any(axis=0).sum()))
    return ShareCandidates(op, techs, towers["tower_id"].astype(str).to_numpy(dtype=object),
                           owners, txy, ids, codes)


def _check_status(status: pd.DataFrame, cols: Iterable[str]) -> None:
    missing = [c for c in cols if c not in status.columns]
    if missing:
        raise SchemaError(f"status table lacks column(s) {missing}; build it with "
                          "phusong.village_status(bundle, coverage)")


# -- the gap list -----------------------------------------------------------------------------
def gap_list(bundle: ProvinceBundle, status: pd.DataFrame, operator: Any, *,
             dem: Dem | None = None,
             settings: Settings = DEFAULT, model: str | None = None,
             candidates: ShareCandidates | None = None,
             fibre_extension: pd.Series | None = None,
             matrix_fn: Callable[..., Any] | None = None) -> gpd.GeoDataFrame:
    """The gap list of one operator (see the module docstring for columns and rules).

    Parameters
    ----------
    bundle
        The province bundle.
    status
        Village status table indexed by ``village_id``.
    operator
        Operator id or alias.
    dem, model, matrix_fn
        Passed to :func:`share_candidates` when ``candidates`` is not given.
    settings
        Analysis settings (weights, dates, language).
    candidates
        Precomputed :func:`share_candidates` for this operator.
    fibre_extension
        Fibre extension length (km) along roads per ``village_id``
        (:func:`analysis.fibre.fibre_extension_km`); NaN when absent.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`GAP_COLUMNS` and a point geometry (the centre, EPSG:4326), sorted by
        priority (descending) then ``village_id``.
    """
    op = parse_operator(operator).value
    col = f"status_{op}"
    _check_status(status, [col])
    bad = set(status[col].dropna()) - {"phu", "lom", "trang"}
    if bad:
        raise SchemaError(f"status table column {col} holds {sorted(bad)}; expected "
                          "phu, lom or trang")
    st = status.copy()
    st.index = st.index.astype(str)
    gap_ids = st.index[st[col].isin(["trang", "lom"])]
    villages = bundle.layer("villages")
    vp = village_points(bundle.layer("villages"), bundle.metric_crs)
    vdf = pd.DataFrame(villages.drop(columns=villages.geometry.name))
    vdf["village_id"] = vdf["village_id"].astype(str)
    vdf = vdf.set_index("village_id", drop=False)
    vp = vp.set_index("village_id")
    unknown = [v for v in gap_ids if v not in vdf.index]
    if unknown:
        raise SchemaError(f"status table names village(s) {unknown[:5]} that are not in the "
                          "villages layer; rebuild the status from the same bundle")
    rows = vdf.loc[list(gap_ids)]
    pts = vp.loc[list(gap_ids)]
    out = pd.DataFrame(index=pd.Index(list(gap_ids), name=None))
    out["operator"] = op
    out["village_id"] = rows["village_id"].to_numpy()
    out["name"] = rows["name"].to_numpy()
    out["commune_code"] = rows["commune_code"].astype(str).to_numpy()
    names = admin_names(bundle)
    out["commune_name"] = out["commune_code"].map(names["commune_name"]) if len(names) else None
    out["district_code"] = out["commune_code"].map(names["district_code"]) if len(names) else None
    out["district_name"] = out["commune_code"].map(names["district_name"]) if len(names) else None
    out["centre_lon"] = pts["lon"].round(6).to_numpy()
    out["centre_lat"] = pts["lat"].round(6).to_numpy()
    out["vn2000_x_north_m"] = pts["y"].round(1).to_numpy()
    out["vn2000_y_east_m"] = pts["x"].round(1).to_numpy()
    out["population"] = pd.to_numeric(rows["population"]).astype("Int64").to_numpy()
    out["households"] = pd.to_numeric(rows["households"]).astype("Int64").to_numpy()
    for flag in ("has_grid_power", "border_area", "extremely_difficult"):
        out[flag] = as_flag(rows[flag])
    out["status"] = st.loc[gap_ids, col].to_numpy()
    for tech in TECHNOLOGIES:
        c = f"status_{op}_{tech}"
        out[f"status_{tech}"] = st.loc[gap_ids, c].to_numpy() if c in st else None
    # nearest own site
    own = _own_towers(bundle, op, settings)
    gxy = np.column_stack([pts["x"].to_numpy(), pts["y"].to_numpy()]).reshape(-1, 2)
    oxy = np.column_stack([own.geometry.x, own.geometry.y]).reshape(-1, 2)
    sid, skm = _nearest(oxy, own["tower_id"].astype(str).to_numpy(dtype=object), gxy)
    out["nearest_own_site_id"] = sid
    out["nearest_own_site_km"] = np.round(skm, 3)
    # sharing
    if candidates is None:
        candidates = share_candidates(bundle, status, op, dem=dem, settings=settings,
                                      model=model, village_ids=list(gap_ids),
                                      matrix_fn=matrix_fn)
    if len(candidates.village_ids):
        cxy = vp.loc[list(candidates.village_ids), ["x", "y"]].to_numpy()
        share = candidates.nearest_clearing(cxy)
    else:
        share = pd.DataFrame(columns=["share_tower_id", "share_tower_owner", "share_tower_km"])
    share = share.reindex(list(gap_ids))
    out["share_tower_id"] = share["share_tower_id"].to_numpy(dtype=object)
    out["share_tower_owner"] = share["share_tower_owner"].to_numpy(dtype=object)
    out["share_tower_km"] = np.round(share["share_tower_km"].to_numpy(dtype=float), 3)
    # fibre
    gpts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(gxy[:, 0], gxy[:, 1]), crs=vp.crs
                            if hasattr(vp, "crs") else bundle.metric_crs)
    out["nearest_fibre_km"] = np.round(nearest_fibre_km(bundle, gpts), 3)
    if fibre_extension is not None:
        fe = fibre_extension.copy()
        fe.index = fe.index.astype(str)
        out["fibre_extension_km"] = np.round(fe.reindex(list(gap_ids)).to_numpy(dtype=float), 3)
    else:
        out["fibre_extension_km"] = np.nan
    # score and action
    out["priority_score"] = priority_score(
        out["population"], border=out["border_area"], difficult=out["extremely_difficult"],
        status=out["status"], grid=out["has_grid_power"], settings=settings)
    grid = out["has_grid_power"].astype("boolean")
    action = np.where(out["share_tower_id"].notna(), "share",
                      np.where(grid.isna(), "check_grid",
                               np.where(grid.fillna(False), "new_site", "wait_grid")))
    out["action"] = action
    out["action_text"] = [
        action_text(a, tower_id=t, owner=o, language=settings.language)
        for a, t, o in zip(out["action"], out["share_tower_id"], out["share_tower_owner"],
                           strict=True)
    ]
    out = out.sort_values(["priority_score", "village_id"], ascending=[False, True],
                          kind="mergesort")
    out = out.reset_index(drop=True)[list(GAP_COLUMNS)]
    geom = gpd.points_from_xy(out["centre_lon"], out["centre_lat"])
    logger.info("gap list %s: %d of %d villages not covered (%d white, %d dead spots), "
                "%d clearable by sharing", op, len(out), len(st),
                int((out["status"] == "trang").sum()), int((out["status"] == "lom").sum()),
                int((out["action"] == "share").sum()))
    return gpd.GeoDataFrame(out, geometry=geom, crs="EPSG:4326")


def action_text(action: str, *, tower_id: Any = None, owner: Any = None,
                language: str = "vi") -> str:
    """Human text of a suggested action (``share``/``new_site``/``wait_grid``)."""
    from phusong.layers.operators import Operator

    entry = ACTION_LABELS[action]
    text = entry[0] if language == "vi" else entry[1]
    if action == "share":
        label = Operator(owner).label if owner in {o.value for o in OPERATORS} else str(owner)
        return text.format(tower_id=tower_id, owner=label)
    return text


def gap_lists(bundle: ProvinceBundle, status: pd.DataFrame, *, operators: Iterable[Any] | None = None,
              dem: Dem | None = None, settings: Settings = DEFAULT, model: str | None = None,
              candidates: Mapping[str, ShareCandidates] | None = None,
              fibre_extension: pd.Series | None = None,
              matrix_fn: Callable[..., Any] | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Gap lists of several operators (default: all four), keyed by operator id."""
    ops = [parse_operator(o).value for o in (operators or OPERATORS)]
    out = {}
    for op in ops:
        out[op] = gap_list(bundle, status, op, dem=dem, settings=settings, model=model,
                           candidates=(candidates or {}).get(op),
                           fibre_extension=fibre_extension, matrix_fn=matrix_fn)
    return out


# -- writing ----------------------------------------------------------------------------------
def _display(df: pd.DataFrame, language: str) -> pd.DataFrame:
    """Status codes → labels for spreadsheets; operator ids → display names."""
    from phusong.layers.operators import Operator

    out = pd.DataFrame(df.drop(columns=[c for c in ["geometry"] if c in df.columns]))
    idx = 0 if language == "vi" else 1
    for c in ["status", *[f"status_{t}" for t in TECHNOLOGIES]]:
        if c in out:
            out[c] = out[c].map(lambda v: STATUS_LABELS[v][idx] if v in STATUS_LABELS else v)
    ops = {o.value: o.label for o in Operator}
    for c in ("operator", "share_tower_owner"):
        if c in out:
            out[c] = out[c].map(lambda v: ops.get(v, v))
    return out


def _op_label(op: str) -> str:
    from phusong.layers.operators import Operator

    return Operator(op).label if op in {o.value for o in OPERATORS} else str(op)


def about_lines(settings: Settings = DEFAULT, *, bundle: ProvinceBundle | None = None) -> list[tuple[str, str]]:
    """Lines for the XLSX "About" sheet: analysis date, score and action rules."""
    vi = settings.language == "vi"
    lines = [
        ("Ngày phân tích" if vi else "Analysis date", settings.as_of_date().isoformat()),
        ("Công nghệ tính" if vi else "Technologies counted", ", ".join(in_service_techs(settings))),
    ]
    if bundle is not None:
        lines.append(("Tỉnh" if vi else "Province", bundle.province))
        lines.append(("Hệ tọa độ VN-2000" if vi else "VN-2000 zone",
                      f"EPSG:{bundle.metric_crs.to_epsg()}"))
    lines.append(("Điểm ưu tiên" if vi else "Priority score",
                  "100 · p · b · d · s · g / (weight_border · weight_difficult); "
                  "p = min(1, ln(1+dân số)/ln(2001)); b = weight_border nếu biên giới; "
                  "d = weight_difficult nếu đặc biệt khó khăn; s = 1 trắng, 0,6 lõm; "
                  "g = 1 có điện lưới, 0,5 không" if vi else
                  "100 · p · b · d · s · g / (weight_border · weight_difficult); "
                  "p = min(1, ln(1+population)/ln(2001)); b = weight_border if border area; "
                  "d = weight_difficult if extremely difficult; s = 1 white, 0.6 dead spot; "
                  "g = 1 with grid power, 0.5 without"))
    lines.append(("Đề xuất" if vi else "Suggested action",
                  "Dùng chung cột: một cột của DN khác một mình phủ sóng (phủ) thôn theo mô hình "
                  "với thông số vô tuyến của DN; Chờ điện lưới: thôn chưa có điện lưới; "
                  "Xây trạm mới: còn lại" if vi else
                  "Share tower: another operator's tower alone covers the village (phu) with the "
                  "operator's own radio parameters; Wait for grid: no grid power; "
                  "New site: otherwise"))
    return lines


def write_gap_lists(lists: Mapping[str, gpd.GeoDataFrame], out: str | os.PathLike, *,
                    settings: Settings = DEFAULT, sample: bool = False, overwrite: bool = False,
                    bundle: ProvinceBundle | None = None, formats: Iterable[str] = ("xlsx", "csv", "geojson"),
                    combined: bool = True) -> dict[str, Path]:
    """Write ``gaps_<op>.{xlsx,csv,geojson}`` for each list and ``gaps_all.xlsx``.

    Headers and status labels follow ``settings.language``; GeoJSON keeps machine names and
    codes. Returns ``{name: path}``.
    """
    from phusong.analysis.export import write_table, write_tables

    folder = Path(out)
    lang = settings.language
    labels = GAP_LABELS
    about = about_lines(settings, bundle=bundle)
    paths: dict[str, Path] = {}
    formats = tuple(formats)
    for op, gdf in lists.items():
        name = _op_label(op)
        title = (f"Danh sách thôn chưa được phủ sóng – {name}" if lang == "vi"
                 else f"Villages not covered – {name}")
        disp = _display(gdf, lang)
        if "xlsx" in formats:
            paths[f"gaps_{op}.xlsx"] = write_table(
                disp, folder / f"gaps_{op}.xlsx", headers=lang, labels=labels,
                overwrite=overwrite, sheet_name=name, title=title, sample=sample, about=about)
        if "csv" in formats:
            paths[f"gaps_{op}.csv"] = write_table(disp, folder / f"gaps_{op}.csv",
                                                  headers=lang, labels=labels,
                                                  overwrite=overwrite, sample=sample)
        if "geojson" in formats:
            paths[f"gaps_{op}.geojson"] = write_table(gdf, folder / f"gaps_{op}.geojson",
                                                      headers="raw", overwrite=overwrite,
                                                      sample=sample)
    if combined and len(lists) > 1:
        title = ("Danh sách thôn chưa được phủ sóng theo doanh nghiệp" if lang == "vi"
                 else "Villages not covered, per operator")
        paths["gaps_all.xlsx"] = write_tables(
            {_op_label(op): _display(g, lang) for op, g in lists.items()},
            folder / "gaps_all.xlsx",
            headers=lang, labels=labels, overwrite=overwrite, title=title, sample=sample,
            about=about)
    return paths


def gap_lines(lists: Mapping[str, gpd.GeoDataFrame], *, settings: Settings = DEFAULT) -> list[str]:
    """One line per operator: gap villages, white/dead-spot split, actions."""
    from phusong.layers.operators import Operator

    language = settings.language
    lines = []
    for op, g in lists.items():
        n_w = int((g["status"] == "trang").sum())
        n_l = int((g["status"] == "lom").sum())
        acts = g["action"].value_counts()
        name = Operator(op).label if op in {o.value for o in OPERATORS} else op
        if language == "vi":
            lines.append(f"{name}: {len(g)} thôn chưa phủ sóng ({n_w} trắng, {n_l} lõm); "
                         f"dùng chung cột {acts.get('share', 0)}, xây trạm mới "
                         f"{acts.get('new_site', 0)}, chờ điện lưới {acts.get('wait_grid', 0)}"
                         + (f", cần xác minh điện lưới {acts['check_grid']}"
                            if acts.get("check_grid", 0) else ""))
        else:
            lines.append(f"{name}: {len(g)} villages not covered ({n_w} white, {n_l} dead "
                         f"spots); share a tower {acts.get('share', 0)}, new site "
                         f"{acts.get('new_site', 0)}, wait for grid {acts.get('wait_grid', 0)}"
                         + (f", grid power to check {acts['check_grid']}"
                            if acts.get("check_grid", 0) else ""))
    return lines
