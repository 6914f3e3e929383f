"""The incremental planner against a full recompute, on the mini sample province.

Every scenario state the planner reaches by editing, undoing and redoing must hold the same
best-server fields and village statuses as :func:`compute_coverage` + :func:`village_status`
run from scratch on the scenario's bundle (:func:`apply_scenario`) — the independent reference.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from phusong.analysis.coverage.engine import compute_coverage
from phusong.analysis.coverage.status import village_status
from phusong.analysis.serve.planner import Planner
from phusong.analysis.serve.scenario import (
    ScenarioError,
    apply_scenario,
    read_scenario,
    scenario_document,
    write_scenario,
)


@pytest.fixture(scope="module")
def planner(tiny_bundle):
    return Planner(tiny_bundle)


@pytest.fixture()
def fresh(planner):
    planner.load([])
    planner.clear_history()
    return planner


def _white_village_site(p: Planner, op: str = "viettel") -> tuple[str, dict]:
    """A white village of ``op`` and an add_site edit 50 m east of its centre (farther, the
    mini sample's terrain can hide the centre from a 30 m mast)."""
    st = p.status
    ids = list(st.index)
    vid = next(v for v in st.index if st.loc[v, f"status_{op}"] == "trang")
    lon, lat = p.village_lonlat[ids.index(vid)]
    return vid, {"op": "add_site", "site_id": "T1", "operator": op, "lon": float(lon) + 0.0005,
                 "lat": float(lat), "height_m": 30, "bts": [{"tech": "4G"}]}


def _assert_matches_full(p: Planner, bundle) -> None:
    b2, s2, _layers = apply_scenario(bundle, p.edits)
    full = compute_coverage(b2, settings=s2)
    view = p.coverage()
    for k in set(full.best_dbm) | set(view.best_dbm):
        a = full.best_dbm.get(k)
        c = view.best_dbm.get(k)
        if a is None:  # no BTS of that key any more: the planner's field is empty
            assert c is None or np.isnan(c).all(), k
            continue
        assert c is not None, k
        np.testing.assert_allclose(c, a, rtol=0, atol=1e-4, equal_nan=True, err_msg=str(k))
    ref = village_status(b2, full, settings=s2)
    cols = [c for c in ref.columns if c.startswith(("status_", "has_", "mobile_"))]
    assert (ref[cols] == p.status[cols]).all().all()
    shares = [c for c in ref.columns if c.startswith("share_")]
    np.testing.assert_allclose(p.status[shares].to_numpy(float), ref[shares].to_numpy(float),
                               atol=1e-9)
    assert p.lines() == p.lines(ref)


def test_added_site_turns_white_village_covered_and_counts(fresh, tiny_bundle):
    p = fresh
    vid, edit = _white_village_site(p)
    n_before = int((p.status["status_viettel"] != "trang").sum())
    res = p.apply(edit)
    assert p.status.loc[vid, "status_viettel"] != "trang"
    assert vid in set(res.changed["village_id"])
    n_after = int((p.status["status_viettel"] != "trang").sum())
    assert n_after == n_before + int((res.changed["status_viettel_before"] == "trang").sum()
                                     - (res.changed["status_viettel_after"] == "trang").sum())
    total = len(p.status)
    signal = int((p.status["status_any"] != "trang").sum())
    assert p.lines()[0] == f"{signal}/{total} thôn bản có sóng"
    # the village's centre really is reached: the new site's own 4G field there ≥ threshold
    f = p._cache[next(iter(p._extras))]  # the one added BTS
    assert f.key == ("viettel", "4G")
    _assert_matches_full(p, tiny_bundle)


def test_edit_sequence_equals_full_recompute(fresh, tiny_bundle):
    p = fresh
    towers = tiny_bundle.layer("towers")
    bts = tiny_bundle.layer("bts")
    _vid, add = _white_village_site(p)
    t0, t1 = str(towers["tower_id"].iloc[0]), str(towers["tower_id"].iloc[1])
    g = towers.geometry.iloc[1]
    edits = [add,
             {"op": "remove", "tower_id": t0},
             {"op": "move", "tower_id": t1, "lon": g.x + 0.01, "lat": g.y - 0.006},
             {"op": "disable", "bts_id": str(bts["bts_id"].iloc[-1])},
             {"op": "share", "tower_id": "T1", "operator": "vinaphone",
              "bts": [{"tech": "4G"}, {"tech": "2G", "eirp_dbm": 55}]},
             {"op": "move", "tower_id": "T1", "lon": add["lon"] - 0.004, "lat": add["lat"]}]
    for e in edits:
        p.apply(e)
    _assert_matches_full(p, tiny_bundle)
    p.undo()
    p.undo()
    _assert_matches_full(p, tiny_bundle)
    p.redo()
    _assert_matches_full(p, tiny_bundle)
    p.apply({"op": "enable", "bts_id": str(bts["bts_id"].iloc[-1])})
    p.apply({"op": "sunset", "tech": "2G", "operator": None, "date": "2020-01-01"})
    _assert_matches_full(p, tiny_bundle)
    assert not [k for k in p.coverage().best_dbm if k[1] == "2G"]  # switched off everywhere


def test_undo_restores_the_bundle_fields_exactly(fresh, tiny_bundle):
    p = fresh
    _vid, add = _white_village_site(p)
    before = p.status.copy()
    p.apply(add)
    p.apply({"op": "remove", "tower_id": str(tiny_bundle.layer("towers")["tower_id"].iloc[2])})
    p.undo()
    p.undo()
    for k, arr in p.orig.items():
        assert np.array_equal(p.cur[k], arr, equal_nan=True), k
    assert before.equals(p.status)
    assert not p.can_undo and p.can_redo


def test_rejected_edit_changes_nothing(fresh):
    p = fresh
    before = p.status.copy()
    for bad in ({"op": "add_site", "site_id": "X", "operator": "nokia", "lon": 103.3,
                 "lat": 22.4, "bts": [{"tech": "4G"}]},
                {"op": "add_site", "site_id": "X", "operator": "viettel", "lon": 106.0,
                 "lat": 21.0, "bts": [{"tech": "4G"}]},
                {"op": "add_site", "site_id": "X", "operator": "viettel", "lon": 103.3,
                 "lat": 22.4, "bts": [{"tech": "4G", "eirp_dbm": 200}]},
                {"op": "remove", "tower_id": "NO-SUCH"},
                {"op": "sunset", "tech": "6G", "date": "2027-01-01"}):
        with pytest.raises(ScenarioError):
            p.apply(bad)
    assert p.edits == [] and not p.can_undo
    assert before.equals(p.status)


def test_scenario_file_round_trip(fresh, tiny_bundle, tmp_path):
    p = fresh
    _vid, add = _white_village_site(p)
    p.apply(add)
    p.apply({"op": "as_of", "date": "2027-01-01"})
    doc = scenario_document("thu nghiem", p.edits, bundle=tiny_bundle)
    path = write_scenario(doc, tmp_path / "thu nghiem.json")
    back = read_scenario(path, bundle=tiny_bundle)
    assert back["edits"] == json.loads(json.dumps(p.edits))
    assert back["bundle_sha256"] and back["sample"] is True
    status = p.status.copy()
    p.load([])
    p.load(back["edits"])
    assert status.equals(p.status)
    with pytest.raises(ScenarioError, match="not a phusong scenario"):
        (tmp_path / "x.json").write_text("{}", encoding="utf-8")
        read_scenario(tmp_path / "x.json")


def test_removals_in_a_row_rebuild_exactly(fresh, tiny_bundle, caplog):
    """Removing several towers whose discs overlap: after the first, the second best of some
    cells is unknown and the planner must rebuild them from the remaining BTS."""
    p = fresh
    towers = tiny_bundle.layer("towers")
    owners = towers["owner"].astype(str)
    ids = [str(t) for t in towers.loc[owners == owners.value_counts().index[0], "tower_id"]]
    assert len(ids) >= 3
    with caplog.at_level("INFO", logger="phusong.analysis.serve.planner"):
        for tid in ids[:3]:
            p.apply({"op": "remove", "tower_id": tid})
    assert any("rebuilding" in r.message for r in caplog.records)
    _assert_matches_full(p, tiny_bundle)
    p.undo()
    _assert_matches_full(p, tiny_bundle)
    p.apply({"op": "disable", "tower_id": ids[0 if len(ids) < 4 else 3]})
    _assert_matches_full(p, tiny_bundle)
    while p.can_undo:
        p.undo()
    for k, arr in p.orig.items():
        assert np.array_equal(p.cur[k], arr, equal_nan=True), k
