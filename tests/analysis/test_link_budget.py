"""The link budget: per-reference-signal power, sectors, margins, uplink, defaults, bad rows."""

from __future__ import annotations

import math

import affine
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from phusong.analysis.coverage.engine import compute_coverage
from phusong.gis.crs import to_wgs84
from phusong.gis.dem import Dem
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.link_budget import defaults_line, link_budget
from phusong.layers.settings import DEFAULT, RADIO_DEFAULTS
from phusong.layers.validate import validate_layer

CRS = "EPSG:9205"
X0, Y0, RES = 480_000.0, 2_480_000.0, 30.0


def _xy(col: float, row: float, rows: int) -> tuple[float, float]:
    return X0 + (col + 0.5) * RES, Y0 + rows * RES - (row + 0.5) * RES


def _bundle(rows: pd.DataFrame, *, n: int, at: tuple[float, float]) -> ProvinceBundle:
    xy = _xy(*at, n)
    bts = gpd.GeoDataFrame(rows, geometry=[Point(*xy)] * len(rows), crs=CRS)
    outline = box(X0, Y0, X0 + n * RES, Y0 + n * RES)
    villages = gpd.GeoDataFrame(
        {"village_id": ["V"], "name": ["Bản"], "commune_code": ["C"], "population": [10],
         "households": [2], "has_grid_power": [True], "border_area": [False],
         "extremely_difficult": [False]}, geometry=[Point(*xy).buffer(100)], crs=CRS)
    admin = gpd.GeoDataFrame({"code": ["P"], "name": ["Tỉnh"], "level": ["province"],
                              "parent_code": [None]}, geometry=[outline], crs=CRS)
    return ProvinceBundle(layers={"bts": to_wgs84(bts), "villages": to_wgs84(villages),
                                  "admin_units": to_wgs84(admin)},
                          meta={"metric_epsg": "9205", "province": "Thử"})


def _hills(n: int, seed: int = 3) -> Dem:
    rng = np.random.default_rng(seed)
    z = np.cumsum(np.cumsum(rng.normal(0, 1.5, (n, n)), 0), 1)
    z = 400.0 + 300.0 * (z - z.min()) / (z.max() - z.min())
    return Dem(z.astype(np.float32), affine.Affine(RES, 0, X0, 0, -RES, Y0 + n * RES), CRS)


def test_rsrp_of_25_rb_is_24_8_db_below_the_2g_carrier_at_every_cell():
    """Same tower, band (900 MHz) and power: RSRP (5 MHz, 25 RB) = carrier − 10 log10(300)."""
    n = 161
    rows = pd.DataFrame({"bts_id": ["G", "L"], "tower_id": ["T", "T"],
                         "operator": ["viettel", "viettel"], "tech": ["2G", "4G"],
                         "band_mhz": [900.0, 900.0], "antenna_height_m": [30.0, 30.0],
                         "tx_power_w": [20.0, 20.0], "bandwidth_mhz": [0.2, 5.0],
                         "antenna_gain_dbi": [15.0, 15.0], "feeder_loss_db": [2.0, 2.0],
                         "azimuth_deg": ["0;120;240", "0;120;240"],
                         "elec_tilt_deg": [2.0, 2.0], "mech_tilt_deg": [1.0, 1.0]})
    settings = DEFAULT.replace(max_radius_km=2.0, uplink_check=False,
                               location_probability=0.9, penetration="indoor")
    cov = compute_coverage(_bundle(rows, n=n, at=(80, 80)), dem=_hills(n), settings=settings)
    g2 = cov.best_dbm[("viettel", "2G")]
    g4 = cov.best_dbm[("viettel", "4G")]
    ok = np.isfinite(g2) & np.isfinite(g4)
    assert ok.sum() > 10_000
    diff = (g2 - g4)[ok]
    expected = 10 * math.log10(12 * 25)  # TS 36.101: 25 RB of 12 subcarriers
    assert expected == pytest.approx(24.77, abs=0.01)
    assert np.all(np.abs(diff - expected) <= 0.5)
    # and the absolute level: 43.01 dBm + 15 − 2 − margins (z(0.9)·8 = 10.25; indoor 900: 12)
    budget = cov.budget.set_index("bts_id")
    assert budget.loc["G", "ref_eirp_dbm"] == pytest.approx(10 * math.log10(20_000) + 13,
                                                            abs=1e-9)
    assert budget.loc["G", "margin_db"] == pytest.approx(1.2815516 * 8 + 12.0, abs=1e-3)


def test_a_sector_at_90_degrees_beats_its_back_by_20_db_and_omni_is_even():
    """Flat ground: 5 km due east vs due west of the site."""
    n = 401
    flat = Dem(np.full((n, n), 500.0, np.float32),
               affine.Affine(RES, 0, X0, 0, -RES, Y0 + n * RES), CRS)
    base = {"bts_id": ["S"], "tower_id": ["T"], "operator": ["viettel"], "tech": ["4G"],
            "band_mhz": [1800.0], "antenna_height_m": [30.0], "tx_power_w": [20.0]}
    settings = DEFAULT.replace(max_radius_km=6.0)
    sector = compute_coverage(_bundle(pd.DataFrame({**base, "azimuth_deg": ["90"]}), n=n,
                                      at=(200, 200)), dem=flat, settings=settings)
    omni = compute_coverage(_bundle(pd.DataFrame({**base, "azimuth_deg": [None]}), n=n,
                                    at=(200, 200)), dem=flat, settings=settings)
    k = round(5000 / RES)
    s = sector.best_dbm[("viettel", "4G")]
    o = omni.best_dbm[("viettel", "4G")]
    east, west = s[200, 200 + k], s[200, 200 - k]
    assert east - west >= 20.0
    assert o[200, 200 + k] == pytest.approx(o[200, 200 - k], abs=0.05)


def test_link_budget_by_hand_and_the_defaults_it_reports():
    rows = pd.DataFrame({"bts_id": ["A", "B", "C"], "tech": ["4G", "3G", "5G"],
                         "band_mhz": [1800.0, None, None], "tx_power_w": [40.0, None, None],
                         "bandwidth_mhz": [20.0, None, 100.0],
                         "antenna_gain_dbi": [18.0, None, None],
                         "feeder_loss_db": [0.5, None, None], "eirp_dbm": [None, 60.0, None]})
    b = link_budget(rows, settings=DEFAULT).set_index(rows["bts_id"])
    # 4G: 46.02 dBm total, 100 RB → −30.79 dB per RE; + 18 − 0.5
    p = 10 * math.log10(40_000)
    assert b.loc["A", "ref_power_dbm"] == pytest.approx(p - 10 * math.log10(1200), abs=1e-9)
    assert b.loc["A", "ref_eirp_dbm"] == pytest.approx(p - 30.7918 + 17.5, abs=1e-3)
    dl = p - 30.7918 + 17.5 + 110.0
    ul = 23.0 + 18.0 - 0.5 + 115.5
    assert b.loc["A", "max_dl_loss_db"] == pytest.approx(dl, abs=1e-3)
    assert b.loc["A", "max_ul_loss_db"] == pytest.approx(ul, abs=1e-9)
    assert b.loc["A", "max_loss_db"] == pytest.approx(min(dl, ul), abs=1e-3)
    # 3G legacy total EIRP 60 dBm with the table's 17 dBi, 3 dB → 46 dBm; CPICH 10 %
    assert b.loc["B", "tx_power_dbm"] == pytest.approx(60 - 17 + 3, abs=1e-9)
    assert b.loc["B", "ref_power_dbm"] == pytest.approx(46 - 10, abs=1e-9)
    # 5G, 100 MHz at 30 kHz: 273 RB; the table's 80 W, 24 dBi, 0 dB
    assert b.loc["C", "ref_offset_db"] == pytest.approx(10 * math.log10(12 * 273), abs=1e-9)
    assert b.loc["C", "ref_eirp_dbm"] == pytest.approx(
        10 * math.log10(80_000) - 10 * math.log10(3276) + 24.0, abs=1e-9)
    counts = b.attrs["defaults"]
    assert counts["tx_power_w"] == 1 and counts["tx_power_w from eirp_dbm"] == 1
    assert counts["bandwidth_mhz"] == 1 and counts["antenna_gain_dbi"] == 2
    assert counts["band_mhz"] == 2
    assert "tx_power_w 1" in defaults_line(b) and "of 3 BTS" in defaults_line(b)


def test_uplink_limits_a_loud_downlink():
    """A 5 kW-equivalent 2G carrier: the downlink reaches farther than the phone's 2 W."""
    rows = pd.DataFrame({"tech": ["2G"], "tx_power_w": [500.0], "antenna_gain_dbi": [17.0],
                         "feeder_loss_db": [3.0]})
    b = link_budget(rows)
    dl = 10 * math.log10(500_000) + 14 + 100
    ul = 33 + 17 - 3 + 110
    assert b["max_dl_loss_db"].iloc[0] == pytest.approx(dl, abs=1e-9)
    assert bool(b["uplink_limited"].iloc[0])
    assert b["eirp_eff_dbm"].iloc[0] == pytest.approx(dl - (dl - ul) - 100, abs=1e-9)
    off = link_budget(rows, settings=DEFAULT.replace(uplink_check=False))
    assert not off["uplink_limited"].iloc[0]


def test_the_table_holds_every_radio_field_per_technology():
    for tech, r in RADIO_DEFAULTS.items():
        for field in ("band_mhz", "tx_power_w", "bandwidth_mhz", "antenna_gain_dbi",
                      "feeder_loss_db", "ue_power_dbm", "bts_sensitivity_dbm"):
            assert field in r, (tech, field)


def test_bad_radio_rows_are_rejected_with_their_reason(tmp_path):
    bad_pattern = tmp_path / "broken.msi"
    bad_pattern.write_text("NAME X\nGAIN 17\nHORIZONTAL 360\n0 0\n1 0.1\n", encoding="utf-8")
    n = 7
    rows = pd.DataFrame({
        "bts_id": [f"B{i}" for i in range(n)], "tower_id": ["T"] * n,
        "operator": ["viettel"] * n, "tech": ["4G"] * n, "band_mhz": [1800.0] * n,
        "antenna_height_m": [30.0] * n,
        "tx_power_w": [20.0, -5.0, 2000.0, 20.0, 20.0, 20.0, 20.0],
        "bandwidth_mhz": [10.0, 10.0, 10.0, 7.0, 10.0, 10.0, 5.0],
        "azimuth_deg": ["90", None, None, None, "400", None, "0;120;240"],
        "pattern": [None, None, None, None, None, str(bad_pattern), None]})
    gdf = gpd.GeoDataFrame(rows, geometry=[Point(103.3, 22.3)] * n, crs="EPSG:4326")
    res = validate_layer(gdf, "bts", source="bts.csv")
    assert res.n_accepted + res.n_rejected == n
    assert sorted(res.accepted["bts_id"]) == ["B0", "B6"]
    rej = res.rejected.set_index("bts_id")
    assert rej.loc["B1", "reject_field"] == "tx_power_w"
    assert "below the minimum" in rej.loc["B1", "reject_reason"]
    assert "above the maximum 1000" in rej.loc["B2", "reject_reason"]
    assert rej.loc["B3", "reject_field"] == "bandwidth_mhz"
    assert "not a 4G channel bandwidth" in rej.loc["B3", "reject_reason"]
    assert rej.loc["B4", "reject_field"] == "azimuth_deg"
    assert "outside 0–360" in rej.loc["B4", "reject_reason"]
    assert rej.loc["B5", "reject_field"] == "pattern"
    assert "broken.msi" in rej.loc["B5", "reject_reason"]
    assert "\n" not in rej.loc["B5", "reject_reason"]
    assert res.accepted.set_index("bts_id").loc["B6", "azimuth_deg"] == "0;120;240"
