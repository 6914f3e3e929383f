"""The settings object: defaults, validation, unknown keys."""

from __future__ import annotations

import datetime as dt

import pytest

from phusong.gis.errors import PhusongError, SettingsError
from phusong.layers.settings import DEFAULT, Settings, in_service_techs


def test_defaults_are_the_design_values() -> None:
    assert dict(DEFAULT.radius_km) == {"2G": 12.0, "3G": 4.0, "4G": 4.0, "5G": 0.5}
    assert dict(DEFAULT.threshold_dbm) == {"2G": -100.0, "3G": -105.0, "4G": -110.0,
                                           "5G": -110.0}
    assert DEFAULT.share_min == 0.8
    assert DEFAULT.max_radius_km == 15.0
    assert DEFAULT.fibre_access_km == 2.0
    assert DEFAULT.k_factor == pytest.approx(4 / 3)


def test_unknown_key_is_refused_with_a_suggestion() -> None:
    with pytest.raises(SettingsError, match="did you mean 'share_min'"):
        DEFAULT.replace(sharemin=0.5)
    with pytest.raises(SettingsError, match="unknown settings key 'colour'"):
        Settings.from_mapping({"colour": "red"})


@pytest.mark.parametrize(("key", "value", "message"), [
    ("share_min", 0.0, "share_min"),
    ("share_min", 1.5, "share_min"),
    ("max_radius_km", -1, "max_radius_km"),
    ("language", "fr", "language"),
    ("diffraction", "magic", "diffraction"),
    ("as_of", "2026-13-01", "as_of"),
    ("cost_tower_vnd", -5, "cost_tower_vnd"),
    ("radius_km", {"6G": 1.0}, "unknown technology"),
    ("location_probability", 1.0, "location_probability"),
    ("penetration", "cave", "penetration"),
    ("nr_scs_khz", 45, "nr_scs_khz"),
    ("clutter_losses_db", {"snow": 3.0}, "unknown class"),
    ("path_loss_model", "okumura", "path_loss_model"),
    ("deygout_depth", 7, "deygout_depth"),
])
def test_bad_values_are_refused(key: str, value: object, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        DEFAULT.replace(**{key: value})


def test_settings_error_is_a_value_error_and_a_phusong_error() -> None:
    with pytest.raises(ValueError):
        DEFAULT.replace(share_min=2)
    with pytest.raises(PhusongError):
        DEFAULT.replace(share_min=2)


def test_partial_per_technology_maps_merge_over_the_defaults() -> None:
    s = DEFAULT.replace(threshold_dbm={"4G": -105.0}, radius_km_by_band={"4G@1800": 5.0})
    assert s.threshold_dbm["4G"] == -105.0
    assert s.threshold_dbm["2G"] == -100.0
    assert s.radius_m("4G", 1800) == 5000.0
    assert s.radius_m("4G", 900) == 4000.0
    assert DEFAULT.threshold_dbm["4G"] == -110.0  # the default is untouched


def test_settings_are_immutable() -> None:
    with pytest.raises(AttributeError):
        DEFAULT.share_min = 0.5  # type: ignore[misc]
    with pytest.raises(TypeError):
        DEFAULT.radius_km["2G"] = 1.0  # type: ignore[index]


def test_as_of_date() -> None:
    assert DEFAULT.replace(as_of="2025-01-31").as_of_date() == dt.date(2025, 1, 31)
    assert DEFAULT.as_of_date() == dt.date.today()


def test_technologies_in_service_switch_off_on_the_day() -> None:
    """2G counts until the day before 2026-09-15, 3G until the day before 2028-09-15."""
    assert in_service_techs(DEFAULT.replace(as_of="2022-12-31")) == ("2G", "3G", "4G", "5G")
    assert in_service_techs(DEFAULT.replace(as_of="2026-09-14")) == ("2G", "3G", "4G", "5G")
    assert in_service_techs(DEFAULT.replace(as_of="2026-09-15")) == ("3G", "4G", "5G")
    assert in_service_techs(DEFAULT.replace(as_of="2028-09-14")) == ("3G", "4G", "5G")
    assert in_service_techs(DEFAULT.replace(as_of="2028-09-15")) == ("4G", "5G")
    assert in_service_techs(DEFAULT, on=dt.date(2027, 1, 1)) == ("3G", "4G", "5G")
    later = DEFAULT.replace(date_2g_off="2030-01-01", as_of="2029-06-30")
    assert in_service_techs(later) == ("2G", "4G", "5G")


def test_resolved_fixes_the_analysis_date() -> None:
    today = dt.date.today()
    fixed = DEFAULT.resolved()
    assert fixed.as_of in (today.isoformat(), (today + dt.timedelta(days=1)).isoformat())
    assert fixed.resolved() is fixed
    given = DEFAULT.replace(as_of="2024-06-30")
    assert given.resolved() is given and given.as_of_date() == dt.date(2024, 6, 30)
