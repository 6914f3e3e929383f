"""The province bundle: one GeoPackage with the vector layers, plus a DEM GeoTIFF.

A bundle on disk is a folder (or a ``.gpkg`` path) holding

* ``bundle.gpkg`` — the layers of :data:`layers.schema.LAYERS` in EPSG:4326 and a
  non-spatial ``bundle_meta`` table of key/value pairs;
* ``dem.tif`` — the DEM (any CRS; the sample writes it in the province's TM-3 zone);
* optionally ``population.tif``.

``bundle_meta`` keys: ``province`` (name), ``province_code``, ``preset``, ``seed``,
``sample`` (``"true"`` for generated sample data), ``metric_epsg`` (the TM-3 zone),
``dem`` and ``population`` (file names relative to the bundle folder), ``created_by``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from phusong.gis.atomic import atomic_path, check_writable
from phusong.gis.errors import InputError
from phusong.layers.schema import LAYERS

logger = logging.getLogger(__name__)

__all__ = ["BUNDLE_FILE", "ProvinceBundle", "empty_layer", "read_bundle", "write_bundle"]

BUNDLE_FILE = "bundle.gpkg"
META_LAYER = "bundle_meta"
EXCHANGE_CRS = "EPSG:4326"


def empty_layer(name: str) -> gpd.GeoDataFrame:
    """An empty GeoDataFrame with the columns of layer ``name`` in EPSG:4326."""
    cols = [f.name for f in LAYERS[name].fields]
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in cols}, geometry=[],
                            crs=EXCHANGE_CRS)


@dataclasses.dataclass
class ProvinceBundle:
    """The layers of one province in memory.

    Attributes
    ----------
    layers
        Layer name → GeoDataFrame in EPSG:4326. Missing optional layers are absent.
    meta
        Key/value metadata (see the module docstring).
    folder
        Where the bundle lives on disk (``None`` for an in-memory bundle).
    """

    layers: dict[str, gpd.GeoDataFrame]
    meta: dict[str, str] = dataclasses.field(default_factory=dict)
    folder: Path | None = None

    # -- access -----------------------------------------------------------------------------
    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        return self.layer(name)

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """A layer by name; an empty layer with the schema's columns when absent."""
        if name not in LAYERS:
            raise KeyError(f"unknown layer {name!r}; layers are {', '.join(LAYERS)}")
        gdf = self.layers.get(name)
        return empty_layer(name) if gdf is None else gdf

    def has(self, name: str) -> bool:
        return name in self.layers and len(self.layers[name]) > 0

    @property
    def is_sample(self) -> bool:
        """True for generated sample data, which every output labels as such."""
        return self.meta.get("sample", "false").lower() == "true"

    @property
    def province(self) -> str:
        return self.meta.get("province", "")

    @property
    def metric_crs(self) -> CRS:
        """The province's metric CRS (a VN-2000 TM-3 zone).

        Taken from ``meta['metric_epsg']``, else chosen from the extent of the layers.
        """
        epsg = self.meta.get("metric_epsg")
        if epsg:
            return CRS.from_epsg(int(epsg))
        from phusong.gis.crs import tm3_crs_for_lon

        bounds = self.total_bounds()
        return tm3_crs_for_lon((bounds[0] + bounds[2]) / 2.0)

    def to_metric(self, name: str) -> gpd.GeoDataFrame:
        """Layer ``name`` reprojected to :attr:`metric_crs` (index kept)."""
        gdf = self.layer(name)
        return gdf.to_crs(self.metric_crs)

    def total_bounds(self) -> tuple[float, float, float, float]:
        """Lon/lat bounds of all layers together."""
        frames = [g for g in self.layers.values() if len(g)]
        if not frames:
            raise InputError("bundle has no features; cannot compute its extent")
        b = pd.DataFrame([g.to_crs(EXCHANGE_CRS).total_bounds for g in frames])
        return (b[0].min(), b[1].min(), b[2].max(), b[3].max())

    def _file(self, key: str, default: str) -> Path | None:
        if self.folder is None:
            return None
        p = self.folder / self.meta.get(key, default)
        return p if p.exists() else None

    @property
    def dem_path(self) -> Path | None:
        """Path of the DEM GeoTIFF, when the bundle has one."""
        return self._file("dem", "dem.tif")

    @property
    def population_path(self) -> Path | None:
        """Path of the population raster, when the bundle has one."""
        return self._file("population", "population.tif")

    def counts(self) -> dict[str, int]:
        """Feature count per layer present."""
        return {name: len(gdf) for name, gdf in self.layers.items()}


def _gpkg_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.suffix.lower() == ".gpkg":
        return p
    return p / BUNDLE_FILE


def _for_storage(name: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Yes/no columns with unknown values as 1.0/0.0/NULL numbers, and whole numbers with
    unknown values as NULL-able numbers (pyogrio would store ``"<NA>"`` text otherwise)."""
    out = gdf
    for spec in LAYERS[name].fields if name in LAYERS else ():
        if spec.name not in gdf.columns or spec.kind not in ("bool", "int"):
            continue
        col = gdf[spec.name]
        if col.dtype == bool or (pd.api.types.is_integer_dtype(col.dtype) and str(
                col.dtype) != "Int64"):
            continue
        missing = col.isna()
        if spec.kind == "bool" and not col[~missing].map(
                lambda v: isinstance(v, bool | np.bool_)).all():
            continue
        if spec.kind == "int" and not col[~missing].map(
                lambda v: isinstance(v, int | float | np.number)).all():
            continue
        if out is gdf:
            out = gdf.copy()
        out[spec.name] = np.array([np.nan if m else float(v) for v, m in zip(col, missing,
                                                                            strict=True)])
    return out


def restore_dtypes(name: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Schema types of a layer read from a GeoPackage: yes/no fields as booleans (nullable
    ``boolean`` where some are unknown), whole-number fields as integers (``Int64`` where some
    are unknown). Values that are neither are left as read (validation reports them)."""
    out = gdf
    for spec in LAYERS[name].fields if name in LAYERS else ():
        if spec.name not in gdf.columns or spec.kind not in ("bool", "int"):
            continue
        col = gdf[spec.name]
        try:
            if spec.kind == "bool":
                if col.dtype == bool:
                    continue
                num = pd.to_numeric(col, errors="raise")
                if not num.dropna().isin([0, 1]).all():
                    continue
                new = num.astype("boolean")
                new = new.astype(bool) if not new.isna().any() else new
            else:
                if pd.api.types.is_integer_dtype(col.dtype):
                    continue
                num = pd.to_numeric(col, errors="raise")
                if not (num.dropna() == num.dropna().round()).all():
                    continue
                new = num.astype("Int64")
                new = new.astype("int64") if not new.isna().any() else new
        except (ValueError, TypeError):
            continue
        if out is gdf:
            out = gdf.copy()
        out[spec.name] = new
    return out


def read_bundle(path: str | os.PathLike) -> ProvinceBundle:
    """Read a bundle from a folder or a ``.gpkg`` file.

    Layers are returned in EPSG:4326 whatever CRS they were stored in.
    """
    gpkg = _gpkg_path(path)
    if not gpkg.exists():
        raise InputError(f"{gpkg}: no such bundle (expected a folder with {BUNDLE_FILE} "
                         "or a .gpkg file)")
    if gpkg.stat().st_size == 0:
        raise InputError(f"{gpkg}: empty file, not a GeoPackage")
    try:
        listed = pyogrio.list_layers(gpkg)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputError(f"{gpkg}: cannot be read as a GeoPackage ({exc})") from None
    layers: dict[str, gpd.GeoDataFrame] = {}
    meta: dict[str, str] = {}
    for name, _geom in listed:
        try:
            if name == META_LAYER:
                df = pyogrio.read_dataframe(gpkg, layer=name)
                meta = {str(k): str(v) for k, v in zip(df["key"], df["value"], strict=True)}
            elif name in LAYERS:
                gdf = pyogrio.read_dataframe(gpkg, layer=name)
                if gdf.crs is None:
                    raise InputError(f"{gpkg}: layer {name} has no CRS; bundles store EPSG:4326")
                layers[name] = restore_dtypes(name, gdf.to_crs(EXCHANGE_CRS) if not gdf.crs.equals(
                    CRS.from_user_input(EXCHANGE_CRS)) else gdf)
            else:
                logger.debug("ignoring layer %s in %s", name, gpkg)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{gpkg}: layer {name} cannot be read ({exc})") from None
    logger.info("read bundle %s: %s", gpkg, ", ".join(f"{k} {len(v)}" for k, v in layers.items()))
    return ProvinceBundle(layers=layers, meta=meta, folder=gpkg.parent)


def write_bundle(bundle: ProvinceBundle, path: str | os.PathLike, *,
                 overwrite: bool = False, meta: Mapping[str, str] | None = None) -> Path:
    """Write the bundle's layers and metadata to a GeoPackage atomically.

    ``path`` is a folder (the file is ``bundle.gpkg`` inside it) or a ``.gpkg`` path. Rasters
    are not copied; write them beside the GeoPackage and name them in ``meta``.
    """
    gpkg = _gpkg_path(path)
    check_writable(gpkg, overwrite=overwrite)
    all_meta = {**bundle.meta, **(meta or {})}
    with atomic_path(gpkg, overwrite=overwrite) as tmp:
        for name, gdf in bundle.layers.items():
            out = gdf.to_crs(EXCHANGE_CRS) if gdf.crs is not None else gdf
            pyogrio.write_dataframe(_for_storage(name, out), tmp, layer=name, driver="GPKG")
        df = pd.DataFrame({"key": list(all_meta), "value": [str(v) for v in all_meta.values()]})
        pyogrio.write_dataframe(df, tmp, layer=META_LAYER, driver="GPKG")
    bundle.meta = all_meta
    bundle.folder = gpkg.parent
    logger.info("wrote bundle %s (%d layers)", gpkg, len(bundle.layers))
    return gpkg
