"""Link budget of each BTS: what the coverage models compare with the thresholds.

For every ``bts`` row (values from the row, else :data:`layers.settings.RADIO_DEFAULTS`):

* total power ``P = 10 log10(tx_power_w · 1000)`` dBm (a legacy ``eirp_dbm`` without
  ``tx_power_w`` gives ``P = eirp_dbm − G + L_feeder``);
* reference-signal power ``P_ref = P − reference_offset_db(tech, bandwidth)`` (2G BCCH at
  full power, 3G CPICH share, 4G RSRP and 5G SS-RSRP per resource element:
  :func:`layers.settings.reference_offset_db`);
* peak reference EIRP ``EIRP_ref = P_ref + G − L_feeder``;
* margins ``M = z(p) σ + L_penetration`` (:func:`layers.settings.fading_margin_db`,
  :func:`layers.settings.penetration_loss_db`);
* downlink limit: the largest ``L − g`` (path loss minus the antenna's relative gain toward
  the receiver) with ``EIRP_ref − M − (L − g) ≥ threshold``;
* uplink limit: ``P_UE + G − L_feeder − S_BTS − M`` (:func:`layers.settings.max_uplink_loss_db`).

A cell is covered when ``L − g`` is within both limits. The kernels compute one field,
``EIRP_eff + g − L`` with ``EIRP_eff = EIRP_ref − M − max(0, DL limit − UL limit)``: it is the
received reference-signal level where the downlink limits, and that level lowered by the
uplink's shortfall where the uplink does, so ``field ≥ threshold`` is exactly "both links
close" and the best-server maximum stays right.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from phusong.gis import _kernels
from phusong.gis.antenna import TR36814, AntennaPattern, read_msi
from phusong.gis.errors import InputError
from phusong.layers.settings import (
    DEFAULT,
    DIFFRACTION_MODES,
    PATH_LOSS_MODELS,
    RADIO_DEFAULTS,
    RADIO_FIELDS,
    Settings,
    fading_margin_db,
    max_uplink_loss_db,
    penetration_loss_db,
    reference_offset_db,
)
from phusong.layers.validate import parse_azimuths

logger = logging.getLogger(__name__)

__all__ = ["defaults_line", "kernel_codes", "link_budget", "pattern_gains", "site_antennas"]


def kernel_codes(settings: Settings = DEFAULT) -> tuple[int, int]:
    """``(model, diffraction mode)`` codes of the compiled kernels for the settings.

    ``free_space`` ignores terrain (no diffraction); ``p526`` and ``hata`` take the
    ``diffraction`` setting.
    """
    model = PATH_LOSS_MODELS[settings.path_loss_model]
    mode = 0 if settings.path_loss_model == "free_space" else \
        DIFFRACTION_MODES[settings.diffraction]
    return model, mode


def _column(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)


def _row_label(df: pd.DataFrame, i: int) -> str:
    if "bts_id" in df:
        return f"bts {df['bts_id'].iloc[i]!s}"
    return f"bts row {i + 1}"


def link_budget(bts: pd.DataFrame, *, settings: Settings = DEFAULT) -> pd.DataFrame:
    """Per-BTS link budget (one row per input row, same order and index).

    Returns
    -------
    pandas.DataFrame
        ``tech``, ``band_mhz``, ``tx_power_w``, ``bandwidth_mhz``, ``antenna_gain_dbi``,
        ``feeder_loss_db``, ``mech_tilt_deg``, ``elec_tilt_deg`` (values used),
        ``tx_power_dbm``, ``ref_offset_db``, ``ref_power_dbm``, ``ref_eirp_dbm``,
        ``margin_db``, ``max_dl_loss_db``, ``max_ul_loss_db``, ``max_loss_db``,
        ``uplink_limited``, ``eirp_eff_dbm`` and, per radio field, ``default_<field>``
        (True where the table's value was used). ``attrs["defaults"]`` counts them.

    Raises
    ------
    InputError
        A technology without radio defaults or a bandwidth the technology does not have,
        naming the BTS.
    """
    n = len(bts)
    tech = bts["tech"].astype(str).to_numpy() if "tech" in bts else np.full(n, "4G")
    bad = sorted(set(tech) - set(RADIO_DEFAULTS))
    if bad:
        raise InputError(f"bts tech {bad[0]!r}: no radio defaults; use one of "
                         f"{', '.join(RADIO_DEFAULTS)}")
    out = pd.DataFrame({"tech": tech}, index=bts.index)
    counts: dict[str, int] = {}
    vals: dict[str, np.ndarray] = {}
    for field in RADIO_FIELDS:
        given = _column(bts, field)
        table = np.array([RADIO_DEFAULTS[t][field] for t in tech], dtype=float)
        use = ~np.isfinite(given)
        if field == "tx_power_w":
            eirp = _column(bts, "eirp_dbm")
            use_eirp = use & np.isfinite(eirp)
            use = use & ~use_eirp
        vals[field] = np.where(use, table, given)
        out[f"default_{field}"] = use
        counts[field] = int(use.sum())
    # legacy rows: total EIRP and no power → power from the EIRP, gain and feeder loss used
    eirp = _column(bts, "eirp_dbm")
    from_eirp = ~np.isfinite(_column(bts, "tx_power_w")) & np.isfinite(eirp)
    p_dbm = 10.0 * np.log10(vals["tx_power_w"] * 1000.0)
    p_dbm = np.where(from_eirp, eirp - vals["antenna_gain_dbi"] + vals["feeder_loss_db"], p_dbm)
    vals["tx_power_w"] = np.where(from_eirp, 10.0 ** ((p_dbm - 30.0) / 10.0),
                                  vals["tx_power_w"])
    counts["tx_power_w from eirp_dbm"] = int(from_eirp.sum())
    for field in RADIO_FIELDS:
        out[field] = vals[field]
    offset = np.empty(n)
    for i in range(n):
        try:
            offset[i] = reference_offset_db(tech[i], vals["bandwidth_mhz"][i],
                                            cpich_fraction=settings.cpich_fraction,
                                            scs_khz=settings.nr_scs_khz)
        except ValueError as exc:
            raise InputError(f"{_row_label(bts, i)}: bandwidth_mhz: {exc}") from None
    fading = fading_margin_db(settings.location_probability, settings.shadow_sigma_db)
    pen = np.array([penetration_loss_db(settings.penetration, f) for f in vals["band_mhz"]])
    margin = fading + pen
    ref = p_dbm - offset
    ref_eirp = ref + vals["antenna_gain_dbi"] - vals["feeder_loss_db"]
    thr = np.array([settings.threshold_dbm[t] for t in tech], dtype=float)
    dl = ref_eirp - margin - thr
    ul = np.array([max_uplink_loss_db(t, g, f) for t, g, f in
                   zip(tech, vals["antenna_gain_dbi"], vals["feeder_loss_db"], strict=True)])
    ul = ul - margin
    shortfall = np.maximum(dl - ul, 0.0) if settings.uplink_check else np.zeros(n)
    out["tx_power_dbm"] = p_dbm
    out["ref_offset_db"] = offset
    out["ref_power_dbm"] = ref
    out["ref_eirp_dbm"] = ref_eirp
    out["margin_db"] = margin
    out["max_dl_loss_db"] = dl
    out["max_ul_loss_db"] = ul
    out["max_loss_db"] = dl - shortfall
    out["uplink_limited"] = shortfall > 0
    out["eirp_eff_dbm"] = ref_eirp - margin - shortfall
    out.attrs["defaults"] = {k: v for k, v in counts.items() if v}
    return out


def defaults_line(budget: pd.DataFrame) -> str:
    """One line: how many BTS took the table's value, per field (for logs and outputs)."""
    counts = budget.attrs.get("defaults", {})
    n = len(budget)
    if not counts:
        return f"all {n} BTS give their own radio values"
    parts = ", ".join(f"{field} {k}" for field, k in counts.items())
    return f"radio defaults used (of {n} BTS): {parts}"


def _resolve_pattern(value: str, base_dir: str | os.PathLike | None) -> Path:
    p = Path(value)
    if not p.is_absolute() and base_dir is not None and (Path(base_dir) / p).exists():
        return Path(base_dir) / p
    return p


def site_antennas(bts: pd.DataFrame, budget: pd.DataFrame, *,
                  base_dir: str | os.PathLike | None = None) -> _kernels.Antennas:
    """Antenna arrays for the kernels: azimuths, tilts and the pattern bank.

    A row with ``azimuth_deg`` (or the legacy ``azimuths``) gets the 3GPP TR 36.814 sector,
    or its ``pattern`` file (relative paths are looked up in ``base_dir`` first); a row
    without one is omni. A pattern file's gain replaces the row's missing
    ``antenna_gain_dbi`` — callers pass the budget computed with it (see
    :func:`pattern_gains`).
    """
    n = len(bts)
    col = "azimuth_deg" if "azimuth_deg" in bts else ("azimuths" if "azimuths" in bts else None)
    az = np.zeros((n, 6))
    n_az = np.zeros(n, np.int64)
    if col is not None:
        for i, v in enumerate(bts[col].to_numpy()):
            try:
                a = parse_azimuths(v)
            except ValueError as exc:
                raise InputError(f"{_row_label(bts, i)}: azimuth_deg: {exc}") from None
            az[i, :len(a)] = a
            n_az[i] = len(a)
    bank: list[AntennaPattern] = [TR36814]
    index: dict[str, int] = {}
    pid = np.where(n_az > 0, 0, -1).astype(np.int64)
    tilt_e = budget["elec_tilt_deg"].to_numpy(dtype=float).copy()
    tilt_m = budget["mech_tilt_deg"].to_numpy(dtype=float).copy()
    if "pattern" in bts:
        for i, v in enumerate(bts["pattern"].to_numpy()):
            if v is None or (isinstance(v, float) and math.isnan(v)) or not str(v).strip():
                continue
            key = str(v).strip()
            if key not in index:
                bank.append(read_msi(_resolve_pattern(key, base_dir)))
                index[key] = len(bank) - 1
            if n_az[i] == 0:  # a pattern file without an azimuth points north
                n_az[i] = 1
            pid[i] = index[key]
            if bank[index[key]].tilt_in_pattern:
                tilt_e[i] = 0.0
    return _kernels.Antennas(
        pid=pid, az=az, n_az=n_az, tilt_e=tilt_e, tilt_m=tilt_m,
        pat_h=np.stack([p.horizontal for p in bank]),
        pat_v=np.stack([p.vertical for p in bank]),
        pat_cap=np.array([p.cap_db for p in bank], dtype=float))


def pattern_gains(bts: pd.DataFrame, *,
                  base_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """``bts`` with ``antenna_gain_dbi`` filled from pattern files where the row has none."""
    if "pattern" not in bts:
        return bts
    gains = _column(bts, "antenna_gain_dbi")
    changed = False
    cache: dict[str, float | None] = {}
    for i, v in enumerate(bts["pattern"].to_numpy()):
        if np.isfinite(gains[i]) or v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        key = str(v).strip()
        if not key:
            continue
        if key not in cache:
            cache[key] = read_msi(_resolve_pattern(key, base_dir)).gain_dbi
        if cache[key] is not None:
            gains[i] = cache[key]
            changed = True
    if not changed:
        return bts
    out = bts.copy()
    out["antenna_gain_dbi"] = gains
    return out
