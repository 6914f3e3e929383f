"""Gap lists on a hand-built province with known answers (layout: conftest.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phusong.analysis.tables.gaps import (
    GAP_COLUMNS,
    gap_list,
    priority_score,
    share_candidates,
    write_gap_lists,
)
from phusong.gis.errors import SchemaError
from phusong.layers.settings import DEFAULT

AFTER_2G = DEFAULT.replace(as_of="2027-01-01")  # only 3G/4G/5G count
VIETTEL = {"V1": "phu", "V2": "phu", "V5": "lom"}


@pytest.fixture(scope="module")
def bundle(toys):
    return toys.make_bundle()


@pytest.fixture(scope="module")
def viettel_gaps(toys, bundle):
    status = toys.make_status(bundle, {"viettel": VIETTEL})
    return gap_list(bundle, status, "viettel", settings=AFTER_2G, matrix_fn=toys.radius_matrix)


def test_gap_list_rows_and_order(viettel_gaps):
    g = viettel_gaps
    assert list(g.columns[:-1]) == list(GAP_COLUMNS)
    assert set(g["village_id"]) == {"V3", "V4", "V5", "V6"}
    # sorted by priority (desc) then id
    assert list(g["priority_score"]) == sorted(g["priority_score"], reverse=True)
    assert list(g["village_id"]) == ["V4", "V6", "V3", "V5"]
    assert g.crs.to_epsg() == 4326


def test_gap_list_known_values(toys, viettel_gaps):
    g = viettel_gaps.set_index("village_id")
    # nearest own site: T1 at the origin
    assert (g["nearest_own_site_id"] == "T1").all()
    assert g.loc["V3", "nearest_own_site_km"] == pytest.approx(10.0)
    assert g.loc["V6", "nearest_own_site_km"] == pytest.approx(math.hypot(30, 8), abs=1e-3)
    # sharing with Viettel's own 4G parameters (4 km): T2 covers V3, T3 covers V4
    assert g.loc["V3", "share_tower_id"] == "T2"
    assert g.loc["V3", "share_tower_owner"] == "vinaphone"
    assert g.loc["V3", "share_tower_km"] == pytest.approx(0.5)
    assert g.loc["V4", "share_tower_id"] == "T3"
    assert pd.isna(g.loc["V5", "share_tower_id"])
    # actions
    assert g.loc["V3", "action"] == "share"  # no grid, but the tower has power
    assert g.loc["V3", "action_text"] == "Dùng chung cột T2 (Vinaphone)"
    assert g.loc["V5", "action"] == "new_site"
    assert g.loc["V6", "action"] == "wait_grid"
    assert g.loc["V6", "action_text"] == "Chờ điện lưới"
    # fibre: along y=0 from x=0 to 10 km
    assert g.loc["V4", "nearest_fibre_km"] == pytest.approx(10.0)
    assert g.loc["V3", "nearest_fibre_km"] == pytest.approx(0.0)
    # VN-2000: X is the northing, Y the easting (Vietnamese survey convention)
    assert g.loc["V6", "vn2000_x_north_m"] == pytest.approx(toys.Y0 + 8000, abs=0.5)
    assert g.loc["V6", "vn2000_y_east_m"] == pytest.approx(toys.X0 + 30000, abs=0.5)
    assert g.loc["V3", "commune_name"] == "Xã Hai"
    assert g.loc["V3", "district_name"] == "Huyện Một"
    assert g.loc["V5", "status"] == "lom"
    assert g.loc["V6", "border_area"] and g.loc["V6", "extremely_difficult"]


def test_priority_score_formula(viettel_gaps):
    g = viettel_gaps.set_index("village_id")
    norm = 1.5 * 1.3
    p3 = math.log1p(1000) / math.log1p(2000)
    assert g.loc["V3", "priority_score"] == pytest.approx(round(100 * p3 * 0.5 / norm, 1))
    p6 = math.log1p(120) / math.log1p(2000)
    assert g.loc["V6", "priority_score"] == pytest.approx(round(100 * p6 * 0.5, 1))
    big = priority_score([10_000], border=[True], difficult=[True], status=["trang"],
                         grid=[True])
    assert big[0] == 100.0
    assert priority_score([0], border=[False], difficult=[False], status=["trang"],
                          grid=[True])[0] == 0.0


def test_share_candidates_computed_once_for_all_towers(toys, bundle):
    calls = []

    def counting(sites, villages, **kw):
        calls.append((len(sites), len(villages)))
        return toys.radius_matrix(sites, villages, **kw)

    status = toys.make_status(bundle, {"viettel": VIETTEL})
    cand = share_candidates(bundle, status, "viettel", settings=DEFAULT.replace(
        as_of="2025-01-01"), matrix_fn=counting)
    # one call: 2 candidate towers (T1 carries Viettel) × 2 techs (2G, 4G), 4 gap villages
    assert calls == [(4, 4)]
    assert cand.techs == ("2G", "4G")
    assert list(cand.tower_ids) == ["T2", "T3"]


def test_real_site_village_matrix_radius_model(toys, bundle):
    status = toys.make_status(bundle, {"viettel": VIETTEL})
    g = gap_list(bundle, status, "viettel", settings=AFTER_2G, model="radius")
    g = g.set_index("village_id")
    assert g.loc["V3", "share_tower_id"] == "T2"
    assert g.loc["V4", "share_tower_id"] == "T3"
    assert pd.isna(g.loc["V6", "share_tower_id"])


def test_missing_status_column(toys, bundle):
    status = toys.make_status(bundle).drop(columns=["status_viettel"])
    with pytest.raises(SchemaError, match="status_viettel"):
        gap_list(bundle, status, "viettel", matrix_fn=toys.radius_matrix)


def test_bad_status_value(toys, bundle):
    status = toys.make_status(bundle)
    status.loc["V1", "status_viettel"] = "white"
    with pytest.raises(SchemaError, match="phu, lom or trang"):
        gap_list(bundle, status, "viettel", matrix_fn=toys.radius_matrix)


_STATUS = st.sampled_from(["phu", "lom", "trang"])


@given(st.lists(_STATUS, min_size=6, max_size=6), st.sampled_from(
    ["viettel", "vinaphone", "mobifone", "vietnamobile"]))
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
def test_gap_list_is_complement_of_covered(toys, bundle, values, op):
    ids = [v[0] for v in toys.VILLAGES]
    status = toys.make_status(bundle, {op: dict(zip(ids, values, strict=True))})
    g = gap_list(bundle, status, op, settings=AFTER_2G, matrix_fn=toys.radius_matrix)
    covered = {i for i, v in zip(ids, values, strict=True) if v == "phu"}
    gaps = set(g["village_id"])
    assert gaps.isdisjoint(covered)
    assert gaps | covered == set(ids)
    assert len(g) == len(gaps)  # no duplicates


EVIL = {"V3": '=HYPERLINK("http://x")', "V4": "<img src=x onerror=alert(1)>",
        "V5": "@SUM(A1)", "V6": "-1+2"}


def _write(toys, folder: Path) -> dict[str, Path]:
    b = toys.make_bundle(EVIL)
    status = toys.make_status(b, {"viettel": VIETTEL})
    lists = {"viettel": gap_list(b, status, "viettel", settings=AFTER_2G,
                                 matrix_fn=toys.radius_matrix)}
    return write_gap_lists(lists, folder, settings=AFTER_2G, sample=True, bundle=b)


def test_outputs_neutralised(toys, tmp_path):
    paths = _write(toys, tmp_path)
    ws = openpyxl.load_workbook(paths["gaps_viettel.xlsx"])["Viettel"]
    header = [c.value for c in ws[1]]
    col = header.index("Tên thôn, bản") + 1
    names = {ws.cell(r, col).value for r in range(2, ws.max_row + 1)}
    assert "'" + EVIL["V3"] in names
    assert EVIL["V4"] in names  # not a formula: shown as text, unchanged
    assert "'@SUM(A1)" in names and "'-1+2" in names
    for r in range(2, ws.max_row + 1):
        cell = ws.cell(r, col)
        assert cell.data_type == "s"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref.startswith("A1:")
    csv = pd.read_csv(paths["gaps_viettel.csv"], encoding="utf-8-sig")
    assert "'" + EVIL["V3"] in set(csv["Tên thôn, bản"])
    gj = json.loads(paths["gaps_viettel.geojson"].read_text(encoding="utf-8"))
    assert EVIL["V3"] in {f["properties"]["name"] for f in gj["features"]}


def test_outputs_byte_identical(toys, tmp_path):
    a = _write(toys, tmp_path / "a")
    b = _write(toys, tmp_path / "b")
    assert set(a) == {"gaps_viettel.xlsx", "gaps_viettel.csv", "gaps_viettel.geojson"}
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name


def test_english_headers_and_labels(toys, tmp_path, bundle):
    s = AFTER_2G.replace(language="en")
    status = toys.make_status(bundle, {"viettel": VIETTEL})
    g = gap_list(bundle, status, "viettel", settings=s, matrix_fn=toys.radius_matrix)
    assert "Share tower T2 (Vinaphone)" in set(g["action_text"])
    paths = write_gap_lists({"viettel": g}, tmp_path, settings=s, formats=("csv",))
    csv = pd.read_csv(paths["gaps_viettel.csv"], encoding="utf-8-sig")
    assert {"Village id", "Suggested action", "Coverage status"} <= set(csv.columns)
    assert set(csv["Coverage status"]) == {"No signal", "Dead spot"}


def test_run_analyses_writes_everything(toys, tmp_path, bundle):
    from phusong.analysis.analyses import run_analyses

    status = toys.make_status(bundle, {"viettel": VIETTEL})
    res = run_analyses(bundle, status, None, out=tmp_path, settings=AFTER_2G,
                       matrix_fn=toys.radius_matrix)
    names = {p.name for p in res.files.values()}
    expected = {f"gaps_{op}.{ext}" for op in ("viettel", "vinaphone", "mobifone",
                                               "vietnamobile") for ext in ("xlsx", "csv",
                                                                           "geojson")}
    expected |= {"gaps_all.xlsx"} | {f"{t}.{e}" for t in ("sharing", "sunset",
                                                          "service_radius", "fibre", "postal")
                                     for e in ("xlsx", "csv")}
    assert names == expected
    assert all(p.exists() for p in res.files.values())
    # the gap list carries the fibre extension along roads (V6: 20 km road + 8 km spur)
    g = res.gaps["viettel"].set_index("village_id")
    assert g.loc["V6", "fibre_extension_km"] == pytest.approx(28.0)
    wb = openpyxl.load_workbook(res.files["gaps_all.xlsx"])
    assert wb.sheetnames[:4] == ["Viettel", "Vinaphone", "MobiFone", "Vietnamobile"]
    assert np.isfinite(res.service_radius.official["radius_km"].iloc[0])


def test_cli_gaps(toys, tmp_path):
    from click.testing import CliRunner

    from phusong.analysis.cli import phusong
    from phusong.layers.bundle import write_bundle

    folder = tmp_path / "toy"
    write_bundle(toys.make_bundle(), folder)
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["gaps", str(folder), "--operator", "VNPT", "--as-of", "2027-01-01", "-o", str(out),
            "-q"]
    res = runner.invoke(phusong, args)
    assert res.exit_code == 0, res.output
    assert {p.name for p in out.iterdir()} == {"gaps_vinaphone.xlsx", "gaps_vinaphone.csv",
                                               "gaps_vinaphone.geojson"}
    assert "Vinaphone:" in res.output
    again = runner.invoke(phusong, args)
    assert again.exit_code == 1 and "overwrite" in again.output
    bad = runner.invoke(phusong, ["gaps", str(folder), "--operator", "foo", "-o", str(out)])
    assert bad.exit_code == 1 and "--operator 'foo'" in bad.output


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_table_column_has_a_header(toys, tmp_path, bundle, language):
    """No machine name leaks into a spreadsheet header, in either language."""
    from phusong.analysis.analyses import run_analyses

    s = AFTER_2G.replace(language=language)
    status = toys.make_status(bundle, {"viettel": VIETTEL})
    res = run_analyses(bundle, status, None, out=tmp_path, settings=s, operators=["viettel"],
                       matrix_fn=toys.radius_matrix)
    for name, path in res.files.items():
        if not name.endswith(".xlsx"):
            continue
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets[:-1]:  # the last sheet is "About"
            for cell in ws[1]:
                assert "_" not in str(cell.value), (name, ws.title, cell.value)


def test_tiny_sample_province_end_to_end(tiny_bundle):
    """Real coverage (radius model) and status on the generated mini province."""
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.tables.gaps import gap_lists

    s = DEFAULT.replace(as_of="2025-06-01")
    cov = compute_coverage(tiny_bundle, model="radius", settings=s)
    status = village_status(tiny_bundle, cov, settings=s)
    lists = gap_lists(tiny_bundle, status, settings=s, model="radius")
    bts = tiny_bundle.layer("bts")
    towers = tiny_bundle.layer("towers").set_index("tower_id")
    for op, g in lists.items():
        covered = set(status.index[status[f"status_{op}"] == "phu"].astype(str))
        assert set(g["village_id"]).isdisjoint(covered)
        assert set(g["village_id"]) | covered == set(status.index.astype(str))
        hosted = set(bts.loc[bts["operator"] == op, "tower_id"])
        shared = g["share_tower_id"].dropna()
        assert not set(shared) & hosted  # never "share" a tower the operator is already on
        assert (towers.loc[list(shared), "owner"] != op).all()
        assert g["priority_score"].between(0, 100).all()
        assert g["action"].isin(["share", "new_site", "wait_grid"]).all()


def test_full_coverage_gives_empty_but_valid_outputs(toys, tmp_path, bundle):
    status = toys.make_status(bundle, {"viettel": {v[0]: "phu" for v in toys.VILLAGES}})
    g = gap_list(bundle, status, "viettel", matrix_fn=toys.radius_matrix)
    assert len(g) == 0 and list(g.columns[:-1]) == list(GAP_COLUMNS)
    paths = write_gap_lists({"viettel": g}, tmp_path)
    assert json.loads(paths["gaps_viettel.geojson"].read_text())["features"] == []
    ws = openpyxl.load_workbook(paths["gaps_viettel.xlsx"])["Viettel"]
    assert ws.max_row == 1 and ws.freeze_panes == "A2"


def test_cli_analyse(toys, tmp_path):
    from click.testing import CliRunner

    from phusong.analysis.cli import phusong
    from phusong.layers.bundle import write_bundle

    folder = tmp_path / "toy"
    write_bundle(toys.make_bundle(), folder)
    out = tmp_path / "out"
    res = CliRunner().invoke(phusong, ["analyse", str(folder), "--as-of", "2027-01-01",
                                       "--postal-max-km", "5", "--lang", "en", "-o", str(out),
                                       "-q"])
    assert res.exit_code == 0, res.output
    assert len(list(out.glob("*.xlsx"))) == 4 + 1 + 5
    assert "Road distance limit (km): 5.0" in res.output
    assert "Service radius (tower)" in res.output


def test_run_analyses_on_a_bundle_with_villages_only(toys, tmp_path):
    from phusong.analysis.analyses import analyses_lines, run_analyses

    b = toys.make_bundle()
    for layer in ("towers", "bts", "fibre_routes", "post_offices", "roads", "admin_units"):
        del b.layers[layer]
    res = run_analyses(b, toys.make_status(b), None, out=tmp_path, settings=AFTER_2G,
                       matrix_fn=toys.radius_matrix)
    assert len(res.files) == 23
    g = res.gaps["viettel"]
    assert len(g) == 6 and (g["action"] != "share").all()
    assert g["nearest_own_site_id"].isna().all()
    assert any("0/6" in line for line in analyses_lines(res, settings=AFTER_2G))


def test_all_analysis_outputs_reproducible_and_neutralised(toys, tmp_path):
    """Every table of run_analyses: same bytes on a re-run, no live formula in any cell."""
    import csv

    from phusong.analysis.analyses import run_analyses

    def run(folder: Path) -> dict[str, Path]:
        b = toys.make_bundle(EVIL)
        po = b.layers["post_offices"]
        po.loc[0, "name"] = '=HYPERLINK("http://x")'
        status = toys.make_status(b, {"viettel": VIETTEL})
        return run_analyses(b, status, None, out=folder, settings=AFTER_2G,
                            operators=["viettel", "mobifone"],
                            matrix_fn=toys.radius_matrix).files

    a, b = run(tmp_path / "a"), run(tmp_path / "b")
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name
    dangerous = ("=", "+", "-", "\u2212", "@", "\t", "\r")
    for name, path in a.items():
        if name.endswith(".csv"):
            with open(path, encoding="utf-8-sig", newline="") as fh:
                for row in csv.reader(fh):
                    for cell in row:
                        is_number = cell.lstrip("-").replace(".", "", 1).isdigit()
                        assert is_number or not cell.startswith(dangerous), (name, cell)
        elif name.endswith(".xlsx"):
            for ws in openpyxl.load_workbook(path).worksheets:
                for row in ws.iter_rows():
                    for cell in row:
                        if isinstance(cell.value, str):
                            assert not cell.value.startswith(dangerous), (name, cell.value)
                            assert cell.data_type == "s"
