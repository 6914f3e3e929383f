"""Tests of analysis.export: neutralisation, XLSX layout, CSV BOM, GeoJSON, determinism."""

from __future__ import annotations

import json
import time
import zipfile

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from phusong.analysis.export import (
    header_labels,
    neutralise_cell,
    neutralise_frame,
    write_table,
    write_tables,
)
from phusong.analysis.labels import SAMPLE_LABEL
from phusong.gis.errors import InputError, OutputExistsError

EVIL = [
    '=HYPERLINK("http://x")',
    "+1+2",
    "-2+3",
    "\u22121",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "<img src=x onerror=alert(1)>",
]


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "village_id": ["V1", "V2", "V3"],
            "name": ["Bản Nà Hì", EVIL[0], "Thôn =2"],
            "population": [120, 0, 3000],
            "centre_lon": [103.1, 103.2, np.nan],
            "has_grid_power": [True, False, True],
        }
    )


@pytest.mark.parametrize("text", EVIL[:7])
def test_neutralise_dangerous_prefixes(text):
    assert neutralise_cell(text) == "'" + text


def test_neutralise_leaves_other_values():
    assert neutralise_cell("Bản Mường") == "Bản Mường"
    assert neutralise_cell("<img src=x onerror=alert(1)>") == "<img src=x onerror=alert(1)>"
    assert neutralise_cell(-3.5) == -3.5
    assert neutralise_cell(-7) == -7
    assert neutralise_cell(None) is None
    assert neutralise_cell(True) is True


def test_neutralise_nfc():
    decomposed = "Ba\u0309n"  # "Bản" with a combining hook above
    assert neutralise_cell(decomposed) == "Bản"


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_neutralised_text_never_starts_dangerous(text):
    out = neutralise_cell(text)
    assert not out.startswith(("=", "+", "-", "\u2212", "@", "\t", "\r"))


def test_neutralise_frame_keeps_numbers_and_index():
    df = _table().set_index("village_id")
    out = neutralise_frame(df)
    assert list(out.index) == ["V1", "V2", "V3"]
    assert out["population"].dtype == df["population"].dtype
    assert out.loc["V2", "name"] == "'" + EVIL[0]


def test_headers_vi_en_raw_mapping():
    cols = ["village_id", "population", "unknown_col"]
    assert header_labels(cols, "vi") == ["Mã thôn", "Dân số", "unknown_col"]
    assert header_labels(cols, "en") == ["Village id", "Population", "unknown_col"]
    assert header_labels(cols, "raw") == cols
    assert header_labels(cols, {"population": "P"}) == ["village_id", "P", "unknown_col"]
    with pytest.raises(InputError, match="headers='fr'"):
        header_labels(cols, "fr")


def test_xlsx_layout(tmp_path):
    p = write_table(_table(), tmp_path / "t.xlsx", sample=True, title="Danh sách thôn")
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames == ["t", "Thông tin"]
    ws = wb["t"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:F4"
    header = [c.value for c in ws[1]]
    assert header == [
        "Mã thôn",
        "Tên thôn, bản",
        "Dân số",
        "Kinh độ",
        "Có điện lưới",
        "Dữ liệu mẫu",
    ]
    assert all(c.font.bold for c in ws[1])
    assert ws.column_dimensions["B"].width >= len(EVIL[0])
    assert ws["B3"].value == "'" + EVIL[0]
    assert ws["B3"].data_type == "s"
    assert ws["B4"].value == "'Thôn =2" or ws["B4"].value == "Thôn =2"
    assert ws["D4"].value is None  # NaN -> empty cell
    assert ws["E3"].value is False
    assert ws["F2"].value == SAMPLE_LABEL
    about = [[c.value for c in row] for row in wb["Thông tin"].iter_rows()]
    assert ["Dữ liệu", SAMPLE_LABEL] in about
    assert SAMPLE_LABEL in wb.properties.title
    back = pd.read_excel(p, sheet_name="t")
    assert list(back["Dân số"]) == [120, 0, 3000]


def test_xlsx_english_headers(tmp_path):
    p = write_table(_table(), tmp_path / "t.xlsx", headers="en")
    wb = openpyxl.load_workbook(p)
    assert [c.value for c in wb["t"][1]][:3] == ["Village id", "Village", "Population"]
    assert "About" in wb.sheetnames


def test_xlsx_bytes_identical(tmp_path):
    a = write_table(_table(), tmp_path / "a.xlsx", about={"note": "x"}, sheet_name="s")
    time.sleep(1.1)  # zip entries and core properties must not carry the clock
    b = write_table(_table(), tmp_path / "b.xlsx", about={"note": "x"}, sheet_name="s")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core


def test_csv_bom_and_neutralised(tmp_path):
    p = write_table(_table(), tmp_path / "t.csv", headers="en")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(p, encoding="utf-8-sig")
    assert list(back.columns)[:2] == ["Village id", "Village"]
    assert back.loc[1, "Village"] == "'" + EVIL[0]
    assert back.loc[0, "Village"] == "Bản Nà Hì"
    write_table(_table(), tmp_path / "u.csv", headers="en")
    assert (tmp_path / "u.csv").read_bytes() == raw


def test_refuses_overwrite(tmp_path):
    p = write_table(_table(), tmp_path / "t.csv")
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_table(_table(), p)
    write_table(_table(), p, overwrite=True)
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_table(_table(), tmp_path / "t.csv", fmt="csv")


def test_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match="suffix"):
        write_table(_table(), tmp_path / "t.txt")


def test_geojson_raw_values(tmp_path):
    df = _table()
    gdf = gpd.GeoDataFrame(
        df, geometry=[Point(103.1, 22.3), Point(103.2, 22.4), Point(103.3, 22.5)], crs="EPSG:4326"
    )
    p = write_table(gdf, tmp_path / "t.geojson", sample=True)
    data = json.loads(p.read_text(encoding="utf-8"))
    assert len(data["features"]) == 3
    props = data["features"][1]["properties"]
    assert props["name"] == EVIL[0]  # data, not a spreadsheet: raw
    assert props["sample_data"] == SAMPLE_LABEL
    assert props["has_grid_power"] is False
    # plain DataFrame + geometry=
    p2 = write_table(df, tmp_path / "u.geojson", geometry=gdf.geometry)
    assert json.loads(p2.read_text())["features"][0]["geometry"]["type"] == "Point"
    with pytest.raises(InputError, match="needs geometries"):
        write_table(df, tmp_path / "v.geojson")


def test_write_tables_sheet_names(tmp_path):
    p = write_tables(
        {"a/b": _table(), "A/B": _table().head(1), "x" * 40: _table()},
        tmp_path / "m.xlsx",
        headers="raw",
    )
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames[:3] == ["a_b", "A_B (2)", "x" * 31]
    assert wb["A_B (2)"].auto_filter.ref == "A1:E2"


def test_geojson_infinite_values_become_null(tmp_path):
    gdf = gpd.GeoDataFrame({"road_km": [1.5, np.inf, np.nan]},
                           geometry=[Point(103, 22)] * 3, crs="EPSG:4326")
    p = write_table(gdf, tmp_path / "inf.geojson")
    values = [f["properties"]["road_km"] for f in json.loads(p.read_text())["features"]]
    assert values == [1.5, None, None]


class _Evil:
    def __str__(self) -> str:
        return "=cmd|' /C calc'!A0"


def test_objects_are_neutralised_too(tmp_path):
    df = pd.DataFrame({"x": [_Evil(), ["=a"], 3]})
    p = write_table(df, tmp_path / "o.csv", headers="raw")
    text = p.read_text(encoding="utf-8-sig")
    assert "'=cmd|" in text
    q = write_table(df, tmp_path / "o.xlsx", headers="raw")
    ws = openpyxl.load_workbook(q).active
    assert ws["A2"].value.startswith("'=cmd")


def test_evil_header_neutralised(tmp_path):
    df = pd.DataFrame({"=1+1": [1]})
    p = write_table(df, tmp_path / "h.xlsx")
    assert openpyxl.load_workbook(p).active["A1"].value == "'=1+1"


def test_xlsx_control_characters_and_long_text(tmp_path):
    df = pd.DataFrame({"name": ["\x01=cmd()", "Bản\x0bMường", "x" * 40_000]})
    p = write_table(df, tmp_path / "c.xlsx", headers="raw")
    ws = openpyxl.load_workbook(p).active
    assert ws["A2"].value == "'=cmd()"  # the stripped control character uncovers no formula
    assert ws["A3"].value == "BảnMường"
    assert len(ws["A4"].value) == 32_767 and ws["A4"].value.endswith("…")
