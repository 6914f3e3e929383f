"""Import a DEM from GeoTIFFs or SRTM ``.hgt`` tiles: mosaic, clip, reproject, fill voids.

Elevation data comes as it comes: one GeoTIFF (Copernicus GLO-30, ALOS, a national DEM in
VN-2000) or a folder of SRTM tiles (``N22E103.hgt``, 1″ = 3601² cells or 3″ = 1201² cells,
big-endian int16, −32768 = void; also zipped as ``N22E103.hgt.zip``). :func:`import_dem`
turns any mix of them into one float32 GeoTIFF over an area of interest:

1. the sources are opened with rasterio (GDAL's SRTMHGT driver reads ``.hgt``); sources in
   another CRS than the first are warped on the fly (``WarpedVRT``);
2. they are mosaicked with :func:`rasterio.merge.merge` over the area's bounds plus a halo
   (so that analyses near the edge see the terrain beyond it);
3. voids inside the sources' footprints are filled by inverse-distance interpolation
   (:func:`rasterio.fill.fillnodata`, GDAL's ``FillNodata``) up to ``max_fill_px`` cells
   away; larger voids and ground outside every source stay NaN and are reported;
4. the mosaic is reprojected (bilinear) to the metric CRS (by default the VN-2000 TM-3 zone
   of the area, :func:`gis.crs.tm3_crs_for_lon`) at ``res_m`` (by default the sources'
   native resolution in metres) and written atomically, NaN = void.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
import shapely
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from rasterio.merge import merge
from rasterio.transform import from_origin, rowcol
from rasterio.vrt import WarpedVRT
from rasterio.warp import reproject, transform_bounds
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from phusong.gis.atomic import atomic_path, check_writable
from phusong.gis.dem import clean_elevation, void_mask
from phusong.gis.errors import CRSMismatchError, DEMError, InputError

logger = logging.getLogger(__name__)

__all__ = ["HGT_SIZES", "DemImport", "find_dem_sources", "import_dem", "srtm_tile_names"]

#: SRTM tile edge length in cells by resolution in arc-seconds
HGT_SIZES = {1: 3601, 3: 1201}
_HGT_NAME = re.compile(r"^([NS])(\d{2})([EW])(\d{3})\.hgt(\.zip)?$", re.IGNORECASE)
_RASTER_SUFFIXES = (".tif", ".tiff", ".hgt", ".hgt.zip", ".vrt", ".img", ".asc")
_VOID = -32768.0
_METRES_PER_DEGREE = 111_320.0


@dataclasses.dataclass
class DemImport:
    """What :func:`import_dem` did.

    Attributes
    ----------
    path
        The GeoTIFF written.
    sources
        The source files used, in mosaic order.
    crs
        CRS of the output.
    res_m
        Cell size of the output in metres.
    shape
        (rows, cols) of the output.
    voids_filled
        Source cells that were void and were filled by interpolation.
    voids_left
        Output cells inside the area plus halo left NaN (voids too large to fill, or ground
        outside every source).
    area_covered
        Share (0..1) of the area of interest that the sources cover.
    warnings
        Human-readable warnings (missing tiles, large voids).
    """

    path: Path
    sources: list[Path]
    crs: CRS
    res_m: float
    shape: tuple[int, int]
    voids_filled: int
    voids_left: int
    area_covered: float
    warnings: list[str] = dataclasses.field(default_factory=list)


def srtm_tile_names(bounds_lonlat: Sequence[float]) -> list[str]:
    """SRTM tile names (``N22E103``) covering lon/lat bounds (west, south, east, north)."""
    west, south, east, north = bounds_lonlat
    names = []
    for lat in range(math.floor(south), math.ceil(north)):
        for lon in range(math.floor(west), math.ceil(east)):
            ns, ew = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
            names.append(f"{ns}{abs(lat):02d}{ew}{abs(lon):03d}")
    return names


def find_dem_sources(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files and folders into the raster files a DEM is built from (sorted).

    Folders are searched (not recursively) for ``.tif``, ``.tiff``, ``.hgt``, ``.hgt.zip``,
    ``.vrt``, ``.img`` and ``.asc`` files.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            inside = sorted(q for q in p.iterdir()
                            if q.is_file() and q.name.lower().endswith(_RASTER_SUFFIXES))
            if not inside:
                raise InputError(f"{p}: folder holds no DEM files ({', '.join(_RASTER_SUFFIXES)})")
            found += inside
        elif p.exists():
            found.append(p)
        else:
            raise InputError(f"{p}: no such DEM file or folder")
    if not found:
        raise InputError("no DEM source given; pass GeoTIFF files, .hgt tiles or a folder")
    return found


def _gdal_path(path: Path) -> str:
    """The path GDAL should open (zipped SRTM tiles are read in place through /vsizip/)."""
    if path.name.lower().endswith(".hgt.zip"):
        with zipfile.ZipFile(path) as zf:
            inner = [n for n in zf.namelist() if n.lower().endswith(".hgt")]
        if not inner:
            raise DEMError(f"{path}: zip archive holds no .hgt tile")
        return f"/vsizip/{path}/{inner[0]}"
    return str(path)


def _check_hgt(path: Path) -> None:
    m = _HGT_NAME.match(path.name)
    if m is None:
        raise DEMError(f"{path}: an SRTM tile must be named like N22E103.hgt (south-west "
                       "corner); rename it")
    if m.group(5):
        return  # zipped; GDAL checks the size
    size = path.stat().st_size
    valid = {n * n * 2: arcsec for arcsec, n in HGT_SIZES.items()}
    if size not in valid:
        raise DEMError(f"{path}: {size} bytes is not an SRTM tile (3″ tiles are "
                       f"{1201 * 1201 * 2} bytes, 1″ tiles {3601 * 3601 * 2}); the file is "
                       "truncated or not an .hgt tile")


def _open(path: Path) -> rasterio.DatasetReader:
    if path.name.lower().endswith((".hgt", ".hgt.zip")):
        _check_hgt(path)
    if path.stat().st_size == 0:
        raise DEMError(f"{path}: empty file")
    try:
        ds = rasterio.open(_gdal_path(path))
    except rasterio.errors.RasterioIOError as exc:
        raise DEMError(f"{path}: cannot be read as a raster ({exc}); pass a GeoTIFF or "
                       "SRTM .hgt tile") from None
    if ds.crs is None:
        ds.close()
        raise CRSMismatchError(f"{path}: raster has no CRS; assign one first, e.g. "
                               "`gdal_edit.py -a_srs EPSG:4326 FILE` (or EPSG:9205 for "
                               "VN-2000 TM-3 103°)")
    if ds.count < 1:
        ds.close()
        raise DEMError(f"{path}: raster has no band")
    return ds


def _res_m(ds: rasterio.io.DatasetReader | WarpedVRT) -> float:
    rx, ry = ds.res
    if ds.crs.is_geographic:
        lat = (ds.bounds.bottom + ds.bounds.top) / 2.0
        return float(min(rx * _METRES_PER_DEGREE * math.cos(math.radians(lat)),
                         ry * _METRES_PER_DEGREE))
    return float(min(rx, ry))


def import_dem(sources: str | os.PathLike | Iterable[str | os.PathLike],
               out_path: str | os.PathLike, *, area_lonlat: BaseGeometry | Sequence[float],
               halo_m: float = 2_000.0, dst_crs: CRS | str | int | None = None,
               res_m: float | None = None, max_fill_px: float = 100.0,
               overwrite: bool = False) -> DemImport:
    """Mosaic, clip, fill and reproject DEM sources into one float32 GeoTIFF.

    Parameters
    ----------
    sources
        GeoTIFF files, SRTM ``.hgt``/``.hgt.zip`` tiles, or folders holding them.
    out_path
        The GeoTIFF to write (NaN = void), atomically.
    area_lonlat
        The area of interest in lon/lat (EPSG:4326): a shapely geometry or
        ``(west, south, east, north)``.
    halo_m
        Margin kept around the area, in metres.
    dst_crs
        Output CRS; by default the VN-2000 TM-3 zone nearest the area's centre.
    res_m
        Output cell size in metres; by default the finest source's native resolution.
    max_fill_px
        Voids are filled from valid cells at most this many source cells away.
    overwrite
        Replace an existing ``out_path``.

    Returns
    -------
    DemImport

    Raises
    ------
    DEMError
        A source is unreadable or truncated, or no source covers the area.
    CRSMismatchError
        A source has no CRS.
    """
    out_path = check_writable(out_path, overwrite=overwrite)
    paths = find_dem_sources(sources)
    area = box(*area_lonlat) if not isinstance(area_lonlat, BaseGeometry) else area_lonlat
    if area.is_empty:
        raise InputError("the area of interest is empty")
    if dst_crs is None:
        from phusong.gis.crs import tm3_crs_for_lon

        dst_crs = tm3_crs_for_lon(area.centroid.x)
    dst_crs = CRS.from_user_input(dst_crs)
    to_dst = Transformer.from_crs("EPSG:4326", dst_crs, always_xy=True)
    area_dst = shapely.transform(area, lambda xy: np.column_stack(
        to_dst.transform(xy[:, 0], xy[:, 1])))
    clip_dst = area_dst.buffer(halo_m)
    warnings: list[str] = []

    with contextlib.ExitStack() as stack:
        opened = [stack.enter_context(_open(p)) for p in paths]
        src_crs = opened[0].crs
        datasets = []
        for p, ds in zip(paths, opened, strict=True):
            if ds.crs != src_crs:
                logger.info("warping %s from %s to %s for the mosaic", p.name, ds.crs, src_crs)
                ds = stack.enter_context(WarpedVRT(ds, crs=src_crs,
                                                   resampling=Resampling.bilinear))
            datasets.append(ds)
        native_res_m = min(_res_m(ds) for ds in datasets)
        res_m = float(res_m) if res_m else round(native_res_m, 1)
        clip_src = transform_bounds(dst_crs, src_crs, *clip_dst.bounds, densify_pts=21)
        union = _bounds_union([ds.bounds for ds in datasets])
        if not box(*union).intersects(box(*clip_src)):
            raise DEMError(f"DEM sources ({', '.join(p.name for p in paths)}) cover "
                           f"{_fmt_bounds(union)} in {src_crs}, which misses the area "
                           f"{_fmt_bounds(clip_src)}; pass the tiles of the area "
                           f"(SRTM: {', '.join(srtm_tile_names(area.bounds))})")
        # the first source's grid, snapped outwards: tiles are read without resampling
        ref = datasets[0]
        res_x, res_y = ref.res
        ox, oy = ref.transform.c, ref.transform.f
        clip_src = (ox + math.floor((clip_src[0] - ox) / res_x) * res_x,
                    oy - math.ceil((oy - clip_src[1]) / res_y) * res_y,
                    ox + math.ceil((clip_src[2] - ox) / res_x) * res_x,
                    oy - math.floor((oy - clip_src[3]) / res_y) * res_y)
        try:
            mosaic, transform = merge(datasets, bounds=clip_src, res=(res_x, res_y),
                                      nodata=_VOID, dtype="float32",
                                      resampling=Resampling.nearest)
        except (rasterio.errors.RasterioIOError, ValueError) as exc:
            raise DEMError(f"DEM sources cannot be mosaicked ({exc})") from None
        footprint = np.zeros(mosaic.shape[1:], dtype=bool)
        for ds in datasets:
            r0, c0 = rowcol(transform, ds.bounds.left, ds.bounds.top, op=math.floor)
            r1, c1 = rowcol(transform, ds.bounds.right, ds.bounds.bottom, op=math.ceil)
            footprint[max(r0, 0):max(r1, 0), max(c0, 0):max(c1, 0)] = True
        src_nodata = [ds.nodata for ds in datasets]
        src_units = (datasets[0].units or (None,))[0]

    z = mosaic[0].astype("float32")
    void = void_mask(z)
    for nd in {v for v in src_nodata if v is not None and np.isfinite(v)}:
        void |= z == nd
    n_void = int((void & footprint).sum())
    if void.all():
        raise DEMError(f"DEM sources ({', '.join(p.name for p in paths)}) hold no valid "
                       "elevation over the area")
    z[void] = np.nan
    # the one rule of every DEM path: units checked, voids filled up to max_fill_px cells
    z, check = clean_elevation(z, source=", ".join(p.name for p in paths),
                               declared_units=src_units, max_fill_px=max_fill_px)
    warnings.extend(check.warnings)
    left = ~np.isfinite(z) & footprint
    n_filled = n_void - int(left.sum())
    if left.any():
        warnings.append(f"{int(left.sum())} void cells are farther than "
                        f"{max_fill_px:g} cells from valid data and stay void")
    z[~footprint] = np.nan
    logger.info("mosaicked %d DEM sources: %d×%d cells, %d voids filled",
                len(paths), z.shape[0], z.shape[1], n_filled)

    # output grid: the clip box in the metric CRS, snapped to res_m
    west, south, east, north = clip_dst.bounds
    west, south = math.floor(west / res_m) * res_m, math.floor(south / res_m) * res_m
    east, north = math.ceil(east / res_m) * res_m, math.ceil(north / res_m) * res_m
    cols, rows = round((east - west) / res_m), round((north - south) / res_m)
    dst_transform = from_origin(west, north, res_m, res_m)
    out = np.full((rows, cols), np.nan, dtype="float32")
    reproject(z, out, src_transform=transform, src_crs=src_crs, src_nodata=np.nan,
              dst_transform=dst_transform, dst_crs=dst_crs, dst_nodata=np.nan,
              resampling=Resampling.bilinear)

    # share of the (unbuffered) area that has elevation
    from rasterio.features import geometry_mask

    inside = geometry_mask([area_dst], out_shape=out.shape, transform=dst_transform,
                           invert=True, all_touched=False)
    if not inside.any():
        inside[rowcol(dst_transform, area_dst.centroid.x, area_dst.centroid.y)] = True
    covered = float(np.isfinite(out[inside]).mean())
    if covered == 0:
        raise DEMError("DEM sources hold no elevation inside the area; pass the tiles of the "
                       f"area (SRTM: {', '.join(srtm_tile_names(area.bounds))})")
    if covered < 0.999:
        have = {(_HGT_NAME.match(p.name) and p.name[:7].upper()) for p in paths}
        missing = [n for n in srtm_tile_names(area.bounds) if n not in have]
        hint = f"; missing SRTM tiles: {', '.join(missing)}" if missing and any(have) else ""
        warnings.append(f"the DEM covers {covered:.1%} of the area{hint}")
    for w in warnings:
        logger.warning(w)

    profile = {"driver": "GTiff", "width": cols, "height": rows, "count": 1,
               "dtype": "float32", "crs": dst_crs, "transform": dst_transform,
               "nodata": np.nan, "compress": "deflate", "predictor": 3}
    if rows >= 256 and cols >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with atomic_path(out_path, overwrite=overwrite) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(out, 1)
    in_clip = geometry_mask([clip_dst], out_shape=out.shape, transform=dst_transform,
                            invert=True)
    voids_left = int((~np.isfinite(out) & in_clip).sum())
    logger.info("wrote DEM %s: %d×%d cells of %.1f m in %s", out_path, rows, cols, res_m,
                dst_crs.name)
    return DemImport(path=Path(out_path), sources=paths, crs=dst_crs, res_m=res_m,
                     shape=(rows, cols), voids_filled=n_filled, voids_left=voids_left,
                     area_covered=covered, warnings=warnings)


def _bounds_union(bounds: Iterable[Sequence[float]]) -> tuple[float, float, float, float]:
    b = np.array([tuple(x) for x in bounds], dtype=float)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def _fmt_bounds(b: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.4f}" for v in b) + ")"
