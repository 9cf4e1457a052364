"""Fit of one singlet (NAA) with a local background: phase-, offset- and MM-robust measures.

Model of the spectrum S(v) (unscaled DFT of the FID, `fmrstrial.spectra` convention) in a
window of +/- `half_width_ppm` around the largest magnitude point inside a search range:

    S(v) = a DFT[exp(2 pi i f0 t - pi L t - (pi G t)^2 / (4 ln 2))](v) + sum_k b_k u^k,

with a complex amplitude a (its argument is the line's zero-order phase), a Voigt line at f0
(Hz) with Lorentzian FWHM L and Gaussian FWHM G (Hz), and a complex polynomial background of
degree `baseline_order` in u (the window's frequency scaled to [-1, 1]) that takes up the
macromolecule hump and the tails of neighbouring lines under the singlet. The linear
parameters (a, b) are projected out (variable projection); f0, sqrt(L), sqrt(G) (widths
stay >= 0) are found by Levenberg-Marquardt least squares (`scipy.optimize.least_squares`),
starting at the magnitude maximum with L = G = `START_WIDTH_HZ`; the model is evaluated
by a DFT at the window's frequencies only. The fit fails (NaN) when the centre leaves the
window or a width exceeds `MAX_WIDTH_HZ`. Because the model has a free complex amplitude,
every measure below is exactly invariant to the data's zero-order phase.

Measures: height = |a| x the Voigt line's absorption maximum (sum_t envelope(t), the same
scale as the real part of an unscaled spectrum); FWHM = full width at half maximum of the
fitted Voigt profile (exact, from `scipy.special.voigt_profile`); phase = arg a (rad).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, least_squares
from scipy.special import voigt_profile

from ..spectra import PPM_CENTRE_1H, frequency_axis, time_axis, to_spectrum

#: Half width (ppm) of the fitted window around the singlet.
HALF_WIDTH_PPM = 0.15
#: Degree of the complex background polynomial.
BASELINE_ORDER = 2
#: Zero-filling factor of the fitted spectrum.
ZERO_FILL = 2
#: Largest Lorentzian or Gaussian FWHM (Hz) the fit may take.
MAX_WIDTH_HZ = 40.0
#: Starting Lorentzian and Gaussian FWHM (Hz) of the fit.
START_WIDTH_HZ = 3.0
_LN2 = np.log(2.0)


@dataclass(frozen=True)
class Singlet:
    """A fitted singlet: absorption height (spectrum units), FWHM (Hz), centre (Hz from the
    receiver centre and ppm), phase (rad), Lorentzian and Gaussian FWHM (Hz); NaN when the
    fit failed (no point in the search range, or the fitted centre left the window)."""

    height: float
    fwhm_hz: float
    freq_hz: float
    ppm: float
    phase_rad: float
    lorentz_hz: float
    gauss_hz: float

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.fwhm_hz))


_FAILED = Singlet(*(float("nan"),) * 7)


def voigt_fwhm(lorentz_hz: float, gauss_hz: float) -> float:
    """FWHM (Hz) of a Voigt profile with Lorentzian and Gaussian FWHMs (Hz)."""
    gamma = 0.5 * max(lorentz_hz, 0.0)
    sigma = max(gauss_hz, 0.0) / (2.0 * np.sqrt(2.0 * _LN2))
    if sigma == 0.0 and gamma == 0.0:
        return 0.0
    if sigma == 0.0:
        return 2.0 * gamma
    peak = voigt_profile(0.0, sigma, gamma)
    hi = 2.0 * gamma + 3.0 * sigma
    return 2.0 * brentq(lambda x: voigt_profile(x, sigma, gamma) - 0.5 * peak, 0.0, hi, xtol=1e-9)


def envelope(t: np.ndarray, lorentz_hz: float, gauss_hz: float) -> np.ndarray:
    """Voigt decay exp(-pi L t - (pi G t)^2 / (4 ln 2)), shape of t."""
    return np.exp(-np.pi * lorentz_hz * t - (np.pi * gauss_hz * t) ** 2 / (4.0 * _LN2))


def fit_singlet(
    fid: np.ndarray,
    dwell_s: float,
    cf_mhz: float,
    search_ppm: tuple[float, float],
    half_width_ppm: float = HALF_WIDTH_PPM,
    baseline_order: int = BASELINE_ORDER,
) -> Singlet:
    """Fit the largest singlet of `fid` (n_points,) inside `search_ppm` (see module doc)."""
    n = fid.shape[0]
    spec = to_spectrum(np.pad(fid, (0, (ZERO_FILL - 1) * n)))
    freq = frequency_axis(n * ZERO_FILL, dwell_s)
    ppm = PPM_CENTRE_1H + freq / cf_mhz
    lo, hi = min(search_ppm), max(search_ppm)
    idx = np.flatnonzero((ppm >= lo) & (ppm <= hi))
    if idx.size == 0 or not np.isfinite(spec[idx]).all():
        return _FAILED
    i = int(idx[np.argmax(np.abs(spec[idx]))])
    window = np.abs(ppm - ppm[i]) <= half_width_ppm
    if window.sum() < 2 * (baseline_order + 4):
        return _FAILED
    fk, y = freq[window], spec[window]
    t = time_axis(n, dwell_s)
    u = (fk - fk.mean()) / (0.5 * np.ptp(fk))
    background = np.vander(u, baseline_order + 1, increasing=True)
    scale = float(np.abs(y).max()) or 1.0
    y = y / scale

    q, _ = np.linalg.qr(background.astype(complex))  # orthonormal background basis
    # DFT of the model FID at the window's frequencies only, background projected out
    dft = np.exp(-2j * np.pi * np.outer(fk, t))
    dft -= q @ (q.conj().T @ dft)
    y_perp = y - q @ (q.conj().T @ y)

    def line(theta):
        f0, root_l, root_g = theta
        v = np.exp(2j * np.pi * f0 * t) * envelope(t, root_l**2, root_g**2)
        return dft @ v

    def residual(theta):
        x = line(theta)
        r = y_perp - x * (np.vdot(x, y_perp) / np.vdot(x, x).real)
        return np.concatenate([r.real, r.imag])

    root0 = np.sqrt(START_WIDTH_HZ)
    best = least_squares(residual, np.array([freq[i], root0, root0]), method="lm")
    f0, lor, gau = float(best.x[0]), float(best.x[1] ** 2), float(best.x[2] ** 2)
    x = line(best.x)
    amp = complex(np.vdot(x, y_perp) / np.vdot(x, x).real) * scale
    inside = float(fk.min()) < f0 < float(fk.max())
    if not inside or max(lor, gau) > MAX_WIDTH_HZ or abs(amp) == 0:
        return _FAILED
    height = abs(amp) * float(envelope(t, lor, gau).sum())
    return Singlet(
        height=height,
        fwhm_hz=voigt_fwhm(lor, gau),
        freq_hz=f0,
        ppm=PPM_CENTRE_1H + f0 / cf_mhz,
        phase_rad=float(np.angle(amp)),
        lorentz_hz=lor,
        gauss_hz=gau,
    )
