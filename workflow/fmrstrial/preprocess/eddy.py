"""Eddy-current correction and phasing with the water reference (Klose 1990).

The unsuppressed water reference r(t) = |r(t)| exp(i theta(t)) has, besides the water
frequency offset and zero-order phase, the time-dependent phase error that eddy currents
impose on every acquisition with the same gradients. Multiplying each metabolite FID by
exp(-i theta(t)) removes that error and phases the data (water phase 0 at every t), which
also moves the water resonance (and with it every metabolite) by minus the water frequency
offset. `water_frequency_hz` measures that offset so that reported frequencies can be given
in the frame of the acquired data.
"""

from __future__ import annotations

import numpy as np

from ..spectra import frequency_axis, ppm_axis, to_spectrum

#: Zero-filling factor for locating the water peak.
ZERO_FILL = 16


def klose_factor(ref_fid: np.ndarray) -> np.ndarray:
    """exp(-i theta(t)) of the mean water reference FID, shape (n_points,).

    Points where the reference is exactly zero keep phase 0.
    """
    mag = np.abs(ref_fid)
    out = np.ones(ref_fid.shape, complex)
    nz = mag > 0
    out[nz] = ref_fid[nz].conj() / mag[nz]
    return out


def correct(fids: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Apply a correction factor (n_points,) to FIDs (n_points, ...)."""
    shape = (-1,) + (1,) * (fids.ndim - 1)
    return fids * factor.reshape(shape)


def water_frequency_hz(ref_fid: np.ndarray, dwell_s: float, cf_mhz: float) -> float:
    """Frequency (Hz, from the receiver centre) of the water peak of a reference FID.

    Peak of the zero-filled magnitude spectrum within 4.65 +/- 1 ppm, refined by a parabola
    through the three highest points.
    """
    n = ref_fid.shape[0] * ZERO_FILL
    spec = np.abs(to_spectrum(np.pad(ref_fid, (0, n - ref_fid.shape[0]))))
    freq = frequency_axis(n, dwell_s)
    ppm = ppm_axis(n, dwell_s, cf_mhz)
    inside = np.flatnonzero(np.abs(ppm - 4.65) <= 1.0)
    i = inside[np.argmax(spec[inside])]
    if 0 < i < n - 1:
        a, b, c = spec[i - 1], spec[i], spec[i + 1]
        denom = a - 2 * b + c
        delta = 0.5 * (a - c) / denom if denom != 0 else 0.0
        return float(freq[i] + delta * (freq[1] - freq[0]))
    return float(freq[i])
