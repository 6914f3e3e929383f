"""Synthetic mountain terrain: spectral noise, ridged multifractal, carved river valleys.

Everything is vectorised numpy in float32. The large-scale relief (valley floors, ridges
between rivers, ridged multifractal) is built on a coarse grid (``factor`` × the DEM cell) and
upsampled bilinearly; fine roughness is 1/f^β noise synthesised by FFT at full resolution.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.fft
from scipy import ndimage

logger = logging.getLogger(__name__)

__all__ = ["carve_terrain", "ridged_noise", "spectral_noise", "upsample_bilinear"]


def _freq_radius(shape: tuple[int, int]) -> np.ndarray:
    fy = scipy.fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = scipy.fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    return np.sqrt(fy * fy + fx * fx)


def spectral_noise(shape: tuple[int, int], rng: np.random.Generator, *, beta: float = 2.0,
                   fmin: float = 0.0, fmax: float = 0.5) -> np.ndarray:
    """Gaussian noise with power spectrum ∝ f^-β, band-limited to [fmin, fmax] cycles/cell.

    Returns float32, zero mean, unit standard deviation.
    """
    white = rng.standard_normal(shape, dtype=np.float32)
    spec = scipy.fft.rfft2(white, workers=-1)
    f = _freq_radius(shape)
    f[0, 0] = 1.0
    amp = f ** np.float32(-beta / 2.0)
    amp[(f < fmin) | (f > fmax)] = 0.0
    if fmin <= 0:
        amp[0, 0] = 0.0
    spec *= amp
    out = scipy.fft.irfft2(spec, s=shape, workers=-1).astype(np.float32, copy=False)
    out -= out.mean()
    sd = float(out.std())
    if sd > 0:
        out /= np.float32(sd)
    return out


def ridged_noise(shape: tuple[int, int], rng: np.random.Generator, *, octaves: int = 4,
                 base_cells: float = 40.0) -> np.ndarray:
    """Ridged multifractal in [0, 1]: Σ wᵢ (1 − |nᵢ|)², nᵢ band-limited noise per octave.

    ``base_cells`` is the wavelength of the first octave in cells; each octave halves it and
    is weighted by the previous octave's signal (the heterogeneous ridged model of Musgrave).
    """
    total = np.zeros(shape, np.float32)
    weight = np.ones(shape, np.float32)
    norm = 0.0
    for o in range(octaves):
        f0 = 1.0 / (base_cells / 2 ** o)
        n = spectral_noise(shape, rng, beta=0.0, fmin=f0 / 1.5, fmax=f0 * 1.5)
        sig = (1.0 - np.minimum(np.abs(n) / 2.0, 1.0)) ** 2
        sig *= weight
        weight = np.clip(sig * 2.0, 0.0, 1.0)
        amp = 0.5 ** o
        total += np.float32(amp) * sig
        norm += amp
    total /= np.float32(norm)
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / np.float32(max(hi - lo, 1e-6))


def upsample_bilinear(arr: np.ndarray, factor: int) -> np.ndarray:
    """Bilinear upsampling by an integer factor with cell-centre alignment (float32)."""

    def axis_weights(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = (np.arange(n * factor, dtype=np.float32) + 0.5) / factor - 0.5
        i0 = np.clip(np.floor(pos).astype(np.int64), 0, n - 1)
        i1 = np.clip(i0 + 1, 0, n - 1)
        w = np.clip(pos - i0, 0.0, 1.0).astype(np.float32)
        return i0, i1, w

    a = arr.astype(np.float32, copy=False)
    i0, i1, w = axis_weights(a.shape[0])
    rows = a[i0] * (1 - w)[:, None] + a[i1] * w[:, None]
    j0, j1, v = axis_weights(a.shape[1])
    return rows[:, j0] * (1 - v)[None, :] + rows[:, j1] * v[None, :]


def carve_terrain(river_mask: np.ndarray, river_z: np.ndarray, *, cell_m: float,
                  rng: np.random.Generator, relief_m: float, uplift: np.ndarray,
                  valley_width_m: float = 1300.0, floor_sigma_m: float = 1500.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Large-scale relief on a coarse grid: valley floors plus ridges between rivers.

    Parameters
    ----------
    river_mask
        Boolean coarse grid, True where a river passes.
    river_z
        Relative river elevation on those cells (ignored elsewhere).
    cell_m
        Coarse cell size in metres.
    relief_m
        Typical height of ridges above the valley floor.
    uplift
        Multiplier field (≥ 0) for the relief: high ranges along borders.

    Returns
    -------
    elevation, distance_m
        Relative elevation (float32) and distance to the nearest river in metres.
    """
    dist_cells = ndimage.distance_transform_edt(~river_mask).astype(np.float32)
    dist_m = dist_cells * np.float32(cell_m)
    sigma = floor_sigma_m / cell_m
    wz = ndimage.gaussian_filter(np.where(river_mask, river_z, 0).astype(np.float32), sigma)
    w = ndimage.gaussian_filter(river_mask.astype(np.float32), sigma)
    # far from any river the normalised convolution is ill-defined: fall back to a wide blur
    wz2 = ndimage.gaussian_filter(np.where(river_mask, river_z, 0).astype(np.float32), sigma * 4)
    w2 = ndimage.gaussian_filter(river_mask.astype(np.float32), sigma * 4)
    c = np.float32(0.02)  # blend in the wide blur where few rivers are near (no seams)
    floor = (wz + c * wz2) / np.maximum(w + c * w2, 1e-9)
    ridged = ridged_noise(river_mask.shape, rng, octaves=4, base_cells=max(8.0, 12000 / cell_m))
    broad = spectral_noise(river_mask.shape, rng, beta=3.0, fmax=cell_m / 8000.0)
    amp = relief_m * (0.55 + 0.6 * ridged) * np.clip(1.0 + 0.25 * broad, 0.4, 1.8) * uplift
    shape_v = 1.0 - np.exp(-dist_m / np.float32(valley_width_m))
    elev = floor + amp.astype(np.float32) * shape_v
    return elev.astype(np.float32), dist_m
