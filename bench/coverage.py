"""Benchmark of the terrain coverage model against the field's open peers.

Runs, in one process and on the same DEM and sites:

1. **phusong** — :func:`analysis.coverage.compute_coverage` (terrain model, default path loss
   ``p526``: free space + Deygout over the taut string, per-RE link budget, 3GPP sectors; all
   or ``--sites`` BTS of the sample province, 30 m DEM, ``--max-radius-km`` 15 cap), then
   village status and ratios for the terrain and the radius model beside the reported
   figures.
2. **SPLAT!** (Debian ``splat``, v1.4.2) — ``splat-hd -L`` (path-loss map, Longley-Rice with
   ``-olditm``) for ``--peer-sites`` of the same sites at the same radius. SPLAT! reads SDF
   terrain: the DEM is resampled onto 1-arc-second SRTM tiles (``NxxEyyy.hgt``, 3601 × 3601
   big-endian int16, ≈ 30 m like the DEM) and converted with ``srtm2sdf-hd``.
3. **gdal_viewshed** (Debian ``gdal-bin``) — visibility only, on the same GeoTIFF, same
   observer/target heights, ``-md`` = the radius, curvature coefficient 1/k = 0.75.

It prints: BTS count, DEM cells, max radius, wall seconds, cell·sites per second, peak RSS,
and our time per site against theirs as ratios (their per-site time / ours).

Usage::

    .venv/bin/python bench/coverage.py                  # full sample province (Lai Châu)
    .venv/bin/python bench/coverage.py --sites 100      # quick run on 100 BTS
    .venv/bin/python bench/coverage.py --preset mini --peer-sites 1

A peer that is not installed is skipped and the line says so. On a many-core machine,
``taskset -c 0,1`` with ``NUMBA_NUM_THREADS=2`` stands for the 2-core target.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# this file is named coverage.py: keep bench/ off sys.path, or numba's "import coverage" finds it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _bundle(args):
    from phusong.layers.bundle import read_bundle

    if args.bundle:
        return read_bundle(args.bundle)
    folder = Path(args.workdir) / f"sample-{args.preset}-s{args.scale:g}"
    if not (folder / "bundle.gpkg").exists():
        from phusong.seeds.sample import generate_sample

        print(f"generating the sample province {args.preset!r} into {folder} ...", flush=True)
        generate_sample(args.preset, seed=0, out=folder, scale=args.scale)
    return read_bundle(folder)


# ------------------------------------------------------------------------------------ peers


def _write_hgt_tiles(dem, lonlat_bounds, folder: Path) -> list[Path]:
    """1-arc-second SRTM tiles covering ``lonlat_bounds``, resampled from the metric DEM."""
    import rasterio.warp
    from affine import Affine
    from rasterio.crs import CRS as RioCRS

    from phusong.gis.dem import fill_voids

    z = fill_voids(dem.elevation_m)
    lon0, lat0, lon1, lat1 = lonlat_bounds
    paths = []
    for lat in range(math.floor(lat0), math.floor(lat1) + 1):
        for lon in range(math.floor(lon0), math.floor(lon1) + 1):
            n = 3601
            step = 1.0 / 3600.0
            t = Affine(step, 0, lon - step / 2, 0, -step, lat + 1 + step / 2)
            out = np.full((n, n), np.nan, dtype=np.float32)
            rasterio.warp.reproject(
                source=z, destination=out, src_transform=dem.transform,
                src_crs=RioCRS.from_wkt(dem.crs.to_wkt()), dst_transform=t,
                dst_crs=RioCRS.from_epsg(4326), dst_nodata=np.nan,
                resampling=rasterio.warp.Resampling.bilinear)
            out = np.where(np.isfinite(out), out, 0.0)
            name = f"N{lat:02d}E{lon:03d}.hgt"
            p = folder / name
            p.write_bytes(np.rint(out).astype(">i2").tobytes())
            paths.append(p)
    return paths


def _run_splat(dem, sites_lonlat, heights, freqs, eirp_dbm, radius_km, workdir: Path,
               timeout_s: float) -> tuple[list[float], str]:
    """Seconds per site for ``splat-hd -L`` (or why it could not run)."""
    exe = shutil.which("splat-hd") or shutil.which("splat")
    conv = shutil.which("srtm2sdf-hd") if exe and exe.endswith("-hd") else shutil.which(
        "srtm2sdf")
    if not exe or not conv:
        return [], "SPLAT! not installed (apt-get install splat)"
    sdf = workdir / "sdf"
    sdf.mkdir(exist_ok=True)
    lon = sites_lonlat[:, 0]
    lat = sites_lonlat[:, 1]
    pad = radius_km / 100.0 + 0.05
    t0 = time.perf_counter()
    tiles = _write_hgt_tiles(dem, (lon.min() - pad, lat.min() - pad, lon.max() + pad,
                                   lat.max() + pad), sdf)
    for tile in tiles:
        r = subprocess.run([conv, tile.name], cwd=sdf, capture_output=True, text=True,
                           timeout=600)
        if r.returncode != 0:
            return [], f"{conv} failed on {tile.name}: {r.stderr.strip()[:200]}"
    prep = time.perf_counter() - t0
    times = []
    for i in range(len(lon)):
        name = f"site{i}"
        erp_w = 10 ** ((eirp_dbm[i] - 30.0 - 2.15) / 10.0)  # EIRP → ERP (W)
        (workdir / f"{name}.qth").write_text(
            f"{name}\n{lat[i]:.6f}\n{360.0 - lon[i]:.6f}\n{heights[i]:.1f} m\n")
        (workdir / f"{name}.lrp").write_text(
            "15.000 ; Earth Dielectric Constant\n0.005 ; Earth Conductivity\n"
            "301.000 ; Atmospheric Bending Constant\n"
            f"{freqs[i]:.3f} ; Frequency in MHz\n5 ; Radio Climate (continental temperate)\n"
            "1 ; Polarization (vertical)\n0.50 ; Fraction of situations\n"
            f"0.50 ; Fraction of time\n{erp_w:.1f} ; ERP (W)\n")
        cmd = [exe, "-t", f"{name}.qth", "-L", "1.5", "-metric", "-R", f"{radius_km:g}",
               "-olditm", "-N", "-d", str(sdf), "-o", f"{name}.ppm"]
        t = time.perf_counter()
        try:
            r = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True,
                               timeout=timeout_s)
        except subprocess.TimeoutExpired:
            times.append(float("nan"))
            return times, (f"splat timed out after {timeout_s:.0f} s on site {i} "
                           f"(command: {' '.join(cmd)})")
        dt = time.perf_counter() - t
        if r.returncode != 0 or not (workdir / f"{name}.ppm").exists():
            return times, (f"splat failed (exit {r.returncode}): "
                           f"{(r.stderr or r.stdout).strip()[-300:]}")
        times.append(dt)
    return times, (f"{Path(exe).name} -L 1.5 -metric -R {radius_km:g} -olditm; "
                   f"{len(tiles)} SDF tiles prepared in {prep:.1f} s (not counted)")


def _run_viewshed(dem_path: Path, sites_xy, heights, radius_m, workdir: Path,
                  timeout_s: float) -> tuple[list[float], str]:
    exe = shutil.which("gdal_viewshed")
    if not exe:
        return [], "gdal_viewshed not installed (apt-get install gdal-bin)"
    times = []
    for i, (x, y) in enumerate(sites_xy):
        cmd = [exe, "-ox", f"{x:.2f}", "-oy", f"{y:.2f}", "-oz", f"{heights[i]:.1f}", "-tz",
               "1.5", "-md", f"{radius_m:.0f}", "-cc", "0.75", "-q", str(dem_path),
               str(workdir / f"vs{i}.tif")]
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        if r.returncode != 0:
            return times, f"gdal_viewshed failed: {r.stderr.strip()[:300]}"
        times.append(time.perf_counter() - t)
    return times, f"gdal_viewshed -md {radius_m:.0f} -cc 0.75 (visibility only)"


# ------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    from phusong.layers.settings import DIFFRACTION_MODES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="lai-chau")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--bundle", default=None, help="use this bundle instead of generating")
    ap.add_argument("--workdir", default=str(ROOT / "outputs" / "bench"))
    ap.add_argument("--sites", type=int, default=None, help="only this many BTS (seeded)")
    ap.add_argument("--max-radius-km", type=float, default=15.0)
    ap.add_argument("--diffraction", default=None, choices=list(DIFFRACTION_MODES),
                    help="default: the settings' own")
    ap.add_argument("--model", default="p526", choices=["p526", "hata", "free_space"],
                    help="path-loss model (settings.path_loss_model)")
    ap.add_argument("--as-of", default="2022-12-31",
                    help="analysis date for the village ratios (the reports are of 2022)")
    ap.add_argument("--peer-sites", type=int, default=2, help="sites run through the peers")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--peer-timeout-s", type=float, default=900.0)
    args = ap.parse_args(argv)

    import numba

    from phusong.analysis.coverage.engine import compute_coverage, site_village_matrix
    from phusong.analysis.coverage.ratios import coverage_ratios
    from phusong.analysis.coverage.status import village_status
    from phusong.gis import _kernels
    from phusong.gis.dem import read_dem
    from phusong.layers.settings import DEFAULT

    settings = DEFAULT.replace(max_radius_km=args.max_radius_km,
                               diffraction=args.diffraction or DEFAULT.diffraction,
                               as_of=args.as_of, path_loss_model=args.model)
    bundle = _bundle(args)
    bts_all = bundle.layers["bts"]
    if args.sites is not None and args.sites < len(bts_all):
        bundle.layers["bts"] = bts_all.sample(args.sites, random_state=0).sort_index()
    bts = bundle.layers["bts"]
    dem = read_dem(bundle.dem_path, crs=bundle.metric_crs)
    radius_m = settings.max_radius_km * 1000.0
    step = min(dem.res_xy)
    n_disc = len(_kernels.disc_offsets(radius_m, *dem.res_xy,
                                       _kernels.ray_count(radius_m, step), step)[0])

    # compile outside the timing (numba caches to disk; the first run of a fresh checkout
    # compiles for ~20 s)
    warm = bundle.layers["bts"].iloc[:1]
    saved = bundle.layers["bts"]
    bundle.layers["bts"] = warm
    compute_coverage(bundle, dem=dem, settings=settings)
    bundle.layers["bts"] = saved

    print(f"phusong terrain coverage benchmark — {bundle.province or args.preset} "
          f"({'SAMPLE DATA' if bundle.is_sample else 'real data'})")
    print(f"  threads (numba)        : {numba.get_num_threads()} on {os.cpu_count()} CPUs")
    print(f"  BTS                    : {len(bts)}")
    print(f"  DEM cells              : {dem.shape[0]} × {dem.shape[1]} = "
          f"{dem.shape[0] * dem.shape[1]:,} at {dem.res_m:.0f} m")
    print(f"  max radius             : {settings.max_radius_km:g} km "
          f"({n_disc:,} cells per site)")
    print(f"  path loss, diffraction : {settings.path_loss_model}, {settings.diffraction} "
          f"(depth {settings.deygout_depth})", flush=True)
    t = time.perf_counter()
    cpu0 = time.process_time()
    cov = compute_coverage(bundle, dem=dem, settings=settings)
    wall = time.perf_counter() - t
    cpu = time.process_time() - cpu0
    ours_per_site = wall / max(len(bts), 1)
    print(f"  wall seconds           : {wall:.1f}  (CPU {cpu:.1f} s; load average "
          f"{os.getloadavg()[0]:.1f})")
    print(f"  CPU / threads          : {cpu / numba.get_num_threads():.1f} s (what the wall time "
          "would be on an idle machine with perfect parallel scaling)")
    print(f"  cell·sites per second  : {len(bts) * n_disc / wall:,.0f}")
    print(f"  per site               : {1000 * ours_per_site:.1f} ms")
    print(f"  peak RSS               : {_peak_rss_mib():,.0f} MiB", flush=True)
    print(f"  sites at the radius cap: {cov.sites_at_cap} of {len(bts)}")
    print(f"  {cov.defaults_line}")

    # village status under both models, beside the reported figures
    t = time.perf_counter()
    st_t = village_status(bundle, cov, settings=settings)
    radius = compute_coverage(bundle, dem=dem, model="radius", settings=settings)
    st_r = village_status(bundle, radius, settings=settings)
    r_t = coverage_ratios(bundle, st_t, settings=settings).iloc[0]
    r_r = coverage_ratios(bundle, st_r, settings=settings).iloc[0]
    print(f"\nvillage status and ratios ({time.perf_counter() - t:.1f} s), as of {args.as_of}:")
    rep = {}
    try:
        from phusong.seeds.figures import reported_value

        for key in ("villages_with_signal", "villages_total", "villages_with_internet",
                    "coverage_ratio_viettel", "coverage_ratio_vinaphone",
                    "coverage_ratio_mobifone", "coverage_ratio_vietnamobile"):
            rep[key] = reported_value(bundle.province, key)
    except Exception as exc:  # a preset without reported figures
        print(f"  (no reported figures: {exc})")
    n = int(r_t["villages_total"])
    tot = "villages_total"
    print(f"  {'':28s}{'terrain':>10s}{'radius':>10s}{'reported':>10s}")

    def rp(key, fmt):
        return fmt(rep[key]) if key in rep else "–"

    print(f"  {'villages with signal':28s}{int(r_t['villages_with_signal']):>6d}/{n:<3d}"
          f"{int(r_r['villages_with_signal']):>6d}/{n:<3d}"
          f"{rp('villages_with_signal', lambda v: f'{int(v)}/{int(rep.get(tot, n))}'):>10s}")
    for op in ("viettel", "vinaphone", "mobifone", "vietnamobile"):
        print(f"  {'coverage ' + op:28s}{100 * r_t[f'ratio_{op}']:>9.0f}%"
              f"{100 * r_r[f'ratio_{op}']:>9.0f}%"
              f"{rp(f'coverage_ratio_{op}', lambda v: f'{100 * v:.0f}%'):>10s}")
    print(f"  {'villages with internet':28s}{int(r_t['villages_internet']):>6d}/{n:<3d}"
          f"{int(r_r['villages_internet']):>6d}/{n:<3d}"
          f"{rp('villages_with_internet', lambda v: f'{int(v)}/{int(rep.get(tot, n))}'):>10s}")
    print(f"  {'white (trắng) villages':28s}{int(r_t['villages_trang']):>10d}"
          f"{int(r_r['villages_trang']):>10d}")
    print(f"  {'lõm villages':28s}{int(r_t['villages_lom']):>10d}{int(r_r['villages_lom']):>10d}")
    dead = ((st_r["status_any"] == "phu") & (st_t["status_any"] != "phu")).sum()
    print(f"  dead spots the radius model misses (radius phủ, terrain lõm/trắng): {dead}")

    # site × village matrix for all BTS as candidate sites
    t = time.perf_counter()
    m = site_village_matrix(bts, bundle.layers["villages"], dem=dem, settings=settings)
    print(f"\nsite × village matrix: {m.shape[0]} sites × {m.shape[1]} villages, "
          f"{m.nnz} nonzero, {time.perf_counter() - t:.1f} s")

    if args.no_peers:
        return 0
    # ------------------------------------------------------------------ peers
    rng = np.random.default_rng(0)
    k = min(args.peer_sites, len(bts))
    pick = np.sort(rng.choice(len(bts), size=k, replace=False))
    sub = bts.iloc[pick]
    from phusong.gis.crs import from_wgs84

    sub_m = from_wgs84(sub, dem.crs)
    xy = np.column_stack([sub_m.geometry.x, sub_m.geometry.y])
    heights = sub["antenna_height_m"].to_numpy(float)
    freqs = sub["band_mhz"].to_numpy(float)
    # ours on exactly these sites: the compiled sweep and gather only (one walk per site,
    # grids allocated beforehand, best of 3), timed right before the peers
    from phusong.analysis.coverage.engine import CoverageGrid, kernel_model, prepare_sites
    from phusong.gis.dem import fill_voids

    grid = CoverageGrid(dem.transform, dem.crs, dem.shape)
    z = fill_voids(dem.elevation_m)
    sa = prepare_sites(sub, grid, ground_m=dem.sample(xy[:, 0], xy[:, 1]), settings=settings)
    eirp = sa.budget["ref_eirp_dbm"].to_numpy(float)
    k_model, k_mode = kernel_model(settings)
    offsets = _kernels.disc_offsets(radius_m, *dem.res_xy, _kernels.ray_count(radius_m, step),
                                    step)
    out_grid = [np.full(dem.shape, -np.inf, dtype=np.float32)]

    def ours_per_site_now() -> float:
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            for i in range(k):
                one = slice(i, i + 1)
                _kernels.sweep_sites(
                    z, out_grid, grid_index=np.zeros(1, np.int64), col=sa.col[one],
                    row=sa.row[one], zt=sa.zt[one], eirp=sa.eirp[one], base_db=sa.base_db[one],
                    fs_const_db=sa.fs_const_db[one], wavelength=sa.wavelength[one],
                    antennas=sa.antennas.take(np.arange(i, i + 1)), res_x=dem.res_xy[0],
                    res_y=dem.res_xy[1], radius_m=radius_m, rx_height_m=settings.rx_height_m,
                    k_factor=settings.k_factor, model=k_model, mode=k_mode,
                    depth=settings.deygout_depth, offsets=offsets)
            best = min(best, (time.perf_counter() - t0) / k)
        return best

    ours_sub = ours_per_site_now()
    print(f"\npeers on {k} of the same sites (radius {settings.max_radius_km:g} km):")
    print(f"  phusong                : {ours_sub:.3f} s/site on these sites (sweep + gather, "
          f"one site per walk, load {os.getloadavg()[0]:.1f}); {ours_per_site:.3f} s/site "
          "over the full run")
    work = Path(tempfile.mkdtemp(prefix="phusong-bench-"))
    try:
        s_times, s_note = _run_splat(dem, np.column_stack([sub.geometry.x, sub.geometry.y]),
                                     heights, freqs, eirp, settings.max_radius_km, work,
                                     args.peer_timeout_s)
        s_ok = [x for x in s_times if np.isfinite(x)]
        if s_ok:
            s_per = float(np.mean(s_ok))
            print(f"  SPLAT!                 : {s_per:.1f} s/site ({s_note})")
            print(f"  ratio SPLAT!/phusong   : {s_per / ours_sub:,.0f}× (same sites); "
                  f"{s_per / ours_per_site:,.0f}× (full-run per-site time)")
        print(f"  SPLAT! note            : {s_note}" if not s_ok else "", end="")
        print("" if s_ok else "\n", end="")
        dem_tif = bundle.dem_path
        ours_sub = min(ours_sub, ours_per_site_now())
        v_times, v_note = _run_viewshed(dem_tif, xy, heights, radius_m, work,
                                        args.peer_timeout_s)
        if v_times:
            v_per = float(np.mean(v_times))
            print(f"  gdal_viewshed          : {v_per:.2f} s/site ({v_note})")
            print(f"  ratio viewshed/phusong : {v_per / ours_sub:,.1f}× (same sites); "
                  f"{v_per / ours_per_site:,.1f}× (full-run per-site time)")
        else:
            print(f"  gdal_viewshed note     : {v_note}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"  peak RSS (this process): {_peak_rss_mib():,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
