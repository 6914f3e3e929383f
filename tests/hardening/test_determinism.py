"""Same inputs and seed give byte-identical gap lists and rollout lists.

* The whole pipeline runs twice on the same (hostile) mini bundle into two folders: every gap
  list and rollout list (XLSX, CSV, GeoJSON) is byte-identical (``filecmp.cmp(shallow=False)``),
  and so is every other output except the two pages that carry, by design, something of the
  moment: ``report.html`` prints when it was made ("Lập lúc"), and ``map.html`` holds folium's
  random element ids (``map_<uuid4>``). Those two are compared with the moment masked.
* The terrain model gives bit-identical dBm fields and site × village matrices twice over
  (the numba kernel runs threads; their order must not leak into the floats).
* The sample generator with the same preset and seed gives the same layers and identical
  ``dem.tif`` and ``population.tif`` bytes.
"""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import numpy as np
import pytest

from phusong.layers.bundle import read_bundle

#: outputs that carry the moment they were made, by design (compared masked)
MOMENT_PAGES = {"map.html", "report.html"}


def _files(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def _masked(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"_[0-9a-f]{32}(?![0-9a-f])", "_<id>", text)  # folium element ids (uuid4 hex)
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", "<time>", text)  # "made at"


@pytest.fixture(scope="module")
def twins(evil_run):
    a, b = evil_run("radius", 0), evil_run("radius", 1)
    return _files(a.out), _files(b.out)


def test_gap_and_rollout_lists_byte_identical(twins):
    fa, fb = twins
    lists = [k for k in fa if re.match(r"(gaps_|rollout/rollout_)", k)
             and k.endswith((".xlsx", ".csv", ".geojson"))]
    assert len(lists) >= 4 * 3 + 1 + 5, lists  # 4 operators × 3 formats, gaps_all, rollout
    assert set(fa) == set(fb)
    differ = [k for k in lists if not filecmp.cmp(fa[k], fb[k], shallow=False)]
    assert not differ, differ


def test_every_other_output_identical_but_the_moment(twins):
    fa, fb = twins
    differ = {k for k in fa if not filecmp.cmp(fa[k], fb[k], shallow=False)}
    assert differ <= MOMENT_PAGES, sorted(differ - MOMENT_PAGES)
    for k in MOMENT_PAGES:
        assert _masked(fa[k]) == _masked(fb[k]), k


def test_terrain_model_bit_identical(evil_bundle_dir, evil):
    from phusong.analysis.coverage.engine import compute_coverage, site_village_matrix
    from phusong.layers.settings import DEFAULT

    settings = DEFAULT.replace(as_of=evil.AS_OF)
    bundle = read_bundle(evil_bundle_dir[0])
    runs = [compute_coverage(bundle, model="terrain", settings=settings) for _ in range(2)]
    assert runs[0].best_dbm.keys() == runs[1].best_dbm.keys()
    for key, arr in runs[0].best_dbm.items():
        other = runs[1].best_dbm[key]
        assert arr.tobytes() == other.tobytes(), key  # bitwise, NaN included
    sites = bundle.layers["bts"]
    mats = [site_village_matrix(sites, bundle.layers["villages"], dem=bundle.dem_path,
                                settings=settings, model="terrain") for _ in range(2)]
    assert mats[0].nnz > 0
    assert (mats[0] != mats[1]).nnz == 0


def test_sample_generator_same_seed_same_bytes(tiny_bundle_dir, tmp_path):
    from geopandas.testing import assert_geodataframe_equal

    from phusong.seeds.sample import generate_sample

    again = generate_sample("mini", seed=1, out=tmp_path / "again")
    for name in ("dem.tif", "population.tif"):
        assert filecmp.cmp(tiny_bundle_dir / name, tmp_path / "again" / name, shallow=False), name
    first = read_bundle(tiny_bundle_dir)
    assert first.layers.keys() == again.layers.keys()
    for name, gdf in first.layers.items():
        assert_geodataframe_equal(gdf, again.layers[name], check_less_precise=False), name
    assert {k: v for k, v in first.meta.items() if k != "folder"} == \
        {k: v for k, v in again.meta.items() if k != "folder"}
    # a different seed is a different province (the comparison above can fail)
    other = generate_sample("mini", seed=2, out=tmp_path / "other")
    assert not filecmp.cmp(tiny_bundle_dir / "dem.tif", tmp_path / "other" / "dem.tif",
                           shallow=False)
    assert not np.array_equal(first.layers["villages"]["population"].to_numpy(),
                              other.layers["villages"]["population"].to_numpy())


def test_rerun_over_old_outputs_leaves_no_stale_file(evil_run, tiny_bundle_dir, evil, tmp_path):
    """A clean run with ``overwrite`` over the hostile run's folder rewrites every file and
    removes the old run's rejects list: none of the old run's lists (gap lists, rejects…)
    survives to mislead a reader."""
    import shutil
    import time

    from phusong.analysis.pipeline import run_pipeline
    from phusong.layers.settings import DEFAULT

    out = tmp_path / "out"
    shutil.copytree(evil_run("radius", 0).out, out)
    before = _files(out)
    assert "rejects/rejects_villages.csv" in before
    time.sleep(0.01)
    start_ns = time.time_ns()
    run_pipeline(read_bundle(tiny_bundle_dir), out, model="radius", overwrite=True,
                 settings=DEFAULT.replace(as_of=evil.AS_OF))
    after = _files(out)
    # the clean bundle rejects nothing: the old run's rejects list is removed with its set
    assert set(after) == set(before) - {"rejects/rejects_villages.csv"}
    stale = [k for k, p in after.items() if p.stat().st_mtime_ns < start_ns]
    assert not stale, stale
    assert not (out / "rejects" / "rejects_villages.csv").exists()
