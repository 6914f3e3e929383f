"""Real public data in: time and count every step of a bundle built from national files.

Reads the files of ``../shared/realdata`` in place (the post-2025 communes of seven provinces,
Geofabrik's 2018 OSM shapefiles of all Vietnam, the SRTM tile N21E105) and, for each province
asked for, runs ``phusong build`` (admin by name from the multi-province file, OSM from the
national shapefiles, the DEM when the tile covers the area) and ``phusong analyse``, printing
rows in / accepted / rejected per layer, wall seconds per step and peak RSS.

Usage::

    .venv/bin/python bench/realdata_import.py                          # Tuyên Quang in the tile
    .venv/bin/python bench/realdata_import.py --province "Lai Châu" --no-clip
    .venv/bin/python bench/realdata_import.py --all                    # the seven provinces
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/coverage.py would shadow the coverage package some dependencies import
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
PROVINCES = ("Tuyên Quang", "Lai Châu", "Điện Biên", "Lạng Sơn", "Cao Bằng", "Sơn La",
             "Lào Cai")


def _realdata() -> Path:
    env = os.environ.get("PHUSONG_REALDATA")
    for p in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "realdata",
                                              ROOT.parent.parent / "shared" / "realdata"]:
        if (p / "dem" / "N21E105.hgt").exists():
            return p
    raise SystemExit("real data folder not found: set PHUSONG_REALDATA")


def run(province: str, *, clip: bool, real: Path, out: Path) -> None:
    from phusong.analysis.analyses import run_analyses  # noqa: F401  (import cost out of timing)
    from phusong.layers.bundle import read_bundle
    from phusong.layers.importers.build import build_bundle, summary_frame

    admin = real / "boundaries_post2025" / "post2025_communes_7provinces.geojson"
    osm = real / "osm_geofabrik_vietnam_2018-01-03"
    box = (105.0, 21.0, 106.0, 22.0)
    t0 = time.perf_counter()
    reports = build_bundle(out, admin=admin, province=province, osm=osm,
                           dem=[real / "dem" / "N21E105.hgt"] if clip else None,
                           clip_lonlat=box if clip else None, overwrite=True)
    t_build = time.perf_counter() - t0
    table = summary_frame(reports)
    print(f"\n== {province}{' (inside N21E105)' if clip else ''}: build {t_build:.1f} s")
    print(table[["layer", "in", "accepted", "rejected", "warnings"]].to_string(index=False))
    from click.testing import CliRunner

    from phusong.analysis.cli import phusong

    t0 = time.perf_counter()
    res = CliRunner().invoke(phusong, ["analyse", str(out), "-o", str(out / "outputs"), "-q",
                                       "--overwrite"])
    t_an = time.perf_counter() - t0
    t0 = time.perf_counter()
    res_map = CliRunner().invoke(phusong, ["map", str(out), "-o", str(out / "outputs"), "-q",
                                           "--overwrite"])
    t_map = time.perf_counter() - t0
    for r in (res, res_map):
        if r.exit_code:
            print(repr(r.exception) if r.exception else r.output.strip()[-300:])
    b = read_bundle(out)
    print(f"analyse {t_an:.1f} s (exit {res.exit_code}), map {t_map:.1f} s "
          f"(exit {res_map.exit_code}); bundle: "
          + ", ".join(f"{k} {v}" for k, v in b.counts().items()))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--province", default="Tuyên Quang")
    ap.add_argument("--no-clip", action="store_true", help="the whole province, no DEM")
    ap.add_argument("--all", action="store_true", help="every province of the file, no DEM")
    args = ap.parse_args(argv)
    real = _realdata()
    provinces = PROVINCES if args.all else (args.province,)
    with tempfile.TemporaryDirectory(prefix="phusong-bench-") as tmp:
        for i, prov in enumerate(provinces):
            clip = not (args.no_clip or args.all)
            run(prov, clip=clip, real=real, out=Path(tmp) / f"b{i}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
