"""``phusong rollout`` end to end on the generated mini sample province."""

from __future__ import annotations

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
    assert "HiGHS" in res.output and "DỮ LIỆU MẪU" in res.output
    again = runner.invoke(phusong, args)
    assert again.exit_code == 1
    assert "overwrite" in again.output
    res = runner.invoke(phusong, [*args, "--overwrite", "--max-sites", "1", "--lang", "en",
                                  "--covered-when", "lom", "--include-lom"])
    assert res.exit_code == 0, res.output
    assert "Chose 1 sites" in res.output or "Chose 0 sites" in res.output
