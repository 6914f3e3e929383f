"""``phusong validate`` and ``phusong info``."""

from __future__ import annotations

import geopandas as gpd
import pytest
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.layers.bundle import ProvinceBundle, write_bundle


@pytest.fixture
def towers_csv(tmp_path):
    p = tmp_path / "towers.csv"
    p.write_text("tower_id,height_m,owner,power_source,lon,lat\n"
                 "T1,30,viettel,grid,103.1,22.3\nT2,40,VNPT,solar,103.2,22.4\n", encoding="utf-8")
    return p


def run(*args):
    return CliRunner().invoke(phusong, [*args, "-q"], catch_exceptions=False)


def test_validate_clean_file_exits_0(tmp_path, towers_csv):
    res = run("validate", str(towers_csv), "--out", str(tmp_path / "o"), "--lang", "en")
    assert res.exit_code == 0, res.output
    assert "towers" in res.output and "rows in" in res.output
    vi = run("validate", str(towers_csv), "--out", str(tmp_path / "o"))  # Vietnamese default
    assert "số dòng" in vi.output and "dùng được" in vi.output
    assert not (tmp_path / "o").exists()  # rejects files appear only when there are rows


def test_validate_rejected_rows_exit_2_and_rejects_file(tmp_path, towers_csv):
    towers_csv.write_text(towers_csv.read_text() + "T1,abc,Gmobile,grid,103.3,22.5\n",
                          encoding="utf-8")
    out = tmp_path / "o"
    res = run("validate", str(towers_csv), "--out", str(out), "--province", "lai-chau")
    assert res.exit_code == 2, res.output
    text = (out / "rejects_towers.csv").read_text(encoding="utf-8-sig")
    assert "duplicate tower_id 'T1'" in text and "unknown operator 'Gmobile'" in text
    assert "towers.csv:4:height_m" in res.output
    again = run("validate", str(towers_csv), "--out", str(out))  # its own rejects: replaced
    assert again.exit_code == 2 and "số dòng" in again.output, again.output
    assert (out / "rejects_towers.csv").read_text(encoding="utf-8-sig") == text
    assert sorted(p.name for p in out.iterdir()) == ["rejects_towers.csv"]


def test_validate_error_is_one_line(tmp_path):
    p = tmp_path / "towers.gpkg"
    p.write_bytes(b"")
    res = run("validate", str(p), "--out", str(tmp_path / "o"))
    assert res.exit_code == 1
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert lines == [f"phusong: error: {p}: empty file (0 bytes); re-export it"]
    assert "Traceback" not in res.output


def test_validate_needs_a_layer_for_odd_names(tmp_path, towers_csv):
    odd = towers_csv.rename(tmp_path / "data.csv")
    res = run("validate", str(odd), "--out", str(tmp_path / "o"))
    assert res.exit_code == 1 and "pass --layer" in res.output
    assert run("validate", str(odd), "--layer", "towers", "--out",
               str(tmp_path / "o")).exit_code == 0


def test_info_prints_counts_crs_and_sample_flag(tmp_path):
    towers = gpd.GeoDataFrame({"tower_id": ["T1"], "height_m": [30.0], "owner": ["viettel"],
                               "power_source": ["grid"]},
                              geometry=gpd.points_from_xy([103.1], [22.3]), crs=4326)
    write_bundle(ProvinceBundle(layers={"towers": towers},
                                meta={"province": "Lai Châu", "sample": "true"}), tmp_path / "b")
    res = run("info", str(tmp_path / "b"))
    assert res.exit_code == 0, res.output
    for text in ("towers 1", "EPSG:9205", "EPSG:4326", "sample", "yes", "Lai Châu"):
        assert text in res.output


def test_validate_bundle_with_dem(tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    towers = gpd.GeoDataFrame({"tower_id": ["T1", "T2"], "height_m": [30.0, 20.0],
                               "owner": ["viettel", "mobi"], "power_source": ["grid", "solar"]},
                              geometry=gpd.points_from_xy([103.1, 103.2], [22.3, 22.35]),
                              crs=4326)
    folder = tmp_path / "b"
    write_bundle(ProvinceBundle(layers={"towers": towers}, meta={"province": "Lai Châu"}), folder)
    z = np.full((30, 40), 500.0, dtype="float32")
    z[:3, :] = -9999.0
    with rasterio.open(folder / "dem.tif", "w", driver="GTiff", width=40, height=30, count=1,
                       dtype="float32", nodata=-9999.0, crs="EPSG:4326",
                       transform=from_origin(102.2, 22.9, 0.05, 0.05)) as ds:
        ds.write(z, 1)
    res = run("validate", str(folder), "--out", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    assert "DEM dem.tif (40×30)" in res.output
    assert "10.0% of the DEM cells are voids" in res.output
    (folder / "dem.tif").write_bytes(b"")
    res = run("validate", str(folder), "--out", str(tmp_path / "o"), "--overwrite")
    assert res.exit_code == 1 and "dem.tif: empty file (0 bytes)" in res.output
