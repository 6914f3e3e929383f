"""Sharing tables on the hand-built province (layout: conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from phusong.analysis.tables.sharing import greedy_cover, sharing_tables
from phusong.layers.settings import DEFAULT

BEFORE_2G_OFF = DEFAULT.replace(as_of="2025-01-01")


@pytest.fixture(scope="module")
def tables(toys):
    b = toys.make_bundle()
    # Viettel: V1, V2 covered; V3 dead spot (2G); V4, V5, V6 white
    status = toys.make_status(b, per_tech={
        ("viettel", "2G"): {"V1": "phu", "V2": "phu", "V3": "lom"},
        ("viettel", "4G"): {"V1": "phu"},
        ("mobifone", "3G"): {"V2": "lom"},
    })
    return sharing_tables(b, status, settings=BEFORE_2G_OFF, matrix_fn=toys.radius_matrix)


def test_summary_viettel(tables):
    # Viettel runs 2G (12 km) and 4G (4 km) before the 2G switch-off. Candidate towers T2
    # (10, 0.5) and T3 (20, 1): both reach V3 and V4 with 2G; V5 (12.5 km from T2) and V6
    # (12.2 km from T3) stay out of reach.
    s = tables["summary"].set_index("operator").loc["viettel"]
    assert s["white_villages"] == 3 and s["white_clearable"] == 1
    assert s["white_ratio"] == "1/3"
    assert s["lom_villages"] == 1 and s["lom_ratio"] == "1/1"
    assert s["population_clearable"] == 1000 + 50
    assert s["towers_used"] == 1


def test_summary_mobifone_2g_only(tables):
    # MobiFone has only 2G (T3): co-locating on T1 reaches V1, V2, V3 (10 km), V5 (8 km);
    # on T2 V1..V4. V2 is its dead spot (3G), V6 is out of reach.
    s = tables["summary"].set_index("operator").loc["mobifone"]
    assert s["white_villages"] == 5
    assert s["white_ratio"] == "4/5"
    assert s["lom_ratio"] == "1/1"
    assert s["towers_used"] == 2


def test_by_donor(tables):
    d = tables["by_donor"].set_index(["operator", "donor"])
    assert d.loc[("viettel", "vinaphone"), "white_ratio"] == "1/3"
    assert d.loc[("viettel", "vietnamobile"), "white_ratio"] == "0/3"
    assert d.loc[("mobifone", "viettel"), "white_ratio"] == "3/5"
    assert len(tables["by_donor"]) == 12  # 4 operators × 3 donors


def test_towers_table(tables):
    t = tables["towers"]
    row = t[(t["operator"] == "viettel") & (t["tower_id"] == "T2")].iloc[0]
    assert row["village_ids"] == "V3, V4"
    assert row["owner"] == "vinaphone"


def test_greedy_cover():
    clears = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 1, 1], [0, 0, 0, 0]], dtype=bool)
    ids = np.array(["A", "B", "C", "D"], dtype=object)
    assert greedy_cover(clears, ids) == [2, 0]
    assert greedy_cover(np.zeros((2, 3), bool), ids[:2]) == []
