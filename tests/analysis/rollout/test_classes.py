"""Target villages and the ministry's classes (analysis.rollout.classes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phusong.analysis.rollout.classes import (
    CLASS_RULES,
    CLASSES,
    class_counts,
    classify_villages,
    grid_power_state,
    target_techs,
)
from phusong.gis.errors import SchemaError, SettingsError
from phusong.layers.settings import DEFAULT


@pytest.fixture
def villages():
    # id, grid, difficult, border, status over all techs, best 3G/4G/5G status, 4G/5G status
    rows = [("a", True, True, False, "trang", "trang", "trang"),   # fund (difficult)
            ("b", True, False, True, "trang", "trang", "trang"),   # border only: operator
            ("c", True, False, False, "trang", "trang", "trang"),  # operator's own plan
            ("d", False, True, True, "trang", "trang", "trang"),   # wait for grid, even if difficult
            ("e", True, True, True, "lom", "lom", "lom"),          # lõm: only with include_lom
            ("f", False, False, False, "phu", "phu", "phu"),       # covered: never a target
            ("g", "true", "0", "no", "trang", "trang", "trang"),   # text flags from a CSV
            ("h", True, True, False, "phu", "trang", "trang"),     # 2G only: no broadband
            ("i", True, True, False, "phu", "phu", "trang"),       # 3G, no 4G
            ("j", None, True, False, "trang", "trang", "trang"),   # grid not recorded
            ("k", np.nan, False, False, "trang", "trang", "trang")]  # grid not recorded
    v = pd.DataFrame({
        "village_id": [r[0] for r in rows], "name": [f"Bản {r[0]}" for r in rows],
        "commune_code": "x1", "population": [100 * (k + 1) for k in range(len(rows))],
        "households": [10 * (k + 1) for k in range(len(rows))],
        "has_grid_power": [r[1] for r in rows], "extremely_difficult": [r[2] for r in rows],
        "border_area": [r[3] for r in rows]})
    idx = pd.Index(v["village_id"], name="village_id")
    status = pd.DataFrame({"status_any": [r[4] for r in rows],
                           "status_any_2G": [r[4] for r in rows],
                           "status_any_3G": [r[5] for r in rows],
                           "status_any_4G": [r[6] for r in rows],
                           "status_any_5G": "trang"}, index=idx)
    return v, status


def _classes(c):
    return c["rollout_class"].astype(str).to_dict()


def test_rules_default_target_is_broadband(villages):
    v, status = villages
    settings = DEFAULT.replace(as_of="2026-01-01")
    assert DEFAULT.rollout_target == "no-broadband"
    c = classify_villages(v, status, settings=settings)
    # h has 2G only: a broadband target; i has 3G: not one
    assert list(c.index) == ["a", "b", "c", "d", "g", "h", "j", "k"]
    assert _classes(c) == {
        "a": "quy_vtci", "b": "doanh_nghiep", "c": "doanh_nghiep", "d": "cho_dien",
        "g": "doanh_nghiep", "h": "quy_vtci", "j": "chua_ro_dien", "k": "chua_ro_dien"}
    assert c["class_rule"].to_dict() == {
        "a": "grid_extremely_difficult", "b": "grid_elsewhere", "c": "grid_elsewhere",
        "d": "no_grid", "g": "grid_elsewhere", "h": "grid_extremely_difficult",
        "j": "grid_unknown", "k": "grid_unknown"}
    assert c.loc["d", "rollout_class_label"] == "Chờ điện lưới"
    assert c.loc["d", "class_rule_label"] == CLASS_RULES["no_grid"][0]
    assert c["has_grid_power"].isna().tolist() == [False] * 6 + [True, True]
    assert c.loc["h", "status_any"] == "phu" and c.loc["h", "status_target"] == "trang"


def test_targets(villages):
    v, status = villages
    on = DEFAULT.replace(as_of="2026-01-01")
    assert list(classify_villages(v, status, settings=on.replace(rollout_target="no-signal"))
                .index) == ["a", "b", "c", "d", "g", "j", "k"]
    assert list(classify_villages(v, status, settings=on.replace(rollout_target="no-4g"))
                .index) == ["a", "b", "c", "d", "g", "h", "i", "j", "k"]
    # after the 3G switch-off 3G no longer counts as broadband: i becomes a target
    late = on.replace(as_of="2029-01-01")
    assert target_techs(late) == ("4G", "5G")
    assert "i" in classify_villages(v, status, settings=late).index
    with pytest.raises(SettingsError, match="rollout_target"):
        DEFAULT.replace(rollout_target="no-5g")


def test_border_rule_is_an_explicit_setting(villages):
    v, status = villages
    c = classify_villages(v, status, settings=DEFAULT.replace(border_counts_as_difficult=True,
                                                              language="en"))
    assert c.loc["b", "rollout_class"] == "quy_vtci"
    assert c.loc["b", "class_rule"] == "grid_border"
    assert "border_counts_as_difficult" in c.loc["b", "class_rule_label"]
    # a border village without grid still waits for the grid
    assert c.loc["d", "rollout_class"] == "cho_dien"


def test_grid_power_state():
    s = pd.Series([True, False, None, np.nan, "có", "không", "", "?", 1, 0], dtype=object)
    assert grid_power_state(s).tolist() == [1, 0, -1, -1, 1, 0, -1, -1, 1, 0]


def test_include_lom_and_counts(villages):
    v, status = villages
    en = DEFAULT.replace(language="en")
    c = classify_villages(v, status, include_lom=True, settings=en)
    assert c.loc["e", "rollout_class"] == "quy_vtci"
    assert c.loc["e", "rollout_class_label"].startswith("Public-utility")
    counts = class_counts(c, settings=en)
    assert list(counts.index) == [*CLASSES, "total"]
    assert counts.loc["quy_vtci", "villages"] == 3  # a, e, h
    assert counts.loc["quy_vtci", "population"] == 100 + 500 + 800
    assert counts.loc["chua_ro_dien", "villages"] == 2
    assert counts.loc["total", "villages"] == len(c)
    assert counts.loc["total", "households"] == c["households"].sum()
    assert counts.loc["total", "label"] == "Total"


def test_status_order_independent(villages):
    v, status = villages
    shuffled = status.iloc[::-1]
    assert classify_villages(v, shuffled).index.tolist() == \
        classify_villages(v, status).index.tolist()


def test_missing_columns_and_villages(villages):
    v, status = villages
    with pytest.raises(SchemaError, match="has_grid_power"):
        classify_villages(v.drop(columns="has_grid_power"), status)
    with pytest.raises(SchemaError, match="no status_any for village"):
        classify_villages(v, status.drop(index="c"))
    with pytest.raises(SchemaError, match=r"status_any_3G.*no-signal"):
        classify_villages(v, status.drop(columns="status_any_3G"))
