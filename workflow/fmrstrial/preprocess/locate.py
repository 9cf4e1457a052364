"""Coarse frequency and phase of a session from its metabolite signal (before alignment).

A scanner's frequency can sit tenths of a ppm off, and eddy-current correction with a water
reference moves the spectrum by the reference's own offset; the metabolite scan's zero-order
phase need not match the reference's. Before anything else looks for NAA in a narrow window,
the mean of the session's transients is therefore registered (`align.register`, matched
filter with a quadratic baseline projected out) to a synthetic template of the three main
singlets of a 1H brain spectrum, placed relative to `reference_ppm` (NAA):

    NAA at reference_ppm (height 1), Cr at +1.019 ppm (0.75), Cho at +1.177 ppm (0.5),

Lorentzian lines of `TEMPLATE_FWHM_HZ`, compared over `WINDOW_PPM` around them. The search
covers +/- `reference_max_offset_ppm`. The three lines together make the correlation peak
unique (a shift that lines up one pair, e.g. Cr on Cho, lines up nothing else). The result
is a frequency correction (Hz) and a zero-order phase correction (rad) that put NAA near
reference_ppm, roughly absorptive; `session._reference` refines both on NAA and Cr.
"""

from __future__ import annotations

import numpy as np

from ..spectra import PPM_CENTRE_1H, time_axis
from .align import register

#: Template singlets: (offset from NAA in ppm, relative height).
TEMPLATE_LINES = ((0.0, 1.0), (1.019, 0.75), (1.177, 0.5))
#: Lorentzian FWHM (Hz) of the template lines.
TEMPLATE_FWHM_HZ = 6.0
#: Window (ppm, relative to NAA) over which data and template are compared.
WINDOW_PPM = (-0.3, 1.5)
#: After eddy-current correction the water reference's phase is kept when the metabolite
#: signal's own phase (NAA/Cr singlet fits, `session._reference`) lies within this many
#: degrees of it: singlet fits are biased by overlapping lines (about +12 deg on NAA from
#: NAAG/Glu in simulated spectra) and by first-order phase (Cr 30 deg from NAA in the
#: Philips example data), while a reference acquired with the scan's phase is exact.
PHASE_AGREEMENT_DEG = 30.0


def template_fid(n_points: int, dwell_s: float, cf_mhz: float, naa_ppm: float) -> np.ndarray:
    """FID (n_points,) of the NAA/Cr/Cho singlet template with NAA at `naa_ppm`."""
    t = time_axis(n_points, dwell_s)
    fid = np.zeros(n_points, complex)
    for offset, height in TEMPLATE_LINES:
        f = (naa_ppm + offset - PPM_CENTRE_1H) * cf_mhz
        # spectral height of exp(-pi w t) is about 1 / (pi w dwell): scale to `height`
        amp = height * np.pi * TEMPLATE_FWHM_HZ * dwell_s
        fid += amp * np.exp(2j * np.pi * f * t - np.pi * TEMPLATE_FWHM_HZ * t)
    return fid


def coarse_offset(
    mean_fid: np.ndarray,
    dwell_s: float,
    cf_mhz: float,
    naa_ppm: float,
    max_offset_ppm: float,
    time_s: float,
) -> tuple[float, float, float]:
    """(frequency correction Hz, phase correction rad, match) for a mean FID (n_points,).

    Applying exp(i (phase + 2 pi f t)) puts the data's NAA at `naa_ppm`. `match` is the
    fitted amplitude relative to the template (0 for noise, about the NAA height otherwise;
    informative only).
    """
    template = template_fid(mean_fid.shape[0], dwell_s, cf_mhz, naa_ppm)
    window = (naa_ppm + WINDOW_PPM[0], naa_ppm + WINDOW_PPM[1])
    reg = register(
        mean_fid[:, None],
        template,
        dwell_s,
        cf_mhz,
        ppm_range=window,
        baseline_order=2,
        max_shift_hz=max_offset_ppm * cf_mhz,
        time_s=time_s,
        with_residual=False,
        with_energy=False,
    )
    return float(reg.freq_hz[0]), float(reg.phase_rad[0]), float(reg.amplitude[0])
