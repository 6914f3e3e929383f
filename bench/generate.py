"""Benchmark: generation time and peak memory of the sample province.

Usage::

    .venv/bin/python bench/generate.py [--preset lai-chau] [--seed 0] [--scale 1.0]

Prints wall time per step, total wall time, peak RSS (resident set size) of this process, the
DEM size and the radius-model coverage beside the reported ratios.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class _StepTimes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if record.name == "phusong.seeds.sample" and msg.startswith("build_"):
            self.lines.append(msg)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="lai-chau")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    handler = _StepTimes()
    log = logging.getLogger("phusong.seeds.sample")
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    from phusong.seeds.sample import generate_sample, sample_summary

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        bundle = generate_sample(args.preset, seed=args.seed, out=Path(tmp) / "b",
                                 scale=args.scale)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        dem_mb = Path(tmp, "b", "dem.tif").stat().st_size / 2**20
        gpkg_mb = Path(tmp, "b", "bundle.gpkg").stat().st_size / 2**20
        import rasterio

        with rasterio.open(Path(tmp, "b", "dem.tif")) as src:
            cells = src.width * src.height
        summary = sample_summary(bundle)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"preset {args.preset} seed {args.seed} scale {args.scale}")
    for line in handler.lines:
        print("  " + line)
    print(f"generation wall time: {wall:.1f} s (CPU {cpu:.1f} s)")
    print(f"peak RSS: {peak_mb:.0f} MiB")
    print(f"DEM: {cells:,} cells, {dem_mb:.1f} MiB; bundle.gpkg {gpkg_mb:.1f} MiB")
    print("counts: " + ", ".join(f"{k} {v}" for k, v in bundle.counts().items()))
    print(summary[["indicator", "sample", "target", "reported"]].to_string(index=False))


if __name__ == "__main__":
    main()
