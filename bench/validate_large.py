"""Time and peak memory of ``phusong validate`` on a large CSV (default 2 million rows).

Writes a towers CSV of ``--rows`` rows (made-up positions in Lai Châu's box; one row in 997
has a height written in words, one in 5 003 repeats an earlier id, so rejects are written),
then runs ``phusong validate FILE --province lai-chau`` in a child process and prints the
wall time, the child's peak resident memory (``ru_maxrss``), the rows per second and the
counts, which are checked against the rows planted: rows in = accepted + rejected.

Usage::

    python bench/validate_large.py                     # 2 000 000 rows under a temp folder
    python bench/validate_large.py --rows 200000 --keep /tmp/v

The goal of the issue: 2 M rows in at most 1 GiB of memory, with a progress bar.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_csv(path: Path, rows: int, *, seed: int = 0) -> tuple[int, int]:
    """Write the CSV; return (rows with a bad height, rows repeating an id)."""
    rng = np.random.default_rng(seed)
    owners = np.array(["viettel", "vinaphone", "mobifone", "vietnamobile"])
    power = np.array(["grid", "diesel", "solar", "hybrid"])
    bad = dup = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("tower_id,height_m,owner,power_source,lon,lat\r\n")
        block = 200_000
        for start in range(0, rows, block):
            n = min(block, rows - start)
            lon = rng.uniform(102.3, 103.9, n)
            lat = rng.uniform(21.7, 22.8, n)
            h = rng.integers(15, 60, n)
            own = owners[rng.integers(0, 4, n)]
            pw = power[rng.integers(0, 4, n)]
            lines = []
            for k in range(n):
                i = start + k
                tid = f"T{i:07d}"
                if i % 5003 == 4999:  # repeats the id of a row 10 lines up
                    tid = f"T{i - 10:07d}"
                    dup += 1
                height = h[k]
                if i % 997 == 500 and i % 5003 != 4999:
                    height = "ba mươi"
                    bad += 1
                lines.append(f"{tid},{height},{own[k]},{pw[k]},{lon[k]:.6f},{lat[k]:.6f}\r\n")
            fh.write("".join(lines))
    return bad, dup


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="Work folder to keep.")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="phusong-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / "towers.csv"
    t0 = time.perf_counter()
    bad, dup = write_csv(csv_path, args.rows)
    print(f"wrote {csv_path} ({csv_path.stat().st_size / 2**20:.0f} MiB, {args.rows:,} rows) "
          f"in {time.perf_counter() - t0:.1f} s")
    out = work / "rejects"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-c", "import sys; from phusong.analysis.cli import main; "
           "main(sys.argv[1:])", "validate", str(csv_path), "--province", "lai-chau",
           "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ,
                                                                     "COLUMNS": "120"})
    wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak_kib < before:  # pragma: no cover - ru_maxrss is a maximum over children
        peak_kib = before
    print(proc.stdout[-3000:])
    if proc.returncode not in (0, 2):
        print(proc.stderr[-3000:])
        raise SystemExit(f"validate failed with exit status {proc.returncode}")
    rejects = out / "rejects_towers.csv"
    with open(rejects, encoding="utf-8-sig") as fh:
        n_rejected = sum(1 for _ in fh) - 1
    print(f"rows: {args.rows:,}; planted bad heights {bad}, repeated ids {dup}; rejects file "
          f"rows {n_rejected} (expected {bad + dup})")
    print(f"validate: {wall:.1f} s wall, {args.rows / wall:,.0f} rows/s, peak RSS "
          f"{peak_kib / 2**20:.2f} GiB ({peak_kib / 1024:.0f} MiB); exit status "
          f"{proc.returncode}")
    if n_rejected != bad + dup:
        raise SystemExit("the rejects file does not hold the planted rows")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
