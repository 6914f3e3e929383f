"""The comparison written out: sentences in the reports' wording, tables, map layer.

:func:`comparison_sections` turns a :class:`~analysis.compare.changes.BundleComparison` into
report sections in the words of the provincial reports — "Phát triển 131 vị trí trạm BTS,
nâng tổng số vị trí trạm BTS hiện nay là 1.308 vị trí với 3.125 thiết bị trạm", "đã xoá
trắng được 46/128 thôn/bản, xoá lõm được 45/140 thôn/bản" — and
:func:`write_comparison` writes

* ``compare.xlsx`` — summary, per province/district/commune, the village lists (cleared
  white, cleared lõm, lost signal, every village), towers, BTS, cable, postal points, the
  feature changes and the village match report;
* ``compare_villages.csv``, ``compare_units.csv`` (every level), ``compare_matches.csv``;
* ``compare_villages.geojson`` — villages with their transition (the change map layer);
* ``compare_map.html`` — the new snapshot's map with the change layer on top (villages
  coloured by transition, towers added and removed);
* ``compare.txt`` — the sentences.
"""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path
from typing import Any

import folium
import pandas as pd

from phusong.analysis import labels as L
from phusong.analysis.compare.changes import BundleComparison
from phusong.analysis.export import write_table, write_tables
from phusong.analysis.publish.wording import Section, format_change, format_number, format_pct
from phusong.gis.atomic import atomic_write_text, check_writable
from phusong.layers.operators import Operator
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["TRANSITION_COLOURS", "change_layer", "comparison_lines", "comparison_sections",
           "display_table", "gpd_villages", "operator_labels", "snapshot_phrase", "write_comparison"]

#: map colour of each transition
TRANSITION_COLOURS = {
    "cleared_white": "#1a9641", "cleared_lom": "#a6d96a", "lost_signal": "#d7191c",
    "became_lom": "#fdae61", "still_trang": "#7b3294", "still_lom": "#f1b6da",
    "still_phu": "#d9d9d9", "added": "#2b8cbe", "removed": "#525252",
}

SAMPLE_LABEL = "DỮ LIỆU MẪU – SAMPLE DATA"


def _op(op: str) -> str:
    try:
        return Operator(op).label
    except ValueError:
        return {"all": "Tất cả"}.get(op, op)


def _tl(key: str, language: str) -> str:
    return L.label(L.TRANSITION_LABELS, key, language)


_KIND_DISPLAY = {"aerial": ("Cáp treo", "Aerial"), "underground": ("Cáp ngầm", "Underground")}


def display_table(df: pd.DataFrame, language: str = "vi") -> pd.DataFrame:
    """A comparison table for people: operator and kind labels, "Tổng" for the totals,
    ratios as percentages (rounded to 0.1)."""
    from phusong.layers.schema import POST_OFFICE_KINDS

    vi = language == "vi"
    total = "Tổng" if vi else "Total"
    out = df.copy()
    if "operator" in out:
        out["operator"] = out["operator"].map(lambda o: total if o == "all" else _op(str(o)))
    if "tech" in out:
        out["tech"] = out["tech"].map(lambda t: total if t == "all" else t)
    if "kind" in out:
        out["kind"] = out["kind"].map(
            lambda k: total if k == "all" else _KIND_DISPLAY.get(k, (None, None))[0 if vi else 1]
            or POST_OFFICE_KINDS.get(k, k))
    for c in out.columns:
        if "ratio" in c:
            out[c] = (100 * pd.to_numeric(out[c], errors="coerce")).round(1)
    return out


def snapshot_phrase(label: str, language: str = "vi") -> str:
    """A snapshot's label inside a sentence: ``"năm 2022"`` / ``"ngày 31/12/2025"`` (vi)."""
    if language != "vi":
        return label
    return f"năm {label}" if label.isdigit() else f"ngày {label}"


def comparison_sections(cmp: BundleComparison, *, language: str = "vi") -> list[Section]:
    """The comparison as report sections in the seeds' wording (module docstring)."""
    vi = language == "vi"
    n = lambda v, d=0: format_number(v, digits=d, language=language)  # noqa: E731
    ch = lambda v, d=0, u="": format_change(v, digits=d, language=language, unit=u)  # noqa: E731
    p = cmp.units["province"].iloc[0]

    def at(label: str) -> str:
        return snapshot_phrase(label, language)

    before = at(cmp.old_label)
    after = at(cmp.new_label)
    tw = cmp.towers.set_index("operator")
    bt = cmp.bts.set_index(["operator", "tech"])
    secs: list[Section] = []

    # 1. towers and BTS
    t_all, b_all = tw.loc["all"], bt.loc[("all", "all")]
    shared = cmp.features[(cmp.features["layer"] == "bts") & cmp.features["shared"]]
    if vi:
        s1 = (f"Phát triển {n(t_all['added'])} vị trí trạm BTS, nâng tổng số vị trí trạm BTS "
              f"hiện nay là {n(t_all['new'])} vị trí với {n(b_all['new'])} thiết bị trạm "
              f"({ch(b_all['change'], 0, 'thiết bị trạm')} so với {before}).")
        if t_all["removed"]:
            s1 += f" {n(t_all['removed'])} vị trí không còn sử dụng."
        s2 = (f"Lắp mới {n(b_all['added'])} thiết bị trạm, tháo hoặc tắt {n(b_all['removed'])} "
              f"thiết bị trạm; {n(len(shared))} thiết bị trạm lắp trên cột của doanh nghiệp "
              "khác (dùng chung hạ tầng).")
    else:
        s1 = (f"{n(t_all['added'])} new tower positions, bringing the total to "
              f"{n(t_all['new'])} positions with {n(b_all['new'])} BTS ({ch(b_all['change'], 0, 'BTS')} "
              f"since {before}).")
        if t_all["removed"]:
            s1 += f" {n(t_all['removed'])} positions are no longer used."
        s2 = (f"{n(b_all['added'])} BTS installed, {n(b_all['removed'])} removed or switched "
              f"off; {n(len(shared))} BTS installed on another operator's tower (sharing).")
    bullets = []
    for tech in ("2G", "3G", "4G", "5G"):
        if ("all", tech) in bt.index:
            r = bt.loc[("all", tech)]
            bullets.append((f"+ Thiết bị trạm {tech}: {n(r['new'])} ({ch(r['change'])} so với "
                            f"{before})") if vi else
                           (f"+ {tech} BTS: {n(r['new'])} ({ch(r['change'])} since {before})"))
    for op in cmp.operators:
        if (op, "all") in bt.index:
            r = bt.loc[(op, "all")]
            bullets.append((f"+ {_op(op)}: {n(r['new'])} thiết bị trạm ({ch(r['change'])})")
                           if vi else f"+ {_op(op)}: {n(r['new'])} BTS ({ch(r['change'])})")
    secs.append(Section("compare_bts", "Hạ tầng trạm BTS" if vi else "Towers and BTS",
                        [s1, s2], bullets=bullets,
                        tables=[("Thiết bị trạm theo doanh nghiệp và công nghệ" if vi else
                                 "BTS by operator and technology",
                                 display_table(cmp.bts, language), L.COMPARE_LABELS)]))

    # 2. villages
    sw = int(p["lost_signal_switch_off"])
    if vi:
        paras = [
            f"Đến {after} đã phủ sóng điện thoại đến {n(p['signal_new'])}/{n(p['villages_new'])}"
            f" thôn bản ({before}: {n(p['signal_old'])}/{n(p['villages_old'])}); "
            f"{n(p['internet_new'])}/{n(p['villages_new'])} thôn bản có internet ({before}: "
            f"{n(p['internet_old'])}/{n(p['villages_old'])}).",
            f"Trong đó đã xoá trắng được {n(p['cleared_white'])}/{n(p['white_old'])} thôn/bản, "
            f"xoá lõm được {n(p['cleared_lom'])}/{n(p['lom_old'])} thôn/bản.",
            (f"{n(p['lost_signal'])} thôn/bản mất sóng"
             + (f", trong đó {n(sw)} thôn/bản do tắt sóng 2G/3G" if sw else "") + "; "
             if p["lost_signal"] else "Không có thôn/bản mất sóng; ")
            + f"{n(p['became_lom'])} thôn/bản chuyển thành lõm sóng.",
        ]
    else:
        paras = [
            f"By {after} {n(p['signal_new'])}/{n(p['villages_new'])} villages had mobile "
            f"signal ({before}: {n(p['signal_old'])}/{n(p['villages_old'])}); "
            f"{n(p['internet_new'])}/{n(p['villages_new'])} had internet ({before}: "
            f"{n(p['internet_old'])}/{n(p['villages_old'])}).",
            f"White villages cleared: {n(p['cleared_white'])}/{n(p['white_old'])}; dead-spot "
            f"(lõm) villages cleared: {n(p['cleared_lom'])}/{n(p['lom_old'])}.",
            (f"{n(p['lost_signal'])} villages lost signal"
             + (f", {n(sw)} of them through the 2G/3G switch-off" if sw else "") + "; "
             if p["lost_signal"] else "No village lost signal; ")
            + f"{n(p['became_lom'])} villages became dead spots.",
        ]
    bullets = []
    for op in cmp.operators:
        a, b = p[f"cleared_white_{op}"], p[f"white_old_{op}"]
        c, d = p[f"cleared_lom_{op}"], p[f"lom_old_{op}"]
        e = p[f"lost_signal_{op}"]
        bullets.append(
            (f"+ {_op(op)}: phủ sóng {n(p[f'covered_new_{op}'])}/{n(p['villages_new'])} thôn "
             f"bản ({before}: {n(p[f'covered_old_{op}'])}/{n(p['villages_old'])}); xoá trắng "
             f"{n(a)}/{n(b)}, xoá lõm {n(c)}/{n(d)} thôn/bản; {n(e)} thôn/bản mất sóng")
            if vi else
            (f"+ {_op(op)}: {n(p[f'covered_new_{op}'])}/{n(p['villages_new'])} villages "
             f"({before}: {n(p[f'covered_old_{op}'])}/{n(p['villages_old'])}); white cleared "
             f"{n(a)}/{n(b)}, dead spots cleared {n(c)}/{n(d)}; {n(e)} lost signal"))
    level = "district" if "district" in cmp.units else "commune"
    cols = ["name", "signal_old", "signal_new", "cleared_white_text", "cleared_lom_text",
            "lost_signal", "internet_new", "towers_added", "bts_added", "bts_removed"]
    secs.append(Section("compare_villages", "Phủ sóng thôn, bản" if vi
                        else "Village coverage", paras, bullets=bullets,
                        tables=[(("Theo huyện" if level == "district" else "Theo xã") if vi
                                 else f"By {level}", cmp.units[level][cols],
                                 L.COMPARE_LABELS)]))

    # 3. fibre
    fb = cmp.fibre.set_index(["operator", "kind"])
    fa = fb.loc[("all", "all")]
    routes = int(((cmp.features["layer"] == "fibre_routes")
                  & (cmp.features["change"] == "added")).sum())
    if vi:
        para = (f"Phát triển thêm {n(fa['km_added'], 1)} km cáp quang ({n(routes)} tuyến), nâng "
                f"tổng chiều dài lên {n(fa['km_new'], 1)} km ({ch(fa['km_change'], 1, 'km')} so "
                f"với {before}); ngầm hóa thêm {n(fa['km_undergrounded'], 1)} km, tỷ lệ ngầm "
                f"hóa đạt {format_pct(fa['underground_ratio_new'], language=language)}% "
                f"({before}: {format_pct(fa['underground_ratio_old'], language=language)}%).")
    else:
        para = (f"{n(fa['km_added'], 1)} km of new fibre ({n(routes)} route"
                f"{'' if routes == 1 else 's'}), bringing the "
                f"total to {n(fa['km_new'], 1)} km ({ch(fa['km_change'], 1, 'km')} since {before});"
                f" {n(fa['km_undergrounded'], 1)} km laid underground, underground share "
                f"{format_pct(fa['underground_ratio_new'], language=language)}% ({before}: "
                f"{format_pct(fa['underground_ratio_old'], language=language)}%).")
    secs.append(Section("compare_fibre", "Cáp quang" if vi else "Fibre", [para],
                        tables=[("Cáp quang theo doanh nghiệp" if vi else "Fibre by operator",
                                 display_table(cmp.fibre[cmp.fibre["kind"] == "all"].drop(
                                     columns="kind"), language), L.COMPARE_LABELS)]))

    # 4. postal
    po = cmp.postal.set_index("kind")
    pa = po.loc["all"]
    bd = int(po.loc["bdvhx", "new"]) if "bdvhx" in po.index else 0
    para = ((f"Toàn tỉnh có {n(pa['new'])} điểm phục vụ bưu chính ({ch(pa['change'], 0, 'điểm')} "
             f"so với {before}; mở mới {n(pa['added'])}, đóng {n(pa['removed'])}), trong đó "
             f"{n(bd)} điểm Bưu điện văn hóa xã.") if vi else
            (f"{n(pa['new'])} postal service points ({ch(pa['change'])} since {before}; "
             f"{n(pa['added'])} opened, {n(pa['removed'])} closed), {n(bd)} of them commune "
             "cultural post offices."))
    secs.append(Section("compare_postal", "Bưu chính" if vi else "Postal", [para],
                        tables=[("Điểm phục vụ bưu chính theo loại" if vi else
                                 "Postal points by kind", display_table(cmp.postal, language),
                                 L.COMPARE_LABELS)]))

    # 5. matching
    mc = cmp.matches["method"].value_counts()
    g = lambda k: n(int(mc.get(k, 0)))  # noqa: E731
    para = ((f"Đối chiếu {n(p['villages_old'])} thôn ({before}) với {n(p['villages_new'])} thôn "
             f"({after}): {g('id')} theo mã, {g('name')} theo tên trong xã, {g('position')} "
             f"theo vị trí; {g('removed')} thôn không còn trong danh sách, {g('added')} thôn "
             "mới.") if vi else
            (f"{n(p['villages_old'])} villages ({before}) matched with {n(p['villages_new'])} "
             f"({after}): {g('id')} by id, {g('name')} by name within the commune, "
             f"{g('position')} by position; {g('removed')} no longer listed, {g('added')} new."))
    secs.append(Section("compare_matching", "Đối chiếu danh sách thôn" if vi
                        else "Village matching", [para]))
    return secs


def comparison_lines(cmp: BundleComparison, *, language: str = "vi") -> list[str]:
    """All sentences of :func:`comparison_sections` as lines (headings included)."""
    lines: list[str] = []
    for s in comparison_sections(cmp, language=language):
        lines += s.text()
    return lines


def operator_labels(ops: list[str]) -> dict[str, tuple[str, str]]:
    """Headers of the per-operator columns of the comparison tables."""
    out: dict[str, tuple[str, str]] = {}
    for op in ops:
        o = _op(op)
        out.update({
            f"old_{op}": (f"{o} (kỳ trước)", f"{o} (before)"),
            f"new_{op}": (f"{o} (kỳ này)", f"{o} (after)"),
            f"transition_{op}": (f"Thay đổi {o}", f"Change {o}"),
            f"cause_{op}": (f"Nguyên nhân {o}", f"Cause {o}"),
            f"covered_old_{op}": (f"Có sóng {o} (kỳ trước)", f"{o} signal (before)"),
            f"covered_new_{op}": (f"Có sóng {o} (kỳ này)", f"{o} signal (after)"),
            f"cleared_white_{op}": (f"Xóa trắng {o}", f"White cleared {o}"),
            f"white_old_{op}": (f"Trắng sóng {o} (kỳ trước)", f"White {o} (before)"),
            f"cleared_lom_{op}": (f"Xóa lõm {o}", f"Lõm cleared {o}"),
            f"lom_old_{op}": (f"Lõm sóng {o} (kỳ trước)", f"Lõm {o} (before)"),
            f"lost_signal_{op}": (f"Mất sóng {o}", f"Lost signal {o}"),
        })
    return out


def _village_table(cmp: BundleComparison, language: str) -> pd.DataFrame:
    v = pd.DataFrame(cmp.villages.drop(columns="geometry"))
    cols = ["old_id", "new_id", "match", "name", "commune_code", "commune_name",
            "district_name", "population", "old_any", "new_any", "transition", "cause",
            "old_internet", "new_internet"]
    cols += [c for c in v.columns if c.startswith(("old_", "new_", "transition_"))
             and c not in cols and not c.endswith("_any")]
    out = v[[c for c in cols if c in v.columns]].copy()
    out["population"] = pd.to_numeric(out["population"], errors="coerce").round().astype("Int64")
    for c in out.columns:
        if c.startswith(("old_", "new_")) and c not in ("old_id", "new_id", "old_internet",
                                                       "new_internet"):
            out[c] = out[c].map(lambda s: L.value_label(s, language)
                                if isinstance(s, str) else None)
        if c.startswith("transition") or c in ("cause", "match"):
            out[c] = out[c].map(lambda s: _tl(s, language) if isinstance(s, str) else s)
    return out


def change_layer(cmp: BundleComparison, *, settings: Settings = DEFAULT, show: bool = True,
                 old_bundle: Any = None, new_bundle: Any = None) -> folium.FeatureGroup:
    """A map layer of the villages coloured by transition, with the towers added (from
    ``new_bundle``) and removed (from ``old_bundle``) when the bundles are given."""
    lang = settings.language
    vi = lang == "vi"
    fg = folium.FeatureGroup(name=html.escape(
        f"Thay đổi {cmp.old_label} → {cmp.new_label}" if vi
        else f"Changes {cmp.old_label} → {cmp.new_label}"), show=show)
    features = []
    for r in cmp.villages.itertuples():
        geom = r.geometry
        if geom is None or geom.is_empty:
            continue
        colour = TRANSITION_COLOURS.get(r.transition, "#7f7f7f")
        props = {
            "name": html.escape(str(r.name)),
            "change": html.escape(_tl(r.transition, lang)),
            "before": html.escape(L.value_label(r.old_any, lang)
                                  if isinstance(r.old_any, str) else "–"),
            "after": html.escape(L.value_label(r.new_any, lang)
                                 if isinstance(r.new_any, str) else "–"),
            "commune": html.escape(str(r.commune_name)),
            "style": {"fillColor": colour, "color": colour, "weight": 1.5,
                      "fillOpacity": 0.7, "opacity": 0.95},
        }
        features.append({"type": "Feature", "geometry": geom.__geo_interface__,
                         "properties": props})
    aliases = (["Thôn, bản", "Thay đổi", cmp.old_label, cmp.new_label, "Xã"] if vi else
               ["Village", "Change", cmp.old_label, cmp.new_label, "Commune"])
    folium.GeoJson({"type": "FeatureCollection", "features": features},
                   style_function=lambda f: f["properties"]["style"],
                   popup=folium.GeoJsonPopup(fields=["name", "change", "before", "after",
                                                     "commune"],
                                             aliases=[html.escape(a) for a in aliases],
                                             labels=True, localize=False),
                   embed=True).add_to(fg)
    f = cmp.features
    for r in f[f["layer"] == "towers"].itertuples():
        fid = r.new_id if r.change == "added" else r.old_id
        b = new_bundle if r.change == "added" else old_bundle
        pt = _tower_point(b, fid)
        if pt is None:
            continue
        colour = "#1a9641" if r.change == "added" else "#d7191c"
        label = (("Cột mới" if r.change == "added" else "Cột bỏ") if vi
                 else ("New tower" if r.change == "added" else "Removed tower"))
        folium.CircleMarker([pt.y, pt.x], radius=7, color=colour, fill=True, fill_opacity=0.9,
                            tooltip=html.escape(f"{label}: {fid} ({_op(str(r.operator))})")
                            ).add_to(fg)
    return fg


def _tower_point(bundle: Any, tower_id: str) -> Any:
    if bundle is None:
        return None
    gdf = bundle.layer("towers")
    hit = gdf[gdf["tower_id"].astype(str) == str(tower_id)]
    return hit.geometry.iloc[0] if len(hit) else None


def _legend(cmp: BundleComparison, language: str) -> str:
    rows = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{c};'
        f'margin-right:5px;border:1px solid #555"></span>{html.escape(_tl(k, language))}</div>'
        for k, c in TRANSITION_COLOURS.items())
    sample = (f'<div style="color:#b00020;font-weight:700">{html.escape(SAMPLE_LABEL)}</div>'
              if cmp.is_sample else "")
    title = html.escape(f"{cmp.province}: {cmp.old_label} → {cmp.new_label}")
    return ('<div style="position:fixed;bottom:24px;left:12px;z-index:9999;background:#fff;'
            'padding:8px 10px;border:1px solid #999;font:12px sans-serif;max-width:280px">'
            f"<b>{title}</b>{sample}{rows}</div>")


def write_comparison(cmp: BundleComparison, out: str | os.PathLike, *,
                     settings: Settings = DEFAULT, overwrite: bool = False,
                     new_bundle: Any = None, new_status: pd.DataFrame | None = None,
                     old_bundle: Any = None, offline_map: bool = False) -> dict[str, Path]:
    """Write the comparison's files under ``out`` (see the module docstring).

    Parameters
    ----------
    cmp
        The comparison.
    out
        Output folder (created if missing).
    settings
        ``language`` of headers and sentences.
    overwrite
        Replace existing files; otherwise an existing file stops the run before anything
        is written.
    new_bundle, new_status, old_bundle
        The snapshots' bundles (and the new status) for the change map; without
        ``new_bundle`` no map is written.
    offline_map
        Inline Leaflet and use the DEM hillshade as base map.
    """
    folder = Path(out)
    lang = settings.language
    vi = lang == "vi"
    names = ["compare.xlsx", "compare_villages.csv", "compare_units.csv",
             "compare_matches.csv", "compare_villages.geojson", "compare.txt"]
    if new_bundle is not None:
        names.append("compare_map.html")
    for nm in names:
        check_writable(folder / nm, overwrite=overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    sample = cmp.is_sample
    labels = {**L.COMPARE_LABELS, **operator_labels(cmp.operators)}
    files: dict[str, Path] = {}
    vt = _village_table(cmp, lang)
    units = pd.concat([cmp.units[k] for k in ("province", "district", "commune")
                       if k in cmp.units], ignore_index=True)
    ops_disp = lambda df: df.assign(operator=df["operator"].map(  # noqa: E731
        lambda o: _op(o) if isinstance(o, str) else o)) if "operator" in df else df
    matches = cmp.matches.assign(method=cmp.matches["method"].map(lambda m: _tl(m, lang)))
    feats = cmp.features.assign(change=cmp.features["change"].map(lambda m: _tl(m, lang)))
    lines = comparison_lines(cmp, language=lang)
    summary = pd.DataFrame({"indicator": lines})
    v = cmp.villages
    sheets = {
        ("Tóm tắt" if vi else "Summary"): summary,
        **{(("Toàn tỉnh", "Theo huyện", "Theo xã") if vi else
            ("Province", "By district", "By commune"))[i]: cmp.units[k]
           for i, k in enumerate(("province", "district", "commune")) if k in cmp.units},
        ("Thôn xóa trắng" if vi else "White cleared"): vt[v["transition"].to_numpy()
                                                         == "cleared_white"],
        ("Thôn xóa lõm" if vi else "Lõm cleared"): vt[v["transition"].to_numpy()
                                                      == "cleared_lom"],
        ("Thôn mất sóng" if vi else "Lost signal"): vt[v["transition"].to_numpy()
                                                       == "lost_signal"],
        ("Tất cả các thôn" if vi else "All villages"): vt,
        ("Vị trí cột" if vi else "Towers"): display_table(cmp.towers, lang),
        ("Thiết bị trạm BTS" if vi else "BTS"): display_table(cmp.bts, lang),
        ("Cáp quang" if vi else "Fibre"): display_table(cmp.fibre, lang),
        ("Bưu chính" if vi else "Postal"): display_table(cmp.postal, lang),
        ("Thay đổi hạ tầng" if vi else "Feature changes"): ops_disp(feats),
        ("Đối chiếu thôn" if vi else "Village matching"): matches,
    }
    title = (f"So sánh {cmp.old_label} → {cmp.new_label}" if vi else
             f"Comparison {cmp.old_label} → {cmp.new_label}") + f" – {cmp.province}"
    about = [("Kỳ trước" if vi else "Before", f"{cmp.old_label} ({cmp.old_date})"),
             ("Kỳ này" if vi else "After", f"{cmp.new_label} ({cmp.new_date})"),
             ("Đối chiếu thôn" if vi else "Village matching",
              (f"mã, tên trong xã, vị trí trong {settings.compare_village_match_m:g} m") if vi
              else f"id, name within commune, position within "
                   f"{settings.compare_village_match_m:g} m")]
    files["compare.xlsx"] = write_tables(sheets, folder / "compare.xlsx", headers=lang,
                                         labels=labels, overwrite=overwrite, title=title,
                                         sample=sample, about=about)
    files["compare_villages.csv"] = write_table(vt, folder / "compare_villages.csv",
                                                headers=lang, labels=labels,
                                                overwrite=overwrite, sample=sample)
    files["compare_units.csv"] = write_table(units, folder / "compare_units.csv", headers=lang,
                                             labels=labels, overwrite=overwrite, sample=sample)
    files["compare_matches.csv"] = write_table(matches, folder / "compare_matches.csv",
                                               headers=lang, labels=labels,
                                               overwrite=overwrite, sample=sample)
    geo = gpd_villages(cmp)
    files["compare_villages.geojson"] = write_table(geo, folder / "compare_villages.geojson",
                                                    overwrite=overwrite, sample=sample)
    text = "\n".join(([SAMPLE_LABEL] if sample else []) + lines) + "\n"
    files["compare.txt"] = atomic_write_text(folder / "compare.txt", text, overwrite=overwrite)
    if new_bundle is not None:
        from phusong.analysis.publish.mapping import build_map, write_map

        m = build_map(new_bundle, status=new_status, offline=offline_map, settings=settings)
        change_layer(cmp, settings=settings, old_bundle=old_bundle,
                     new_bundle=new_bundle).add_to(m)
        m.get_root().html.add_child(folium.Element(_legend(cmp, lang)))
        # the layer control was added before the change layer: add one that lists it too
        for key in [k for k, c in m._children.items() if isinstance(c, folium.LayerControl)]:
            del m._children[key]
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
        files["compare_map.html"] = write_map(m, folder / "compare_map.html",
                                              overwrite=overwrite)
    logger.info("wrote %d comparison files under %s", len(files), folder)
    return files


def gpd_villages(cmp: BundleComparison) -> Any:
    """The change map layer as a GeoDataFrame with machine columns (for GeoJSON)."""
    keep = ["old_id", "new_id", "match", "name", "commune_code", "population", "old_any",
            "new_any", "transition", "cause", "old_internet", "new_internet"]
    keep += [c for c in cmp.villages.columns if c.startswith("transition_")
             and c != "transition_any"]
    g = cmp.villages[[*keep, "geometry"]].copy()
    g["colour"] = g["transition"].map(TRANSITION_COLOURS)
    return g

