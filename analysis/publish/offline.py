"""Inline the JavaScript and CSS of a Folium page so that it opens with no network at all.

Folium's templates load Leaflet and its plugins from CDNs. For the offline map the same
packages are fetched from the npm registry at build time by ``tools/vendor_js.sh`` (``make
vendor``) into ``analysis/publish/static/vendor/<package>/…`` — the versions folium's templates name,
with provenance in ``MANIFEST.json``. :func:`inline_assets` replaces every
``<script src=…>`` and ``<link rel=stylesheet href=…>`` of a rendered page by the file's
content, turns the images the stylesheets reference into ``data:`` URLs, and refuses a page
that still references anything remote.

Nothing here is fetched when a map is opened; nothing here fetches at all.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from phusong.gis.errors import InputError, MissingDependencyError

logger = logging.getLogger(__name__)

__all__ = ["VENDOR_DIR", "inline_assets", "remote_references", "vendor_manifest"]

#: where ``tools/vendor_js.sh`` puts the npm packages
VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"

#: file name in a CDN URL -> file under VENDOR_DIR (versions pinned in tools/vendor_js.sh)
_ASSETS: dict[str, str] = {
    "leaflet.js": "leaflet/dist/leaflet.js",
    "jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    "leaflet.markercluster.js": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "MarkerCluster.css": "leaflet.markercluster/dist/MarkerCluster.css",
    "MarkerCluster.Default.css": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "leaflet-search.min.js": "leaflet-search/dist/leaflet-search.min.js",
    "leaflet-search.min.css": "leaflet-search/dist/leaflet-search.min.css",
    "Control.FullScreen.min.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "leaflet-measure.min.js": "leaflet-measure/dist/leaflet-measure.js",
    "leaflet-measure.js": "leaflet-measure/dist/leaflet-measure.js",
    "leaflet-measure.min.css": "leaflet-measure/dist/leaflet-measure.css",
    "leaflet-measure.css": "leaflet-measure/dist/leaflet-measure.css",
}

_FIX = "run `make vendor` (tools/vendor_js.sh fetches them from the npm registry)"

_SCRIPT_RE = re.compile(r"""<script\s+src\s*=\s*["']([^"']+)["']\s*>\s*</script>""", re.I)
_LINK_RE = re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']([^"']+)["'][^>]*>""", re.I)
_CSS_URL_RE = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
_REMOTE_RE = re.compile(
    r"""<(?:script|link|img|iframe|source|embed)\b[^>]*\b(?:src|href)\s*=\s*["']"""
    r"""((?:https?:)?//[^"']+)["']""", re.I)


def vendor_manifest(vendor_dir: Path | None = None) -> dict:
    """The provenance record written by ``tools/vendor_js.sh``.

    Raises
    ------
    MissingDependencyError
        When the vendored files are absent.
    """
    folder = vendor_dir or VENDOR_DIR
    manifest = folder / "MANIFEST.json"
    if not manifest.exists():
        raise MissingDependencyError(
            f"offline map: the vendored Leaflet files are missing ({folder}); {_FIX}")
    return json.loads(manifest.read_text(encoding="utf-8"))


def _asset_file(url: str, folder: Path) -> Path:
    name = PurePosixPath(urlparse(url).path).name
    rel = _ASSETS.get(name)
    if rel is None:
        raise InputError(f"offline map: no vendored copy of {url}; add it to "
                         "tools/vendor_js.sh and analysis/_offline.py")
    path = folder / rel
    if not path.exists():
        raise MissingDependencyError(f"offline map: {path} is missing; {_FIX}")
    return path


def _data_url(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(path: Path) -> str:
    """A stylesheet with every relative ``url(…)`` turned into a data URL."""
    css = path.read_text(encoding="utf-8")

    def repl(m: re.Match) -> str:
        ref = m.group(2).strip()
        if ref.startswith(("data:", "#")):
            return m.group(0)
        if urlparse(ref).scheme or ref.startswith("//"):
            raise InputError(f"offline map: {path} references remote {ref}")
        target = (path.parent / ref.split("?")[0].split("#")[0]).resolve()
        if not target.exists():
            raise MissingDependencyError(f"offline map: {target} (used by {path.name}) is "
                                         f"missing; {_FIX}")
        return f"url({_data_url(target)})"

    return _CSS_URL_RE.sub(repl, css).replace("</style", "<\\/style")


def _inline_js(path: Path) -> str:
    # a literal "</script" inside the code would end the element early
    return path.read_text(encoding="utf-8").replace("</script", "<\\/script")


def remote_references(html: str) -> list[str]:
    """URLs a page would fetch by itself (script, stylesheet, image, frame sources)."""
    found = [m.group(1) for m in _REMOTE_RE.finditer(html)]
    # stylesheets inlined in <style> may still reference remote resources
    for block in re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S | re.I):
        for m in _CSS_URL_RE.finditer(block):
            ref = m.group(2)
            if ref.startswith(("http:", "https:", "//")):
                found.append(ref)
    return found


def inline_assets(html: str, *, vendor_dir: Path | None = None) -> str:
    """Replace the remote scripts and stylesheets of a rendered page with their content.

    Parameters
    ----------
    html
        A rendered Folium page.
    vendor_dir
        Folder of the vendored npm packages (default :data:`VENDOR_DIR`).

    Returns
    -------
    str
        The same page with no remote script or stylesheet left.

    Raises
    ------
    MissingDependencyError
        When the vendored files are absent (run ``make vendor``).
    InputError
        When the page references an asset that has no vendored copy.
    """
    folder = vendor_dir or VENDOR_DIR
    vendor_manifest(folder)
    n = 0

    def script(m: re.Match) -> str:
        nonlocal n
        n += 1
        path = _asset_file(m.group(1), folder)
        return f"<script>/* {path.relative_to(folder)} */\n{_inline_js(path)}\n</script>"

    def link(m: re.Match) -> str:
        nonlocal n
        tag = m.group(0)
        if not re.search(r"""rel\s*=\s*["']?stylesheet""", tag, re.I):
            return tag
        n += 1
        path = _asset_file(m.group(1), folder)
        return f"<style>/* {path.relative_to(folder)} */\n{_inline_css(path)}\n</style>"

    out = _SCRIPT_RE.sub(script, html)
    out = _LINK_RE.sub(link, out)
    left = remote_references(out)
    if left:
        raise InputError("offline map: the page still references remote resources: "
                         + ", ".join(sorted(set(left))))
    logger.info("inlined %d scripts and stylesheets for the offline map", n)
    return out
