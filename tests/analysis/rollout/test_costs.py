"""Rollout costs: tower, power, fibre along roads, microwave hops (analysis.rollout.costs),
on the toy province of conftest.py."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Point

from phusong.analysis.rollout.costs import candidate_costs
from phusong.gis.roads import graph_from_roads
from phusong.layers.settings import DEFAULT


def test_costs_fibre_along_roads_and_power(toy, rt):
    bundle, _ = toy
    villages = bundle["villages"].copy()
    # candidate 5 km up the north road from the fibre; the nearest village decides power
    pts = [(rt.X0 + 10000, rt.Y0 + 7000), (rt.X0 + 10200, rt.Y0 + 7000)]
    cands = rt.candidates_at(pts)
    near = np.argmin(villages.to_crs(rt.METRIC).distance(Point(pts[0])).to_numpy())
    graph = graph_from_roads(bundle.to_metric("roads"))
    s = DEFAULT
    c = candidate_costs(cands, villages=villages, towers=None, fibre=bundle["fibre_routes"],
                        road_graph=graph, settings=s)
    # fibre at y=2000, road at y=2100: 100 m to the road, 4900 m up it, 0 m off-road
    assert c.loc[0, "fibre_km"] == pytest.approx(5.0, abs=0.01)
    assert c.loc[0, "fibre_route"] == "road"
    # 200 m east of the road: + 200 m access leg
    assert c.loc[1, "fibre_km"] == pytest.approx(5.2, abs=0.01)
    assert c.loc[0, "cost_backhaul_vnd"] == pytest.approx(5.0 * s.cost_fibre_per_km_vnd,
                                                          rel=1e-3)
    grid = bool(villages["has_grid_power"].iloc[near])
    assert c.loc[0, "power"] == ("grid" if grid else "solar")
    assert c.loc[0, "cost_tower_vnd"] == s.cost_tower_vnd
    assert c.loc[0, "opex_vnd"] == s.opex_per_year_vnd * s.opex_years
    total = c.loc[0, ["cost_tower_vnd", "cost_equipment_vnd", "cost_power_vnd",
                      "cost_backhaul_vnd", "opex_vnd"]].sum()
    assert c.loc[0, "total_cost_vnd"] == pytest.approx(total, abs=1)
    # without roads: straight line to the fibre
    c2 = candidate_costs(cands, villages=villages, fibre=bundle["fibre_routes"], settings=s)
    assert c2.loc[0, "fibre_km"] == pytest.approx(5.0, abs=0.01)
    assert c2.loc[0, "fibre_route"] == "straight"


def test_costs_shared_tower(toy, rt):
    bundle, _ = toy
    towers = bundle["towers"]
    tm = towers.to_crs(rt.METRIC)
    pts = list(zip(tm.geometry.x, tm.geometry.y, strict=True))
    cands = rt.candidates_at(pts, site_type="shared", tower_id=list(towers["tower_id"]))
    c = candidate_costs(cands, villages=bundle["villages"], towers=towers,
                        fibre=bundle["fibre_routes"], settings=DEFAULT)
    assert (c["cost_tower_vnd"] == DEFAULT.cost_colocation_vnd).all()
    assert (c["cost_power_vnd"] == 0).all() and (c["power"] == "existing").all()
    # t1 (y=2000 m) and t3 (y=3000 m) lie within 2 km of the fibre: nothing to add
    assert list(c["backhaul"].iloc[[0, 2]]) == ["existing", "existing"]
    assert (c["cost_backhaul_vnd"].iloc[[0, 2]] == 0).all()
    assert c["backhaul"].iloc[1] in ("fibre", "microwave")


def test_costs_microwave_hop_needs_fresnel_clearance(toy, rt):
    """A far candidate takes a microwave hop to a fibre-fed tower over flat ground, and
    falls back to fibre when a ridge blocks every path (gis.links over the DEM)."""
    bundle, _ = toy
    flat = rt.toy_dem()
    flat.elevation_m[:] = 400.0
    cands = rt.candidates_at([(rt.X0 + 10000, rt.Y0 + 19000)])
    kw = dict(villages=bundle["villages"], towers=bundle["towers"],
              fibre=bundle["fibre_routes"], settings=DEFAULT)
    c = candidate_costs(cands, dem=flat, **kw)
    assert c.loc[0, "backhaul"] == "microwave"
    assert c.loc[0, "cost_backhaul_vnd"] == DEFAULT.cost_microwave_hop_vnd
    # fibre-fed towers: t1 (y=2000) and t3 (y=3000); t3 is the nearer
    assert c.loc[0, "microwave_tower_id"] == "t3"
    assert c.loc[0, "microwave_km"] == pytest.approx(np.hypot(8000, 16000) / 1000, abs=0.01)
    ridge = rt.toy_dem()
    ridge.elevation_m[:] = 400.0
    ridge.elevation_m[95:105, :] = 2500.0  # an east-west wall at y ≈ 10 km
    c = candidate_costs(cands, dem=ridge, **kw)
    assert c.loc[0, "backhaul"] == "fibre"
    assert c.loc[0, "microwave_tower_id"] is None
    # beyond microwave_max_km there is no hop either
    c = candidate_costs(cands, dem=flat, **{**kw, "settings": DEFAULT.replace(
        microwave_max_km=10.0)})
    assert c.loc[0, "backhaul"] == "fibre"
