"""Schemas of the seven layers of a province bundle (DESIGN §2).

A :class:`LayerSchema` lists the fields of a layer: name, kind, whether required, and the
allowed values or range. Validation (:mod:`layers.validate`) checks a GeoDataFrame against it.
Bundles store every layer in WGS84 (EPSG:4326); metric work reprojects to the province's
VN-2000 TM-3 zone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

__all__ = [
    "ADMIN_LEVELS",
    "FIBRE_KINDS",
    "LAYERS",
    "POST_OFFICE_KINDS",
    "POWER_SOURCES",
    "TECHS",
    "FieldSpec",
    "LayerSchema",
    "schema_for",
]

TECHS = ("2G", "3G", "4G", "5G")
ADMIN_LEVELS = ("province", "district", "commune")
POWER_SOURCES = ("grid", "diesel", "solar", "hybrid")
FIBRE_KINDS = ("aerial", "underground")
#: post office kinds: canonical id -> Vietnamese label
POST_OFFICE_KINDS: Mapping[str, str] = {
    "buu_cuc_cap_1": "Bưu cục cấp I",
    "buu_cuc_cap_2": "Bưu cục cấp II",
    "buu_cuc_cap_3": "Bưu cục cấp III",
    "kt1": "Bưu cục khai thác cấp 1 (KT1)",
    "khach_hang_lon": "Bưu cục khách hàng lớn",
    "bdvhx": "Điểm Bưu điện - Văn hóa xã",
    "dai_ly": "Đại lý bưu điện",
}


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """One attribute field.

    kind is one of ``"str"``, ``"int"``, ``"float"``, ``"bool"``, ``"operator"``, ``"date"``.
    ``also`` lists values allowed besides those of the kind (the towers' owner may be
    ``"unknown"``: a tower whose owner is not known). ``nullable`` fields may be empty: the
    value is unknown and stays unknown (counted by ``validate``/``info``).
    """

    name: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    unique: bool = False
    nullable: bool = False
    label_vi: str = ""
    label_en: str = ""
    also: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class LayerSchema:
    """The schema of one layer: fields and allowed geometry types."""

    name: str
    geometry: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    id_field: str | None

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


F = FieldSpec
POLY = ("Polygon", "MultiPolygon")

LAYERS: Mapping[str, LayerSchema] = {
    "admin_units": LayerSchema("admin_units", POLY, (
        F("code", "str", unique=True, label_vi="Mã", label_en="Code"),
        F("name", "str", label_vi="Tên", label_en="Name"),
        F("level", "str", choices=ADMIN_LEVELS, label_vi="Cấp", label_en="Level"),
        F("parent_code", "str", nullable=True, label_vi="Mã cấp trên", label_en="Parent code"),
    ), "code"),
    "villages": LayerSchema("villages", (*POLY, "Point"), (
        F("village_id", "str", unique=True, label_vi="Mã thôn", label_en="Village id"),
        F("name", "str", label_vi="Tên thôn, bản", label_en="Village"),
        F("commune_code", "str", label_vi="Mã xã", label_en="Commune code"),
        F("population", "int", min=0, required=False, nullable=True, label_vi="Dân số",
          label_en="Population"),
        F("households", "int", min=0, required=False, nullable=True, label_vi="Số hộ",
          label_en="Households"),
        F("has_grid_power", "bool", required=False, nullable=True, label_vi="Có điện lưới",
          label_en="Grid power"),
        F("border_area", "bool", required=False, nullable=True, label_vi="Khu vực biên giới",
          label_en="Border area"),
        F("extremely_difficult", "bool", required=False, nullable=True,
          label_vi="Đặc biệt khó khăn", label_en="Extremely difficult"),
        F("centre_lon", "float", required=False, nullable=True, min=-180, max=180,
          label_vi="Kinh độ trung tâm", label_en="Centre lon"),
        F("centre_lat", "float", required=False, nullable=True, min=-90, max=90,
          label_vi="Vĩ độ trung tâm", label_en="Centre lat"),
    ), "village_id"),
    "towers": LayerSchema("towers", ("Point",), (
        F("tower_id", "str", unique=True, label_vi="Mã vị trí cột", label_en="Tower id"),
        F("height_m", "float", min=0, max=300, label_vi="Độ cao cột (m)",
          label_en="Height (m)"),
        F("owner", "operator", also=("unknown",), label_vi="Chủ sở hữu", label_en="Owner"),
        F("power_source", "str", choices=POWER_SOURCES, label_vi="Nguồn điện",
          label_en="Power source"),
    ), "tower_id"),
    "bts": LayerSchema("bts", ("Point",), (
        F("bts_id", "str", unique=True, label_vi="Mã thiết bị trạm", label_en="BTS id"),
        F("tower_id", "str", label_vi="Mã vị trí cột", label_en="Tower id"),
        F("operator", "operator", label_vi="Doanh nghiệp", label_en="Operator"),
        F("tech", "str", choices=TECHS, label_vi="Công nghệ", label_en="Technology"),
        F("band_mhz", "float", min=400, max=6000, label_vi="Băng tần (MHz)",
          label_en="Band (MHz)"),
        F("antenna_height_m", "float", min=0, max=300, label_vi="Độ cao anten (m)",
          label_en="Antenna height (m)"),
        F("tx_power_w", "float", required=False, nullable=True, min=0.001, max=1000,
          label_vi="Công suất phát (W)", label_en="Transmit power (W)"),
        F("bandwidth_mhz", "float", required=False, nullable=True, min=0.1, max=400,
          label_vi="Độ rộng băng (MHz)", label_en="Bandwidth (MHz)"),
        F("antenna_gain_dbi", "float", required=False, nullable=True, min=-10, max=40,
          label_vi="Tăng ích anten (dBi)", label_en="Antenna gain (dBi)"),
        F("feeder_loss_db", "float", required=False, nullable=True, min=0, max=20,
          label_vi="Suy hao feeder (dB)", label_en="Feeder loss (dB)"),
        F("azimuth_deg", "str", required=False, nullable=True, label_vi="Góc phương vị (°)",
          label_en="Azimuth (°)"),
        F("mech_tilt_deg", "float", required=False, nullable=True, min=-20, max=45,
          label_vi="Góc ngẩng cơ (°)", label_en="Mechanical tilt (°)"),
        F("elec_tilt_deg", "float", required=False, nullable=True, min=-20, max=45,
          label_vi="Góc ngẩng điện (°)", label_en="Electrical tilt (°)"),
        F("pattern", "str", required=False, nullable=True, label_vi="Tệp đồ thị bức xạ",
          label_en="Antenna pattern file"),
        F("eirp_dbm", "float", required=False, nullable=True, min=0, max=90,
          label_vi="EIRP tổng (dBm)", label_en="Total EIRP (dBm)"),
    ), "bts_id"),
    "fibre_routes": LayerSchema("fibre_routes", ("LineString", "MultiLineString"), (
        F("route_id", "str", unique=True, label_vi="Mã tuyến cáp", label_en="Route id"),
        F("operator", "operator", label_vi="Doanh nghiệp", label_en="Operator"),
        F("kind", "str", choices=FIBRE_KINDS, label_vi="Loại cáp", label_en="Kind"),
    ), "route_id"),
    "post_offices": LayerSchema("post_offices", ("Point",), (
        F("po_id", "str", unique=True, label_vi="Mã điểm phục vụ", label_en="Post office id"),
        F("name", "str", label_vi="Tên điểm phục vụ", label_en="Name"),
        F("kind", "str", choices=tuple(POST_OFFICE_KINDS), label_vi="Loại",
          label_en="Kind"),
        F("operator", "str", label_vi="Doanh nghiệp bưu chính", label_en="Postal operator"),
        F("has_public_internet", "bool", label_vi="Có Internet công cộng",
          label_en="Public internet"),
        F("multi_service", "bool", label_vi="Đa dịch vụ", label_en="Multi-service"),
    ), "po_id"),
    "roads": LayerSchema("roads", ("LineString", "MultiLineString"), (
        F("highway", "str", label_vi="Cấp đường", label_en="Highway class"),
        F("road_id", "str", required=False, nullable=True, label_vi="Mã đường",
          label_en="Road id"),
    ), None),
}


def schema_for(layer: str) -> LayerSchema:
    """The schema of a layer by name."""
    try:
        return LAYERS[layer]
    except KeyError:
        raise KeyError(f"unknown layer {layer!r}; layers are {', '.join(LAYERS)}") from None
