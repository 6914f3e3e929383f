"""The 2G/3G switch-off timeline from one bundle (analysis.compare.timeline)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.analysis.compare.timeline import switch_off_timeline, timeline_chart
from phusong.analysis.coverage.engine import compute_coverage
from phusong.analysis.coverage.status import village_status
from phusong.layers.settings import DEFAULT

OPS = ("viettel", "vinaphone", "mobifone", "vietnamobile")
SETTINGS = DEFAULT.replace(as_of="2022-12-31", radius_km={"2G": 3.0, "3G": 1.5, "4G": 1.5})


@pytest.fixture(scope="module")
def status(tiny_bundle):
    cov = compute_coverage(tiny_bundle, model="radius", settings=SETTINGS)
    return village_status(tiny_bundle, cov, settings=SETTINGS)


def _brute(status, techs):
    sig = np.zeros(len(status), bool)
    for op in OPS:
        for t in techs:
            sig |= (status[f"status_{op}_{t}"] != "trang").to_numpy()
    return sig


def test_counts_per_date_by_hand(status):
    tl = switch_off_timeline(status, settings=SETTINGS, start_year=2022)
    assert tl["date"].iloc[0] == "2022-12-31" and tl["date"].iloc[-1] == "2030-12-31"
    assert {"2026-09-15", "2028-09-15"} <= set(tl["date"])
    assert list(tl["date"]) == sorted(tl["date"])
    fibre = status["fibre_near"].to_numpy()
    pop = status["population"].to_numpy()
    for r in tl.itertuples():
        if r.date < "2026-09-15":
            on = ("2G", "3G", "4G", "5G")
        elif r.date < "2028-09-15":
            on = ("3G", "4G", "5G")
        else:
            on = ("4G", "5G")
        sig = _brute(status, on)
        bb = _brute(status, tuple(t for t in on if t != "2G")) | fibre
        assert r.villages_signal == sig.sum(), r.date
        assert r.villages_broadband == bb.sum(), r.date
        assert r.villages_white == len(status) - sig.sum()
        assert r.population_white == pop[~sig].sum()
    # the 2G switch-off removes the 2G-only villages, and it shows
    before = tl[tl["date"] == "2025-12-31"].iloc[0]
    after = tl[tl["date"] == "2026-09-15"].iloc[0]
    assert after["villages_signal"] < before["villages_signal"]
    assert after["techs_on"] == "3G, 4G, 5G"


def test_dates_are_settings(status):
    s = SETTINGS.replace(date_2g_off="2025-03-01", timeline_end_year=2027)
    tl = switch_off_timeline(status, settings=s, start_year=2024)
    assert "2025-03-01" in set(tl["date"]) and "2028-09-15" not in set(tl["date"])
    assert tl["date"].iloc[-1] == "2027-12-31"
    row = tl.set_index("date").loc["2025-12-31"]
    assert row["villages_signal"] == _brute(status, ("3G", "4G", "5G")).sum()


def test_chart_is_a_png(status):
    png = timeline_chart(switch_off_timeline(status, settings=SETTINGS), is_sample=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_cli_writes_table_and_chart(tiny_bundle_dir, tmp_path):
    res = CliRunner().invoke(phusong, ["timeline", str(tiny_bundle_dir), "--model", "radius",
                                       "-o", str(tmp_path), "-q"])
    assert res.exit_code == 0, res.output
    for f in ("timeline.xlsx", "timeline.csv", "timeline.png"):
        assert (tmp_path / f).exists()
    head = (tmp_path / "timeline.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "Thôn, bản có sóng" in head and "Thôn, bản có băng rộng (internet)" in head
    assert "2030-12-31" in res.output
