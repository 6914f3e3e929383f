"""Outputs are written atomically: a run killed midway leaves the old file or the new one.

``phusong demo`` (mini preset at half scale, radius model) runs once to completion, then is
started again and killed with SIGKILL at seeded moments: twice while a chosen output's
temporary file exists (the kill lands inside that write: the GeoPackage of the bundle, then a
table — or the run completes, when that table is written inside the run's hidden staging
folder) and once at a random time. The analyses' outputs are a staged set
(:class:`gis.atomic.StagedOutputs`): a killed run leaves its hidden staging folder, which the
next run removes. After each
kill every output present is byte-identical to the old one or a complete new one (XLSX opens
with openpyxl and every cell reads, GeoTIFF reads fully with rasterio, GeoPackage lists and
reads its layers with pyogrio, HTML ends with ``</html>``, CSV rows all have the header's
width and end with CRLF, GeoJSON parses, PNG decodes); no output is missing. Each run has its
own ``PYTHONHASHSEED``, and every file a killed run managed to replace is byte-identical to the
baseline's, except the three that carry their moment (:data:`MOMENT_FILES`): outputs are
reproducible across processes, not only within one.

A killed process cannot remove its temporary file. Decision: such files may remain, but they
are hidden (``.<stem>.<pid>.<random>.part<suffix>``) and name the dead writer's pid, so that
they are never mistaken for outputs (``glob("*.xlsx")`` in a shell or :func:`glob.glob` skips
dot-files); the next atomic write of the same target removes them
(:func:`gis.atomic._remove_stale_temps`): the test rewrites each such target once and checks
that no temp file is left.

The unit tests of :mod:`gis.atomic` are at the end.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phusong.gis.atomic import (
    STAGE_PREFIX,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    recover_stages,
)
from phusong.gis.errors import OutputExistsError

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2027-06-30"
#: outputs whose bytes carry the moment they were made: the GeoPackage's gpkg_contents
#: last_change, the report's "made at" line, folium's random element ids in the map
MOMENT_FILES = {"bundle.gpkg", "report.html", "map.html"}
TEMP = re.compile(r"^\.(?P<stem>.+)\.(?P<pid>\d+)\.[a-z0-9_]+\.part(?P<suffix>\.[^.]+)$")


def _demo_cmd(out: Path) -> list[str]:
    return [sys.executable, "-c", "import sys; from analysis.cli import main; main(sys.argv[1:])",
            "demo", "--preset", "mini", "--scale", "0.5", "--seed", "1", "--model", "radius",
            "--as-of", AS_OF, "--out", str(out), "--overwrite"]


def _scan(folder: Path) -> tuple[dict[str, Path], list[Path]]:
    """``(outputs by relative path, hidden files)`` under ``folder`` (a file inside a hidden
    folder — a run's staging folder — is hidden too)."""
    outputs, hidden = {}, []
    for p in folder.rglob("*"):
        if p.is_file():
            rel = p.relative_to(folder)
            if any(part.startswith(".") for part in rel.parts):
                hidden.append(p)
            else:
                outputs[str(rel)] = p
    return outputs, hidden


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_complete(path: Path) -> None:
    """Raise unless ``path`` is a whole file of its format."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        n = sum(1 for ws in wb.worksheets for row in ws.iter_rows() for _ in row)
        wb.close()
        assert n > 0
    elif suffix == ".tif":
        import rasterio

        with rasterio.open(path) as src:
            data = src.read()
            assert data.shape == (src.count, src.height, src.width)
    elif suffix == ".gpkg":
        import pyogrio

        layers = pyogrio.list_layers(path)
        assert len(layers)
        for name, _ in layers:
            pyogrio.read_dataframe(path, layer=name)
    elif suffix == ".html":
        assert path.read_text(encoding="utf-8").rstrip().endswith("</html>")
    elif suffix == ".csv":
        text = path.read_bytes().decode("utf-8-sig")
        assert text.endswith("\r\n")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows and all(len(r) == len(rows[0]) for r in rows)
    elif suffix in (".geojson", ".json"):
        assert "features" in json.loads(path.read_text(encoding="utf-8"))
    elif suffix == ".png":
        from PIL import Image

        with Image.open(path) as img:
            img.load()
    elif suffix == ".txt":
        assert path.read_text(encoding="utf-8").endswith("\n")
    else:
        raise AssertionError(f"{path}: no completeness check for {suffix!r}")


def _run(cmd: list[str], folders: list[Path], *, kill_at_s: float | None = None,
         kill_on_temp_of: str | None = None, timeout_s: float = 300,
         hash_seed: int = 0) -> tuple[int, bool, bool]:
    """Run ``cmd``; SIGKILL it at ``kill_at_s`` or as soon as a temp of ``kill_on_temp_of``
    shows in one of ``folders``. Returns ``(pid, killed, missed)``.

    On sight of the temp the run is frozen (SIGSTOP) and the folders listed again: the kill
    lands only if the temp is still there (the write not finished); otherwise the run goes on
    (SIGCONT) and may complete unkilled, ``missed`` telling so."""
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}  # set/dict order differs per run
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    t0 = time.monotonic()
    prefix = suffix = None
    if kill_on_temp_of:
        stem, suffix = os.path.splitext(kill_on_temp_of)
        prefix = f".{stem}.{proc.pid}."
        suffix = f".part{suffix}"
    killed = missed = False

    def temp_present() -> bool:
        names = []
        for folder in folders:
            try:
                names += os.listdir(folder)
            except FileNotFoundError:
                pass
        return any(n.startswith(prefix) and suffix in n for n in names)

    while proc.poll() is None:
        now = time.monotonic() - t0
        if now > timeout_s:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{cmd} ran past {timeout_s} s")
        if kill_at_s is not None and now >= kill_at_s:
            proc.kill()
            killed = True
            break
        if prefix is not None and temp_present():
            proc.send_signal(signal.SIGSTOP)
            if temp_present():
                proc.kill()
                killed = True
                break
            proc.send_signal(signal.SIGCONT)  # the write had just ended
            missed = True
        time.sleep(0.001 if prefix is not None else 0.02)
    proc.wait()
    if not killed:
        assert proc.returncode == 0, f"{cmd} failed ({proc.returncode})"
    return proc.pid, killed, missed


@pytest.mark.slow  # ~75 s: a dozen demo runs, each killed in the middle of a write
def test_killed_run_leaves_old_or_new_files(tmp_path, record_property):
    out = tmp_path / "demo"
    sample = out / "mini-sample"
    cmd = _demo_cmd(out)
    folders = [sample, sample / "coverage", sample / "rollout"]
    t0 = time.monotonic()
    _run(cmd, folders)
    duration_s = time.monotonic() - t0
    old, hidden = _scan(sample)
    assert not hidden, hidden
    names = {Path(k).name for k in old}
    for name in ("bundle.gpkg", "dem.tif", "map.html", "report.xlsx", "gaps_all.xlsx",
                 "rollout_sites.geojson", "village_status.csv", "coverage_viettel_4G.tif",
                 "rollout_curve.png"):
        assert name in names, name
    old_hash = {k: _digest(p) for k, p in old.items()}
    rng = random.Random(20261123)
    # outputs that GDAL writes in place (long enough a window to land in)
    mid = rng.choice(["gaps_viettel.geojson", "coverage_viettel_4G.tif",
                      "rollout_sites.geojson", "gaps_mobifone.geojson"])
    plan = [("temp", "bundle.gpkg"), ("temp", mid), ("time", rng.uniform(0.2, 0.8) * duration_s)]
    outcomes, leftovers, dead, stages = [], {}, set(), set()
    for run, (kind, what) in enumerate(plan, start=1):
        for attempt in range(4):  # a temp seen but gone when frozen: again
            pid, killed, missed = _run(cmd, folders, hash_seed=10 * run + attempt,
                                       **({"kill_at_s": what} if kind == "time"
                                          else {"kill_on_temp_of": what}))
            dead.add(pid)
            if not missed:
                break
        now, hidden = _scan(sample)
        assert set(now) == set(old), sorted(set(old) ^ set(now))  # nothing lost, nothing new
        same = [k for k, p in now.items() if _digest(p) == old_hash[k]]
        new = [k for k in now if k not in same]
        # what a killed run managed to replace is byte-identical to the baseline (another
        # process, another hash seed), but for the files that carry their moment
        assert {Path(k).name for k in new} <= MOMENT_FILES, new
        for k in new:
            try:
                _check_complete(now[k])
            except Exception as exc:  # name the broken file
                raise AssertionError(f"{k}: half-written after a kill ({exc!r})") from None
        for p in hidden:  # leftovers: hidden temps of known outputs, named after the dead pid
            stage = next((a for a in p.relative_to(sample).parents
                          if a.name.startswith(STAGE_PREFIX)), None)
            if stage is not None:  # a killed run's staged set: never visible, cleaned later
                pid = int(stage.name[len(STAGE_PREFIX):].split(".")[0])
                assert pid in dead, p
                stages.add(sample / stage)
                continue
            m = TEMP.match(p.name)
            assert m, p
            assert int(m["pid"]) in dead, p  # a killed writer's (not a live process's)
            target = p.parent / (m["stem"] + m["suffix"])
            assert str(target.relative_to(sample)) in old, p
            leftovers[p] = target
        outcomes.append(f"{kind}:{what if kind == 'temp' else round(what, 1)} "
                        f"killed={killed} same={len(same)} new={sorted(new)} "
                        f"temps_left={len(hidden)}")
    print(f"baseline {duration_s:.1f} s, {len(old)} outputs; " + "; ".join(outcomes))
    record_property("kills", outcomes)
    assert sum("killed=True" in o for o in outcomes) >= 2
    assert leftovers or stages, "no kill landed inside a write"
    # the next write of the same target removes a dead run's temp (a whole re-run would do
    # the same for every target; one write each is enough and far cheaper), and the next
    # staged run removes a dead run's staging folder (recover_stages, called at its start)
    for tmp, target in leftovers.items():
        atomic_write_bytes(target, target.read_bytes())
        assert not tmp.exists(), tmp
    if stages:
        assert set(recover_stages(sample)) == stages
    assert not _scan(sample)[1]


# -- unit tests of gis.atomic ------------------------------------------------------------------

def test_exception_inside_the_block_leaves_the_old_file(tmp_path):
    target = tmp_path / "table.csv"
    target.write_bytes(b"old\r\n")
    with pytest.raises(RuntimeError, match="writer failed"):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.name.startswith(".table.")
            assert tmp.name.endswith(".part.csv")
            tmp.write_bytes(b"half a fi")
            raise RuntimeError("writer failed")
    assert target.read_bytes() == b"old\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_writer_that_writes_nothing_leaves_the_old_file(tmp_path):
    target = tmp_path / "map.html"
    target.write_text("<html>old</html>")
    with pytest.raises(FileNotFoundError, match="produced no file"):
        with atomic_path(target):
            pass
    assert target.read_text() == "<html>old</html>"


def test_refuses_to_overwrite_without_the_flag(tmp_path):
    target = atomic_write_text(tmp_path / "summary.txt", "one\n")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        atomic_write_text(target, "two\n", overwrite=False)
    assert target.read_text() == "one\n"
    atomic_write_bytes(target, b"two\n", overwrite=True)
    assert target.read_text() == "two\n"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temps_of_dead_runs_are_removed(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f".gaps_viettel.{dead}.ab12_x9z.part.xlsx"
    sidecar = tmp_path / f".bundle.{dead}.k3j_0qpz.part.gpkg-journal"
    live = tmp_path / f".gaps_viettel.{os.getppid()}.zz99abcd.part.xlsx"  # a running process
    other = tmp_path / f".gaps_vinaphone.{dead}.ab12_x9z.part.xlsx"  # another target
    lookalike = tmp_path / "gaps_viettel.123.ab.part.xlsx"  # not hidden: not ours
    for p in (stale, sidecar, live, other, lookalike):
        p.write_bytes(b"PK\x03\x04 half")
    atomic_write_bytes(tmp_path / "gaps_viettel.xlsx", b"new")
    assert not stale.exists()
    assert live.exists() and other.exists() and lookalike.exists() and sidecar.exists()
    atomic_write_bytes(tmp_path / "bundle.gpkg", b"new")
    assert not sidecar.exists()
    assert (tmp_path / "gaps_viettel.xlsx").read_bytes() == b"new"
