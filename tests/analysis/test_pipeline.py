"""The main job end to end: run_pipeline and ``phusong demo`` on the mini sample province."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.analysis.pipeline import run_pipeline
from phusong.layers.bundle import read_bundle

EXPECTED = ["village_status", "summary", "map", "report_html", "report_xlsx",
            "gaps_viettel.xlsx", "gaps_viettel.csv", "gaps_viettel.geojson", "rollout_xlsx"]


@pytest.fixture(scope="module")
def pipeline_run(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("pipeline") / "mini"
    shutil.copytree(tiny_bundle_dir, folder)
    bundle = read_bundle(folder)
    steps: list[str] = []
    result = run_pipeline(bundle, folder / "out", model="radius", on_step=steps.append)
    return result, steps


def test_every_step_runs_and_writes_its_outputs(pipeline_run) -> None:
    result, steps = pipeline_run
    assert steps == ["validate", "coverage", "status", "analyses", "rollout", "map_report"]
    for key in EXPECTED:
        assert key in result.files, key
        assert Path(result.files[key]).stat().st_size > 0, key
    assert set(result.timings_s) == set(steps)


def test_status_table_covers_every_village_once(pipeline_run) -> None:
    result, _ = pipeline_run
    villages = result.bundle.layer("villages")
    table = pd.read_csv(result.files["village_status"], encoding="utf-8-sig")
    assert len(table) == len(villages)
    assert table["village_id"].is_unique
    assert set(table["status_any"]) <= {"phu", "lom", "trang"}


def test_outputs_are_labelled_as_sample_data(pipeline_run) -> None:
    result, _ = pipeline_run
    assert "DỮ LIỆU MẪU" in Path(result.files["report_html"]).read_text(encoding="utf-8")
    assert "DỮ LIỆU MẪU" in Path(result.files["map"]).read_text(encoding="utf-8")
    wb = openpyxl.load_workbook(result.files["gaps_viettel.xlsx"], read_only=True)
    text = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                    for c in row if c is not None)
    assert "DỮ LIỆU MẪU" in text


def test_refuses_to_overwrite_without_the_flag(pipeline_run) -> None:
    result, _ = pipeline_run
    with pytest.raises(FileExistsError, match="overwrite"):
        run_pipeline(result.bundle, result.out, model="radius")


def test_phusong_demo_on_the_mini_preset(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(phusong, ["demo", "--preset", "mini", "--seed", "2", "--model",
                                  "radius", "--as-of", "2025-06-30", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    folder = tmp_path / "mini-sample"
    for name in ("bundle.gpkg", "dem.tif", "map.html", "report.html", "report.xlsx",
                 "village_status.csv", "rollout/rollout_sites.xlsx"):
        assert (folder / name).exists(), name
    assert "thôn bản có sóng" in res.output
    again = runner.invoke(phusong, ["demo", "--preset", "mini", "--seed", "2", "--out",
                                    str(tmp_path)])
    assert again.exit_code == 1
    assert "overwrite" in again.output and "Traceback" not in again.output
