"""Each package's __all__ lists exactly what it exports, and every name resolves."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("name", ["phusong", "phusong.gis", "phusong.layers", "phusong.analysis", "phusong.seeds"])
def test_all_is_explicit_and_every_name_loads(name: str) -> None:
    pkg = importlib.import_module(name)
    assert sorted(pkg.__all__) == sorted(pkg._WHERE)
    for attr in pkg.__all__:
        assert getattr(pkg, attr) is not None
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        pkg.nope  # noqa: B018
