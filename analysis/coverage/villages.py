"""The points and areas that stand for a village in every analysis (DESIGN §4).

The rules themselves — a village's centre and its settled area — are defined once in
:mod:`layers.villages` (the population importer needs them too) and re-exported here. This
module adds what the analyses build on them, all in a metric CRS:

* :func:`village_sample_points`: the centre plus up to ~8 points of the settled area, the
  points the site × village matrix evaluates (gap-list sharing, rollout candidates);
* :func:`village_points`: village centres as a point layer in the province's metric CRS,
  with their lon/lat (gap lists, fibre and postal tables, rollout candidates and costs).

Village status, gap lists, rollout candidates and the map therefore place a village at the
same point, to the millimetre.
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from phusong.gis.crs import transform_xy
from phusong.layers.settings import DEFAULT, Settings
from phusong.layers.villages import settled_areas, village_centres

logger = logging.getLogger(__name__)

__all__ = ["settled_areas", "village_centres", "village_points", "village_sample_points"]


def village_points(villages: gpd.GeoDataFrame, crs: CRS | str | int) -> gpd.GeoDataFrame:
    """Village centres (:func:`village_centres`) as points in the metric ``crs``.

    Parameters
    ----------
    villages
        The villages layer, or some of its rows (any CRS).
    crs
        A metric CRS, usually :attr:`ProvinceBundle.metric_crs`.

    Returns
    -------
    geopandas.GeoDataFrame
        Same index as the villages layer; columns ``village_id``, ``lon``, ``lat`` (WGS84:
        the given ``centre_lon``/``centre_lat`` where present, else the metric centre
        transformed back), ``x``, ``y`` and a point geometry in
        ``crs``.
    """
    crs = CRS.from_user_input(crs)
    x, y = village_centres(villages, crs)
    lon, lat = transform_xy(x, y, crs, CRS.from_epsg(4326))
    lon, lat = np.array(lon, dtype=float), np.array(lat, dtype=float)
    if len(villages) and "centre_lon" in villages and "centre_lat" in villages:
        glon = pd.to_numeric(villages["centre_lon"], errors="coerce").to_numpy(dtype=float)
        glat = pd.to_numeric(villages["centre_lat"], errors="coerce").to_numpy(dtype=float)
        given = np.isfinite(glon) & np.isfinite(glat)
        lon[given], lat[given] = glon[given], glat[given]
    ids = villages["village_id"].astype(str).to_numpy() if "village_id" in villages \
        else np.asarray(villages.index.astype(str))
    return gpd.GeoDataFrame({"village_id": ids, "lon": lon, "lat": lat, "x": x, "y": y},
                            geometry=gpd.points_from_xy(x, y), crs=crs, index=villages.index)


def village_sample_points(villages: gpd.GeoDataFrame, crs: CRS, *,
                          settings: Settings = DEFAULT, n_area: int = 8) -> pd.DataFrame:
    """Points that stand for each village: its centre plus up to ~``n_area`` inside its area.

    Area points lie on a regular grid (spacing ``sqrt(area / n_area)``) clipped to the
    settled area; a village too small for any gets its centre only.

    Returns
    -------
    pandas.DataFrame
        Columns ``village`` (positional index), ``x``, ``y``, ``is_centre``.
    """
    cx, cy = village_centres(villages, crs)
    areas = settled_areas(villages, crs, settings=settings)
    vs, xs, ys, cs = [np.arange(len(cx))], [cx], [cy], [np.ones(len(cx), bool)]
    geoms = areas.to_numpy()
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        a = g.area
        if a <= 0:
            continue
        sp = math.sqrt(a / n_area)
        x0, y0, x1, y1 = g.bounds
        gx, gy = np.meshgrid(np.arange(x0 + sp / 2, x1, sp), np.arange(y0 + sp / 2, y1, sp))
        gx, gy = gx.ravel(), gy.ravel()
        inside = shapely.contains_xy(g, gx, gy)
        if inside.any():
            vs.append(np.full(int(inside.sum()), i))
            xs.append(gx[inside])
            ys.append(gy[inside])
            cs.append(np.zeros(int(inside.sum()), bool))
    return pd.DataFrame({"village": np.concatenate(vs), "x": np.concatenate(xs),
                         "y": np.concatenate(ys), "is_centre": np.concatenate(cs)})
