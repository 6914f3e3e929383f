"""Land cover for the clutter loss: a class per grid cell, and the loss of each class.

Classes (:data:`layers.settings.CLUTTER_CLASSES`): ``open`` (0), ``water`` (1), ``forest``
(2), ``settlement`` (3); 255 where the source says nothing (no loss). The loss of a class at
1 GHz is :data:`layers.settings.CLUTTER_LOSS_DB` (overridable per class with the
``clutter_losses_db`` setting), scaled by ``(f / 1000 MHz)^0.3``
(:func:`layers.settings.clutter_loss_db`, sources there). It applies at the receiver's cell.

Sources the user brings
    * a class raster (GeoTIFF) in ESA WorldCover 2020/2021 codes: 10 tree cover and 95
      mangroves → forest; 50 built-up → settlement; 80 permanent water → water; 20 shrubland,
      30 grassland, 40 cropland, 60 bare, 70 snow, 90 herbaceous wetland, 100 moss → open.
      It is resampled onto the coverage grid by nearest neighbour.
    * OSM polygons (a GeoPackage/Shapefile/GeoJSON path or a GeoDataFrame) with an
      ``fclass`` column (Geofabrik's free shapefiles ``landuse_a`` / ``natural``) or
      ``landuse`` / ``natural`` columns (OSM tags): ``forest``, ``wood``, ``nature_reserve``,
      ``orchard`` → forest; ``residential``, ``commercial``, ``industrial``, ``retail``,
      ``military``, ``cemetery`` → settlement; ``water``, ``reservoir``, ``basin``,
      ``riverbank``, ``wetland`` → water; everything else → open. Later polygons win where
      they overlap (settlement over forest over water over open).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import affine
import numpy as np
import shapely

from phusong.gis.errors import InputError
from phusong.layers.settings import CLUTTER_CLASSES, DEFAULT, Settings, clutter_loss_db

logger = logging.getLogger(__name__)

__all__ = ["NO_CLASS", "OSM_CLASSES", "WORLDCOVER_CLASSES", "clutter_classes",
           "clutter_loss_grid"]

NO_CLASS = 255
#: ESA WorldCover code → class
WORLDCOVER_CLASSES: dict[int, str] = {10: "forest", 95: "forest", 50: "settlement",
                                      80: "water", 20: "open", 30: "open", 40: "open",
                                      60: "open", 70: "open", 90: "open", 100: "open"}
#: OSM landuse/natural value → class (anything else is open)
OSM_CLASSES: dict[str, str] = {
    "forest": "forest", "wood": "forest", "nature_reserve": "forest", "orchard": "forest",
    "residential": "settlement", "commercial": "settlement", "industrial": "settlement",
    "retail": "settlement", "military": "settlement", "cemetery": "settlement",
    "water": "water", "reservoir": "water", "basin": "water", "riverbank": "water",
    "wetland": "water",
}
_CODE = {c: i for i, c in enumerate(CLUTTER_CLASSES)}
_PAINT_ORDER = ("open", "water", "forest", "settlement")
_VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".fgb", ".kml", ".zip"}


def _from_raster(path: Path, transform: affine.Affine, shape: tuple[int, int],
                 crs) -> np.ndarray:
    import rasterio
    from rasterio.warp import Resampling, reproject

    src_codes = np.full(shape, 0, dtype=np.uint8)
    try:
        with rasterio.open(path) as src:
            reproject(rasterio.band(src, 1), src_codes, dst_transform=transform, dst_crs=crs,
                      resampling=Resampling.nearest, dst_nodata=0)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: cannot read the land-cover raster ({exc})") from None
    out = np.full(shape, NO_CLASS, dtype=np.uint8)
    for code, cls in WORLDCOVER_CLASSES.items():
        out[src_codes == code] = _CODE[cls]
    return out


def _osm_class(frame) -> np.ndarray:
    import pandas as pd

    cls = pd.Series("open", index=frame.index, dtype=object)
    for col in ("fclass", "natural", "landuse"):
        if col in frame:
            mapped = frame[col].astype(str).str.lower().map(OSM_CLASSES)
            cls = cls.where(mapped.isna() | (cls != "open"), mapped)
    return cls.to_numpy()


def _from_vector(gdf, transform: affine.Affine, shape: tuple[int, int], crs) -> np.ndarray:
    from rasterio.features import rasterize

    if gdf.crs is None:
        raise InputError("land-cover polygons have no CRS; set one (OSM files are EPSG:4326)")
    g = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    g = g[g.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    out = np.full(shape, NO_CLASS, dtype=np.uint8)
    if not len(g):
        return out
    # only what overlaps the grid
    x0, y0 = transform * (0, 0)
    x1, y1 = transform * (shape[1], shape[0])
    g = g.to_crs(crs).cx[min(x0, x1):max(x0, x1), min(y0, y1):max(y0, y1)]
    cls = _osm_class(g)
    for name in _PAINT_ORDER:
        part = g.geometry[cls == name]
        if len(part):
            rasterize(((geom, _CODE[name]) for geom in part), out=out, transform=transform,
                      all_touched=False)
    return out


def clutter_classes(source, *, transform: affine.Affine, shape: tuple[int, int],
                    crs) -> np.ndarray:
    """Class code (uint8, :data:`NO_CLASS` where unknown) of every cell of a grid.

    Parameters
    ----------
    source
        A land-cover raster path (ESA WorldCover codes), a vector path or a GeoDataFrame of
        OSM ``landuse``/``natural`` polygons.
    transform, shape, crs
        The coverage grid.
    """
    import geopandas as gpd

    if isinstance(source, gpd.GeoDataFrame):
        out = _from_vector(source, transform, shape, crs)
    else:
        path = Path(os.fspath(source))
        if not path.exists():
            raise InputError(f"{path}: land-cover file not found")
        if path.suffix.lower() in _VECTOR_SUFFIXES:
            x0, y0 = transform * (0, shape[0])
            x1, y1 = transform * (shape[1], 0)
            area = gpd.GeoSeries([shapely.box(min(x0, x1), min(y0, y1), max(x0, x1),
                                              max(y0, y1))], crs=crs)
            try:
                gdf = gpd.read_file(path, bbox=area)
            except Exception as exc:  # pyogrio's errors vary by driver
                raise InputError(f"{path}: cannot read the land-cover polygons ({exc})") \
                    from None
            out = _from_vector(gdf, transform, shape, crs)
        else:
            out = _from_raster(path, transform, shape, crs)
    counts = {c: int((out == i).sum()) for c, i in _CODE.items()}
    logger.info("clutter classes on %d×%d cells: %s", shape[0], shape[1],
                ", ".join(f"{c} {k}" for c, k in counts.items()))
    return out


def clutter_loss_grid(codes: np.ndarray, freq_mhz: float, *,
                      settings: Settings = DEFAULT) -> np.ndarray:
    """Loss (dB, float32) of each cell's class at ``freq_mhz``; 0 where unknown."""
    lut = np.zeros(256, dtype=np.float32)
    for name, i in _CODE.items():
        lut[i] = clutter_loss_db(name, freq_mhz, table=settings.clutter_losses_db)
    return lut[codes]
