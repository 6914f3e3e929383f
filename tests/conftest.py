"""Shared fixtures: a tiny generated sample province.

``tiny_bundle_dir`` is a folder written once per test session by the sample generator (preset
``mini``, seed 1: ~40 villages on ~15 × 15 km, 8 towers of all four operators, a 30 m DEM);
``tiny_bundle`` is that folder read back as a :class:`~layers.bundle.ProvinceBundle`. Tests
must not modify the files; copy the folder (``shutil.copytree``) to change anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from phusong.layers.bundle import ProvinceBundle, read_bundle


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of the generated mini sample province (bundle.gpkg + dem.tif)."""
    from phusong.seeds.sample import generate_sample

    folder = tmp_path_factory.mktemp("tiny") / "mini-sample"
    generate_sample("mini", seed=1, out=folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bundle(tiny_bundle_dir: Path) -> ProvinceBundle:
    """The mini sample province read back with :func:`layers.bundle.read_bundle`."""
    return read_bundle(tiny_bundle_dir)
