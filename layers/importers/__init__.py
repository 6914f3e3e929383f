"""Importers: real data into a province bundle (DESIGN §7).

Each reader maps one kind of source onto the bundle layers and routes every row through
:func:`layers.validate.validate_layer`, so that rows in = rows accepted + rows rejected and
rejected rows keep their reason:

* :func:`read_osm` — OpenStreetMap (``.osm``, ``.osm.pbf``, Geofabrik shapefiles or a GeoJSON
  export offline; a place name or polygon online through osmnx): roads, villages, telecom
  masts (towers and BTS), post offices;
* :func:`read_opencellid` — OpenCelliD / Mozilla Location Service CSV (MCC 452): cells
  clustered into towers and BTS;
* :func:`read_admin` — admin boundaries from national or provincial files: GADM 4.1/2.x,
  post-2025, geoBoundaries, official (VN-2000) shapefiles, old three-level and new
  two-level structures;
* :func:`fill_population` — a WorldPop-style raster summed into villages;
* :func:`read_list` — the operators' and the province's own lists of towers, BTS, post
  offices and fibre (CSV, XLSX, GeoPackage, Shapefile, GeoJSON, KML/KMZ);
* :func:`read_village_list` — village lists: polygons, points, or names per commune matched
  to OSM places (with a match report);
* DEMs are imported by :func:`gis.dem_tiles.import_dem` (GeoTIFF or SRTM ``.hgt``).

:mod:`layers.importers.build` puts the results into a bundle (``import_*_into``) or builds
a bundle from several sources at once (:func:`build_bundle`).
"""

from __future__ import annotations

from phusong.layers.importers._common import (
    AVG_HOUSEHOLD_SIZE,
    DEFAULT_BAND_MHZ,
    DEFAULT_EIRP_DBM,
    DEFAULT_TOWER_HEIGHT_M,
    UNKNOWN_COMMUNE,
    ImportResult,
    merge_layer,
    name_key,
    write_rejects,
)
from phusong.layers.importers.admin import province_geometry, read_admin
from phusong.layers.importers.build import (
    StepReport,
    build_bundle,
    import_admin_into,
    import_dem_into,
    import_list_into,
    import_opencellid_into,
    import_osm_into,
    import_population_into,
    summary_frame,
)
from phusong.layers.importers.opencellid import RADIO_TECH, read_opencellid
from phusong.layers.importers.osm import OSM_LAYERS, ROAD_CLASSES, read_osm
from phusong.layers.importers.population import fill_population, settled_areas, zonal_sum
from phusong.layers.importers.tables import read_list
from phusong.layers.importers.villages import read_village_list

__all__ = [
    "AVG_HOUSEHOLD_SIZE",
    "DEFAULT_BAND_MHZ",
    "DEFAULT_EIRP_DBM",
    "DEFAULT_TOWER_HEIGHT_M",
    "OSM_LAYERS",
    "RADIO_TECH",
    "ROAD_CLASSES",
    "UNKNOWN_COMMUNE",
    "ImportResult",
    "StepReport",
    "build_bundle",
    "fill_population",
    "import_admin_into",
    "import_dem_into",
    "import_list_into",
    "import_opencellid_into",
    "import_osm_into",
    "import_population_into",
    "merge_layer",
    "name_key",
    "province_geometry",
    "read_admin",
    "read_list",
    "read_opencellid",
    "read_osm",
    "read_village_list",
    "settled_areas",
    "summary_frame",
    "write_rejects",
    "zonal_sum",
]
