"""Vietnamese / English column headers and value labels of the analysis tables.

One dict per table, ``column -> (vi, en)``. :data:`ALL_LABELS` merges them (the first table
that names a column wins) and is what :func:`analysis.export.header_labels` looks up. Other
helpers may import these dicts; add a table here rather than inventing headers elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ACTION_LABELS",
    "ALL_LABELS",
    "COMPARE_LABELS",
    "FIBRE_LABELS",
    "GAP_LABELS",
    "INDICATOR_LABELS",
    "LINK_BUDGET_LABELS",
    "POSTAL_LABELS",
    "SAMPLE_LABEL",
    "SERVICE_RADIUS_LABELS",
    "SHARING_LABELS",
    "STATUS_LABELS",
    "SUNSET_LABELS",
    "TRANSITION_LABELS",
    "label",
    "value_label",
]

Labels = Mapping[str, tuple[str, str]]

#: the stamp on everything computed from the generated sample province (tables, map, report,
#: console), in both languages at once
SAMPLE_LABEL = "DỮ LIỆU MẪU – SAMPLE DATA"

#: village status values
STATUS_LABELS: Labels = MappingProxyType(
    {
        "phu": ("Phủ sóng", "Covered"),
        "lom": ("Lõm sóng", "Dead spot"),
        "trang": ("Trắng sóng", "No signal"),
    }
)

#: suggested action codes of a gap list
ACTION_LABELS: Labels = MappingProxyType(
    {
        "share": ("Dùng chung cột {tower_id} ({owner})", "Share tower {tower_id} ({owner})"),
        "new_site": ("Xây trạm mới", "New site"),
        "wait_grid": ("Chờ điện lưới", "Wait for grid power"),
        "check_grid": ("Xác minh điện lưới rồi xây trạm mới",
                       "Check grid power, then new site"),
    }
)

GAP_LABELS: Labels = MappingProxyType(
    {
        "operator": ("Doanh nghiệp", "Operator"),
        "village_id": ("Mã thôn", "Village id"),
        "name": ("Tên thôn, bản", "Village"),
        "commune_code": ("Mã xã", "Commune code"),
        "commune_name": ("Xã", "Commune"),
        "district_code": ("Mã huyện", "District code"),
        "district_name": ("Huyện", "District"),
        "centre_lon": ("Kinh độ", "Longitude"),
        "centre_lat": ("Vĩ độ", "Latitude"),
        "vn2000_x_north_m": ("X VN-2000 (hướng Bắc, m)", "VN-2000 X (northing, m)"),
        "vn2000_y_east_m": ("Y VN-2000 (hướng Đông, m)", "VN-2000 Y (easting, m)"),
        "population": ("Dân số", "Population"),
        "households": ("Số hộ", "Households"),
        "has_grid_power": ("Có điện lưới", "Grid power"),
        "border_area": ("Khu vực biên giới", "Border area"),
        "extremely_difficult": ("Đặc biệt khó khăn", "Extremely difficult"),
        "status": ("Hiện trạng sóng", "Coverage status"),
        "status_2G": ("Sóng 2G", "2G status"),
        "status_3G": ("Sóng 3G", "3G status"),
        "status_4G": ("Sóng 4G", "4G status"),
        "status_5G": ("Sóng 5G", "5G status"),
        "nearest_own_site_id": ("Trạm gần nhất của DN", "Nearest own site"),
        "nearest_own_site_km": ("Khoảng cách tới trạm của DN (km)", "Distance to own site (km)"),
        "share_tower_id": ("Cột DN khác có thể dùng chung", "Other operator's tower to share"),
        "share_tower_owner": ("Chủ cột", "Tower owner"),
        "share_tower_km": ("Khoảng cách tới cột dùng chung (km)", "Distance to shared tower (km)"),
        "nearest_fibre_km": ("Khoảng cách tới cáp quang (km)", "Distance to fibre (km)"),
        "fibre_extension_km": (
            "Chiều dài kéo cáp quang theo đường (km)",
            "Fibre extension along roads (km)",
        ),
        "priority_score": ("Điểm ưu tiên (0–100)", "Priority score (0–100)"),
        "action": ("Mã đề xuất", "Action code"),
        "action_text": ("Đề xuất", "Suggested action"),
    }
)

SHARING_LABELS: Labels = MappingProxyType(
    {
        "operator": ("Doanh nghiệp", "Operator"),
        "donor": ("Dùng chung cột của", "Co-locating on towers of"),
        "white_villages": ("Số thôn trắng sóng", "White villages"),
        "white_clearable": (
            "Thôn trắng xử lý được bằng dùng chung",
            "White villages cleared by sharing",
        ),
        "white_ratio": ("Trắng: tỷ lệ (dạng n/N)", "White: n/N"),
        "lom_villages": ("Số thôn lõm sóng", "Dead-spot villages"),
        "lom_clearable": (
            "Thôn lõm xử lý được bằng dùng chung",
            "Dead-spot villages cleared by sharing",
        ),
        "lom_ratio": ("Lõm: tỷ lệ (dạng n/N)", "Dead spots: n/N"),
        "population_clearable": ("Dân số được phủ thêm", "Population gained"),
        "towers_used": ("Số cột cần dùng chung", "Towers to share"),
        "tower_id": ("Mã vị trí cột", "Tower id"),
        "owner": ("Chủ cột", "Tower owner"),
        "villages_cleared": ("Số thôn được phủ", "Villages cleared"),
        "village_ids": ("Danh sách thôn", "Village ids"),
    }
)

SUNSET_LABELS: Labels = MappingProxyType(
    {
        "event": ("Mốc", "Event"),
        "event_date": ("Ngày", "Date"),
        "in_force": ("Đã áp dụng tại ngày phân tích", "In force at the analysis date"),
        "operator": ("Doanh nghiệp", "Operator"),
        "villages_served_now": ("Số thôn có sóng hiện nay", "Villages served now"),
        "villages_lose_service": ("Số thôn mất sóng", "Villages losing all service"),
        "population_affected": ("Dân số bị ảnh hưởng", "Population affected"),
        "households_affected": ("Số hộ bị ảnh hưởng", "Households affected"),
        "village_id": ("Mã thôn", "Village id"),
        "name": ("Tên thôn, bản", "Village"),
        "commune_code": ("Mã xã", "Commune code"),
        "population": ("Dân số", "Population"),
        "techs_now": ("Công nghệ hiện có", "Technologies now"),
    }
)

SERVICE_RADIUS_LABELS: Labels = MappingProxyType(
    {
        "level": ("Cấp", "Level"),
        "code": ("Mã", "Code"),
        "name": ("Tên", "Name"),
        "kind": ("Loại điểm", "Point kind"),
        "area_km2": ("Diện tích (km²)", "Area (km²)"),
        "population": ("Dân số", "Population"),
        "n_points": ("Số điểm", "Points"),
        "radius_km": ("Bán kính phục vụ bình quân (km)", "Mean service radius (km)"),
        "people_per_point": ("Số dân phục vụ bình quân/điểm", "People per point"),
        "site_kind": ("Loại", "Kind"),
        "site_id": ("Mã", "Id"),
        "operator": ("Doanh nghiệp", "Operator"),
        "voronoi_area_km2": ("Diện tích ô Voronoi (km²)", "Voronoi cell area (km²)"),
        "voronoi_radius_km": (
            "Bán kính tương đương Voronoi (km)",
            "Voronoi equivalent radius (km)",
        ),
        "effective_area_km2": ("Diện tích phủ thực tế (km²)", "Effective covered area (km²)"),
        "effective_radius_km": ("Bán kính phủ thực tế (km)", "Effective radius (km)"),
        "nominal_radius_km": ("Bán kính danh định (km)", "Nominal radius (km)"),
        "effective_to_nominal": ("Tỷ lệ thực tế/danh định", "Effective / nominal"),
    }
)

FIBRE_LABELS: Labels = MappingProxyType(
    {
        "operator": ("Doanh nghiệp", "Operator"),
        "kind": ("Loại cáp", "Kind"),
        "length_km": ("Chiều dài (km)", "Length (km)"),
        "underground_ratio": ("Tỷ lệ ngầm hóa", "Undergrounding ratio"),
        "indicator": ("Chỉ tiêu", "Indicator"),
        "value": ("Giá trị", "Value"),
        "n": ("Số đạt", "Count"),
        "total": ("Tổng số", "Total"),
        "ratio": ("Tỷ lệ", "Ratio"),
        "ratio_text": ("Dạng n/N", "n/N"),
        "village_id": ("Mã thôn", "Village id"),
        "name": ("Tên thôn, bản", "Village"),
        "commune_code": ("Mã xã", "Commune code"),
        "gap_of": ("Thôn chưa phủ sóng của", "Gap village of"),
        "fibre_km": (
            "Khoảng cách đường chim bay tới cáp (km)",
            "Straight-line distance to fibre (km)",
        ),
        "extension_km": ("Chiều dài kéo cáp theo đường (km)", "Fibre extension along roads (km)"),
        "within_reach": ("Trong tầm cáp quang", "Within fibre reach"),
        "access_km": ("Từ đường tới thôn (km)", "Road to village (km)"),
    }
)

POSTAL_LABELS: Labels = MappingProxyType(
    {
        "district_code": ("Mã huyện", "District code"),
        "district_name": ("Huyện", "District"),
        "commune_code": ("Mã xã", "Commune code"),
        "commune_name": ("Xã", "Commune"),
        "kind": ("Loại điểm", "Point kind"),
        "kind_label": ("Loại điểm phục vụ", "Point kind"),
        "count": ("Số điểm", "Points"),
        "total": ("Tổng", "Total"),
        "indicator": ("Chỉ tiêu", "Indicator"),
        "value": ("Giá trị", "Value"),
        "village_id": ("Mã thôn", "Village id"),
        "name": ("Tên", "Name"),
        "population": ("Dân số", "Population"),
        "nearest_po_id": ("Điểm phục vụ gần nhất", "Nearest post office"),
        "road_km": ("Khoảng cách đường bộ (km)", "Road distance (km)"),
        "straight_km": ("Khoảng cách đường chim bay (km)", "Straight-line distance (km)"),
        "beyond_limit": ("Vượt ngưỡng", "Beyond the limit"),
        "po_id": ("Mã điểm phục vụ", "Post office id"),
        "has_public_internet": ("Có Internet công cộng", "Public internet"),
        "basis": ("Cách tính", "Basis"),
    }
)


#: progress over time (``phusong compare``): transitions and the comparison tables
TRANSITION_LABELS: Labels = MappingProxyType(
    {
        "cleared_white": ("Xóa trắng (trắng → có sóng)", "Cleared white (no signal → signal)"),
        "cleared_lom": ("Xóa lõm (lõm → phủ sóng)", "Cleared dead spot (lõm → covered)"),
        "lost_signal": ("Mất sóng (có sóng → trắng)", "Lost signal (signal → none)"),
        "became_lom": ("Thành lõm sóng (phủ → lõm)", "Became dead spot (covered → lõm)"),
        "still_trang": ("Vẫn trắng sóng", "Still no signal"),
        "still_lom": ("Vẫn lõm sóng", "Still dead spot"),
        "still_phu": ("Vẫn phủ sóng", "Still covered"),
        "added": ("Thôn mới trong danh sách", "New in the village list"),
        "removed": ("Không còn trong danh sách (sáp nhập)", "No longer listed (merged)"),
        "switch_off": ("Do tắt sóng 2G/3G", "Through the 2G/3G switch-off"),
        "network": ("Do thay đổi mạng lưới", "Through network changes"),
        "id": ("Theo mã", "By id"),
        "name": ("Theo tên trong xã", "By name within the commune"),
        "position": ("Theo vị trí", "By position"),
        "tower": ("Theo vị trí cột", "By tower"),
        "shape": ("Theo hình dạng tuyến", "By route shape"),
        "undergrounded": ("Ngầm hóa", "Laid underground"),
    }
)

COMPARE_LABELS: Labels = MappingProxyType(
    {
        "old_id": ("Mã (kỳ trước)", "Id (before)"),
        "new_id": ("Mã (kỳ này)", "Id (after)"),
        "method": ("Cách đối chiếu", "Matched"),
        "match": ("Cách đối chiếu", "Matched"),
        "distance_m": ("Khoảng cách (m)", "Distance (m)"),
        "old_name": ("Tên (kỳ trước)", "Name (before)"),
        "new_name": ("Tên (kỳ này)", "Name (after)"),
        "old_commune": ("Mã xã (kỳ trước)", "Commune (before)"),
        "new_commune": ("Mã xã (kỳ này)", "Commune (after)"),
        "name": ("Tên", "Name"),
        "code": ("Mã đơn vị", "Unit code"),
        "level": ("Cấp", "Level"),
        "commune_code": ("Mã xã", "Commune code"),
        "commune_name": ("Xã", "Commune"),
        "district_code": ("Mã huyện", "District code"),
        "district_name": ("Huyện", "District"),
        "population": ("Dân số", "Population"),
        "old_any": ("Hiện trạng kỳ trước", "Status before"),
        "new_any": ("Hiện trạng kỳ này", "Status after"),
        "transition": ("Thay đổi", "Change"),
        "cause": ("Nguyên nhân", "Cause"),
        "old_internet": ("Có internet (kỳ trước)", "Internet (before)"),
        "new_internet": ("Có internet (kỳ này)", "Internet (after)"),
        "gained_internet": ("Có thêm internet", "Gained internet"),
        "lost_internet": ("Mất internet", "Lost internet"),
        "villages_old": ("Số thôn (kỳ trước)", "Villages (before)"),
        "villages_new": ("Số thôn (kỳ này)", "Villages (after)"),
        "matched": ("Thôn đối chiếu được", "Villages matched"),
        "signal_old": ("Thôn có sóng (kỳ trước)", "With signal (before)"),
        "signal_new": ("Thôn có sóng (kỳ này)", "With signal (after)"),
        "white_old": ("Thôn trắng sóng (kỳ trước)", "White (before)"),
        "white_new": ("Thôn trắng sóng (kỳ này)", "White (after)"),
        "lom_old": ("Thôn lõm sóng (kỳ trước)", "Dead spot (before)"),
        "lom_new": ("Thôn lõm sóng (kỳ này)", "Dead spot (after)"),
        "cleared_white": ("Thôn xóa trắng", "White villages cleared"),
        "cleared_lom": ("Thôn xóa lõm", "Dead spots cleared"),
        "lost_signal": ("Thôn mất sóng", "Villages that lost signal"),
        "became_lom": ("Thôn thành lõm sóng", "Villages that became dead spots"),
        "lost_signal_switch_off": ("Mất sóng do tắt 2G/3G", "Lost signal at the switch-off"),
        "cleared_white_text": ("Xóa trắng (x/N)", "White cleared (x/N)"),
        "cleared_lom_text": ("Xóa lõm (x/N)", "Dead spots cleared (x/N)"),
        "internet_old": ("Thôn có internet (kỳ trước)", "Internet (before)"),
        "internet_new": ("Thôn có internet (kỳ này)", "Internet (after)"),
        "towers_old": ("Vị trí cột (kỳ trước)", "Towers (before)"),
        "towers_new": ("Vị trí cột (kỳ này)", "Towers (after)"),
        "towers_added": ("Vị trí cột mới", "Towers added"),
        "towers_removed": ("Vị trí cột bỏ", "Towers removed"),
        "bts_old": ("Thiết bị trạm BTS (kỳ trước)", "BTS (before)"),
        "bts_new": ("Thiết bị trạm BTS (kỳ này)", "BTS (after)"),
        "bts_added": ("Thiết bị trạm lắp mới", "BTS added"),
        "bts_removed": ("Thiết bị trạm tháo/tắt", "BTS removed"),
        "postal_old": ("Điểm phục vụ bưu chính (kỳ trước)", "Postal points (before)"),
        "postal_new": ("Điểm phục vụ bưu chính (kỳ này)", "Postal points (after)"),
        "postal_added": ("Điểm bưu chính mới", "Postal points added"),
        "postal_removed": ("Điểm bưu chính bỏ", "Postal points removed"),
        "fibre_km_old": ("Cáp quang km (kỳ trước)", "Fibre km (before)"),
        "fibre_km_new": ("Cáp quang km (kỳ này)", "Fibre km (after)"),
        "fibre_km_added": ("Cáp quang mới (km)", "Fibre added (km)"),
        "operator": ("Doanh nghiệp", "Operator"),
        "tech": ("Công nghệ", "Technology"),
        "kind": ("Loại", "Kind"),
        "old": ("Kỳ trước", "Before"),
        "new": ("Kỳ này", "After"),
        "added": ("Thêm mới", "Added"),
        "removed": ("Bỏ", "Removed"),
        "change": ("Tăng/giảm", "Change"),
        "km_old": ("Km (kỳ trước)", "Km (before)"),
        "km_new": ("Km (kỳ này)", "Km (after)"),
        "km_added": ("Km tuyến mới", "Km of new routes"),
        "km_removed": ("Km tuyến bỏ", "Km of removed routes"),
        "km_undergrounded": ("Km ngầm hóa", "Km laid underground"),
        "km_change": ("Tăng/giảm (km)", "Change (km)"),
        "underground_ratio_old": ("Tỷ lệ ngầm hóa, % (kỳ trước)",
                                  "Underground share, % (before)"),
        "underground_ratio_new": ("Tỷ lệ ngầm hóa, % (kỳ này)", "Underground share, % (after)"),
        "layer": ("Lớp", "Layer"),
        "km": ("Km", "Km"),
    }
)

#: indicator keys of the fibre and postal tables, in words
INDICATOR_LABELS: Labels = MappingProxyType(
    {
        "villages_within_fibre_access": ("Thôn bản trong tầm cáp quang",
                                         "Villages within fibre access"),
        "commune_centres_within_fibre_access": ("Trung tâm xã trong tầm cáp quang",
                                                "Commune centres within fibre access"),
        "postal_points": ("Số điểm phục vụ bưu chính", "Postal service points"),
        "communes_with_postal_point": ("Xã có điểm phục vụ bưu chính",
                                       "Communes with a postal point"),
        "communes_without_postal_point": ("Xã chưa có điểm phục vụ bưu chính",
                                          "Communes without a postal point"),
        "bdvhx_points": ("Số điểm Bưu điện văn hóa xã", "Commune culture post offices"),
        "bdvhx_with_public_internet": ("Điểm BĐVHX có Internet công cộng",
                                       "Culture post offices with public internet"),
        "bdvhx_with_public_internet_ratio": ("Tỷ lệ điểm BĐVHX có Internet công cộng",
                                             "Share of culture post offices with internet"),
        "postal_max_road_km": ("Ngưỡng khoảng cách đường bộ (km)", "Road distance limit (km)"),
        "villages_beyond_limit": ("Thôn bản xa điểm phục vụ quá ngưỡng",
                                  "Villages beyond the limit"),
        "population_beyond_limit": ("Dân số xa điểm phục vụ quá ngưỡng",
                                    "Population beyond the limit"),
        "median_road_km": ("Khoảng cách đường bộ trung vị (km)", "Median road distance (km)"),
    }
)

#: the coverage run's notes on the link budget
LINK_BUDGET_LABELS: Labels = MappingProxyType(
    {
        "defaults": ("Giá trị vô tuyến mặc định (bảng tham số) đã dùng cho {n} BTS: {fields}",
                     "Radio defaults (the table) used for {n} BTS: {fields}"),
        "no_defaults": ("Tất cả {n} BTS có đủ tham số vô tuyến riêng",
                        "All {n} BTS give their own radio values"),
        "cap": ("{k}/{n} trạm đạt bán kính tính toán tối đa {km:g} km",
                "{k}/{n} sites reach the {km:g} km computation-radius cap"),
        "uplink": ("{k}/{n} BTS bị giới hạn bởi đường lên",
                   "{k}/{n} BTS are uplink-limited"),
        "model": ("Mô hình truyền sóng: {model}, nhiễu xạ {diffraction}; ngưỡng so với công suất "
                  "tín hiệu tham chiếu (RSRP/RSCP/BCCH); xác suất vị trí {p:.0%}, {pen}",
                  "Path model: {model}, diffraction {diffraction}; thresholds against the "
                  "reference-signal power (RSRP/RSCP/BCCH); location probability {p:.0%}, "
                  "{pen}"),
    }
)


def _merge(*tables: Labels) -> Labels:
    out: dict[str, tuple[str, str]] = {}
    for table in tables:
        for k, v in table.items():
            out.setdefault(k, v)
    return MappingProxyType(out)


ALL_LABELS: Labels = _merge(
    GAP_LABELS, SHARING_LABELS, SUNSET_LABELS, SERVICE_RADIUS_LABELS, FIBRE_LABELS, POSTAL_LABELS
)


def label(table: Labels, key: str, language: str = "vi") -> str:
    """The label of ``key`` in ``table`` for ``language`` (the key itself when unlisted)."""
    entry = table.get(key)
    if entry is None:
        return key
    return entry[0] if language == "vi" else entry[1]


def value_label(value: str, language: str = "vi") -> str:
    """Label of a status value (``phu``/``lom``/``trang``); other values pass through."""
    return label(STATUS_LABELS, value, language) if isinstance(value, str) else value
