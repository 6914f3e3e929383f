"""The province's report form as Word: it opens, and every number in it is a table's number.

The mini sample province and its evolved next year (seeds.evolve) are reported with the
radius model; the sentences are read back from the .docx and checked against independent
computations (layer counts, coverage ratios, the service-radius formula by hand, fibre
lengths, the per-technology village status).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from phusong.analysis.cli import phusong
from phusong.analysis.compare.changes import Snapshot, compare_bundles, snapshot_date
from phusong.analysis.coverage.engine import compute_coverage
from phusong.analysis.coverage.ratios import coverage_ratios
from phusong.analysis.coverage.status import village_status
from phusong.analysis.publish.docx import build_docx, write_report_docx
from phusong.analysis.publish.report import build_report, write_report_html
from phusong.analysis.publish.wording import format_number, parse_number
from phusong.analysis.rollout.plan import plan_rollout
from phusong.analysis.tables.fibre import fibre_lengths
from phusong.layers.bundle import read_bundle
from phusong.layers.settings import DEFAULT
from phusong.seeds.evolve import evolve_sample, write_evolution

docx = pytest.importorskip("docx")

RADII = {"2G": 2.5, "3G": 1.5, "4G": 1.5}
OPS = ("viettel", "vinaphone", "mobifone", "vietnamobile")


def _status(bundle, settings):
    cov = compute_coverage(bundle, model="radius", settings=settings)
    return village_status(bundle, cov, settings=settings)


@pytest.fixture(scope="module")
def case(tiny_bundle_dir, tmp_path_factory, toys):
    old = read_bundle(tiny_bundle_dir)
    new = write_evolution(evolve_sample(old, seed=3, new_sites=2, shared=2),
                          tmp_path_factory.mktemp("evo") / "next")
    so = DEFAULT.replace(as_of=snapshot_date(old), radius_km=RADII)
    sn = DEFAULT.replace(as_of=snapshot_date(new), radius_km=RADII)
    st_old, st_new = _status(old, so), _status(new, sn)
    cmp = compare_bundles(Snapshot(old, st_old, so, label=old.meta["year"]),
                          Snapshot(new, st_new, sn, label=new.meta["year"]))
    plan = plan_rollout(new, st_new, budget_vnd=20e9, settings=sn, coverage_model="radius")
    report = build_report(new, status=st_new, rollout=plan, settings=sn, progress=cmp,
                          **toys.report_inputs(new, sn))
    path = write_report_docx(report.form, tmp_path_factory.mktemp("docx") / "report.docx")
    return {"bundle": new, "status": st_new, "settings": sn, "cmp": cmp, "plan": plan,
            "report": report, "path": path}


def _body(path: Path) -> tuple[list[str], list[str]]:
    """Headings and body paragraphs before the first annex."""
    d = docx.Document(str(path))
    heads, paras = [], []
    for p in d.paragraphs:
        if p.style.name.startswith("Heading") and p.text.startswith(("Phụ lục", "Annex")):
            break
        (heads if p.style.name.startswith("Heading") else paras).append(p.text)
    return heads, paras


def _one(pattern: str, paras: list[str]) -> re.Match:
    hits = [m for p in paras if (m := re.search(pattern, p))]
    assert len(hits) >= 1, pattern
    return hits[0]


def _n(text: str) -> float:
    return parse_number(text, language="vi")


def test_docx_opens_with_the_province_form(case):
    d = docx.Document(str(case["path"]))
    heads = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    for h in ("I. LĨNH VỰC BƯU CHÍNH", "1. Kết quả thực hiện", "II. LĨNH VỰC VIỄN THÔNG",
              "2. Phủ sóng di động", "3. Hạ tầng cáp quang", "4. Lộ trình dừng công nghệ 2G, 3G",
              "5. Kết quả so với năm 2022", "6. Kiến nghị, đề xuất",
              "Phụ lục 1. Danh sách thôn, bản trắng sóng",
              "Phụ lục 2. Danh sách thôn, bản lõm sóng"):
        assert h in heads, h
    # sample data labelled: header, title block, document properties
    assert "DỮ LIỆU MẪU" in d.sections[0].header.paragraphs[0].text
    assert any(p.text == "DỮ LIỆU MẪU – SAMPLE DATA" for p in d.paragraphs[:3])
    assert "DỮ LIỆU MẪU" in d.core_properties.subject
    assert len(d.inline_shapes) == 1  # the timeline chart
    # annex tables: the white and lõm lists are the status table's
    st = case["status"]
    tables = d.tables
    white = [t for t in tables if t.rows[0].cells[0].text == "Mã thôn"]
    ids_white = {r.cells[0].text for r in white[0].rows[1:]}
    ids_lom = {r.cells[0].text for r in white[1].rows[1:]}
    assert ids_white == set(st.index[st["status_any"] == "trang"])
    assert ids_lom == set(st.index[st["status_any"] == "lom"])
    assert white[0].rows[0]._tr.trPr.xml.count("tblHeader") == 1  # header repeats


def test_sentences_equal_independent_figures(case):
    b, st, s, plan = case["bundle"], case["status"], case["settings"], case["plan"]
    _, paras = _body(case["path"])
    n = len(st)
    r = coverage_ratios(b, st, level="province", settings=s).iloc[0]
    m = _one(r"đã phủ sóng điện thoại đến (\d+)/(\d+) thôn bản; (\d+)/(\d+) thôn bản có internet",
             paras)
    assert (int(m[1]), int(m[2]), int(m[3])) == (r["villages_with_signal"], n,
                                                 r["villages_internet"])
    assert int(m[1]) == (st["status_any"] != "trang").sum()
    m = _one(r"Còn (\d+) thôn, bản trắng sóng .* và (\d+) thôn, bản lõm sóng", paras)
    assert (int(m[1]), int(m[2])) == ((st["status_any"] == "trang").sum(),
                                      (st["status_any"] == "lom").sum())
    for op in OPS:
        label = {"viettel": "Viettel", "vinaphone": "Vinaphone", "mobifone": "MobiFone",
                 "vietnamobile": "Vietnamobile"}[op]
        m = _one(rf"\+ Tỷ lệ phủ sóng {label}: ([\d,]+)%", paras)
        assert _n(m[1]) == round(100 * (st[f"status_{op}"] != "trang").sum() / n, 1)
    bts = b["bts"]
    m = _one(r"Tổng số thiết bị trạm BTS thu phát sóng di động: ([\d.]+) thiết bị trạm", paras)
    assert _n(m[1]) == len(bts)
    for tech in ("2G", "3G", "4G"):
        m = _one(rf"\+ Thiết bị trạm {tech}: ([\d.]+)\.", paras)
        assert _n(m[1]) == (bts["tech"] == tech).sum()
    m = _one(r"với tổng số ([\d.]+) vị trí trạm .* trong đó có ([\d.]+) vị trí có phủ sóng 3G, "
             r"([\d.]+) vị trí có phủ sóng 4G", paras)
    assert _n(m[1]) == len(b["towers"])
    assert _n(m[2]) == bts.loc[bts["tech"] == "3G", "tower_id"].nunique()
    assert _n(m[3]) == bts.loc[bts["tech"] == "4G", "tower_id"].nunique()
    # service radius by hand: R = sqrt(S / (pi N)), P / N, S the province polygon's area
    admin = b.to_metric("admin_units")
    area_km2 = admin.loc[admin["level"] == "province"].geometry.area.sum() / 1e6
    pop = b["villages"]["population"].sum()
    npo = len(b["post_offices"])
    m = _one(r"Bán kính phục vụ bình quân đạt ([\d,]+) km/điểm; số dân phục vụ bình quân đạt "
             r"([\d.]+) người/điểm", paras)
    assert _n(m[1]) == pytest.approx(math.sqrt(area_km2 / (math.pi * npo)), abs=0.006)
    assert _n(m[2]) == pytest.approx(pop / npo, abs=0.6)
    m = _one(r"Bán kính phục vụ bình quân ([\d,]+) km/vị trí trạm", paras)
    assert _n(m[1]) == pytest.approx(math.sqrt(area_km2 / (math.pi * len(b["towers"]))),
                                     abs=0.006)
    m = _one(r"Toàn tỉnh có ([\d.]+) điểm phục vụ bưu chính", paras)
    assert _n(m[1]) == npo
    # fibre: lengths and undergrounding from the fibre analysis
    fl = fibre_lengths(b).set_index(["operator", "kind"])
    m = _one(r"Toàn tỉnh có ([\d.]+) tuyến cáp quang với tổng chiều dài ([\d.,]+) km, trong đó "
             r"([\d.,]+) km cáp ngầm \(tỷ lệ ngầm hóa ([\d,]+)%\)", paras)
    assert _n(m[1]) == len(b["fibre_routes"])
    assert _n(m[2]) == pytest.approx(fl.loc[("all", "all"), "length_km"], abs=0.051)
    assert _n(m[3]) == pytest.approx(fl.loc[("all", "underground"), "length_km"], abs=0.051)
    assert _n(m[4]) == pytest.approx(100 * fl.loc[("all", "all"), "underground_ratio"], abs=0.051)
    # switch-off: villages whose only signal is 2G, from the per-technology status
    only2g = np.zeros(n, bool)
    newer = np.zeros(n, bool)
    for op in OPS:
        only2g |= (st[f"status_{op}_2G"] != "trang").to_numpy()
        for t in ("3G", "4G", "5G"):
            newer |= (st[f"status_{op}_{t}"] != "trang").to_numpy()
    only2g &= ~newer
    m = _one(r"Khi dừng mạng 2G \(ngày 15/09/2026\), (\d+)/(\d+) thôn, bản với ([\d.]+) người",
             paras)
    assert int(m[1]) == only2g.sum() and int(m[2]) == n
    assert _n(m[3]) == st["population"].to_numpy()[only2g].sum()
    m = _one(r"đến cuối năm 2030 còn (\d+)/\d+ thôn, bản có sóng", paras)
    assert int(m[1]) == _with(st, ("4G", "5G")).sum()  # 2G and 3G are off by then
    # the proposal is the rollout plan's
    m = _one(r"Đề xuất đầu tư (\d+) trạm viễn thông công ích với tổng kinh phí ([\d,]+) tỷ đồng",
             paras)
    assert int(m[1]) == len(plan.sites)
    assert _n(m[2]) == pytest.approx(plan.sites["cost_vnd"].sum() / 1e9, abs=0.051)
    # the progress section: BTS added since 2022, from the comparison
    m = _one(r"nâng tổng số vị trí trạm BTS hiện nay là (\d+) vị trí với (\d+) thiết bị trạm",
             paras)
    assert (int(m[1]), int(m[2])) == (len(b["towers"]), len(bts))


def _with(st, techs):
    out = np.zeros(len(st), bool)
    for op in OPS:
        for t in techs:
            out |= (st[f"status_{op}_{t}"] != "trang").to_numpy()
    return out


_DATE = re.compile(r"\d{2}/\d{2}/\d{4}")
_NOT_FIGURES = re.compile(r"\b[2-5]G\b|Phụ lục \d|KT1")
_NUM = re.compile(r"\d+(?:[.,]\d+)*")


def test_every_number_in_the_text_is_a_table_figure(case):
    form, cmp = case["report"].form, case["cmp"]
    allowed: set[float] = set()
    for r in form.indicators.itertuples():
        if np.isfinite(r.value):
            allowed.add(_n(format_number(r.value, digits=int(r.digits))))
    # the progress section quotes the comparison tables
    tables = [cmp.units["province"], cmp.towers, cmp.bts, cmp.fibre, cmp.postal]
    for t in tables:
        for col in t.select_dtypes("number").columns:
            scale = 100.0 if "ratio" in col else 1.0  # ratios are printed as percentages
            for v in t[col].to_numpy():
                if np.isfinite(v):
                    for d in (0, 1):
                        allowed.add(_n(format_number(abs(scale * v), digits=d)))
    for v in cmp.matches["method"].value_counts().to_numpy():
        allowed.add(float(v))
    allowed |= {float(form.year), 2022.0, 2030.0}  # the report's year, the previous, the end
    _, paras = _body(case["path"])
    seen = 0
    for text in paras:
        clean = _NOT_FIGURES.sub(" ", _DATE.sub(" ", text))
        for tok in _NUM.findall(clean):
            seen += 1
            assert _n(tok) in allowed, (tok, text)
    assert seen > 60
    # and the indicators the body quotes include the main ones, by key
    keys = set(form.indicators["key"])
    assert {"villages_total", "villages_with_signal", "villages_internet", "bts", "towers",
            "fibre_km", "underground_pct", "postal_points", "postal_radius_km",
            "people_per_postal", "tower_radius_km", "sunset_2g_villages",
            "rollout_sites"} <= keys


def test_english_document(case, tmp_path, toys):
    s = case["settings"].replace(language="en")
    rep = build_report(case["bundle"], status=case["status"], settings=s,
                       **toys.report_inputs(case["bundle"], s))
    path = write_report_docx(rep.form, tmp_path / "en.docx")
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert "II. TELECOMMUNICATIONS" in text and "BTS equipment in service" in text
    assert "Tổng số thiết bị" not in text and "SAMPLE DATA" in text


def test_html_report_has_the_same_sections(case, tmp_path):
    path = write_report_html(case["report"], tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    for s in case["report"].form.sections:
        assert s.heading.replace("&", "&amp;") in page
    p = next(x for s in case["report"].form.sections for x in s.paragraphs
             if "thiết bị trạm BTS" in x)
    assert p in page


def test_sources_are_cited_by_title_and_year(toys):
    b = toys.toy_bundle()
    rep = build_report(b, status=toys.toy_status(b), **toys.report_inputs(b))
    src = rep.tables["model_vs_reported"]["source"]
    assert not src.str.fullmatch(r"\d{3}_[0-9a-f]{16}").any()
    assert src.str.contains("Báo cáo").all() and src.str.endswith("(2022)").all()
    assert rep.form.sources and all("(2022)" in s for s in rep.form.sources)
    text = "\n".join(p.text for p in docx.Document(__import__("io").BytesIO(
        build_docx(rep.form))).paragraphs)
    assert "Nguồn số liệu đối chiếu" in text and "Lai Châu: Báo cáo" in text


def test_cli_report_docx(tiny_bundle_dir, tmp_path):
    res = CliRunner().invoke(phusong, ["report", str(tiny_bundle_dir), "--model", "radius",
                                       "--docx", "--no-rollout", "-o", str(tmp_path), "-q"])
    assert res.exit_code == 0, res.output
    d = docx.Document(str(tmp_path / "report.docx"))
    assert any(p.text == "II. LĨNH VỰC VIỄN THÔNG" for p in d.paragraphs)
    res = CliRunner().invoke(phusong, ["report", str(tiny_bundle_dir), "--model", "radius",
                                       "--docx", "-o", str(tmp_path), "-q"])
    assert res.exit_code == 1 and "overwrite" in res.output


@pytest.mark.slow
def test_libreoffice_converts_it_to_pdf(case, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed; the PDF conversion is not checked")
    out = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                          "--convert-to", "pdf", "--outdir", str(tmp_path), str(case["path"])],
                         capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "report.pdf"
    assert pdf.exists(), out.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) >= 3  # body and annexes
