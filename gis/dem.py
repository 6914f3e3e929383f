"""Digital elevation models: read (with reprojection and cropping), sample, write, hillshade.

A :class:`Dem` holds a float32 elevation array in metres (NaN marks voids), its affine
transform and CRS. Terrain computations need a metric CRS: pass ``crs=`` to :func:`read_dem`
to reproject a geographic DEM (SRTM, Copernicus in EPSG:4326) onto a projected grid.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from pathlib import Path

import affine
import numpy as np
from pyproj import CRS

from phusong.gis.atomic import atomic_path
from phusong.gis.errors import DEMError

logger = logging.getLogger(__name__)

__all__ = ["Dem", "fill_voids", "hillshade", "read_dem", "write_raster"]


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
    """

    elevation_m: np.ndarray
    transform: affine.Affine
    crs: CRS
    res_m: float = dataclasses.field(default=0.0)

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


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DEMError(f"{path}: DEM file not found; pass --dem with an existing GeoTIFF or .hgt")
    if path.stat().st_size == 0:
        raise DEMError(f"{path}: DEM file is empty (0 bytes); regenerate or re-download it")


def read_dem(path: str | os.PathLike, *, crs=None, bounds=None,
             res_m: float | None = None) -> Dem:
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

    Raises
    ------
    DEMError
        File missing, empty, unreadable, without CRS, or not covering ``bounds``.
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
            else:
                z, transform = _reproject(src, src_crs, target, bounds, res_m, p)
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
    dem = Dem(z.astype(np.float32), transform, target)
    logger.info("read DEM %s: %d×%d cells at %.1f (%s)", p.name, z.shape[0], z.shape[1],
                dem.res_m, target.to_string())
    return dem


def _check_cover(p: Path, have, want) -> None:
    tol = 1e-6 * max(1.0, abs(have[2] - have[0]))
    if (want[0] < have[0] - tol or want[1] < have[1] - tol or want[2] > have[2] + tol
            or want[3] > have[3] + tol):
        raise DEMError(f"{p}: DEM bounds {tuple(round(v, 3) for v in have)} do not cover the "
                       f"requested area {tuple(round(v, 3) for v in want)}; use a larger DEM")


def _reproject(src, src_crs: CRS, target: CRS, bounds, res_m, p: Path):
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
    src_nodata = src.nodata
    reproject(source=_band(src), destination=out, src_transform=src.transform,
              src_crs=src.crs, src_nodata=src_nodata, dst_transform=transform,
              dst_crs=dst_crs, dst_nodata=np.nan, resampling=Resampling.bilinear)
    return out, transform


def _band(src):
    import rasterio

    return rasterio.band(src, 1)


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
    with atomic_path(path, overwrite=overwrite) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr, 1)
            if tags:
                dst.update_tags(**tags)
    logger.info("wrote raster %s (%d×%d)", path, rows, cols)
    return Path(path)


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
