"""gis: telecom-free geospatial building blocks of phusong.

CRS handling (VN-2000 TM-3 zones and the EPSG:6960 shift), DEM/raster I/O, terrain profiles
and radio-propagation kernels, line-of-sight/Fresnel clearance, road graphs, tiling, atomic
file output and the exception hierarchy. Names are loaded on first use.
"""

from __future__ import annotations

from phusong.gis._lazy import lazy_exports

_WHERE = {
    "PhusongError": "phusong.gis.errors",
    "InputError": "phusong.gis.errors",
    "SchemaError": "phusong.gis.errors",
    "CRSMismatchError": "phusong.gis.errors",
    "DEMError": "phusong.gis.errors",
    "SettingsError": "phusong.gis.errors",
    "OutputExistsError": "phusong.gis.errors",
    "SolverError": "phusong.gis.errors",
    "MissingDependencyError": "phusong.gis.errors",
    "atomic_path": "phusong.gis.atomic",
    "atomic_write_text": "phusong.gis.atomic",
    "atomic_write_bytes": "phusong.gis.atomic",
    "tm3_crs_for_lon": "phusong.gis.crs",
    "detect_crs": "phusong.gis.crs",
    "to_wgs84": "phusong.gis.crs",
    "Dem": "phusong.gis.dem",
    "read_dem": "phusong.gis.dem",
    "write_raster": "phusong.gis.dem",
    "hillshade": "phusong.gis.dem",
    "graph_from_roads": "phusong.gis.roads",
    "multi_source_distance_m": "phusong.gis.roads",
    "import_dem": "phusong.gis.dem_tiles",
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
