"""Benchmark of ``phusong serve``: edit → updated statuses, page load, server memory.

On the sample province (Lai Châu by default; ``--preset mini`` for a quick run) it:

1. starts the server as ``phusong serve`` does (:class:`analysis.serve.planner.Planner`, the
   full coverage computed once) under uvicorn on a loopback port, and records the start-up
   time and the process's resident memory;
2. loads the page as a browser does — ``/``, its script and style, Leaflet, ``/api/state`` and
   ``/api/layers`` over HTTP — and, when Chromium and Playwright are there, times the page in
   headless Chromium until it is ready (map, villages and towers drawn);
3. times edits through the HTTP API, from sending the request to the answer holding the new
   village statuses and report lines: ``--edits`` new sites (a Viettel 4G site 300 m from a
   white village, spread over the province), each undone again, then moves and removals of
   bundle towers; prints median / p90 / max per kind, and the planner's own share (the
   engine + status part, without HTTP and JSON);
4. checks that the cached fields after all that equal a full recompute (with ``--check``).

Goal (issue 18): a new site's edit median ≤ 0.3 s (must: ≤ 1 s) on the 2-core machine, page
load ≤ 3 s.

Usage::

    .venv/bin/python bench/serve.py                       # Lai Châu sample (~855 towers)
    .venv/bin/python bench/serve.py --preset mini --check
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# bench/coverage.py would shadow the "coverage" package numba imports: keep bench/ off sys.path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


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


def _rss_mib() -> float:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def _stats(xs: list[float]) -> str:
    if not xs:
        return "n=0"
    a = np.asarray(xs)
    return (f"n={len(a)} median {np.median(a):.3f} s, p90 {np.percentile(a, 90):.3f} s, "
            f"max {a.max():.3f} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _page_in_chromium(url: str) -> float | None:
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                       else None)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if exe is None:
        return None
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = b.new_page(viewport={"width": 1300, "height": 900})
            t0 = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=120000)
            return time.perf_counter() - t0
        finally:
            b.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="lai-chau")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--bundle", default=None, help="use this bundle instead of generating")
    ap.add_argument("--workdir", default=str(ROOT / "outputs" / "bench"))
    ap.add_argument("--edits", type=int, default=15, help="new sites to time (each undone)")
    ap.add_argument("--moves", type=int, default=5, help="bundle towers to move and remove")
    ap.add_argument("--check", action="store_true",
                    help="compare the cached fields with a full recompute at the end")
    args = ap.parse_args(argv)

    import httpx
    import uvicorn

    from phusong.analysis.serve.app import create_app
    from phusong.analysis.serve.planner import Planner

    bundle = _bundle(args)
    rss0 = _rss_mib()
    t0 = time.perf_counter()
    planner = Planner(bundle)
    startup = time.perf_counter() - t0
    rss1 = _rss_mib()
    n_bts = len(bundle.layer("bts"))
    print(f"province {bundle.province}: {len(planner.status)} villages, "
          f"{len(bundle.layer('towers'))} towers, {n_bts} BTS, grid {planner.grid.shape[0]}×"
          f"{planner.grid.shape[1]} cells, {planner.model} model")
    print(f"start-up (full coverage + status, once): {startup:.1f} s; RSS {rss0:.0f} → "
          f"{rss1:.0f} MiB")
    print("first line:", planner.lines()[0])

    workdir = Path(args.workdir) / "serve-scenarios"
    app = create_app(planner, scenarios_dir=workdir)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=600)

    # page load over HTTP (what a browser fetches), then in Chromium
    t0 = time.perf_counter()
    sizes = 0
    for path in ("/", "/static/app.js", "/static/app.css", "/vendor/leaflet/dist/leaflet.js",
                 "/vendor/leaflet/dist/leaflet.css", "/api/state", "/api/layers"):
        r = client.get(path)
        r.raise_for_status()
        sizes += len(r.content)
    http_load = time.perf_counter() - t0
    print(f"page load over HTTP (7 requests, {sizes / 1e6:.2f} MB, layers cached after): "
          f"{http_load:.2f} s")
    chrom = _page_in_chromium(url + "/")
    print("page load in headless Chromium until ready: "
          + (f"{chrom:.2f} s" if chrom is not None else "skipped (no Chromium/Playwright)"))

    # new sites beside white villages, spread over the province, each undone
    st = planner.status
    ids = list(st.index)
    white = [v for v in st.index if st.loc[v, "status_viettel"] == "trang"]
    rng = np.random.default_rng(0)
    picks = list(rng.permutation(white))[:args.edits] if white else []
    add_http, add_engine, undo_http, changed = [], [], [], []
    for i, vid in enumerate(picks):
        lon, lat = planner.village_lonlat[ids.index(vid)]
        edit = {"op": "add_site", "site_id": f"BENCH{i}", "operator": "viettel",
                "lon": float(lon) + 0.003, "lat": float(lat), "height_m": 35,
                "bts": [{"tech": "4G"}]}
        t0 = time.perf_counter()
        r = client.post("/api/edit", json=edit)
        dt_http = time.perf_counter() - t0
        if r.status_code != 200:
            print("  refused:", r.json().get("error"))
            continue
        data = r.json()
        add_http.append(dt_http)
        add_engine.append(float(data["seconds"]))
        changed.append(len(data["changed"]))
        t0 = time.perf_counter()
        client.post("/api/undo").raise_for_status()
        undo_http.append(time.perf_counter() - t0)
    print(f"new site → statuses (HTTP round trip): {_stats(add_http)}")
    print(f"  of which engine + status: {_stats(add_engine)}; villages changed per site: "
          f"median {statistics.median(changed) if changed else 0}")
    print(f"undo of a new site (HTTP): {_stats(undo_http)}")

    # moves and removals of bundle towers (the window is rebuilt from the affected sites)
    towers = bundle.layer("towers")
    move_http, remove_http = [], []
    for j in rng.permutation(len(towers))[:args.moves]:
        t = towers.iloc[int(j)]
        tid = str(t["tower_id"])
        t0 = time.perf_counter()
        r = client.post("/api/edit", json={"op": "move", "tower_id": tid,
                                           "lon": t.geometry.x + 0.002, "lat": t.geometry.y})
        if r.status_code == 200:
            move_http.append(time.perf_counter() - t0)
            client.post("/api/undo").raise_for_status()
        t0 = time.perf_counter()
        r = client.post("/api/edit", json={"op": "remove", "tower_id": tid})
        if r.status_code == 200:
            remove_http.append(time.perf_counter() - t0)
            client.post("/api/undo").raise_for_status()
    print(f"move a bundle tower (HTTP): {_stats(move_http)}")
    print(f"remove a bundle tower (HTTP): {_stats(remove_http)}")
    print(f"server RSS after the edits: {_rss_mib():.0f} MiB "
          f"(cache of added fields {planner._cache_bytes / 2**20:.0f} MiB)")

    if args.check:
        from phusong.analysis.coverage.engine import compute_coverage
        from phusong.analysis.serve.scenario import apply_scenario

        for i, vid in enumerate(picks[:3]):
            lon, lat = planner.village_lonlat[ids.index(vid)]
            client.post("/api/edit", json={"op": "add_site", "site_id": f"CHK{i}",
                                           "operator": "viettel", "lon": float(lon) + 0.003,
                                           "lat": float(lat), "bts": [{"tech": "4G"}]})
        if len(towers):
            client.post("/api/edit", json={"op": "remove",
                                           "tower_id": str(towers["tower_id"].iloc[0])})
        b2, s2, _ = apply_scenario(bundle, planner.edits)
        full = compute_coverage(b2, settings=s2)
        worst = 0.0
        for k, arr in full.best_dbm.items():
            d = np.abs(planner.cur[k] - arr)
            same_nan = np.array_equal(np.isnan(planner.cur[k]), np.isnan(arr))
            worst = max(worst, float(np.nanmax(d)) if np.isfinite(d).any() else 0.0)
            if not same_nan:
                worst = float("inf")
        print(f"check against a full recompute ({len(planner.edits)} edits): max |Δ| = "
              f"{worst:.2e} dB")
    server.should_exit = True
    th.join(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
