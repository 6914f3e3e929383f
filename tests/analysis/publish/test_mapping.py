"""The planner's map: layers, escaping, offline inlining (toy province: conftest.py)."""

from __future__ import annotations

import re

import folium
import geopandas as gpd
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import Point

from phusong.analysis.labels import SAMPLE_LABEL
from phusong.analysis.publish import offline as _offline
from phusong.analysis.publish.mapping import (
    _to_mercator_image,
    build_map,
    popup_html,
    render_map,
    write_map,
)
from phusong.gis.errors import InputError, MissingDependencyError, OutputExistsError
from phusong.layers.settings import DEFAULT

needs_vendor = pytest.mark.skipif(
    not (_offline.VENDOR_DIR / "MANIFEST.json").exists(),
    reason="vendored Leaflet missing: run `make vendor` (tools/vendor_js.sh)")


@pytest.fixture(scope="module")
def bundle(toys):
    return toys.toy_bundle()


@pytest.fixture(scope="module")
def status(toys, bundle):
    return toys.toy_status(bundle)


@pytest.fixture(scope="module")
def online_html(toys, bundle, status):
    return render_map(build_map(bundle, status=status, coverage=toys.FakeCoverage(bundle)))


def _plain(page: str) -> str:
    """The page with JSON \\uXXXX escapes decoded (folium JSON-encodes names and icons)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)


def _layer_names(page: str) -> list[str]:
    """Names registered with the layer control (JSON-escaped keys of its overlays)."""
    block = re.search(r"var layer_control_\w+_layers = \{(.*?)\n\s*\};", page, re.S)
    assert block, "no layer control in the page"
    return re.findall(r'"((?:[^"\\]|\\.)*)"\s*:\s*\w+', block.group(1))


def test_map_has_a_layer_per_operator_and_for_any_operator(online_html):
    names = [_plain(n) for n in _layer_names(online_html)]
    for expected in ("Thôn, bản – mọi doanh nghiệp", "Thôn, bản – Viettel",
                     "Thôn, bản – Vinaphone", "Thôn, bản – MobiFone", "Thôn, bản – Vietnamobile",
                     "Vị trí cột (BTS)", "Bán kính phục vụ danh định", "Tuyến cáp quang",
                     "Điểm phục vụ bưu chính", "Cường độ tín hiệu – tốt nhất",
                     "Cường độ tín hiệu – Viettel"):
        assert expected in names, expected


def test_map_shows_tools_legend_and_sample_label(online_html):
    for marker in ("L.Control.Search", "L.control.fullscreen", "L.Control.Measure",
                   "L.markerClusterGroup", 'id="ps-legend"', SAMPLE_LABEL,
                   "L.imageOverlay", "Lõm sóng", "Cáp ngầm"):
        assert marker in online_html, marker


def test_only_the_any_operator_layer_is_shown_by_default(bundle, status):
    m = build_map(bundle, status=status)
    shown = {c.layer_name: c.show for c in m._children.values()
             if isinstance(c, folium.GeoJson) and "Thôn" in c.layer_name}
    assert shown.pop("Thôn, bản – mọi doanh nghiệp") is True
    assert shown and not any(shown.values())


def test_village_name_is_escaped_everywhere(toys, online_html):
    assert toys.EVIL not in online_html
    assert "\\u003cimg src=x" not in online_html  # no raw '<img' even JSON-escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in online_html.replace("\\u0026", "&")


def test_popup_html_escapes_values_and_template_literal_syntax():
    text = popup_html("<b>x</b>", [("a<", "${alert(1)}"), ("b", "`x` \\u0041")],
                      table=(["<th>"], [["<td>&"]]))
    assert "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text
    assert "${" not in text and "`" not in text and "\\" not in text
    assert "&lt;td&gt;&amp;" in text


def test_tower_popup_cannot_break_out_of_folium_template_literal(toys, bundle, status):
    b = toys.toy_bundle()
    b.layers["towers"] = b["towers"].assign(tower_id=["${alert(1)}", "T2", "`+alert(2)+`"])
    page = render_map(build_map(b, status=status))
    assert "${alert(1)}" not in page and "`+alert(2)+`" not in page
    assert "&#36;&#123;alert(1)&#125;" in page  # braces too: folium re-renders with Jinja


def test_without_status_villages_are_one_grey_layer(bundle):
    page = render_map(build_map(bundle))
    assert "Thôn, bản – Viettel" not in _plain(page)
    assert "#7f7f7f" in page and "Chưa tính hiện trạng" in page


def test_english_labels(bundle, status):
    page = _plain(render_map(build_map(bundle, status=status,
                                       settings=DEFAULT.replace(language="en"))))
    assert "Villages – any operator" in page and "Dead spot" in page
    assert "Thôn, bản – mọi doanh nghiệp" not in page


def test_rollout_sites_carry_their_rank(bundle, status):
    sites = gpd.GeoDataFrame({"rank": [2, 1], "site_id": ["C7", "C3"], "kind": ["new", "shared"],
                              "cost_vnd": [2.5e9, 0.4e9], "population_covered": [900, 300],
                              "village_names": ["Bản A", "<script>x</script>"]},
                             geometry=[Point(103.1, 22.2), Point(103.2, 22.1)], crs=4326)
    page = _plain(render_map(build_map(bundle, status=status, rollout=sites))).replace('\\"', '"')
    assert 'class="ps-rank">1<' in page and 'class="ps-rank">2<' in page
    assert "<script>x</script>" not in page and "&lt;script&gt;x" in page


def test_rollout_sites_show_their_frontier_budget(bundle, status):
    """Issue 12: with ``rollout --frontier`` each site says at which budget it enters."""
    sites = gpd.GeoDataFrame({"rank": [1], "site_id": ["C3"], "cost_vnd": [0.4e9],
                              "frontier_budget_vnd": [12.5e9]},
                             geometry=[Point(103.2, 22.1)], crs=4326)
    en = DEFAULT.replace(language="en")
    page = _plain(render_map(build_map(bundle, status=status, rollout=sites, settings=en)))
    assert "Enters the plan at budget (bn VND)" in page and "12.50" in page


def test_raster_overlay_bounds_match_the_grid_in_lat_lon(toys, bundle):
    cov = toys.FakeCoverage(bundle)
    arr = next(iter(cov.best_dbm.values()))
    img, bounds = _to_mercator_image(arr, cov.grid.transform, cov.grid.crs, max_px=200)
    assert max(img.shape) <= 200 and np.isfinite(img).any()
    to_ll = Transformer.from_crs(cov.grid.crs, "EPSG:4326", always_xy=True)
    t, (rows, cols) = cov.grid.transform, cov.grid.shape
    corners = [to_ll.transform(*(t * (c, r))) for c in (0, cols) for r in (0, rows)]
    lons, lats = zip(*corners, strict=True)
    (south, west), (north, east) = bounds
    assert west == pytest.approx(min(lons), abs=2e-3) and east == pytest.approx(max(lons), abs=2e-3)
    assert south == pytest.approx(min(lats), abs=2e-3) and north == pytest.approx(max(lats), abs=2e-3)


@needs_vendor
def test_offline_page_has_no_remote_reference_and_a_hillshade_base(toys, bundle, status):
    m = build_map(bundle, status=status, coverage=toys.FakeCoverage(bundle), offline=True,
                  dem=toys.toy_dem())
    page = render_map(m)
    assert _offline.remote_references(page) == []
    assert "<script src=" not in page and 'rel="stylesheet"' not in page
    assert "tile.openstreetmap.org" not in page
    assert "Địa hình (bóng đổ từ DEM)" in _plain(page)
    assert "L.Control.Search" in page and "leaflet.markercluster" in page


def test_offline_without_vendored_files_says_make_vendor(bundle, status, tmp_path, monkeypatch):
    monkeypatch.setattr(_offline, "VENDOR_DIR", tmp_path / "missing")
    m = build_map(bundle, status=status, offline=True)
    with pytest.raises(MissingDependencyError, match="make vendor"):
        render_map(m)


@needs_vendor
def test_inline_refuses_an_asset_without_vendored_copy():
    page = '<script src="https://cdn.example.org/unknown-plugin.js"></script>'
    with pytest.raises(InputError, match=r"unknown-plugin\.js"):
        _offline.inline_assets(page)


def test_write_map_refuses_to_overwrite(bundle, status, tmp_path):
    m = build_map(bundle, status=status)
    path = write_map(m, tmp_path / "map.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_map(m, path)
    write_map(m, path, overwrite=True)


def test_phusong_map_command_writes_map_html(toys, bundle, tmp_path):
    from click.testing import CliRunner

    from phusong.analysis.cli import phusong
    from phusong.layers.bundle import write_bundle

    folder = tmp_path / "toy"
    write_bundle(toys.toy_bundle(), folder)
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(phusong, ["map", str(folder), "--out", str(out), "--lang", "en",
                                     "--as-of", "2025-01-01", "-q"])
    assert result.exit_code == 0, result.output
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "Villages" in page and toys.EVIL not in page
    again = runner.invoke(phusong, ["map", str(folder), "--out", str(out), "-q"])
    assert again.exit_code == 1 and "overwrite" in again.output


def test_coarsened_dem_keeps_extent_and_voids(toys):
    from phusong.analysis.publish.mapping import _coarsen_dem

    dem = toys.toy_dem()
    dem.elevation_m[:40, :40] = np.nan
    small = _coarsen_dem(dem, max_px=100)
    assert max(small.elevation_m.shape) <= 100
    f = small.res_xy[0] / dem.res_xy[0]
    assert f == round(f) and f > 1
    assert (small.transform.c, small.transform.f) == (dem.transform.c, dem.transform.f)
    assert np.isnan(small.elevation_m[0, 0]) and np.isfinite(small.elevation_m[-1, -1])
    assert np.nanmax(small.elevation_m) <= np.nanmax(dem.elevation_m)
