"""The shared options of ``phusong``: on the group or after the command, one Settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.analysis.cli._options import RunOptions
from phusong.analysis.coverage.models import MODELS

ANALYSING = ("analyse", "coverage", "demo", "gaps", "map", "report", "rollout", "run")


@pytest.mark.parametrize("name", ANALYSING)
def test_every_analysing_command_takes_the_shared_options(name):
    cmd = phusong.get_command(click.Context(phusong), name)
    opts = {p.name: p for p in cmd.params}
    for key in ("as_of", "language", "model", "out", "overwrite", "verbose", "quiet"):
        assert key in opts, f"{name} lacks {key}"
    assert tuple(opts["model"].type.choices) == MODELS == ("terrain", "radius", "itm")


def test_group_holds_the_same_options():
    names = {p.name for p in phusong.params}
    assert {"as_of", "language", "model", "out", "overwrite", "verbose", "quiet"} <= names


def test_merge_command_values_win_and_counts_add():
    group = RunOptions(as_of="2030-01-01", language="en", model="radius",
                       out=Path("g"), overwrite=True, verbosity=1)
    merged = group.merged(as_of="2022-12-31", out=None, quiet=2, verbose=0)
    assert merged.as_of == "2022-12-31" and merged.language == "en" and merged.model == "radius"
    assert merged.out == Path("g") and merged.overwrite is True and merged.verbosity == -1
    assert merged.quiet and merged.settings.as_of_date() == dt.date(2022, 12, 31)
    assert merged.settings is merged.settings                       # built once
    assert RunOptions().out_dir == Path("outputs")
    assert RunOptions().settings.as_of is not None                  # today, fixed once


def _coverage_date(output: str) -> str:
    line = next(ln for ln in output.splitlines() if "model, as of" in ln)
    return line.rsplit(" ", 1)[-1]


def test_options_before_or_after_the_command(tiny_bundle_dir, tmp_path):
    runner = CliRunner()
    after = runner.invoke(phusong, ["coverage", str(tiny_bundle_dir), "--model", "radius",
                                    "--as-of", "2022-12-31", "--no-rasters", "-o",
                                    str(tmp_path / "a"), "-q"])
    assert after.exit_code == 0, after.output
    assert _coverage_date(after.output) == "2022-12-31"
    before = runner.invoke(phusong, ["--as-of", "2022-12-31", "--model", "radius", "--lang",
                                     "en", "-o", str(tmp_path / "b"), "-q", "coverage",
                                     str(tiny_bundle_dir), "--no-rasters"])
    assert before.exit_code == 0, before.output
    assert _coverage_date(before.output) == "2022-12-31"
    assert "villages with signal" in before.output                   # --lang en reached it
    assert (tmp_path / "b" / "village_status.csv").exists()
    a = pd.read_csv(tmp_path / "a" / "village_status.csv", encoding="utf-8-sig")
    b = pd.read_csv(tmp_path / "b" / "village_status.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(a, b)
    # the command's own value wins over the group's
    both = runner.invoke(phusong, ["--as-of", "2030-01-01", "coverage", str(tiny_bundle_dir),
                                   "--model", "radius", "--as-of", "2022-12-31",
                                   "--no-rasters", "-o", str(tmp_path / "c"), "-q"])
    assert both.exit_code == 0, both.output
    assert _coverage_date(both.output) == "2022-12-31"


def test_bad_date_is_one_line(tiny_bundle_dir, tmp_path):
    res = CliRunner().invoke(phusong, ["--as-of", "2022-13-45", "coverage",
                                       str(tiny_bundle_dir), "-o", str(tmp_path)])
    assert res.exit_code == 1
    assert "as_of='2022-13-45'" in res.output and "Traceback" not in res.output


def test_rollout_takes_the_analysis_date(tiny_bundle_dir, tmp_path):
    """The rollout classifies the villages white at --as-of: more after the 2G/3G sunsets."""
    runner = CliRunner()
    classified = {}
    for day in ("2022-12-31", "2030-01-01"):
        out = tmp_path / day
        res = runner.invoke(phusong, ["rollout", str(tiny_bundle_dir), "--model", "radius",
                                      "--budget", "5e9", "--target", "no-signal", "--as-of", day,
                                      "-o", str(out), "-q"])
        assert res.exit_code == 0, res.output
        classified[day] = len(pd.read_csv(out / "rollout_classes.csv", encoding="utf-8-sig"))
        assert classified[day] == _white(tiny_bundle_dir, day)
    assert classified["2030-01-01"] > classified["2022-12-31"]


def _white(folder: Path, day: str) -> int:
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.layers.bundle import read_bundle
    from phusong.layers.settings import DEFAULT

    b = read_bundle(folder)
    s = DEFAULT.replace(as_of=day)
    return int((village_status(b, compute_coverage(b, model="radius", settings=s),
                               settings=s)["status_any"] == "trang").sum())


def test_quiet_demo_prints_no_table(tmp_path):
    runner = CliRunner()
    loud = runner.invoke(phusong, ["demo", "--preset", "mini", "--scale", "0.5",
                                   "--generate-only", "-o", str(tmp_path / "l")])
    assert loud.exit_code == 0, loud.output
    assert "Chỉ tiêu" in loud.output and "DỮ LIỆU MẪU – SAMPLE DATA" in loud.output
    quiet = runner.invoke(phusong, ["-q", "demo", "--preset", "mini", "--scale", "0.5",
                                    "--generate-only", "-o", str(tmp_path / "q")])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.output.strip() == ""
