"""Linewidth matching of blocks (correction of BOLD line narrowing).

During the ketamine infusion blood flow rises, T2* lengthens and lines narrow by a few
tenths of a Hz, which biases fitted glutamate by about 1 %. Every block is broadened to the
NAA FWHM of the session's broadest usable block: block b is multiplied in the time domain
by a Lorentzian exp(-pi w_b t) (default; the BOLD change is a T2* change, i.e. Lorentzian)
or a Gaussian exp(-(pi w_b t)^2 / (4 ln 2)) with FWHM w_b Hz. The NAA FWHM is that of the
fitted Voigt line (`qc.naa_measures`: Lorentzian FWHM L, Gaussian FWHM G), and the
broadening acts on the fit's parameters exactly (L -> L + w, or G -> sqrt(G^2 + w^2)), so
w_b solves voigt_fwhm(L + w_b, G) = target (or the Gaussian analogue) by Brent's method;
since the fitted L/G split is not exact on data, w_b is then corrected by up to
`REFINE_STEPS` secant steps on the FWHM refitted on the broadened spectrum (tolerance
`REFINE_TOL_HZ`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from ..spectra import broadening_envelope
from .qc import naa_measures
from .singlet import Singlet, voigt_fwhm

#: Largest broadening (Hz) considered.
MAX_BROADENING_HZ = 20.0
#: Secant corrections of the broadening on the measured FWHM, and their tolerance (Hz).
REFINE_STEPS = 3
REFINE_TOL_HZ = 1e-3


def _broadened_fwhm(fit: Singlet, w: float, lineshape: str) -> float:
    if lineshape == "gaussian":
        return voigt_fwhm(fit.lorentz_hz, float(np.hypot(fit.gauss_hz, w)))
    return voigt_fwhm(fit.lorentz_hz + w, fit.gauss_hz)


def broadening_for(
    fid: np.ndarray,
    dwell_s: float,
    cf_mhz: float,
    ppm_range: tuple[float, float],
    target_hz: float,
    lineshape: str,
    fit: Singlet | None = None,
) -> float:
    """Broadening (Hz, >= 0) that brings the fitted NAA FWHM of `fid` (n_points,) to
    `target_hz` (`fit`: its NAA fit, if already known).

    Returns 0 when the line is already at least as broad; NaN when the fit failed or no
    width up to `MAX_BROADENING_HZ` reaches the target.
    """
    if fit is None:
        fit = naa_measures(fid, dwell_s, cf_mhz, ppm_range)
    if not fit.ok:
        return float("nan")
    if fit.fwhm_hz >= target_hz:
        return 0.0

    def excess(w: float) -> float:
        return _broadened_fwhm(fit, w, lineshape) - target_hz

    if excess(MAX_BROADENING_HZ) < 0:
        return float("nan")
    w = float(brentq(excess, 0.0, MAX_BROADENING_HZ, xtol=1e-6))
    # the model's L/G split is not exact on data: correct w by secant steps on the FWHM
    # measured on the broadened spectrum, with the model's slope
    for _ in range(REFINE_STEPS):
        env = broadening_envelope(fid.shape[0], dwell_s, w, lineshape)
        err = naa_measures(fid * env, dwell_s, cf_mhz, ppm_range).fwhm_hz - target_hz
        if not np.isfinite(err) or abs(err) <= REFINE_TOL_HZ:
            break
        h = 1e-3
        slope = (_broadened_fwhm(fit, w + h, lineshape) - _broadened_fwhm(fit, w, lineshape)) / h
        w = float(np.clip(w - err / max(slope, 0.1), 0.0, MAX_BROADENING_HZ))
    return w


def match_blocks(
    block_fids: np.ndarray,
    fwhm_hz: np.ndarray,
    usable: np.ndarray,
    dwell_s: float,
    cf_mhz: float,
    ppm_range: tuple[float, float],
    lineshape: str,
    fits: list[Singlet] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Broaden usable blocks to the largest usable NAA FWHM.

    block_fids: (n_points, n_blocks); fwhm_hz: their NAA FWHM (n_blocks,); usable: which
    blocks take part (n_blocks,) bool; fits: their NAA fits (`qc.block_measures`), refitted
    when not given. Returns (broadened FIDs, broadening Hz (n_blocks,)); blocks that are not
    usable, or already at the target, are left as they are (0 Hz).
    """
    n_points, nb = block_fids.shape
    widths = np.zeros(nb)
    out = block_fids.copy()
    if usable.sum() < 2:
        return out, widths
    target = float(np.max(fwhm_hz[usable]))
    for j in np.flatnonzero(usable):
        fit = None if fits is None else fits[j]
        w = broadening_for(block_fids[:, j], dwell_s, cf_mhz, ppm_range, target, lineshape, fit)
        widths[j] = w if np.isfinite(w) else 0.0
        out[:, j] = block_fids[:, j] * broadening_envelope(n_points, dwell_s, widths[j], lineshape)
    return out, widths
