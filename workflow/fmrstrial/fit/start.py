"""Starting values by a coarse search: frequency shift, zero-order phase and Gaussian width.

The data spectrum, restricted to `init_ppm_range`, is cross-correlated with the summed
metabolite basis (weighted by typical concentrations, broadened by the prior Lorentzian
width and each Gaussian width of a small grid). For a reference R shifted by d Hz, the
complex inner product z(d) = sum_nu Y(nu) conj(R_d(nu)) equals
nz * sum_t y(t) conj(r(t)) exp(-2 pi i d t) with y the inverse FFT of the masked spectrum
(Parseval), so one zero-padded FFT evaluates it on a fine shift grid. The product is
weighted towards later times (`HIGHPASS_S`), which correlates high-passed spectra so that a
broad baseline cannot pull the search. The shift maximising |z| / ||R|| (over shifts within
+-shift_search_ppm and the width grid) is the start; the zero-order phase is arg z there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spectra import PPM_CENTRE_1H
from .model import GAUSS_K, SpectralModel

#: Weights of the metabolites in the reference spectrum: typical adult brain concentrations
#: (mM, rounded mid-range values of Govindaraju, Young & Maudsley 2000, NMR Biomed 13:129),
#: so that e.g. the NAA singlet dominates the NAAG one and the search cannot align NAAG with
#: the data's NAA peak; unlisted metabolites weigh 1, the negative -CrCH2 correction 0.
#: Used only for starting values.
TYPICAL_CONCENTRATIONS = {
    "-CrCH2": 0.0,
    "Asc": 1.0,
    "Asp": 2.0,
    "Cr": 4.5,
    "GABA": 1.5,
    "GPC": 1.0,
    "GSH": 2.0,
    "Gln": 3.0,
    "Glu": 9.0,
    "Ins": 6.0,
    "Lac": 0.5,
    "NAA": 10.0,
    "NAAG": 1.0,
    "PCh": 0.6,
    "PCr": 4.0,
    "PE": 1.5,
    "Scyllo": 0.3,
    "Tau": 1.5,
}
#: Gaussian FWHM values tried by the coarse search, Hz.
GAUSS_GRID_HZ = (2.0, 4.0, 7.0, 10.0)
#: Time constant (s) of the weight 1 - exp(-(t / T)^2) applied to the time-domain product:
#: it suppresses broad features (baseline, water tails, macromolecules; gone within ~20 ms)
#: so that the search locks onto the sharp metabolite lines.
HIGHPASS_S = 0.02
#: Resolution of the shift grid, Hz.
SHIFT_STEP_HZ = 0.05


@dataclass
class Start:
    """Coarse estimates: shift (Hz), zero-order phase (rad), Gaussian FWHM (Hz), score."""

    shift_hz: float
    phase_rad: float
    gauss_hz: float
    score: float


def coarse_search(model: SpectralModel, fid: np.ndarray, settings: dict) -> Start:
    """Grid search over shift and Gaussian width by cross-correlation (see module doc)."""
    fb = model.fb
    nz, dwell = model.nz, fb.dwell_s
    freq = np.fft.fftfreq(nz, dwell)
    ppm = PPM_CENTRE_1H + freq / fb.cf_mhz
    lo, hi = settings["init_ppm_range"]
    mask = (ppm >= lo) & (ppm <= hi)
    t = model.t
    highpass = 1.0 - np.exp(-((t / HIGHPASS_S) ** 2))
    # High-pass the FID before the spectrum is cut to init_ppm_range: a broad line outside
    # the range (residual water) otherwise leaves a step at the cut that rings at all times.
    data = np.fft.fft(fid * highpass, n=nz)
    y = np.fft.ifft(np.where(mask, data, 0.0))
    mets = np.flatnonzero(np.array(fb.kinds) == "metabolite")
    weights = np.array([TYPICAL_CONCENTRATIONS.get(fb.names[k], 1.0) for k in mets])
    summed = fb.fids[:, mets] @ weights
    lor = settings["lorentz_prior_hz"][0]
    max_shift = settings["shift_search_ppm"] * fb.cf_mhz
    n_fine = int(2 ** np.ceil(np.log2(max(nz, 1.0 / (SHIFT_STEP_HZ * dwell)))))
    shifts = np.fft.fftfreq(n_fine, dwell)
    keep = np.abs(shifts) <= max_shift
    best = None
    for gauss in GAUSS_GRID_HZ:
        ref = summed * np.exp(-np.pi * lor * t - GAUSS_K * gauss**2 * t**2)
        ref_spec = np.fft.fft(ref, n=nz)
        norm = float(np.linalg.norm(ref_spec[mask]))
        if norm == 0.0:
            continue
        w = y[: t.size] * ref.conj() * highpass
        z = nz * np.fft.fft(w, n=n_fine)  # z[j] = sum_t w(t) exp(-2 pi i shifts[j] t)
        score = np.abs(z) / norm
        score[~keep] = -1.0
        j = int(np.argmax(score))
        if best is None or score[j] > best.score:
            best = Start(float(shifts[j]), float(np.angle(z[j])), gauss, float(score[j]))
    if best is None:
        return Start(0.0, 0.0, GAUSS_GRID_HZ[1], 0.0)
    return best
