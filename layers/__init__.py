"""layers: the domain model of phusong.

Layer schemas, the operator enum, validation with rejected rows kept, readers/writers
(GeoPackage, GeoJSON, Shapefile, CSV, KML), the province bundle, the settings object and the
real-data importers. Names are loaded on first use.
"""

from __future__ import annotations

from gis._lazy import lazy_exports

_WHERE = {
    "Settings": "layers.settings",
    "DEFAULT": "layers.settings",
    "Operator": "layers.operators",
    "parse_operator": "layers.operators",
    "LAYERS": "layers.schema",
    "schema_for": "layers.schema",
    "ProvinceBundle": "layers.bundle",
    "read_bundle": "layers.bundle",
    "write_bundle": "layers.bundle",
    "validate_layer": "layers.validate",
    "validate_bundle": "layers.validate",
    "write_rejects": "layers.validate",
    "read_layer": "layers.io",
    "write_layer": "layers.io",
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
