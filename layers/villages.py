"""Where a village is — its centre, its settled area, its commune and district — defined once.

Every analysis (village status, gap lists, rollout candidates, the map), the population
importer and the sample's calibration summary use these rules (DESIGN §4):

centre
    ``(centre_lon, centre_lat)`` of the villages layer when both are given (the village's
    cultural house or the point the source published), else the polygon's
    ``representative_point()`` computed in the metric CRS (for a village given as a point:
    the point itself).
settled area
    The village polygon, or a disc of ``settings.settlement_buffer_m`` (300 m) drawn in the
    metric CRS around a village given as a point.
commune and district
    Named from the ``admin_units`` layer by the village's ``commune_code``
    (:func:`admin_names`).

Centres and areas are computed in a metric CRS (the province's VN-2000 TM-3 zone),
reprojecting with the VN-2000 datum shift of :mod:`gis.crs`. :mod:`analysis.coverage.villages` adds the sample
points that stand for a village in the site × village matrix.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from phusong.gis.crs import reproject, transformer
from phusong.layers.bundle import ProvinceBundle
from phusong.layers.settings import DEFAULT, Settings

logger = logging.getLogger(__name__)

__all__ = ["admin_names", "settled_areas", "village_centres"]


def village_centres(villages: gpd.GeoDataFrame, crs: CRS | str | int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Village centres in the metric ``crs`` as ``(x, y)`` arrays (positional order).

    Parameters
    ----------
    villages
        The villages layer (any CRS), optionally with ``centre_lon``/``centre_lat``.
    crs
        A metric CRS, e.g. :attr:`ProvinceBundle.metric_crs`.

    Returns
    -------
    tuple of numpy.ndarray
        Eastings and northings in metres; the given centre where both coordinates are
        present, else the representative point of the geometry in ``crs``.
    """
    crs = CRS.from_user_input(crs)
    vm = reproject(villages, crs)
    rep = vm.geometry.representative_point()
    x = rep.x.to_numpy(dtype=float, copy=True)  # writable under pandas copy-on-write
    y = rep.y.to_numpy(dtype=float, copy=True)
    if "centre_lon" in villages and "centre_lat" in villages:
        lon = pd.to_numeric(villages["centre_lon"], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(villages["centre_lat"], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if ok.any():
            cx, cy = transformer(CRS.from_epsg(4326), crs).transform(lon[ok], lat[ok])
            x[ok] = cx
            y[ok] = cy
    return x, y


def settled_areas(villages: gpd.GeoDataFrame, crs: CRS | str | int, *,
                  settings: Settings = DEFAULT) -> gpd.GeoSeries:
    """Settled area of each village in the metric ``crs`` (index kept).

    The village polygon, or a disc of ``settings.settlement_buffer_m`` around a point.
    """
    vm = reproject(villages, CRS.from_user_input(crs))
    geom = vm.geometry
    is_pt = geom.geom_type.isin(["Point", "MultiPoint"]).to_numpy()
    if is_pt.any():
        geom = geom.copy()
        geom[is_pt] = geom[is_pt].buffer(settings.settlement_buffer_m)
    return geom


def admin_names(bundle: ProvinceBundle) -> pd.DataFrame:
    """Names of the commune and the district of every commune code of the bundle.

    A village's ``commune_code`` looks up its row: gap lists, postal tables and map popups
    name a village's commune and district from here.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``commune_code`` (str): ``commune_name``, ``district_code`` and
        ``district_name`` (None when the parent district is not in the layer).
    """
    admin = bundle.layer("admin_units")
    cols = ["commune_name", "district_code", "district_name"]
    if len(admin) == 0:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="commune_code"))
    a = pd.DataFrame(admin.drop(columns=admin.geometry.name))
    a["code"] = a["code"].astype(str)
    names = dict(zip(a["code"], a["name"], strict=True))
    communes = a[a["level"] == "commune"]
    out = pd.DataFrame({
        "commune_name": communes["name"].to_numpy(),
        "district_code": communes["parent_code"].astype(object).to_numpy(),
    }, index=pd.Index(communes["code"].to_numpy(), name="commune_code"))  # fmt: skip
    out["district_name"] = [names.get(str(c)) if c is not None else None
                            for c in out["district_code"]]
    return out
