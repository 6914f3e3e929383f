"""The ministry's classes of villages without service (analysis.rollout.classes)."""

from __future__ import annotations

import pandas as pd
import pytest

from phusong.analysis.rollout.classes import CLASSES, class_counts, classify_villages
from phusong.gis.errors import SchemaError
from phusong.layers.settings import DEFAULT


@pytest.fixture
def villages():
    # id, grid, difficult, border, status
    rows = [("a", True, True, False, "trang"),    # fund (difficult)
            ("b", True, False, True, "trang"),    # fund (border)
            ("c", True, False, False, "trang"),   # operator's own plan
            ("d", False, True, True, "trang"),    # wait for the grid, even if difficult
            ("e", True, True, True, "lom"),       # lõm: only with include_lom
            ("f", False, False, False, "phu"),    # covered: never classified
            ("g", "true", "0", "no", "trang")]    # text flags as read from a CSV
    v = pd.DataFrame({
        "village_id": [r[0] for r in rows], "name": [f"Bản {r[0]}" for r in rows],
        "commune_code": "x1", "population": [100, 200, 300, 400, 500, 600, 700],
        "households": [10, 20, 30, 40, 50, 60, 70],
        "has_grid_power": [r[1] for r in rows], "extremely_difficult": [r[2] for r in rows],
        "border_area": [r[3] for r in rows]})
    status = pd.DataFrame({"status_any": [r[4] for r in rows]},
                          index=pd.Index(v["village_id"], name="village_id"))
    return v, status


def test_rules(villages):
    v, status = villages
    c = classify_villages(v, status)
    assert list(c.index) == ["a", "b", "c", "d", "g"]
    assert c["rollout_class"].astype(str).to_dict() == {
        "a": "quy_vtci", "b": "quy_vtci", "c": "doanh_nghiep", "d": "cho_dien",
        "g": "doanh_nghiep"}
    assert c.loc["d", "rollout_class_label"] == "Chờ điện lưới"


def test_include_lom_and_counts(villages):
    v, status = villages
    c = classify_villages(v, status, include_lom=True, settings=DEFAULT.replace(language="en"))
    assert c.loc["e", "rollout_class"] == "quy_vtci"
    assert c.loc["e", "rollout_class_label"].startswith("Public-utility")
    counts = class_counts(c, settings=DEFAULT.replace(language="en"))
    assert list(counts.index) == [*CLASSES, "total"]
    assert counts.loc["quy_vtci", "villages"] == 3
    assert counts.loc["quy_vtci", "population"] == 100 + 200 + 500
    assert counts.loc["total", "villages"] == len(c)
    assert counts.loc["total", "households"] == c["households"].sum()
    assert counts.loc["total", "label"] == "Total"


def test_status_order_independent(villages):
    v, status = villages
    shuffled = status.iloc[::-1]
    assert classify_villages(v, shuffled).index.tolist() == ["a", "b", "c", "d", "g"]


def test_missing_columns_and_villages(villages):
    v, status = villages
    with pytest.raises(SchemaError, match="has_grid_power"):
        classify_villages(v.drop(columns="has_grid_power"), status)
    with pytest.raises(SchemaError, match="no status_any for village"):
        classify_villages(v, status.drop(index="c"))
