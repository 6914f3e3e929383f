"""Population rasters (WorldPop-style GeoTIFF) summed into villages.

WorldPop's "constrained" and "unconstrained" counts (``vnm_ppp_2020_constrained.tif``:
people per ~100 m cell, float32, nodata −99999, EPSG:4326) — or any raster of people per
cell — are summed over each village's settled area:

* the settled area of :func:`layers.villages.settled_areas`: a village polygon is used as it
  is, a village point gets a disc of ``settings.settlement_buffer_m`` (300 m), drawn in the
  province's metric CRS;
* the sum is exact-area weighted with `exactextract <https://isciences.github.io/exactextract/>`_
  when it is installed (a cell half inside counts half), else ``rasterstats.zonal_stats``
  (cells whose centre is inside count whole);
* only villages whose population is missing or 0 are filled (``replace=True`` overwrites
  all); households are filled where missing or 0 as round(population / 4.5)
  (:data:`~layers.importers._common.AVG_HOUSEHOLD_SIZE`).

Neighbouring village discs that overlap share the people of the overlap twice; polygons
from a cadastral layer do not. The result's warnings count the villages outside the raster.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
from pyproj import CRS

from phusong.gis.errors import CRSMismatchError, InputError
from phusong.layers.importers._common import AVG_HOUSEHOLD_SIZE, ImportResult, concat_rejects
from phusong.layers.settings import DEFAULT, Settings
from phusong.layers.villages import settled_areas

logger = logging.getLogger(__name__)

__all__ = ["fill_population", "zonal_sum"]


def zonal_sum(raster: str | os.PathLike, zones: gpd.GeoSeries, *,
              method: str = "auto") -> pd.Series:
    """Sum of the raster's valid cells over each zone (index kept; NaN when no cell).

    ``method`` is ``"exactextract"`` (area-weighted), ``"rasterstats"`` (cell centres) or
    ``"auto"`` (exactextract when installed).
    """
    raster = Path(raster)
    if not raster.exists():
        raise InputError(f"{raster}: no such population raster")
    if raster.stat().st_size == 0:
        raise InputError(f"{raster}: empty file")
    try:
        with rasterio.open(raster) as ds:
            crs, nodata = ds.crs, ds.nodata
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{raster}: cannot be read as a raster ({exc})") from None
    if crs is None:
        raise CRSMismatchError(f"{raster}: raster has no CRS; WorldPop rasters are EPSG:4326 — "
                               "assign it with `gdal_edit.py -a_srs EPSG:4326 FILE`")
    zones_r = zones.to_crs(crs)
    if method == "auto":
        try:
            import exactextract  # noqa: F401

            method = "exactextract"
        except ImportError:
            method = "rasterstats"
    if len(zones_r) == 0:
        return pd.Series(dtype=float)
    if method == "exactextract":
        from exactextract import exact_extract

        frame = gpd.GeoDataFrame({"_i": np.arange(len(zones_r))}, geometry=zones_r.values,
                                 crs=crs)
        out = exact_extract(str(raster), frame, ["sum", "count"], include_cols=["_i"],
                            output="pandas")
        out = out.set_index("_i").reindex(np.arange(len(zones_r)))
        sums = out["sum"].where(out["count"] > 0)
    elif method == "rasterstats":
        from rasterstats import zonal_stats

        stats = zonal_stats(list(zones_r.values), str(raster), stats=["sum", "count"],
                            nodata=nodata)
        sums = pd.Series([s["sum"] if s["count"] else np.nan for s in stats], dtype=float)
    else:
        raise InputError(f"method={method!r}: use 'auto', 'exactextract' or 'rasterstats'")
    logger.info("summed %s over %d zones (%s)", raster.name, len(zones_r), method)
    return pd.Series(sums.to_numpy(float), index=zones.index)


def fill_population(villages: gpd.GeoDataFrame, raster: str | os.PathLike, *,
                    replace: bool = False, metric_crs: CRS | str | int | None = None,
                    method: str = "auto", settings: Settings = DEFAULT) -> ImportResult:
    """Fill village population (and households) from a population raster.

    Parameters
    ----------
    villages
        The villages layer.
    raster
        People-per-cell GeoTIFF (WorldPop style), any CRS.
    replace
        Overwrite every village's population, not only missing or zero ones.
    metric_crs
        CRS in which point villages are buffered (default: their TM-3 zone).
    method
        See :func:`zonal_sum`.
    settings
        ``settlement_buffer_m`` sets the disc around point villages.

    Returns
    -------
    ImportResult
        ``accepted`` is the whole villages layer with population and households filled
        (nothing is rejected); ``stats`` holds the counts.
    """
    out = villages.copy()
    source = str(raster)
    if len(out) == 0:
        return ImportResult(layer="villages", accepted=out, rejected=concat_rejects([]),
                            n_in=0, warnings=["no villages to fill"], source=source)
    if metric_crs is None:
        from phusong.gis.crs import tm3_crs_for_lon

        lon = out.to_crs("EPSG:4326").geometry.representative_point().x
        metric_crs = tm3_crs_for_lon(float(lon.median()) if len(lon) else 105.0)
    sums = zonal_sum(raster, settled_areas(out, metric_crs, settings=settings), method=method)
    pop = pd.to_numeric(out["population"], errors="coerce")
    target = pd.Series(True, index=out.index) if replace else (pop.isna() | (pop <= 0))
    outside = target & sums.isna()
    fill = target & sums.notna()
    new_pop = sums[fill].round().astype(int)
    out.loc[fill, "population"] = new_pop
    out["population"] = pd.to_numeric(out["population"], errors="coerce").fillna(0).astype(
        int)
    hh = pd.to_numeric(out["households"], errors="coerce")
    hh_target = fill & (replace | hh.isna() | (hh <= 0))
    out.loc[hh_target, "households"] = (out.loc[hh_target, "population"]
                                        / AVG_HOUSEHOLD_SIZE).round().astype(int)
    out["households"] = pd.to_numeric(out["households"], errors="coerce").fillna(0).astype(int)
    warnings = []
    if outside.any():
        warnings.append(f"{int(outside.sum())} villages lie outside the raster (or on nodata): "
                        "population unchanged")
    zero = fill & (new_pop.reindex(out.index).fillna(-1) == 0)
    if zero.any():
        warnings.append(f"{int(zero.sum())} villages sum to 0 people in the raster")
    result = ImportResult(layer="villages", accepted=out, rejected=concat_rejects([]),
                          n_in=len(out), warnings=warnings, source=source)
    result.stats.update(filled=int(fill.sum()), people=int(new_pop.sum()),
                        kept=int((~target).sum()), outside=int(outside.sum()))
    logger.info("filled population of %d villages (%d people) from %s; %d kept, %d outside",
                int(fill.sum()), int(new_pop.sum()), Path(raster).name, int((~target).sum()),
                int(outside.sum()))
    return result

