"""gis: telecom-free geospatial building blocks of phusong.

CRS handling (VN-2000 TM-3 zones and the EPSG:6960 shift), DEM/raster I/O, terrain profiles
and radio-propagation kernels, line-of-sight/Fresnel clearance, road graphs, tiling, atomic
file output and the exception hierarchy. Names are loaded on first use.
"""

from __future__ import annotations

from gis._lazy import lazy_exports

_WHERE = {
    "PhusongError": "gis.errors",
    "InputError": "gis.errors",
    "SchemaError": "gis.errors",
    "CRSMismatchError": "gis.errors",
    "DEMError": "gis.errors",
    "SettingsError": "gis.errors",
    "OutputExistsError": "gis.errors",
    "SolverError": "gis.errors",
    "MissingDependencyError": "gis.errors",
    "atomic_path": "gis.atomic",
    "atomic_write_text": "gis.atomic",
    "atomic_write_bytes": "gis.atomic",
    "tm3_crs_for_lon": "gis.crs",
    "detect_crs": "gis.crs",
    "to_wgs84": "gis.crs",
    "Dem": "gis.dem",
    "read_dem": "gis.dem",
    "write_raster": "gis.dem",
    "hillshade": "gis.dem",
    "graph_from_roads": "gis.roads",
    "multi_source_distance_m": "gis.roads",
    "import_dem": "gis.dem_tiles",
}

__all__ = [
    "CRSMismatchError",
    "DEMError",
    "Dem",
    "InputError",
    "MissingDependencyError",
    "OutputExistsError",
    "PhusongError",
    "SchemaError",
    "SettingsError",
    "SolverError",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "detect_crs",
    "graph_from_roads",
    "hillshade",
    "import_dem",
    "multi_source_distance_m",
    "read_dem",
    "tm3_crs_for_lon",
    "to_wgs84",
    "write_raster",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
