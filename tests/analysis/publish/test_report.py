"""The indicator report (toy province: conftest.py; reported figures: seeds/reported.csv)."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from phusong.analysis.publish.report import (
    REPORT_LABELS,
    build_report,
    write_report_html,
    write_report_xlsx,
)
from phusong.analysis.tables.fibre import fibre_lengths
from phusong.gis.errors import OutputExistsError
from phusong.layers.settings import DEFAULT


@pytest.fixture(scope="module")
def bundle(toys):
    return toys.toy_bundle()


@pytest.fixture(scope="module")
def status(toys, bundle):
    return toys.toy_status(bundle)


@pytest.fixture(scope="module")
def report(toys, bundle, status):
    return build_report(bundle, **toys.report_inputs(bundle), status=status)


def test_tables_per_level_and_comparison(report):
    assert list(report.tables) == ["summary", "model_vs_reported", "province", "district",
                                   "commune"]
    assert len(report.tables["province"]) == 1
    assert set(report.tables["district"]["code"]) == {"105", "106"}
    assert set(report.tables["commune"]["code"]) == {"10501", "10502", "10601"}
    assert set(report.charts) >= {"operators", "status"}
    assert all(png.startswith(b"\x89PNG") for png in report.charts.values())


def test_counts_follow_the_status_table(report, status):
    prov = report.tables["province"].iloc[0]
    n = len(status)
    signal = int((status["status_any"] != "trang").sum())
    assert prov["villages_total"] == n
    assert prov["with_signal_text"] == f"{signal}/{n}"
    assert prov["villages_trang"] == int((status["status_any"] == "trang").sum())
    assert prov["villages_lom"] == int((status["status_any"] == "lom").sum())
    viettel = (status["status_viettel"] != "trang").mean() * 100
    assert prov["ratio_viettel_pct"] == pytest.approx(viettel, abs=0.05)
    assert prov["towers"] == 3 and prov["bts"] == 4 and prov["postal_points"] == 2


def test_lower_levels_add_up_to_the_province(report):
    prov = report.tables["province"].iloc[0]
    for level in ("district", "commune"):
        t = report.tables[level]
        for col in ("villages_total", "villages_with_signal", "villages_trang", "villages_lom",
                    "villages_internet", "population"):
            assert t[col].sum() == prov[col], (level, col)
        assert t["fibre_km"].sum() == pytest.approx(prov["fibre_km"], abs=0.05 * len(t) + 0.05)


def test_fibre_km_and_undergrounding_match_the_fibre_analysis(bundle, report):
    fl = fibre_lengths(bundle)
    total = fl[(fl["operator"] == "all") & (fl["kind"] == "all")].iloc[0]
    prov = report.tables["province"].iloc[0]
    assert prov["fibre_km"] == pytest.approx(total["length_km"], abs=0.05)
    assert prov["underground_pct"] == pytest.approx(100 * total["underground_ratio"], abs=0.05)


def test_service_radius_is_the_official_formula(report):
    prov = report.tables["province"].iloc[0]
    r = (prov["area_km2"] / (3.141592653589793 * prov["towers"])) ** 0.5
    assert prov["tower_radius_km"] == pytest.approx(r, abs=0.01)
    assert prov["people_per_tower"] == pytest.approx(prov["population"] / prov["towers"], abs=1)


def test_model_beside_reported_for_lai_chau(report):
    cmp = report.tables["model_vs_reported"].set_index("key")
    assert cmp.loc["villages_with_signal", "reported"] == 941
    assert cmp.loc["villages_total", "reported"] == 948
    assert cmp.loc["coverage_ratio_viettel", "reported"] == pytest.approx(98.0)
    assert cmp.loc["underground_ratio", "reported"] == pytest.approx(10.2)
    row = cmp.loc["villages_with_signal"]
    assert row["difference"] == row["model"] - row["reported"]
    assert "941/948" in row["quote"]


def test_no_comparison_without_reported_figures(toys, status):
    b = toys.toy_bundle(province="Tỉnh Không Có")
    rep = build_report(b, **toys.report_inputs(b), status=status)
    assert "model_vs_reported" not in rep.tables


def test_html_is_escaped_and_labelled_sample(toys, status, tmp_path):
    b = toys.toy_bundle()
    admin = b.layers["admin_units"].copy()
    admin.loc[admin["code"] == "10501", "name"] = "<script>alert(1)</script>"
    b.layers["admin_units"] = admin
    path = write_report_html(build_report(b, **toys.report_inputs(b), status=status), tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "DỮ LIỆU MẪU – SAMPLE DATA" in text
    for term in ("Số thôn, bản", "Thôn, bản có sóng di động (x/N)", "Tỷ lệ phủ sóng Viettel",
                 "Thôn trắng sóng", "Thôn lõm sóng", "Số vị trí cột", "Số thiết bị trạm BTS",
                 "Bán kính phục vụ bình quân (km/cột)", "Số điểm phục vụ bưu chính",
                 "Tổng chiều dài cáp (km)", "Tỷ lệ ngầm hóa (%)", "Mô hình vs Báo cáo"):
        assert term in text, term
    # two indicator charts and the switch-off timeline of the province-form sections
    assert text.count("data:image/png;base64,") == 3
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_report_html(build_report(b, **toys.report_inputs(b), status=status), path)


def test_xlsx_has_one_sheet_per_table_with_vietnamese_headers(report, tmp_path):
    path = write_report_xlsx(report, tmp_path / "report.xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    assert {"Chỉ tiêu chính", "Mô hình vs Báo cáo", "Toàn tỉnh", "Theo huyện",
            "Theo xã"} <= set(wb.sheetnames)
    df = pd.read_excel(path, sheet_name="Theo xã")
    assert REPORT_LABELS["villages_total"][0] in df.columns
    assert REPORT_LABELS["tower_radius_km"][0] in df.columns
    assert len(df) == 3


def test_english_option(toys, bundle, status, tmp_path):
    rep = build_report(bundle, **toys.report_inputs(bundle), status=status, settings=DEFAULT.replace(language="en"))
    assert rep.captions["model_vs_reported"] == "Model vs reported"
    text = write_report_html(rep, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Villages with signal (x/N)" in text and "Số thôn, bản" not in text


def test_rollout_sites_and_curve(toys, bundle, status):
    import geopandas as gpd
    from shapely.geometry import Point

    class Plan:
        sites = gpd.GeoDataFrame({"rank": [1, 2], "site_id": ["C1", "C2"],
                                  "cost_vnd": [2e9, 3e9], "population_covered": [500, 300],
                                  "cumulative_cost_vnd": [2e9, 5e9],
                                  "cumulative_population": [500, 800]},
                                 geometry=[Point(103.1, 22.1), Point(103.2, 22.2)], crs=4326)
        curve = pd.DataFrame({"cumulative_cost_vnd": [0, 2e9, 5e9],
                              "cumulative_population": [0, 500, 800]})

    rep = build_report(bundle, **toys.report_inputs(bundle), status=status, rollout=Plan())
    assert list(rep.tables["rollout"]["cost_mvnd"]) == [2000, 3000]
    assert "rollout" in rep.charts


def test_reads_the_tables_it_is_given_and_computes_none(toys, bundle, status, report):
    """The report takes the run's service-radius and fibre-reach tables as they are."""
    inputs = toys.report_inputs(bundle)
    radius = inputs["service_radius"].copy()
    radius["radius_km"] = radius["radius_km"] * 2
    reach, villages = inputs["fibre_reach"]
    villages = villages.assign(within_reach=False)
    rep = build_report(bundle, status=status, service_radius=radius,
                       fibre_reach=(reach, villages))
    base = report.tables["province"].iloc[0]
    prov = rep.tables["province"].iloc[0]
    assert prov["tower_radius_km"] == pytest.approx(2 * base["tower_radius_km"], abs=0.011)
    assert base["villages_fibre"] > 0 and prov["villages_fibre"] == 0
    pd.testing.assert_series_equal(rep.tables["commune"]["villages_with_signal"],
                                   report.tables["commune"]["villages_with_signal"])


def test_rollout_target_rules_and_frontier(toys, bundle, status):
    """Issue 12: the report states the target, each village's class rule and the frontier."""
    import numpy as np

    from phusong.analysis.rollout.frontier import spend_frontier

    fr = spend_frontier(np.eye(2, dtype=bool), np.array([5.0, 3.0]), np.array([1e9, 2e9]),
                        np.array([5.0, 3.0]), budgets=[1e9, 3e9])

    class Plan:
        sites = None
        curve = None
        frontier = fr
        classes = pd.DataFrame({"village_id": ["a"], "name": ["Bản a"], "population": [5],
                                "rollout_class_label": ["Public-utility telecom fund"],
                                "class_rule_label": ["Grid power and extremely difficult "
                                                     "area → fund"]})
    Plan.report = {"rollout_target": "no-broadband", "as_of": "2026-01-01", "gap": 0.0,
                   "border_counts_as_difficult": False}
    rep = build_report(bundle, **toys.report_inputs(bundle), status=status, rollout=Plan(),
                       settings=DEFAULT.replace(language="en"))
    assert list(rep.tables["rollout_frontier"]["people_covered"]) == [5, 8]
    assert rep.tables["rollout_classes"]["class_rule_label"].iloc[0].startswith("Grid power")
    assert any("no mobile broadband" in n and "least cost" in n for n in rep.notes)


def test_phusong_report_command_writes_html_and_xlsx(toys, tmp_path):
    from click.testing import CliRunner

    from phusong.analysis.cli import phusong
    from phusong.layers.bundle import write_bundle

    folder = tmp_path / "toy"
    write_bundle(toys.toy_bundle(), folder)
    out = tmp_path / "out"
    result = CliRunner().invoke(phusong, ["report", str(folder), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "thôn bản có sóng" in result.output
    assert (out / "report.html").exists() and (out / "report.xlsx").exists()


def test_xlsx_cells_are_neutralised(toys, status, tmp_path):
    b = toys.toy_bundle()
    admin = b.layers["admin_units"].copy()
    admin.loc[admin["code"] == "10501", "name"] = "=HYPERLINK(\"http://x\")"
    b.layers["admin_units"] = admin
    path = write_report_xlsx(build_report(b, **toys.report_inputs(b), status=status), tmp_path / "r.xlsx")
    df = pd.read_excel(path, sheet_name="Theo xã", dtype=str)
    names = list(df[REPORT_LABELS["name"][0]])
    assert "'=HYPERLINK(\"http://x\")" in names


def test_two_level_province_has_no_district_table(toys, status):
    b = toys.toy_bundle()
    admin = b.layers["admin_units"]
    admin = admin[admin["level"] != "district"].copy()
    admin.loc[admin["level"] == "commune", "parent_code"] = "12"
    b.layers["admin_units"] = admin
    rep = build_report(b, **toys.report_inputs(b), status=status)
    assert "district" not in rep.tables and len(rep.tables["commune"]) == 3
