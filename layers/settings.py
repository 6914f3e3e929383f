"""All of phusong's settings, documented in one place.

One immutable :class:`Settings` object carries every tunable value. Unknown keys and values out
of range are rejected with a :class:`~gis.errors.SettingsError` that names the key. Library
functions take ``settings=`` (default :data:`DEFAULT`); they never read environment variables.
The CLI maps its flags onto a ``Settings`` with :meth:`Settings.replace`.

Coverage
--------
radius_km
    Radius model: nominal cell radius per technology. Defaults are the public GSMA/Collins
    fallback values (2G 12 km, 3G 4 km, 4G 4 km, 5G 0.5 km).
radius_km_by_band
    Optional overrides per ``"<tech>@<band_mhz>"`` key, e.g. ``{"4G@1800": 5.0}``.
threshold_dbm
    Terrain model: minimum received power that counts as usable signal, per technology.
    2G −100 dBm, 3G RSCP −105 dBm, 4G/5G RSRP −110 dBm. No official Vietnamese figure was
    found; QCVN 81:2019/BTTTT governs 4G service quality, not a coverage threshold.
max_radius_km
    Terrain model: signal is computed out to this distance from each site (15 km).
rx_height_m
    Receiver height above ground (1.5 m).
k_factor
    Effective Earth-radius factor for refraction (4/3).
path_loss_model
    ``"hata"`` (Okumura-Hata below 1500 MHz, COST-231 Hata above) or ``"free_space"``.
environment
    Hata correction: ``"urban"``, ``"suburban"``, ``"rural"`` (quasi-open) or ``"open"``.
diffraction
    ``"deygout"`` (up to three edges), ``"dominant"`` (the single dominant knife edge) or
    ``"none"``.
share_min
    Village status: a village whose centre is covered is ``phu`` when at least this share of
    its settled area is covered, else ``lom`` (0.8).
settlement_buffer_m
    Radius of the settled area drawn around a village given as a point (300 m).
fibre_access_km
    A village has fixed broadband when fibre passes within this distance (2 km).
as_of
    Date analyses are run for (ISO ``YYYY-MM-DD``); ``None`` means today. After the 2G
    switch-off date a 2G-only village counts as white.

Input checks
------------
min_raster_coverage
    Share of the villages (and of the BTS sites) that must lie on valid cells of the DEM or
    of the population raster before an analysis runs (0.95); below it the run is refused
    naming the missing SRTM tiles, below 1 a warning names the villages left out.
dem_units
    Units of the DEM's values: ``"auto"`` (what the file declares, else metres unless the
    values are too high for metres — then feet), ``"m"`` or ``"ft"``. Feet are converted.
dem_max_elevation_m
    Highest ground a DEM may show (3 200 m: Phan Xi Păng is 3 143 m); higher values mean
    feet (when undeclared) or a file that is no elevation model of the area.

ITM (Longley-Rice) coverage model
---------------------------------
The ``itm`` model (:mod:`gis._itm`, ITM 1.2.2 point-to-point on every DEM cell of the radial
sweep) takes its parameters from these keys; defaults are ITM's documented "average" values.

itm_climate
    ITM radio climate: ``"equatorial"``, ``"continental_subtropical"`` (default: the inland
    monsoon climate of the northern mountains, wet summer and dry winter),
    ``"maritime_subtropical"``, ``"desert"``, ``"continental_temperate"`` (SPLAT!'s default),
    ``"maritime_temperate_land"``, ``"maritime_temperate_sea"``.
itm_permittivity, itm_conductivity_s_m
    Ground constants: relative permittivity 15 and conductivity 0.005 S/m (average ground).
itm_refractivity_n
    Surface refractivity at sea level, N-units (301: ITM's standard atmosphere, k ≈ 4/3; it is
    reduced with the profile's mean elevation, ``Ns = N0 exp(−z/9460 m)``).
itm_polarisation
    ``"vertical"`` (default) or ``"horizontal"``.
itm_variability
    ITM variability mode: ``"single"`` (single message), ``"individual"``, ``"mobile"``
    (default, as SPLAT!) or ``"broadcast"``.
itm_location_variability
    Include location variability (False: point-to-point convention, the profile is known).
itm_time_pct, itm_location_pct, itm_situation_pct
    The loss is not exceeded for this percentage of time, locations and situations (50).

Sunset
------
date_2g_handsets_cut, date_2g_off, date_3g_off
    2G-only handsets cut 2024-10-15; 2G network off 2026-09-15; 3G off 2028-09-15.

Compare (progress over time)
----------------------------
compare_village_match_m
    ``phusong compare`` matches villages of two bundles by id, then by name within the
    commune, then by position: the nearest unmatched village within this distance (500 m).
compare_feature_match_m
    Towers and postal points without a common id are matched by position within this
    distance (50 m).
timeline_end_year
    The switch-off timeline runs from the report's year to the end of this year (2030).

Import
------
colocate_m
    BTS of an operator's list given with coordinates but no tower id are one tower when they
    lie within this distance of each other (20 m: antennas on one mast, positions read off
    different GPS fixes).

Postal
------
postal_max_road_km
    Villages farther than this by road from a post office are listed (10 km).

Rollout (all money in VND)
-------------------------
cost_tower_vnd, cost_equipment_vnd, cost_colocation_vnd, cost_grid_connection_vnd,
cost_solar_power_vnd, cost_fibre_per_km_vnd, cost_microwave_hop_vnd, opex_per_year_vnd,
opex_years
    Unit costs of a public-utility station; defaults are planning-level figures of the order
    published for 2021–2025 public-utility programmes and are meant to be replaced with a
    province's own.
mast_height_m
    Mast height of a new candidate site (35 m).
microwave_max_km
    A microwave hop is possible to a fibre-fed tower within this distance with line of sight.
weight_border, weight_difficult
    Priority multipliers on a village's population weight.
candidates_per_cluster
    DEM high points kept per cluster of gap villages.
solver_time_limit_s, mip_rel_gap
    HiGHS limits.
solver_verbose
    Let HiGHS print its log on stdout (off: the solver is silent).
rollout_target
    Which villages the rollout targets, at ``as_of``: ``"no-signal"`` (no technology in
    service), ``"no-broadband"`` (default: no 3G/4G/5G) or ``"no-4g"`` (no 4G/5G).
border_counts_as_difficult
    Put grid-powered *border* villages in the public-utility fund class as if extremely
    difficult (off by default: DESIGN §5 names only extremely difficult areas).
frontier_steps
    Budgets on the exact spend frontier (``phusong rollout --frontier``), 12.

Output
------
language
    ``"vi"`` (default) or ``"en"`` for labels, headers and popups.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from phusong.gis.errors import SettingsError

__all__ = ["DEFAULT", "ITM_CLIMATES", "TECHNOLOGIES", "Settings", "in_service_techs"]

TECHNOLOGIES: tuple[str, ...] = ("2G", "3G", "4G", "5G")
#: ITM radio climates, in ITM's order (climate 1–7)
ITM_CLIMATES: tuple[str, ...] = ("equatorial", "continental_subtropical", "maritime_subtropical",
                                 "desert", "continental_temperate", "maritime_temperate_land",
                                 "maritime_temperate_sea")


def _ro(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))


#: per-technology defaults; a Settings value for these keys is merged over them
_DEFAULT_MAPS: Mapping[str, Mapping[str, float]] = _ro({
    "radius_km": _ro({"2G": 12.0, "3G": 4.0, "4G": 4.0, "5G": 0.5}),
    "threshold_dbm": _ro({"2G": -100.0, "3G": -105.0, "4G": -110.0, "5G": -110.0}),
})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Immutable, validated settings. See the module docstring for every key."""

    # coverage
    radius_km: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: _DEFAULT_MAPS["radius_km"])
    radius_km_by_band: Mapping[str, float] = dataclasses.field(default_factory=lambda: _ro({}))
    threshold_dbm: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: _DEFAULT_MAPS["threshold_dbm"])
    max_radius_km: float = 15.0
    rx_height_m: float = 1.5
    k_factor: float = 4.0 / 3.0
    path_loss_model: str = "hata"
    environment: str = "rural"
    diffraction: str = "deygout"
    share_min: float = 0.8
    settlement_buffer_m: float = 300.0
    fibre_access_km: float = 2.0
    as_of: str | None = None
    # input checks
    min_raster_coverage: float = 0.95
    dem_units: str = "auto"
    dem_max_elevation_m: float = 3200.0
    # sunset
    date_2g_handsets_cut: str = "2024-10-15"
    date_2g_off: str = "2026-09-15"
    date_3g_off: str = "2028-09-15"
    # compare (progress over time)
    compare_village_match_m: float = 500.0
    compare_feature_match_m: float = 50.0
    timeline_end_year: int = 2030
    # import
    colocate_m: float = 20.0
    # postal
    postal_max_road_km: float = 10.0
    # rollout
    cost_tower_vnd: float = 1_200_000_000.0
    cost_equipment_vnd: float = 800_000_000.0
    cost_colocation_vnd: float = 250_000_000.0
    cost_grid_connection_vnd: float = 150_000_000.0
    cost_solar_power_vnd: float = 550_000_000.0
    cost_fibre_per_km_vnd: float = 60_000_000.0
    cost_microwave_hop_vnd: float = 400_000_000.0
    opex_per_year_vnd: float = 120_000_000.0
    opex_years: int = 5
    mast_height_m: float = 35.0
    microwave_max_km: float = 30.0
    weight_border: float = 1.5
    weight_difficult: float = 1.3
    candidates_per_cluster: int = 3
    solver_time_limit_s: float = 60.0
    mip_rel_gap: float = 0.0
    solver_verbose: bool = False
    rollout_target: str = "no-broadband"
    border_counts_as_difficult: bool = False
    frontier_steps: int = 12
    # output
    language: str = "vi"
    # ITM (Longley-Rice) coverage model
    itm_climate: str = "continental_subtropical"
    itm_permittivity: float = 15.0
    itm_conductivity_s_m: float = 0.005
    itm_refractivity_n: float = 301.0
    itm_polarisation: str = "vertical"
    itm_variability: str = "mobile"
    itm_location_variability: bool = False
    itm_time_pct: float = 50.0
    itm_location_pct: float = 50.0
    itm_situation_pct: float = 50.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name in ("radius_km", "threshold_dbm"):
            value = getattr(self, name)
            unknown = set(value) - set(TECHNOLOGIES)
            if unknown:
                problems.append(f"{name}: unknown technology {sorted(unknown)}; use {TECHNOLOGIES}")
            object.__setattr__(self, name, _ro({**_DEFAULT_MAPS[name], **value}))
        object.__setattr__(self, "radius_km_by_band", _ro(self.radius_km_by_band))
        for tech, r in self.radius_km.items():
            if not r > 0:
                problems.append(f"radius_km[{tech}]={r}: must be > 0")
        positive = ("max_radius_km", "settlement_buffer_m", "k_factor", "postal_max_road_km",
                    "colocate_m",
                    "mast_height_m", "microwave_max_km", "solver_time_limit_s")
        for name in positive:
            if not getattr(self, name) > 0:
                problems.append(f"{name}={getattr(self, name)}: must be > 0")
        nonneg = ("rx_height_m", "fibre_access_km", "compare_village_match_m",
                  "compare_feature_match_m", "mip_rel_gap", "opex_years",
                  *[f.name for f in dataclasses.fields(self) if f.name.startswith("cost_")],
                  "opex_per_year_vnd")
        for name in nonneg:
            if getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)}: must be >= 0")
        if not 1900 < self.timeline_end_year < 2200:
            problems.append(f"timeline_end_year={self.timeline_end_year}: not a plausible year")
        for name in (*nonneg, *positive, "weight_border", "weight_difficult"):
            value = getattr(self, name)
            if isinstance(value, (int, float)) and not math.isfinite(value):
                problems.append(f"{name}={value}: must be a finite number")
        for name in ("solver_verbose", "border_counts_as_difficult"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{name}={getattr(self, name)!r}: must be True or False")
        if not (isinstance(self.frontier_steps, int) and 2 <= self.frontier_steps <= 200):
            problems.append(f"frontier_steps={self.frontier_steps!r}: must be an integer in "
                            "[2, 200]")
        if not 0 <= self.min_raster_coverage <= 1:
            problems.append(f"min_raster_coverage={self.min_raster_coverage}: must be in [0, 1]")
        if not self.dem_max_elevation_m > 0:
            problems.append(f"dem_max_elevation_m={self.dem_max_elevation_m}: must be > 0")
        if not 0 < self.share_min <= 1:
            problems.append(f"share_min={self.share_min}: must be in (0, 1]")
        choices = {"path_loss_model": ("hata", "free_space"),
                   "environment": ("urban", "suburban", "rural", "open"),
                   "diffraction": ("deygout", "dominant", "none"),
                   "language": ("vi", "en"), "dem_units": ("auto", "m", "ft"),
                   "rollout_target": ("no-signal", "no-broadband", "no-4g")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                problems.append(f"{name}={getattr(self, name)!r}: use one of {allowed}")
        for name in ("as_of", "date_2g_handsets_cut", "date_2g_off", "date_3g_off"):
            value = getattr(self, name)
            if value is None and name == "as_of":
                continue
            try:
                dt.date.fromisoformat(str(value))
            except ValueError:
                problems.append(f"{name}={value!r}: not an ISO date (YYYY-MM-DD)")
        problems += self._itm_problems()
        if problems:
            raise SettingsError("invalid settings: " + "; ".join(problems))

    def _itm_problems(self) -> list[str]:
        """Problems with the ``itm_*`` keys (ranges of ITM 1.2.2)."""
        out = []
        choices = {"itm_climate": ITM_CLIMATES, "itm_polarisation": ("vertical", "horizontal"),
                   "itm_variability": ("single", "individual", "mobile", "broadcast")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                out.append(f"{name}={getattr(self, name)!r}: use one of {allowed}")
        if not 1.0 <= self.itm_permittivity <= 100.0:
            out.append(f"itm_permittivity={self.itm_permittivity}: must be in [1, 100]")
        if not 0.0 < self.itm_conductivity_s_m <= 100.0:
            out.append(f"itm_conductivity_s_m={self.itm_conductivity_s_m}: must be in (0, 100]")
        if not 250.0 <= self.itm_refractivity_n <= 400.0:
            out.append(f"itm_refractivity_n={self.itm_refractivity_n}: ITM needs 250–400")
        for name in ("itm_time_pct", "itm_location_pct", "itm_situation_pct"):
            if not 0.1 <= getattr(self, name) <= 99.9:
                out.append(f"{name}={getattr(self, name)}: must be in [0.1, 99.9]")
        return out

    # -- constructors -----------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Build settings from a mapping, rejecting unknown keys with a suggestion."""
        return DEFAULT.replace(**dict(values))

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied; unknown keys raise SettingsError."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = [k for k in changes if k not in known]
        if unknown:
            hints = []
            for k in unknown:
                close = difflib.get_close_matches(k, known, n=1)
                hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise SettingsError("unknown settings key " + ", ".join(hints))
        return dataclasses.replace(self, **changes)

    # -- derived values ---------------------------------------------------------------------
    def as_of_date(self) -> dt.date:
        """The analysis date: ``as_of`` or today (the one place ``None`` becomes today)."""
        return dt.date.fromisoformat(self.as_of) if self.as_of else dt.date.today()

    def resolved(self) -> Settings:
        """A copy whose ``as_of`` is a fixed date (today when unset).

        A run that resolves its settings once keeps one analysis date from its first table to
        its last, even across midnight.
        """
        return self if self.as_of else self.replace(as_of=self.as_of_date().isoformat())

    def radius_m(self, tech: str, band_mhz: float | None = None) -> float:
        """Radius-model cell radius in metres for a technology (and band, if overridden)."""
        if band_mhz is not None:
            key = f"{tech}@{int(band_mhz)}"
            if key in self.radius_km_by_band:
                return float(self.radius_km_by_band[key]) * 1000.0
        return float(self.radius_km[tech]) * 1000.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict view (for logs and report footers)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = dict(v) if isinstance(v, Mapping) else v
        return out


DEFAULT = Settings()


def in_service_techs(settings: Settings = DEFAULT, *, on: dt.date | None = None
                     ) -> tuple[str, ...]:
    """Technologies still in service on ``on`` (default: ``settings.as_of_date()``).

    2G counts until ``settings.date_2g_off`` and 3G until ``settings.date_3g_off``; the day of
    the switch-off itself no longer counts. 4G and 5G always count.
    """
    day = on or settings.as_of_date()
    off = {"2G": dt.date.fromisoformat(settings.date_2g_off),
           "3G": dt.date.fromisoformat(settings.date_3g_off)}
    return tuple(t for t in TECHNOLOGIES if t not in off or day < off[t])
