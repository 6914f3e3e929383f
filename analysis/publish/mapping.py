"""The planner's map: one self-contained Folium HTML page per run (DESIGN §6).

Layers
------
* villages coloured by status (phủ sóng green, lõm sóng orange, trắng sóng red): one layer for
  "any operator" (shown) and one per operator (hidden), searchable by village name;
* tower positions clustered, with one icon colour per owner and popups listing their BTS;
* service circles (nominal radius of the tower's widest technology; hidden by default);
* coverage rasters (best received power per operator, in dBm) as image overlays with a colour
  scale (hidden by default);
* province, district (where present) and commune outlines, each a layer with the unit's name
  on hover, and a layer of name labels (districts, else communes);
* fibre routes, aerial dashed and underground solid;
* post offices by kind; rollout sites with their rank;
* legend, title (with the sample-data label), layer control, fullscreen and measure tools.

Every value that reaches the page is HTML-escaped (:func:`html.escape`) before it is placed in
a popup, a label or a search index, so a village called ``<img src=x onerror=alert(1)>``
shows as that text.

Offline mode (``offline=True``) uses a hillshade of the DEM as the base layer instead of web
tiles, draws icons with plain CSS (no icon fonts), and :func:`write_map` inlines Leaflet and the
plugins from the copies vendored at build time (:mod:`analysis._offline`), so the page opens
with no internet at all.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element
from folium import plugins
from jinja2 import Template

from phusong.analysis.labels import SAMPLE_LABEL
from phusong.gis.atomic import atomic_write_text, check_writable
from phusong.gis.crs import to_wgs84
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.operators import OPERATORS, Operator
from phusong.layers.schema import POST_OFFICE_KINDS
from phusong.layers.settings import DEFAULT, Settings, in_service_techs
from phusong.layers.validate import parse_bool
from phusong.layers.villages import admin_names, settled_areas

logger = logging.getLogger(__name__)

__all__ = [
    "ADMIN_STYLES",
    "FIBRE_STYLES",
    "OPERATOR_COLOURS",
    "STATUS_COLOURS",
    "build_map",
    "popup_html",
    "render_map",
    "write_map",
]

STATUS_COLOURS: Mapping[str, str] = {"phu": "#1a9641", "lom": "#f28e2b", "trang": "#d7191c"}
NO_STATUS_COLOUR = "#7f7f7f"
OPERATOR_COLOURS: Mapping[str, str] = {
    "viettel": "#c8102e", "vinaphone": "#0072bc", "mobifone": "#6a3d9a",
    "vietnamobile": "#e6a700"}
FIBRE_STYLES: Mapping[str, Mapping[str, Any]] = {
    "aerial": {"color": "#1f78b4", "weight": 2, "dashArray": "6 4", "opacity": 0.9},
    "underground": {"color": "#08306b", "weight": 3.5, "opacity": 0.95},
}
POST_OFFICE_COLOURS: Mapping[str, str] = {
    "buu_cuc_cap_1": "#7f0000", "buu_cuc_cap_2": "#b30000", "buu_cuc_cap_3": "#e34a33",
    "kt1": "#4d004b", "khach_hang_lon": "#88419d", "bdvhx": "#fc8d59", "dai_ly": "#fdbb84"}
DBM_RANGE = (-120.0, -50.0)
DBM_CMAP = "RdYlGn"
_MAX_IMAGE_PX = 1400  # hillshade
_MAX_OVERLAY_PX = 1000  # coverage rasters
_SIMPLIFY_DEG = 1e-4  # ≈ 10 m: invisible at village scale, keeps the page small
_SIMPLIFY_LINE_DEG = 2e-4  # ≈ 20 m for cable routes

_T: Mapping[str, tuple[str, str]] = {
    "title": ("Bản đồ phủ sóng di động", "Mobile coverage map"),
    "villages_any": ("Thôn, bản – mọi doanh nghiệp", "Villages – any operator"),
    "villages_op": ("Thôn, bản – {op}", "Villages – {op}"),
    "villages": ("Thôn, bản", "Villages"),
    "towers": ("Vị trí cột (BTS)", "Tower positions (BTS)"),
    "circles": ("Bán kính phục vụ danh định", "Nominal service radius"),
    "raster_op": ("Cường độ tín hiệu – {op}", "Signal strength – {op}"),
    "raster_any": ("Cường độ tín hiệu – tốt nhất", "Signal strength – best"),
    "fibre": ("Tuyến cáp quang", "Fibre routes"),
    "admin_province": ("Ranh giới tỉnh", "Province boundary"),
    "admin_district": ("Ranh giới huyện", "District boundaries"),
    "admin_commune": ("Ranh giới xã, phường", "Commune boundaries"),
    "admin_names": ("Tên xã, huyện", "Commune and district names"),
    "post": ("Điểm phục vụ bưu chính", "Postal service points"),
    "rollout": ("Vị trí trạm đề xuất", "Proposed sites"),
    "hillshade": ("Địa hình (bóng đổ từ DEM)", "Terrain (DEM hillshade)"),
    "osm": ("Bản đồ nền OpenStreetMap", "OpenStreetMap"),
    "search": ("Tìm thôn, bản…", "Find a village…"),
    "village": ("Thôn, bản", "Village"),
    "village_id": ("Mã thôn", "Village id"),
    "commune": ("Xã", "Commune"),
    "district": ("Huyện", "District"),
    "population": ("Dân số", "Population"),
    "households": ("Số hộ", "Households"),
    "grid": ("Có điện lưới", "Grid power"),
    "border": ("Khu vực biên giới", "Border area"),
    "difficult": ("Đặc biệt khó khăn", "Extremely difficult"),
    "status_any": ("Hiện trạng (mọi DN)", "Status (any operator)"),
    "operator": ("Doanh nghiệp", "Operator"),
    "status": ("Hiện trạng", "Status"),
    "share": ("Tỷ lệ diện tích có sóng", "Covered share"),
    "dbm": ("Tín hiệu tại trung tâm (dBm)", "Signal at centre (dBm)"),
    "has_4g": ("Có 4G", "4G"),
    "internet": ("Có Internet", "Internet"),
    "tower": ("Vị trí cột", "Tower"),
    "owner": ("Chủ sở hữu", "Owner"),
    "height": ("Độ cao cột (m)", "Height (m)"),
    "power": ("Nguồn điện", "Power source"),
    "bts": ("Thiết bị trạm BTS", "BTS"),
    "tech": ("Công nghệ", "Technology"),
    "band": ("Băng tần (MHz)", "Band (MHz)"),
    "antenna": ("Anten (m)", "Antenna (m)"),
    "eirp": ("EIRP (dBm)", "EIRP (dBm)"),
    "radius": ("Bán kính (km)", "Radius (km)"),
    "route": ("Tuyến cáp", "Route"),
    "kind": ("Loại", "Kind"),
    "aerial": ("Cáp treo", "Aerial"),
    "underground": ("Cáp ngầm", "Underground"),
    "length": ("Chiều dài (km)", "Length (km)"),
    "po": ("Điểm phục vụ", "Post office"),
    "public_internet": ("Có Internet công cộng", "Public internet"),
    "multi_service": ("Đa dịch vụ", "Multi-service"),
    "rank": ("Thứ tự ưu tiên", "Rank"),
    "site": ("Vị trí", "Site"),
    "cost": ("Chi phí (triệu đồng)", "Cost (million VND)"),
    "covered_pop": ("Dân số được phủ", "Population covered"),
    "covered_villages": ("Thôn được phủ", "Villages covered"),
    # rollout --frontier (issue 12): the smallest frontier budget whose optimal plan holds a site
    "frontier_budget": ("Vào kế hoạch từ ngân sách (tỷ đồng)",
                        "Enters the plan at budget (bn VND)"),
    "yes": ("Có", "Yes"),
    "no": ("Không", "No"),
    "legend": ("Chú giải", "Legend"),
    "phu": ("Phủ sóng", "Covered"),
    "lom": ("Lõm sóng", "Dead spot (lõm)"),
    "trang": ("Trắng sóng", "No signal (trắng)"),
    "nostatus": ("Chưa tính hiện trạng", "Status not computed"),
    "as_of": ("Tính đến ngày", "As of"),
    "model": ("Mô hình phủ sóng", "Coverage model"),
    "threshold": ("ngưỡng", "threshold"),
}


# -- small helpers ---------------------------------------------------------------------------
def _t(key: str, settings: Settings, **fmt: Any) -> str:
    vi, en = _T[key]
    text = vi if settings.language == "vi" else en
    return text.format(**fmt) if fmt else text


def _e(value: Any) -> str:
    """HTML-escaped text of a value ('' for missing)."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    text = html.escape(str(value), quote=True)
    # folium puts popups into JavaScript template literals: neutralise `, ${ and backslashes;
    # and it compiles rendered popups and GeoJSON data again as Jinja templates (folium 0.20,
    # Popup.render / MacroElement.render), so a "{{ … }}" in a name would run Python: braces
    # become entities too
    return (text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")
            .replace("{", "&#123;").replace("}", "&#125;"))


def _num(value: Any, settings: Settings, *, digits: int = 0) -> str:
    """A number in the language's style (vi: 1.842,5; en: 1,842.5), escaped."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return _e(value)
    if math.isnan(x):
        return ""
    text = f"{x:,.{digits}f}"
    if settings.language == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return html.escape(text)


def _yes_no(value: Any, settings: Settings) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _t("yes" if parse_bool(value)[0] else "no", settings)


def _op_label(op: Any) -> str:
    try:
        return Operator(str(op)).label
    except ValueError:
        return str(op)


def popup_html(title: str, rows: Sequence[tuple[str, Any]], *,
               table: tuple[Sequence[str], Sequence[Sequence[Any]]] | None = None) -> str:
    """Popup HTML from a title, label/value rows and an optional table; everything escaped.

    Values are passed through :func:`html.escape`; pre-formatted numbers from this module are
    already escaped text, which escaping again leaves unchanged (they hold no ``&<>"'``).
    """
    parts = [f'<div class="ps-popup"><b>{_e(title)}</b><table>']
    for label, value in rows:
        parts.append(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>")
    parts.append("</table>")
    if table is not None:
        head, body = table
        parts.append('<table class="ps-sub"><tr>' + "".join(f"<th>{_e(h)}</th>" for h in head)
                     + "</tr>")
        for row in body:
            parts.append("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>")
        parts.append("</table>")
    parts.append("</div>")
    return "".join(parts)


def _operators_in(bundle: ProvinceBundle, status: pd.DataFrame | None) -> list[str]:
    ops: list[str] = []
    if status is not None:
        ops = [op.value for op in OPERATORS if f"status_{op.value}" in status.columns]
    if not ops and bundle.has("bts"):
        present = set(bundle["bts"]["operator"].astype(str))
        ops = [op.value for op in OPERATORS if op.value in present]
    return ops


def _admin_names(bundle: ProvinceBundle) -> tuple[dict[str, str], dict[str, str]]:
    """commune code → commune name, commune code → district name (:func:`admin_names`)."""
    names = admin_names(bundle)
    commune_name = {str(k): str(v) for k, v in names["commune_name"].items()}
    district_name = {str(k): str(v) for k, v in names["district_name"].dropna().items()}
    return commune_name, district_name


def _village_shapes(bundle: ProvinceBundle, settings: Settings) -> gpd.GeoDataFrame:
    """Village settled areas (:func:`settled_areas`) in EPSG:4326, simplified."""
    villages = bundle["villages"]
    geom = villages.geometry
    is_point = geom.geom_type == "Point"
    if is_point.any():
        areas = settled_areas(villages.loc[is_point], bundle.metric_crs, settings=settings)
        geom = geom.copy()
        geom.loc[is_point] = to_wgs84(gpd.GeoDataFrame(geometry=areas)).geometry
    geom = geom.simplify(_SIMPLIFY_DEG, preserve_topology=True)
    return gpd.GeoDataFrame({"village_id": villages["village_id"].astype(str).to_numpy()},
                            geometry=geom.to_numpy(), crs="EPSG:4326", index=villages.index)


def _status_records(status: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    """village_id → status row as a plain dict (one pass, not one lookup per village)."""
    if status is None:
        return {}
    return {str(k): v for k, v in status.to_dict("index").items()}


def _status_label(value: Any, settings: Settings) -> str:
    return _t(str(value), settings) if str(value) in STATUS_COLOURS else str(value)


# -- villages ----------------------------------------------------------------------------------
Rows = list[tuple[str, str]]


def _village_popups(bundle: ProvinceBundle, status: pd.DataFrame | None, ops: Sequence[str],
                    settings: Settings) -> tuple[dict[str, Rows], dict[str, dict[str, Rows]]]:
    """Popup rows (label, text) per village id: the full set for the any-operator layer and a
    short one per operator. Every village gets the same labels in the same order."""
    villages = bundle["villages"]
    commune_name, district_name = _admin_names(bundle)
    full: dict[str, Rows] = {}
    short: dict[str, dict[str, Rows]] = {op: {} for op in ops}
    records = _status_records(status)
    t = lambda k: _t(k, settings)  # noqa: E731
    for rec in villages.drop(columns="geometry").to_dict("records"):
        vid = str(rec["village_id"])
        commune = str(rec.get("commune_code", ""))
        name = str(rec.get("name", vid))
        srow = records.get(vid, {})
        place = [(t("commune"), commune_name.get(commune, commune)),
                 (t("district"), district_name.get(commune, ""))]
        rows: Rows = [(t("village"), name), (t("village_id"), vid)]
        if status is not None:
            rows.append((t("status_any"), _status_label(srow.get("status_any", ""), settings)))
        rows += [*place,
                 (t("population"), _num(rec.get("population"), settings)),
                 (t("households"), _num(rec.get("households"), settings)),
                 (t("grid"), _yes_no(rec.get("has_grid_power"), settings)),
                 (t("border"), _yes_no(rec.get("border_area"), settings)),
                 (t("difficult"), _yes_no(rec.get("extremely_difficult"), settings))]
        if status is not None:
            rows.append((t("internet"), _yes_no(srow.get("has_internet"), settings)))
        for op in ops:
            st = _status_label(srow.get(f"status_{op}", ""), settings)
            share = srow.get(f"share_{op}")
            share_text = "" if share is None or pd.isna(share) else \
                _num(100 * share, settings) + " %"
            dbm = _num(srow.get(f"dbm_{op}"), settings, digits=1)
            g4 = _yes_no(srow.get(f"has_4g_{op}"), settings)
            parts = [st, share_text, f"{dbm} dBm" if dbm else "",
                     "4G" if g4 == t("yes") else ""]
            rows.append((_op_label(op), " · ".join(p for p in parts if p)))
            short[op][vid] = [(t("village"), name), (t("status"), st),
                              (t("share"), share_text), (t("dbm"), dbm), (t("has_4g"), g4),
                              *place]
        full[vid] = rows
    return full, short


def _village_layer(shapes: gpd.GeoDataFrame, names: pd.Series, popups: Mapping[str, Rows],
                   colours: Mapping[str, str], *, name: str, show: bool) -> folium.GeoJson:
    """One GeoJson layer of village polygons with escaped popup fields and a search index.

    Popup values travel as one escaped property each (``p0``, ``p1``…) and the labels once,
    as the popup's aliases: far smaller than one HTML string per village.
    """
    labels: list[str] = []
    for rows in popups.values():
        labels = [label for label, _ in rows]
        break
    fields = [f"p{i}" for i in range(len(labels))]
    features = []
    for vid, geom, label in zip(shapes["village_id"], shapes.geometry, names, strict=True):
        if geom is None or geom.is_empty:
            continue
        colour = colours.get(vid, NO_STATUS_COLOUR)
        style = {"fillColor": colour, "color": colour, "weight": 1, "fillOpacity": 0.55,
                 "opacity": 0.9}
        # leaflet-search shows the property through innerHTML: index the escaped name
        props: dict[str, Any] = {"name": _e(label), "village_id": _e(vid), "style": style}
        for key, (_, value) in zip(fields, popups.get(vid, []), strict=False):
            props[key] = _e(value)
        features.append({"type": "Feature",
                         "geometry": _round_geometry(geom.__geo_interface__),
                         "properties": props})
    data = {"type": "FeatureCollection", "features": features}
    popup = folium.GeoJsonPopup(fields=fields, aliases=[_e(a) for a in labels],
                                labels=True, localize=False, style="", max_width=460,
                                class_name="ps-popup") if fields else None
    return folium.GeoJson(
        data, name=html.escape(name), show=show, overlay=True,
        style_function=lambda f: f["properties"]["style"],
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.75},
        popup=popup, embed=True, zoom_on_click=False)


def _round_geometry(gi: Mapping[str, Any], digits: int = 5) -> dict[str, Any]:
    def rnd(c: Any) -> Any:
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(float(v), digits) for v in c]
        return [rnd(x) for x in c]

    return {"type": gi["type"], "coordinates": rnd(gi["coordinates"])}


def _add_villages(m: folium.Map, bundle: ProvinceBundle, status: pd.DataFrame | None,
                  ops: Sequence[str], settings: Settings) -> folium.GeoJson | None:
    if not bundle.has("villages"):
        return None
    shapes = _village_shapes(bundle, settings)
    names = bundle["villages"]["name"].astype(str).reset_index(drop=True)
    full, short = _village_popups(bundle, status, ops, settings)
    if status is None:
        return _village_layer(shapes, names, full, {}, name=_t("villages", settings),
                              show=True).add_to(m)
    sid = status.index.astype(str)

    def colours(col: str) -> dict[str, str]:
        if col not in status.columns:
            return {}
        return {v: STATUS_COLOURS.get(str(s), NO_STATUS_COLOUR)
                for v, s in zip(sid, status[col], strict=True)}

    any_layer = _village_layer(shapes, names, full, colours("status_any"),
                               name=_t("villages_any", settings), show=True).add_to(m)
    for op in ops:
        _village_layer(shapes, names, short[op], colours(f"status_{op}"),
                       name=_t("villages_op", settings, op=_op_label(op)), show=False).add_to(m)
    return any_layer


# -- towers ------------------------------------------------------------------------------------
def _tower_icon(owner: str) -> folium.DivIcon:
    colour = OPERATOR_COLOURS.get(owner, "#444444")
    letter = html.escape(_op_label(owner)[:1].upper() or "?")
    return folium.DivIcon(
        html=(f'<div class="ps-tower" style="background:{colour}">{letter}</div>'),
        icon_size=(18, 18), icon_anchor=(9, 9), class_name="ps-tower-icon")


def _add_towers(m: folium.Map, bundle: ProvinceBundle, settings: Settings) -> None:
    if not bundle.has("towers"):
        return
    towers = bundle["towers"]
    bts = bundle["bts"] if bundle.has("bts") else None
    groups: dict[str, list[dict[str, Any]]] = {}
    if bts is not None:
        ordered = bts.drop(columns="geometry").assign(tower_id=bts["tower_id"].astype(str))
        for b in ordered.sort_values(["tower_id", "operator", "tech", "bts_id"]).to_dict(
                "records"):
            groups.setdefault(b["tower_id"], []).append(b)
    cluster = plugins.MarkerCluster(name=html.escape(_t("towers", settings)), show=True,
                                    options={"maxClusterRadius": 40})
    circles = folium.FeatureGroup(name=html.escape(_t("circles", settings)), show=False)
    head = [_t("bts", settings), _t("operator", settings), _t("tech", settings),
            _t("band", settings), _t("antenna", settings), _t("eirp", settings)]
    for rec, geom in zip(towers.drop(columns="geometry").to_dict("records"), towers.geometry,
                         strict=True):
        if geom is None or geom.is_empty:
            continue
        tid = str(rec["tower_id"])
        owner = str(rec.get("owner", ""))
        body = []
        radius_m = 0.0
        for b in groups.get(tid, []):
            body.append([b.get("bts_id"), _op_label(b.get("operator")), b.get("tech"),
                         _num(b.get("band_mhz"), settings),
                         _num(b.get("antenna_height_m"), settings, digits=1),
                         _num(b.get("eirp_dbm"), settings, digits=1)])
            try:
                radius_m = max(radius_m, settings.radius_m(str(b.get("tech")),
                                                           b.get("band_mhz")))
            except KeyError:
                pass
        rows = [(_t("owner", settings), _op_label(owner)),
                (_t("height", settings), _num(rec.get("height_m"), settings, digits=1)),
                (_t("power", settings), rec.get("power_source", "")),
                (_t("bts", settings), len(body))]
        text = popup_html(f"{_t('tower', settings)} {tid}", rows, table=(head, body))
        folium.Marker([geom.y, geom.x], icon=_tower_icon(owner),
                      popup=folium.Popup(text, max_width=460)).add_to(cluster)
        if radius_m > 0:
            folium.Circle([geom.y, geom.x], radius=radius_m,
                          color=OPERATOR_COLOURS.get(owner, "#444444"), weight=1, fill=True,
                          fill_opacity=0.05).add_to(circles)
    cluster.add_to(m)
    circles.add_to(m)


# -- rasters -----------------------------------------------------------------------------------
def _grid_parts(grid: Any) -> tuple[Any, Any, tuple[int, int]]:
    if isinstance(grid, Mapping):
        return grid["transform"], grid["crs"], tuple(grid["shape"])
    if hasattr(grid, "transform"):
        return grid.transform, grid.crs, tuple(grid.shape)
    transform, crs, shape = grid
    return transform, crs, tuple(shape)


def _to_mercator_image(array: np.ndarray, transform: Any, crs: Any, *,
                       max_px: int = _MAX_IMAGE_PX) -> tuple[np.ndarray, list[list[float]]]:
    """Warp a grid to Web Mercator (what Leaflet stretches an image overlay in) at most
    ``max_px`` wide or high; return the array (NaN = no data) and its lat/lon bounds."""
    from pyproj import Transformer
    from rasterio.transform import array_bounds, from_bounds
    from rasterio.warp import Resampling, reproject, transform_bounds

    h, w = array.shape
    left, bottom, right, top = array_bounds(h, w, transform)
    x0, y0, x1, y1 = transform_bounds(crs, "EPSG:3857", left, bottom, right, top, densify_pts=21)
    src_res = max((right - left) / w, (top - bottom) / h)
    aspect = (x1 - x0) / (y1 - y0)
    dw = min(max_px, max(2, round((x1 - x0) / src_res)))
    dh = max(2, round(dw / aspect))
    if dh > max_px:
        dh, dw = max_px, max(2, round(max_px * aspect))
    dst = np.full((dh, dw), np.nan, dtype=np.float32)
    reproject(np.asarray(array, dtype=np.float32), dst, src_transform=transform, src_crs=crs,
              dst_transform=from_bounds(x0, y0, x1, y1, dw, dh), dst_crs="EPSG:3857",
              src_nodata=np.nan, dst_nodata=np.nan, resampling=Resampling.average)
    to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    west, south = to_ll.transform(x0, y0)
    east, north = to_ll.transform(x1, y1)
    return dst, [[south, west], [north, east]]


def _data_url(img: Any, **save: Any) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6, **save)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _palette_png(values: np.ndarray, *, cmap: str, vmin: float, vmax: float, alpha: float,
                 n_colours: int = 32) -> str:
    """A colour-mapped PNG (indexed: small and fast); NaN is transparent."""
    from matplotlib import colormaps
    from PIL import Image

    norm = np.clip((values - vmin) / (vmax - vmin), 0.0, 1.0)
    idx = 1 + np.rint(np.nan_to_num(norm, nan=0.0) * (n_colours - 1)).astype(np.uint8)
    idx[np.isnan(values)] = 0
    colours = colormaps[cmap](np.linspace(0.0, 1.0, n_colours), bytes=True)[:, :3]
    palette = [0, 0, 0, *colours.ravel().tolist()]
    img = Image.fromarray(idx, mode="P")
    img.putpalette(palette)
    a = round(alpha * 255)
    return _data_url(img, transparency=bytes([0] + [a] * n_colours))


def _gray_jpeg(values: np.ndarray) -> str:
    """A grayscale JPEG of values in 0..1 (NaN drawn mid-grey): hillshades are noisy, JPEG
    keeps them a quarter of the PNG's size."""
    from PIL import Image

    g = np.rint(np.clip(np.nan_to_num(values, nan=0.5), 0.0, 1.0) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(g, mode="L").save(buf, format="JPEG", quality=90, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _add_coverage(m: folium.Map, coverage: Any, settings: Settings) -> bool:
    """Best received power per operator (technologies in service) as image overlays."""
    best = getattr(coverage, "best_dbm", None)
    if not best:
        return False
    transform, crs, _shape = _grid_parts(coverage.grid)

    techs = set(in_service_techs(settings))
    per_op: dict[str, np.ndarray] = {}
    for (op, tech), arr in best.items():
        if str(tech) not in techs:
            continue
        key = str(getattr(op, "value", op))
        per_op[key] = arr if key not in per_op else np.fmax(per_op[key], arr)
    if not per_op:
        return False
    stack = list(per_op.values())
    overall = stack[0]
    for arr in stack[1:]:
        overall = np.fmax(overall, arr)
    layers = [(_t("raster_any", settings), overall)]
    layers += [(_t("raster_op", settings, op=_op_label(op)), per_op[op])
               for op in [o.value for o in OPERATORS] if op in per_op]
    for name, arr in layers:
        if not np.isfinite(arr).any():
            continue
        img, bounds = _to_mercator_image(arr, transform, crs, max_px=_MAX_OVERLAY_PX)
        url = _palette_png(img, cmap=DBM_CMAP, vmin=DBM_RANGE[0], vmax=DBM_RANGE[1], alpha=0.65)
        folium.raster_layers.ImageOverlay(
            url, bounds=bounds, name=html.escape(name), show=False,
            overlay=True, interactive=False, cross_origin=False, zindex=2).add_to(m)
    logger.info("added %d coverage overlays", len(layers))
    return True


def _coarsen_dem(dem: Any, *, max_px: int) -> Any:
    """The DEM block-averaged so that its longer side is at most ``max_px`` (voids kept)."""
    from phusong.gis.dem import Dem

    z = np.asarray(dem.elevation_m, dtype=np.float64)
    f = math.ceil(max(z.shape) / max_px)
    if f <= 1:
        return dem
    rows, cols = (z.shape[0] // f) * f, (z.shape[1] // f) * f
    blocks = z[:rows, :cols].reshape(rows // f, f, cols // f, f)
    ok = np.isfinite(blocks)
    total = np.where(ok, blocks, 0.0).sum(axis=(1, 3))
    count = ok.sum(axis=(1, 3))
    mean = np.full(total.shape, np.nan)
    np.divide(total, count, out=mean, where=count > 0)
    return Dem(mean.astype(np.float32), dem.transform * dem.transform.scale(f), dem.crs)


def _add_hillshade(m: folium.Map, bundle: ProvinceBundle, dem: Any, settings: Settings) -> bool:
    """The DEM's hillshade as the (only) base layer of an offline map."""
    from phusong.analysis.coverage.engine import load_dem
    from phusong.gis.dem import hillshade

    dem = load_dem(bundle, dem)
    if dem is None:
        logger.warning("bundle has no DEM; offline map has no terrain base layer")
        return False
    dem = _coarsen_dem(dem, max_px=_MAX_IMAGE_PX)
    shade = np.asarray(hillshade(dem), dtype=np.float32)
    if np.nanmax(shade) > 1.5:  # 0..255 → 0..1
        shade = shade / 255.0
    shade = np.where(np.isnan(np.asarray(dem.elevation_m)), np.nan, shade)
    img, bounds = _to_mercator_image(shade, dem.transform, dem.crs)
    folium.raster_layers.ImageOverlay(
        _gray_jpeg(img), bounds=bounds, name=html.escape(_t("hillshade", settings)),
        overlay=False, control=True, interactive=False, zindex=1).add_to(m)
    return True


# -- admin boundaries ------------------------------------------------------------------------
#: outline style per admin level (no fill: the villages stay readable underneath)
ADMIN_STYLES: Mapping[str, Mapping[str, Any]] = {
    "province": {"color": "#3b0764", "weight": 3.5, "fill": False, "opacity": 0.9},
    "district": {"color": "#6b21a8", "weight": 2.2, "fill": False, "opacity": 0.8,
                 "dashArray": "8 4"},
    "commune": {"color": "#7e22ce", "weight": 1.0, "fill": False, "opacity": 0.7,
                "dashArray": "3 3"},
}


def _add_admin(m: folium.Map, bundle: ProvinceBundle, settings: Settings) -> None:
    """Province, district and commune outlines (one layer each) with the names on hover, and
    the names of districts (else communes) as labels."""
    if not bundle.has("admin_units"):
        return
    au = bundle["admin_units"]
    for level in ("commune", "district", "province"):
        units = au[au["level"] == level]
        if units.empty:
            continue
        features = []
        for name, geom in zip(units["name"], units.geometry.simplify(_SIMPLIFY_DEG * 2),
                              strict=True):
            if geom is None or geom.is_empty:
                continue
            features.append({"type": "Feature",
                             "geometry": _round_geometry(geom.boundary.__geo_interface__),
                             "properties": {"n": _e(name), "lv": level}})
        style = dict(ADMIN_STYLES[level])
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=html.escape(_t(f"admin_{level}", settings)), show=True,
            style_function=lambda f, st=style: st,
            tooltip=folium.GeoJsonTooltip(fields=["n"], labels=False, sticky=True),
            zoom_on_click=False, control=True).add_to(m)
    labelled = au[au["level"] == "district"]
    if labelled.empty:
        labelled = au[au["level"] == "commune"]
    if labelled.empty:
        return
    group = folium.FeatureGroup(name=html.escape(_t("admin_names", settings)), show=True)
    for name, geom in zip(labelled["name"], labelled.geometry, strict=True):
        if geom is None or geom.is_empty:
            continue
        pt = geom.representative_point()
        folium.Marker([pt.y, pt.x], icon=folium.DivIcon(
            html=f'<div class="ps-admin">{_e(name)}</div>', icon_size=(120, 14),
            icon_anchor=(60, 7), class_name="ps-admin-icon")).add_to(group)
    group.add_to(m)


# -- fibre, post offices, rollout --------------------------------------------------------------
def _add_fibre(m: folium.Map, bundle: ProvinceBundle, settings: Settings) -> None:
    if not bundle.has("fibre_routes"):
        return
    routes = bundle["fibre_routes"]
    lengths_km = routes.to_crs(bundle.metric_crs).length.to_numpy() / 1000.0
    features = []
    # values are escaped here, one property each (the popup table is built in the page)
    for rec, geom, km in zip(routes.drop(columns="geometry").to_dict("records"),
                             routes.geometry.simplify(_SIMPLIFY_LINE_DEG), lengths_km,
                             strict=True):
        if geom is None or geom.is_empty:
            continue
        kind = str(rec.get("kind", ""))
        features.append({"type": "Feature", "geometry": _round_geometry(geom.__geo_interface__),
                         "properties": {
                             "r": _e(rec.get("route_id", "")),
                             "o": _e(_op_label(rec.get("operator", ""))),
                             "k": _e(_t(kind, settings) if kind in FIBRE_STYLES else kind),
                             "l": _num(km, settings, digits=2), "kind": _e(kind)}})
    fields = ["r", "o", "k", "l"]
    aliases = [html.escape(_t(k, settings)) for k in ("route", "operator", "kind", "length")]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=html.escape(_t("fibre", settings)), show=True,
        style_function=lambda f: dict(FIBRE_STYLES.get(f["properties"]["kind"],
                                                       {"color": "#555555", "weight": 2})),
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases, localize=False, style="",
                                  labels=True),
        zoom_on_click=False).add_to(m)


def _add_post_offices(m: folium.Map, bundle: ProvinceBundle, settings: Settings) -> None:
    if not bundle.has("post_offices"):
        return
    group = folium.FeatureGroup(name=html.escape(_t("post", settings)), show=False)
    pos = bundle["post_offices"]
    for rec, geom in zip(pos.drop(columns="geometry").to_dict("records"), pos.geometry,
                         strict=True):
        if geom is None or geom.is_empty:
            continue
        kind = str(rec.get("kind", ""))
        text = popup_html(str(rec.get("name", "")), [
            (_t("po", settings), rec.get("po_id", "")),
            (_t("kind", settings), POST_OFFICE_KINDS.get(kind, kind)),
            (_t("operator", settings), rec.get("operator", "")),
            (_t("public_internet", settings), _yes_no(rec.get("has_public_internet"), settings)),
            (_t("multi_service", settings), _yes_no(rec.get("multi_service"), settings))])
        folium.CircleMarker([geom.y, geom.x], radius=5, weight=1, color="#222",
                            fill=True, fill_color=POST_OFFICE_COLOURS.get(kind, "#999"),
                            fill_opacity=0.9, popup=folium.Popup(text, max_width=360)
                            ).add_to(group)
    group.add_to(m)


def _rollout_sites(rollout: Any) -> gpd.GeoDataFrame | None:
    sites = getattr(rollout, "sites", rollout)
    if sites is None or not isinstance(sites, gpd.GeoDataFrame) or len(sites) == 0:
        return None
    return sites.to_crs("EPSG:4326") if sites.crs is not None else sites


def _add_rollout(m: folium.Map, rollout: Any, settings: Settings) -> None:
    sites = _rollout_sites(rollout)
    if sites is None:
        return
    group = folium.FeatureGroup(name=html.escape(_t("rollout", settings)), show=True)
    if "rank" in sites.columns:
        sites = sites.sort_values("rank")
    for i, (rec, geom) in enumerate(zip(sites.drop(columns="geometry").to_dict("records"),
                                        sites.geometry, strict=True), start=1):
        if geom is None or geom.is_empty:
            continue
        pt = geom if geom.geom_type == "Point" else geom.representative_point()
        rank = rec.get("rank", i)
        rows: list[tuple[str, Any]] = [(_t("rank", settings), rank)]
        for col, key in (("site_id", "site"), ("kind", "kind")):
            if col in rec:
                rows.append((_t(key, settings), rec[col]))
        for col in ("cost_vnd", "total_cost_vnd"):
            if col in rec:
                rows.append((_t("cost", settings), _num(float(rec[col]) / 1e6, settings)))
                break
        for col in ("population_covered", "covered_population"):
            if col in rec:
                rows.append((_t("covered_pop", settings), _num(rec[col], settings)))
                break
        for col in ("village_names", "villages", "village_ids"):
            if col in rec:
                val = rec[col]
                val = ", ".join(map(str, val)) if isinstance(val, (list, tuple, np.ndarray)) else val
                rows.append((_t("covered_villages", settings), val))
                break
        fb = rec.get("frontier_budget_vnd")  # rollout --frontier (issue 12)
        if fb is not None and np.isfinite(float(fb)):
            rows.append((_t("frontier_budget", settings), _num(float(fb) / 1e9, settings,
                                                                digits=2)))
        icon = folium.DivIcon(html=f'<div class="ps-rank">{_e(rank)}</div>',
                              icon_size=(22, 22), icon_anchor=(11, 11),
                              class_name="ps-rank-icon")
        folium.Marker([pt.y, pt.x], icon=icon,
                      popup=folium.Popup(popup_html(f"{_t('site', settings)} #{rank}", rows),
                                         max_width=360)).add_to(group)
    group.add_to(m)


# -- legend and title --------------------------------------------------------------------------
_CSS = """
<style>
.ps-popup{font:12px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.ps-popup table{border-collapse:collapse;margin-top:4px}
.ps-popup th{text-align:left;font-weight:600;padding:1px 8px 1px 0;vertical-align:top}
.ps-popup td{padding:1px 4px 1px 0}
.ps-popup table.ps-sub th,.ps-popup table.ps-sub td{border-bottom:1px solid #ddd;padding:2px 4px}
.ps-tower{width:16px;height:16px;border:1px solid #fff;border-radius:3px;color:#fff;
 font:bold 11px/16px Arial,sans-serif;text-align:center;box-shadow:0 0 2px #000}
.ps-rank{width:20px;height:20px;border-radius:50%;background:#111;color:#ffd400;
 border:2px solid #ffd400;font:bold 11px/20px Arial,sans-serif;text-align:center}
.ps-box{position:fixed;z-index:9999;background:rgba(255,255,255,.92);padding:6px 9px;
 border-radius:5px;box-shadow:0 1px 4px rgba(0,0,0,.35);
 font:12px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.ps-title{bottom:26px;right:10px;text-align:right;max-width:45vw}
.ps-title .ps-sample{color:#b00020;font-weight:700}
.ps-legend{bottom:44px;left:10px;max-height:60vh;overflow:auto}
.ps-legend summary{font-weight:700;cursor:pointer}
.ps-legend i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-2px;
 border:1px solid #555}
.ps-legend .ps-line{display:inline-block;width:22px;margin-right:5px;vertical-align:3px}
.ps-legend .ps-bar{height:10px;width:160px;border:1px solid #555}
.ps-legend h4{margin:5px 0 2px;font-size:12px}
.ps-admin{font:600 11px/14px system-ui,Arial,sans-serif;color:#3b0764;text-align:center;
 white-space:nowrap;text-shadow:0 0 3px #fff,0 0 3px #fff;pointer-events:none}
</style>
"""


class _Html(Element):
    """Raw HTML placed in the page body (title box, legend); callers escape the values."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "PhusongHtml"
        self.text = text


def _legend_html(bundle: ProvinceBundle, *, has_status: bool, ops: Sequence[str],
                 has_coverage: bool, settings: Settings) -> str:
    t = lambda k: html.escape(_t(k, settings))  # noqa: E731
    parts = [f'<details class="ps-box ps-legend" id="ps-legend" open><summary>{t("legend")}'
             "</summary>"]
    parts.append(f"<h4>{t('villages')}</h4>")
    if has_status:
        for s in ("phu", "lom", "trang"):
            parts.append(f'<div><i style="background:{STATUS_COLOURS[s]}"></i>{t(s)}</div>')
    else:
        parts.append(f'<div><i style="background:{NO_STATUS_COLOUR}"></i>{t("nostatus")}</div>')
    if bundle.has("towers"):
        parts.append(f"<h4>{t('towers')}</h4>")
        for op in ops or [o.value for o in OPERATORS]:
            parts.append(f'<div><i style="background:{OPERATOR_COLOURS.get(op, "#444")}"></i>'
                         f"{html.escape(_op_label(op))}</div>")
    if bundle.has("fibre_routes"):
        parts.append(f"<h4>{t('fibre')}</h4>")
        for kind, st in FIBRE_STYLES.items():
            dash = "dashed" if "dashArray" in st else "solid"
            parts.append(f'<div><span class="ps-line" style="border-top:{st["weight"]}px {dash} '
                         f'{st["color"]}"></span>{t(kind)}</div>')
    if bundle.has("post_offices"):
        parts.append(f"<h4>{t('post')}</h4>")
        present = set(bundle["post_offices"]["kind"].astype(str))
        for kind, label in POST_OFFICE_KINDS.items():
            if kind in present:
                parts.append(f'<div><i style="background:{POST_OFFICE_COLOURS[kind]};'
                             f'border-radius:50%"></i>{html.escape(label)}</div>')
    if has_coverage:
        from matplotlib import colormaps

        cmap = colormaps[DBM_CMAP]
        stops = ", ".join(
            "rgb({},{},{}) {:.0f}%".format(*(int(255 * c) for c in cmap(x)[:3]), 100 * x)
            for x in np.linspace(0, 1, 9))
        thr = settings.threshold_dbm
        parts.append(f"<h4>{t('raster_any')} (dBm)</h4>"
                     f'<div class="ps-bar" style="background:linear-gradient(to right, {stops})">'
                     f'</div><div style="display:flex;justify-content:space-between;width:162px">'
                     f"<span>{DBM_RANGE[0]:.0f}</span><span>{DBM_RANGE[1]:.0f}</span></div>"
                     f"<div>{t('threshold')}: 2G {thr['2G']:.0f}, 3G {thr['3G']:.0f}, "
                     f"4G {thr['4G']:.0f}</div>")
    parts.append("</details>")
    return "".join(parts)


def _title_html(bundle: ProvinceBundle, coverage: Any, settings: Settings) -> str:
    province = bundle.province or bundle.meta.get("preset", "")
    lines = [f"<b>{html.escape(_t('title', settings))}{' – ' if province else ''}"
             f"{_e(province)}</b>"]
    info = f"{html.escape(_t('as_of', settings))} {settings.as_of_date().isoformat()}"
    model = getattr(coverage, "model", None)
    if model:
        info += f" · {html.escape(_t('model', settings))}: {html.escape(str(model))}"
    lines.append(f"<div>{info}</div>")
    if bundle.is_sample:
        lines.append(f'<div class="ps-sample">{html.escape(SAMPLE_LABEL)}</div>')
    return '<div class="ps-box ps-title" id="ps-title">' + "".join(lines) + "</div>"


# -- public API --------------------------------------------------------------------------------
def build_map(bundle: ProvinceBundle, *, status: pd.DataFrame | None = None,
              coverage: Any = None, rollout: Any = None, offline: bool = False,
              dem: Any = None, settings: Settings = DEFAULT) -> folium.Map:
    """Build the planner's map of a province.

    Parameters
    ----------
    bundle
        The province bundle.
    status
        Village status table (:func:`analysis.status.village_status`), indexed by
        ``village_id``; without it villages are drawn grey.
    coverage
        A :class:`analysis.coverage.CoverageResult`; its best-server rasters become image
        overlays (hidden by default).
    rollout
        Ranked proposed sites: a GeoDataFrame (or an object with a ``sites`` GeoDataFrame)
        with optional columns ``rank``, ``site_id``, ``kind``, ``cost_vnd``,
        ``population_covered``, ``village_names``.
    offline
        Use the DEM hillshade as base layer and no web tiles; :func:`write_map` then inlines
        every script and stylesheet.
    dem
        A :class:`gis.dem.Dem` for the hillshade (read from the bundle when omitted).
    settings
        ``language`` picks the labels; ``as_of`` and the sunset dates pick the technologies
        whose coverage is drawn.

    Returns
    -------
    folium.Map
        The map; ``m.phusong_offline`` records the mode for :func:`write_map`.
    """
    west, south, east, north = bundle.total_bounds()
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None,
                   control_scale=True, prefer_canvas=False, zoom_start=9)
    m.options.update(minZoom=5, maxZoom=18)  # folium gives these to tile layers only
    m.phusong_offline = bool(offline)
    # icons are drawn with CSS: no icon fonts or bootstrap to load (jQuery builds popups)
    m.default_js = [js for js in m.default_js if js[0] in ("leaflet", "jquery")]
    m.default_css = [css for css in m.default_css if css[0] == "leaflet_css"]
    if offline:
        _add_hillshade(m, bundle, dem, settings)
    else:
        folium.TileLayer("OpenStreetMap", name=html.escape(_t("osm", settings)),
                         control=True).add_to(m)
    m.get_root().header.add_child(Element(_CSS), name="phusong_css")
    ops = _operators_in(bundle, status)
    has_coverage = coverage is not None and _add_coverage(m, coverage, settings)
    _add_admin(m, bundle, settings)
    village_layer = _add_villages(m, bundle, status, ops, settings)
    _add_fibre(m, bundle, settings)
    _add_post_offices(m, bundle, settings)
    _add_towers(m, bundle, settings)
    _add_rollout(m, rollout, settings)
    if village_layer is not None:
        plugins.Search(layer=village_layer, search_label="name", geom_type="Polygon",
                       placeholder=_t("search", settings), collapsed=False,
                       position="topright", weight=4, color="#000000").add_to(m)
    plugins.Fullscreen(position="topleft").add_to(m)
    plugins.MeasureControl(position="topleft", primary_length_unit="kilometers",
                           secondary_length_unit="meters", primary_area_unit="hectares",
                           secondary_area_unit="sqmeters").add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.get_root().html.add_child(_Html(_title_html(bundle, coverage, settings)))
    m.get_root().html.add_child(_Html(_legend_html(
        bundle, has_status=status is not None, ops=ops, has_coverage=has_coverage,
        settings=settings)))
    m.fit_bounds([[south, west], [north, east]])
    logger.info("built %s map of %s (%d villages, %d towers)", "offline" if offline else "online",
                bundle.province or "bundle", len(bundle["villages"]), len(bundle["towers"]))
    return m


def render_map(m: folium.Map, *, offline: bool | None = None) -> str:
    """The map's HTML page; offline pages get every script and stylesheet inlined."""
    offline = getattr(m, "phusong_offline", False) if offline is None else offline
    page = m.get_root().render()
    if offline:
        from phusong.analysis.publish.offline import inline_assets

        page = inline_assets(page)
    return page


def write_map(m: folium.Map, path: str | os.PathLike, *, overwrite: bool = False,
              offline: bool | None = None) -> Path:
    """Write the map as one HTML file atomically.

    Parameters
    ----------
    m
        A map from :func:`build_map`.
    path
        Target ``.html`` file.
    overwrite
        Replace an existing file.
    offline
        Inline scripts and stylesheets (default: the mode the map was built in).

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is false.
    MissingDependencyError
        Offline mode without the vendored files (run ``make vendor``).
    """
    check_writable(path, overwrite=overwrite)
    page = render_map(m, offline=offline)
    out = atomic_write_text(path, page, overwrite=overwrite)
    logger.info("wrote map %s (%.1f MB)", out, len(page.encode("utf-8")) / 1e6)
    return Path(out)


# -- raster helpers shared with the planning server (analysis.serve) ---------------------------
#: warp a grid to Web Mercator for an image overlay: ``(array, [[south, west], [north, east]])``
to_mercator_image = _to_mercator_image
#: colour-mapped PNG data URL (NaN transparent)
palette_png = _palette_png
#: grayscale JPEG data URL of values in 0..1
gray_jpeg = _gray_jpeg
#: block-averaged DEM whose longer side is at most ``max_px``
coarsen_dem = _coarsen_dem
