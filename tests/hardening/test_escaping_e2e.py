"""Hostile names through the whole pipeline: shown as text in HTML, XLSX and CSV everywhere.

The mini sample gets villages, communes, the district, the province, post offices and a postal
operator named ``<img src=x onerror=alert(1)>``, ``=HYPERLINK("http://x","y")``,
``+cmd|' /C calc'!A0``… (``_evil.HOSTILE``); four of the renamed villages are white for every
operator (so they reach the gap lists and the rollout), one of them has a hostile id, a tower
has a hostile id, and one hostile village is rejected by validation (negative population).
:func:`analysis.pipeline.run_pipeline` then writes every output, and the tests read them all:

* ``map.html`` and ``report.html`` never hold a hostile tag literally; the escaped text is there
  (the real browser check of the popups is ``tests/test_browser.py``);
* no cell of any XLSX sheet or CSV under the output folder starts with ``= + - @`` (or tab,
  CR, U+2212, full-width forms) unless it is a number, and the hostile names are there,
  prefixed with an apostrophe;
* GeoJSON is data, not a spreadsheet: it keeps the raw names (documented in
  :mod:`analysis.export`), so a GIS shows exactly what the input said.
"""

from __future__ import annotations

import re

import pyogrio
import pytest

MODELS = ["radius", "terrain"]


@pytest.fixture(scope="module", params=MODELS)
def run(request, evil_run):
    return evil_run(request.param, 0)


@pytest.fixture(scope="module")
def cells(evil, run):
    """Every text cell of every XLSX and CSV the run wrote."""
    return evil.all_text_cells(run.out)


def test_the_hostile_rows_reach_every_stage(run, evil_bundle_dir):
    """Guard: the attack is real (else the other tests would pass on nothing)."""
    _, white = evil_bundle_dir
    status = run.status
    for vid in white:
        assert status.loc[vid, "status_any"] == "trang", vid
    assert run.rejected_rows == 1
    rejects = (run.out / "rejects" / "rejects_villages.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(" in rejects and "below the minimum" in rejects
    # the white hostile villages with grid power are rollout targets, some of them covered
    classes = run.rollout.classes
    targets = set(classes["village_id"])
    assert set(white) <= targets
    covered = set(run.rollout.site_villages["village_id"])
    assert covered & set(white), "no hostile village is covered by a rollout site"
    for op in ("viettel", "vinaphone", "mobifone", "vietnamobile"):
        gaps = pyogrio.read_dataframe(run.out / f"gaps_{op}.geojson")
        assert set(white) <= set(gaps["village_id"]), op


@pytest.mark.parametrize("page", ["map.html", "report.html"])
def test_html_pages_hold_no_live_markup(evil, run, page):
    text = (run.out / page).read_text(encoding="utf-8")
    assert text.rstrip().endswith("</html>")
    for attack in evil.HTML_ATTACKS:
        assert attack not in text, f"{page}: {attack!r} is not escaped"
    # the names are there, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;svg onload=alert(4)&gt;" in text or page == "report.html"
    # nothing smuggles a raw tag through an escape of another syntax (JSON, JS)
    lowered = text.lower()
    for encoded in ("\\u003cimg", "\\u003cscript", "\\x3cimg", "\\x3cscript", "%3cimg",
                    "\\u003csvg"):
        assert encoded not in lowered, f"{page}: {encoded!r}"


def test_map_template_literals_cannot_be_broken(run):
    """folium puts popups into JS template literals: ` and ${ must be entities there."""
    text = (run.out / "map.html").read_text(encoding="utf-8")
    for literal in re.findall(r"\$\(`(.*?)`\)\[0\]", text, flags=re.S):
        assert "${" not in literal and "`" not in literal
    assert "&#123;&#123;7*7&#125;&#125; &#36;&#123;alert(1)&#125; &#96;x&#96;" in text


def test_map_names_are_not_jinja_source(run):
    """A name is never evaluated as a Jinja template when the map is rendered (that would be
    Python code execution on the planner's machine: ``lipsum.__globals__.os``…)."""
    text = (run.out / "map.html").read_text(encoding="utf-8")
    assert "Bản 49" not in text and "B\\u1ea3n 49" not in text
    assert "&#123;&#123;7*7&#125;&#125;" in text
    payload = "&#123;&#123; lipsum.__globals__.os.getpid() &#125;&#125;&#123;% if 1 %&#125;!"
    assert payload in text or payload.replace("&", "\\u0026") in text
    assert not re.search(r"Xã \d+!", text)
    # every "7*7" of the page (names, ids of towers, BTS, fibre routes, post offices) sits
    # between escaped braces
    escaped = text.count("&#123;&#123;7*7&#125;&#125;") + text.count(
        "\\u0026#123;\\u0026#123;7*7\\u0026#125;\\u0026#125;")
    assert text.count("7*7") == escaped > 0
    report = (run.out / "report.html").read_text(encoding="utf-8")
    assert "Bản {{7*7}} ${alert(1)} `x`" in report  # plain HTML text: no template there


def test_no_spreadsheet_cell_can_run(evil, run, cells):
    bad = [f"{f} {w}: {v!r}" for f, w, v in cells.itertuples(index=False)
           if evil.is_dangerous(v)]
    assert not bad, "\n".join(bad[:20])
    files = set(cells["file"])
    for name in ("gaps_viettel.csv", "gaps_viettel.xlsx", "gaps_all.xlsx",
                 "rollout_sites.xlsx", "rollout_classes.csv", "rollout_villages.csv",
                 "village_status.csv", "report.xlsx", "rejects_villages.csv"):
        assert name in files, name
    values = set(cells["value"])
    # the hostile names are kept (neutralised), not dropped
    for text in ('\'=HYPERLINK("http://x","y")', "'+cmd|' /C calc'!A0", "'@SUM(1)", "'-2+3",
                 "'\u2212cmd", "'\uff1dSUM(1)", "<img src=x onerror=alert(1)>"):
        assert text in values, text
    village_ids = set(cells.loc[cells["file"] == "village_status.csv", "value"])
    assert "'" + evil.EVIL_VILLAGE_ID in village_ids


def test_counts(run, cells, record_property):
    """Every spreadsheet cell was looked at: report the counts (shown with -rP)."""
    hostile = cells["value"].str.contains("HYPERLINK|onerror|cmd\\||@SUM|alert|\\-2\\+3",
                                          regex=True)
    print(f"{run.coverage.model}: {len(set(cells['file']))} XLSX/CSV files, {len(cells)} text "
          f"cells, {int(hostile.sum())} hostile cells, all neutralised")
    record_property("hostile_cells", int(hostile.sum()))
    assert hostile.sum() > 50


def test_geojson_keeps_raw_names(evil, run, evil_bundle_dir):
    _, white = evil_bundle_dir
    gaps = pyogrio.read_dataframe(run.out / "gaps_viettel.geojson").set_index("village_id")
    for vid, name in white.items():
        assert gaps.loc[vid, "name"] == name  # raw, not prefixed: GeoJSON is data
    sites = pyogrio.read_dataframe(run.out / "rollout" / "rollout_sites.geojson")
    assert sites["village_ids"].str.contains(evil.EVIL_VILLAGE_ID, regex=False).any() or \
        evil.EVIL_VILLAGE_ID not in set(run.rollout.site_villages["village_id"])
