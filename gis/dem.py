"""Digital elevation models: read (with reprojection and cropping), sample, write, hillshade.

A :class:`Dem` holds a float32 elevation array in metres (NaN marks voids), its affine
transform and CRS. Terrain computations need a metric CRS: pass ``crs=`` to :func:`read_dem`
to reproject a geographic DEM (SRTM, Copernicus in EPSG:4326) onto a projected grid.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import math
import os
from pathlib import Path

import affine
import numpy as np
from pyproj import CRS

from phusong.gis.atomic import atomic_path
from phusong.gis.errors import DEMError, OutputError

logger = logging.getLogger(__name__)

__all__ = ["EARTH_MIN_M", "FEET", "MAX_FILL_PX", "VIETNAM_MAX_ELEVATION_M", "VOID_MARKERS",
           "Dem", "ElevationCheck", "clean_elevation", "fill_small_voids", "fill_voids",
           "hillshade", "read_dem", "void_mask", "write_raster"]

#: metres per international foot
FEET = 0.3048
#: highest ground of Vietnam and its borderlands with a margin (Phan Xi Păng is 3 143 m)
VIETNAM_MAX_ELEVATION_M = 3200.0
#: lowest dry land on Earth (Dead Sea shore, −430 m) with a margin; lower values are markers
EARTH_MIN_M = -500.0
#: values DEM producers write for "no data" without always declaring them
VOID_MARKERS = (-32768.0, -32767.0, -9999.0, -99999.0, 32767.0)
#: voids up to this many cells from valid data are filled by interpolation (every path)
MAX_FILL_PX = 100.0
_FEET_UNITS = {"ft", "foot", "feet", "us-ft", "ftus", "us survey foot", "international foot",
               "us_survey_foot", "foot_us"}
_METRE_UNITS = {"m", "metre", "meter", "metres", "meters"}


@dataclasses.dataclass
class Dem:
    """An elevation raster.

    Attributes
    ----------
    elevation_m
        float32 array (rows × cols), NaN = void.
    transform
        Affine transform from (col, row) to map coordinates (north-up).
    crs
        Coordinate reference system.
    res_m
        Cell size in CRS units (metres for a projected CRS): the mean of |a| and |e|.
    check
        What :func:`read_dem` found when reading (units, void markers, filled voids).
    """

    elevation_m: np.ndarray
    transform: affine.Affine
    crs: CRS
    res_m: float = dataclasses.field(default=0.0)
    check: ElevationCheck | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.elevation_m = np.asarray(self.elevation_m, dtype=np.float32)
        self.crs = CRS.from_user_input(self.crs)
        if not self.res_m:
            self.res_m = float((abs(self.transform.a) + abs(self.transform.e)) / 2.0)

    @property
    def shape(self) -> tuple[int, int]:
        return self.elevation_m.shape  # type: ignore[return-value]

    @property
    def res_xy(self) -> tuple[float, float]:
        """Cell width and height (positive)."""
        return abs(self.transform.a), abs(self.transform.e)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the raster's outer edges."""
        rows, cols = self.shape
        x0, y0 = self.transform * (0, 0)
        x1, y1 = self.transform * (cols, rows)
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)

    def xy_to_colrow_f(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Continuous pixel coordinates (col, row) of map points; cell centres at +0.5."""
        inv = ~self.transform
        c, r = inv * (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(c, dtype=float), np.asarray(r, dtype=float)

    def xy_to_rowcol(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Integer (row, col) of the cells holding map points (may be outside the grid)."""
        c, r = self.xy_to_colrow_f(x, y)
        return np.floor(r).astype(np.int64), np.floor(c).astype(np.int64)

    def sample(self, x, y) -> np.ndarray:
        """Bilinear elevation at map points (vectorised); NaN outside the grid or in voids."""
        c, r = self.xy_to_colrow_f(x, y)
        z = self.elevation_m
        nr, nc = z.shape
        fx = np.clip(c - 0.5, 0.0, nc - 1.0)
        fy = np.clip(r - 0.5, 0.0, nr - 1.0)
        j = np.minimum(np.floor(fx).astype(np.int64), max(nc - 2, 0))
        i = np.minimum(np.floor(fy).astype(np.int64), max(nr - 2, 0))
        tx = fx - j
        ty = fy - i
        j1 = np.minimum(j + 1, nc - 1)
        i1 = np.minimum(i + 1, nr - 1)
        top = z[i, j] * (1 - tx) + z[i, j1] * tx
        bot = z[i1, j] * (1 - tx) + z[i1, j1] * tx
        out = (top * (1 - ty) + bot * ty).astype(float)
        outside = (c < 0) | (r < 0) | (c > nc) | (r > nr)
        out[np.atleast_1d(outside)] = np.nan
        return out

    def profile(self, x0: float, y0: float, x1: float, y1: float,
                n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Elevation profile along a straight segment.

        Returns
        -------
        tuple of numpy.ndarray
            ``(distance_m, elevation_m)`` with ``n`` points (default: one per cell size, at
            least 2), distances measured from (x0, y0).
        """
        length = math.hypot(x1 - x0, y1 - y0)
        if n is None:
            n = max(2, math.ceil(length / max(self.res_m, 1e-9)) + 1)
        t = np.linspace(0.0, 1.0, n)
        xs = x0 + (x1 - x0) * t
        ys = y0 + (y1 - y0) * t
        return t * length, self.sample(xs, ys)

    def filled(self) -> np.ndarray:
        """Elevations with voids filled from the nearest valid cell (float32 copy)."""
        return fill_voids(self.elevation_m)


def fill_voids(elevation_m: np.ndarray) -> np.ndarray:
    """Copy of ``elevation_m`` with NaN cells taking the value of the nearest valid cell."""
    z = np.asarray(elevation_m, dtype=np.float32)
    void = ~np.isfinite(z)
    if not void.any():
        return z.copy()
    if void.all():
        raise DEMError("DEM has no valid cell; every value is a void (NaN/nodata)")
    from scipy import ndimage

    _, (ii, jj) = ndimage.distance_transform_edt(void, return_indices=True)
    return z[ii, jj].astype(np.float32)


@dataclasses.dataclass(frozen=True)
class ElevationCheck:
    """What :func:`clean_elevation` found and did.

    Attributes
    ----------
    units
        ``"m"`` or ``"ft"``: the units the values were in (converted to metres).
    how
        How the units were known: ``"declared"``, ``"range"`` (values too high for metres) or
        ``"setting"`` (the caller said).
    marker_voids
        Cells holding an undeclared void marker (−32768, −9999, …), now NaN.
    filled
        Void cells filled by interpolation (:func:`fill_small_voids`).
    min_m, max_m
        Range of the valid elevations after conversion.
    warnings
        One line per fix, naming the file.
    """

    units: str
    how: str
    marker_voids: int
    filled: int
    min_m: float
    max_m: float
    warnings: tuple[str, ...]


def void_mask(z: np.ndarray) -> np.ndarray:
    """Cells that hold no elevation: NaN, a void marker (:data:`VOID_MARKERS`) or a value
    below any dry land even in feet."""
    z = np.asarray(z, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        return (~np.isfinite(z) | np.isin(z, np.asarray(VOID_MARKERS, dtype=np.float32))
                | (z < EARTH_MIN_M / FEET))


def fill_small_voids(z: np.ndarray, *, max_fill_px: float = MAX_FILL_PX) -> tuple[np.ndarray, int]:
    """Fill NaN cells up to ``max_fill_px`` cells from valid data by inverse-distance
    interpolation (GDAL ``FillNodata``); farther voids stay NaN.

    The DEM importer and every reader use this one rule, so a DEM gives the same elevations
    whether it was imported into a bundle or passed directly. Returns ``(array, n_filled)``.
    """
    z = np.asarray(z, dtype=np.float32)
    void = ~np.isfinite(z)
    n_void = int(void.sum())
    if not n_void or void.all():
        return z.copy(), 0
    from rasterio.fill import fillnodata

    work = np.where(void, np.float32(-32768.0), z).astype(np.float32)
    out = fillnodata(work, mask=(~void).astype("uint8"), max_search_distance=max_fill_px,
                     smoothing_iterations=0)
    left = void & (out == np.float32(-32768.0))
    out = out.astype(np.float32)
    out[left] = np.nan
    return out, n_void - int(left.sum())


def clean_elevation(z: np.ndarray, *, source: str = "DEM", units: str = "auto",
                    declared_units: str | None = None,
                    max_elevation_m: float = VIETNAM_MAX_ELEVATION_M,
                    max_fill_px: float | None = MAX_FILL_PX,
                    ) -> tuple[np.ndarray, ElevationCheck]:
    """Make raw elevations usable: undeclared void markers become voids, feet become metres,
    small voids are filled; refuse values that are no elevations at all.

    Parameters
    ----------
    z
        Elevations as read (NaN where a declared nodata was).
    source
        File name for messages.
    units
        ``"auto"`` (from ``declared_units``, else from the range), ``"m"`` or ``"ft"``.
    declared_units
        The raster's own unit label (GDAL band unit type), if any.
    max_elevation_m
        Highest ground the area can have. Values above it in metres but below it in feet are
        read as feet (when the units are not declared); values above it either way are refused.
    max_fill_px
        Fill voids up to this many cells from data (:func:`fill_small_voids`); ``None`` keeps
        them.

    Raises
    ------
    DEMError
        No valid cell; elevations that fit neither metres nor feet; declared metres above the
        highest ground.
    """
    z = np.array(z, dtype=np.float32, copy=True)
    warnings: list[str] = []
    marker = np.isfinite(z) & void_mask(z)
    n_marker = int(marker.sum())
    if n_marker:
        z[marker] = np.nan
        warnings.append(f"{source}: {n_marker} cells hold a no-data marker (such as −32768) the "
                        "file does not declare; they are read as voids")
    valid = np.isfinite(z)
    if not valid.any():
        raise DEMError(f"{source}: DEM has no valid elevation (every cell is a void)")
    lo, hi = float(z[valid].min()), float(z[valid].max())
    declared = (declared_units or "").strip().lower()
    how = "setting"
    if units == "auto":
        if declared in _FEET_UNITS:
            units, how = "ft", "declared"
        elif declared in _METRE_UNITS:
            units, how = "m", "declared"
            if hi > max_elevation_m:
                raise DEMError(f"{source}: elevations reach {hi:,.0f} m, higher than any ground "
                               f"here ({max_elevation_m:,.0f} m), though the file says metres; "
                               "check the DEM's units (set dem_units to 'ft' if it is in feet)")
        elif hi > max_elevation_m and hi * FEET <= max_elevation_m:
            units, how = "ft", "range"
        elif hi > max_elevation_m:
            raise DEMError(f"{source}: elevations reach {hi:,.0f}, which is neither metres nor "
                           f"feet of ground here (highest {max_elevation_m:,.0f} m); this is not "
                           "an elevation model of the area")
        else:
            units, how = "m", "range"
    elif units not in ("m", "ft"):
        raise DEMError(f"{source}: unknown DEM units {units!r}; use m or ft")
    if units == "ft":
        z *= np.float32(FEET)
        lo, hi = lo * FEET, hi * FEET
        why = {"declared": "the file declares feet",
               "range": f"values up to {hi / FEET:,.0f} are too high for metres here",
               "setting": "the settings say feet"}[how]
        warnings.append(f"{source}: elevations read as feet and converted to metres ({why}); "
                        f"range {lo:,.0f}–{hi:,.0f} m")
    if hi > max_elevation_m:
        raise DEMError(f"{source}: elevations reach {hi:,.0f} m, higher than any ground here "
                       f"({max_elevation_m:,.0f} m); check the DEM's units")
    filled = 0
    if max_fill_px is not None and not valid.all():
        z, filled = fill_small_voids(z, max_fill_px=max_fill_px)
    return z, ElevationCheck(units=units, how=how, marker_voids=n_marker, filled=filled,
                             min_m=lo, max_m=hi, warnings=tuple(warnings))


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DEMError(f"{path}: DEM file not found; pass --dem with an existing GeoTIFF or .hgt")
    if path.stat().st_size == 0:
        raise DEMError(f"{path}: DEM file is empty (0 bytes); regenerate or re-download it")


def read_dem(path: str | os.PathLike, *, crs=None, bounds=None,
             res_m: float | None = None, units: str = "auto",
             max_elevation_m: float = VIETNAM_MAX_ELEVATION_M,
             max_fill_px: float | None = MAX_FILL_PX) -> Dem:
    """Read a DEM, optionally reprojected to ``crs`` and cropped to ``bounds``.

    Parameters
    ----------
    path
        Any raster GDAL reads (GeoTIFF, SRTM ``.hgt``, ...).
    crs
        Target CRS (anything pyproj accepts). The DEM is reprojected with bilinear resampling
        (``rasterio.warp``) when it differs; ``res_m`` sets the target cell size (default: the
        source resolution expressed in the target's units).
    bounds
        ``(xmin, ymin, xmax, ymax)`` in the target CRS (or the file's CRS when ``crs`` is
        None). The result is cropped to them; a DEM that does not cover them entirely raises.
    res_m
        Target cell size when reprojecting.
    units, max_elevation_m, max_fill_px
        Elevation sanity (:func:`clean_elevation`), applied before any resampling: undeclared
        void markers become voids, feet become metres (declared, or detected from a range too
        high for metres), small voids are filled as the importer fills them.

    Raises
    ------
    DEMError
        File missing, empty, unreadable, without CRS, not covering ``bounds``, or holding
        values that are no elevations.
    """
    import rasterio
    from rasterio.windows import from_bounds

    p = Path(path)
    _check_file(p)
    try:
        src = rasterio.open(p)
    except Exception as exc:
        raise DEMError(f"{p}: cannot be read as a raster ({str(exc).splitlines()[0]}); "
                       "give a GeoTIFF or SRTM .hgt DEM") from None
    with src:
        if src.crs is None:
            raise DEMError(f"{p}: DEM has no CRS; assign one (e.g. gdal_edit.py -a_srs "
                           "EPSG:4326) and retry")
        src_crs = CRS.from_user_input(src.crs.to_wkt())
        target = CRS.from_user_input(crs) if crs is not None else src_crs
        declared = (src.units or (None,))[0] or src.tags(1).get("UNITTYPE")
        clean = dict(source=str(p), units=units, declared_units=declared,
                     max_elevation_m=max_elevation_m, max_fill_px=max_fill_px)
        try:
            if target.equals(src_crs) and res_m is None:
                if bounds is not None:
                    _check_cover(p, src.bounds, bounds)
                    win = from_bounds(*bounds, transform=src.transform).round_offsets(
                        op="floor").round_lengths(op="ceil")
                    data = src.read(1, window=win, masked=True)
                    transform = src.window_transform(win)
                else:
                    data = src.read(1, masked=True)
                    transform = src.transform
                z = np.ma.filled(data.astype(np.float32), np.nan)
                z, check = clean_elevation(z, **clean)
            else:
                z, transform, check = _reproject(src, src_crs, target, bounds, res_m, p, clean)
        except DEMError:
            raise
        except Exception as exc:
            raise DEMError(f"{p}: cannot read the DEM ({str(exc).splitlines()[0]}); "
                           "the file may be truncated") from None
    if z.size == 0 or not np.isfinite(z).any():
        raise DEMError(f"{p}: DEM has no valid elevation in the requested area")
    if transform.b != 0 or transform.d != 0 or transform.e >= 0:
        raise DEMError(f"{p}: rotated or south-up DEMs are not supported; warp it north-up "
                       "with gdalwarp")
    dem = Dem(z.astype(np.float32), transform, target, check=check)
    for line in check.warnings:
        logger.warning("%s", line)
    logger.info("read DEM %s: %d×%d cells at %.1f (%s)", p.name, z.shape[0], z.shape[1],
                dem.res_m, target.to_string())
    return dem


def _check_cover(p: Path, have, want) -> None:
    tol = 1e-6 * max(1.0, abs(have[2] - have[0]))
    if (want[0] < have[0] - tol or want[1] < have[1] - tol or want[2] > have[2] + tol
            or want[3] > have[3] + tol):
        raise DEMError(f"{p}: DEM bounds {tuple(round(v, 3) for v in have)} do not cover the "
                       f"requested area {tuple(round(v, 3) for v in want)}; use a larger DEM")


def _reproject(src, src_crs: CRS, target: CRS, bounds, res_m, p: Path, clean: dict):
    from rasterio.crs import CRS as RioCRS
    from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

    dst_crs = RioCRS.from_wkt(target.to_wkt())
    src_bounds_t = transform_bounds(src.crs, dst_crs, *src.bounds, densify_pts=21)
    if bounds is not None:
        # the source footprint in the target CRS is not a rectangle; check corners inside
        _check_cover(p, src_bounds_t, bounds)
        left, bottom, right, top = bounds
    else:
        left, bottom, right, top = src_bounds_t
    if res_m is None:
        t, _w, _h = calculate_default_transform(src.crs, dst_crs, src.width, src.height,
                                              *src.bounds)
        res_m = abs(t.a)
    width = max(1, math.ceil((right - left) / res_m))
    height = max(1, math.ceil((top - bottom) / res_m))
    transform = affine.Affine(res_m, 0, left, 0, -res_m, top)
    out = np.full((height, width), np.nan, dtype=np.float32)
    # markers, units and voids are settled on the source grid, before any resampling mixes a
    # −32768 marker into its neighbours
    z, check = clean_elevation(np.ma.filled(src.read(1, masked=True).astype(np.float32),
                                            np.nan), **clean)
    reproject(source=z, destination=out, src_transform=src.transform,
              src_crs=src.crs, src_nodata=np.nan, dst_transform=transform,
              dst_crs=dst_crs, dst_nodata=np.nan, resampling=Resampling.bilinear)
    return out, transform, check


def write_raster(path: str | os.PathLike, array: np.ndarray, transform: affine.Affine, crs, *,
                 nodata: float | None = None, overwrite: bool = False,
                 tags: dict[str, str] | None = None) -> Path:
    """Write a single-band float32 GeoTIFF atomically (deflate, tiled).

    NaN marks missing values; ``nodata`` defaults to NaN.
    """
    import rasterio
    from rasterio.crs import CRS as RioCRS

    arr = np.asarray(array, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"write_raster: expected a 2-D array, got shape {arr.shape}")
    rows, cols = arr.shape
    profile = {"driver": "GTiff", "height": rows, "width": cols, "count": 1,
               "dtype": "float32", "crs": RioCRS.from_wkt(CRS.from_user_input(crs).to_wkt()),
               "transform": transform, "nodata": np.nan if nodata is None else nodata,
               "compress": "deflate", "predictor": 3}
    if rows >= 256 and cols >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    from rasterio.errors import RasterioError

    with atomic_path(path, overwrite=overwrite) as tmp:
        try:
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(arr, 1)
                if tags:
                    dst.update_tags(**tags)
        except RasterioError as exc:  # GDAL says "Write failed": name the file and why
            why = os.strerror(errno.ENOSPC) if _disk_full(Path(tmp)) else str(exc)
            raise OutputError(f"{path}: cannot be written ({why})") from None
    logger.info("wrote raster %s (%d×%d)", path, rows, cols)
    return Path(path)


def _disk_full(path: Path) -> bool:
    """Whether the file system holding ``path`` has (almost) no space left."""
    try:
        st = os.statvfs(path.parent)
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def hillshade(dem: Dem, *, azimuth_deg: float = 315.0, altitude_deg: float = 45.0,
              z_factor: float = 1.0) -> np.ndarray:
    """Hillshade (0–255 uint8) of a metric DEM, Horn's method; voids are 0."""
    z = fill_voids(dem.elevation_m).astype(float) * z_factor
    rx, ry = dem.res_xy
    zp = np.pad(z, 1, mode="edge")
    # Horn (1981) 3×3 gradients
    a, b, c = zp[:-2, :-2], zp[:-2, 1:-1], zp[:-2, 2:]
    d, f = zp[1:-1, :-2], zp[1:-1, 2:]
    g, h, i = zp[2:, :-2], zp[2:, 1:-1], zp[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * rx)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8 * ry)  # positive = downhill to the north
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(dzdy, -dzdx)
    zen = math.radians(90.0 - altitude_deg)
    azi = math.radians((360.0 - azimuth_deg + 90.0) % 360.0)
    shade = (math.cos(zen) * np.cos(slope)
             + math.sin(zen) * np.sin(slope) * np.cos(azi - aspect))
    out = np.clip(shade * 255.0, 0, 255).astype(np.uint8)
    out[~np.isfinite(dem.elevation_m)] = 0
    return out
