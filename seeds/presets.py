"""Recipes of the sample provinces (DESIGN §7).

A :class:`Preset` holds the figures a generated sample province is calibrated to. Figures
come from ``seeds/reported.csv`` where the seed reports give them (the ``sources`` mapping of
each preset says which); everything else is a documented guess, listed in ``guesses``.

Presets: ``"lai-chau"`` (Lai Châu 2022, the default), ``"dien-bien"`` (Điện Biên 2023),
``"lang-son"`` (Lạng Sơn 2021) and ``"mini"`` (a ~15 × 15 km test province that generates in
about a second). :meth:`Preset.scaled` shrinks area and counts proportionally.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType

from phusong.gis.errors import SettingsError
from phusong.layers.settings import RADIO_DEFAULTS, RADIO_FIELDS
from phusong.seeds.figures import reported_value

__all__ = ["PRESETS", "TUNED", "Preset", "get_preset"]

OPS = ("viettel", "vinaphone", "mobifone", "vietnamobile")


def _ro(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Preset:
    """The recipe of one sample province.

    Attributes
    ----------
    key, name, code
        Preset id (``"lai-chau"``), province name with diacritics, two-letter id prefix.
    admin_code
        Province code used for ``admin_units.code`` (the GSO code where known).
    year
        The year whose reported figures the sample is calibrated to.
    area_km2, districts, communes, villages, population
        Size of the province.
    white_villages
        Villages without any operator's signal, placed by design in remote border pockets.
    towers
        Tower positions (vị trí cột).
    sites_by_operator
        Towers each operator has equipment on (sum minus ``towers`` = co-located sites).
    bts_by_operator_tech
        Equipment count (thiết bị trạm) per operator and technology.
    coverage_target
        Share of villages each operator covers (any technology in service in ``year``).
    internet_ratio
        Share of villages with internet (3G/4G or fibre within reach); the others get 2G
        only and no fibre nearby.
    cable_km, underground_ratio
        Total cable route length over all operators and the share laid underground.
    post_offices
        Postal points per kind (keys of :data:`layers.schema.POST_OFFICE_KINDS`).
    elevation_m
        DEM range (min, max).
    border_azimuth_deg, border_halfwidth_deg, border_band_km
        The international border is the part of the province outline whose direction from
        the centre lies within ``azimuth ± halfwidth`` (0 = north, clockwise); villages within
        ``border_band_km`` of it are ``border_area``.
    river_azimuth_deg
        Direction (from the centre) the main river enters from; it leaves on the other side.
    metric_epsg, centre_lon, centre_lat
        The VN-2000 TM-3 zone and a plausible centre of the generated province.
    grid_power_ratio, difficult_ratio
        Share of villages with grid power / in extremely difficult areas.
    district_names, capital_name
        Names used for districts (the first is the provincial capital).
    radio
        Per technology, radio values of the sample's BTS that differ from
        :data:`layers.settings.RADIO_DEFAULTS` (empty: the table's values; see
        :meth:`radio_for`).
    tuned
        What the generator tunes so that the project's default terrain model reproduces the
        reported figures, and by how much (:data:`TUNED`).
    """

    key: str
    name: str
    code: str
    admin_code: str
    year: int
    area_km2: float
    districts: int
    communes: int
    villages: int
    white_villages: int
    population: int
    household_size: float
    towers: int
    sites_by_operator: Mapping[str, int]
    bts_by_operator_tech: Mapping[str, Mapping[str, int]]
    coverage_target: Mapping[str, float]
    internet_ratio: float
    cable_km: float
    underground_ratio: float
    post_offices: Mapping[str, int]
    elevation_m: tuple[float, float]
    border_azimuth_deg: float
    border_halfwidth_deg: float
    border_band_km: float
    river_azimuth_deg: float
    metric_epsg: int
    centre_lon: float
    centre_lat: float
    grid_power_ratio: float
    difficult_ratio: float
    district_names: tuple[str, ...]
    district_code_base: int
    commune_code_base: int
    dem_res_m: float = 30.0
    scale: float = 1.0
    sources: Mapping[str, str] = dataclasses.field(default_factory=lambda: _ro({}))
    guesses: tuple[str, ...] = ()
    radio: Mapping[str, Mapping[str, float]] = dataclasses.field(
        default_factory=lambda: _ro({}))
    tuned: tuple[str, ...] = ()

    def radio_for(self, tech: str) -> dict[str, float]:
        """The radio values the sample's BTS of a technology get: the preset's ``radio``
        over :data:`layers.settings.RADIO_DEFAULTS` (every field of the ``bts`` layer)."""
        base = {k: float(RADIO_DEFAULTS[tech][k]) for k in RADIO_FIELDS}
        base.update({k: float(v) for k, v in self.radio.get(tech, {}).items()})
        return base

    # -- derived ----------------------------------------------------------------------------
    @property
    def bts(self) -> int:
        """Total equipment count over operators and technologies."""
        return sum(sum(t.values()) for t in self.bts_by_operator_tech.values())

    @property
    def villages_with_signal(self) -> int:
        return self.villages - self.white_villages

    @property
    def side_km(self) -> float:
        """Side of the square of the same area."""
        return math.sqrt(self.area_km2)

    def scaled(self, scale: float) -> Preset:
        """This preset with area and every count multiplied by ``scale`` (0 < scale ≤ 1).

        Counts are rounded and kept at least 1 where the layer needs one (a district, a
        commune per district, a site per operator that has any).
        """
        if not 0 < scale <= 1:
            raise SettingsError(f"scale={scale}: must be in (0, 1]")
        if scale == 1:
            return self

        def n(x: float, lo: int = 0) -> int:
            return max(lo, round(x * scale))

        districts = n(self.districts, 1)
        communes = max(districts, n(self.communes, 1))
        villages = max(communes * 2, n(self.villages, 4))
        sites = {op: n(s, 1 if s else 0) for op, s in self.sites_by_operator.items()}
        bts = {op: {t: min(sites[op], n(c, 1 if c else 0)) for t, c in techs.items()}
               for op, techs in self.bts_by_operator_tech.items()}
        towers = min(sum(sites.values()), max(max(sites.values()), n(self.towers, 1)))
        posts = {k: n(v, 0) for k, v in self.post_offices.items()}
        if sum(posts.values()) == 0:
            posts["bdvhx"] = 1
        return dataclasses.replace(
            self, area_km2=self.area_km2 * scale, districts=districts, communes=communes,
            villages=villages, white_villages=n(self.white_villages),
            population=n(self.population, villages * 50), towers=towers,
            sites_by_operator=_ro(sites), bts_by_operator_tech=_ro(bts),
            cable_km=self.cable_km * scale, post_offices=_ro(posts),
            border_band_km=self.border_band_km * math.sqrt(scale),
            scale=self.scale * scale)


#: what the generator tunes so that the project's own default terrain model reproduces the
#: reported figures, and by how much (every preset; the achieved counts of a generated sample
#: are in its ``bundle_meta.calibration_villages``)
TUNED: tuple[str, ...] = (
    "placement: each operator's footprint (the villages its sites target) is bisected until "
    "the terrain model (default settings, at village centres) reaches the reported share of "
    "villages; the 3G/4G sites until the villages with 3G/4G reach the reported villages "
    "with internet",
    "radio values: the radio table's defaults, none changed (2G 20 W, 0.2 MHz; 3G 20 W, "
    "5 MHz, CPICH 10 %; 4G 20 W, 10 MHz; 17 dBi; feeder 3/3/1 dB; tilt 3°; three 3GPP "
    "sectors): reference-signal EIRP 2G 57.0, 3G 47.0, 4G 31.2 dBm. The earlier sample drew "
    "total EIRPs of 2G 58–61, 3G 57–60, 4G 60–63 dBm and compared them with the thresholds "
    "as if per reference signal: 3G 10–13 dB and 4G 29–32 dB lower now",
    "masts: tower height (20–45 m) and antenna height (2–6 m below) and sector azimuths are "
    "fixed per candidate position before the calibration, which therefore sees the final "
    "antennas; a co-located operator uses its host's mast",
    "no proxy: the line-of-sight rule the earlier sample was placed with (2G/4G within 15 km, "
    "3G within 12.5 km, terrain clearance >= -20 m from a 30 m mast, any site within 1.2 km) "
    "is gone",
)


def _lc() -> Preset:
    p, y = "Lai Châu", 2022

    def r(ind: str) -> float:
        return reported_value(p, ind, y)

    cov = {op: r(f"coverage_ratio_{op}") for op in OPS}
    villages = int(r("villages_total"))
    return Preset(
        key="lai-chau", name=p, code="LC", admin_code="12", year=y,
        area_km2=9068.8, districts=8, communes=106, villages=villages,
        white_villages=villages - int(r("villages_with_signal")),
        population=482_000, household_size=4.8, towers=int(r("tower_positions")),
        sites_by_operator=_ro({"viettel": 420, "vinaphone": 290, "mobifone": 150,
                               "vietnamobile": 20}),
        bts_by_operator_tech=_ro({
            "viettel": _ro({"2G": 420, "3G": 250, "4G": 240}),
            "vinaphone": _ro({"2G": 290, "3G": 170, "4G": 150}),
            "mobifone": _ro({"2G": 150, "3G": 60, "4G": 60}),
            "vietnamobile": _ro({"2G": 20, "3G": 14, "4G": 18}),
        }),
        coverage_target=_ro(cov),
        internet_ratio=r("villages_with_internet") / villages, cable_km=r("cable_km_total"),
        underground_ratio=r("underground_ratio"),
        post_offices=_ro({"buu_cuc_cap_1": 1, "buu_cuc_cap_2": 8, "buu_cuc_cap_3": 22,
                          "kt1": 1, "khach_hang_lon": 0, "bdvhx": 96, "dai_ly": 12}),
        elevation_m=(200.0, 3100.0), border_azimuth_deg=330.0, border_halfwidth_deg=80.0,
        border_band_km=15.0, river_azimuth_deg=300.0, metric_epsg=9205,
        centre_lon=103.15, centre_lat=22.35, grid_power_ratio=0.93, difficult_ratio=0.40,
        district_names=("Thành phố Lai Châu", "Tam Đường", "Phong Thổ", "Sìn Hồ", "Mường Tè",
                        "Nậm Nhùn", "Than Uyên", "Tân Uyên"),
        district_code_base=105, commune_code_base=3385,
        sources=_ro({"villages": "000 villages_total", "white_villages": "000 948 − 941",
                     "towers": "000 tower_positions", "bts": "000 bts_count (total only)",
                     "coverage_target": "000 coverage_ratio_*", "cable_km": "000 cable_km_total",
                     "internet_ratio": "000 villages_with_internet / villages_total",
                     "underground_ratio": "000 underground_ratio"}),
        tuned=TUNED,
        guesses=("area_km2 9 068.8 (GSO), 8 districts / 106 communes (2022 admin map)",
                 "population 482 000 (GSO 2022 estimate, not in the seeds)",
                 "split of the 1 842 BTS by operator and technology",
                 "sites per operator (co-location makes 880 sites on 855 towers)",
                 "post offices per kind: the 2022 report gives no postal network counts",
                 "grid power 93 %, extremely difficult 40 %"),
    )


def _db() -> Preset:
    p, y = "Điện Biên", 2023

    def r(ind: str) -> float:
        return reported_value(p, ind, y)

    villages = round(r("villages_without_fibre") / (1.0 - r("villages_fibre_ratio")))
    return Preset(
        key="dien-bien", name=p, code="DB", admin_code="11", year=y,
        area_km2=9541.0, districts=10, communes=129, villages=villages,
        white_villages=int(r("villages_without_telecom")),
        population=int(r("postal_points") * r("people_per_postal_point")), household_size=4.7,
        towers=int(r("tower_positions")),
        sites_by_operator=_ro({"viettel": 560, "vinaphone": 330, "mobifone": 140,
                               "vietnamobile": 20}),
        bts_by_operator_tech=_ro({
            "viettel": _ro({"2G": 560, "3G": 450, "4G": 520}),
            "vinaphone": _ro({"2G": 330, "3G": 250, "4G": 300}),
            "mobifone": _ro({"2G": 140, "3G": 80, "4G": 130}),
            "vietnamobile": _ro({"2G": 20, "3G": 2, "4G": 8}),
        }),
        coverage_target=_ro({"viettel": 0.97, "vinaphone": 0.85, "mobifone": 0.45,
                             "vietnamobile": 0.07}),
        internet_ratio=1.0 - r("villages_without_3g4g") / villages,
        cable_km=r("cable_km_total"), underground_ratio=0.05,
        post_offices=_ro({"buu_cuc_cap_1": int(r("post_offices_buu_cuc_cap_1")),
                          "buu_cuc_cap_2": int(r("post_offices_buu_cuc_cap_2")),
                          "buu_cuc_cap_3": int(r("post_offices_buu_cuc_cap_3")),
                          "kt1": int(r("post_offices_kt1")), "khach_hang_lon": 0,
                          "bdvhx": int(r("post_offices_bdvhx")), "dai_ly": 0}),
        elevation_m=(250.0, 2200.0), border_azimuth_deg=280.0, border_halfwidth_deg=80.0,
        border_band_km=15.0, river_azimuth_deg=330.0, metric_epsg=9205,
        centre_lon=102.95, centre_lat=21.7, grid_power_ratio=0.92, difficult_ratio=0.45,
        district_names=("Thành phố Điện Biên Phủ", "Thị xã Mường Lay", "Mường Nhé",
                        "Mường Chà", "Tủa Chùa", "Tuần Giáo", "Điện Biên", "Điện Biên Đông",
                        "Mường Ảng", "Nậm Pồ"),
        district_code_base=94, commune_code_base=3124,
        sources=_ro({"villages": "001 villages_without_fibre / (1 − villages_fibre_ratio)",
                     "white_villages": "001 villages_without_telecom",
                     "population": "001 postal_points × people_per_postal_point",
                     "towers": "001 tower_positions", "cable_km": "001 cable_km_total",
                     "internet_ratio": "001 1 − villages_without_3g4g / villages",
                     "post_offices": "001 post_offices_* (180 points)"}),
        tuned=TUNED,
        guesses=("area_km2 9 541 (GSO), 10 districts / 129 communes",
                 "BTS per operator and technology (the report gives positions only)",
                 "coverage per operator (the report gives 15 villages without service)",
                 "underground ratio 5 %",
                 "the report lists 4+11+49+1+1 bưu cục and 115 BĐVHX (181) but 180 points; "
                 "the sample drops the khách hàng lớn office to keep 180",
                 "elevation range 250–2 200 m"),
    )


def _ls() -> Preset:
    p = "Lạng Sơn"
    points = reported_value(p, "postal_points", 2021)
    return Preset(
        key="lang-son", name=p, code="LS", admin_code="20", year=2021,
        area_km2=8310.2, districts=11, communes=200, villages=1650,
        white_villages=int(reported_value(p, "white_villages_total", 2022)),
        population=int(points * reported_value(p, "people_per_postal_point", 2021)),
        household_size=3.9,
        towers=int(reported_value(p, "tower_positions", 2022)
                   - reported_value(p, "tower_positions_new", 2022)),
        sites_by_operator=_ro({"viettel": 640, "vinaphone": 420, "mobifone": 240,
                               "vietnamobile": 20}),
        bts_by_operator_tech=_ro({
            "viettel": _ro({"2G": 640, "3G": 330, "4G": 480}),
            "vinaphone": _ro({"2G": 420, "3G": 240, "4G": 280}),
            "mobifone": _ro({"2G": 240, "3G": 60, "4G": 110}),
            "vietnamobile": _ro({"2G": 20, "3G": 6, "4G": 20}),
        }),
        coverage_target=_ro({"viettel": 0.90, "vinaphone": 0.80, "mobifone": 0.55,
                             "vietnamobile": 0.10}),
        internet_ratio=0.85,
        cable_km=6000.0, underground_ratio=0.08,
        post_offices=_ro({"buu_cuc_cap_1": 1, "buu_cuc_cap_2": 10, "buu_cuc_cap_3": 40,
                          "kt1": 1, "khach_hang_lon": 1, "bdvhx": 175, "dai_ly": 40}),
        elevation_m=(40.0, 1550.0), border_azimuth_deg=45.0, border_halfwidth_deg=70.0,
        border_band_km=12.0, river_azimuth_deg=150.0, metric_epsg=9215,
        centre_lon=106.6, centre_lat=21.85, grid_power_ratio=0.96, difficult_ratio=0.30,
        district_names=("Thành phố Lạng Sơn", "Cao Lộc", "Văn Quan", "Bình Gia", "Bắc Sơn",
                        "Văn Lãng", "Tràng Định", "Chi Lăng", "Hữu Lũng", "Lộc Bình",
                        "Đình Lập"),
        district_code_base=178, commune_code_base=6040,
        sources=_ro({"white_villages": "003 white_villages_total (128 at the start of 2022)",
                     "population": "004 postal_points × people_per_postal_point",
                     "towers": "003 tower_positions − tower_positions_new (2022 − 131)",
                     "bts": "004 bts_count 2 846", "post_offices": "004 postal_points 268"}),
        tuned=TUNED,
        guesses=("villages 1 650 (thôn, khối phố; not in the seeds)",
                 "area_km2 8 310.2 (GSO), 11 districts / 200 communes (004: 200 xã)",
                 "BTS split by operator and technology", "coverage per operator",
                 "cable 6 000 km, underground 8 % (not in the seeds)",
                 "internet 85 % of villages",
                 "post offices per kind (the report gives the total 268 only)",
                 "elevation range 40–1 550 m (Mẫu Sơn 1 541 m)"),
    )


def _mini() -> Preset:
    return Preset(
        key="mini", name="Nậm Sáng (mini)", code="MN", admin_code="99", year=2022,
        area_km2=225.0, districts=1, communes=3, villages=40, white_villages=1,
        population=20_000, household_size=4.8, towers=8,
        sites_by_operator=_ro({"viettel": 4, "vinaphone": 3, "mobifone": 2,
                               "vietnamobile": 1}),
        bts_by_operator_tech=_ro({
            "viettel": _ro({"2G": 4, "3G": 2, "4G": 3}),
            "vinaphone": _ro({"2G": 3, "3G": 1, "4G": 2}),
            "mobifone": _ro({"2G": 2, "3G": 1, "4G": 1}),
            "vietnamobile": _ro({"2G": 1, "3G": 0, "4G": 1}),
        }),
        coverage_target=_ro({"viettel": 0.95, "vinaphone": 0.8, "mobifone": 0.5,
                             "vietnamobile": 0.15}),
        internet_ratio=0.75,
        cable_km=60.0, underground_ratio=0.1,
        post_offices=_ro({"buu_cuc_cap_1": 0, "buu_cuc_cap_2": 1, "buu_cuc_cap_3": 1,
                          "kt1": 0, "khach_hang_lon": 0, "bdvhx": 3, "dai_ly": 2}),
        elevation_m=(300.0, 2000.0), border_azimuth_deg=0.0, border_halfwidth_deg=70.0,
        border_band_km=4.0, river_azimuth_deg=300.0, metric_epsg=9205,
        centre_lon=103.3, centre_lat=22.4, grid_power_ratio=0.9, difficult_ratio=0.4,
        district_names=("Nậm Sáng",), district_code_base=901, commune_code_base=90001,
        tuned=TUNED,
        guesses=("everything: a small test province",),
    )


PRESETS: Mapping[str, Preset] = _ro({p.key: p for p in (_lc(), _db(), _ls(), _mini())})


def get_preset(preset: str | Preset) -> Preset:
    """A preset by key (``"lai-chau"``) or the preset itself."""
    if isinstance(preset, Preset):
        return preset
    try:
        return PRESETS[str(preset)]
    except KeyError:
        raise SettingsError(f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}") from None
