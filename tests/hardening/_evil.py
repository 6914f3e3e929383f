"""Hostile names for the hardening tests: a mini sample province whose free text attacks.

:func:`make_evil_bundle` generates the ``mini`` sample, renames villages (some of them white,
with grid power and in an extremely difficult area, so that they reach the gap lists *and*
the rollout), communes, the district, the province, post offices and their operator to the
strings of :data:`HOSTILE`, gives a tower, a BTS, a fibre route and a post office hostile ids,
and writes the bundle to a folder. :func:`all_text_cells` reads back every
text cell of every XLSX and CSV under an output folder; :func:`is_dangerous` says whether a
spreadsheet would evaluate one.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

#: evaluated, this would run Python in the process that writes the map
JINJA_PAYLOAD = "Xã {{ lipsum.__globals__.os.getpid() }}{% if 1 %}!{% endif %}"
#: strings that run code in a browser or a spreadsheet when not escaped / neutralised
HOSTILE: tuple[str, ...] = (
    "<img src=x onerror=alert(1)>",
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    '"</script><script>alert(1)</script>',
    "Bản {{7*7}} ${alert(1)} `x`",
    "\u2212cmd",  # U+2212 minus sign
    "\uff1dSUM(1)",  # full-width equals sign
    "Bản Nà'Xa & <b>Co</b> \\u003c",
    # Jinja: folium compiles rendered popups and GeoJSON again as templates (server side)
    JINJA_PAYLOAD,
)
#: literal fragments that must never reach an HTML page unescaped (``${`` matters only inside
#: JavaScript template literals: see the map test)
HTML_ATTACKS: tuple[str, ...] = (
    "<img src=x",
    "<script>alert(1)",
    "</script><script>",
    "<b>Co</b>",
    "<svg onload",
)
#: the analysis date of every hardening run (after the 2G switch-off, before 3G ends; a fixed day keeps runs equal)
AS_OF = "2027-06-30"
#: hostile ids: a white village, a tower (and its BTS), a rejected village (negative population)
EVIL_VILLAGE_ID = "@V<svg onload=alert(3)>"
EVIL_TOWER_ID = "-T<svg onload=alert(4)>"
REJECTED_VILLAGE_ID = '=HYPERLINK("http://x","rejected")'
#: first characters a spreadsheet evaluates (OWASP CSV injection), incl. U+2212 and full-width
DANGEROUS_FIRST: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\n", "\u2212", "\uff1d",
                                    "\uff0b", "\uff0d", "\uff20")


def _white_ids(bundle, n: int) -> list[str]:
    """Ids of ``n`` villages white for every operator under *both* coverage models."""
    from phusong.analysis.coverage.engine import compute_coverage
    from phusong.analysis.coverage.status import village_status
    from phusong.layers.settings import DEFAULT

    settings = DEFAULT.replace(as_of=AS_OF)
    white = None
    for model in ("radius", "terrain"):
        cov = compute_coverage(bundle, model=model, settings=settings)
        st = village_status(bundle, cov, settings=settings)
        w = set(st.index[st["status_any"] == "trang"])
        white = w if white is None else white & w
    ids = [v for v in bundle.layers["villages"]["village_id"] if v in white]
    if len(ids) < n:
        raise AssertionError(f"the mini sample has only {len(ids)} white villages, need {n}")
    return ids[:n]


def make_evil_bundle(folder: str | Path, *, seed: int = 1, source: str | Path | None = None):
    """Write the hostile mini province to ``folder``; return ``(bundle, white_evil_names)``.

    ``source``: an existing mini bundle folder to copy (saves generating one).
    """
    from phusong.layers.bundle import read_bundle, write_bundle
    from phusong.seeds.sample import generate_sample

    folder = Path(folder)
    if source is not None:
        shutil.copytree(source, folder, dirs_exist_ok=True)
        bundle = read_bundle(folder)
    else:
        bundle = generate_sample("mini", seed=seed, out=folder)
    white = _white_ids(bundle, 4)
    vil = bundle.layers["villages"].copy()
    names = list(vil["name"])
    pos = {v: i for i, v in enumerate(vil["village_id"])}
    # the first white villages get hostile names, grid power and the fund class
    evil_white = {}
    for k, vid in enumerate(white):
        i = pos[vid]
        names[i] = HOSTILE[k]
        evil_white[vid] = HOSTILE[k]
    vil.loc[vil["village_id"].isin(white), ["has_grid_power", "extremely_difficult"]] = True
    # the others are spread over the remaining villages (covered or not)
    rest = [i for i in range(len(vil)) if vil["village_id"].iloc[i] not in evil_white]
    for k, h in enumerate(HOSTILE[len(white):]):
        names[rest[3 * k]] = h
    vil["name"] = names
    # a hostile id on the last white village, and a rejected row (negative population)
    last = white[-1]
    vil.loc[vil["village_id"] == last, "village_id"] = EVIL_VILLAGE_ID
    evil_white[EVIL_VILLAGE_ID] = evil_white.pop(last)
    bad = vil.iloc[[0]].copy()
    bad["village_id"] = REJECTED_VILLAGE_ID
    bad["name"] = HOSTILE[0]
    bad["population"] = -5
    bundle.layers["villages"] = pd.concat([vil, bad], ignore_index=True)
    towers = bundle.layers["towers"].copy()
    old_tid = towers["tower_id"].iloc[0]
    towers.iloc[0, towers.columns.get_loc("tower_id")] = EVIL_TOWER_ID
    bundle.layers["towers"] = towers
    bts = bundle.layers["bts"].copy()
    bts.loc[bts["tower_id"] == old_tid, "tower_id"] = EVIL_TOWER_ID
    bts.iloc[0, bts.columns.get_loc("bts_id")] = "+B{{7*7}}<script>alert(6)</script>"
    bundle.layers["bts"] = bts
    fibre = bundle.layers["fibre_routes"].copy()
    fibre.iloc[0, fibre.columns.get_loc("route_id")] = "R{{7*7}}<img src=x onerror=alert(5)>"
    bundle.layers["fibre_routes"] = fibre
    adm = bundle.layers["admin_units"].copy()
    levels = list(adm["level"])
    for i, lvl in enumerate(levels):
        adm.iloc[i, adm.columns.get_loc("name")] = {
            "province": "<img src=x onerror=alert(1)> (tỉnh)",
            "district": '=HYPERLINK("http://x","y") $x^$ $\\undefined$',
        }.get(lvl, HOSTILE[(i + 3) % len(HOSTILE)])
    bundle.layers["admin_units"] = adm
    po = bundle.layers["post_offices"].copy()
    po["name"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(po))]
    po.iloc[0, po.columns.get_loc("po_id")] = "=PO{{7*7}}"
    po["operator"] = ['=HYPERLINK("http://x","y")', *po["operator"].iloc[1:]]
    bundle.layers["post_offices"] = po
    # matplotlib reads $…$ as mathtext: "$x^$" in a chart label or title raised ValueError
    bundle.meta["province"] = '"</script><script>alert(1)</script> $x^$'
    write_bundle(bundle, folder, overwrite=True)
    return read_bundle(folder), evil_white


def output_files(out: Path, suffix: str) -> list[Path]:
    """Output files with ``suffix`` under ``out`` (hidden temp files excluded)."""
    return sorted(p for p in out.rglob(f"*{suffix}") if not p.name.startswith("."))


def xlsx_cells(path: Path) -> Iterator[tuple[str, str, object]]:
    """``(sheet, coordinate, value)`` of every non-empty cell of a workbook."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value is not None:
                        yield ws.title, cell.coordinate, cell.value
    finally:
        wb.close()


def csv_cells(path: Path) -> Iterator[tuple[int, int, str]]:
    """``(row, column, text)`` of every cell of a CSV read as raw text (BOM stripped)."""
    text = path.read_bytes().decode("utf-8-sig")
    for r, row in enumerate(csv.reader(io.StringIO(text, newline=""))):
        for c, value in enumerate(row):
            yield r, c, value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def is_dangerous(value: object) -> bool:
    """True for a text cell a spreadsheet would evaluate (numbers are fine: ``-2.5``)."""
    if not isinstance(value, str) or not value.startswith(DANGEROUS_FIRST):
        return False
    return not _is_number(value)


def all_text_cells(out: Path) -> pd.DataFrame:
    """Every text cell of every XLSX/CSV under ``out``: columns file, where, value."""
    rows = []
    for p in output_files(out, ".xlsx"):
        rows += [(p.name, f"{s}!{c}", v) for s, c, v in xlsx_cells(p) if isinstance(v, str)]
    for p in output_files(out, ".csv"):
        rows += [(p.name, f"{r}:{c}", v) for r, c, v in csv_cells(p)]
    return pd.DataFrame(rows, columns=["file", "where", "value"])
