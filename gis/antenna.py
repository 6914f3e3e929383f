"""Base-station antenna patterns: the 3GPP TR 36.814 sector and MSI/Planet pattern files.

Conventions
-----------
Gains here are *relative* to the antenna's peak (0 dB at boresight, negative elsewhere); the
peak gain in dBi comes from the ``bts`` row (``antenna_gain_dbi``) or the file's ``GAIN``.
``phi`` is the horizontal angle off the azimuth (degrees, either sense); ``theta`` the
vertical angle **below** the horizon (degrees, a receiver under the antenna is at +θ), and a
down-tilt is positive.

3GPP TR 36.814 V9.0.0, Table A.2.1.1-2 (3-sector macro cell)
    ``A_H(φ) = −min(12 (φ / φ3dB)², A_m)`` with φ3dB = 70°, A_m = 25 dB;
    ``A_V(θ) = −min(12 ((θ − θ_tilt) / θ3dB)², SLA_v)`` with θ3dB = 10°, SLA_v = 20 dB;
    combined ``A(φ, θ) = −min(−(A_H(φ) + A_V(θ)), A_m)``.

Tilt
    The electrical tilt shifts the vertical pattern; a mechanical tilt tips the whole antenna,
    so at φ off the azimuth its effect on the vertical cut is ``θ_mech cos φ`` (the usual
    planning-tool approximation). Total: ``θ_tilt(φ) = θ_elec + θ_mech cos φ``.

MSI / Planet files (``.msi``, ``.pln``, ``.txt``; what operators' planning tools export)
    Header lines ``KEYWORD value`` (``NAME``, ``FREQUENCY``, ``GAIN`` in dBi, or ``dBd`` when
    followed by that unit, ``TILT`` / ``ELECTRICAL_TILT`` …), then ``HORIZONTAL 360`` and
    ``VERTICAL 360``, each followed by 360 lines ``angle attenuation`` (angle 0–359 in whole
    degrees, attenuation in dB ≥ 0 relative to the peak). Horizontal angles run clockwise from
    boresight; vertical angles from the horizon, downwards (90 = nadir, 270 = zenith). A file's
    vertical cut already holds its electrical tilt, so only the row's mechanical tilt is added.
    The combined attenuation is ``min(A_H(φ) + A_V(θ), max A_H)`` (the 3GPP rule with the file's
    own front-to-back ratio as the cap).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import numpy as np

from phusong.gis.errors import InputError

logger = logging.getLogger(__name__)

__all__ = ["TR36814", "AntennaPattern", "PatternError", "combined_gain_db", "read_msi",
           "tr36814_horizontal_db", "tr36814_vertical_db"]

#: 3GPP TR 36.814 Table A.2.1.1-2 parameters
TR36814_PHI3DB = 70.0
TR36814_AM = 25.0
TR36814_THETA3DB = 10.0
TR36814_SLAV = 20.0


class PatternError(InputError):
    """An antenna pattern file that cannot be read (one line: file, line, reason)."""


def tr36814_horizontal_db(phi_deg: float | np.ndarray, *, phi3db: float = TR36814_PHI3DB,
                          am: float = TR36814_AM) -> np.ndarray:
    """Horizontal relative gain ``A_H(φ) = −min(12 (φ/φ3dB)², A_m)`` in dB."""
    phi = (np.asarray(phi_deg, dtype=float) + 180.0) % 360.0 - 180.0
    return -np.minimum(12.0 * (phi / phi3db) ** 2, am)


def tr36814_vertical_db(theta_deg: float | np.ndarray, tilt_deg: float | np.ndarray = 0.0, *,
                        theta3db: float = TR36814_THETA3DB,
                        slav: float = TR36814_SLAV) -> np.ndarray:
    """Vertical relative gain ``A_V(θ) = −min(12 ((θ − tilt)/θ3dB)², SLA_v)`` in dB."""
    d = np.asarray(theta_deg, dtype=float) - np.asarray(tilt_deg, dtype=float)
    return -np.minimum(12.0 * (d / theta3db) ** 2, slav)


@dataclasses.dataclass(frozen=True)
class AntennaPattern:
    """A pattern as two 1° tables of relative gain (dB ≤ 0).

    Attributes
    ----------
    name
        File name or ``"3GPP TR 36.814"``.
    horizontal
        360 values: gain at φ = 0…359° clockwise from boresight.
    vertical
        360 values: gain at θ = 0…359° below the horizon (θ = 359 is 1° above).
    cap_db
        Largest combined attenuation (A_m, or the file's front-to-back ratio).
    gain_dbi
        Peak gain from the file, None for the 3GPP model (the row's gain applies).
    tilt_in_pattern
        True when the vertical cut already includes the electrical tilt (files).
    """

    name: str
    horizontal: np.ndarray
    vertical: np.ndarray
    cap_db: float
    gain_dbi: float | None = None
    tilt_in_pattern: bool = False


def _tr36814_tables() -> AntennaPattern:
    ang = np.arange(360.0)
    theta = np.where(ang > 180.0, ang - 360.0, ang)  # signed, below horizon positive
    return AntennaPattern("3GPP TR 36.814", tr36814_horizontal_db(ang),
                          tr36814_vertical_db(theta), TR36814_AM)


#: the default sector antenna (vertical cut for 0° tilt; the kernel shifts it by the tilt)
TR36814 = _tr36814_tables()


def combined_gain_db(pattern: AntennaPattern, phi_deg: float | np.ndarray,
                     theta_deg: float | np.ndarray, *, elec_tilt_deg: float = 0.0,
                     mech_tilt_deg: float = 0.0) -> np.ndarray:
    """Relative gain (dB) toward (φ off azimuth, θ below horizon), by the module's rules.

    Linear interpolation between the 1° table values, as the compiled kernel does.
    """
    phi = np.asarray(phi_deg, dtype=float)
    theta = np.asarray(theta_deg, dtype=float)
    tilt = mech_tilt_deg * np.cos(np.radians(phi))
    if not pattern.tilt_in_pattern:
        tilt = tilt + elec_tilt_deg
    a_h = -_interp360(pattern.horizontal, phi)
    a_v = -_interp360(pattern.vertical, theta - tilt)
    return -np.minimum(a_h + a_v, pattern.cap_db)


def _interp360(table: np.ndarray, ang: np.ndarray) -> np.ndarray:
    a = np.mod(ang, 360.0)
    i = np.floor(a).astype(np.int64) % 360
    f = a - np.floor(a)
    return table[i] * (1.0 - f) + table[(i + 1) % 360] * f


def read_msi(path: str | os.PathLike) -> AntennaPattern:
    """Read an MSI/Planet antenna pattern file.

    Raises
    ------
    PatternError
        One line naming the file, the line and what is wrong (missing or short section,
        angle out of order, attenuation not a number or negative, unreadable file).
    """
    path = Path(path)
    name = path.name
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise PatternError(f"{path}: cannot read the antenna pattern file ({exc.strerror})") \
            from None
    lines = text.splitlines()
    header: dict[str, str] = {}
    sections: dict[str, np.ndarray] = {}
    i = 0
    n = len(lines)
    while i < n:
        raw = lines[i].strip()
        i += 1
        if not raw:
            continue
        parts = raw.split(None, 1)
        key = parts[0].upper()
        rest = parts[1].strip() if len(parts) > 1 else ""
        if key in ("HORIZONTAL", "VERTICAL"):
            try:
                count = round(float(rest.split()[0])) if rest else 360
            except ValueError:
                raise PatternError(f"{path}:{i}: {key} must be followed by the number of "
                                   f"points (360), not {rest!r}") from None
            if count != 360:
                raise PatternError(f"{path}:{i}: {key} {count}: only 360-point (1°) cuts "
                                   "are supported")
            vals = np.full(360, np.nan)
            got = 0
            while got < 360:
                if i >= n:
                    raise PatternError(f"{path}:{i}: {key} section ends after {got} of 360 "
                                       "points")
                row = lines[i].strip()
                i += 1
                if not row:
                    continue
                cells = row.replace(",", " ").split()
                if cells[0].upper() in ("HORIZONTAL", "VERTICAL"):
                    raise PatternError(f"{path}:{i}: {key} section ends after {got} of 360 "
                                       "points")
                try:
                    ang = float(cells[0])
                    att = float(cells[1])
                except (ValueError, IndexError):
                    raise PatternError(f"{path}:{i}: {key} point {got + 1}: expected "
                                       f"'angle attenuation', got {row!r}") from None
                if not (np.isfinite(ang) and np.isfinite(att)) or att < 0 or att > 100:
                    raise PatternError(f"{path}:{i}: {key} attenuation {att:g} dB at {ang:g}°"
                                       ": must be 0–100 dB relative to the peak")
                k = round(ang)
                if abs(ang - k) > 1e-6 or not 0 <= k < 360 or not np.isnan(vals[k]):
                    raise PatternError(f"{path}:{i}: {key} angle {ang:g}: expected whole "
                                       "degrees 0–359, each once")
                vals[k] = att
                got += 1
            sections[key] = vals
        else:
            header[key] = rest
    for key in ("HORIZONTAL", "VERTICAL"):
        if key not in sections:
            raise PatternError(f"{path}: no {key} 360 section; not an MSI/Planet pattern file")
    gain = None
    if "GAIN" in header:
        g = header["GAIN"].split()
        try:
            gain = float(g[0])
        except (ValueError, IndexError):
            raise PatternError(f"{path}: GAIN {header['GAIN']!r} is not a number") from None
        if len(g) > 1 and g[1].lower() == "dbd":
            gain += 2.15
        if not -10.0 <= gain <= 40.0:
            raise PatternError(f"{path}: GAIN {gain:g} dBi is outside −10…40 dBi")
    h = sections["HORIZONTAL"] - sections["HORIZONTAL"].min()
    v = sections["VERTICAL"] - sections["VERTICAL"].min()
    cap = float(max(h.max(), 1.0))
    logger.debug("read antenna pattern %s (gain %s dBi, front-to-back %.1f dB)", name, gain,
                 cap)
    return AntennaPattern(header.get("NAME", name) or name, -h, -v, cap, gain,
                          tilt_in_pattern=True)
