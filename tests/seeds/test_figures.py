"""Tests for seeds.figures: the reported figures and their provenance."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from phusong.seeds.figures import REPORTED_COLUMNS, reported, reported_value

SEED_DIR = Path("/work/shared/seeds")


def test_columns_and_types():
    df = reported()
    assert tuple(df.columns) == REPORTED_COLUMNS
    assert len(df) > 100
    assert df["indicator"].map(lambda s: re.fullmatch(r"[a-z][a-z0-9_]*", s) is not None).all()
    for col in ("province", "district", "section", "quote", "report_title", "unit"):
        assert df[col].map(lambda s: unicodedata.is_normalized("NFC", s)).all(), col
    assert set(df["report"]) >= {"000_b41de80bd2455c70", "001_03fa4b32183cba20",
                                 "003_39ee671c0e82a7fa", "004_d1988feca6f210e7"}


@pytest.mark.parametrize(("province", "indicator", "value"), [
    ("Lai Châu", "villages_total", 948),
    ("Lai Châu", "villages_with_signal", 941),
    ("Lai Châu", "villages_with_internet", 722),
    ("Lai Châu", "coverage_ratio_viettel", 0.98),
    ("Lai Châu", "coverage_ratio_vinaphone", 0.87),
    ("Lai Châu", "coverage_ratio_mobifone", 0.42),
    ("Lai Châu", "coverage_ratio_vietnamobile", 0.08),
    ("Lai Châu", "tower_positions", 855),
    ("Lai Châu", "bts_count", 1842),
    ("Lai Châu", "cable_km_total", 8828),
    ("Lai Châu", "underground_ratio", 0.102),
    ("Lai Châu", "service_radius_km_per_tower", 4.7),
    ("Điện Biên", "postal_points", 180),
    ("Điện Biên", "postal_service_radius_km", 4.12),
    ("Điện Biên", "people_per_postal_point", 3598),
    ("Điện Biên", "commune_centres_fibre_ratio", 1.0),
    ("Điện Biên", "villages_fibre_ratio", 0.887),
    ("Lạng Sơn", "postal_points", 268),
    ("Lạng Sơn", "postal_service_radius_km", 3.2),
    ("Lạng Sơn", "people_per_postal_point", 3025),
    ("Sơn La", "white_villages_sharing_cleared", 123),
])
def test_design_figures_present(province, indicator, value):
    assert reported_value(province, indicator) == pytest.approx(value)


def test_filters_and_case_insensitive_names():
    lc = reported("lai châu", 2022)
    assert set(lc["province"]) == {"Lai Châu"}
    assert set(lc["year"]) == {2022}
    # NFD input is matched too
    nfd = unicodedata.normalize("NFD", "Lạng Sơn")
    assert len(reported(nfd)) == len(reported("Lạng Sơn")) > 0
    assert reported("Lạng Sơn", district="Cao Lộc")["indicator"].tolist() == [
        "postal_points", "bts_count"]
    assert reported_value("Lạng Sơn", "bts_count") == 3125  # latest year (2022)
    assert reported_value("Lạng Sơn", "bts_count", 2021) == 2846


def test_unknown_indicator_names_what_exists():
    with pytest.raises(KeyError, match=r"no reported figure .nope. for .Lai Châu.*villages_total"):
        reported_value("Lai Châu", "nope")


def _squash(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@pytest.mark.skipif(not SEED_DIR.exists(), reason="seed reports not available")
def test_every_quote_is_in_its_report():
    texts = {p.stem: _squash(p.read_text(encoding="utf-8")) for p in SEED_DIR.glob("*.txt")}
    missing = []
    for row in reported().itertuples():
        if row.district:  # table cells are quoted as "district: column value"
            continue
        for part in row.quote.split(" ... "):
            if _squash(part) not in texts[row.report]:
                missing.append((row.report, row.indicator, part))
    assert not missing
