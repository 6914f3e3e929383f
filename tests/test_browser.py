"""The offline map in a real headless browser, with the network cut off.

Generates the "mini" sample province, names one village ``<img src=x onerror=alert(1)>``,
runs coverage (terrain model) and village status, writes the offline map and opens it in
Debian's Chromium through Playwright with every non-``file:`` request aborted. Checks: Leaflet
is initialised, the expected layers are in the layer control, the tools are present, searching
a village name works, clicking the malicious village opens a popup that shows the name as text
(no ``<img>`` element, no alert dialog), no request left the page and the console is free of
errors. A screenshot is written to ``outputs/browser/map.png``.

Chromium comes from ``tools/install_browser.sh`` (``make test`` runs it; the test runs it too
when Chromium is missing). The test skips only when no Chromium can be installed, and says so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "outputs" / "browser" / "map.png"
EVIL = "<img src=x onerror=alert(1)>"


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    script = ROOT / "tools" / "install_browser.sh"
    log = ""
    if script.exists():
        proc = subprocess.run(["bash", str(script)], capture_output=True, text=True,
                              timeout=900, check=False)
        log = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]
        log = log[0]
    found = shutil.which("chromium")
    if not found:
        pytest.skip("no Chromium and it could not be installed with tools/install_browser.sh "
                    f"(apt-get install chromium): {log}")
    return found


@pytest.fixture(scope="module")
def offline_map(tmp_path_factory):
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.analysis.publish.mapping import build_map, write_map
    from phusong.seeds.sample import generate_sample

    tmp = tmp_path_factory.mktemp("browser")
    bundle = generate_sample("mini", seed=0, out=tmp / "mini")
    villages = bundle.layers["villages"].copy()
    villages.loc[villages.index[0], "name"] = EVIL
    bundle.layers["villages"] = villages
    coverage = compute_coverage(bundle, model="terrain")
    status = village_status(bundle, coverage)
    fmap = build_map(bundle, status=status, coverage=coverage, offline=True)
    path = write_map(fmap, tmp / "map.html")
    ops = sorted({str(o) for o in bundle["bts"]["operator"]})
    return {"path": path, "village_id": str(villages["village_id"].iloc[0]),
            "search_name": str(villages["name"].iloc[1]), "operators": ops}


def test_offline_map_in_headless_chromium(offline_map):
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install playwright)")
    from phusong.layers.operators import Operator

    blocked: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})

            def route(r):
                url = r.request.url
                if url.startswith(("file:", "data:", "blob:")):
                    r.continue_()
                else:
                    blocked.append(url)
                    r.abort()

            page.route("**/*", route)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: None if r.url in blocked else errors.append(
                f"request failed: {r.url}"))

            def on_dialog(d):
                dialogs.append(d.message)
                d.dismiss()

            page.on("dialog", on_dialog)
            page.goto(offline_map["path"].as_uri())
            page.wait_for_function("typeof L !== 'undefined'", timeout=15000)
            assert page.evaluate("typeof L.Control.Search === 'function' "
                                 "&& typeof L.markerClusterGroup === 'function'")

            labels = page.eval_on_selector_all(
                ".leaflet-control-layers label", "els => els.map(e => e.innerText.trim())")
            expected = ["Thôn, bản – mọi doanh nghiệp", "Vị trí cột (BTS)", "Tuyến cáp quang",
                        "Điểm phục vụ bưu chính", "Bán kính phục vụ danh định",
                        "Cường độ tín hiệu – tốt nhất", "Địa hình (bóng đổ từ DEM)"]
            expected += [f"Thôn, bản – {Operator(op).label}" for op in offline_map["operators"]]
            missing = [e for e in expected if e not in labels]
            assert not missing, f"layer control lacks {missing}; has {labels}"
            for selector in (".leaflet-control-search", ".leaflet-control-measure",
                             ".leaflet-control-zoom-fullscreen", ".ps-legend", ".ps-title"):
                assert page.locator(selector).count() == 1, selector
            assert "DỮ LIỆU MẪU – SAMPLE DATA" in page.inner_text(".ps-title")

            # search by village name
            name = offline_map["search_name"]
            page.locator(".leaflet-control-search input").press_sequentially(name[:6], delay=20)
            page.wait_for_selector(".search-tooltip .search-tip", timeout=5000)
            tips = page.eval_on_selector_all(".search-tooltip .search-tip",
                                             "els => els.map(e => e.innerText)")
            assert name in tips, tips
            page.click(".leaflet-control-search .search-cancel", force=True)

            # hide towers and fibre so that the click lands on the village polygon
            for label in ("Vị trí cột (BTS)", "Tuyến cáp quang"):
                page.locator(".leaflet-control-layers label", has_text=label).locator(
                    "input").uncheck()
            point = page.evaluate("""(vid) => {
                let map = null, target = null;
                for (const k of Object.keys(window)) {
                  const o = window[k];
                  if (o instanceof L.Map) map = o;
                  if (o instanceof L.GeoJSON && o._map) o.eachLayer(l => {
                    if (!target && l.feature && l.feature.properties.village_id === vid)
                      target = l; });
                }
                map.fitBounds(target.getBounds(), {animate: false, maxZoom: 14});
                const p = map.latLngToContainerPoint(target.getBounds().getCenter());
                const r = map.getContainer().getBoundingClientRect();
                return [p.x + r.left, p.y + r.top];
            }""", offline_map["village_id"])
            page.wait_for_timeout(200)
            page.mouse.click(point[0], point[1])
            page.wait_for_selector(".leaflet-popup-content", timeout=5000)
            popup = page.locator(".leaflet-popup-content")
            assert EVIL in popup.inner_text()
            assert popup.locator("img").count() == 0
            assert "Hiện trạng (mọi DN)" in popup.inner_text()

            for label in ("Vị trí cột (BTS)", "Tuyến cáp quang"):
                page.locator(".leaflet-control-layers label", has_text=label).locator(
                    "input").check()
            # a province-wide view with the popup still open above its village
            page.evaluate("""(vid) => { let map = null, target = null;
                for (const k of Object.keys(window)) { const o = window[k];
                  if (o instanceof L.Map) map = o;
                  if (o instanceof L.GeoJSON && o._map) o.eachLayer(l => {
                    if (!target && l.feature && l.feature.properties.village_id === vid)
                      target = l; }); }
                map.setView(target.getBounds().getCenter(), 12, {animate: false});
                map.panBy([0, -230], {animate: false}); }""", offline_map["village_id"])
            page.wait_for_timeout(300)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()
    assert blocked == [], f"the offline page tried the network: {blocked}"
    assert dialogs == [], f"a dialog fired (script injection): {dialogs}"
    assert errors == [], f"console errors: {errors}"
    assert SCREENSHOT.stat().st_size > 10_000
