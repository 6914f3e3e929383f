"""Fixtures of the hardening tests: the hostile mini province and whole-pipeline runs on it.

Each pipeline run happens once per session and is shared by the escaping and determinism
tests (``evil_run("radius", 0)`` is the run the escaping test reads; ``evil_run("radius", 1)``
is its twin for the byte comparison).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def load_evil():
    """The helper module ``_evil.py`` of this folder (tests run with importlib import mode)."""
    name = "_hardening_evil"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_evil.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def evil():
    return load_evil()


@pytest.fixture(scope="session")
def evil_bundle_dir(tiny_bundle_dir, tmp_path_factory):
    """``(folder, {village_id: hostile name})`` of the hostile copy of the mini sample."""
    folder = tmp_path_factory.mktemp("evil") / "bundle"
    _, white = load_evil().make_evil_bundle(folder, source=tiny_bundle_dir)
    return folder, white


@pytest.fixture(scope="session")
def evil_run(evil_bundle_dir, tmp_path_factory):
    """``evil_run(model, k)``: the k-th pipeline run of the hostile bundle (cached)."""
    from phusong.analysis.pipeline import run_pipeline
    from phusong.layers.bundle import read_bundle
    from phusong.layers.settings import DEFAULT

    cache: dict = {}
    # a fixed date: the 2G switch-off changes statuses, and two runs must see the same day
    settings = DEFAULT.replace(as_of=load_evil().AS_OF)

    def run(model: str, k: int):
        key = (model, k)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"run_{model}_{k}")
            cache[key] = run_pipeline(read_bundle(evil_bundle_dir[0]), out, model=model,
                                      settings=settings)
        return cache[key]

    return run
