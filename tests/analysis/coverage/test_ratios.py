"""Coverage ratios per province, district and commune, and the report's sentences."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from phusong.analysis.coverage.ratios import (
    coverage_lines,
    coverage_ratios,
    format_percent,
    format_ratio,
)
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import DEFAULT

OPS = ("viettel", "vinaphone", "mobifone", "vietnamobile")


def _bundle() -> ProvinceBundle:
    g = box(103.0, 22.0, 103.1, 22.1)
    admin = gpd.GeoDataFrame(
        {"code": ["12", "105", "106", "03001", "03002", "03101"],
         "name": ["Lai Châu", "Phong Thổ", "Sìn Hồ", "Xã Mù Sang", "Xã Vàng Ma Chải",
                  "Xã Pa Tần"],
         "level": ["province", "district", "district", "commune", "commune", "commune"],
         "parent_code": [None, "12", "12", "105", "105", "106"]},
        geometry=[g] * 6, crs="EPSG:4326")
    return ProvinceBundle(layers={"admin_units": admin}, meta={"province": "Lai Châu"})


def _status() -> pd.DataFrame:
    rows = [  # commune, population, viettel, vinaphone, any 4G, internet
        ("03001", 100, "phu", "phu", "phu", True),
        ("03001", 200, "lom", "trang", "trang", False),
        ("03002", 300, "phu", "trang", "phu", True),
        ("03101", 400, "trang", "trang", "trang", False),
    ]
    df = pd.DataFrame(index=pd.Index(["v1", "v2", "v3", "v4"], name="village_id"))
    df["commune_code"] = [r[0] for r in rows]
    df["population"] = [r[1] for r in rows]
    df["status_viettel"] = [r[2] for r in rows]
    df["status_vinaphone"] = [r[3] for r in rows]
    df["status_mobifone"] = "trang"
    df["status_vietnamobile"] = "trang"
    df["status_any"] = [max(r[2], r[3], key=["trang", "lom", "phu"].index) for r in rows]
    for t in ("2G", "3G", "5G"):
        df[f"status_any_{t}"] = "trang"
    df["status_any_4G"] = [r[4] for r in rows]
    df["has_internet"] = [r[5] for r in rows]
    return df


def test_province_row_by_hand():
    r = coverage_ratios(_bundle(), _status(), level="province")
    assert list(r.index) == ["12"]
    row = r.loc["12"]
    assert row["name"] == "Lai Châu"
    assert row["villages_total"] == 4
    assert row["villages_with_signal"] == 3  # lõm counts as "có sóng"
    assert row["villages_trang"] == 1 and row["villages_lom"] == 1 and row["villages_phu"] == 2
    assert row["covered_viettel"] == 3
    assert row["ratio_viettel"] == pytest.approx(0.75)
    assert row["ratio_pop_viettel"] == pytest.approx(600 / 1000)
    assert row["covered_vinaphone"] == 1
    assert row["ratio_pop_signal"] == pytest.approx(0.6)
    assert row["villages_4g"] == 2
    assert row["villages_internet"] == 2
    assert row["ratio_internet"] == pytest.approx(0.5)


def test_district_and_commune_levels():
    d = coverage_ratios(_bundle(), _status(), level="district")
    assert list(d.index) == ["105", "106"]
    assert d.loc["105", "name"] == "Phong Thổ"
    assert d.loc["105", "villages_total"] == 3
    assert d.loc["105", "villages_with_signal"] == 3
    assert d.loc["106", "ratio_signal"] == 0.0
    c = coverage_ratios(_bundle(), _status(), level="commune")
    assert c.loc["03001", "villages_total"] == 2
    assert c.loc["03001", "covered_vinaphone"] == 1
    assert c["villages_total"].sum() == 4
    with pytest.raises(ValueError, match="level"):
        coverage_ratios(_bundle(), _status(), level="hamlet")


def test_report_form():
    assert format_ratio(941, 948) == "941/948"
    assert format_percent(0.9826) == "98%"
    assert format_percent(0.9826, digits=1) == "98,3%"
    assert format_percent(0.9826, digits=1, language="en") == "98.3%"
    r = coverage_ratios(_bundle(), _status(), level="province")
    vi = coverage_lines(r)
    assert vi[0] == "3/4 thôn bản có sóng"
    assert "Tỷ lệ phủ sóng Viettel: 75%" in vi
    assert "Tỷ lệ phủ sóng Vinaphone: 25%" in vi
    assert "2/4 thôn bản có internet" in vi
    en = coverage_lines(r, settings=DEFAULT.replace(language="en"))
    assert en[0] == "3/4 villages with signal"
    assert "Viettel coverage: 75%" in en
    assert coverage_lines(r.iloc[:0]) == []
