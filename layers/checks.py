"""A bundle as every command reads it: validated once, failing rows set aside, layers checked.

:func:`check_bundle` reads a bundle folder (or ``.gpkg``) exactly as ``phusong validate`` does
(:func:`layers.io.validate_path`: every layer against its schema, then across layers) and
returns a :class:`CheckedBundle` whose layers hold only the accepted rows; the rejected rows
keep their reasons, to be written as ``rejects_<layer>.csv``. The outcome is cached by the
SHA-256 of the GeoPackage's bytes (and the province box), so a second command on the same
bundle in one process does not validate again, and a changed file is validated anew.

:func:`require_layers` refuses, in one line, a bundle that lacks a layer a command needs, or
whose layer's rows were all rejected; a layer imported with no rows is a warning.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import pyogrio

from phusong.gis.errors import InputError
from phusong.layers.bundle import BUNDLE_FILE, META_LAYER, ProvinceBundle
from phusong.layers.validate import ValidationResult, write_rejects

logger = logging.getLogger(__name__)

__all__ = ["LAYER_WORDS", "CheckedBundle", "bundle_digest", "check_bundle", "clear_cache",
           "require_layers"]

#: what each layer is, in words (vi, en), for messages
LAYER_WORDS: dict[str, tuple[str, str]] = {
    "admin_units": ("ranh giới hành chính", "admin boundaries"),
    "villages": ("thôn, bản", "villages"),
    "towers": ("cột anten", "towers"),
    "bts": ("trạm BTS", "BTS stations"),
    "fibre_routes": ("tuyến cáp quang", "fibre routes"),
    "post_offices": ("điểm bưu chính", "post offices"),
    "roads": ("đường giao thông", "roads"),
}
_CACHE_SIZE = 4
_cache: collections.OrderedDict[tuple, dict[str, ValidationResult]] = collections.OrderedDict()


@dataclasses.dataclass
class CheckedBundle:
    """A bundle after validation.

    Attributes
    ----------
    bundle
        The bundle with only the accepted rows of each layer (EPSG:4326).
    results
        Layer name → :class:`~layers.validate.ValidationResult` (rows in, accepted, rejected
        with reasons, warnings).
    digest
        SHA-256 of the GeoPackage the bundle was read from.
    cached
        True when the validation came from the cache.
    """

    bundle: ProvinceBundle
    results: dict[str, ValidationResult]
    digest: str
    cached: bool = False

    @property
    def rejected_rows(self) -> int:
        return sum(r.n_rejected for r in self.results.values())

    def warnings(self) -> list[str]:
        return [w for r in self.results.values() for w in r.warnings]

    def write_rejects(self, folder: str | os.PathLike) -> list[Path]:
        """Write ``rejects_<layer>.csv`` for the layers with rejected rows (only those)."""
        return [write_rejects(r, folder, overwrite=True) for r in self.results.values()
                if r.n_rejected]

    def summary_line(self, *, language: str = "vi") -> str:
        """One line: rows in, accepted, rejected over all layers."""
        n_in = sum(r.rows_in for r in self.results.values())
        n_rej = self.rejected_rows
        if language == "vi":
            return (f"{n_in} dòng đọc được, {n_in - n_rej} dòng dùng, {n_rej} dòng bị loại "
                    "(lý do trong rejects/)" if n_rej else f"{n_in} dòng đọc được, dùng cả")
        return (f"{n_in} rows read, {n_in - n_rej} used, {n_rej} rejected (reasons in rejects/)"
                if n_rej else f"{n_in} rows read, all used")


def _gpkg(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p if p.suffix.lower() == ".gpkg" else p / BUNDLE_FILE


def bundle_digest(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a bundle's GeoPackage bytes."""
    h = hashlib.sha256()
    with open(_gpkg(path), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def clear_cache() -> None:
    """Forget every cached validation."""
    _cache.clear()


def _read_meta(gpkg: Path) -> dict[str, str]:
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(gpkg)]
        if META_LAYER not in names:
            return {}
        df = pyogrio.read_dataframe(gpkg, layer=META_LAYER)
    except Exception as exc:  # validate_path has already reported an unreadable file
        raise InputError(f"{gpkg}: bundle metadata cannot be read ({exc})") from None
    return {str(k): str(v) for k, v in zip(df["key"], df["value"], strict=True)}


def check_bundle(path: str | os.PathLike, *,
                 bounds: tuple[float, float, float, float] | None = None) -> CheckedBundle:
    """Read and validate a bundle (cached by content); see the module docstring.

    Raises
    ------
    InputError
        No bundle there, or its GeoPackage cannot be read (one line naming the file).
    """
    from phusong.layers.io import validate_path

    gpkg = _gpkg(path)
    if not gpkg.exists():
        raise InputError(f"{gpkg}: no such bundle (expected a folder with {BUNDLE_FILE} or a "
                         ".gpkg file)")
    digest = bundle_digest(gpkg)
    key = (digest, tuple(bounds) if bounds is not None else None)
    cached = key in _cache
    if cached:
        _cache.move_to_end(key)
        results = _cache[key]
        logger.debug("bundle %s: validation taken from the cache (%s)", gpkg, digest[:12])
    else:
        results = validate_path(gpkg, bounds=bounds)
        _cache[key] = results
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    layers = {name: r.accepted.copy() for name, r in results.items()}
    bundle = ProvinceBundle(layers=layers, meta=_read_meta(gpkg), folder=gpkg.parent)
    for r in results.values():
        if r.n_rejected:
            logger.warning("%s: %d of %d rows rejected and left out (first: %s)", r.source,
                           r.n_rejected, r.rows_in, r.problems[0] if r.problems else "")
    return CheckedBundle(bundle=bundle, results=results, digest=digest, cached=cached)


def require_layers(checked: CheckedBundle | ProvinceBundle, needs: Iterable[str], *,
                   command: str = "", language: str = "vi") -> None:
    """Refuse (one :class:`~gis.errors.InputError` line) when a needed layer is missing or
    every one of its rows was rejected.

    ``needs`` are layer names; the message names each such layer in words, says whether its
    rows were all rejected, and how to add it. A layer that is there with no rows at all (a
    province built from OSM with no mast mapped) is a warning: the analyses then call every
    village white, which is what the data says.
    """
    bundle = checked.bundle if isinstance(checked, CheckedBundle) else checked
    results = checked.results if isinstance(checked, CheckedBundle) else {}
    vi = language == "vi"
    missing: list[str] = []
    for name in needs:
        words = LAYER_WORDS.get(name, (name, name))[0 if vi else 1]
        if name not in bundle.layers:
            missing.append(f"{words} ({name}): " + ("không có lớp này" if vi else "no such layer"))
        elif len(bundle.layers[name]) == 0:
            r = results.get(name)
            if r is not None and r.rows_in:
                missing.append(f"{words} ({name}): " + (
                    f"cả {r.rows_in} dòng bị loại (xem rejects_{name}.csv)" if vi else
                    f"all {r.rows_in} rows rejected (see rejects_{name}.csv)"))
            else:  # imported, nothing found (e.g. OSM without masts): every village is a gap
                logger.warning("%s (%s): %s", words, name,
                               "lớp có nhưng không có dòng nào: mọi thôn sẽ là thôn trắng sóng"
                               if vi else "the layer is there but has no rows: every village "
                               "will be white")
    if missing:
        where = bundle.folder if bundle.folder is not None else "bundle"
        what = f"phusong {command}" if command else ("lệnh này" if vi else "this command")
        raise InputError(f"{where}: " + (
            f"thiếu dữ liệu {what} cần: " if vi else f"lacks what {what} needs: ")
            + "; ".join(missing) + (
            " — thêm bằng phusong import hoặc phusong build" if vi else
            " — add it with phusong import or phusong build"))
