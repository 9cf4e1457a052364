"""Spectral noise SD from signal-free regions (or, failing that, from the FID tail).

Noise SD here means the SD of the real (equally, imaginary) part of the spectrum noise, with
the spectrum computed as ``fft(fid)`` without scaling or apodisation (the simulator's
definition); zero-filling does not change it.
"""

from __future__ import annotations

import numpy as np

from ..spectra import ppm_axis, to_spectrum

#: Fraction of the spectral width excluded at each edge (anti-alias filter roll-off).
EDGE_FRACTION = 0.03
#: Minimum number of points in one window for it to be used.
MIN_REGION_POINTS = 16
#: Largest width (ppm) of the windows each region is cut into (equal windows, as few as keep
#: each within it), each detrended on its own: a smooth
#: tail of residual water or lipid through a region then does not count as noise (with one
#: quadratic per 2.5-3.5 ppm region the Philips spectra's noise SD came out 6-8 % too large,
#: and 2.6 x with a strong water line added).
WINDOW_PPM = 0.5
#: Minimum number of real values in total for the region estimate.
MIN_VALUES = 64


def region_noise_sd(
    fid: np.ndarray, dwell_s: float, cf_mhz: float, regions: list[list[float]]
) -> tuple[float, int]:
    """Noise SD from `regions` ([low, high] ppm); returns (sd, number of real values used).

    Each region (clipped to the spectral window minus `EDGE_FRACTION` at each edge) is cut
    into equal windows of at most `WINDOW_PPM`, and each window has a quadratic fitted to its
    real and imaginary parts separately; the SD pools the residuals with the fitted degrees of
    freedom removed. NaN when fewer than `MIN_VALUES` values remain.
    """
    n = fid.shape[0]
    spec = to_spectrum(fid)
    ppm = ppm_axis(n, dwell_s, cf_mhz)
    width = ppm[-1] - ppm[0]
    lo_ok, hi_ok = ppm[0] + EDGE_FRACTION * width, ppm[-1] - EDGE_FRACTION * width
    windows = []
    for lo, hi in regions:
        lo, hi = max(lo, lo_ok), min(hi, hi_ok)
        if hi > lo:
            edges = np.linspace(lo, hi, max(1, int(np.ceil((hi - lo) / WINDOW_PPM - 1e-9))) + 1)
            windows += list(zip(edges[:-1], edges[1:], strict=True))
    ss, dof, values = 0.0, 0, 0
    for lo, hi in windows:
        inside = np.flatnonzero((ppm >= lo) & (ppm < hi))
        if inside.size < MIN_REGION_POINTS:
            continue
        x = ppm[inside] - ppm[inside].mean()
        design = np.vander(x, 3)
        for part in (spec[inside].real, spec[inside].imag):
            coef, *_ = np.linalg.lstsq(design, part, rcond=None)
            ss += float(np.sum((part - design @ coef) ** 2))
            dof += inside.size - 3
            values += inside.size
    if values < MIN_VALUES:
        return float("nan"), 0
    return float(np.sqrt(ss / dof)), dof


def tail_noise_sd(fid: np.ndarray, fraction: float = 0.25) -> float:
    """Spectral noise SD estimated from the last `fraction` of the FID (linear detrend).

    A complex time-domain sample noise of SD s per part gives a spectral SD s * sqrt(n).
    """
    n = fid.shape[0]
    tail = fid[-max(8, int(fraction * n)) :]
    x = np.arange(tail.size) - 0.5 * (tail.size - 1)
    design = np.vander(x, 2)
    res = []
    for part in (tail.real, tail.imag):
        coef, *_ = np.linalg.lstsq(design, part, rcond=None)
        res.append(part - design @ coef)
    sd_t = float(np.sqrt(np.sum(np.square(res)) / (2 * tail.size - 4)))
    return sd_t * np.sqrt(n)
