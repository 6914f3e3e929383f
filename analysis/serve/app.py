"""The planning server's web application (Starlette through FastAPI; served by uvicorn).

Routes (JSON unless said otherwise):

``GET /``                      the page (HTML); ``/static/*`` its script and style;
                               ``/vendor/*`` the vendored Leaflet (no internet at all)
``GET /api/state``             province, operators, defaults, villages with status, towers,
                               BTS, report lines, the scenario's edits, undo/redo
``GET /api/layers``            boundaries, fibre (GeoJSON), hillshade (image + bounds)
``POST /api/edit``             one edit (:mod:`analysis.serve.scenario`); answers the new
                               state, the villages that changed and the seconds it took
``POST /api/undo|redo``        step through the scenario's history
``GET /api/diff?operator=``    signal difference against the bundle (image + bounds)
``GET /api/scenarios``         scenario files; ``POST /api/scenarios`` saves (``name``);
``POST /api/scenarios/load``   loads one (``name``); ``GET /api/compare?a=&b=`` side by side
``POST /api/export``           gap lists, rollout list and report of the scenario, written
                               by the same library functions as the CLI

Safety: a request whose body exceeds :data:`MAX_BODY` is refused (413); edits are serialised
by the planner's lock (a request that waits longer than ``lock_timeout_s`` gets 409); bad
input gets one line (4xx) and changes nothing; with a token every request must present it
(header ``X-Phusong-Token`` or the cookie set by opening ``/?token=…``); the ``Host`` header
must name the server (no DNS rebinding). The bundle is only read.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

try:  # the "serve" extra; FastAPI resolves the route annotations at module level
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware.trustedhost import TrustedHostMiddleware
except ImportError as exc:  # pragma: no cover - the serve extra is missing
    from phusong.gis.errors import MissingDependencyError

    raise MissingDependencyError("phusong serve needs FastAPI and uvicorn: pip install "
                                 "'phusong[serve]'") from exc

from phusong.analysis.serve.planner import Planner
from phusong.analysis.serve.scenario import (
    LIMITS,
    radio_defaults,
    read_scenario,
    scenario_document,
    write_scenario,
)
from phusong.gis.errors import PhusongError
from phusong.layers.operators import OPERATORS
from phusong.layers.settings import TECHNOLOGIES

logger = logging.getLogger(__name__)

__all__ = ["MAX_BODY", "create_app", "export_scenario"]

MAX_BODY = 64 * 1024
STATIC_DIR = Path(__file__).resolve().parent / "static"
_SCENARIO_NAME = re.compile(r"^[\w .-]{1,64}$", re.UNICODE)
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'")


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _round_coords(obj: Any, digits: int = 5) -> Any:
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, list | tuple):
        return [_round_coords(v, digits) for v in obj]
    if isinstance(obj, dict):
        return {k: _round_coords(v, digits) for k, v in obj.items()}
    return obj


def _geojson(gdf, props: list[str], *, tolerance_deg: float = 0.0) -> dict[str, Any]:
    import shapely

    feats = []
    for row in gdf.to_dict("records"):
        g = row["geometry"]
        if g is None or g.is_empty:
            continue
        if tolerance_deg:
            g = shapely.simplify(g, tolerance_deg, preserve_topology=True)
        feats.append({"type": "Feature",
                      "properties": {p: (None if row.get(p) is None else str(row.get(p)))
                                     for p in props},
                      "geometry": _round_coords(shapely.geometry.mapping(g))})
    return {"type": "FeatureCollection", "features": feats}


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


class _Server:
    """State of one running server: the planner, its scenario folder, cached layers."""

    def __init__(self, planner: Planner, *, scenarios_dir: Path, lock_timeout_s: float) -> None:
        self.planner = planner
        self.scenarios_dir = Path(scenarios_dir)
        self.lock_timeout_s = lock_timeout_s
        self._layers: dict[str, Any] | None = None
        self.radio = radio_defaults(planner.settings)
        self._layers_lock = threading.Lock()

    # -- locking ---------------------------------------------------------------------------
    def locked(self, fn: Callable[[], Any]) -> Any:
        if not self.planner.lock.acquire(timeout=self.lock_timeout_s):
            raise _HTTPError(409, "Máy chủ đang bận với thay đổi khác; thử lại / The server is "
                                  "busy with another change; try again")
        try:
            return fn()
        finally:
            self.planner.lock.release()

    # -- state -----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        p = self.planner
        st = p.status
        ops = [o.value for o in OPERATORS]
        lonlat = np.round(p.village_lonlat, 6)
        pop = st["population"].to_numpy() if "population" in st else np.full(len(st), None)
        cols = {op: st[f"status_{op}"].astype(str).to_numpy() for op in ["any", *ops]}
        names = st["name"].astype(str).to_numpy()
        vil = [{"id": str(vid), "name": names[i], "lon": float(lonlat[i, 0]),
                "lat": float(lonlat[i, 1]), "population": _num(pop[i]),
                "status": {op: cols[op][i] for op in cols}}
               for i, vid in enumerate(st.index)]
        layers = p.layers
        towers = []
        for t in layers.towers.to_dict("records"):
            towers.append({"id": str(t["tower_id"]), "owner": str(t.get("owner") or ""),
                           "height_m": _num(t.get("height_m")),
                           "lon": round(t["geometry"].x, 6), "lat": round(t["geometry"].y, 6)})
        off = layers.switched_off(p.settings)
        bts = []
        for b in layers.bts.to_dict("records"):
            bts.append({"id": str(b["bts_id"]), "tower_id": str(b["tower_id"]),
                        "operator": str(b["operator"]), "tech": str(b["tech"]),
                        "band_mhz": _num(b.get("band_mhz")),
                        "height_m": _num(b.get("antenna_height_m")),
                        "eirp_dbm": _num(b.get("eirp_dbm")),
                        "enabled": bool(b["enabled"]), "origin": str(b["origin"]),
                        "switched_off": (str(b["operator"]), str(b["tech"])) in off})
        s = p.eval_settings
        from phusong.analysis.publish.mapping import OPERATOR_COLOURS, SAMPLE_LABEL, STATUS_COLOURS

        return {
            "province": p.bundle.province, "sample": bool(p.sample),
            "sample_label": SAMPLE_LABEL if p.sample else "",
            "model": p.model, "as_of": s.as_of_date().isoformat(),
            "operators": [{"id": o.value, "label": o.label,
                           "colour": OPERATOR_COLOURS.get(o.value, "#444")} for o in OPERATORS],
            "status_colours": dict(STATUS_COLOURS),
            "techs": list(TECHNOLOGIES),
            "defaults": {"height_m": p.settings.mast_height_m, "radio": self.radio,
                         "limits": {k: list(v) for k, v in LIMITS.items()}},
            "lines": p.lines(), "villages": vil, "towers": towers, "bts": bts,
            "sunsets": [{"tech": t, "operator": o, "date": d,
                         "in_effect": dt.date.fromisoformat(d) <= s.as_of_date()}
                        for t, o, d in layers.sunsets],
            "edits": p.edits, "can_undo": p.can_undo, "can_redo": p.can_redo,
            "bounds": self._bounds(),
        }

    def _bounds(self) -> list[list[float]]:
        b = self.planner.bundle.layer("admin_units")
        if len(b) == 0:
            b = self.planner.bundle.layer("villages")
        x0, y0, x1, y1 = (float(v) for v in b.total_bounds)
        return [[y0, x0], [y1, x1]]

    def result(self, res) -> dict[str, Any]:
        out = self.state()
        ch = res.changed if res is not None else None
        out["changed"] = [] if ch is None else [
            {k: (None if v is None else str(v)) for k, v in r.items()}
            for r in ch.to_dict("records")]
        out["seconds"] = None if res is None else round(res.seconds, 4)
        return out

    # -- layers ----------------------------------------------------------------------------
    def layers(self) -> dict[str, Any]:
        with self._layers_lock:
            if self._layers is None:
                self._layers = self._build_layers()
            return self._layers

    def _build_layers(self) -> dict[str, Any]:
        from phusong.analysis.publish.mapping import coarsen_dem, gray_jpeg, to_mercator_image

        p = self.planner
        b = p.bundle
        admin = b.layer("admin_units")
        out: dict[str, Any] = {
            "boundaries": _geojson(admin, ["code", "name", "level"], tolerance_deg=0.0005),
            "fibre": _geojson(b.layer("fibre_routes"), ["route_id", "operator", "kind"],
                              tolerance_deg=0.0003),
            "hillshade": None}
        if p.dem is not None:
            from phusong.gis.dem import hillshade

            dem = coarsen_dem(p.dem, max_px=1400)
            shade = np.asarray(hillshade(dem), dtype=np.float32)
            if np.nanmax(shade) > 1.5:
                shade = shade / 255.0
            shade = np.where(np.isnan(np.asarray(dem.elevation_m)), np.nan, shade)
            img, bounds = to_mercator_image(shade, dem.transform, dem.crs)
            out["hillshade"] = {"url": gray_jpeg(img), "bounds": bounds}
        return out

    def diff(self, operator: str | None) -> dict[str, Any]:
        """Signal difference (dB) of the scenario against the bundle, for one operator."""
        from phusong.analysis.publish.mapping import palette_png, to_mercator_image

        p = self.planner
        now = p.operator_best(p.cur, operator)
        before = p.operator_best(p.orig, operator)
        if now is None and before is None:
            return {"url": None, "bounds": None, "cells": 0}
        floor = -150.0
        a = np.full(p.grid.shape, floor, np.float32) if now is None else np.fmax(now, floor)
        b = np.full(p.grid.shape, floor, np.float32) if before is None else np.fmax(before, floor)
        d = (a - b).astype(np.float32)
        d[np.abs(d) < 0.05] = np.nan
        ok = np.isfinite(d)
        if not ok.any():
            return {"url": None, "bounds": None, "cells": 0}
        rr = np.flatnonzero(ok.any(axis=1))
        cc = np.flatnonzero(ok.any(axis=0))
        r0, r1, c0, c1 = int(rr[0]), int(rr[-1]) + 1, int(cc[0]), int(cc[-1]) + 1
        import affine

        tr = p.grid.transform * affine.Affine.translation(c0, r0)
        img, bounds = to_mercator_image(np.clip(d[r0:r1, c0:c1], -30, 30), tr, p.grid.crs,
                                        max_px=1000)
        return {"url": palette_png(img, cmap="RdBu", vmin=-30.0, vmax=30.0, alpha=0.75),
                "bounds": bounds, "cells": int(ok.sum()), "range_db": [-30, 30]}

    # -- scenarios -------------------------------------------------------------------------
    def scenario_path(self, name: str) -> Path:
        if not isinstance(name, str) or not _SCENARIO_NAME.match(name) or name.strip(". ") == "":
            raise _HTTPError(400, f"Tên kịch bản không hợp lệ / invalid scenario name {name!r} "
                                  "(letters, digits, space, _ . -; at most 64)")
        return self.scenarios_dir / f"{name.strip()}.json"

    def list_scenarios(self) -> list[dict[str, Any]]:
        out = []
        if self.scenarios_dir.is_dir():
            for f in sorted(self.scenarios_dir.glob("*.json")):
                try:
                    doc = read_scenario(f)
                except PhusongError:
                    continue
                out.append({"name": f.stem, "edits": len(doc["edits"]),
                            "created": doc.get("created")})
        return out

    def edits_of(self, name: str) -> list[dict[str, Any]]:
        if name in ("", "current"):
            return self.planner.edits
        if name == "bundle":
            return []
        path = self.scenario_path(name)
        if not path.exists():
            raise _HTTPError(404, f"Không có kịch bản / no scenario {name!r}")
        return read_scenario(path, bundle=self.planner.bundle)["edits"]


def export_scenario(planner: Planner, folder: str | Path, *,
                    overwrite: bool = True) -> list[Path]:
    """Gap lists, rollout list and report of the planner's scenario, as the CLI writes them.

    ``folder/analyse`` holds what ``phusong analyse`` writes, ``folder/rollout`` what
    ``phusong rollout`` writes (with its default options) and ``folder/report`` the
    ``report.html``/``report.xlsx`` of ``phusong report`` — the same library functions on the
    scenario's bundle (:meth:`Planner.scenario_bundle`), coverage and status.
    """
    from phusong.analysis.analyses import run_analyses
    from phusong.analysis.cli.cmd_rollout import cli as rollout_cli
    from phusong.analysis.publish.report import build_report, write_report_html, write_report_xlsx
    from phusong.analysis.rollout.outputs import write_rollout
    from phusong.analysis.rollout.plan import plan_rollout
    from phusong.analysis.tables.fibre import fibre_reach
    from phusong.analysis.tables.service_radius import service_radius_table

    folder = Path(folder)
    bundle = planner.scenario_bundle()
    settings = planner.eval_settings
    coverage = planner.coverage()
    status = planner.status
    files: list[Path] = []
    res = run_analyses(bundle, status, coverage, out=folder / "analyse", settings=settings,
                       overwrite=overwrite)
    written = res.files
    files += [Path(f) for f in written.values()]
    d = {p.name: p.default for p in rollout_cli.params}
    plan = plan_rollout(bundle, status, budget_vnd=d["budget"], max_sites=d["max_sites"],
                        include_lom=d["include_lom"], settings=settings,
                        coverage_model=planner.model,
                        min_code=2 if d["covered_when"] == "phu" else 1,
                        time_limit_s=d["time_limit_s"])
    files += [Path(f) for f in write_rollout(plan, folder / "rollout", bundle=bundle,
                                             settings=settings, overwrite=overwrite).values()]
    report = build_report(bundle, status=status, coverage=coverage, settings=settings,
                          service_radius=service_radius_table(bundle, settings=settings),
                          fibre_reach=fibre_reach(bundle, settings=settings))
    files.append(write_report_html(report, folder / "report" / "report.html",
                                   overwrite=overwrite))
    files.append(write_report_xlsx(report, folder / "report" / "report.xlsx",
                                   overwrite=overwrite))
    return files


def create_app(planner: Planner, *, scenarios_dir: str | Path, token: str | None = None,
               allowed_hosts: list[str] | None = None, lock_timeout_s: float = 30.0):
    """The ASGI application serving ``planner``.

    Parameters
    ----------
    planner
        The province's :class:`Planner` (already computed).
    scenarios_dir
        Folder of the scenario files (created on the first save).
    token
        When set, every request must present it.
    allowed_hosts
        Host names the ``Host`` header may carry (default: loopback names only).
    lock_timeout_s
        How long an edit waits for another to finish before it is refused (409).
    """
    from phusong.analysis.publish.offline import VENDOR_DIR

    srv = _Server(planner, scenarios_dir=Path(scenarios_dir), lock_timeout_s=lock_timeout_s)
    app = FastAPI(title="phusong serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = srv
    hosts = [*(allowed_hosts or []), "127.0.0.1", "localhost", "[::1]"]
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if token is not None:
            given = request.headers.get("x-phusong-token") or request.cookies.get(
                "phusong_token") or ""
            if request.url.path == "/" and request.query_params.get("token"):
                given = request.query_params["token"]
            if not hmac.compare_digest(given.encode(), token.encode()):
                return error(403, "Cần mã truy cập / a valid token is required "
                                  "(open the address printed by phusong serve)")
        length = request.headers.get("content-length")
        if length is not None:
            try:
                too_big = int(length) > MAX_BODY
            except ValueError:
                return error(400, "Content-Length không hợp lệ / invalid Content-Length")
            if too_big:
                return error(413, f"Yêu cầu quá lớn / request larger than {MAX_BODY} bytes")
        elif request.method in ("POST", "PUT", "PATCH") and \
                request.headers.get("transfer-encoding"):
            return error(411, "Cần Content-Length / Content-Length required")
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.url.path == "/":
            response.headers["Content-Security-Policy"] = _CSP
        return response

    async def body_json(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise _HTTPError(413, f"Yêu cầu quá lớn / request larger than {MAX_BODY} bytes")
        try:
            data = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _HTTPError(400, f"JSON không hợp lệ / invalid JSON body ({exc})") from None
        if not isinstance(data, dict):
            raise _HTTPError(400, "Cần một đối tượng JSON / a JSON object is expected")
        return data

    async def run(fn: Callable[[], Any], *, lock: bool = True) -> JSONResponse:
        try:
            out = await run_in_threadpool(srv.locked if lock else (lambda f: f()), fn)
        except _HTTPError as exc:
            return error(exc.status, exc.message)
        except PhusongError as exc:
            return error(400, str(exc))
        return JSONResponse(out)

    @app.exception_handler(_HTTPError)
    async def _http_error(request: Request, exc: _HTTPError):
        return error(exc.status, exc.message)

    @app.get("/")
    async def index(request: Request):
        if token is not None and request.query_params.get("token"):
            resp = RedirectResponse("/", status_code=303)
            resp.set_cookie("phusong_token", token, httponly=True, samesite="strict")
            return resp
        html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(html)

    @app.get("/favicon.ico")
    async def favicon():
        from fastapi.responses import Response

        return Response(status_code=204)

    @app.get("/static/{name}")
    async def static(name: str):
        path = STATIC_DIR / name
        if name not in ("app.js", "app.css") or not path.exists():
            return error(404, "not found")
        return FileResponse(path)

    @app.get("/vendor/{rel:path}")
    async def vendor(rel: str):
        root = VENDOR_DIR.resolve()
        path = (root / rel).resolve()
        if root not in path.parents or not path.is_file() or \
                path.suffix not in (".js", ".css", ".png", ".svg"):
            return error(404, "not found")
        return FileResponse(path)

    @app.get("/api/state")
    async def state():
        return await run(srv.state)

    @app.get("/api/layers")
    async def layers():
        return await run(srv.layers, lock=False)

    @app.post("/api/edit")
    async def edit(request: Request):
        data = await body_json(request)
        return await run(lambda: srv.result(planner.apply(data)))

    @app.post("/api/undo")
    async def undo():
        return await run(lambda: srv.result(planner.undo()))

    @app.post("/api/redo")
    async def redo():
        return await run(lambda: srv.result(planner.redo()))

    @app.get("/api/diff")
    async def diff(operator: str = "any"):
        ops = [o.value for o in OPERATORS]
        if operator not in ("any", *ops):
            return error(400, f"Doanh nghiệp không có / unknown operator {operator!r}")
        return await run(lambda: srv.diff(None if operator == "any" else operator))

    @app.get("/api/scenarios")
    async def scenarios():
        return await run(lambda: {"scenarios": srv.list_scenarios(),
                                  "folder": str(srv.scenarios_dir)}, lock=False)

    @app.post("/api/scenarios")
    async def save(request: Request):
        data = await body_json(request)

        def do() -> dict[str, Any]:
            name = str(data.get("name", "")).strip()
            path = srv.scenario_path(name)
            doc = scenario_document(name, planner.edits, bundle=planner.bundle)
            srv.scenarios_dir.mkdir(parents=True, exist_ok=True)
            write_scenario(doc, path, overwrite=True)
            logger.info("saved scenario %s (%d edits)", path, len(doc["edits"]))
            return {"saved": name, "path": str(path), "scenarios": srv.list_scenarios()}

        return await run(do)

    @app.post("/api/scenarios/load")
    async def load(request: Request):
        data = await body_json(request)

        def do() -> dict[str, Any]:
            edits = srv.edits_of(str(data.get("name", "")))
            out = srv.result(planner.load(edits))
            out["loaded"] = data.get("name")
            return out

        return await run(do)

    @app.get("/api/compare")
    async def compare(a: str = "current", b: str = "bundle"):
        def do() -> dict[str, Any]:
            ops = ["any", *(o.value for o in OPERATORS)]
            sides = {}
            tables = {}
            for key, name in (("a", a), ("b", b)):
                edits = srv.edits_of(name)
                if name in ("", "current"):
                    st, lines = planner.status.copy(), planner.lines()
                else:
                    st, lines = planner.evaluate(edits)
                tables[key] = st
                sides[key] = {"name": name, "edits": len(edits), "lines": lines,
                              "with_signal": {op: int((st[f"status_{op}"] != "trang").sum())
                                              for op in ops}}
            ta, tb = tables["a"], tables["b"]
            diff = np.zeros(len(ta), dtype=bool)
            for op in ops:
                diff |= ta[f"status_{op}"].to_numpy() != tb[f"status_{op}"].to_numpy()
            villages = [{"id": str(v), "name": str(ta.loc[v, "name"]),
                         "a": str(ta.loc[v, "status_any"]), "b": str(tb.loc[v, "status_any"])}
                        for v in ta.index[diff]]
            return {"a": sides["a"], "b": sides["b"], "villages": villages}

        return await run(do)

    @app.post("/api/export")
    async def export(request: Request):
        data = await body_json(request)

        def do() -> dict[str, Any]:
            name = str(data.get("name", "")).strip() or "current"
            srv.scenario_path(name)  # validates the name
            folder = srv.scenarios_dir / f"{name}-outputs"
            t0 = time.perf_counter()
            files = export_scenario(planner, folder)
            return {"folder": str(folder), "files": sorted(str(f) for f in files),
                    "seconds": round(time.perf_counter() - t0, 2)}

        return await run(do)

    return app
