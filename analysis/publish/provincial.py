"""The telecom and postal section of a provincial ICT report, in the province's own form.

The yearly reports of the provincial departments (seeds 000–004) have a fixed shape:
"I. LĨNH VỰC BƯU CHÍNH — 1. Kết quả thực hiện", "II. LĨNH VỰC VIỄN THÔNG — 1. Kết quả thực
hiện", then difficulties and proposals, with the figures inside fixed sentences: "Tổng số
thiết bị trạm BTS thu phát sóng di động: 1.842 thiết bị trạm", "+ Tỷ lệ phủ sóng Viettel:
98%", "đã phủ sóng điện thoại đến 941/948 thôn bản; 722/948 thôn bản có internet", "Toàn tỉnh
có 510 tuyến cáp quang với tổng chiều dài 3.350 km", "Bán kính phục vụ bình quân đạt 4,12
km/điểm; số dân phục vụ bình quân đạt 3.598 người/điểm".

:func:`province_form` fills those sentences from the indicator tables of
:func:`analysis.publish.report.build_report` (province row), the bundle's own counts, the
postal, fibre, sunset and service-radius tables, the switch-off timeline
(:func:`analysis.compare.timeline.switch_off_timeline`), the rollout plan and, when given, a
comparison with an earlier snapshot. Every number printed comes from
:attr:`ProvinceForm.indicators` (one row per figure, with its key), so the text can be
checked against the tables. The sections are rendered to Word by
:mod:`analysis.publish.docx` and to HTML by :func:`sections_html`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from phusong.analysis.publish.wording import Section, cell_text, format_number
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS, Operator
from phusong.layers.settings import DEFAULT, TECHNOLOGIES, Settings

logger = logging.getLogger(__name__)

__all__ = ["FORM_LABELS", "SAMPLE_LABEL", "ProvinceForm", "province_form", "sections_html"]

SAMPLE_LABEL = "DỮ LIỆU MẪU – SAMPLE DATA"

#: column → (vi, en) headers of the annex tables
FORM_LABELS: dict[str, tuple[str, str]] = {
    "village_id": ("Mã thôn", "Village id"),
    "name": ("Tên thôn, bản", "Village"),
    "commune_name": ("Xã", "Commune"),
    "district_name": ("Huyện", "District"),
    "population": ("Dân số", "Population"),
    "households": ("Số hộ", "Households"),
    "has_grid_power": ("Có điện lưới", "Grid power"),
    "border_area": ("Biên giới", "Border area"),
    "covered_pct": ("Diện tích dân cư có sóng (%)", "Settled area covered (%)"),
    "operators": ("Doanh nghiệp có sóng", "Operators with signal"),
    "date": ("Thời điểm", "Date"),
    "techs_on": ("Công nghệ còn hoạt động", "Technologies on air"),
    "villages_signal": ("Thôn, bản có sóng", "With signal"),
    "villages_broadband": ("Thôn, bản có băng rộng", "With broadband"),
    "villages_white": ("Thôn, bản trắng sóng", "White"),
    "population_white": ("Dân số trắng sóng", "Population without signal"),
    "rank": ("Thứ tự", "Rank"),
    "site_id": ("Mã vị trí", "Site id"),
    "site_type": ("Hình thức", "Type"),
    "villages_covered": ("Số thôn được phủ thêm", "Villages added"),
    "population_covered": ("Dân số được phủ thêm", "Population added"),
    "cost_mvnd": ("Kinh phí (triệu đồng)", "Cost (million VND)"),
    "village_names": ("Thôn được phủ", "Villages covered"),
    "indicator": ("Chỉ tiêu", "Indicator"),
    "model": ("Mô hình", "Model"),
    "reported": ("Báo cáo", "Reported"),
    "unit": ("Đơn vị", "Unit"),
    "source": ("Nguồn (báo cáo, năm)", "Source (report, year)"),
    "key": ("Mã số liệu", "Figure key"),
    "label": ("Số liệu", "Figure"),
    "value": ("Giá trị", "Value"),
}

_KIND_PHRASE = {"buu_cuc_cap_1": ("bưu cục cấp I", "class I post offices"),
                "buu_cuc_cap_2": ("bưu cục cấp II", "class II post offices"),
                "buu_cuc_cap_3": ("bưu cục cấp III", "class III post offices"),
                "kt1": ("bưu cục KT1", "KT1 offices"),
                "khach_hang_lon": ("bưu cục khách hàng lớn", "key-account offices"),
                "dai_ly": ("đại lý bưu điện", "postal agents")}


@dataclasses.dataclass
class ProvinceForm:
    """The report section in the province's form.

    Attributes
    ----------
    title
        Document title.
    province, year, language, is_sample
        Whose report, for which year, in which language; sample data is labelled.
    sections
        The body: parts, sections and subsections in order (:class:`Section`).
    annex
        The annexes (white and lõm village lists, the timeline, model vs reported).
    indicators
        Every figure printed in the body: ``key``, ``label``, ``value`` (the number as
        computed, before rounding for print) and ``digits`` (decimals printed).
    sources
        The seed reports the figures are compared with, cited by title and year.
    charts
        Chart key → PNG bytes (also inside the sections).
    """

    title: str
    province: str
    year: int
    language: str
    is_sample: bool
    sections: list[Section]
    annex: list[Section]
    indicators: pd.DataFrame
    sources: list[str]
    charts: dict[str, bytes]

    def text(self) -> list[str]:
        """Every heading, paragraph and bullet of the body, in order."""
        out = [self.title]
        for s in self.sections:
            out += s.text()
        return out


class _Figures:
    """The indicator table being filled: ``f(key, value, digits)`` stores and formats."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.rows: list[dict[str, Any]] = []
        self.seen: dict[str, float] = {}

    def __call__(self, key: str, value: Any, digits: int = 0, label: str = "") -> str:
        v = float(value) if value is not None and not (isinstance(value, float)
                                                       and np.isnan(value)) else np.nan
        if key not in self.seen:
            self.rows.append({"key": key, "label": label or key, "value": v,
                              "digits": digits})
            self.seen[key] = v
        return format_number(v, digits=digits, language=self.language)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["key", "label", "value", "digits"])


def _date(iso: str, language: str) -> str:
    d = dt.date.fromisoformat(iso)
    return d.strftime("%d/%m/%Y")


def _bool(s: pd.Series) -> pd.Series:
    return s.astype(str).str.lower().isin(["true", "1", "có", "yes"])


def _op(op: str) -> str:
    try:
        return Operator(op).label
    except ValueError:
        return op


def _admin_names(bundle: ProvinceBundle) -> tuple[dict[str, str], dict[str, str]]:
    admin = bundle.layer("admin_units")
    names, parent = {}, {}
    for r in admin.itertuples():
        names[str(r.code)] = str(r.name)
        if isinstance(r.parent_code, str) and r.parent_code:
            parent[str(r.code)] = r.parent_code
    return names, parent


def _village_list(bundle: ProvinceBundle, status: pd.DataFrame, which: str,
                  ops: list[str]) -> pd.DataFrame:
    names, parent = _admin_names(bundle)
    vil = bundle.layer("villages")
    attrs = pd.DataFrame(vil.drop(columns=vil.geometry.name)).set_index(
        vil["village_id"].astype(str)) if len(vil) else pd.DataFrame()
    sel = status[status["status_any"] == which]
    out = pd.DataFrame({"village_id": sel.index.astype(str),
                        "name": sel["name"].to_numpy()})
    com = sel["commune_code"].astype(str).to_numpy()
    out["commune_name"] = [names.get(c, c) for c in com]
    out["district_name"] = [names.get(parent.get(c, ""), "") for c in com]
    out["population"] = pd.to_numeric(sel["population"], errors="coerce").fillna(0).astype(
        int).to_numpy()
    out["households"] = pd.to_numeric(sel.get("households", pd.Series(0, index=sel.index)),
                                      errors="coerce").fillna(0).astype(int).to_numpy()
    for col in ("has_grid_power", "border_area"):
        out[col] = (_bool(attrs[col].reindex(out["village_id"])).to_numpy()
                    if col in attrs else False)
    if which == "lom":
        out["covered_pct"] = (100 * pd.to_numeric(sel["share_any"], errors="coerce")
                              ).round(1).to_numpy()
        out["operators"] = [", ".join(_op(o) for o in ops if sel[f"status_{o}"].iloc[i]
                                      != "trang") for i in range(len(sel))]
    return out.sort_values(["district_name", "commune_name", "name"],
                           kind="mergesort").reset_index(drop=True)


def _t(language: str, vi: str, en: str) -> str:
    return vi if language == "vi" else en


def province_form(bundle: ProvinceBundle, *, report: Any, status: pd.DataFrame,
                  analyses: Mapping[str, Any] | None = None, rollout: Any = None,
                  comparison: Any = None, timeline: pd.DataFrame | None = None,
                  settings: Settings = DEFAULT) -> ProvinceForm:
    """Fill the province's report form (see the module docstring).

    Parameters
    ----------
    bundle
        The province bundle.
    report
        The :class:`~analysis.publish.report.Report` of the same status (its ``province``
        table row is the indicator table the sentences quote).
    status
        :func:`analysis.coverage.status.village_status` output.
    analyses
        Tables already computed (``postal``, ``sunset``, ``fibre`` of
        :func:`analysis.analyses.run_analyses`); missing ones are computed here.
    rollout
        A :class:`~analysis.rollout.plan.RolloutPlan` for the proposal (optional).
    comparison
        A :class:`~analysis.compare.changes.BundleComparison` with an earlier snapshot
        (optional): adds the progress section.
    timeline
        The switch-off timeline (default: computed from ``status``).
    settings
        Language, dates, distances.
    """
    from phusong.analysis.compare.timeline import switch_off_timeline, timeline_chart

    lang = settings.language
    vi = lang == "vi"
    analyses = dict(analyses or {})
    F = _Figures(lang)
    prov = report.tables["province"].iloc[0]
    province = bundle.province or str(prov["name"])
    year_meta = str(bundle.meta.get("year", "") or "")
    year = int(year_meta) if year_meta.isdigit() else settings.as_of_date().year
    ops = [o.value for o in OPERATORS if f"ratio_{o.value}_pct" in prov.index]
    N = int(prov["villages_total"])
    charts: dict[str, bytes] = {}
    sections: list[Section] = []

    # ---- I. postal ---------------------------------------------------------------------------
    postal = analyses.get("postal")
    if not isinstance(postal, Mapping):
        from phusong.analysis.tables.postal import postal_tables

        postal = postal_tables(bundle, settings=settings)
    ind = dict(zip(postal["indicators"]["indicator"], postal["indicators"]["value"],
                   strict=True))
    po = bundle.layer("post_offices")
    kinds = po["kind"].astype(str) if len(po) else pd.Series([], dtype=str)
    sections.append(Section("postal", "I. LĨNH VỰC BƯU CHÍNH" if vi else "I. POSTAL SERVICES",
                            level=1))
    paras = []
    parts = [f"{F(f'post_offices_{k}', (kinds == k).sum())} {_KIND_PHRASE[k][0 if vi else 1]}"
             for k in _KIND_PHRASE if (kinds == k).sum()]
    n_bd = int((kinds == "bdvhx").sum())
    pp = F("postal_points", int(prov.get("postal_points", len(po))),
           label=_t(lang, "Điểm phục vụ bưu chính", "Postal service points"))
    if len(po):
        inet = int((kinds.eq("bdvhx") & _bool(po["has_public_internet"])).sum())
        multi = int((kinds.eq("bdvhx") & _bool(po["multi_service"])).sum())
        s = (f"Toàn tỉnh có {pp} điểm phục vụ bưu chính" if vi
             else f"The province has {pp} postal service points")
        if parts:
            s += f" ({', '.join(parts)})"
        if n_bd:
            bd = F("bdvhx_points", n_bd)
            s += ((f"; {bd} điểm Bưu điện văn hóa xã, trong đó: {F('bdvhx_multi_service', multi)}"
                   f"/{bd} (tỷ lệ {F('bdvhx_multi_pct', 100 * multi / n_bd, 0)}%) điểm Bưu điện "
                   f"văn hoá đa dịch vụ; {F('bdvhx_public_internet', inet)}/{bd} (tỷ lệ "
                   f"{F('bdvhx_internet_pct', 100 * inet / n_bd, 0)}%) điểm kết nối internet "
                   "công cộng.") if vi else
                  (f"; {bd} commune cultural post offices (BĐVHX), of which "
                   f"{F('bdvhx_multi_service', multi)}/{bd} "
                   f"({F('bdvhx_multi_pct', 100 * multi / n_bd, 0)}%) offer several services "
                   f"and {F('bdvhx_public_internet', inet)}/{bd} "
                   f"({F('bdvhx_internet_pct', 100 * inet / n_bd, 0)}%) public internet."))
        else:
            s += "."
        paras.append(s)
        if pd.notna(prov.get("postal_radius_km")):
            paras.append(
                (f"Bán kính phục vụ bình quân đạt {F('postal_radius_km', prov['postal_radius_km'], 2)}"
                 f" km/điểm; số dân phục vụ bình quân đạt "
                 f"{F('people_per_postal', prov['people_per_postal'])} người/điểm.") if vi else
                (f"Mean service radius {F('postal_radius_km', prov['postal_radius_km'], 2)} "
                 f"km per point; {F('people_per_postal', prov['people_per_postal'])} people "
                 "per point."))
    else:
        paras.append("Chưa có dữ liệu điểm phục vụ bưu chính." if vi
                     else "No postal service points in the data.")
    cw = str(ind.get("communes_with_postal_point", ""))
    if "/" in cw:
        a, b = (int(x) for x in cw.split("/"))
        beyond = str(ind.get("villages_beyond_limit", "0/0")).split("/")[0]
        lim = float(ind.get("postal_max_road_km", settings.postal_max_road_km))
        paras.append(
            (f"{F('communes_with_postal_point', a)}/{F('communes_total', b)} xã có điểm phục vụ "
             f"bưu chính; {F('villages_beyond_postal_limit', int(beyond))} thôn, bản cách điểm "
             f"phục vụ gần nhất quá {F('postal_max_road_km', lim)} km.") if vi else
            (f"{F('communes_with_postal_point', a)}/{F('communes_total', b)} communes have a "
             f"postal point; {F('villages_beyond_postal_limit', int(beyond))} villages are "
             f"more than {F('postal_max_road_km', lim)} km from the nearest one."))
    sections.append(Section("postal_results", "1. Kết quả thực hiện" if vi else "1. Results",
                            paras))

    # ---- II. telecom -------------------------------------------------------------------------
    sections.append(Section("telecom", "II. LĨNH VỰC VIỄN THÔNG" if vi
                            else "II. TELECOMMUNICATIONS", level=1))
    bts = bundle.layer("bts")
    tech = bts["tech"].astype(str) if len(bts) else pd.Series([], dtype=str)
    n_ops = int(bts["operator"].astype(str).nunique()) if len(bts) else 0
    towers = F("towers", int(prov.get("towers", len(bundle.layer("towers")))),
               label=_t(lang, "Vị trí trạm BTS", "Tower positions"))
    t3 = F("towers_3g", bts.loc[tech == "3G", "tower_id"].astype(str).nunique() if len(bts)
           else 0)
    t4 = F("towers_4g", bts.loc[tech == "4G", "tower_id"].astype(str).nunique() if len(bts)
           else 0)
    paras = [
        (f"Trên địa bàn tỉnh có {F('mobile_operators', n_ops)} doanh nghiệp cung cấp dịch vụ "
         f"thông tin di động với tổng số {towers} vị trí trạm thu phát sóng thông tin di động "
         f"(BTS), trong đó có {t3} vị trí có phủ sóng 3G, {t4} vị trí có phủ sóng 4G.") if vi
        else (f"{F('mobile_operators', n_ops)} mobile operators run {towers} tower positions "
              f"(BTS sites), {t3} of them with 3G and {t4} with 4G."),
        (f"Tổng số thiết bị trạm BTS thu phát sóng di động: "
         f"{F('bts', int(prov.get('bts', len(bts))))} thiết bị trạm, trong đó:") if vi else
        f"BTS equipment in service: {F('bts', int(prov.get('bts', len(bts))))}, of which:",
    ]
    bullets = [(f"+ Thiết bị trạm {t}: {F(f'bts_{t}', (tech == t).sum())}." if vi
                else f"+ {t}: {F(f'bts_{t}', (tech == t).sum())}.")
               for t in TECHNOLOGIES if (tech == t).sum()]
    bts_op = bts["operator"].astype(str) if len(bts) else pd.Series([], dtype=str)
    bullets += [(f"+ {_op(o)}: {F(f'bts_{o}', (bts_op == o).sum())} thiết bị trạm." if vi
                 else f"+ {_op(o)}: {F(f'bts_{o}', (bts_op == o).sum())} BTS.")
                for o in ops if (bts_op == o).sum()]
    sec = Section("telecom_bts", "1. Hạ tầng trạm thu phát sóng" if vi
                  else "1. Towers and BTS", paras, bullets=bullets)
    if pd.notna(prov.get("tower_radius_km")):
        sec.after.append(
            (f"Bán kính phục vụ bình quân {F('tower_radius_km', prov['tower_radius_km'], 2)} "
             f"km/vị trí trạm; số dân phục vụ bình quân "
             f"{F('people_per_tower', prov['people_per_tower'])} người/vị trí trạm.") if vi else
            (f"Mean service radius {F('tower_radius_km', prov['tower_radius_km'], 2)} km per "
             f"tower; {F('people_per_tower', prov['people_per_tower'])} people per tower."))
    sections.append(sec)

    # coverage
    paras = [("Tỷ lệ phủ sóng của các mạng thông tin di động đến các thôn, bản trên địa bàn "
              "tỉnh:") if vi else "Share of villages covered by each mobile network:"]
    bullets = [(f"+ Tỷ lệ phủ sóng {_op(o)}: {F(f'ratio_{o}_pct', prov[f'ratio_{o}_pct'], 1)}%."
                if vi else f"+ {_op(o)}: {F(f'ratio_{o}_pct', prov[f'ratio_{o}_pct'], 1)}%.")
               for o in ops]
    nn = F("villages_total", N, label=_t(lang, "Số thôn, bản", "Villages"))
    sig = F("villages_with_signal", prov["villages_with_signal"],
            label=_t(lang, "Thôn, bản có sóng", "Villages with signal"))
    net = F("villages_internet", prov["villages_internet"],
            label=_t(lang, "Thôn, bản có internet", "Villages with internet"))
    g4 = F("villages_4g", prov["villages_4g"])
    tr = F("villages_trang", prov["villages_trang"], label=_t(lang, "Thôn trắng sóng",
                                                              "White villages"))
    lo = F("villages_lom", prov["villages_lom"], label=_t(lang, "Thôn lõm sóng",
                                                          "Dead-spot villages"))
    day = _date(settings.as_of_date().isoformat(), lang)
    after = [
        (f"Đến ngày {day} đã phủ sóng điện thoại đến {sig}/{nn} thôn bản; {net}/{nn} thôn bản có "
         f"internet; {g4}/{nn} thôn bản có sóng 4G.") if vi else
        (f"By {day} {sig}/{nn} villages had mobile signal, {net}/{nn} had internet and "
         f"{g4}/{nn} had 4G."),
        (f"Còn {tr} thôn, bản trắng sóng (chưa có sóng di động) và {lo} thôn, bản lõm sóng "
         "(danh sách tại Phụ lục 1 và Phụ lục 2).") if vi else
        (f"{tr} villages have no signal (white) and {lo} are dead spots (lõm); see Annexes 1 "
         "and 2."),
    ]
    sections.append(Section("telecom_coverage", "2. Phủ sóng di động" if vi
                            else "2. Mobile coverage", paras, bullets=bullets, after=after))

    # fibre
    fl = bundle.layer("fibre_routes")
    paras = []
    if len(fl):
        km = F("fibre_km", prov["fibre_km"], 1, label=_t(lang, "Cáp quang (km)", "Fibre (km)"))
        paras.append(
            (f"Toàn tỉnh có {F('fibre_routes', len(fl))} tuyến cáp quang với tổng chiều dài {km}"
             f" km, trong đó {F('underground_km', prov['underground_km'], 1)} km cáp ngầm (tỷ lệ"
             f" ngầm hóa {F('underground_pct', prov['underground_pct'], 1)}%).") if vi else
            (f"{F('fibre_routes', len(fl))} fibre routes, {km} km in all, "
             f"{F('underground_km', prov['underground_km'], 1)} km underground (undergrounding "
             f"ratio {F('underground_pct', prov['underground_pct'], 1)}%)."))
        reach = analyses.get("fibre")
        reach = reach.get("reach") if isinstance(reach, Mapping) else None
        if not isinstance(reach, pd.DataFrame):
            from phusong.analysis.tables.fibre import fibre_reach

            reach = fibre_reach(bundle, settings=settings)[0]
        rr = reach.set_index("indicator")
        if {"commune_centres_within_fibre_access", "villages_within_fibre_access"} <= set(
                rr.index):
            c, v = rr.loc["commune_centres_within_fibre_access"], \
                rr.loc["villages_within_fibre_access"]
            d = F("fibre_access_km", settings.fibre_access_km, 0 if float(
                settings.fibre_access_km).is_integer() else 1)
            paras.append(
                (f"Hạ tầng truyền dẫn cáp quang được kéo đến {F('commune_centres_fibre', c['n'])}"
                 f"/{F('commune_centres', c['total'])} trung tâm xã, phường, thị trấn và "
                 f"{F('villages_fibre', v['n'])}/{nn} thôn, bản (cáp quang cách trung tâm không "
                 f"quá {d} km).") if vi else
                (f"Fibre reaches {F('commune_centres_fibre', c['n'])}/"
                 f"{F('commune_centres', c['total'])} commune centres and "
                 f"{F('villages_fibre', v['n'])}/{nn} villages (within {d} km of the centre)."))
    else:
        paras.append("Chưa có dữ liệu tuyến cáp quang." if vi else "No fibre routes in the data.")
    sections.append(Section("telecom_fibre", "3. Hạ tầng cáp quang" if vi
                            else "3. Fibre", paras))

    # switch-off
    sunset = analyses.get("sunset")
    if not isinstance(sunset, Mapping):
        from phusong.analysis.tables.sunset import sunset_tables

        sunset = sunset_tables(status, settings=settings)
    su = sunset["summary"]
    su = su[su["operator"] == "any"].set_index("event")
    if timeline is None:
        timeline = switch_off_timeline(status, settings=settings, start_year=year)
    paras = []
    if {"2g_off", "3g_off"} <= set(su.index):
        a, b = su.loc["2g_off"], su.loc["3g_off"]
        paras.append(
            (f"Khi dừng mạng 2G (ngày {_date(a['event_date'], lang)}), "
             f"{F('sunset_2g_villages', a['villages_lose_service'])}/{nn} thôn, bản với "
             f"{F('sunset_2g_population', a['population_affected'])} người mất sóng di động "
             f"hoàn toàn (chỉ có sóng 2G); khi dừng mạng 3G (ngày "
             f"{_date(b['event_date'], lang)}), thêm "
             f"{F('sunset_3g_villages', b['villages_lose_service'])} thôn, bản với "
             f"{F('sunset_3g_population', b['population_affected'])} người.") if vi else
            (f"When 2G is switched off ({_date(a['event_date'], lang)}), "
             f"{F('sunset_2g_villages', a['villages_lose_service'])}/{nn} villages with "
             f"{F('sunset_2g_population', a['population_affected'])} people lose all mobile "
             f"service (2G only); when 3G ends ({_date(b['event_date'], lang)}), "
             f"{F('sunset_3g_villages', b['villages_lose_service'])} more villages with "
             f"{F('sunset_3g_population', b['population_affected'])} people."))
    last = timeline.iloc[-1]
    end = dt.date.fromisoformat(last["date"]).year
    paras.append(
        (f"Với mạng lưới hiện tại, đến cuối năm {end} còn "
         f"{F('timeline_end_signal', last['villages_signal'])}/{nn} thôn, bản có sóng, "
         f"{F('timeline_end_broadband', last['villages_broadband'])}/{nn} thôn, bản có băng "
         f"rộng (3G/4G/5G hoặc cáp quang) và {F('timeline_end_white', last['villages_white'])} "
         "thôn, bản trắng sóng (Phụ lục 3).") if vi else
        (f"With today's network, by the end of {end} "
         f"{F('timeline_end_signal', last['villages_signal'])}/{nn} villages keep a signal, "
         f"{F('timeline_end_broadband', last['villages_broadband'])}/{nn} have broadband "
         f"(3G/4G/5G or fibre) and {F('timeline_end_white', last['villages_white'])} are white "
         "(Annex 3)."))
    charts["timeline"] = timeline_chart(timeline, language=lang, is_sample=bundle.is_sample)
    sections.append(Section("telecom_sunset", "4. Lộ trình dừng công nghệ 2G, 3G" if vi
                            else "4. 2G/3G switch-off", paras,
                            images=[("Thôn, bản có sóng và băng rộng theo thời gian" if vi else
                                     "Villages with signal and broadband over time",
                                     charts["timeline"])]))

    # progress since an earlier snapshot
    if comparison is not None:
        from phusong.analysis.compare.outputs import comparison_sections, snapshot_phrase

        cs = comparison_sections(comparison, language=lang)
        for s in cs:
            s.level = 3
        since = snapshot_phrase(comparison.old_label, lang)
        sections.append(Section("telecom_progress", f"5. Kết quả so với {since}" if vi
                                else f"5. Progress since {since}"))
        sections += cs

    # proposal
    k = 6 if comparison is not None else 5
    paras = []
    tables = []
    counts = getattr(rollout, "class_counts", None)
    if isinstance(counts, pd.DataFrame) and len(counts):
        cc = counts
        def cget(cid: str, col: str) -> int:
            return int(cc.loc[cid, col]) if cid in cc.index else 0
        paras.append(
            (f"Thôn, bản chưa có sóng thuộc đối tượng Quỹ Dịch vụ viễn thông công ích (có điện "
             f"lưới, vùng đặc biệt khó khăn hoặc biên giới): "
             f"{F('rollout_fund_villages', cget('quy_vtci', 'villages'))} thôn, bản với "
             f"{F('rollout_fund_population', cget('quy_vtci', 'population'))} người; doanh "
             f"nghiệp tự đầu tư (có điện lưới): "
             f"{F('rollout_operator_villages', cget('doanh_nghiep', 'villages'))} thôn, bản; chờ "
             f"điện lưới: {F('rollout_grid_villages', cget('cho_dien', 'villages'))} thôn, "
             "bản.") if vi else
            (f"Villages without service eligible for the public-utility telecom fund (grid "
             f"power, extremely difficult or border area): "
             f"{F('rollout_fund_villages', cget('quy_vtci', 'villages'))} with "
             f"{F('rollout_fund_population', cget('quy_vtci', 'population'))} people; "
             f"operators' own plans (grid power): "
             f"{F('rollout_operator_villages', cget('doanh_nghiep', 'villages'))}; waiting for "
             f"grid power: {F('rollout_grid_villages', cget('cho_dien', 'villages'))}."))
    sites = getattr(rollout, "sites", rollout)
    if isinstance(sites, pd.DataFrame) and len(sites):
        def total(col: str) -> float:
            return float(pd.to_numeric(sites[col], errors="coerce").fillna(0).sum()) \
                if col in sites else 0.0

        cost = total("cost_vnd") / 1e9
        vc = int(total("villages_covered"))
        pc = int(total("population_covered"))
        paras.append(
            (f"Đề xuất đầu tư {F('rollout_sites', len(sites))} trạm viễn thông công ích với tổng "
             f"kinh phí {F('rollout_cost_bn_vnd', cost, 1)} tỷ đồng (gồm vận hành "
             f"{F('opex_years', settings.opex_years)} năm), phủ sóng thêm "
             f"{F('rollout_villages', vc)} thôn, bản với {F('rollout_population', pc)} người "
             "(danh sách vị trí dưới đây, theo thứ tự ưu tiên).") if vi else
            (f"Proposed: {F('rollout_sites', len(sites))} public-utility stations costing "
             f"{F('rollout_cost_bn_vnd', cost, 1)} billion VND (with "
             f"{F('opex_years', settings.opex_years)} years of operation), bringing service to "
             f"{F('rollout_villages', vc)} villages with {F('rollout_population', pc)} people "
             "(sites below, in order of priority)."))
        t = pd.DataFrame({c: sites[c].to_numpy() for c in ("rank", "site_id", "site_type",
                                                           "villages_covered",
                                                           "population_covered",
                                                           "village_names") if c in sites})
        if "cost_vnd" in sites:
            t.insert(min(5, len(t.columns)), "cost_mvnd",
                     (pd.to_numeric(sites["cost_vnd"], errors="coerce") / 1e6).round(0)
                     .to_numpy())
        tables.append(("Vị trí trạm viễn thông công ích đề xuất" if vi
                       else "Proposed public-utility sites", t, FORM_LABELS))
    if not paras:
        paras.append("Chưa lập phương án trạm viễn thông công ích (lệnh phusong rollout)." if vi
                     else "No public-utility rollout plan was made (phusong rollout).")
    sections.append(Section("telecom_proposal", f"{k}. Kiến nghị, đề xuất" if vi
                            else f"{k}. Proposals", paras, tables=tables))

    # ---- annexes -----------------------------------------------------------------------------
    annex = [
        Section("annex_white", "Phụ lục 1. Danh sách thôn, bản trắng sóng" if vi
                else "Annex 1. White villages (no signal)", level=1,
                tables=[("", _village_list(bundle, status, "trang", ops), FORM_LABELS)]),
        Section("annex_lom", "Phụ lục 2. Danh sách thôn, bản lõm sóng" if vi
                else "Annex 2. Dead-spot (lõm) villages", level=1,
                tables=[("", _village_list(bundle, status, "lom", ops), FORM_LABELS)]),
        Section("annex_timeline", "Phụ lục 3. Lộ trình dừng công nghệ 2G, 3G" if vi
                else "Annex 3. 2G/3G switch-off timeline", level=1,
                tables=[("", timeline[["date", "techs_on", "villages_signal",
                                       "villages_broadband", "villages_white",
                                       "population_white"]].assign(
                    date=timeline["date"].map(lambda d: _date(d, lang))), FORM_LABELS)]),
    ]
    sources: list[str] = []
    mvr = report.tables.get("model_vs_reported")
    if isinstance(mvr, pd.DataFrame) and len(mvr):
        t = mvr[["indicator", "model", "reported", "unit", "source"]].copy()
        annex.append(Section("annex_reported", "Phụ lục 4. Số liệu mô hình và số liệu báo cáo"
                             if vi else "Annex 4. Model and reported figures", level=1,
                             tables=[("", t, FORM_LABELS)]))
        sources = sorted(set(mvr["source"].astype(str)))
    annex.append(Section("annex_figures", "Phụ lục 5. Bảng số liệu của báo cáo" if vi
                         else "Annex 5. The report's figures", level=1,
                         paragraphs=[_t(lang, "Mọi số liệu trong báo cáo lấy từ bảng dưới đây.",
                                        "Every figure in the report comes from this table.")],
                         tables=[("", F.frame()[["key", "label", "value"]], FORM_LABELS)]))
    title = (f"Báo cáo lĩnh vực bưu chính, viễn thông năm {year} – {province}" if vi
             else f"Postal and telecommunications report {year} – {province}")
    logger.info("filled the report form of %s (%d sections, %d figures)", province,
                len(sections), len(F.rows))
    return ProvinceForm(title=title, province=province, year=year, language=lang,
                        is_sample=bundle.is_sample, sections=sections, annex=annex,
                        indicators=F.frame(), sources=sources, charts=charts)


# -- HTML ------------------------------------------------------------------------------------


def _label(col: str, labels: Mapping[str, tuple[str, str]], language: str) -> str:
    pair = labels.get(col)
    return col if pair is None else pair[0 if language == "vi" else 1]


def sections_html(sections: list[Section], *, language: str = "vi") -> str:
    """Sections as HTML (headings, paragraphs, bullets, tables, inline PNG charts); every
    text escaped."""
    import base64

    e = html.escape
    parts = []
    for s in sections:
        h = min(max(s.level + 1, 2), 4)
        parts.append(f'<h{h} class="form">{e(s.heading)}</h{h}>')
        parts += [f"<p>{e(p)}</p>" for p in s.paragraphs]
        parts += [f'<p class="bullet">{e(b)}</p>' for b in s.bullets]
        parts += [f"<p>{e(p)}</p>" for p in s.after]
        for caption, png in s.images:
            b64 = base64.b64encode(png).decode("ascii")
            parts.append(f'<figure><img class="chart" alt="{e(caption)}" '
                         f'src="data:image/png;base64,{b64}"><figcaption>{e(caption)}'
                         "</figcaption></figure>")
        for caption, df, labels in s.tables:
            if caption:
                parts.append(f"<p><i>{e(caption)}</i></p>")
            head = "".join(f"<th>{e(_label(str(c), labels, language))}</th>"
                           for c in df.columns)
            rows = "".join("<tr>" + "".join(f"<td>{e(cell_text(v, language))}</td>" for v in rec)
                           + "</tr>" for rec in df.itertuples(index=False))
            parts.append(f'<div class="tw"><table><thead><tr>{head}</tr></thead><tbody>{rows}'
                         "</tbody></table></div>")
    return "".join(parts)
