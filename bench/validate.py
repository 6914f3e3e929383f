"""Validation of the coverage models against the field's reference models on real terrain.

Terrain: SRTM tile ``N21E105.hgt`` (Tam Đảo range, Thái Nguyên / Tuyên Quang / Phú Thọ hills,
Red River plain), read in place from ``../shared/realdata/dem/``; the models run on a 30 m
VN-2000 / TM-3 grid resampled bilinearly from it.

Sites are chosen by rule on the tile's interior (≥ 17 km from its edges, ≥ 6 km apart), two
of each landform, from a 1 km topographic position index (TPI = z − mean z within 1 km), the
slope and the curvature of the 90 m DEM smoothed over 300 m:

* ridge — largest TPI;
* saddle — Hessian eigenvalues of opposite sign (both |λ| large), small slope, TPI ≥ 0,
  elevation above the tile's median;
* valley floor — most negative TPI with slope < 5°;
* foothill — relief within 5 km ≥ 400 m, z in the lower third of that relief, slope 3–15°.

Every site is a 35 m mast with 60 dBm EIRP, omni, receiver 1.5 m, 15 km reach, at 900, 1800
and 2100 MHz (thresholds 2G −100, 4G −110, 3G −105 dBm for the coverage decision).

Compared with SPLAT! ``-olditm`` (Longley-Rice ITM, the reference of the table):

* phusong ``terrain`` with the settings' own path model (default ``p526``: free space +
  Deygout's three edges over the taut string with ITU-R P.452-14's correction, terrain counted
  once), ``deygout`` (the same without the correction: the three edges' losses added),
  ``hata`` (Hata + Deygout, the model before the link budget, terrain counted twice), ``itm``
  (ITM 1.2.2 on the radial sweep), ``radius`` (decision only: it has no path loss);
* SPLAT! ITWOM 3.0 (``splat-hd`` without ``-olditm``);
* ``itmlogic`` (ITM 1.2.2 in Python) and ``pycraf`` (ITU-R P.452-16) on the same bilinear
  profiles as phusong's point-to-point path, at ``--profile-points`` cells per run.

SPLAT! runs on 1-arc-second SDF tiles (``srtm2sdf-hd``) upsampled bilinearly from the same
tile, and writes every computed point with ``-ano``; each point is compared with the grid cell
it falls in. Statistics of ``model − SPLAT! ITM`` basic transmission loss: median, mean, RMS
and P90 of |Δ|, by line of sight vs obstructed (SPLAT!'s own flag) and by distance band, and
the share of points where the covered / not-covered decision agrees. A peer that is not
installed is skipped and named.

Usage::

    .venv/bin/python bench/validate.py                 # 8 sites × 3 bands (≈ 15 min)
    .venv/bin/python bench/validate.py --sites 2 --freqs 900 --no-itwom   # quick
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
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
HGT = next((p / "shared" / "realdata" / "dem" / "N21E105.hgt" for p in ROOT.parents
            if (p / "shared" / "realdata").is_dir()),
           ROOT.parent / "shared" / "realdata" / "dem" / "N21E105.hgt")
LAT0, LON0 = 21.0, 105.0
THRESHOLD = {900.0: -100.0, 1800.0: -110.0, 2100.0: -105.0}
TECH = {900.0: "2G", 1800.0: "4G", 2100.0: "3G"}
EIRP = 60.0
MAST = 35.0
RX = 1.5
BANDS_KM = ((0, 2), (2, 5), (5, 10), (10, 15))
#: the output folder (set by main)
OUT: list[Path] = [Path(".")]
#: CPU seconds (user + system) of each SPLAT! run
SPLAT_CPU: list[float] = []
#: CPU seconds (all threads) of the last phusong field per model
CPU: dict[str, float] = {}


# ------------------------------------------------------------------------------------ sites

#: the terrain model's variants in the tables: the settings' own (the default), plain Deygout
#: (the sum of the three edges' losses, without P.452-14's correction) and Hata + Deygout (the
#: model before the link budget, terrain counted twice)
VARIANTS = {"terrain": {}, "deygout": {"diffraction": "deygout"},
            "hata": {"path_loss_model": "hata", "diffraction": "deygout"}}
#: phusong's models in the tables
PHUSONG = ("terrain", "deygout", "hata", "itm", "radius")


def choose_sites(z: np.ndarray, n_per_kind: int = 2) -> pd.DataFrame:
    """Sites by rule on the 3" tile (module docstring); z is 1201 × 1201, north-up."""
    from scipy import ndimage

    step_m = 92.6 * np.cos(np.radians(21.5)), 92.6  # x (lon) and y (lat) spacing, approx.
    zs = ndimage.gaussian_filter(z, 1.5)
    r1 = round(1000 / 92.6)
    yy, xx = np.mgrid[-r1:r1 + 1, -r1:r1 + 1]
    disc = (xx ** 2 + yy ** 2 <= r1 * r1).astype(float)
    mean1 = ndimage.convolve(zs, disc / disc.sum(), mode="nearest")
    tpi = zs - mean1
    gy, gx = np.gradient(zs, step_m[1], step_m[0])
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    gyy, gyx = np.gradient(gy, step_m[1], step_m[0])
    _gxy, gxx = np.gradient(gx, step_m[1], step_m[0])
    tr = gxx + gyy
    det = gxx * gyy - gyx * gyx
    disc_ = np.sqrt(np.maximum(tr * tr / 4 - det, 0))
    l1, l2 = tr / 2 + disc_, tr / 2 - disc_
    r5 = round(5000 / 92.6)
    zmax5 = ndimage.maximum_filter(zs, size=2 * r5 + 1)
    zmin5 = ndimage.minimum_filter(zs, size=2 * r5 + 1)
    relief = zmax5 - zmin5
    margin = math.ceil(17_000 / 92.6)
    inner = np.zeros_like(z, dtype=bool)
    inner[margin:-margin, margin:-margin] = True
    med = np.median(zs[inner])
    scores = {
        "ridge": np.where(inner, tpi, -np.inf),
        "saddle": np.where(inner & (l1 > 0) & (l2 < 0) & (slope < 8) & (tpi >= 0)
                           & (zs > med), np.minimum(l1, -l2), -np.inf),
        "valley floor": np.where(inner & (slope < 5), -tpi, -np.inf),
        "foothill": np.where(inner & (relief >= 400) & (slope >= 3) & (slope <= 15)
                             & (zs - zmin5 <= relief / 3), relief, -np.inf),
    }
    rows: list[dict] = []
    chosen: list[tuple[int, int]] = []
    min_sep = 6000 / 92.6
    for kind, sc in scores.items():
        order = np.argsort(sc, axis=None)[::-1]
        got = 0
        for flat in order:
            if not np.isfinite(sc.flat[flat]) or got >= n_per_kind:
                break
            i, j = divmod(int(flat), z.shape[1])
            if any(math.hypot(i - a, j - b) < min_sep for a, b in chosen):
                continue
            chosen.append((i, j))
            got += 1
            rows.append({"site": f"S{len(rows) + 1}", "kind": kind,
                         "lat": LAT0 + 1 - i / 1200.0, "lon": LON0 + j / 1200.0,
                         "ground_m": float(z[i, j]), "tpi_m": float(tpi[i, j]),
                         "slope_deg": float(slope[i, j])})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ SPLAT!

def splat_prepare(z: np.ndarray, folder: Path) -> str | None:
    """1" SDF of the tile for splat-hd (bilinear from the 3" samples); None if missing."""
    from scipy.ndimage import map_coordinates

    if not (shutil.which("splat-hd") and shutil.which("srtm2sdf-hd")):
        return "SPLAT! not installed (apt-get install splat)"
    j = np.arange(3601) / 3.0
    jj, ii = np.meshgrid(j, j)
    hi = map_coordinates(z.astype(float), [ii, jj], order=1)
    np.rint(hi).astype(">i2").tofile(folder / "N21E105.hgt")
    r = subprocess.run(["srtm2sdf-hd", "N21E105.hgt"], cwd=folder, capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        return f"srtm2sdf-hd failed: {r.stderr.strip()[:200]}"
    return None


def splat_run(folder: Path, name: str, lat: float, lon: float, freq: float, *, itwom: bool,
              radius_km: float, climate: int) -> tuple[pd.DataFrame, float]:
    """SPLAT! path-loss points (lat, lon, loss_db, obstructed) and the wall seconds."""
    (folder / f"{name}.qth").write_text(f"{name}\n{lat:.7f}\n{360.0 - lon:.7f}\n{MAST:.1f} m\n")
    (folder / f"{name}.lrp").write_text(
        "15.000 ; Earth Dielectric Constant\n0.005 ; Earth Conductivity\n"
        "301.000 ; Atmospheric Bending Constant\n"
        f"{freq:.3f} ; Frequency in MHz\n{climate} ; Radio Climate\n"
        "1 ; Polarization (vertical)\n0.50 ; Fraction of situations\n"
        "0.50 ; Fraction of time\n0 ; ERP (W): 0 = path loss\n")
    cmd = ["splat-hd", "-t", f"{name}.qth", "-L", f"{RX}", "-metric", "-R", f"{radius_km:g}",
           "-N", "-d", ".", "-ano", f"{name}.txt", "-o", f"{name}.ppm"]
    if not itwom:
        cmd.insert(1, "-olditm")
    t = time.perf_counter()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=1800, check=True)
    dt = time.perf_counter() - t
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    SPLAT_CPU.append((c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime))
    rows = []
    with open(folder / f"{name}.txt", encoding="latin-1") as fh:
        for line in fh:
            if ";" in line:
                continue
            parts = line.replace("*", " *").split(",")
            if len(parts) < 5:
                continue
            rows.append((float(parts[0]), 360.0 - float(parts[1]),
                         float(parts[4].split()[0]), "*" in parts[4]))
    for suffix in (".ppm", ".txt", "-site_report.txt"):
        (folder / f"{name}{suffix}").unlink(missing_ok=True)
    return pd.DataFrame(rows, columns=["lat", "lon", "loss_db", "obstructed"]), dt


# ------------------------------------------------------------------------------------ models

def phusong_fields(dem, z, sites: pd.DataFrame, freq: float, model: str, settings,
                   radius_m: float) -> tuple[np.ndarray, float]:
    """Loss field (dB, EIRP − P) of one site at one frequency and the wall seconds."""
    from phusong.analysis.coverage.engine import itm_params
    from phusong.gis import _itm, _kernels
    from phusong.gis.propagation import hata_base_db, wavelength_m
    from phusong.layers.link_budget import kernel_codes

    s = sites
    col, row = (~dem.transform) * (s["x"], s["y"])
    grids = [np.full(dem.shape, -np.inf, np.float32)]
    kw = dict(grid_index=np.array([0]), col=np.array([col]), row=np.array([row]),
              zt=np.array([s["ground_grid_m"] + MAST]), eirp=np.array([EIRP]),
              az=np.zeros((1, 6)), n_az=np.zeros(1, np.int64), res_x=dem.res_xy[0],
              res_y=dem.res_xy[1], radius_m=radius_m, rx_height_m=RX)
    t = time.perf_counter()
    c = time.process_time()
    if model == "itm":
        _itm.sweep_sites(z, grids, ground_m=np.array([s["ground_grid_m"]]),
                         freq_mhz=np.array([freq]), params=itm_params(settings), **kw)
    elif model in VARIANTS:
        # "terrain": the settings' own path model; the others: the named options
        k_model, k_mode = kernel_codes(settings.replace(**VARIANTS[model]))
        _kernels.sweep_sites(
            z, grids, base_db=np.atleast_1d(hata_base_db(freq, RX,
                                                         environment=settings.environment)),
            fs_const_db=np.array([32.45 + 20 * math.log10(freq)]),
            wavelength=np.atleast_1d(wavelength_m(freq)), k_factor=settings.k_factor,
            model=k_model, mode=k_mode, depth=settings.deygout_depth, **kw)
    else:
        radius = settings.radius_m(TECH[freq], freq)
        _kernels.radius_field(grids[0], np.array([col]), np.array([row]), dem.res_xy[0],
                              dem.res_xy[1], np.array([radius]),
                              np.array([THRESHOLD[freq] + 20.0]), np.array([THRESHOLD[freq]]))
    dt = time.perf_counter() - t
    CPU[model] = time.process_time() - c
    out = grids[0]
    out[~np.isfinite(out)] = np.nan
    return EIRP - out, dt


def profile_at(z: np.ndarray, dem, s, x: float, y: float) -> np.ndarray:
    """Bilinear profile from the site to (x, y) every cell size (as gis._itm.point_power)."""
    from scipy.ndimage import map_coordinates

    res = dem.res_xy[0]
    c0, r0 = (~dem.transform) * (s["x"], s["y"])
    c1, r1 = (~dem.transform) * (x, y)
    dist = math.hypot((c1 - c0) * res, (r1 - r0) * res)
    ns = max(1, int(dist / res + 0.5))
    th = math.atan2(-(r1 - r0), c1 - c0)
    k = np.arange(ns + 1)
    u = c0 + k * math.cos(th)
    v = r0 - k * math.sin(th)
    return map_coordinates(z.astype(float), [v - 0.5, u - 0.5], order=1, mode="nearest")


def sweep_cells(dem, s, radius_m: float, n: int, rng) -> list[tuple[int, int, int, int]]:
    """n random cells of the site's disc with the (ray, sample) the sweep gives them."""
    from phusong.gis import _kernels

    res = dem.res_xy[0]
    n_rays = _kernels.ray_count(radius_m, res)
    drow, dcol, ray, samp = _kernels.disc_offsets(radius_m, res, res, n_rays, res)
    c0, r0 = (~dem.transform) * (s["x"], s["y"])
    out = []
    for q in rng.choice(len(drow), n, replace=False):
        if samp[q] * res < 1000.0:
            continue
        out.append((math.floor(c0) + int(dcol[q]), math.floor(r0) + int(drow[q]),
                    int(ray[q]), int(samp[q])))
    return out


def sweep_profile(z: np.ndarray, dem, s, radius_m: float, ray: int, k: int) -> np.ndarray:
    """The profile the radial sweep walks to sample k of ray ``ray`` (gis._itm._sweep_one)."""
    from scipy.ndimage import map_coordinates

    from phusong.gis import _kernels

    res = dem.res_xy[0]
    n_rays = _kernels.ray_count(radius_m, res)
    n_samp = int(radius_m // res)
    k1, k2 = _kernels.level_bounds(n_samp)
    c0, r0 = (~dem.transform) * (s["x"], s["y"])
    u0, v0 = math.floor(c0) + 0.5, math.floor(r0) + 0.5
    kk = np.arange(1, k + 1)
    base = 4 * (ray // 4)
    lvl1 = base + 2 * ((ray % 4) // 2)
    rr = np.where(kk <= k1, base, np.where(kk <= k2, lvl1, ray))
    th = 2 * np.pi * rr / n_rays
    u = u0 + kk * np.cos(th)
    v = v0 - kk * np.sin(th)
    zz = map_coordinates(z.astype(float), [v - 0.5, u - 0.5], order=1, mode="nearest")
    return np.concatenate([[float(z[int(v0), int(u0)])], zz])


def itmlogic_loss(prof: np.ndarray, step: float, freq: float, climate: int) -> float:
    """itmlogic 1.2 in point-to-point mode (as SPLAT!'s driver: mdvar 12, 50 %/50 %)."""
    from itmlogic.misc.qerfi import qerfi
    from itmlogic.preparatory_subroutines.qlrpfl import qlrpfl
    from itmlogic.preparatory_subroutines.qlrps import qlrps
    from itmlogic.statistics.avar import avar

    np_ = len(prof) - 1
    p10 = int(0.1 * np_)
    zsys = float(np.mean(prof[p10:np_ - p10 + 1]))
    wn, gme, ens, zgnd = qlrps(freq, zsys, 301.0, 1, 15.0, 0.005)
    prop = {"pfl": [np_, step, *map(float, prof)], "hg": [MAST, RX], "wn": wn, "gme": gme,
            "ens": ens, "zgnd": zgnd, "kwx": 0, "lvar": 5, "klim": climate, "klimx": 0,
            "mdvarx": 12, "mdvar": 12}
    prop = qlrpfl(prop)
    zt, zl, zc = qerfi([0.5, 0.5, 0.5])
    a, _ = avar(zt, zl, zc, prop)
    return 32.45 + 20 * math.log10(freq) + 20 * math.log10(prop["dist"] / 1000.0) + a


def pycraf_loss(prof: np.ndarray, step: float, freq: float, lon_t, lat_t, lon_r,
                lat_r) -> float:
    """ITU-R P.452-16 basic transmission loss L_b (pycraf), 50 % of time."""
    import astropy.units as u
    import pycraf.pathprof as pp

    d = np.arange(len(prof)) * step / 1000.0
    pr = pp.PathProp(freq * u.MHz, 293.15 * u.K, 1013.0 * u.hPa, lon_t * u.deg, lat_t * u.deg,
                     lon_r * u.deg, lat_r * u.deg, MAST * u.m, RX * u.m, step * u.m,
                     50.0 * u.percent, hprof_dists=d * u.km, hprof_heights=prof * u.m,
                     hprof_bearing=0 * u.deg, hprof_backbearing=180 * u.deg)
    return float(pp.loss_complete(pr)[4].value)


# ------------------------------------------------------------------------------------ stats

def stats(delta: np.ndarray) -> dict[str, float]:
    d = delta[np.isfinite(delta)]
    if len(d) == 0:
        return {"n": 0, "median": np.nan, "mean": np.nan, "rms": np.nan, "median_abs": np.nan,
                "p90_abs": np.nan}
    a = np.abs(d)
    return {"n": len(d), "median": float(np.median(d)), "mean": float(d.mean()),
            "rms": float(np.sqrt((d ** 2).mean())), "median_abs": float(np.median(a)),
            "p90_abs": float(np.percentile(a, 90))}


def report(prof: pd.DataFrame, pts: pd.DataFrame | None, tm: pd.DataFrame | None,
           freqs: list[float]) -> None:
    """Print the parity, comparison and speed tables (and write comparison.csv)."""
    # ---- itm parity with itmlogic
    print("\n== ITM parity on the same profiles (|Δ| dB) ==")
    if "itmlogic" in prof:
        for kind, col, what in (
                ("cell_profile", "itm_p2p", "itm point-to-point, profile to the cell centre"),
                ("sweep_profile", "itm_sweep", "itm sweep value, the sweep's own profile"),
                ("cell_profile", "itm_sweep", "itm sweep value vs the cell-centre profile")):
            sub = prof[prof["kind"] == kind]
            d = (sub[col] - sub["itmlogic"]).abs().dropna()
            print(f"  {what:<46}: n {len(d)}, median {d.median():.3f}, P90 "
                  f"{d.quantile(0.9):.3f}, P99 {d.quantile(0.99):.3f}, max {d.max():.2f}")
    if "pycraf_p452" in prof:
        for col in ("itm_p2p", *VARIANTS):
            d = (prof[col] - prof["pycraf_p452"]).dropna()
            if len(d) == 0:
                continue
            print(f"  {col:<10} − pycraf P.452: n {len(d)}, median {d.median():+.2f}, "
                  f"RMS {np.sqrt((d ** 2).mean()):.2f}, P90 |Δ| {d.abs().quantile(0.9):.2f}")
    if pts is None:
        return
    thr = pts["freq"].map(THRESHOLD)
    ref_cov = EIRP - pts["loss_db"] >= thr
    rows = []
    models = [m for m in PHUSONG if m in pts] + \
        (["splat_itwom"] if "splat_itwom" in pts else [])
    for m in models:
        for split, mask in [("all", np.ones(len(pts), bool)), ("LOS", ~pts["obstructed"]),
                            ("obstructed", pts["obstructed"].to_numpy())] + \
                [(f"{a}–{b} km", ((pts["dist_km"] >= a) & (pts["dist_km"] < b)).to_numpy())
                 for a, b in BANDS_KM]:
            if m == "radius":
                # decision only: covered = inside the disc (its field is NaN outside)
                sub = pts[mask]
                st = {"n": len(sub), "median": np.nan, "mean": np.nan, "rms": np.nan,
                      "median_abs": np.nan, "p90_abs": np.nan}
                cov = sub[m].notna()
            else:
                mask = mask & pts[m].notna().to_numpy()  # e.g. ITWOM at 900 MHz only
                sub = pts[mask]
                st = stats((sub[m] - sub["loss_db"]).to_numpy())
                cov = EIRP - sub[m] >= thr[mask]
            agree = float((cov == ref_cov[mask]).mean()) if len(sub) else np.nan
            more = float(cov.mean() - ref_cov[mask].mean()) if len(sub) else np.nan
            rows.append({"model": m, "split": split, **st, "agree": agree,
                         "covered_minus_ref": more})
    table = pd.DataFrame(rows)
    table.to_csv(OUT[0] / "comparison.csv", index=False)
    print("\n== model − SPLAT! ITM (-olditm), basic transmission loss, dB; decision at "
          "2G −100 / 4G −110 / 3G −105 dBm ==")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print("\n== by band (all points) ==")
    for f in freqs:
        sub = pts[pts["freq"] == f]
        for m in [m for m in PHUSONG if m != "radius" and m in sub]:
            st = stats((sub[m] - sub["loss_db"]).to_numpy())
            print(f"  {f:>5.0f} MHz {m:<8} median {st['median']:+.2f}, mean {st['mean']:+.2f},"
                  f" RMS {st['rms']:.2f}, P90 |Δ| {st['p90_abs']:.2f}")
    if tm is not None:
        print("\n== speed, one site's 15 km disc at one frequency (wall seconds, same run) ==")
        print(f"  SPLAT! HD -olditm: median {tm['splat_itm_s'].median():.2f} s")
        if "splat_itwom_s" in tm:
            print(f"  SPLAT! HD ITWOM  : median {tm['splat_itwom_s'].median():.2f} s")
        print(f"  phusong itm      : median {tm['itm_s'].median():.2f} s → "
              f"{(tm['splat_itm_s'] / tm['itm_s']).median():.1f}× faster (median of ratios)")
        print(f"  phusong terrain  : median {tm['terrain_s'].median():.2f} s → "
              f"{(tm['splat_itm_s'] / tm['terrain_s']).median():.1f}× faster")
        print("  CPU seconds (user + system, all threads): SPLAT! ITM "
              f"{tm['splat_itm_cpu_s'].median():.2f}, itm {tm['itm_cpu_s'].median():.2f} "
              f"({(tm['splat_itm_cpu_s'] / tm['itm_cpu_s']).median():.1f}×), terrain "
              f"{tm['terrain_cpu_s'].median():.2f} "
              f"({(tm['splat_itm_cpu_s'] / tm['terrain_cpu_s']).median():.1f}×)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=8, help="sites (two per landform first)")
    ap.add_argument("--freqs", default="900,1800,2100")
    ap.add_argument("--radius-km", type=float, default=15.0)
    ap.add_argument("--no-itwom", action="store_true", help="skip SPLAT! ITWOM runs")
    ap.add_argument("--itwom-freqs", default="900", help="bands run through ITWOM too")
    ap.add_argument("--profile-points", type=int, default=150,
                    help="cells per run compared with itmlogic and pycraf")
    ap.add_argument("--climate", type=int, default=5,
                    help="ITM climate for every ITM peer (5 = SPLAT!'s default)")
    ap.add_argument("--out", default=str(ROOT / "outputs" / "validate"))
    ap.add_argument("--tables-from", default=None, metavar="DIR",
                    help="only print the tables of an earlier run's CSVs in DIR")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.tables_from:
        d = Path(args.tables_from)
        OUT[0] = d
        pts = pd.read_csv(d / "points.csv.gz") if (d / "points.csv.gz").exists() else None
        tm = pd.read_csv(d / "timing.csv") if (d / "timing.csv").exists() else None
        prof = pd.read_csv(d / "profiles.csv")
        report(prof, pts, tm, sorted(prof["freq"].unique()))
        print(f"\ntables of {d}")
        return 0

    from pyproj import Transformer

    from phusong.gis import _itm
    from phusong.gis.crs import tm3_crs_for_lon
    from phusong.gis.dem import fill_voids, read_dem
    from phusong.layers.settings import DEFAULT, ITM_CLIMATES

    if not HGT.exists():
        print(f"real terrain not found: {HGT}")
        return 1
    freqs = [float(f) for f in args.freqs.split(",")]
    itwom_freqs = set() if args.no_itwom else {float(f) for f in args.itwom_freqs.split(",")}
    settings = DEFAULT.replace(itm_climate=ITM_CLIMATES[args.climate - 1])
    geo = read_dem(HGT)
    zgeo = fill_voids(geo.elevation_m)
    sites = choose_sites(zgeo)
    kinds = ["ridge", "saddle", "valley floor", "foothill"]
    sites["order"] = [kinds.index(k) + 4 * (i % 2) for i, k in enumerate(sites["kind"])]
    sites = sites.sort_values(["order", "site"]).head(args.sites).drop(columns="order")
    crs = tm3_crs_for_lon(105.5)
    to_m = Transformer.from_crs(4326, crs, always_xy=True)
    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    sx, sy = to_m.transform(sites["lon"].to_numpy(), sites["lat"].to_numpy())
    sites["x"], sites["y"] = sx, sy
    R = args.radius_km * 1000.0
    pad = R + 3000
    dem = read_dem(HGT, crs=crs, bounds=(sx.min() - pad, sy.min() - pad, sx.max() + pad,
                                         sy.max() + pad), res_m=30.0)
    z = fill_voids(dem.elevation_m).astype(np.float32)
    sites["ground_grid_m"] = dem.sample(sx, sy)
    print(f"terrain: {HGT.name} (SRTM 3\"), model grid {dem.shape[0]}×{dem.shape[1]} cells of "
          f"30 m (TM-3), reach {args.radius_km:g} km, mast {MAST:g} m, EIRP {EIRP:g} dBm, "
          f"rx {RX:g} m, ITM climate {args.climate}, N0 301, ε 15, σ 0.005 S/m, vertical")
    print(sites[["site", "kind", "lat", "lon", "ground_m", "tpi_m", "slope_deg"]]
          .to_string(index=False, float_format=lambda v: f"{v:.4f}" if abs(v) < 200 else
                     f"{v:.0f}"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    OUT[0] = out
    work = Path(tempfile.mkdtemp(prefix="validate-"))
    note = splat_prepare(zgeo, work)
    if note:
        print(f"SKIPPED SPLAT!: {note}")
    have = {}
    for mod in ("itmlogic", "pycraf"):
        try:
            __import__(mod)
            have[mod] = True
        except ImportError:
            have[mod] = False
            print(f"SKIPPED {mod}: not installed (pip install -e '.[bench]')")
    # warm the compiled kernels (compile time is not counted)
    for m in ("itm", *VARIANTS):
        phusong_fields(dem, z, sites.iloc[0], freqs[0], m, settings, 2000.0)
    points = []
    timing = []
    prof_rows = []
    rng = np.random.default_rng(0)
    for _, s in sites.iterrows():
        for f in freqs:
            fields, secs, cpu = {}, {}, {}
            for m in PHUSONG:
                fields[m], secs[m] = phusong_fields(dem, z, s, f, m, settings, R)
                cpu[m] = CPU[m]
            ref = None
            if note is None:
                ref, t_itm = splat_run(work, f"{s['site']}_{int(f)}", s["lat"], s["lon"], f,
                                       itwom=False, radius_km=args.radius_km,
                                       climate=args.climate)
                timing.append({"site": s["site"], "freq": f, "splat_itm_s": t_itm,
                               "splat_itm_cpu_s": SPLAT_CPU[-1], "itm_s": secs["itm"],
                               "itm_cpu_s": cpu["itm"], "terrain_s": secs["terrain"],
                               "terrain_cpu_s": cpu["terrain"]})
                px, py = to_m.transform(ref["lon"].to_numpy(), ref["lat"].to_numpy())
                c, r = (~dem.transform) * (np.asarray(px), np.asarray(py))
                rr, cc = np.floor(r).astype(int), np.floor(c).astype(int)
                dist = np.hypot(np.asarray(px) - s["x"], np.asarray(py) - s["y"]) / 1000.0
                keep = (rr >= 0) & (cc >= 0) & (rr < dem.shape[0]) & (cc < dem.shape[1]) \
                    & (dist >= 0.1) & (dist <= args.radius_km)
                ref = ref[keep].copy()
                rr, cc = rr[keep], cc[keep]
                ref["dist_km"] = dist[keep]
                for m in PHUSONG:
                    ref[m] = fields[m][rr, cc]
                if f in itwom_freqs:
                    w, t_w = splat_run(work, f"{s['site']}_{int(f)}w", s["lat"], s["lon"], f,
                                       itwom=True, radius_km=args.radius_km,
                                       climate=args.climate)
                    timing[-1]["splat_itwom_s"] = t_w
                    key = lambda d: (np.round(d["lat"], 7).astype(str) + "," +  # noqa: E731
                                     np.round(d["lon"], 7).astype(str))
                    wmap = pd.Series(w["loss_db"].to_numpy(), index=key(w))
                    wmap = wmap[~wmap.index.duplicated()]
                    ref["splat_itwom"] = wmap.reindex(key(ref)).to_numpy()
                ref["site"], ref["kind"], ref["freq"] = s["site"], s["kind"], f
                points.append(ref)
            # the sweep on its own profiles: a cell takes sample k of ray r, whose profile
            # runs along ray 4⌊r/4⌋ to R/4, its level-1 parent to R/2, then along r itself
            if have["itmlogic"]:
                for c_, r_, ray_, k_ in sweep_cells(dem, s, R, args.profile_points, rng):
                    prof = sweep_profile(z, dem, s, R, ray_, k_)
                    prof_rows.append({"site": s["site"], "freq": f, "dist_km": k_ * 0.03,
                                      "kind": "sweep_profile",
                                      "itm_sweep": float(fields["itm"][r_, c_]),
                                      "itmlogic": itmlogic_loss(prof, dem.res_xy[0], f,
                                                                args.climate)})
            # itmlogic / pycraf on the same profiles at random cells of the disc
            n = args.profile_points
            ang = rng.uniform(0, 2 * np.pi, n)
            dd = np.sqrt(rng.uniform((1000 / R) ** 2, 1.0, n)) * (R - 60)
            for a, d_ in zip(ang, dd, strict=True):
                x, y = s["x"] + d_ * np.cos(a), s["y"] + d_ * np.sin(a)
                prof = profile_at(z, dem, s, x, y)
                row = {"site": s["site"], "freq": f, "dist_km": (len(prof) - 1) * 0.03,
                       "kind": "cell_profile", "itm_p2p": _itm.p2p_loss(prof, dem.res_xy[0], tx_height_m=MAST,
                                                rx_height_m=RX, freq_mhz=f,
                                                params=_itm.ItmParams(climate=args.climate))}
                c, r = (~dem.transform) * (x, y)
                row["itm_sweep"] = float(fields["itm"][int(r), int(c)])
                for m in VARIANTS:
                    row[m] = float(fields[m][int(r), int(c)])
                if have["itmlogic"]:
                    row["itmlogic"] = itmlogic_loss(prof, dem.res_xy[0], f, args.climate)
                if have["pycraf"]:
                    lt, la = to_ll.transform(s["x"], s["y"])
                    lr, lar = to_ll.transform(x, y)
                    try:
                        row["pycraf_p452"] = pycraf_loss(prof, dem.res_xy[0], f, lt, la, lr,
                                                         lar)
                    except Exception as exc:  # a peer's failure is reported, not fatal
                        row["pycraf_p452"] = np.nan
                        row["pycraf_error"] = str(exc)[:80]
                prof_rows.append(row)
            print(f"  {s['site']} {s['kind']:<12} {f:>5.0f} MHz: terrain "
                  f"{secs['terrain']:.2f} s, itm {secs['itm']:.2f} s"
                  + (f", SPLAT! ITM {timing[-1]['splat_itm_s']:.1f} s" if timing else ""),
                  flush=True)
    shutil.rmtree(work, ignore_errors=True)
    prof = pd.DataFrame(prof_rows)
    prof.to_csv(out / "profiles.csv", index=False)
    pts = pd.concat(points, ignore_index=True) if points else None
    if pts is not None:
        pts.to_csv(out / "points.csv.gz", index=False)
    tm = pd.DataFrame(timing) if timing else None
    if tm is not None:
        tm.to_csv(out / "timing.csv", index=False)
    report(prof, pts, tm, freqs)
    print(f"  threads: numba {os.environ.get('NUMBA_NUM_THREADS', 'default')}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"\ntables in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
