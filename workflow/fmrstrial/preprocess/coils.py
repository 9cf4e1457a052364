"""Noise estimation and coil combination.

Uncombined data x_c(t) = s_c m(t) + n_c(t) (coil sensitivity s_c, common signal m, noise
with covariance Psi between coils) are combined with the weights that maximise the SNR,

    y(t) = s^H Psi^-1 x(t) / (s^H Psi^-1 s),

so y carries m(t) times the sensitivity of the reference coil (|s| = 1 for the strongest
coil, phase 0) and noise of variance 1 / (s^H Psi^-1 s). This equals whitened-SVD
combination (Rodgers & Robson 2010) and, for uncorrelated noise, S/N^2 weighting.

The sensitivity profile s is the first left singular vector of the whitened data matrix
(coils x time points of the mean FID), mapped back through the whitening: from the water
reference when it has the same coils ("water", S/N^2 weights from the high-SNR water
signal) or from the metabolite data themselves ("svd"). Averaging transients keeps the
rank-one structure even when the frequency drifts, because every coil sees the same m(t).

Noise (co)variance comes from the end of the FIDs, where the signal has decayed, after
removing the mean over transients (any coherent remainder); see `noise_covariance`.
"""

from __future__ import annotations

import numpy as np

#: Number of leading FID points used to estimate the coil sensitivity profile.
PROFILE_POINTS = 128
#: Segments of the FID tail compared when estimating the noise covariance.
TAIL_SEGMENTS = 8


def noise_covariance(fids: np.ndarray, tail_fraction: float) -> np.ndarray:
    """Noise covariance between coils from the FID tails.

    fids: (n_points, n_coils, n_transients) complex. Returns (n_coils, n_coils) complex
    Hermitian: E[n_c n_d^*] per complex time-domain sample. The mean over transients is
    removed first (coherent signal); with a single transient, each segment's own mean. The
    tail is cut into `TAIL_SEGMENTS` segments and the covariances of the half with the
    least power are averaged, so a part of the tail that still holds signal (a single
    high-SNR average) or an end artefact does not inflate the estimate.
    """
    n_pts, n_coils, n_tr = fids.shape
    start = min(n_pts - 2 * TAIL_SEGMENTS, int(round(n_pts * (1.0 - tail_fraction))))
    tail = fids[start:]
    if n_tr > 1:
        tail = (tail - tail.mean(axis=2, keepdims=True)) * np.sqrt(n_tr / (n_tr - 1))
    covs = []
    for seg in np.array_split(tail, TAIL_SEGMENTS, axis=0):
        if n_tr == 1:
            seg = seg - seg.mean(axis=0, keepdims=True)
        flat = seg.transpose(1, 0, 2).reshape(n_coils, -1)
        covs.append(flat @ flat.conj().T / flat.shape[1])
    power = np.array([np.trace(c).real for c in covs])
    low = power <= np.median(power)
    return np.mean([c for c, keep in zip(covs, low, strict=True) if keep], axis=0)


def whitening(psi: np.ndarray) -> np.ndarray:
    """Matrix W with W Psi W^H = I (inverse Cholesky factor), (n_coils, n_coils)."""
    chol = np.linalg.cholesky(psi + np.eye(psi.shape[0]) * 1e-12 * np.trace(psi).real)
    return np.linalg.inv(chol)


def sensitivity_profile(mean_fid: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Coil sensitivity profile s, (n_coils,), from a mean FID (n_points, n_coils).

    Normalised so that the strongest coil has |s| = 1 and phase 0.
    """
    w = whitening(psi)
    z = w @ mean_fid[:PROFILE_POINTS].T  # (n_coils, points), whitened
    u, _, _ = np.linalg.svd(z, full_matrices=False)
    s = np.linalg.solve(w, u[:, 0])
    return s / s[int(np.argmax(np.abs(s)))]


def combination_weights(profile: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Weights w (n_coils,) such that y = w^H x is the SNR-optimal, unit-gain combination."""
    a = np.linalg.solve(psi, profile)
    return a / np.real(profile.conj() @ a)


def combine(fids: np.ndarray, weights: np.ndarray, coil_axis: int) -> np.ndarray:
    """Combine coils: sum_c conj(w_c) x_c along `coil_axis` (removed from the shape)."""
    moved = np.moveaxis(fids, coil_axis, -1)
    return moved @ weights.conj()
