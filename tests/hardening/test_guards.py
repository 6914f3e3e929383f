"""Every command guards its inputs: the nine cases a new user hit, each with its outcome.

1. a DEM 40 km away, or covering 2 % of the villages: refused, naming the SRTM tiles;
2. a bundle without BTS: ``gaps`` refuses it (``validate`` warns);
3. a DEM in feet, undeclared −32768 voids through ``--dem``: the same elevations as metres /
   as the importer's, with a warning;
4. villages without geometry, with a repeated id, with population −5, with an empty optional
   centre: set aside with their reasons (or accepted), never a crash or a double count;
5. a read-only output folder, ``-o`` under a file, a locked output: one line, before computing
   (the locked file: the previous set kept);
6. ``validate`` twice: the summary both times, no empty rejects, nothing in the working folder;
7. outputs present without ``--overwrite``: refused before computing;
8. a large CSV: validated in chunks with the same outcome as in one piece;
9. a build failing half-way leaves nothing; no raw keys or ``overwrite=True`` in messages.

Expected figures are computed here independently of the guards (village centres inside the
DEM's bounds by shapely, tile names from the floor of lon/lat, elevations × 0.3048 by hand).
The machine runs tests as root, where ``chmod`` cannot make a folder read-only: permission
errors are injected with monkeypatch (``PermissionError`` from the file-system call itself).
"""

from __future__ import annotations

import errno
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.layers.bundle import read_bundle, write_bundle


def cli(*args: str):
    res = CliRunner().invoke(phusong, [*args, "-q"])
    assert "Traceback" not in res.output, res.output
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


def error_lines(res) -> list[str]:
    return [ln for ln in res.output.splitlines() if ln.startswith("phusong: error:")]


def copy_bundle(src: Path, dst: Path, edit=None) -> Path:
    shutil.copytree(src, dst)
    if edit is not None:
        b = read_bundle(dst)
        edit(b)
        write_bundle(b, dst, overwrite=True)
    return dst


def write_dem_like(src: Path, dst: Path, *, shift_m: float = 0.0, scale: float = 1.0,
                   window=None, nodata="keep", units: str | None = None, markers=None) -> Path:
    with rasterio.open(src) as ds:
        profile = ds.profile
        z = ds.read(1, window=window)
        t = ds.window_transform(window) if window is not None else ds.transform
    z = (z * scale).astype("float32")
    if markers is not None:
        z[markers] = -32768.0
    profile.update(transform=rasterio.Affine(t.a, t.b, t.c + shift_m, t.d, t.e, t.f),
                   width=z.shape[1], height=z.shape[0])
    if nodata != "keep":
        profile["nodata"] = nodata
    with rasterio.open(dst, "w", **profile) as out:
        out.write(z, 1)
        if units:
            out.units = (units,)
    return dst


def centres_lonlat(bundle) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Village centres as the data gives them: centre_lon/lat, else representative point."""
    v = bundle.layer("villages")
    rep = v.geometry.representative_point()
    lon = np.where(v["centre_lon"].notna(), v["centre_lon"], rep.x).astype(float)
    lat = np.where(v["centre_lat"].notna(), v["centre_lat"], rep.y).astype(float)
    return lon, lat, list(v["village_id"])


def inside_raster(path: Path, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    from pyproj import Transformer

    with rasterio.open(path) as ds:
        x, y = Transformer.from_crs(4326, ds.crs, always_xy=True).transform(lon, lat)
        b = ds.bounds
    return (x > b.left) & (x < b.right) & (y > b.bottom) & (y < b.top)


# -- 1. a DEM that does not cover the province -----------------------------------------------

def test_dem_40_km_away_is_refused_naming_the_tiles(tiny_bundle_dir, tmp_path):
    far = write_dem_like(tiny_bundle_dir / "dem.tif", tmp_path / "far.tif", shift_m=40_000)
    res = cli("coverage", str(tiny_bundle_dir), "--dem", str(far), "--model", "terrain",
              "-o", str(tmp_path / "out"))
    assert res.exit_code == 1
    [line] = error_lines(res)
    b = read_bundle(tiny_bundle_dir)
    lon, lat, _ = centres_lonlat(b)
    tiles = {f"N{math.floor(y):02d}E{math.floor(x):03d}" for x, y in zip(lon, lat, strict=True)}
    n = len(lon)
    assert f"0/{n} thôn bản" in line and "far.tif" in line
    assert all(t in line for t in tiles), (tiles, line)
    assert not (tmp_path / "out").exists()  # nothing written, not even the folder


def test_bundle_dem_covering_2_percent_is_refused_with_the_count(tiny_bundle_dir, tmp_path):
    from rasterio.windows import Window

    folder = copy_bundle(tiny_bundle_dir, tmp_path / "b")
    with rasterio.open(tiny_bundle_dir / "dem.tif") as ds:
        w, h = ds.width, ds.height
    small = write_dem_like(tiny_bundle_dir / "dem.tif", tmp_path / "small.tif",
                           window=Window(0, 0, w // 7, h // 7))
    shutil.copy(small, folder / "dem.tif")
    b = read_bundle(folder)
    lon, lat, _ = centres_lonlat(b)
    k = int(inside_raster(folder / "dem.tif", lon, lat).sum())
    assert k / len(lon) < 0.1  # the fixture: a corner holding a few villages at most
    res = cli("gaps", str(folder), "-o", str(tmp_path / "out"))
    assert res.exit_code == 1
    [line] = error_lines(res)
    assert f"{k}/{len(lon)} thôn bản" in line and "95%" in line


def test_dem_missing_one_village_warns_and_a_stricter_setting_refuses(tiny_bundle_dir,
                                                                       tmp_path, caplog):
    from rasterio.windows import Window

    from phusong.analysis.preflight import prepare_dem
    from phusong.gis.errors import DEMError
    from phusong.layers.settings import DEFAULT

    b = read_bundle(tiny_bundle_dir)
    lon, lat, ids = centres_lonlat(b)
    with rasterio.open(tiny_bundle_dir / "dem.tif") as ds:
        w, h = ds.width, ds.height
        # cut the DEM's west edge just east of the westmost village centre
        from pyproj import Transformer

        x, _ = Transformer.from_crs(4326, ds.crs, always_xy=True).transform(lon, lat)
        order = np.argsort(x)
        cut_x = (x[order[0]] + x[order[1]]) / 2
        col = int((cut_x - ds.transform.c) / ds.transform.a)
    dem = write_dem_like(tiny_bundle_dir / "dem.tif", tmp_path / "west_cut.tif",
                         window=Window(col, 0, w - col, h))
    expected_missing = [ids[i] for i in np.flatnonzero(~inside_raster(dem, lon, lat))]
    assert expected_missing == [ids[order[0]]]
    caplog.set_level("WARNING")
    d = prepare_dem(b, dem, settings=DEFAULT)
    assert d is not None
    assert any(expected_missing[0] in r.getMessage() and f"{len(ids) - 1}/{len(ids)}"
               in r.getMessage() for r in caplog.records)
    with pytest.raises(DEMError, match=rf"{len(ids) - 1}/{len(ids)} thôn bản"):
        prepare_dem(b, dem, settings=DEFAULT.replace(min_raster_coverage=1.0))


# -- 2. a bundle without BTS -----------------------------------------------------------------

def test_bundle_without_bts_is_refused_by_gaps_and_flagged_by_validate(tiny_bundle_dir,
                                                                        tmp_path):
    folder = copy_bundle(tiny_bundle_dir, tmp_path / "b",
                         edit=lambda b: b.layers.pop("bts"))
    res = cli("gaps", str(folder), "-o", str(tmp_path / "out"))
    assert res.exit_code == 1
    [line] = error_lines(res)
    assert "trạm BTS (bts): không có lớp này" in line and "phusong gaps" in line
    assert not (tmp_path / "out").exists()
    res = cli("validate", str(folder), "--lang", "en")
    assert res.exit_code == 0
    assert "no bts layer (BTS stations): coverage, gaps" in res.output
    res = cli("validate", str(folder))
    assert "không có lớp bts (trạm BTS): coverage, gaps" in res.output


def test_bts_layer_with_every_row_rejected_is_refused(tiny_bundle_dir, tmp_path):
    def bad_ops(b):
        b.layers["bts"]["operator"] = "Gmobile"

    folder = copy_bundle(tiny_bundle_dir, tmp_path / "b", edit=bad_ops)
    n = len(read_bundle(folder).layer("bts"))
    res = cli("coverage", str(folder), "--model", "radius", "-o", str(tmp_path / "out"))
    assert res.exit_code == 1
    assert f"cả {n} dòng bị loại" in error_lines(res)[0]


# -- 3. feet and undeclared voids ------------------------------------------------------------

def test_dem_in_feet_reads_as_the_metre_dem(tiny_bundle_dir, tmp_path, caplog):
    from phusong.gis.dem import read_dem

    b = read_bundle(tiny_bundle_dir)
    metres = read_dem(tiny_bundle_dir / "dem.tif", crs=b.metric_crs)
    caplog.set_level("WARNING")
    for name, units in (("undeclared", None), ("declared", "ft")):
        feet = write_dem_like(tiny_bundle_dir / "dem.tif", tmp_path / f"{name}.tif",
                              scale=1 / 0.3048, units=units)
        with rasterio.open(feet) as ds:  # the file really holds feet
            assert ds.read(1).max() == pytest.approx(metres.elevation_m.max() / 0.3048, rel=1e-6)
        d = read_dem(feet, crs=b.metric_crs)
        np.testing.assert_allclose(d.elevation_m, metres.elevation_m, rtol=0, atol=1e-3)
        assert d.check.units == "ft"
        assert d.check.how == ("declared" if units else "range")
    assert sum("read as feet" in r.getMessage() for r in caplog.records) == 2


def test_undeclared_void_markers_through_dem_equal_the_importers(tiny_bundle_dir, tmp_path):
    """``--dem raw.tif`` with −32768 voids and no nodata tag gives, at every village centre
    and site, the elevation the DEM importer gives for the same file."""
    from rasterio.warp import transform_bounds

    from phusong.gis.dem import read_dem
    from phusong.gis.dem_tiles import import_dem

    b = read_bundle(tiny_bundle_dir)
    with rasterio.open(tiny_bundle_dir / "dem.tif") as ds:
        shape, bounds, crs = (ds.height, ds.width), ds.bounds, ds.crs
    rng = np.random.default_rng(7)
    raw = write_dem_like(tiny_bundle_dir / "dem.tif", tmp_path / "raw.tif", nodata=None,
                         markers=rng.random(shape) < 0.05)
    direct = read_dem(raw, crs=b.metric_crs)
    assert direct.check.marker_voids == pytest.approx(0.05 * shape[0] * shape[1], rel=0.05)
    assert np.isfinite(direct.elevation_m).all()  # small voids filled
    area = transform_bounds(crs, "EPSG:4326", *bounds)
    import_dem(raw, tmp_path / "imported.tif", area_lonlat=area, halo_m=0,
               dst_crs=b.metric_crs, res_m=30, overwrite=True)
    imported = read_dem(tmp_path / "imported.tif", crs=b.metric_crs)
    lon, lat, _ = centres_lonlat(b)
    bts = b.layer("bts")
    from pyproj import Transformer

    t = Transformer.from_crs(4326, b.metric_crs, always_xy=True)
    x, y = t.transform(np.r_[lon, bts.geometry.x], np.r_[lat, bts.geometry.y])
    np.testing.assert_allclose(direct.sample(x, y), imported.sample(x, y), atol=1e-3)
    original = read_dem(tiny_bundle_dir / "dem.tif", crs=b.metric_crs)
    # and nowhere near the −32768 the unguarded path sampled
    assert np.nanmin(direct.sample(x, y)) > original.elevation_m.min() - 1


@pytest.mark.slow
def test_coverage_with_a_feet_dem_equals_the_metre_run(tiny_bundle_dir, tmp_path):
    feet = write_dem_like(tiny_bundle_dir / "dem.tif", tmp_path / "feet.tif", scale=1 / 0.3048)
    # the same heights in metres, to the bit: feet × 0.3048 in float32, as a reader must do
    # it (a metre DEM converted to feet and back would differ by float rounding, ~0.1 mm,
    # enough to move a village that sits exactly on a threshold)
    with rasterio.open(feet) as ds:
        profile, zf = ds.profile, ds.read(1)
    metres = tmp_path / "metres.tif"
    with rasterio.open(metres, "w", **profile) as out:
        out.write((zf * np.float32(0.3048)).astype("float32"), 1)
    common = ["--model", "terrain", "--no-rasters", "--as-of", "2026-06-30"]
    a = cli("coverage", str(tiny_bundle_dir), "--dem", str(metres), *common, "-o",
            str(tmp_path / "m"))
    f = cli("coverage", str(tiny_bundle_dir), "--dem", str(feet), *common, "-o",
            str(tmp_path / "f"))
    assert a.exit_code == 0 and f.exit_code == 0, f.output
    sa = pd.read_csv(tmp_path / "m" / "village_status.csv", encoding="utf-8-sig")
    sf = pd.read_csv(tmp_path / "f" / "village_status.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(sa, sf)


# -- 4. rows the analyses used to trust ------------------------------------------------------

def _spoil_villages(b):
    v = b.layers["villages"]
    dup = v.iloc[[5]].copy()
    v.loc[v.index[2], "geometry"] = None
    v.loc[v.index[7], "population"] = -5
    v.loc[v.index[9], "centre_lon"] = np.nan  # optional: both halves empty is allowed
    v.loc[v.index[9], "centre_lat"] = np.nan
    b.layers["villages"] = pd.concat([v, dup], ignore_index=True)


def test_spoiled_villages_are_set_aside_with_reasons_by_gaps(tiny_bundle_dir, tmp_path):
    folder = copy_bundle(tiny_bundle_dir, tmp_path / "b", edit=_spoil_villages)
    raw = read_bundle(folder).layer("villages")
    ids = list(raw["village_id"])
    out = tmp_path / "out"
    res = cli("gaps", str(folder), "--model", "radius", "-o", str(out))
    assert res.exit_code == 0, res.output
    rejects = pd.read_csv(out / "rejects" / "rejects_villages.csv", encoding="utf-8-sig")
    assert sorted(rejects["source_row"]) == [3, 8, len(raw)]  # GeoPackage rows count from 1
    text = " | ".join(rejects["reject_reason"])
    assert "no geometry" in text and "-5 is below the minimum 0" in text
    assert f"duplicate village_id '{ids[5]}'" in text
    assert len(rejects) == 3  # and the other 38 rows of 41 went on (rows in = 38 + 3)
    gaps = pd.read_csv(out / "gaps_viettel.csv", encoding="utf-8-sig")
    listed = list(gaps["Mã thôn"])
    assert ids[7] not in listed and ids[2] not in listed  # set aside
    assert len(listed) == len(set(listed))
    assert set(rejects.columns) >= {"source_row", "reject_field", "reject_reason"}


def test_spoiled_villages_are_counted_once_by_coverage(tiny_bundle_dir, tmp_path):
    folder = copy_bundle(tiny_bundle_dir, tmp_path / "b", edit=_spoil_villages)
    raw = read_bundle(folder).layer("villages")
    out = tmp_path / "out"
    res = cli("coverage", str(folder), "--model", "radius", "--no-rasters", "-o", str(out))
    assert res.exit_code == 0, res.output
    status = pd.read_csv(out / "village_status.csv", encoding="utf-8-sig")
    kept = set(raw["village_id"]) - {raw["village_id"].iloc[2], raw["village_id"].iloc[7]}
    assert set(status["village_id"]) == kept and len(status) == len(kept)
    assert raw["village_id"].iloc[9] in set(status["village_id"])  # empty centre accepted
    # the ratio line counts the kept villages once: n/len(kept)
    assert f"/{len(kept)} thôn bản có sóng" in res.output


# -- 5. output folder problems: one line, before computing ------------------------------------

@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if any coverage is computed."""
    import phusong.analysis.coverage.engine as engine

    def boom(*a, **k):
        raise AssertionError("computed before the output check")

    monkeypatch.setattr(engine, "compute_coverage", boom)
    import phusong.analysis.coverage.run as run

    monkeypatch.setattr(run, "run_coverage", boom)


def test_out_under_a_regular_file_is_one_line_before_computing(tiny_bundle_dir, tmp_path,
                                                                no_compute):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    res = cli("coverage", str(tiny_bundle_dir), "-o", str(tmp_path / "notes.txt" / "out"))
    assert res.exit_code == 1
    [line] = error_lines(res)
    assert f"{tmp_path / 'notes.txt'}: là một tệp, không phải thư mục" in line


def test_read_only_out_folder_is_one_line_before_computing(tiny_bundle_dir, tmp_path,
                                                            monkeypatch, no_compute):
    import tempfile

    ro = tmp_path / "ro"
    ro.mkdir()
    real = tempfile.mkstemp

    def mkstemp(*a, dir=None, **k):  # what a read-only folder answers to a non-root user
        if Path(dir) == ro:
            raise PermissionError(errno.EACCES, "Permission denied", str(ro))
        return real(*a, dir=dir, **k)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    res = cli("gaps", str(tiny_bundle_dir), "-o", str(ro))
    assert res.exit_code == 1
    [line] = error_lines(res)
    assert f"{ro}: không ghi được vào thư mục này (Permission denied)" in line


def test_locked_output_keeps_the_previous_file_and_says_which(tiny_bundle_dir, tmp_path,
                                                              monkeypatch):
    import os

    import phusong.gis.atomic as atomic

    out = tmp_path / "out"
    out.mkdir()
    (out / "map.html").write_text("<html>old</html>", encoding="utf-8")
    real = os.replace

    def replace(src, dst):  # the target is open in another program (Windows sharing lock)
        if out / "map.html" in (Path(src), Path(dst)):
            raise PermissionError(errno.EACCES, "Permission denied", str(out / "map.html"))
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    res = cli("map", str(tiny_bundle_dir), "--model", "radius", "--overwrite", "-o", str(out))
    assert res.exit_code == 1
    [line] = error_lines(res)
    assert f"{out / 'map.html'}: cannot be replaced (Permission denied)" in line
    assert (out / "map.html").read_text(encoding="utf-8") == "<html>old</html>"
    assert sorted(p.name for p in out.iterdir()) == ["map.html"]  # no staging left


def test_os_errors_anywhere_are_one_line_naming_the_path(tiny_bundle_dir, tmp_path,
                                                         monkeypatch):
    import phusong.analysis.preflight as preflight

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.tif"))

    monkeypatch.setattr(preflight, "check_population", full)
    res = cli("coverage", str(tiny_bundle_dir), "--model", "radius", "-o", str(tmp_path / "o"))
    assert res.exit_code == 1
    assert error_lines(res) == [f"phusong: error: {tmp_path / 'x.tif'}: No space left on device"]


# -- 6. validate, twice, from elsewhere --------------------------------------------------------

def test_validate_twice_prints_the_summary_and_writes_beside_the_input(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    towers = data / "towers.csv"
    towers.write_text("tower_id,height_m,owner,power_source,lon,lat\n"
                      "T1,30,viettel,grid,103.1,22.3\nT1,40,VNPT,solar,103.2,22.4\n",
                      encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for _ in range(2):
        res = cli("validate", str(towers))
        assert res.exit_code == 2 and "số dòng" in res.output, res.output
        assert f"{data / 'towers_rejects'} (cạnh dữ liệu vào" in res.output
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in (data / "towers_rejects").iterdir()) == ["rejects_towers.csv"]
    towers.write_text("tower_id,height_m,owner,power_source,lon,lat\n"
                      "T1,30,viettel,grid,103.1,22.3\n", encoding="utf-8")
    res = cli("validate", str(towers))  # now clean: the stale rejects go, nothing is written
    assert res.exit_code == 0 and "số dòng" in res.output
    assert list((data / "towers_rejects").iterdir()) == []


def test_validate_bundle_writes_rejects_only_for_layers_with_rows(tiny_bundle_dir, tmp_path):
    folder = copy_bundle(tiny_bundle_dir, tmp_path / "b", edit=_spoil_villages)
    for _ in range(2):
        res = cli("validate", str(folder))
        assert res.exit_code == 2 and "số dòng" in res.output
    assert sorted(p.name for p in (folder / "rejects").iterdir()) == ["rejects_villages.csv"]


# -- 7. outputs present without --overwrite --------------------------------------------------

def test_existing_outputs_are_refused_before_computing(tiny_bundle_dir, tmp_path, no_compute):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sharing.xlsx").write_bytes(b"old")
    res = cli("analyse", str(tiny_bundle_dir), "-o", str(out))
    assert res.exit_code == 1
    [line] = error_lines(res)
    assert "sharing.xlsx" in line and "--overwrite" in line
    assert (out / "sharing.xlsx").read_bytes() == b"old"


# -- 8. a large CSV in chunks ----------------------------------------------------------------

def test_large_csv_streams_with_the_outcome_of_one_piece(tmp_path, monkeypatch):
    import phusong.layers.io as lio
    from phusong.gis.crs import PROVINCE_BOUNDS

    rng = np.random.default_rng(3)
    n = 25_000
    lines = ["tower_id,height_m,owner,power_source,lon,lat"]
    for i in range(n):
        tid = f"T{i:06d}" if i % 2_003 != 2_000 else f"T{i - 1_500:06d}"  # across chunks
        h = "ba mươi" if i % 997 == 3 else str(int(rng.integers(15, 60)))
        lines.append(f"{tid},{h},viettel,grid,{rng.uniform(102.5, 103.8):.5f},"
                     f"{rng.uniform(21.8, 22.7):.5f}")
    path = tmp_path / "towers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    box = PROVINCE_BOUNDS["lai-chau"]
    whole = lio.read_layer(path, "towers", bounds=box)
    monkeypatch.setattr(lio, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(lio, "STREAM_CHUNK_ROWS", 4_000)
    seen = []
    streamed = lio.validate_path(path, layer="towers", bounds=box,
                                 on_progress=lambda d, t: seen.append((d, t)))["towers"]
    bad_h = sum(1 for i in range(n) if i % 997 == 3)
    dups = sum(1 for i in range(n) if i % 2_003 == 2_000 and (i - 1_500) % 997 != 3)
    assert streamed.rejects_spool is not None and streamed.n_rejected == bad_h + dups
    assert (streamed.rows_in, streamed.n_accepted, streamed.n_rejected) == (
        whole.rows_in, whole.n_accepted, whole.n_rejected)
    assert streamed.rows_in == streamed.n_accepted + streamed.n_rejected == n
    from phusong.layers._rejects import rejects_csv_bytes

    assert streamed.rejects_spool.read_bytes() == rejects_csv_bytes(
        whole.rejected.sort_values("source_row"))
    assert len(seen) == math.ceil(n / 4_000) and seen[-1][0] == seen[-1][1] == path.stat().st_size


# -- 9. half-way builds and words ------------------------------------------------------------

def test_build_failing_half_way_leaves_nothing(tmp_path):
    from phusong.gis.errors import PhusongError
    from phusong.layers.importers.build import build_bundle

    fixtures = Path(__file__).resolve().parents[1] / "data" / "importers"
    broken = tmp_path / "cells.csv"
    broken.write_bytes(b"PK\x03\x04" + bytes(range(256)))  # a zip renamed to .csv
    out = tmp_path / "bundle"
    with pytest.raises(PhusongError):
        build_bundle(out, admin=fixtures / "official_old", province="Lai Chau",
                     osm=fixtures / "lai_chau.osm", opencellid=broken)
    assert not out.exists() or list(out.iterdir()) == []


def test_messages_use_words_not_keys(tiny_bundle_dir, tmp_path):
    from phusong.gis.atomic import check_writable
    from phusong.gis.errors import OutputExistsError

    (tmp_path / "f.csv").write_text("x", encoding="utf-8")
    with pytest.raises(OutputExistsError) as info:
        check_writable(tmp_path / "f.csv", overwrite=False)
    assert "overwrite=True" not in str(info.value) and "--overwrite" in str(info.value)
    res = cli("analyse", str(tiny_bundle_dir), "--model", "radius", "-o", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    for key in ("villages_within_fibre_access", "commune_centres_within_fibre_access",
                "communes_with_postal_point", "bdvhx_with_public_internet"):
        assert key not in res.output
    assert "Thôn bản trong tầm cáp quang" in res.output


# -- more guards: the cache, the numbers, the population raster, many provinces --------------

def test_bundle_validated_once_per_content(tiny_bundle_dir, tmp_path, monkeypatch):
    import phusong.layers.io as lio
    from phusong.layers.checks import bundle_digest, check_bundle, clear_cache

    folder = copy_bundle(tiny_bundle_dir, tmp_path / "b")
    clear_cache()
    calls = []
    real = lio.validate_path
    monkeypatch.setattr(lio, "validate_path", lambda *a, **k: calls.append(a) or real(*a, **k))
    first = check_bundle(folder)
    second = check_bundle(folder)
    assert len(calls) == 1 and not first.cached and second.cached
    assert first.digest == second.digest == bundle_digest(folder)
    import hashlib

    assert first.digest == hashlib.sha256((folder / "bundle.gpkg").read_bytes()).hexdigest()
    _spoil = copy_bundle(tiny_bundle_dir, tmp_path / "c", edit=_spoil_villages)
    shutil.copy(_spoil / "bundle.gpkg", folder / "bundle.gpkg")  # same path, new content
    third = check_bundle(folder)
    assert len(calls) == 2 and not third.cached and third.rejected_rows == 3


@pytest.mark.parametrize(("args", "words"), [
    (["--budget", "-5"], "--budget '-5': must be a finite number >= 0"),
    (["--budget", "nan"], "--budget 'nan': must be a finite number >= 0"),
    (["--time-limit", "0"], "--time-limit '0': must be a finite number > 0"),
])
def test_rollout_numbers_are_refused_before_computing(tiny_bundle_dir, tmp_path, no_compute,
                                                      args, words):
    res = cli("rollout", str(tiny_bundle_dir), *args, "-o", str(tmp_path / "o"))
    assert res.exit_code == 1
    [line] = error_lines(res)
    assert words in line


def test_population_raster_missing_most_villages_is_refused(tiny_bundle_dir, tmp_path,
                                                            no_compute):
    from rasterio.windows import Window

    folder = copy_bundle(tiny_bundle_dir, tmp_path / "b")
    with rasterio.open(tiny_bundle_dir / "population.tif") as ds:
        w, h = ds.width, ds.height
    write_dem_like(tiny_bundle_dir / "population.tif", folder / "population.tif",
                   window=Window(0, 0, max(1, w // 6), max(1, h // 6)))
    b = read_bundle(folder)
    lon, lat, _ = centres_lonlat(b)
    k = int(inside_raster(folder / "population.tif", lon, lat).sum())
    res = cli("coverage", str(folder), "--model", "radius", "-o", str(tmp_path / "o"))
    assert res.exit_code == 1
    [line] = error_lines(res)
    assert "population.tif" in line and f"{k}/{len(lon)} thôn bản" in line


def test_run_refuses_a_bundle_without_bts_before_starting_the_cluster(tiny_bundle_dir,
                                                                       tmp_path, monkeypatch):
    import phusong.analysis.coverage.tiled as tiled

    def no_cluster(*a, **k):
        raise AssertionError("cluster started before the inputs were checked")

    monkeypatch.setattr(tiled, "open_client", no_cluster)
    folder = copy_bundle(tiny_bundle_dir, tmp_path / "b", edit=lambda b: b.layers.pop("bts"))
    res = cli("run", str(folder), "-o", str(tmp_path / "o"))
    assert res.exit_code == 1
    assert "trạm BTS (bts): không có lớp này" in error_lines(res)[0]
