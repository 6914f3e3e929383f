"""Benchmark: the sample province one year on, and the comparison of the two snapshots.

Usage::

    .venv/bin/python bench/compare.py [--preset lai-chau] [--scale 0.5] [--seed 0]

Generates the preset, evolves it one year (seeds.evolve), computes both snapshots' village
status with the radius model, compares them and writes every output (map included). Prints
the wall time of each step, the peak RSS and the province's headline changes.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

# bench/ holds a coverage.py: keep it off sys.path, or numba's "import coverage" finds it
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="lai-chau")
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from phusong.analysis.compare.changes import (
        Snapshot,
        compare_bundles,
        snapshot_date,
        snapshot_label,
    )
    from phusong.analysis.compare.outputs import write_comparison
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.layers.settings import DEFAULT
    from phusong.seeds.evolve import evolve_sample, write_evolution
    from phusong.seeds.sample import generate_sample

    times: dict[str, float] = {}

    def step(name, fn):
        t0 = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t0
        return out

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        old = step("generate", lambda: generate_sample(args.preset, seed=args.seed,
                                                        scale=args.scale, out=root / "old"))
        new = step("evolve", lambda: write_evolution(evolve_sample(old, seed=args.seed + 1),
                                                     root / "new"))
        snaps = []
        for name, b in (("status_old", old), ("status_new", new)):
            s = DEFAULT.replace(as_of=snapshot_date(b))
            st = step(name, lambda b=b, s=s: village_status(
                b, compute_coverage(b, model="radius", settings=s), settings=s))
            snaps.append(Snapshot(b, st, s, label=snapshot_label(b, s)))
        cmp = step("compare", lambda: compare_bundles(*snaps))
        step("write", lambda: write_comparison(cmp, root / "out", new_bundle=new,
                                               new_status=snaps[1].status, old_bundle=old))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.preset} scale {args.scale}: {len(old['villages'])} villages, "
          f"{len(old['towers'])} towers, {len(old['bts'])} BTS, "
          f"{len(old['fibre_routes'])} cable routes")
    for k, v in times.items():
        print(f"  {k:<11} {v:7.2f} s")
    print(f"  peak RSS    {rss_mb:7.0f} MB")
    p = cmp.units["province"].iloc[0]
    print(f"  white cleared {p['cleared_white_text']}, lõm cleared {p['cleared_lom_text']}, "
          f"lost signal {p['lost_signal']}, towers +{p['towers_added']}, "
          f"BTS +{p['bts_added']} −{p['bts_removed']}")


if __name__ == "__main__":
    main()
