"""layers: the domain model of phusong.

Layer schemas, the operator enum, validation with rejected rows kept, readers/writers
(GeoPackage, GeoJSON, Shapefile, CSV, KML), the province bundle, the settings object and the
real-data importers. Names are loaded on first use.
"""

from __future__ import annotations

from phusong.gis._lazy import lazy_exports

_WHERE = {
    "Settings": "phusong.layers.settings",
    "DEFAULT": "phusong.layers.settings",
    "Operator": "phusong.layers.operators",
    "parse_operator": "phusong.layers.operators",
    "LAYERS": "phusong.layers.schema",
    "schema_for": "phusong.layers.schema",
    "ProvinceBundle": "phusong.layers.bundle",
    "read_bundle": "phusong.layers.bundle",
    "write_bundle": "phusong.layers.bundle",
    "validate_layer": "phusong.layers.validate",
    "validate_bundle": "phusong.layers.validate",
    "write_rejects": "phusong.layers.validate",
    "read_layer": "phusong.layers.io",
    "write_layer": "phusong.layers.io",
}

__all__ = [
    "DEFAULT",
    "LAYERS",
    "Operator",
    "ProvinceBundle",
    "Settings",
    "parse_operator",
    "read_bundle",
    "read_layer",
    "schema_for",
    "validate_bundle",
    "validate_layer",
    "write_bundle",
    "write_layer",
    "write_rejects",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
