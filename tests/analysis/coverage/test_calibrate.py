"""Calibration to measurements: reading, fitting a known truth, the file, --calibration."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from phusong.analysis.coverage import calibrate as C
from phusong.gis.errors import InputError, PhusongError

CORPUS = Path(__file__).resolve().parents[3] / "tests" / "corpus"
with open(CORPUS / "measurement_cases.csv", encoding="utf-8") as fh:
    CASES = list(csv.DictReader(fh))


# ------------------------------------------------------------------------------- reading

@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_measurement_corpus(case) -> None:
    path = CORPUS / "measurements" / case["file"]
    if case["expected"] == "error":
        with pytest.raises(PhusongError) as info:
            C.read_measurements(path)
        msg = str(info.value)
        assert "\n" not in msg and case["file"] in msg
        assert re.search(case["expected_message_regex"], msg), msg
        return
    m = C.read_measurements(path)
    assert m.rows_in == int(case["rows_in"])
    assert len(m.accepted) == int(case["accepted"])
    assert len(m.rejected) == int(case["rejected"])
    assert m.rows_in == len(m.accepted) + len(m.rejected)
    if case["expected"] == "rows_rejected":
        reasons = " | ".join(m.rejected["reject_reason"].astype(str))
        assert re.search(case["expected_message_regex"], reasons), reasons


def test_every_measurement_file_has_a_case() -> None:
    files = {p.name for p in (CORPUS / "measurements").iterdir()}
    assert files == {c["file"] for c in CASES}


def test_reading_app_and_opencellid_columns(tmp_path) -> None:
    m = C.read_measurements(CORPUS / "measurements" / "measurements_no_gps_fix.csv")
    # RxLev 40 → −70 dBm (RxLev − 110), 2G from "GSM", MobiFone
    assert set(m.accepted["level_dbm"]) == {-70.0}
    assert set(m.accepted["tech"]) == {"2G"} and set(m.accepted["operator"]) == {"mobifone"}
    oc = C.read_measurements(CORPUS / "measurements" / "measurements_opencellid_foreign_mcc.csv")
    assert set(oc.accepted["operator"]) == {"viettel"}  # MNC 04 under MCC 452
    assert set(oc.accepted["tech"]) == {"4G"}
    vi = C.read_measurements(CORPUS / "measurements" /
                             "measurements_semicolon_decimal_comma.csv")
    assert vi.accepted["level_dbm"].tolist() == [-97.0, -97.1, -97.2, -97.3]
    assert vi.accepted["lat"].between(21, 23).all()
    # the same rows as an Excel workbook
    xlsx = tmp_path / "drive.xlsx"
    pd.DataFrame({"Latitude": [22.1, 22.2], "Longitude": [103.2, 103.3],
                  "Network": ["Viettel", "VNPT"], "Radio": ["LTE", "UMTS"],
                  "RSRP": [-101, None], "RSCP": [None, -88]}).to_excel(xlsx, index=False)
    x = C.read_measurements(xlsx)
    assert x.accepted[["operator", "tech", "level_dbm"]].values.tolist() == [
        ["viettel", "4G", -101.0], ["vinaphone", "3G", -88.0]]


# ------------------------------------------------------------------------------- the fit

def test_fit_recovers_a_known_truth_within_1_db() -> None:
    """Residuals drawn from offset −6.5 dB, slope +7 dB/decade, clutter settled −4 / open +1
    (weighted mean 0 by construction), noise σ 6 dB, on 2 km × 2 km spatial clusters."""
    rng = np.random.default_rng(42)
    n = 3000
    x = rng.uniform(0, 20_000, n)
    y = rng.uniform(0, 20_000, n)
    log_d = np.log10(rng.uniform(0.2, 12.0, n))
    settled = rng.random(n) < 0.2
    cls = np.where(settled, "settled", "open")
    # class offsets relative to their weighted mean, as the fit reports them
    raw = np.where(settled, -4.0, 1.0)
    mean_raw = raw.mean()
    truth = -6.5 + 7.0 * log_d + raw + rng.normal(0, 6.0, n)
    g = C.fit_correction(truth, log_d, cls, x_m=x, y_m=y, folds=5, seed=1)
    assert g.offset_db == pytest.approx(-6.5 + mean_raw, abs=1.0)
    assert g.slope_db_per_decade == pytest.approx(7.0, abs=1.0)
    assert g.clutter_offsets_db["settled"] == pytest.approx(-4.0 - mean_raw, abs=1.0)
    assert g.clutter_offsets_db["open"] == pytest.approx(1.0 - mean_raw, abs=1.0)
    # before: model − measured = −residual; after (out-of-fold) the noise is what is left
    assert g.mean_error_before_db == pytest.approx(-truth.mean(), abs=1e-9)
    assert g.rmse_before_db == pytest.approx(np.sqrt((truth ** 2).mean()), abs=1e-9)
    assert abs(g.mean_error_after_db) < 0.5
    assert g.rmse_after_db == pytest.approx(6.0, abs=0.4)
    assert g.folds == 5


def test_fit_pools_rare_classes_and_drops_a_flat_slope() -> None:
    rng = np.random.default_rng(0)
    n = 400
    cls = np.array(["open"] * 390 + ["water"] * 10)
    g = C.fit_correction(3.0 + rng.normal(0, 1, n), np.zeros(n), cls, folds=4)
    assert set(g.clutter_offsets_db) == {"open", "other"}  # rare classes pooled
    assert g.slope_db_per_decade == 0.0
    assert g.offset_db == pytest.approx(3.0, abs=0.3)


# ------------------------------------------------------------------------------- end to end

def _synthetic_measurements(bundle, coverage, *, n, offset, slope, seed):
    """Measurements of Viettel 4G = predicted + offset + slope·log10(d) + N(0, 3 dB)."""
    from phusong.gis.crs import transformer

    arr = coverage.best_dbm[("viettel", "4G")]
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(np.isfinite(arr) & (arr > -125))
    pick = rng.choice(len(rows), n, replace=False)
    r, c = rows[pick], cols[pick]
    x, y = coverage.grid.transform * (c + 0.5, r + 0.5)
    x, y = np.asarray(x), np.asarray(y)
    # distance to the nearest Viettel 4G BTS, computed here independently
    bts = bundle.layer("bts")
    b = bts[(bts["operator"] == "viettel") & (bts["tech"] == "4G")].to_crs(coverage.grid.crs)
    bx, by = b.geometry.x.to_numpy(), b.geometry.y.to_numpy()
    d = np.sqrt((x[:, None] - bx[None]) ** 2 + (y[:, None] - by[None]) ** 2).min(axis=1)
    meas = arr[r, c] + offset + slope * np.log10(np.maximum(d, 30.0) / 1000.0) \
        + rng.normal(0, 3.0, n)
    lon, lat = transformer(coverage.grid.crs, "EPSG:4326").transform(x, y)
    return pd.DataFrame({"Timestamp": "2025-06-01T08:00:00", "Latitude": np.round(lat, 7),
                         "Longitude": np.round(lon, 7), "Operator": "Viettel",
                         "Technology": "LTE", "RSRP": np.round(meas, 1),
                         "Cell ID": 1234})


@pytest.fixture(scope="module")
def terrain_coverage(tiny_bundle):
    from phusong.analysis.coverage.engine import compute_coverage

    return compute_coverage(tiny_bundle, model="terrain")


def test_calibrate_recovers_offset_and_slope(tiny_bundle, terrain_coverage, tmp_path) -> None:
    df = _synthetic_measurements(tiny_bundle, terrain_coverage, n=900, offset=-8.0,
                                 slope=6.0, seed=7)
    df.loc[len(df)] = ["2025-06-01T08:00:00", 0.0, 0.0, "Viettel", "LTE", -90.0, 1]
    path = tmp_path / "drive.csv"
    df.to_csv(path, index=False)
    run = C.calibrate(tiny_bundle, path, coverage=terrain_coverage, folds=5)
    g = run.calibration.groups["4G"]
    assert g.offset_db == pytest.approx(-8.0, abs=1.0)
    assert g.slope_db_per_decade == pytest.approx(6.0, abs=1.0)
    assert all(abs(v) < 1.0 for v in g.clutter_offsets_db.values())
    assert g.rmse_after_db < g.rmse_before_db and g.rmse_after_db == pytest.approx(3.0, abs=0.5)
    assert run.rows_in == len(run.points) + len(run.rejected)
    assert "no GPS fix" in " ".join(run.rejected["reject_reason"])
    # the file round-trips
    f = run.calibration.write(tmp_path / "cal.json")
    back = C.read_calibration(f)
    assert back.groups["4G"] == g and back.model == "terrain"
    assert json.loads(f.read_text())["format"] == "phusong-calibration"


def test_applied_calibration_shifts_fields_and_reaches_the_report(
        tiny_bundle, terrain_coverage, tmp_path) -> None:
    import copy

    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.publish.report import build_report, write_report_html
    from phusong.analysis.tables.fibre import fibre_reach
    from phusong.analysis.tables.service_radius import service_radius_table

    cal = C.Calibration(model="terrain", province="x", clutter_source="none", groups={
        "4G": C.GroupFit(offset_db=-5.0, slope_db_per_decade=10.0, clutter_offsets_db={},
                         n=100, mean_error_before_db=4.0, rmse_before_db=9.0,
                         mean_error_after_db=0.1, rmse_after_db=5.5, folds=5)})
    cov = copy.deepcopy(terrain_coverage)
    C.apply_calibration(cov, tiny_bundle, cal)
    before = terrain_coverage.best_dbm[("viettel", "4G")]
    after = cov.best_dbm[("viettel", "4G")]
    ok = np.isfinite(before)
    rr, cc = np.nonzero(ok)
    x, y = cov.grid.transform * (cc + 0.5, rr + 0.5)
    bts = tiny_bundle.layer("bts")
    b = bts[(bts["operator"] == "viettel") & (bts["tech"] == "4G")].to_crs(cov.grid.crs)
    d = np.sqrt((np.asarray(x)[:, None] - b.geometry.x.to_numpy()[None]) ** 2
                + (np.asarray(y)[:, None] - b.geometry.y.to_numpy()[None]) ** 2).min(axis=1)
    expect = before[ok] - 5.0 + 10.0 * np.log10(np.maximum(d, 30.0) / 1000.0)
    np.testing.assert_allclose(after[ok], expect, atol=1e-3)
    # 2G untouched (no 2G group)
    np.testing.assert_array_equal(cov.best_dbm[("viettel", "2G")],
                                  terrain_coverage.best_dbm[("viettel", "2G")])
    status = village_status(tiny_bundle, cov)
    rep = build_report(tiny_bundle, status=status, coverage=cov,
                       service_radius=service_radius_table(tiny_bundle),
                       fibre_reach=fibre_reach(tiny_bundle))
    assert "calibration" in rep.tables
    assert rep.tables["calibration"][["rmse_before_db", "rmse_after_db"]].values.tolist() \
        == [[9.0, 5.5]]
    html = write_report_html(rep, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "RMSE trước (dB)" in html and ("5.5" in html or "5,5" in html)
    with pytest.raises(InputError, match="fitted for the 'terrain' model"):
        C.apply_calibration(copy.deepcopy(terrain_coverage).__class__(
            model="itm", grid=cov.grid, best_dbm={}, thresholds_dbm={}), tiny_bundle, cal)


@pytest.mark.slow
def test_cli_calibrate_then_coverage_with_calibration(tiny_bundle_dir, tiny_bundle,
                                                      terrain_coverage, tmp_path) -> None:
    from phusong.analysis.cli import phusong

    df = _synthetic_measurements(tiny_bundle, terrain_coverage, n=400, offset=4.0, slope=0.0,
                                 seed=3)
    meas = tmp_path / "m.csv"
    df.to_csv(meas, index=False)
    bundle = tmp_path / "b"
    shutil.copytree(tiny_bundle_dir, bundle)
    out = tmp_path / "cal"
    r = CliRunner().invoke(phusong, ["calibrate", str(bundle), "--measurements", str(meas),
                                     "--lang", "en", "-o", str(out), "-q"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "4G: n=400" in r.output and "RMSE" in r.output
    fit = pd.read_csv(out / "calibration_fit.csv", comment="#")
    assert fit.loc[0, "offset_db"] == pytest.approx(4.0, abs=1.0)
    r2 = CliRunner().invoke(phusong, ["coverage", str(bundle), "--calibration",
                                      str(out / "calibration.json"), "--no-rasters",
                                      "-o", str(tmp_path / "cov"), "-q"],
                            catch_exceptions=False)
    assert r2.exit_code == 0, r2.output
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    r3 = CliRunner().invoke(phusong, ["coverage", str(bundle), "--calibration", str(bad),
                                      "--no-rasters", "-o", str(tmp_path / "c2"), "-q"])
    assert r3.exit_code != 0 and "not a phusong calibration file" in r3.output
