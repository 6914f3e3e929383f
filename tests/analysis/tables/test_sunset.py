"""2G/3G sunset tables on a hand-built status table."""

from __future__ import annotations

import pytest

from phusong.analysis.tables.sunset import sunset_tables
from phusong.layers.settings import DEFAULT


@pytest.fixture(scope="module")
def status(toys):
    b = toys.make_bundle()
    # V1: Viettel 2G+4G; V2: Viettel 2G, MobiFone 3G (dead spot); V3: Viettel 2G only (lom);
    # V4: Vinaphone 4G; V5, V6: nothing
    return toys.make_status(b, per_tech={
        ("viettel", "2G"): {"V1": "phu", "V2": "phu", "V3": "lom"},
        ("viettel", "4G"): {"V1": "phu"},
        ("mobifone", "3G"): {"V2": "lom"},
        ("vinaphone", "4G"): {"V4": "phu"},
    })


def _row(t, event, op):
    s = t["summary"]
    return s[(s["event"] == event) & (s["operator"] == op)].iloc[0]


def test_2g_off(status):
    t = sunset_tables(status, settings=DEFAULT.replace(as_of="2025-01-01"))
    v = _row(t, "2g_off", "viettel")
    assert v["villages_served_now"] == 3
    assert v["villages_lose_service"] == 2  # V2, V3
    assert v["population_affected"] == 200 + 1000
    assert v["households_affected"] == 40 + 200
    a = _row(t, "2g_off", "any")
    assert a["villages_lose_service"] == 1  # V3; V2 keeps MobiFone 3G
    assert a["population_affected"] == 1000
    assert not a["in_force"]
    lost = t["villages"]
    assert set(lost.loc[(lost["event"] == "2g_off") & (lost["operator"] == "any"),
                        "village_id"]) == {"V3"}
    assert lost.loc[lost["village_id"] == "V3", "techs_now"].iloc[0] == "2G"


def test_3g_off(status):
    t = sunset_tables(status, settings=DEFAULT.replace(as_of="2027-06-01"))
    a = _row(t, "3g_off", "any")
    assert a["villages_served_now"] == 3  # V1 (4G), V2 (3G), V4 (4G)
    assert a["villages_lose_service"] == 1  # V2
    assert a["population_affected"] == 200
    assert _row(t, "2g_off", "any")["in_force"]
    assert not a["in_force"]
    assert _row(t, "3g_off", "vinaphone")["villages_lose_service"] == 0


def test_dates_from_settings(status):
    s = DEFAULT.replace(as_of="2025-01-01", date_3g_off="2024-12-31")
    t = sunset_tables(status, settings=s)
    r = _row(t, "3g_off", "any")
    assert r["event_date"] == "2024-12-31" and r["in_force"]
