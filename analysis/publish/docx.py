"""The province's report form as an editable Word document (python-docx).

:func:`write_report_docx` renders a :class:`~analysis.publish.provincial.ProvinceForm`: the
title, the sample-data label (title, page header and document properties), the parts and
sections with their headings, the paragraphs with the figures filled in, the "+ ..." lines,
the charts, the tables (header row repeated on each page) and the annexes (white and lõm
village lists, the switch-off timeline, model vs reported figures with their sources, the
table of every figure). Body text is Times New Roman 13 pt, as the provincial documents are.
The document is written atomically.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

from phusong.analysis.publish.provincial import SAMPLE_LABEL, ProvinceForm
from phusong.analysis.publish.wording import Section, cell_text
from phusong.gis.atomic import atomic_write_bytes, check_writable
from phusong.gis.errors import MissingDependencyError

logger = logging.getLogger(__name__)

__all__ = ["build_docx", "write_report_docx"]


def _docx() -> Any:
    try:
        import docx
    except ImportError:
        raise MissingDependencyError(
            "writing Word documents needs python-docx (a dependency of phusong): "
            "pip install python-docx") from None
    return docx




def _plain_font(style: Any, name: str) -> None:
    """Use ``name`` for every script of ``style``, dropping the theme fonts that override it
    (Word's heading styles name the theme's heading font, which LibreOffice lacks)."""
    from docx.oxml.ns import qn

    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def _heading(doc: Any, text: str, level: int) -> None:
    doc.add_heading(text, level=min(max(level, 1), 4))


def _table(doc: Any, df: Any, labels: Any, language: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    cols = list(df.columns)
    t = doc.add_table(rows=1, cols=len(cols))
    t.style = "Table Grid"
    hdr = t.rows[0]
    # repeat the header row on each page
    tr_pr = hdr._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)
    for i, c in enumerate(cols):
        pair = labels.get(str(c))
        cell = hdr.cells[i]
        cell.text = str(c) if pair is None else pair[0 if language == "vi" else 1]
        for p in cell.paragraphs:
            for r in p.runs:
                r.bold = True
                r.font.size = Pt(10)
    for rec in df.itertuples(index=False):
        cells = t.add_row().cells
        for i, v in enumerate(rec):
            cells[i].text = cell_text(v, language)
            for p in cells[i].paragraphs:
                for r in p.runs:
                    r.font.size = Pt(10)


def _section(doc: Any, s: Section, language: str) -> None:
    from docx.shared import Inches

    _heading(doc, s.heading, s.level)
    for p in s.paragraphs:
        doc.add_paragraph(p)
    for b in s.bullets:
        para = doc.add_paragraph(b)
        para.paragraph_format.left_indent = Inches(0.25)
    for p in s.after:
        doc.add_paragraph(p)
    for caption, png in s.images:
        doc.add_picture(io.BytesIO(png), width=Inches(6.0))
        if caption:
            cap = doc.add_paragraph(caption)
            cap.runs[0].italic = True
    for caption, df, labels in s.tables:
        if caption:
            cap = doc.add_paragraph(caption)
            cap.runs[0].italic = True
        if len(df):
            _table(doc, df, labels, language)
        else:
            doc.add_paragraph("(không có)" if language == "vi" else "(none)")


def build_docx(form: ProvinceForm) -> bytes:
    """The Word document of ``form`` as bytes."""
    docx = _docx()
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    lang = form.language
    doc = docx.Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(13)
    for level, size in ((1, 14), (2, 13), (3, 13), (4, 13)):
        st = doc.styles[f"Heading {level}"]
        st.font.name = "Times New Roman"
        st.font.size = Pt(size)
        st.font.bold = True
        st.font.italic = level >= 3
        st.font.color.rgb = RGBColor(0, 0, 0)
        _plain_font(st, "Times New Roman")
    props = doc.core_properties
    props.title = form.title
    props.author = "phusong"
    props.language = "vi-VN" if lang == "vi" else "en-GB"
    props.subject = SAMPLE_LABEL if form.is_sample else form.province
    props.keywords = "phusong; bưu chính; viễn thông" + ("; DỮ LIỆU MẪU" if form.is_sample
                                                        else "")
    if form.is_sample:
        hp = doc.sections[0].header.paragraphs[0]
        hp.text = SAMPLE_LABEL
        hp.runs[0].font.color.rgb = RGBColor(0xB0, 0x00, 0x20)
        hp.runs[0].bold = True
    t = doc.add_paragraph()
    t.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = t.add_run(form.title.upper())
    run.bold = True
    run.font.size = Pt(14)
    if form.is_sample:
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        r = p.add_run(SAMPLE_LABEL)
        r.bold = True
        r.font.color.rgb = RGBColor(0xB0, 0x00, 0x20)
    for s in form.sections:
        _section(doc, s, lang)
    if form.sources:
        _heading(doc, "Nguồn số liệu đối chiếu" if lang == "vi" else "Sources compared", 2)
        for src in form.sources:
            doc.add_paragraph(f"– {src}")
    for s in form.annex:
        doc.add_page_break()
        _section(doc, s, lang)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def write_report_docx(form: ProvinceForm, path: str | os.PathLike, *,
                      overwrite: bool = False) -> Path:
    """Write the report form as a ``.docx`` file atomically."""
    check_writable(path, overwrite=overwrite)
    data = build_docx(form)
    out = atomic_write_bytes(path, data, overwrite=overwrite)
    logger.info("wrote Word report %s (%d kB)", out, len(data) // 1024)
    return Path(out)
