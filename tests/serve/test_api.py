"""The planning server's HTTP API (httpx TestClient): bad input, safety, concurrency.

Every rejected request must leave the scenario as it was; 20 edits sent at once must be
serialised (or refused with 409) and the fields must still equal a full recompute of the
edits that were accepted.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

pytest.importorskip("fastapi")
with warnings.catch_warnings():  # Starlette ≥ 1.0 prefers the httpx2 fork; httpx still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from phusong.analysis.coverage.engine import compute_coverage
from phusong.analysis.serve.app import MAX_BODY, create_app
from phusong.analysis.serve.planner import Planner
from phusong.analysis.serve.scenario import apply_scenario

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def planner(tiny_bundle):
    return Planner(tiny_bundle)


@pytest.fixture()
def client(planner, tmp_path):
    planner.load([])
    planner.clear_history()
    app = create_app(planner, scenarios_dir=tmp_path / "scenarios")
    with TestClient(app, base_url=BASE) as c:
        yield c


def _inside(planner) -> tuple[float, float]:
    lon, lat = planner.village_lonlat[0]
    return float(lon) + 0.002, float(lat)


def _add(planner, sid: str, **kw) -> dict:
    lon, lat = _inside(planner)
    e = {"op": "add_site", "site_id": sid, "operator": "viettel", "lon": lon, "lat": lat,
         "height_m": 30, "bts": [{"tech": "4G"}]}
    e.update(kw)
    return e


@pytest.mark.parametrize(("change", "status", "needle"), [
    ({"operator": "nokia"}, 400, "unknown operator 'nokia'"),
    ({"lon": 105.9, "lat": 21.0}, 400, "outside the province"),
    ({"lon": 500.0}, 400, "not lon/lat"),
    ({"bts": [{"tech": "4G", "eirp_dbm": 1000}]}, 400, "eirp_dbm=1000 outside"),
    ({"height_m": -5}, 400, "height_m=-5 outside"),
    ({"bts": [{"tech": "7G"}]}, 400, "unknown technology '7G'"),
    ({"bts": []}, 400, "at least one technology"),
    ({"site_id": "<script>"}, 400, "invalid site_id"),
    ({"op": "teleport"}, 400, "unknown op 'teleport'"),
    ({"lat": "north"}, 400, "is not a number"),
])
def test_bad_edit_is_refused_and_changes_nothing(client, planner, change, status, needle):
    before = client.get("/api/state").json()
    r = client.post("/api/edit", json=_add(planner, "B1", **change))
    assert r.status_code == status
    assert needle in r.json()["error"]
    after = client.get("/api/state").json()
    assert after["edits"] == before["edits"] == []
    assert after["lines"] == before["lines"]
    assert [v["status"] for v in after["villages"]] == [v["status"] for v in before["villages"]]


def test_unknown_tower_malformed_json_and_huge_body(client, planner):
    r = client.post("/api/edit", json={"op": "remove", "tower_id": "NOPE"})
    assert r.status_code == 400 and "no tower NOPE" in r.json()["error"]
    r = client.post("/api/edit", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "invalid JSON" in r.json()["error"]
    r = client.post("/api/edit", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = client.post("/api/edit", content=b" " * (MAX_BODY + 1))
    assert r.status_code == 413
    r = client.post("/api/scenarios", json={"name": "../../etc/passwd"})
    assert r.status_code == 400 and "invalid scenario name" in r.json()["error"]
    r = client.get("/api/diff", params={"operator": "nokia"})
    assert r.status_code == 400
    r = client.get("/vendor/../../../../etc/passwd")
    assert r.status_code == 404
    assert client.get("/api/state").json()["edits"] == []


def test_edit_undo_redo_and_changed_villages(client, planner):
    st0 = client.get("/api/state").json()
    white = [v for v in st0["villages"] if v["status"]["viettel"] == "trang"]
    v = white[0]
    r = client.post("/api/edit", json={"op": "add_site", "site_id": "W1", "operator": "viettel",
                                       "lon": v["lon"] + 0.0005, "lat": v["lat"], "height_m": 30,
                                       "bts": [{"tech": "4G"}]})
    assert r.status_code == 200, r.text
    s1 = r.json()
    v1 = next(x for x in s1["villages"] if x["id"] == v["id"])
    assert v1["status"]["viettel"] != "trang"
    assert v["id"] in {c["village_id"] for c in s1["changed"]}
    assert s1["lines"] != st0["lines"] and s1["can_undo"]
    assert any(t["id"] == "W1" for t in s1["towers"])
    s2 = client.post("/api/undo").json()
    assert s2["lines"] == st0["lines"] and s2["can_redo"] and not s2["can_undo"]
    s3 = client.post("/api/redo").json()
    assert s3["lines"] == s1["lines"]
    d = client.get("/api/diff", params={"operator": "viettel"}).json()
    assert d["url"].startswith("data:image/png;base64,") and d["cells"] > 0


def test_twenty_concurrent_edits_are_serialised(client, planner, tiny_bundle):
    lon, lat = _inside(planner)
    results: list[int] = [0] * 20
    go = threading.Event()

    def send(i: int) -> None:
        go.wait()
        e = {"op": "add_site", "site_id": f"C{i:02d}", "operator": ["viettel", "vinaphone"][i % 2],
             "lon": lon + 0.001 * (i % 5), "lat": lat - 0.001 * (i // 5), "height_m": 25 + i,
             "bts": [{"tech": "4G"}]}
        results[i] = client.post("/api/edit", json=e).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(timeout=300)
    assert set(results) <= {200, 409}
    state = client.get("/api/state").json()
    assert len(state["edits"]) == results.count(200) > 0
    assert len({e["site_id"] for e in state["edits"]}) == len(state["edits"])
    # the cache is not corrupted: the fields equal a full recompute of the accepted edits
    b2, s2, _ = apply_scenario(tiny_bundle, planner.edits)
    full = compute_coverage(b2, settings=s2)
    for k, arr in full.best_dbm.items():
        np.testing.assert_allclose(planner.cur[k], arr, atol=1e-4, equal_nan=True)


def test_busy_server_refuses_with_409(planner, tmp_path):
    planner.load([])
    app = create_app(planner, scenarios_dir=tmp_path, lock_timeout_s=0.05)
    with TestClient(app, base_url=BASE) as c:
        n = len(planner.edits)
        with planner.lock:
            r = c.post("/api/edit", json=_add(planner, "L1"))
        assert r.status_code == 409 and "busy" in r.json()["error"]
        assert len(planner.edits) == n


def test_token_and_host_checks(planner, tmp_path):
    token = "s3cret-token-of-some-length"
    app = create_app(planner, scenarios_dir=tmp_path, token=token)
    with TestClient(app, base_url=BASE) as c:
        assert c.get("/api/state").status_code == 403
        assert c.get("/api/state", headers={"X-Phusong-Token": "wrong"}).status_code == 403
        assert c.get("/api/state", headers={"X-Phusong-Token": token}).status_code == 200
        r = c.get("/", params={"token": token}, follow_redirects=False)
        assert r.status_code == 303 and "phusong_token" in r.headers["set-cookie"]
        assert "httponly" in r.headers["set-cookie"].lower()
        assert c.get("/api/state").status_code == 200  # the cookie now
    app = create_app(planner, scenarios_dir=tmp_path)
    with TestClient(app, base_url="http://evil.example:8765") as c:
        assert c.get("/api/state").status_code == 400


def test_page_and_assets_are_local(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "default-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert "http://" not in html and "https://" not in html
    assert client.get("/vendor/leaflet/dist/leaflet.js").status_code == 200
    assert client.get("/static/app.js").status_code == 200
    layers = client.get("/api/layers").json()
    assert layers["hillshade"]["url"].startswith("data:image/jpeg")
    assert layers["boundaries"]["features"]


def test_save_compare_load_and_export(client, planner, tmp_path, tiny_bundle):
    st0 = client.get("/api/state").json()
    v = next(x for x in st0["villages"] if x["status"]["viettel"] == "trang")
    client.post("/api/edit", json={"op": "add_site", "site_id": "S1", "operator": "viettel",
                                   "lon": v["lon"] + 0.0005, "lat": v["lat"], "height_m": 30,
                                   "bts": [{"tech": "4G"}]})
    r = client.post("/api/scenarios", json={"name": "mot tram"})
    assert r.status_code == 200, r.text
    assert [s["name"] for s in r.json()["scenarios"]] == ["mot tram"]
    cmp = client.get("/api/compare", params={"a": "mot tram", "b": "bundle"}).json()
    assert cmp["a"]["lines"] != cmp["b"]["lines"]
    assert cmp["b"]["lines"] == st0["lines"]
    assert v["id"] in {x["id"] for x in cmp["villages"]}
    assert client.get("/api/state").json()["edits"] == planner.edits  # restored after compare
    client.post("/api/undo")
    s = client.post("/api/scenarios/load", json={"name": "mot tram"}).json()
    assert [e["site_id"] for e in s["edits"] if "site_id" in e] == ["S1"]
    assert s["lines"] == cmp["a"]["lines"]
    bundle_files = {p.name: p.stat().st_mtime_ns for p in tiny_bundle.folder.iterdir()}
    ex = client.post("/api/export", json={"name": "mot tram"})
    assert ex.status_code == 200, ex.text
    names = {p.rsplit("/", 1)[-1] for p in ex.json()["files"]}
    assert {"report.html", "report.xlsx", "rollout_sites.csv"} <= names
    assert any(n.startswith("gaps") or "gap" in n for n in names)
    assert {p.name: p.stat().st_mtime_ns for p in tiny_bundle.folder.iterdir()} == bundle_files
