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
    Terrain model: the cap on each site's computation radius (15 km). A site's radius is the
    smallest of this cap, its radio horizon (antenna and receiver over the lowest and highest
    ground of the DEM, k-factor Earth) and the free-space distance of its maximum allowed path
    loss; the run logs how many sites hit the cap.
rx_height_m
    Receiver height above ground (1.5 m).
k_factor
    Effective Earth-radius factor for refraction (4/3).
path_loss_model
    ``"p526"`` (default): free-space loss plus the diffraction of the profile's own terrain
    (ITU-R P.526 knife edges over the k-factor Earth, see ``diffraction``) — terrain is
    counted once. ``"hata"``: Okumura-Hata below 1500 MHz, COST-231 Hata above, which already
    contains an average terrain effect; with it ``diffraction`` adds the profile's edges on
    top (terrain counted twice; use ``diffraction="none"`` for plain Hata).
    ``"free_space"``: free space only, no terrain (an upper bound of the signal). Other models
    register in :data:`PATH_LOSS_MODELS`.
environment
    Hata correction: ``"urban"``, ``"suburban"``, ``"rural"`` (quasi-open) or ``"open"``.
diffraction
    ``"deygout_p452"`` (default): Deygout limited to three edges (the principal edge of largest
    ``ν`` over the path, then the largest-``ν`` edge on each side; the edges are the vertices
    of the profile's taut string) with the empirical correction of ITU-R P.452-14 §4.2.1,
    ``L = Lm + T (Lt + Lr + C)``, ``T = 1 − exp(−Lm/6)``, ``C = 10 + 0.04 D`` (D in km): on
    the median of ITM in line of sight and behind the ridges of real terrain, where plain knife
    edges give ~13 dB too little loss (``docs/validation.md``). ``"deygout"`` (classic
    Deygout, the losses of the edges added, ``deygout_depth`` levels), ``"dominant"`` (the
    single edge of largest ``ν``), ``"epstein_peterson"`` or ``"none"``.
deygout_depth
    For ``diffraction="deygout"`` (``"deygout_p452"`` always takes three edges): levels of
    sub-paths below the principal edge: 1 (default) at most three edges, the
    principal and the largest-``ν`` edge of each sub-path — the three-edge limit of ITU-R
    P.526's Deygout construction; 0 the principal alone; 2 or 3 up to 7 or 15 edges. On the
    90 m SRTM profiles of the Tam Đảo range, three edges add a median 12 dB to the principal
    edge alone on obstructed paths; seven edges add 14 dB, but 74 dB at the 90th percentile
    (classic Deygout overstates many closely spaced edges).
location_probability, shadow_sigma_db
    Fading margin ``z(p) σ`` (normal quantile of the location probability times the
    log-normal shadowing deviation) subtracted from the received level. Default p = 0.5
    (median, margin 0) and σ = 8 dB (typical macro-cell outdoor shadowing, e.g. Holma &
    Toskala, *WCDMA for UMTS*, §8.2; ITU-R P.1546-6 §12 gives 5.5 dB for 500 m areas at
    ~1 GHz); a report can quote p = 0.9 (margin 10.3 dB).
penetration
    ``"outdoor"`` (default, 0 dB), ``"in_vehicle"`` or ``"indoor"``: the loss of
    :data:`PENETRATION_LOSS_DB` subtracted from the received level.
uplink_check
    A cell is covered only when the path loss is also within the uplink limit (UE power,
    BTS sensitivity; :data:`RADIO_DEFAULTS`) (True).
cpich_fraction
    3G: share of the total power in the CPICH pilot (0.1).
nr_scs_khz
    5G: subcarrier spacing of the SS block and carrier (30 kHz, band n78).
clutter_losses_db
    Optional overrides of :data:`CLUTTER_LOSS_DB` at 1 GHz per land-cover class.
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

Radio link budget
-----------------
:data:`RADIO_DEFAULTS` is the one table of per-technology radio values; a ``bts`` row's own
``tx_power_w``, ``bandwidth_mhz``, ``antenna_gain_dbi``, ``feeder_loss_db``,
``antenna_height_m``, ``mech_tilt_deg``, ``elec_tilt_deg`` win over it. What each value is:

* ``tx_power_w`` — total power per sector and carrier at the antenna connector side of the
  cabinet: 2G 20 W per TRX, 3G/4G 20 W per carrier and port (the usual 2×20 W RRU), 5G 80 W
  (a 64T64R AAU's 200 W EIRP-relevant share of its 320 W, as one port).
* ``bandwidth_mhz`` — 2G 0.2 (one GSM carrier), 3G 5, 4G 10 (most common LTE carrier in
  Vietnam's 1800 MHz band), 5G 100 (n78).
* Reference-signal power, what the threshold is compared with:
  2G BCCH carrier at full power (``P_ref = P``, GSM 45.008 RxLev); 3G CPICH,
  ``P_ref = P + 10 log10(cpich_fraction)`` (10 % default, Holma & Toskala §8);
  4G RSRP, ``P_ref = P − 10 log10(12 N_RB)`` with N_RB per bandwidth from 3GPP TS 36.101
  Table 5.6-1 (1.4→6, 3→15, 5→25, 10→50, 15→75, 20→100): 5 MHz is 24.8 dB below the
  total; 5G SS-RSRP likewise with N_RB from TS 38.101-1 Table 5.3.2-1 for the subcarrier
  spacing (30 kHz: 5→11, 10→24, 15→38, 20→51, 25→65, 30→78, 40→106, 50→133, 60→162,
  70→189, 80→217, 90→245, 100→273; 15 kHz: 5→25, 10→52, 15→79, 20→106, 25→133, 30→160,
  40→216, 50→270), SSB at the same energy per resource element as the data.
* ``antenna_gain_dbi`` — 17 dBi (2G/3G/4G 65° panel), 24 dBi for a 5G AAU's SSB beam;
  ``feeder_loss_db`` 3 dB (2G/3G, jumper and feeder to ground cabinet), 1 dB (4G RRU at the
  top) and 0 dB (5G AAU).
* Uplink: UE power 33 dBm (GSM 900 class 4, TS 45.005 §4.1.1), 24 dBm (UMTS class 3,
  TS 25.101 §6.2), 23 dBm (LTE/NR class 3, TS 36.101 §6.2.2, TS 38.101-1 §6.2.1); BTS
  sensitivity −110 dBm (GSM with receive diversity; TS 45.005 §6.2 requires −104 dBm),
  −121 dBm (UMTS 12.2 kbit/s wide area, TS 25.104 §7.2), −115.5 dBm (LTE: TS 36.104 §7.2
  −101.5 dBm over 25 RB, per resource block), −114.8 dBm (NR: TS 38.104 §7.2 −101 dBm over
  24 PRB at 30 kHz, per PRB). The maximum uplink path loss is
  ``P_UE + G_ant − L_feeder − S_BTS`` (UE antenna 0 dBi).
* Default antenna pattern: the 3GPP TR 36.814 Table A.2.1.1-2 sector (horizontal θ3dB 70°,
  Am 25 dB; vertical φ3dB 10°, SLAv 20 dB; combined ``−min(−(A_H + A_V), Am)``); electrical
  tilt default 3° (rural macro), mechanical 0°.

:data:`PENETRATION_LOSS_DB`: ``in_vehicle`` 8 dB (3GPP TR 36.942 §4.5 uses 9 dB;
typical planning 6–10 dB), ``indoor`` 12 dB below 1 GHz, 15 dB to 2.5 GHz, 18 dB above (of the
order of ITU-R P.2109-1's median building entry loss for traditional buildings).

:data:`CLUTTER_LOSS_DB`: per land-cover class at 1 GHz, scaled by ``(f/1000)^0.3`` (forest
after ITU-R P.833-10 Fig. 2/§2: excess loss of a ~100 m stand of woodland at the terminal,
the curve ``A = A_m (1 − exp(−d γ / A_m))`` saturating near 10–20 dB in UHF; settlement after
ITU-R P.1812-6 Table 2 "suburban" representative clutter of 10 m; open and water 0 dB).
Clutter applies at the receiver's cell, only when a land-cover source is given.

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

__all__ = ["CLUTTER_CLASSES", "CLUTTER_LOSS_DB", "DEFAULT", "DIFFRACTION_MODES", "ITM_CLIMATES",
           "LTE_RB", "NR_RB", "PATH_LOSS_MODELS", "PENETRATION_LOSS_DB", "RADIO_DEFAULTS",
           "RADIO_FIELDS", "TECHNOLOGIES", "Settings", "clutter_loss_db", "default_eirp_dbm",
           "fading_margin_db", "in_service_techs", "max_uplink_loss_db", "penetration_loss_db",
           "reference_offset_db", "resource_blocks"]

TECHNOLOGIES: tuple[str, ...] = ("2G", "3G", "4G", "5G")
#: ITM radio climates, in ITM's order (climate 1–7)
ITM_CLIMATES: tuple[str, ...] = ("equatorial", "continental_subtropical", "maritime_subtropical",
                                 "desert", "continental_temperate", "maritime_temperate_land",
                                 "maritime_temperate_sea")


def _ro(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))


#: the one table of per-technology radio defaults (sources: module docstring, "Radio link
#: budget"); ``band_mhz`` is the band assumed when a BTS gives none
RADIO_DEFAULTS: Mapping[str, Mapping[str, float]] = _ro({
    "2G": _ro({"band_mhz": 900.0, "tx_power_w": 20.0, "bandwidth_mhz": 0.2,
               "antenna_gain_dbi": 17.0, "feeder_loss_db": 3.0, "mech_tilt_deg": 0.0,
               "elec_tilt_deg": 3.0, "ue_power_dbm": 33.0, "bts_sensitivity_dbm": -110.0}),
    "3G": _ro({"band_mhz": 2100.0, "tx_power_w": 20.0, "bandwidth_mhz": 5.0,
               "antenna_gain_dbi": 17.0, "feeder_loss_db": 3.0, "mech_tilt_deg": 0.0,
               "elec_tilt_deg": 3.0, "ue_power_dbm": 24.0, "bts_sensitivity_dbm": -121.0}),
    "4G": _ro({"band_mhz": 1800.0, "tx_power_w": 20.0, "bandwidth_mhz": 10.0,
               "antenna_gain_dbi": 17.0, "feeder_loss_db": 1.0, "mech_tilt_deg": 0.0,
               "elec_tilt_deg": 3.0, "ue_power_dbm": 23.0, "bts_sensitivity_dbm": -115.5}),
    "5G": _ro({"band_mhz": 3500.0, "tx_power_w": 80.0, "bandwidth_mhz": 100.0,
               "antenna_gain_dbi": 24.0, "feeder_loss_db": 0.0, "mech_tilt_deg": 0.0,
               "elec_tilt_deg": 3.0, "ue_power_dbm": 23.0, "bts_sensitivity_dbm": -114.8}),
})
#: the ``bts`` fields that fall back on :data:`RADIO_DEFAULTS` when empty
RADIO_FIELDS: tuple[str, ...] = ("band_mhz", "tx_power_w", "bandwidth_mhz", "antenna_gain_dbi",
                                 "feeder_loss_db", "mech_tilt_deg", "elec_tilt_deg")
#: LTE resource blocks per channel bandwidth (3GPP TS 36.101 Table 5.6-1)
LTE_RB: Mapping[float, int] = _ro({1.4: 6, 3.0: 15, 5.0: 25, 10.0: 50, 15.0: 75, 20.0: 100})
#: NR resource blocks per (subcarrier spacing kHz, bandwidth MHz) (TS 38.101-1 Table 5.3.2-1)
NR_RB: Mapping[int, Mapping[float, int]] = _ro({
    15: _ro({5.0: 25, 10.0: 52, 15.0: 79, 20.0: 106, 25.0: 133, 30.0: 160, 40.0: 216,
             50.0: 270}),
    30: _ro({5.0: 11, 10.0: 24, 15.0: 38, 20.0: 51, 25.0: 65, 30.0: 78, 40.0: 106, 50.0: 133,
             60.0: 162, 70.0: 189, 80.0: 217, 90.0: 245, 100.0: 273}),
    60: _ro({10.0: 11, 15.0: 18, 20.0: 24, 25.0: 31, 30.0: 38, 40.0: 51, 50.0: 65, 60.0: 79,
             70.0: 93, 80.0: 107, 90.0: 121, 100.0: 135}),
})
#: UMTS and GSM carriers: the bandwidths a 3G / 2G row may give
_FIXED_BW: Mapping[str, tuple[float, ...]] = _ro({"2G": (0.2,), "3G": (5.0,)})
#: penetration classes: loss (dB) per upper frequency bound (MHz)
PENETRATION_LOSS_DB: Mapping[str, tuple[tuple[float, float], ...]] = _ro({
    "outdoor": ((1e9, 0.0),),
    "in_vehicle": ((1e9, 8.0),),
    "indoor": ((1000.0, 12.0), (2500.0, 15.0), (1e9, 18.0)),
})
#: land-cover classes and their loss at 1 GHz (dB), scaled by (f/1000 MHz)^0.3
CLUTTER_CLASSES: tuple[str, ...] = ("open", "water", "forest", "settlement")
CLUTTER_LOSS_DB: Mapping[str, float] = _ro({"open": 0.0, "water": 0.0, "forest": 12.0,
                                            "settlement": 8.0})
#: path-loss models: name → compiled kernel code (gis._kernels); new models register here
PATH_LOSS_MODELS: Mapping[str, int] = _ro({"hata": 0, "free_space": 1, "p526": 1})
#: diffraction methods: name → compiled kernel code (gis._kernels)
DIFFRACTION_MODES: Mapping[str, int] = _ro({"none": 0, "dominant": 1, "deygout": 2,
                                            "epstein_peterson": 3, "deygout_p452": 4})


def resource_blocks(tech: str, bandwidth_mhz: float, *, scs_khz: int = 30) -> int:
    """Resource blocks of a 4G or 5G carrier; ValueError for a bandwidth the standard lacks."""
    bw = round(float(bandwidth_mhz), 1)
    table = LTE_RB if tech == "4G" else NR_RB.get(int(scs_khz), {}) if tech == "5G" else {}
    if bw not in table:
        allowed = ", ".join(f"{b:g}" for b in table) or "none"
        raise ValueError(f"bandwidth {bandwidth_mhz:g} MHz is not a {tech} channel "
                         f"bandwidth (use {allowed})")
    return int(table[bw])


def reference_offset_db(tech: str, bandwidth_mhz: float, *, cpich_fraction: float = 0.1,
                        scs_khz: int = 30) -> float:
    """dB from the total power to the reference-signal power compared with the threshold.

    2G: 0 (BCCH carrier at full power); 3G: ``−10 log10(cpich_fraction)``; 4G/5G:
    ``10 log10(12 N_RB)``. ValueError for a bandwidth the technology does not have.
    """
    if tech in _FIXED_BW:
        if round(float(bandwidth_mhz), 1) not in _FIXED_BW[tech]:
            raise ValueError(f"bandwidth {bandwidth_mhz:g} MHz is not a {tech} carrier "
                             f"(use {_FIXED_BW[tech][0]:g})")
        return 0.0 if tech == "2G" else -10.0 * math.log10(cpich_fraction)
    return 10.0 * math.log10(12 * resource_blocks(tech, bandwidth_mhz, scs_khz=scs_khz))


def fading_margin_db(location_probability: float, sigma_db: float) -> float:
    """Log-normal fading margin ``z(p) σ`` (0 at p = 0.5)."""
    from statistics import NormalDist

    return float(NormalDist().inv_cdf(location_probability) * sigma_db)


def penetration_loss_db(penetration: str, freq_mhz: float) -> float:
    """Penetration loss of a class at a frequency (:data:`PENETRATION_LOSS_DB`)."""
    for upper, loss in PENETRATION_LOSS_DB[penetration]:
        if freq_mhz <= upper:
            return float(loss)
    return float(PENETRATION_LOSS_DB[penetration][-1][1])


def clutter_loss_db(cls: str, freq_mhz: float, *,
                    table: Mapping[str, float] | None = None) -> float:
    """Loss of a land-cover class at a frequency: the 1 GHz value × (f / 1000)^0.3."""
    base = dict(CLUTTER_LOSS_DB)
    base.update(table or {})
    return float(base[cls]) * (float(freq_mhz) / 1000.0) ** 0.3


def default_eirp_dbm(tech: str) -> float:
    """Total EIRP (dBm) of a BTS with the table's values: ``10 log10(P_W · 1000) + G − L``."""
    r = RADIO_DEFAULTS[tech]
    return round(10.0 * math.log10(r["tx_power_w"] * 1000.0) + r["antenna_gain_dbi"]
                 - r["feeder_loss_db"], 2)


def max_uplink_loss_db(tech: str, antenna_gain_dbi: float, feeder_loss_db: float) -> float:
    """Largest path loss the uplink closes: ``P_UE + G − L_feeder − S_BTS`` (UE 0 dBi)."""
    r = RADIO_DEFAULTS[tech]
    return (r["ue_power_dbm"] + antenna_gain_dbi - feeder_loss_db
            - r["bts_sensitivity_dbm"])


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
    path_loss_model: str = "p526"
    environment: str = "rural"
    diffraction: str = "deygout_p452"
    deygout_depth: int = 1
    location_probability: float = 0.5
    shadow_sigma_db: float = 8.0
    penetration: str = "outdoor"
    uplink_check: bool = True
    cpich_fraction: float = 0.1
    nr_scs_khz: int = 30
    clutter_losses_db: Mapping[str, float] = dataclasses.field(default_factory=lambda: _ro({}))
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
        object.__setattr__(self, "clutter_losses_db", _ro(self.clutter_losses_db))
        unknown = set(self.clutter_losses_db) - set(CLUTTER_CLASSES)
        if unknown:
            problems.append(f"clutter_losses_db: unknown class {sorted(unknown)}; use "
                            f"{CLUTTER_CLASSES}")
        if not 0 < self.location_probability < 1:
            problems.append(f"location_probability={self.location_probability}: must be in "
                            "(0, 1)")
        if self.shadow_sigma_db < 0:
            problems.append(f"shadow_sigma_db={self.shadow_sigma_db}: must be >= 0")
        if not 0 < self.cpich_fraction <= 1:
            problems.append(f"cpich_fraction={self.cpich_fraction}: must be in (0, 1]")
        if self.nr_scs_khz not in NR_RB:
            problems.append(f"nr_scs_khz={self.nr_scs_khz}: use one of {tuple(NR_RB)}")
        if self.deygout_depth not in (0, 1, 2, 3):
            problems.append(f"deygout_depth={self.deygout_depth}: use 0–3")
        choices = {"path_loss_model": tuple(PATH_LOSS_MODELS),
                   "environment": ("urban", "suburban", "rural", "open"),
                   "diffraction": tuple(DIFFRACTION_MODES),
                   "penetration": tuple(PENETRATION_LOSS_DB),
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
