"""Residual water removal by HLSVD (Hankel singular value decomposition).

An FID is modelled as a sum of K exponentially damped sinusoids,
x(n dt) = sum_k a_k z_k^n with z_k = exp((-pi w_k + 2 pi i f_k) dt) (Lorentzian FWHM w_k Hz,
frequency f_k Hz from the receiver centre). The poles z_k come from the Hankel matrix of the
first M points (Barkhuijsen et al. 1987; Pijnappel et al. 1992): its K leading left singular
vectors U span the signal space, which is shift-invariant, U[1:] = U[:-1] Z, and the
eigenvalues of Z are the poles. Amplitudes follow by linear least squares. Components whose
frequency lies in the water band (e.g. 4.2-5.2 ppm) and that decay (|z| < 1) are subtracted.

`water_poles` finds the poles once, on a high-SNR FID (the aligned session mean); `remove`
fits the amplitudes of all K components to each FID given (vectorised over transients) and
subtracts the water-band components only, so that metabolite signal is not absorbed into
the water model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spectra import PPM_CENTRE_1H


@dataclass
class Poles:
    """HLSVD poles: z (K,) complex; water (K,) bool marks components inside the band."""

    z: np.ndarray
    water: np.ndarray
    n_points: int

    def freq_hz(self, dwell_s: float) -> np.ndarray:
        """Frequency of each component, Hz from the receiver centre, (K,)."""
        return np.angle(self.z) / (2 * np.pi * dwell_s)

    def fwhm_hz(self, dwell_s: float) -> np.ndarray:
        """Lorentzian FWHM of each component, Hz (negative for growing components), (K,)."""
        return -np.log(np.abs(self.z)) / (np.pi * dwell_s)


def find_poles(fid: np.ndarray, n_components: int, n_points: int) -> np.ndarray:
    """Poles z (K,) of the first `n_points` of `fid` (n_points_total,) by HLSVD."""
    m = min(n_points, fid.shape[0])
    rows = m // 2
    h = np.lib.stride_tricks.sliding_window_view(fid[:m], m - rows + 1)  # (rows, m-rows+1)
    u, _, _ = np.linalg.svd(h, full_matrices=False)
    k = min(n_components, u.shape[1], rows - 1)
    uk = u[:, :k]
    zmat, *_ = np.linalg.lstsq(uk[:-1], uk[1:], rcond=None)
    return np.linalg.eigvals(zmat)


def water_poles(
    fid: np.ndarray,
    dwell_s: float,
    cf_mhz: float,
    band_ppm: tuple[float, float],
    n_components: int,
    n_points: int,
) -> Poles:
    """HLSVD poles of `fid` (n_points,), flagging decaying components in the ppm band."""
    z = find_poles(fid, n_components, n_points)
    ppm = PPM_CENTRE_1H + np.angle(z) / (2 * np.pi * dwell_s) / cf_mhz
    lo, hi = sorted(band_ppm)
    water = (ppm >= lo) & (ppm <= hi) & (np.abs(z) < 1.0)
    return Poles(z=z, water=water, n_points=min(n_points, fid.shape[0]))


def _vandermonde(z: np.ndarray, n: int) -> np.ndarray:
    """Matrix (n, K) of z_k^j, j = 0..n-1, computed without overflow for |z| <= 1."""
    z = np.where(np.abs(z) < 1e-12, 1e-12, z)
    return np.exp(np.arange(n)[:, None] * np.log(z)[None, :])


def remove(fids: np.ndarray, poles: Poles) -> tuple[np.ndarray, np.ndarray]:
    """Subtract the water-band components from each FID.

    fids: (n_points,) or (n_points, n). Amplitudes of all K components are fitted by least
    squares on the first `poles.n_points` points of each FID; the water-band ones are
    evaluated on the whole FID and subtracted. Returns (cleaned fids, removed signal), both
    shaped like `fids`.
    """
    if not poles.water.any():
        return fids.copy(), np.zeros_like(fids)
    single = fids.ndim == 1
    x = fids[:, None] if single else fids
    z = poles.z
    basis = _vandermonde(z, poles.n_points)
    amps, *_ = np.linalg.lstsq(basis, x[: poles.n_points], rcond=None)  # (K, n)
    zw = z[poles.water]
    model = _vandermonde(zw, x.shape[0]) @ amps[poles.water]
    cleaned = x - model
    if single:
        return cleaned[:, 0], model[:, 0]
    return cleaned, model
