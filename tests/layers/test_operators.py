"""Operator enum, aliases and MNC codes."""

from __future__ import annotations

import pytest

from phusong.gis.errors import SchemaError
from phusong.layers.operators import Operator, operator_from_mnc, parse_operator


@pytest.mark.parametrize(("text", "expected"), [
    ("Viettel", Operator.VIETTEL), ("Viettel Telecom", Operator.VIETTEL),
    ("VIETTEL", Operator.VIETTEL), ("VNPT", Operator.VINAPHONE),
    ("VNPT-Vinaphone", Operator.VINAPHONE), ("Vinaphone", Operator.VINAPHONE),
    ("MobiFone", Operator.MOBIFONE), ("mobiphone", Operator.MOBIFONE),
    ("Vietnamobile", Operator.VIETNAMOBILE), ("452-04", Operator.VIETTEL),
    ("452-01", Operator.MOBIFONE), ("02", Operator.VINAPHONE), (5, Operator.VIETNAMOBILE),
    ("  viettel  ", Operator.VIETTEL),
])
def test_aliases_and_mnc(text: object, expected: Operator) -> None:
    assert parse_operator(text) is expected


def test_unknown_operator_names_the_accepted_ones() -> None:
    with pytest.raises(SchemaError, match=r"unknown operator 'Công ty ABC'.*viettel"):
        parse_operator("Công ty ABC")
    with pytest.raises(SchemaError, match="unknown MNC 452-07"):
        parse_operator("452-07")
    with pytest.raises(SchemaError, match="not Vietnam"):
        operator_from_mnc("01", mcc=310)


def test_enum_values_and_labels() -> None:
    assert [o.value for o in Operator] == ["viettel", "vinaphone", "mobifone", "vietnamobile"]
    assert Operator.MOBIFONE.label == "MobiFone"
    assert Operator.VIETTEL.mnc == "04"
    assert str(Operator.VINAPHONE) == "vinaphone"
