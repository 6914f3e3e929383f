"""Everything a command checks before it computes, and the staged set it writes into.

A command that analyses a bundle runs inside :func:`guarded_run`, which, in this order and
before any computing:

1. checks the numbers given (budget, counts, distances: finite, positive);
2. checks the output folder (:func:`check_out_folder`: not under a file, writable) and the
   targets (:func:`check_targets`: free, or ``--overwrite`` given, and not locked);
3. reads and validates the bundle once (:func:`layers.checks.check_bundle`, cached by content
   hash): rows that fail are left out and written with their reasons to ``rejects/``, exactly
   as ``phusong validate`` writes them;
4. refuses a bundle without the layers the command needs (:func:`layers.checks.require_layers`);
5. reads the DEM (the bundle's or ``--dem``) with the one elevation rule of
   :func:`gis.dem.read_dem` (void markers, feet, void filling) and measures which villages and
   sites it covers (:func:`check_raster_cover`): below ``settings.min_raster_coverage`` (95 %)
   the run is refused naming the missing SRTM tiles, below 100 % a warning names the villages
   left out; the population raster likewise.

The command then writes into a staging folder (:class:`gis.atomic.StagedOutputs`), swapped in
when it finishes: one run = one complete set of outputs, or the previous set.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from phusong.gis.atomic import StagedOutputs
from phusong.gis.errors import (
    DEMError,
    InputError,
    OutputError,
    OutputExistsError,
    PhusongError,
)
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.checks import CheckedBundle, check_bundle, require_layers
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["NEEDS", "REJECTS", "GuardedRun", "RasterCover", "check_inputs", "check_numbers",
           "check_out_folder", "check_population", "check_raster_cover", "check_targets",
           "guarded_run", "guarded_set", "output_patterns", "prepare_dem"]

#: the layers each command cannot do without
NEEDS: Mapping[str, tuple[str, ...]] = {
    "coverage": ("villages", "bts"),
    "gaps": ("villages", "bts"),
    "analyse": ("villages", "bts"),
    "rollout": ("villages", "bts"),
    "map": ("villages", "bts"),
    "report": ("villages", "bts"),
    "pipeline": ("villages", "bts"),
    "run": ("villages", "bts"),
}
#: the rejected rows of the bundle: part of every run's set, replaced without --overwrite
REJECTS = ("rejects/rejects_*.csv",)
_ANALYSE_TABLES = tuple(f"{name}.{ext}" for name in ("sharing", "sunset", "service_radius",
                                                     "fibre", "postal")
                        for ext in ("xlsx", "csv"))
_ROLLOUT = ("rollout_*.xlsx", "rollout_*.csv", "rollout_*.geojson", "rollout_*.png")


def _gap_files(operators: Sequence[str] | None) -> tuple[str, ...]:
    if not operators:
        return ("gaps_*.xlsx", "gaps_*.csv", "gaps_*.geojson")
    names = [f"gaps_{op}.{ext}" for op in operators for ext in ("xlsx", "csv", "geojson")]
    return (*names, "gaps_all.xlsx") if len(operators) > 1 else tuple(names)


def output_patterns(command: str, *, operators: Sequence[str] | None = None,
                    compare: bool = False, rasters: bool = True) -> tuple[str, ...]:
    """Glob patterns (relative to the output folder) of the files ``command`` writes.

    They decide which existing files need ``--overwrite`` and which files of an earlier run
    of the same kind the new set replaces.
    """
    if command == "coverage":
        ops = operators or ("*",)
        pats = [f"coverage_{op}_*.tif" for op in ops] if rasters else []
        pats += ["village_status.csv", "coverage_ratios_*.csv"]
        if compare:
            pats += ["model_comparison.csv", "model_comparison_summary.csv",
                     "model_comparison_*.png"]
        return tuple(pats)
    if command == "gaps":
        return _gap_files(operators)
    if command == "analyse":
        return (*_gap_files(None), *_ANALYSE_TABLES)
    if command == "rollout":
        return _ROLLOUT
    if command == "map":
        return ("map.html",)
    if command == "report":
        return ("report.html", "report.xlsx")
    if command == "run":
        return ("*/coverage/coverage_*.tif", "*/village_status.csv", "*/ratios.csv",
                "village_status_all.csv", "ratios_all.csv", "run_summary.csv")
    if command == "pipeline":
        return ("coverage/coverage_*.tif", "village_status.csv", "summary.txt",
                *_gap_files(None), *_ANALYSE_TABLES, *(f"rollout/{p}" for p in _ROLLOUT),
                "map.html", "report.html", "report.xlsx")
    raise ValueError(f"unknown command {command!r}")


# -- numbers, folders, targets ---------------------------------------------------------------

def check_numbers(*, language: str = "vi", **values: tuple[float | None, str]) -> None:
    """Refuse numbers out of range: ``name=(value, rule)`` with rule ``">0"`` or ``">=0"``.

    ``None`` values are skipped. One :class:`~gis.errors.InputError` line names every bad one.
    """
    bad: list[str] = []
    for name, (value, rule) in values.items():
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        try:
            x = float(value)
        except (TypeError, ValueError):
            bad.append(f"{flag} {value}: " + ("không phải là số" if language == "vi"
                                              else "not a number"))
            continue
        ok = math.isfinite(x) and (x > 0 if rule == ">0" else x >= 0)
        if not ok:
            want = {">0": ("phải lớn hơn 0", "must be greater than 0"),
                    ">=0": ("không được âm", "must not be negative")}[rule]
            bad.append(f"{flag} {value:g}: {want[0] if language == 'vi' else want[1]}")
    if bad:
        raise InputError("; ".join(bad))


def check_out_folder(out: str | os.PathLike, *, language: str = "vi") -> Path:
    """Refuse an output folder that cannot be written, before anything is computed.

    The folder may not exist yet (it is created at the end); then its first existing parent
    must be a writable folder. A path through a regular file, or a read-only folder, raises
    :class:`~gis.errors.OutputError` naming the path.
    """
    vi = language == "vi"
    p = Path(out)
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputError(f"{probe}: " + (
            "là một tệp, không phải thư mục; chọn --out khác" if vi else
            "is a file, not a folder; choose another --out"))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".phusong-write-test.", dir=probe)
    except OSError as exc:
        raise OutputError(f"{probe}: " + (
            f"không ghi được vào thư mục này ({exc.strerror}); chọn --out khác" if vi else
            f"cannot write in this folder ({exc.strerror}); choose another --out")) from None
    os.close(fd)
    os.unlink(tmp)
    return p


def check_targets(stage: StagedOutputs, *, overwrite: bool, language: str = "vi",
                  free: Iterable[str] = REJECTS) -> list[Path]:
    """The earlier outputs of this kind in the folder: refused unless ``overwrite``.

    Files matching ``free`` (the bundle's rejects) are this run's own and are replaced
    without asking. With ``overwrite``, a target that cannot be replaced (read-only) is
    refused now rather than after the computing.
    """
    import fnmatch

    vi = language == "vi"
    existing = stage.existing()
    rel = [(p, str(p.relative_to(stage.target))) for p in existing]
    taken = [p for p, r in rel if not any(fnmatch.fnmatch(r, f) for f in free)]
    if taken and not overwrite:
        names = ", ".join(p.name for p in taken[:3]) + (
            f" … (+{len(taken) - 3})" if len(taken) > 3 else "")
        raise OutputExistsError(f"{stage.target}: " + (
            f"đã có kết quả ({names}); thêm --overwrite để thay, hoặc chọn --out khác" if vi
            else f"outputs exist ({names}); pass --overwrite to replace them, or choose "
            "another --out"))
    for p in existing:
        if not os.access(p, os.W_OK):
            raise OutputError(f"{p}: " + (
                "tệp chỉ đọc hoặc đang bị khóa (mở trong Excel?); đóng nó rồi chạy lại" if vi
                else "read-only or locked (open in Excel?); close it and run again"))
    return existing


# -- rasters ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RasterCover:
    """How many villages and sites lie on valid cells of a raster."""

    path: Path
    villages: int
    villages_covered: int
    sites: int
    sites_covered: int
    missing_tiles: tuple[str, ...]
    missing_villages: tuple[str, ...]

    @property
    def village_share(self) -> float:
        return self.villages_covered / self.villages if self.villages else 1.0

    @property
    def site_share(self) -> float:
        return self.sites_covered / self.sites if self.sites else 1.0


def _points_lonlat(bundle: ProvinceBundle) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    list[str]]:
    """Village centres and BTS sites in lon/lat: (lon, lat, is_village, village ids)."""
    from pyproj import CRS

    from phusong.gis.crs import transformer
    from phusong.layers.villages import village_centres

    vil = bundle.layer("villages")
    vlon = vlat = np.empty(0)
    if len(vil):  # the one village centre (metric), then in lon/lat
        x, y = village_centres(vil, bundle.metric_crs)
        vlon, vlat = transformer(CRS.from_user_input(bundle.metric_crs),
                                 CRS.from_epsg(4326)).transform(x, y)
        vlon, vlat = np.asarray(vlon, dtype=float), np.asarray(vlat, dtype=float)
    bts = bundle.layer("bts")
    pts = bts.geometry[bts.geometry.notna()] if len(bts) else None
    slon = pts.x.to_numpy() if pts is not None else np.empty(0)
    slat = pts.y.to_numpy() if pts is not None else np.empty(0)
    ids = [str(v) for v in vil["village_id"]] if len(vil) else []
    is_v = np.r_[np.ones(len(vlon), bool), np.zeros(len(slon), bool)]
    return np.r_[vlon, slon], np.r_[vlat, slat], is_v, ids


def check_raster_cover(bundle: ProvinceBundle, valid_at: Any, path: str | os.PathLike, *,
                       what: str = "DEM", settings: Settings = DEFAULT) -> RasterCover:
    """Refuse (or warn about) a raster that misses villages or sites of the bundle.

    Parameters
    ----------
    bundle
        The checked bundle.
    valid_at
        ``valid_at(lon, lat) -> bool array``: whether the raster has a usable value there.
    path
        The raster (named in the messages).
    what
        ``"DEM"`` or ``"population"``.

    Raises
    ------
    DEMError
        Fewer than ``settings.min_raster_coverage`` of the villages (or of the sites) lie on
        valid cells; the message names the share and the SRTM tiles holding the missing ones.
    """
    from phusong.gis.dem_tiles import srtm_tile_names

    vi = settings.language == "vi"
    lon, lat, is_v, ids = _points_lonlat(bundle)
    ok = np.asarray(valid_at(lon, lat), dtype=bool) if len(lon) else np.zeros(0, bool)
    miss = ~ok
    tiles = sorted({name for x, y in zip(lon[miss], lat[miss], strict=True)
                    for name in srtm_tile_names((x, y, x + 1e-9, y + 1e-9))})
    missing_ids = tuple(i for i, m in zip(ids, miss[is_v], strict=True) if m)
    cover = RasterCover(path=Path(path), villages=int(is_v.sum()),
                        villages_covered=int(ok[is_v].sum()), sites=int((~is_v).sum()),
                        sites_covered=int(ok[~is_v].sum()), missing_tiles=tuple(tiles),
                        missing_villages=missing_ids)
    v, s = cover.village_share, cover.site_share
    counts = (f"{cover.villages_covered}/{cover.villages} "
              + ("thôn bản" if vi else "villages") + f" ({v:.0%}), {cover.sites_covered}/"
              f"{cover.sites} " + ("trạm" if vi else "sites") + f" ({s:.0%})")
    need = settings.min_raster_coverage
    if min(v, s) < need:
        if what == "DEM":
            tip = (f"thiếu ô SRTM {', '.join(tiles)}; thêm bằng phusong import dem, hoặc dùng "
                   "--model radius" if vi else
                   f"missing SRTM tiles {', '.join(tiles)}; add them with phusong import dem, "
                   "or use --model radius")
        else:
            tip = ("dùng raster dân số phủ cả tỉnh, hoặc bỏ population.tif khỏi gói dữ liệu" if vi
                   else "use a population raster of the whole province, or remove "
                   "population.tif from the bundle")
        raise DEMError(f"{path}: " + (
            f"{what} chỉ phủ {counts}; cần ít nhất {need:.0%} — {tip}" if vi else
            f"the {what} covers only {counts}; at least {need:.0%} are needed — {tip}"))
    if min(v, s) < 1.0:
        few = ", ".join(missing_ids[:5]) + (" …" if len(missing_ids) > 5 else "")
        logger.warning("%s", f"{path}: " + (
            f"{what} phủ {counts}; ngoài vùng: {few or 'một số trạm'}" if vi else
            f"the {what} covers {counts}; outside it: {few or 'some sites'}"))
    return cover


def prepare_dem(bundle: ProvinceBundle, dem: Any = None, *, model: str | None = None,
                settings: Settings = DEFAULT) -> Any:
    """Read the DEM a run will use (``dem`` or the bundle's) and check what it covers.

    Returns the metric :class:`~gis.dem.Dem`, or ``None`` when there is none or the radius
    model was asked for.
    """
    from phusong.gis.crs import transformer
    from phusong.gis.dem import Dem, read_dem

    if model == "radius":
        return None
    source = dem if dem is not None else bundle.dem_path
    if source is None:
        return None
    if isinstance(source, Dem):
        d, path = source, "DEM"
    else:
        path = Path(source)
        d = read_dem(path, crs=bundle.metric_crs, units=settings.dem_units,
                     max_elevation_m=settings.dem_max_elevation_m)
    t = transformer(4326, d.crs)

    def valid_at(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        x, y = t.transform(lon, lat)
        return np.isfinite(d.sample(np.asarray(x), np.asarray(y)))

    check_raster_cover(bundle, valid_at, path, what="DEM", settings=settings)
    return d


def check_population(bundle: ProvinceBundle, *, settings: Settings = DEFAULT) -> None:
    """The bundle's population raster, when it has one: readable, covering the villages, no
    negative counts (else refused, one line naming the file)."""
    path = bundle.population_path
    if path is None:
        return
    import rasterio
    from rasterio.warp import transform as warp_transform

    vi = settings.language == "vi"
    try:
        with rasterio.open(path) as ds:
            if ds.crs is None:
                raise DEMError(f"{path}: " + ("raster dân số không có hệ tọa độ" if vi else
                                              "population raster has no CRS"))
            crs, nodata = ds.crs, ds.nodata
            data = ds.read(1, masked=True).astype("float64")
            transform = ds.transform
    except DEMError:
        raise
    except Exception as exc:  # rasterio's own errors: one line naming the file
        raise DEMError(f"{path}: " + (f"không đọc được raster dân số ({exc})" if vi else
                                      f"cannot read the population raster ({exc})")) from None
    z = np.ma.filled(data, np.nan)
    if nodata is None:  # WorldPop's -99999 and friends when undeclared
        z[z <= -9999] = np.nan
    if np.nanmin(z) < 0 if np.isfinite(z).any() else False:
        raise DEMError(f"{path}: " + ("raster dân số có giá trị âm; không phải số người" if vi
                                      else "population raster holds negative values; these "
                                      "are not head counts"))
    inv = ~transform

    def valid_at(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        xs, ys = warp_transform("EPSG:4326", crs, list(lon), list(lat))
        c, r = inv * (np.asarray(xs), np.asarray(ys))
        c, r = np.floor(c).astype(int), np.floor(r).astype(int)
        inside = (r >= 0) & (c >= 0) & (r < z.shape[0]) & (c < z.shape[1])
        out = np.zeros(len(c), bool)
        out[inside] = np.isfinite(z[r[inside], c[inside]])
        return out

    check_raster_cover(bundle, valid_at, path, what="population" if not vi else "raster dân số",
                       settings=settings)


# -- the guarded run -------------------------------------------------------------------------

@dataclasses.dataclass
class GuardedRun:
    """What :func:`guarded_run` hands a command.

    Attributes
    ----------
    bundle
        The bundle with the accepted rows only.
    checked
        Validation results per layer.
    dem
        The checked metric DEM, or ``None`` (radius model or no DEM).
    out
        The staging folder to write into (swapped into the output folder at the end).
    stage
        The staged set.
    """

    bundle: ProvinceBundle
    checked: CheckedBundle | None
    dem: Any
    out: Path
    stage: StagedOutputs


@contextlib.contextmanager
def guarded_set(target: str | os.PathLike, *, patterns: tuple[str, ...],
                overwrite: bool = False, settings: Settings = DEFAULT,
                numbers: Mapping[str, tuple[float | None, str]] | None = None,
                ) -> Iterator[StagedOutputs]:
    """Numbers, output folder and targets checked; yield the opened staged set; commit it on
    success, discard it on any failure (errors name the final paths)."""
    lang = settings.language
    check_numbers(language=lang, **dict(numbers or {}))
    folder = check_out_folder(target, language=lang)
    stage = StagedOutputs(folder, patterns=tuple(patterns) + REJECTS)
    check_targets(stage, overwrite=overwrite, language=lang)
    path = stage.open()
    try:
        yield stage
        stage.commit()
    except (OSError, PhusongError) as exc:  # name the output, not the staging folder
        stage.abort()
        raise _final_paths(exc, path, folder) from None
    except BaseException:  # also a Ctrl-C on the way into the commit
        stage.abort()
        raise


def check_inputs(command: str, bundle: str | os.PathLike | ProvinceBundle, *,
                 settings: Settings = DEFAULT, dem: Any = None, model: str | None = None,
                 ) -> tuple[CheckedBundle | None, ProvinceBundle, Any]:
    """Steps 3–5 of the module docstring: ``(checked, bundle of accepted rows, DEM or None)``."""
    lang = settings.language
    if isinstance(bundle, ProvinceBundle):
        checked, b = None, bundle
    else:
        checked = check_bundle(bundle)
        b = checked.bundle
    require_layers(checked if checked is not None else b, NEEDS.get(command, ()),
                   command=command, language=lang)
    dem_obj = prepare_dem(b, dem, model=model, settings=settings)
    if model == "terrain" and dem_obj is None:
        raise InputError(f"{b.folder}: " + (
            "mô hình địa hình cần DEM; thêm --dem DEM.tif hoặc dùng --model radius"
            if lang == "vi" else "the terrain model needs a DEM; pass --dem DEM.tif or use "
            "--model radius"))
    check_population(b, settings=settings)
    return checked, b, dem_obj


@contextlib.contextmanager
def guarded_run(command: str, bundle: str | os.PathLike | ProvinceBundle, *,
                out: str | os.PathLike, overwrite: bool = False, settings: Settings = DEFAULT,
                dem: Any = None, model: str | None = None,
                patterns: tuple[str, ...] | None = None,
                numbers: Mapping[str, tuple[float | None, str]] | None = None,
                ) -> Iterator[GuardedRun]:
    """Check everything (see the module docstring), then yield a :class:`GuardedRun` whose
    ``out`` is a staging folder; commit the set on success, discard it on any failure."""
    lang = settings.language
    check_numbers(language=lang, **dict(numbers or {}))
    target = check_out_folder(out, language=lang)
    pats = patterns if patterns is not None else output_patterns(command)
    check_targets(StagedOutputs(target, patterns=pats + REJECTS), overwrite=overwrite,
                  language=lang)
    checked, b, dem_obj = check_inputs(command, bundle, settings=settings, dem=dem,
                                       model=model)
    with guarded_set(target, patterns=pats, overwrite=overwrite, settings=settings) as stage:
        assert stage.path is not None
        if checked is not None:
            checked.write_rejects(stage.path / "rejects")
        yield GuardedRun(bundle=b, checked=checked, dem=dem_obj, out=stage.path, stage=stage)


def _final_paths(exc: BaseException, staged: Path, target: Path) -> BaseException:
    """The same error with staging paths replaced by where the files were going."""
    text = str(exc)
    if isinstance(exc, OSError) and not isinstance(exc, PhusongError) and exc.filename:
        text = f"{exc.filename}: {exc.strerror or exc}"
    if str(staged) not in text:
        return exc
    text = text.replace(str(staged), str(target))
    return OutputError(text) if isinstance(exc, OSError) else type(exc)(text)
