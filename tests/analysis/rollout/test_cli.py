"""``phusong rollout`` end to end on the generated mini sample province."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from phusong.analysis.cli import phusong


@pytest.fixture(scope="module")
def mini_bundle(tmp_path_factory):
    from phusong.seeds.sample import generate_sample

    folder = tmp_path_factory.mktemp("mini")
    generate_sample("mini", seed=0, out=folder)
    return folder


def test_cli_rollout_writes_outputs(mini_bundle, tmp_path):
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["rollout", str(mini_bundle), "--budget", "20e9", "--model", "radius",
            "--out", str(out), "-q"]
    res = runner.invoke(phusong, args)
    assert res.exit_code == 0, res.output
    for name in ("rollout_sites.xlsx", "rollout_sites.csv", "rollout_sites.geojson",
                 "rollout_villages.csv", "rollout_classes.csv", "rollout_curve.csv",
                 "rollout_curve.png"):
        assert (out / name).stat().st_size > 0
    assert not (out / "rollout_frontier.csv").exists()
    assert "HiGHS" in res.output and "DỮ LIỆU MẪU" in res.output
    assert "Running HiGHS" not in res.output
    assert "no-broadband" in res.output  # the target definition is stated
    again = runner.invoke(phusong, args)
    assert again.exit_code == 1
    assert "overwrite" in again.output
    res = runner.invoke(phusong, [*args, "--overwrite", "--max-sites", "1", "--lang", "en",
                                  "--covered-when", "lom", "--include-lom"])
    assert res.exit_code == 0, res.output
    assert "Chose 1 sites" in res.output or "Chose 0 sites" in res.output
    assert "lexicographic" in res.output and "whole objective" in res.output


def test_cli_rollout_frontier_and_target(mini_bundle, tmp_path):
    out = tmp_path / "fr"
    res = CliRunner().invoke(phusong, [
        "rollout", str(mini_bundle), "--budget", "10e9", "--model", "radius", "--frontier",
        "--frontier-steps", "4", "--target", "no-signal", "--border-counts-as-difficult",
        "--lang", "en", "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert (out / "rollout_frontier.png").read_bytes()[:4] == b"\x89PNG"
    fr = pd.read_csv(out / "rollout_frontier.csv", comment="#")
    assert "Marginal people per billion VND" in fr.columns
    assert (fr["Solver status"] == "Optimal").all()
    assert "Spend frontier (exact solve at each budget)" in res.output
    assert "no-signal" in res.output and "border_counts_as_difficult" in res.output
    classes = pd.read_csv(out / "rollout_classes.csv", comment="#")
    assert "Class rule" in classes.columns
    sheets = pd.read_excel(out / "rollout_sites.xlsx", sheet_name=None)
    assert "Spend frontier (exact)" in sheets and "Spend curve (greedy order)" in sheets


@pytest.mark.parametrize("budget", ["inf", "nan", "-1", "-5e9", "fifty", "1e400"])
def test_cli_rollout_bad_budget_one_line(mini_bundle, tmp_path, budget, monkeypatch):
    import phusong.analysis.coverage.engine as engine

    def boom(*a, **k):  # nothing may be computed
        raise AssertionError("computed before validating --budget")

    monkeypatch.setattr(engine, "compute_coverage", boom)
    out = tmp_path / "bad"
    res = CliRunner().invoke(phusong, ["rollout", str(mini_bundle), "--budget", budget,
                                       "--out", str(out)])
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    assert lines[0].startswith("phusong: error: --budget")
    assert "finite number >= 0" in lines[0]
    assert not out.exists()


def test_cli_rollout_bad_time_limit(mini_bundle, tmp_path):
    res = CliRunner().invoke(phusong, ["rollout", str(mini_bundle), "--time-limit", "0",
                                       "--out", str(tmp_path / "x")])
    assert res.exit_code == 1
    assert "--time-limit" in res.output and "> 0" in res.output
