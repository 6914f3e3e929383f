"""phusong.seeds.evolve: the sample province one year on, with a change log that matches the layers."""

from __future__ import annotations

import pandas as pd
import pytest

from phusong.gis.errors import InputError
from phusong.layers.bundle import read_bundle
from phusong.layers.settings import DEFAULT
from phusong.layers.validate import validate_bundle
from phusong.seeds.evolve import evolve_sample, write_evolution


@pytest.fixture(scope="module")
def old(tiny_bundle_dir):
    return read_bundle(tiny_bundle_dir)


def test_same_seed_same_evolution(old):
    a = evolve_sample(old, seed=5)
    b = evolve_sample(old, seed=5)
    pd.testing.assert_frame_equal(a.changes, b.changes)
    for name in a.bundle.layers:
        pd.testing.assert_frame_equal(a.bundle.layers[name], b.bundle.layers[name])


def test_change_log_matches_the_layers(old):
    evo = evolve_sample(old, seed=2, new_sites=2, shared=2, early_2g_off=1, undergrounded=2,
                        new_post_offices=1, merge_villages=1, add_villages=2)
    new = evo.bundle
    c = evo.changes
    n = c["change"].value_counts()
    assert len(new["towers"]) == len(old["towers"]) + n["tower_added"]
    assert len(new["bts"]) == len(old["bts"]) + n["bts_added"] - n["bts_removed"]
    assert len(new["post_offices"]) == len(old["post_offices"]) + n["post_office_added"]
    assert len(new["fibre_routes"]) == len(old["fibre_routes"]) + n["fibre_added"]
    assert len(new["villages"]) == len(old["villages"]) - 1 + 2
    assert set(new["bts"]["bts_id"]) == (set(old["bts"]["bts_id"])
                                         - set(c.loc[c.change == "bts_removed", "feature_id"])
                                         | set(c.loc[c.change == "bts_added", "feature_id"]))
    # sharing puts an operator on another operator's existing tower
    shared = c[(c.change == "bts_added") & (c.note == "sharing")]
    owners = dict(zip(old["towers"]["tower_id"], old["towers"]["owner"], strict=True))
    bts = new["bts"].set_index("bts_id")
    for bid, op in zip(shared["feature_id"], shared["operator"], strict=True):
        tid = bts.loc[bid, "tower_id"]
        assert tid in owners and owners[tid] != op
        assert op not in set(old["bts"].loc[old["bts"]["tower_id"] == tid, "operator"])
    # undergrounding changes the kind of exactly the logged routes
    und = set(c.loc[c.change == "fibre_undergrounded", "feature_id"])
    o = old["fibre_routes"].set_index("route_id")["kind"]
    nk = new["fibre_routes"].set_index("route_id")["kind"]
    changed = {r for r in o.index if o[r] != nk[r]}
    assert changed == und and all(nk[r] == "underground" for r in und)
    # population is conserved by the merge (the added villages bring their own)
    added_pop = new["villages"].set_index("village_id").loc[
        evo.village_map.loc[evo.village_map.change == "added", "new_id"], "population"].sum()
    assert new["villages"]["population"].sum() == old["villages"]["population"].sum() + added_pop
    assert new.meta["year"] == str(int(old.meta["year"]) + 1) and new.is_sample


def test_switch_off_in_force_removes_every_2g_bts(old):
    evo = evolve_sample(old, seed=1, year=2027)
    assert not (evo.bundle["bts"]["tech"] == "2G").any()
    removed = evo.changes[(evo.changes.change == "bts_removed")
                          & (evo.changes.note == "switch_off")]
    assert len(removed) == (old["bts"]["tech"] == "2G").sum()
    # new equipment is 4G only once 2G is off
    added = evo.changes[evo.changes.change == "bts_added"]
    assert set(added["tech"]) == {"4G"}
    later = evolve_sample(old, seed=1, year=2029, settings=DEFAULT)
    assert not later.bundle["bts"]["tech"].isin(["2G", "3G"]).any()


def test_year_must_follow(old):
    with pytest.raises(InputError, match="not after"):
        evolve_sample(old, seed=1, year=int(old.meta["year"]))


def test_written_bundle_validates_and_keeps_the_rasters(old, tmp_path):
    evo = evolve_sample(old, seed=4, reid_villages=2, respell_villages=1)
    nb = write_evolution(evo, tmp_path / "next")
    assert nb.dem_path is not None and nb.population_path is not None
    assert (tmp_path / "next" / "changes.csv").exists()
    for layer, res in validate_bundle(nb).items():
        assert len(res.rejected) == 0, (layer, res.rejected.head())
    with pytest.raises(Exception, match="overwrite"):
        write_evolution(evo, tmp_path / "next")


def test_cli_evolve(tiny_bundle_dir, tmp_path):
    from click.testing import CliRunner

    from phusong.analysis.cli import phusong

    res = CliRunner().invoke(phusong, ["evolve", str(tiny_bundle_dir), "--seed", "2",
                                       "--new-sites", "1", "-o", str(tmp_path / "next"), "-q"])
    assert res.exit_code == 0, res.output
    nb = read_bundle(tmp_path / "next")
    changes = pd.read_csv(tmp_path / "next" / "changes.csv")
    assert (changes["change"] == "tower_added").sum() == 1
    assert len(nb["towers"]) == len(read_bundle(tiny_bundle_dir)["towers"]) + 1
    assert "DỮ LIỆU MẪU / SAMPLE DATA" in res.output
