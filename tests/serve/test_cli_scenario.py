"""``phusong analyse|report BUNDLE --scenario FILE`` and the server's export write the same files.

The export reuses the library functions on the planner's cached coverage; the CLI recomputes
everything from the bundle with the scenario applied. Same scenario → same gap lists, byte for
byte (the report's tables likewise, compared as text of its HTML).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.analysis.serve.app import export_scenario
from phusong.analysis.serve.planner import Planner
from phusong.analysis.serve.scenario import scenario_document, write_scenario


@pytest.fixture(scope="module")
def scenario(tiny_bundle, tmp_path_factory):
    p = Planner(tiny_bundle)
    st = p.status
    vid = next(v for v in st.index if st.loc[v, "status_viettel"] == "trang")
    lon, lat = p.village_lonlat[list(st.index).index(vid)]
    p.apply({"op": "add_site", "site_id": "CLI1", "operator": "viettel", "lon": float(lon) + 0.0005,
             "lat": float(lat), "height_m": 30, "bts": [{"tech": "4G"}, {"tech": "2G"}]})
    p.apply({"op": "remove", "tower_id": str(tiny_bundle.layer("towers")["tower_id"].iloc[0])})
    folder = tmp_path_factory.mktemp("scn")
    path = write_scenario(scenario_document("cli", p.edits, bundle=tiny_bundle),
                          folder / "cli.json")
    exported = export_scenario(p, folder / "export")
    return {"path": path, "export": folder / "export", "files": exported, "planner": p}


def test_analyse_with_scenario_writes_what_the_server_exports(scenario, tiny_bundle_dir,
                                                              tmp_path):
    out = tmp_path / "analyse"
    r = CliRunner().invoke(phusong, ["analyse", str(tiny_bundle_dir), "--scenario",
                                     str(scenario["path"]), "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    cli_files = sorted(p.name for p in out.iterdir() if p.suffix == ".csv")
    exp_dir = scenario["export"] / "analyse"
    assert cli_files == sorted(p.name for p in exp_dir.iterdir() if p.suffix == ".csv")
    gap_files = [n for n in cli_files if n.startswith("gap")]
    assert gap_files
    for name in cli_files:
        assert (out / name).read_bytes() == (exp_dir / name).read_bytes(), name


def test_report_with_scenario_has_the_planner_lines(scenario, tiny_bundle_dir, tmp_path):
    out = tmp_path / "report"
    r = CliRunner().invoke(phusong, ["report", str(tiny_bundle_dir), "--scenario",
                                     str(scenario["path"]), "-o", str(out)])
    assert r.exit_code == 0, r.output
    first = scenario["planner"].lines()[0]  # "N/40 thôn bản có sóng" under the scenario
    assert first in r.output
    assert (out / "report.html").exists()


def test_bad_scenario_file_is_one_line(tiny_bundle_dir, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "phusong-scenario", "version": 1, "edits": '
                   '[{"op": "remove", "tower_id": "NO-SUCH"}]}', encoding="utf-8")
    r = CliRunner().invoke(phusong, ["analyse", str(tiny_bundle_dir), "--scenario", str(bad),
                                     "-o", str(tmp_path / "o")])
    assert r.exit_code == 1
    assert "no tower NO-SUCH" in r.output


def test_serve_needs_a_token_off_loopback(tiny_bundle_dir):
    r = CliRunner().invoke(phusong, ["serve", str(tiny_bundle_dir), "--host", "0.0.0.0"])
    assert r.exit_code == 1
    assert "not a loopback address: pass --token" in r.output
    r = CliRunner().invoke(phusong, ["serve", str(tiny_bundle_dir), "--host", "0.0.0.0",
                                     "--token", "short"])
    assert r.exit_code == 1 and "at least 16 characters" in r.output
