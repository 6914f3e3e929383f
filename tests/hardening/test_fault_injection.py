"""One run = one atomic set of outputs, whatever fails at whatever write.

* Every output kind (GeoTIFF, CSV, XLSX, GeoJSON, HTML, PNG, GeoPackage, rejects CSV) is
  written by its real writer into a staged set (:class:`gis.atomic.StagedOutputs`). A first
  run makes the previous set; then, for every write ``k`` of a second run, a failure is
  injected there — disk full (``ENOSPC``) or permission denied (``EACCES``) raised by the
  writer, the same raised by the rename that completes a file or swaps the set in, and Ctrl-C
  (``KeyboardInterrupt``). After each, the folder holds the previous set byte for byte and no
  temporary file; a rerun completes with the new set.
* A real full disk: a 1 MiB tmpfs (skipped where it cannot be mounted).
* ``kill -9`` of ``phusong rollout`` while it writes its staged files: the previous set stays
  visible; the dead run's hidden staging folder is removed by the next run, which completes.
  Ctrl-C (SIGINT) there: the previous set and nothing else.
* ``kill -9`` inside the swap itself: :func:`gis.atomic.recover_stages` finishes it from the
  manifest at the next start (the new set, complete).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import phusong.gis.atomic as atomic
from phusong.gis.atomic import STAGE_PREFIX, StagedOutputs, recover_stages, staged_outputs

KINDS = ("tif", "csv", "xlsx", "geojson", "html", "png", "gpkg", "rejects")
PATTERNS = ("coverage.tif", "table.csv", "tables.xlsx", "sites.geojson", "map.html",
            "curve.png", "bundle.gpkg", "rejects/rejects_towers.csv")


def write_every_kind(folder: Path, version: int) -> None:
    """One file of every output kind, by the writer phusong uses for it."""
    import affine
    import geopandas as gpd
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from phusong.analysis.export import write_table, write_tables
    from phusong.gis.atomic import atomic_path, atomic_write_text
    from phusong.gis.dem import write_raster
    from phusong.layers.bundle import ProvinceBundle, write_bundle
    from phusong.layers.io import write_layer
    from phusong.layers.validate import validate_layer, write_rejects

    z = np.arange(16, dtype="float32").reshape(4, 4) + version
    write_raster(folder / "coverage.tif", z, affine.Affine(30, 0, 520000, 0, -30, 2480000),
                 "EPSG:9205", overwrite=True)
    df = pd.DataFrame({"village_id": ["V1", "V2"], "population": [100 + version, 200]})
    write_table(df, folder / "table.csv", headers="raw", overwrite=True)
    write_tables({"A": df, "B": df}, folder / "tables.xlsx", headers="raw", overwrite=True)
    pts = gpd.GeoDataFrame({"site": [f"S{version}"]},
                           geometry=gpd.points_from_xy([103.2], [22.3]), crs=4326)
    write_layer(pts, folder / "sites.geojson", overwrite=True)
    atomic_write_text(folder / "map.html", f"<html><body>{version}</body></html>\n")
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, version])
    with atomic_path(folder / "curve.png") as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    towers = gpd.GeoDataFrame({"tower_id": ["T1", "T2"], "height_m": [30.0, -1.0 - version],
                               "owner": ["viettel", "viettel"], "power_source": ["grid"] * 2},
                              geometry=gpd.points_from_xy([103.1, 103.2], [22.3, 22.4]),
                              crs=4326)
    write_bundle(ProvinceBundle(layers={"towers": towers}, meta={"v": str(version)}),
                 folder / "bundle.gpkg", overwrite=True)
    write_rejects(validate_layer(towers, "towers"), folder / "rejects", overwrite=True)


def snapshot(folder: Path) -> dict[str, str]:
    """Every visible file (relative path → sha256); hidden entries are listed as such."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            out[str(rel)] = "HIDDEN"
        elif p.is_file():
            out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_set(target: Path, version: int) -> None:
    with staged_outputs(target, patterns=PATTERNS) as stage:
        write_every_kind(stage.path, version)


def count_calls(target: Path, monkeypatch) -> tuple[int, int]:
    """(atomic writes, os.replace calls) of one clean run."""
    writes = replaces = 0
    real_path, real_replace = atomic.atomic_path, os.replace

    @contextlib.contextmanager
    def counting_path(*a, **k):
        nonlocal writes
        writes += 1
        with real_path(*a, **k) as tmp:
            yield tmp

    def counting_replace(src, dst):
        nonlocal replaces
        replaces += 1
        return real_replace(src, dst)

    with monkeypatch.context() as m:
        m.setattr(atomic, "atomic_path", counting_path)
        m.setattr(atomic.os, "replace", counting_replace)
        _patch_writers(m, counting_path)
        run_set(target, 99)
    return writes, replaces


def _patch_writers(m, fake) -> None:
    """The writers import atomic_path by name: patch their references too."""
    import phusong.analysis.export as export
    import phusong.gis.dem as dem
    import phusong.layers.bundle as bundle
    import phusong.layers.io as lio

    for mod in (dem, export, bundle, lio):
        if hasattr(mod, "atomic_path"):
            m.setattr(mod, "atomic_path", fake)
    m.setattr(atomic, "atomic_path", fake)


FAILURES = {
    "ENOSPC": lambda p: OSError(errno.ENOSPC, "No space left on device", str(p)),
    "EACCES": lambda p: PermissionError(errno.EACCES, "Permission denied", str(p)),
    "Ctrl-C": lambda p: KeyboardInterrupt(),
}


def test_every_kind_is_written(tmp_path):
    run_set(tmp_path / "out", 1)
    snap = snapshot(tmp_path / "out")
    assert set(snap) == {"coverage.tif", "table.csv", "tables.xlsx", "sites.geojson",
                         "map.html", "curve.png", "bundle.gpkg", "rejects/rejects_towers.csv"}
    assert "HIDDEN" not in snap.values()


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failure_at_every_write_leaves_the_previous_set(tmp_path, monkeypatch, failure):
    target = tmp_path / "out"
    run_set(target, 1)
    before = snapshot(target)
    assert "HIDDEN" not in before.values()
    n_writes, n_replaces = count_calls(tmp_path / "count", monkeypatch)
    assert n_writes >= len(KINDS)
    make = FAILURES[failure]
    real_path, real_replace = atomic.atomic_path, os.replace

    # (a) the writer fails while writing its k-th file
    for k in range(n_writes):
        calls = 0

        @contextlib.contextmanager
        def failing_path(path, *a, k=k, **kw):
            nonlocal calls
            calls += 1
            with real_path(path, *a, **kw) as tmp:
                yield tmp
                if calls == k + 1:
                    Path(tmp).write_bytes(b"half")  # a part written, then the disk is full
                    raise make(tmp)

        with monkeypatch.context() as m:
            _patch_writers(m, failing_path)
            with pytest.raises((OSError, KeyboardInterrupt)):
                run_set(target, 2)
        assert snapshot(target) == before, (failure, "write", k)

    # (b) the rename that completes a file, or one of the swap, fails
    for k in range(n_replaces):
        calls = 0

        def failing_replace(src, dst, k=k):
            nonlocal calls
            calls += 1
            if calls == k + 1:
                raise make(dst)
            return real_replace(src, dst)

        with monkeypatch.context() as m:
            m.setattr(atomic.os, "replace", failing_replace)
            with pytest.raises((OSError, KeyboardInterrupt)):
                run_set(target, 2)
        assert snapshot(target) == before, (failure, "rename", k)

    run_set(target, 2)  # the rerun completes
    after = snapshot(target)
    assert set(after) == set(before) and "HIDDEN" not in after.values()
    assert after["map.html"] != before["map.html"]


def test_a_real_full_disk_leaves_the_previous_set(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        target = mnt / "out"
        run_set(target, 1)
        before = snapshot(target)
        import affine

        from phusong.gis.dem import write_raster

        with pytest.raises(OSError) as info:  # 4 MB of noise does not fit in 1 MiB
            with staged_outputs(target, patterns=PATTERNS) as stage:
                write_every_kind(stage.path, 2)
                noise = np.random.default_rng(0).random((1000, 1000)).astype("float32")
                write_raster(stage.path / "coverage.tif", noise,
                             affine.Affine(30, 0, 520000, 0, -30, 2480000), "EPSG:9205",
                             overwrite=True)
        assert "No space left on device" in str(info.value)
        assert str(info.value).startswith(str(target))  # names the file
        assert snapshot(target) == before
        run_set(target, 2)
        assert set(snapshot(target)) == set(before)
    finally:
        subprocess.run(["umount", str(mnt)], check=False, capture_output=True)


def test_a_swap_cut_by_kill_9_is_finished_at_the_next_start(tmp_path):
    """A manifest in a dead run's staging folder means the swap had begun: finish it."""
    target = tmp_path / "out"
    run_set(target, 1)
    stage = StagedOutputs(target, patterns=PATTERNS)
    stage.open()
    write_every_kind(stage.path, 2)
    files = stage.staged_files()
    (stage.path / "MANIFEST.json").write_text(json.dumps({"files": files, "remove": []}),
                                              encoding="utf-8")
    os.replace(stage.path / files[0], target / files[0])  # the swap got this far
    dead = target / f"{STAGE_PREFIX}999999.dead"  # a pid that does not run
    os.rename(stage.path, dead)
    half = snapshot(target)
    assert "HIDDEN" in half.values()
    assert recover_stages(target) == [dead]
    new = snapshot(target)
    assert "HIDDEN" not in new.values()
    run_set(tmp_path / "reference", 2)
    ref = snapshot(tmp_path / "reference")
    # every file is the version-2 one (the GeoPackage and the xlsx carry their write time)
    for name in ("map.html", "table.csv", "coverage.tif", "sites.geojson"):
        assert new[name] == ref[name], name
    assert set(new) == set(ref)


def test_a_dead_run_without_manifest_is_discarded(tmp_path):
    target = tmp_path / "out"
    run_set(target, 1)
    before = snapshot(target)
    dead = target / f"{STAGE_PREFIX}999999.half"
    dead.mkdir()
    (dead / "map.html").write_text("half", encoding="utf-8")
    run_set(target, 2)  # the next run cleans it and completes
    after = snapshot(target)
    assert "HIDDEN" not in after.values() and set(after) == set(before)


def _rollout_cmd(bundle: Path, out: Path) -> list[str]:
    # Ctrl-C handled as in a terminal even where the test runs with SIGINT ignored (a
    # background job of a non-interactive shell: its children inherit the ignoring)
    return [sys.executable, "-c", "import signal, sys; "
            "signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from phusong.analysis.cli import main; main(sys.argv[1:])", "rollout", str(bundle), "--model", "radius", "--budget",
            "20e9", "--overwrite", "-o", str(out), "-q"]


@pytest.mark.slow
def test_kill_9_or_ctrl_c_while_writing_leaves_the_previous_set_and_a_rerun_completes(tiny_bundle_dir,
                                                                            tmp_path):
    out = tmp_path / "out"
    subprocess.run(_rollout_cmd(tiny_bundle_dir, out), check=True, capture_output=True,
                   timeout=600)
    before = snapshot(out)
    assert len(before) >= 7 and "HIDDEN" not in before.values()
    for wanted, sig in ((1, signal.SIGKILL), (4, signal.SIGKILL), (2, signal.SIGINT)):
        # signal once the staging folder holds this many files, the run frozen (SIGSTOP)
        # while the test looks; a run that had begun its swap (manifest written) or ended is
        # not the case under test: run again. (A Ctrl-C whose KeyboardInterrupt a library
        # swallows still stops the commit: test_a_swallowed_ctrl_c_still_stops_the_commit.)
        for _attempt in range(6):
            proc = subprocess.Popen(_rollout_cmd(tiny_bundle_dir, out),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline and proc.poll() is None:
                    stages = list(out.glob(f"{STAGE_PREFIX}{proc.pid}.*"))
                    if stages and sum(1 for p in stages[0].rglob("*") if p.is_file()) >= wanted:
                        break
                    time.sleep(0.01)
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGSTOP)
                stages = list(out.glob(f"{STAGE_PREFIX}{proc.pid}.*"))
                writing = (proc.poll() is None and len(stages) == 1
                           and not (stages[0] / "MANIFEST.json").exists())
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)  # kill -9, or Ctrl-C
                    proc.send_signal(signal.SIGCONT)
                proc.wait(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
            if writing:
                break
            # the run went on to its swap; whatever the signal did, the set is whole
            # (a swap cut by kill -9 is finished from its manifest, as the next run would)
            recover_stages(out)
            done = snapshot(out)
            assert "HIDDEN" not in done.values() and set(done) == set(before)
            before = done
        else:
            pytest.fail(f"no run was caught with {wanted} staged file(s) before its swap")
        killed = snapshot(out)
        visible = {k: v for k, v in killed.items() if v != "HIDDEN"}
        assert visible == before, wanted  # the previous complete set, byte for byte
        if sig == signal.SIGINT:  # an interrupted run cleans up after itself
            assert killed == before and proc.returncode != 0
    subprocess.run(_rollout_cmd(tiny_bundle_dir, out), check=True, capture_output=True,
                   timeout=600)
    after = snapshot(out)
    assert "HIDDEN" not in after.values() and set(after) == set(before)


def test_a_swallowed_ctrl_c_still_stops_the_commit(tmp_path):
    """A Ctrl-C whose KeyboardInterrupt a library swallowed (numpy does, inside pandas, at
    some moments) is noted while a staged set is open: the commit raises it, and the previous
    set stays; a later set commits normally."""
    target = tmp_path / "out"
    run_set(target, 1)
    before = snapshot(target)
    handler = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        with pytest.raises(KeyboardInterrupt):
            with staged_outputs(target, patterns=PATTERNS) as stage:
                write_every_kind(stage.path, 2)
                try:  # what a library that swallows it does
                    signal.raise_signal(signal.SIGINT)
                    time.sleep(0.01)
                except KeyboardInterrupt:
                    pass
        assert snapshot(target) == before
        run_set(target, 2)  # the next set forgets the earlier Ctrl-C
        after = snapshot(target)
        assert "HIDDEN" not in after.values() and after["table.csv"] != before["table.csv"]
    finally:
        signal.signal(signal.SIGINT, handler)
