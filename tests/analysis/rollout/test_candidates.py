"""Rollout candidates: village centres, DEM high points, existing towers and their coverage
sets (analysis.rollout.candidates), on the toy province of conftest.py."""

from __future__ import annotations

import numpy as np
import pytest

from phusong.analysis.rollout.candidates import (
    candidate_coverage,
    cluster_villages,
    dem_high_points,
    generate_candidates,
)
from phusong.gis.errors import InputError
from phusong.layers.settings import DEFAULT, default_eirp_dbm


def test_cluster_villages_single_linkage():
    xy = np.array([[0, 0], [900, 0], [1800, 0], [10_000, 0], [10_500, 0], [50_000, 0]], float)
    assert list(cluster_villages(xy, link_m=1000)) == [0, 0, 0, 1, 1, 2]
    assert len(cluster_villages(np.zeros((0, 2)), link_m=1000)) == 0


def test_dem_high_points_find_hill_tops(dem, rt):
    vxy = np.array([[rt.X0 + 6500, rt.Y0 + 13000], [rt.X0 + 13000, rt.Y0 + 6500]])
    hp = dem_high_points(dem, vxy, np.array([0, 1]), per_cluster=2, reach_m=4000,
                         min_separation_m=1000)
    top = hp.groupby("cluster").first()
    assert np.hypot(top.loc[0, "x"] - (rt.X0 + 6000), top.loc[0, "y"] - (rt.Y0 + 14000)) < 150
    assert np.hypot(top.loc[1, "x"] - (rt.X0 + 14000), top.loc[1, "y"] - (rt.Y0 + 6000)) < 150
    assert (hp.groupby("cluster").size() <= 2).all()
    assert (hp["village_distance_m"] <= 4000).all()
    for _, g in hp.groupby("cluster"):
        if len(g) == 2:
            assert np.hypot(*np.diff(g[["x", "y"]].to_numpy(), axis=0)[0]) >= 1000


def test_generate_candidates_kinds(toy, dem):
    bundle, _ = toy
    targets = bundle["villages"].iloc[:8]
    cands = generate_candidates(targets, towers=bundle["towers"], dem=dem,
                                settings=DEFAULT.replace(candidates_per_cluster=2))
    assert cands.crs.to_epsg() == 9205
    kinds = cands["kind"].value_counts()
    assert kinds["village_centre"] == 8
    assert kinds.get("high_point", 0) >= 1
    assert cands["candidate_id"].is_unique
    shared = cands[cands["kind"] == "tower"]
    assert (shared["site_type"] == "shared").all()
    # a shared tower's antenna sits at the tower's height; new masts at mast_height_m
    heights = dict(zip(bundle["towers"]["tower_id"], bundle["towers"]["height_m"], strict=True))
    assert all(h == heights[t] for t, h in zip(shared["tower_id"], shared["antenna_height_m"],
                                               strict=True))
    assert (cands.loc[cands["site_type"] == "new", "antenna_height_m"] == 35.0).all()
    assert set(cands[["tech", "band_mhz", "eirp_dbm"]].itertuples(index=False)) == {
        ("4G", 900.0, default_eirp_dbm("4G"))}
    with pytest.raises(InputError, match="pass crs"):
        generate_candidates(targets)


def test_candidate_covers_its_own_village_radius(toy, rt):
    bundle, _ = toy
    targets = bundle["villages"].iloc[:5]
    cands = generate_candidates(targets, crs=rt.METRIC, include_towers=False)
    cov = candidate_coverage(cands, targets, model="radius").toarray()
    assert cov.dtype == bool
    assert np.diag(cov[:5, :5]).all()
