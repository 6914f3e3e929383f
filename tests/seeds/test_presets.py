"""Tests for seeds.presets."""

from __future__ import annotations

import dataclasses

import pytest

from phusong.gis.errors import SettingsError
from phusong.layers.schema import POST_OFFICE_KINDS
from phusong.seeds.figures import reported_value
from phusong.seeds.presets import PRESETS, get_preset


def test_presets_exist_and_are_frozen():
    assert {"lai-chau", "dien-bien", "lang-son", "mini"} <= set(PRESETS)
    p = PRESETS["lai-chau"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.villages = 1  # type: ignore[misc]
    assert get_preset("lai-chau") is p
    assert get_preset(p) is p
    with pytest.raises(SettingsError, match="unknown preset 'lai_chau'; use one of"):
        get_preset("lai_chau")


def test_lai_chau_figures_come_from_the_report():
    p = PRESETS["lai-chau"]
    assert p.name == "Lai Châu"
    assert p.metric_epsg == 9205
    assert p.villages == 948 and p.villages_with_signal == 941
    assert p.towers == 855 and p.bts == 1842
    assert p.cable_km == 8828 and p.underground_ratio == pytest.approx(0.102)
    assert dict(p.coverage_target) == pytest.approx(
        {"viettel": 0.98, "vinaphone": 0.87, "mobifone": 0.42, "vietnamobile": 0.08})
    assert p.elevation_m == (200.0, 3100.0)


def test_other_presets():
    db, ls = PRESETS["dien-bien"], PRESETS["lang-son"]
    assert db.metric_epsg == 9205 and ls.metric_epsg == 9215
    assert sum(db.post_offices.values()) == reported_value("Điện Biên", "postal_points")
    assert db.population == 180 * 3598
    assert db.villages == 1460  # 165 villages without fibre are 11.3 %
    assert db.towers == 910
    assert sum(ls.post_offices.values()) == 268
    assert ls.bts == 2846 and ls.towers == 1308 - 131
    assert ls.population == 268 * 3025


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_preset_consistency(key):
    p = PRESETS[key]
    assert set(p.post_offices) <= set(POST_OFFICE_KINDS)
    assert set(p.sites_by_operator) == set(p.bts_by_operator_tech) == set(p.coverage_target)
    for op, techs in p.bts_by_operator_tech.items():
        assert max(techs.values()) <= p.sites_by_operator[op]
    assert max(p.sites_by_operator.values()) <= p.towers <= sum(p.sites_by_operator.values())
    assert 0 <= p.white_villages < p.villages
    assert p.districts <= p.communes <= p.villages
    assert p.elevation_m[0] < p.elevation_m[1]
    assert len(p.district_names) >= p.districts


def test_scaled():
    p = PRESETS["lai-chau"].scaled(0.05)
    assert p.scale == 0.05
    assert p.villages == 47 and p.towers == 43
    assert p.area_km2 == pytest.approx(9068.8 * 0.05)
    assert p.districts == 1 and p.communes == 5
    assert PRESETS["lai-chau"].scaled(1.0) is PRESETS["lai-chau"]
    with pytest.raises(SettingsError, match=r"scale=0: must be in \(0, 1\]"):
        PRESETS["mini"].scaled(0)
