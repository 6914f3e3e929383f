"""phusong compare: two snapshots of the mini sample province, the second made by
seeds.evolve.evolve_sample, must show exactly the changes the generator made."""

from __future__ import annotations

import json
import shutil

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.analysis.compare.changes import (
    TRANSITIONS,
    Snapshot,
    compare_bundles,
    snapshot_date,
    transition,
)
from phusong.analysis.compare.matching import match_villages, name_key
from phusong.analysis.compare.outputs import (
    TRANSITION_COLOURS,
    comparison_lines,
    write_comparison,
)
from phusong.analysis.coverage.engine import compute_coverage
from phusong.analysis.coverage.status import village_status
from phusong.gis.errors import InputError
from phusong.layers.bundle import ProvinceBundle, read_bundle
from phusong.layers.settings import DEFAULT
from phusong.seeds.evolve import evolve_sample, write_evolution

#: short radii so that the 15 × 15 km mini province has white and lõm villages
RADII = {"2G": 2.5, "3G": 1.5, "4G": 1.5}


def _snapshot(bundle: ProvinceBundle, as_of: str, label: str) -> Snapshot:
    s = DEFAULT.replace(as_of=as_of, radius_km=RADII)
    cov = compute_coverage(bundle, model="radius", settings=s)
    return Snapshot(bundle, village_status(bundle, cov, settings=s), s, label=label,
                    source=str(bundle.folder))


@pytest.fixture(scope="module")
def pair(tiny_bundle_dir, tmp_path_factory):
    old = read_bundle(tiny_bundle_dir)
    evo = evolve_sample(old, seed=3, new_sites=2, shared=2, early_2g_off=2,
                        reid_villages=3, respell_villages=2, rename_villages=2,
                        merge_villages=1, add_villages=1)
    new = write_evolution(evo, tmp_path_factory.mktemp("evolved") / "mini-2023")
    so = _snapshot(old, snapshot_date(old), old.meta["year"])
    sn = _snapshot(new, snapshot_date(new), new.meta["year"])
    return evo, so, sn, compare_bundles(so, sn, settings=DEFAULT.replace(radius_km=RADII))


# -- matching --------------------------------------------------------------------------------
def test_name_key_ignores_diacritics_case_and_spacing():
    assert name_key("Bản Tà Muông") == name_key("BAN  TA-MUONG") == "ban ta muong"
    assert name_key("Đán Đanh") == "dan danh"
    assert name_key(None) == ""


def test_match_report_is_the_generators_village_map(pair):
    evo, so, sn, cmp = pair
    vm = evo.village_map
    expected_method = {"same": "id", "new_id": "name", "respelled": "name",
                       "renamed": "position", "merged": "removed", "added": "added"}
    def sid(v):
        return v if isinstance(v, str) else None

    got = {(sid(r.old_id), sid(r.new_id)): r.method for r in cmp.matches.itertuples()}
    want = {(r.old_id if isinstance(r.old_id, str) else None,
             r.new_id if isinstance(r.new_id, str) else None): expected_method[r.change]
            for r in vm.itertuples()}
    assert got == want
    # nothing dropped: every village of both snapshots appears exactly once
    m = cmp.matches
    assert sorted(m["old_id"].dropna()) == sorted(so.bundle["villages"]["village_id"])
    assert sorted(m["new_id"].dropna()) == sorted(sn.bundle["villages"]["village_id"])
    assert len(cmp.villages) == len(m)


def test_position_match_respects_the_distance_setting(pair):
    evo, so, sn, _ = pair
    tight = DEFAULT.replace(compare_village_match_m=0.0)
    m = match_villages(so.bundle["villages"], sn.bundle["villages"], crs=sn.bundle.metric_crs,
                       settings=tight)
    renamed = set(evo.village_map.loc[evo.village_map["change"] == "renamed", "old_id"])
    # the renamed villages keep their place (distance 0): still matched at 0 m ...
    assert set(m.loc[m["method"] == "position", "old_id"]) == renamed
    # ... and a village moved 1 km is not
    new = sn.bundle["villages"].copy()
    i = new.index[new["village_id"] == evo.village_map.loc[
        evo.village_map["change"] == "renamed", "new_id"].iloc[0]][0]
    new.loc[i, "centre_lon"] = float(new.loc[i, "centre_lon"]) + 0.01
    from shapely import affinity

    new.loc[i, "geometry"] = affinity.translate(new.loc[i, "geometry"], xoff=0.01)
    m2 = match_villages(so.bundle["villages"], new, crs=sn.bundle.metric_crs)
    assert (m2["method"] == "position").sum() == len(renamed) - 1
    assert (m2["method"] == "removed").sum() == 2 and (m2["method"] == "added").sum() == 2


# -- infrastructure: exactly the generator's changes -------------------------------------------
def _log(evo, change, **eq):
    c = evo.changes[evo.changes["change"] == change]
    for k, v in eq.items():
        c = c[c[k] == v]
    return c


def test_towers_and_bts_added_and_removed_are_the_generators(pair):
    evo, _, _, cmp = pair
    f = cmp.features
    assert set(f.loc[(f.layer == "towers") & (f.change == "added"), "new_id"]) == set(
        _log(evo, "tower_added")["feature_id"])
    assert set(f.loc[(f.layer == "bts") & (f.change == "added"), "new_id"]) == set(
        _log(evo, "bts_added")["feature_id"])
    assert set(f.loc[(f.layer == "bts") & (f.change == "removed"), "old_id"]) == set(
        _log(evo, "bts_removed")["feature_id"])
    # sharing: the BTS the generator put on another operator's tower
    assert set(f.loc[(f.layer == "bts") & f.shared, "new_id"]) == set(
        _log(evo, "bts_added", note="sharing")["feature_id"])
    # per operator × technology, counted from the log by hand
    bts = cmp.bts.set_index(["operator", "tech"])
    log_add = _log(evo, "bts_added").groupby(["operator", "tech"]).size()
    log_rem = _log(evo, "bts_removed").groupby(["operator", "tech"]).size()
    for (op, tech), row in bts.iterrows():
        if "all" in (op, tech):
            continue
        assert row["added"] == log_add.get((op, tech), 0), (op, tech)
        assert row["removed"] == log_rem.get((op, tech), 0), (op, tech)
        assert row["new"] - row["old"] == row["added"] - row["removed"]
    old_n = len(pair[1].bundle["bts"])
    assert bts.loc[("all", "all"), "new"] == old_n + log_add.sum() - log_rem.sum()
    assert cmp.towers.set_index("operator").loc["all", "added"] == len(_log(evo, "tower_added"))


def test_fibre_and_postal_changes_are_the_generators(pair):
    evo, so, sn, cmp = pair
    fa = cmp.fibre.set_index(["operator", "kind"]).loc[("all", "all")]
    assert fa["km_added"] == pytest.approx(_log(evo, "fibre_added")["km"].sum(), abs=1e-3)
    assert fa["km_undergrounded"] == pytest.approx(
        _log(evo, "fibre_undergrounded")["km"].sum(), abs=1e-3)
    # underground share: straight from the layers, by hand
    for snap, col in ((so, "underground_ratio_old"), (sn, "underground_ratio_new")):
        g = snap.bundle.to_metric("fibre_routes")
        km = g.length / 1000
        assert fa[col] == pytest.approx(km[g["kind"] == "underground"].sum() / km.sum(),
                                        rel=1e-6)
    f = cmp.features
    assert set(f.loc[(f.layer == "post_offices") & (f.change == "added"), "new_id"]) == set(
        _log(evo, "post_office_added")["feature_id"])
    po = cmp.postal.set_index("kind")
    assert po.loc["all", "new"] == len(sn.bundle["post_offices"])
    assert po.loc["all", "old"] == len(so.bundle["post_offices"])


# -- village transitions ---------------------------------------------------------------------
def test_transitions_equal_a_direct_join_through_the_generators_map(pair):
    evo, so, sn, cmp = pair
    vm = evo.village_map
    got = cmp.villages.set_index(cmp.villages["old_id"].fillna(cmp.villages["new_id"]))
    for r in vm.itertuples():
        a = so.status.loc[r.old_id] if isinstance(r.old_id, str) else None
        b = sn.status.loc[r.new_id] if isinstance(r.new_id, str) else None
        key = r.old_id if isinstance(r.old_id, str) else r.new_id
        for who in ("any", "viettel", "vinaphone", "mobifone", "vietnamobile"):
            want = transition(None if a is None else a[f"status_{who}"],
                              None if b is None else b[f"status_{who}"])
            assert got.loc[key, f"transition_{who}"] == want, (key, who)
    # the counts in the reports' form add up
    p = cmp.units["province"].iloc[0]
    t = cmp.villages["transition"]
    assert p["cleared_white"] == (t == "cleared_white").sum()
    assert p["cleared_white_text"] == f"{p['cleared_white']}/{(so.status['status_any'] == 'trang').sum()}"
    assert p["cleared_lom_text"] == f"{p['cleared_lom']}/{(so.status['status_any'] == 'lom').sum()}"
    assert set(t) <= set(TRANSITIONS)


def _centres_m(bundle):
    from phusong.layers.villages import village_centres

    x, y = village_centres(bundle["villages"], bundle.metric_crs)
    return pd.DataFrame({"x": x, "y": y},
                        index=bundle["villages"]["village_id"].to_numpy())


def _brute_signal(bundle, techs=("2G", "3G", "4G"), margin_m=60.0):
    """Signal at the centre by brute force: a BTS of a technology in service within that
    technology's radius (None where a site sits within ``margin_m`` of the edge)."""
    c = _centres_m(bundle)
    bts = bundle.to_metric("bts")
    out = {}
    for vid, x, y in zip(c.index, c["x"], c["y"], strict=True):
        d = np.hypot(bts.geometry.x.to_numpy() - x, bts.geometry.y.to_numpy() - y)
        r = bts["tech"].map(lambda t: RADII.get(t, 0) * 1000).to_numpy()
        use = bts["tech"].isin(techs).to_numpy()
        if (use & (np.abs(d - r) < margin_m)).any():
            out[vid] = None
        else:
            out[vid] = bool((use & (d <= r)).any())
    return out


def test_white_villages_cleared_and_lost_match_brute_force_distances(pair):
    evo, so, sn, cmp = pair
    before, after = _brute_signal(so.bundle), _brute_signal(sn.bundle)
    v = cmp.villages
    checked = 0
    for r in v[v["old_id"].notna() & v["new_id"].notna()].itertuples():
        a, b = before[r.old_id], after[r.new_id]
        if a is None or b is None:
            continue
        checked += 1
        want = ("cleared_white" if (not a and b) else "lost_signal" if (a and not b) else None)
        if want:
            assert r.transition == want, r.old_id
        else:
            assert r.transition not in ("cleared_white", "lost_signal"), r.old_id
    assert checked >= 30
    # the generator built its new sites at white villages: they are cleared
    targets = _log(evo, "tower_added")["village_id"]
    t = v.set_index(v["old_id"].fillna(""))
    cleared = [vid for vid in targets if before.get(vid) is False]
    assert cleared, "the new sites should stand at white villages"
    for vid in cleared:
        assert t.loc[vid, "transition"] == "cleared_white"
    # and the early 2G switch-off is why some villages lost an operator's signal
    assert cmp.units["province"].iloc[0]["lost_signal"] == (v["transition"] == "lost_signal").sum()


def test_lower_levels_add_up_to_the_province(pair):
    _, _, _, cmp = pair
    p = cmp.units["province"].iloc[0]
    c = cmp.units["commune"]
    for col in ("villages_old", "villages_new", "cleared_white", "cleared_lom", "lost_signal",
                "towers_added", "bts_added", "bts_removed", "postal_added", "towers_new",
                "bts_new", "postal_new"):
        assert c[col].sum() == p[col], col
    # each unit's km is rounded to the metre: the communes' sum may differ from the
    # province's rounded total by half a metre per commune
    assert c["fibre_km_new"].sum() == pytest.approx(p["fibre_km_new"], abs=5e-4 * len(c))
    assert p["fibre_km_new"] == pytest.approx(
        cmp.fibre.set_index(["operator", "kind"]).loc[("all", "all"), "km_new"], abs=1e-3)


def test_one_bundle_at_two_dates_shows_the_2g_switch_off(tiny_bundle):
    before = _snapshot(tiny_bundle, "2026-01-01", "01/01/2026")
    after = _snapshot(tiny_bundle, "2026-12-31", "31/12/2026")
    cmp = compare_bundles(before, after)
    st = before.status
    ops = ["viettel", "vinaphone", "mobifone", "vietnamobile"]
    only_2g = np.zeros(len(st), bool)
    has_2g = np.zeros(len(st), bool)
    newer = np.zeros(len(st), bool)
    for op in ops:
        has_2g |= (st[f"status_{op}_2G"] != "trang").to_numpy()
        for t in ("3G", "4G", "5G"):
            newer |= (st[f"status_{op}_{t}"] != "trang").to_numpy()
    only_2g = has_2g & ~newer
    lost = cmp.villages.loc[cmp.villages["transition"] == "lost_signal", "old_id"]
    assert set(lost) == set(st.index[only_2g])
    assert len(lost) > 0
    assert (cmp.villages.loc[cmp.villages["transition"] == "lost_signal", "cause"]
            == "switch_off").all()
    assert cmp.bts["added"].sum() == 0 and cmp.bts["removed"].sum() == 0
    text = "\n".join(comparison_lines(cmp))
    assert f"trong đó {len(lost)} thôn/bản do tắt sóng 2G/3G" in text


# -- outputs ---------------------------------------------------------------------------------
def test_writes_tables_geojson_map_and_sentences(pair, tmp_path):
    _, so, sn, cmp = pair
    files = write_comparison(cmp, tmp_path, new_bundle=sn.bundle, new_status=sn.status,
                             old_bundle=so.bundle)
    assert set(files) == {"compare.xlsx", "compare_villages.csv", "compare_units.csv",
                          "compare_matches.csv", "compare_villages.geojson", "compare.txt",
                          "compare_map.html"}
    wb = openpyxl.load_workbook(files["compare.xlsx"])
    for sheet in ("Tóm tắt", "Toàn tỉnh", "Thôn xóa trắng", "Thôn xóa lõm", "Thôn mất sóng",
                  "Thiết bị trạm BTS", "Cáp quang", "Bưu chính", "Đối chiếu thôn"):
        assert sheet in wb.sheetnames, sheet
    geo = json.loads(files["compare_villages.geojson"].read_text(encoding="utf-8"))
    assert len(geo["features"]) == len(cmp.villages)
    props = [f["properties"] for f in geo["features"]]
    assert {p["transition"] for p in props} == set(cmp.villages["transition"])
    assert all(p["colour"] == TRANSITION_COLOURS[p["transition"]] for p in props)
    raw = files["compare_villages.csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = files["compare.txt"].read_text(encoding="utf-8")
    p = cmp.units["province"].iloc[0]
    assert text.startswith("DỮ LIỆU MẪU")
    assert (f"đã xoá trắng được {p['cleared_white']}/{p['white_old']} thôn/bản, xoá lõm được "
            f"{p['cleared_lom']}/{p['lom_old']} thôn/bản") in text
    page = files["compare_map.html"].read_text(encoding="utf-8")
    assert json.dumps("Thay đổi 2022 → 2023")[1:-1] in page  # the layer, in the layer control
    assert TRANSITION_COLOURS["cleared_white"] in page
    with pytest.raises(Exception, match="overwrite"):
        write_comparison(cmp, tmp_path)


def test_english_sentences(pair):
    cmp = pair[3]
    text = "\n".join(comparison_lines(cmp, language="en"))
    assert "White villages cleared:" in text and "new tower positions" in text
    assert "thôn" not in text.replace("(lõm)", "")


# -- bad input: one line each ----------------------------------------------------------------
def test_two_provinces_are_refused(pair):
    _, so, sn, _ = pair
    other = ProvinceBundle(layers=dict(sn.bundle.layers),
                           meta={**sn.bundle.meta, "province_code": "11",
                                 "province": "Điện Biên"})
    with pytest.raises(InputError, match="two snapshots of one province") as e:
        compare_bundles(so, Snapshot(other, sn.status, sn.settings))
    assert "\n" not in str(e.value)


def test_a_bundle_without_villages_is_refused(pair):
    _, so, sn, _ = pair
    empty = ProvinceBundle(layers={k: v for k, v in sn.bundle.layers.items()
                                   if k != "villages"}, meta=dict(sn.bundle.meta))
    with pytest.raises(InputError, match="has no villages") as e:
        compare_bundles(so, Snapshot(empty, sn.status.iloc[:0], sn.settings, source="new"))
    assert "\n" not in str(e.value) and str(e.value).startswith("new:")


def test_repeated_ids_within_a_bundle_are_refused(pair):
    _, so, sn, _ = pair
    vil = sn.bundle["villages"].copy()
    vil.loc[vil.index[5], "village_id"] = vil["village_id"].iloc[2]
    dup = ProvinceBundle(layers={**sn.bundle.layers, "villages": vil},
                         meta=dict(sn.bundle.meta))
    with pytest.raises(InputError, match=r"villages rows 3 and 6: village_id .* repeats") as e:
        compare_bundles(so, Snapshot(dup, sn.status, sn.settings, source="new.gpkg"))
    assert "\n" not in str(e.value)


def test_an_id_naming_two_villages_is_refused(pair):
    _, so, sn, _ = pair
    vil = sn.bundle["villages"].copy()
    a, b = vil.index[0], vil.index[-2]
    ida, idb = vil.loc[a, "village_id"], vil.loc[b, "village_id"]
    vil.loc[a, "village_id"], vil.loc[b, "village_id"] = idb, ida  # two far villages swap ids
    swapped = ProvinceBundle(layers={**sn.bundle.layers, "villages": vil},
                             meta=dict(sn.bundle.meta))
    with pytest.raises(InputError, match="clashes") as e:
        compare_bundles(so, Snapshot(swapped, sn.status, sn.settings))
    assert "\n" not in str(e.value)


def test_snapshots_in_the_wrong_order_are_refused(pair):
    _, so, sn, _ = pair
    with pytest.raises(InputError, match="give the earlier snapshot first"):
        compare_bundles(sn, so)


def test_cli_prints_one_line_for_bad_input(pair, tmp_path):
    _, so, sn, _ = pair
    other = tmp_path / "other"
    shutil.copytree(sn.bundle.folder, other)
    b = read_bundle(other)
    from phusong.layers.bundle import write_bundle

    write_bundle(b, other, overwrite=True, meta={"province_code": "11",
                                                 "province": "Điện Biên"})
    res = CliRunner().invoke(phusong, ["compare", str(so.bundle.folder), str(other),
                                       "--model", "radius", "-o", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 1
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("phusong: error:")
    res = CliRunner().invoke(phusong, ["compare", str(so.bundle.folder), "-o",
                                       str(tmp_path / "o"), "-q"])
    assert res.exit_code == 1 and "--as-of" in res.output


def test_cli_compare_two_bundles(pair, tmp_path):
    _, so, sn, _ = pair
    out = tmp_path / "cmp"
    res = CliRunner().invoke(phusong, ["compare", str(so.bundle.folder), str(sn.bundle.folder),
                                       "--model", "radius", "--no-map", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "DỮ LIỆU MẪU / SAMPLE DATA" in res.output
    assert "Phát triển 2 vị trí trạm BTS" in res.output
    assert (out / "compare.xlsx").exists() and not (out / "compare_map.html").exists()


def test_transition_codes():
    assert transition("trang", "lom") == "cleared_white"
    assert transition("trang", "phu") == "cleared_white"
    assert transition("lom", "phu") == "cleared_lom"
    assert transition("phu", "trang") == "lost_signal"
    assert transition("phu", "lom") == "became_lom"
    assert transition("lom", "lom") == "still_lom"
    assert transition(None, "phu") == "added" and transition("phu", None) == "removed"
    assert set(TRANSITION_COLOURS) == set(TRANSITIONS)
