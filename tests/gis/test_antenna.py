"""Antenna patterns: 3GPP TR 36.814 by hand, MSI/Planet files, tilt on a ridge-top site."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phusong.gis import _kernels
from phusong.gis.antenna import (
    TR36814,
    PatternError,
    combined_gain_db,
    read_msi,
    tr36814_horizontal_db,
    tr36814_vertical_db,
)
from phusong.gis.propagation import free_space_loss_db, wavelength_m


def test_tr36814_values_by_hand():
    # A_H = −min(12 (φ/70)², 25)
    assert tr36814_horizontal_db(0.0) == 0.0
    assert tr36814_horizontal_db(35.0) == pytest.approx(-3.0)  # half the 3 dB beamwidth
    assert tr36814_horizontal_db(-35.0) == pytest.approx(-3.0)
    assert tr36814_horizontal_db(70.0) == pytest.approx(-12.0)
    assert tr36814_horizontal_db(100.0) == pytest.approx(-24.4898, abs=1e-4)  # 12·(10/7)²
    assert tr36814_horizontal_db(110.0) == pytest.approx(-25.0)  # 29.6 dB, capped at A_m
    assert tr36814_horizontal_db(180.0) == pytest.approx(-25.0)
    assert tr36814_horizontal_db(350.0) == pytest.approx(-12 * (10 / 70) ** 2)
    # A_V = −min(12 ((θ − tilt)/10)², 20)
    assert tr36814_vertical_db(5.0, 0.0) == pytest.approx(-3.0)
    assert tr36814_vertical_db(8.0, 3.0) == pytest.approx(-3.0)
    assert tr36814_vertical_db(-2.0, 3.0) == pytest.approx(-3.0)
    assert tr36814_vertical_db(30.0, 3.0) == pytest.approx(-20.0)
    # combined: −min(−(A_H + A_V), 25)
    g = combined_gain_db(TR36814, 70.0, 8.0, elec_tilt_deg=3.0)
    assert g == pytest.approx(-15.0, abs=1e-9)
    assert combined_gain_db(TR36814, 90.0, 30.0) == pytest.approx(-25.0)
    # mechanical tilt acts as tilt·cos φ: at 60° off boresight half of it
    g = combined_gain_db(TR36814, 60.0, 5.0, mech_tilt_deg=10.0)
    assert g == pytest.approx(-(12 * (60 / 70) ** 2), abs=1e-9)


def _msi_text(*, gain: str = "17.5", drop: int | None = None, bad_line: str | None = None
              ) -> str:
    lines = ["NAME K80010622 900 T4", "MAKE Kathrein", "FREQUENCY 900", f"GAIN {gain} dBi",
             "TILT ELECTRICAL", "ELECTRICAL_TILT 4", "COMMENT exported by a planning tool",
             "HORIZONTAL 360"]
    for a in range(360):
        phi = a if a <= 180 else a - 360
        lines.append(f"{a} {min(12 * (phi / 65) ** 2, 30):.2f}")
    lines.append("VERTICAL 360")
    for a in range(360):
        th = a if a <= 180 else a - 360
        lines.append(f"{a}\t{min(12 * ((th - 4) / 7) ** 2, 25):.2f}")
    if drop is not None:
        del lines[drop]
    if bad_line is not None:
        lines[20] = bad_line
    return "\r\n".join(lines) + "\r\n"


def test_msi_file_is_read(tmp_path):
    path = tmp_path / "k80010622.msi"
    path.write_text(_msi_text(), encoding="latin-1")
    p = read_msi(path)
    assert p.name == "K80010622 900 T4"
    assert p.gain_dbi == pytest.approx(17.5)
    assert p.tilt_in_pattern
    assert p.cap_db == pytest.approx(30.0)
    assert p.horizontal[0] == 0.0
    assert p.horizontal[30] == pytest.approx(-12 * (30 / 65) ** 2, abs=0.01)
    assert p.horizontal[330] == pytest.approx(-12 * (30 / 65) ** 2, abs=0.01)
    assert p.vertical[4] == 0.0
    assert p.vertical[11] == pytest.approx(-12.0, abs=0.01)
    # gain in dBd
    path2 = tmp_path / "dbd.msi"
    path2.write_text(_msi_text(gain="15.35 dBd"), encoding="utf-8")
    assert read_msi(path2).gain_dbi == pytest.approx(17.5)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"drop": 100}, "section ends after 359 of 360 points"),
    ({"bad_line": "12 abc"}, "expected 'angle attenuation'"),
    ({"bad_line": "12 -4"}, "must be 0–100 dB"),
    ({"bad_line": "12.5 3"}, "whole degrees"),
    ({"gain": "high"}, "GAIN 'high dBi' is not a number"),
])
def test_malformed_msi_is_refused_in_one_line(tmp_path, kwargs, message):
    path = tmp_path / "bad.msi"
    path.write_text(_msi_text(**kwargs), encoding="utf-8")
    with pytest.raises(PatternError) as err:
        read_msi(path)
    text = str(err.value)
    assert message in text
    assert "\n" not in text and str(path) in text


def test_not_a_pattern_file_and_missing_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n", encoding="utf-8")
    with pytest.raises(PatternError, match="no HORIZONTAL 360 section"):
        read_msi(path)
    with pytest.raises(PatternError, match="cannot read"):
        read_msi(tmp_path / "absent.msi")


def test_ridge_top_site_with_downtilt_has_the_near_dip_and_the_horizon_gain():
    """A mast on a 600 m ridge over a flat plain, sector facing east, 4° down-tilt.

    Near the foot of the ridge the receiver is ~28° below the antenna: the vertical pattern
    is down by SLA_v (20 dB). At 9 km it is ~4° below, on the tilt: the full gain. Free
    space over the plain (no obstacle: the plain is below the ray).
    """
    res = 30.0
    n = 801
    dem = np.zeros((41, n), np.float32)
    dem[:, :12] = 600.0  # the ridge top, site at column 5
    dem[:, 12:20] = np.linspace(600, 0, 8)[None, :]
    f = 900.0
    common = dict(pair_site=np.zeros(2, np.int64), pcol=np.array([40.5, 305.5]),
                  prow=np.array([20.5, 20.5]), col=np.array([5.5]), row=np.array([20.5]),
                  zt=np.array([630.0]), eirp=np.array([60.0]), base_db=np.array([0.0]),
                  fs_const_db=np.array([32.45 + 20 * math.log10(f)]),
                  wavelength=np.array([float(wavelength_m(f))]), res_x=res, res_y=res,
                  rx_height_m=1.5, k_factor=1e9, model=1, mode=0)
    omni = _kernels.point_power(dem, **common)
    ant = _kernels.Antennas(pid=np.array([0]), az=np.array([[90.0, 0, 0, 0, 0, 0]]),
                            n_az=np.array([1]), tilt_e=np.array([4.0]), tilt_m=np.array([0.0]),
                            pat_h=TR36814.horizontal[None, :], pat_v=TR36814.vertical[None, :],
                            pat_cap=np.array([25.0]))
    tilted = _kernels.point_power(dem, antennas=ant, **common)
    d_near, d_far = 35 * res, 300 * res
    th_near = math.degrees(math.atan2(630 - 1.5, d_near))
    th_far = math.degrees(math.atan2(630 - 1.5, d_far))
    assert th_near > 25 and abs(th_far - 4.0) < 0.1
    assert omni[0] == pytest.approx(60 - float(free_space_loss_db(d_near / 1000, f)), abs=0.05)
    assert omni[0] - tilted[0] == pytest.approx(20.0, abs=0.05)  # the near dip: SLA_v
    assert omni[1] - tilted[1] == pytest.approx(12 * ((th_far - 4) / 10) ** 2, abs=0.05)
    # the far receiver gets more than the near one, 9 km against 1 km
    assert tilted[1] > tilted[0]
