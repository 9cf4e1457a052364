"""Cramér-Rao lower bounds from the Fisher information of the full model at the solution.

Parameters: theta (phases, group shifts and widths), all amplitudes c (including those at
zero) and the baseline coefficients b. With J the Jacobian of the stacked model spectrum
over the fit range (whitened by the noise SD) and the prior/penalty rows of the fit,

    F = J^T J / zero_fill * (sigma_fit / sigma_crlb)^2 + F_prior,     C = F^-1

F_prior holds the Gaussian priors on theta, the baseline second-difference penalty and the
MM-link constraint, so C is the Bayesian (van Trees) bound of the penalised model; with flat
priors it is the classical CRLB. Zero-filled spectral points are correlated, which the
division by the zero-fill factor approximates. The CRLB of a sum w.c is sqrt(w^T C_cc w);
ratios N/D use the delta method with the full covariance of N and D (not independence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import SpectralModel, stack
from .solver import LinearSystem, Priors


@dataclass
class Fisher:
    """Fisher information blocks; data part (sigma_fit-whitened) and prior part, (p, p);
    `jacobian`: the whitened Jacobian (2 n_fit, p) they were made from."""

    data: np.ndarray
    prior: np.ndarray
    n_theta: int
    n_amp: int
    jacobian: np.ndarray


def fisher_information(
    model: SpectralModel,
    system: LinearSystem,
    priors: Priors,
    theta: np.ndarray,
    c: np.ndarray,
) -> Fisher:
    """Fisher information of (theta, c, b) at the solution (see module doc)."""
    cols, phase = model.columns(theta)
    deriv = model.derivatives(theta, c, cols, phase)
    jac = np.hstack([stack(deriv), stack(phase[:, None] * cols), system.base]) / system.sigma
    data = jac.T @ jac / model.zero_fill
    n_t, n_c, n_b = deriv.shape[1], cols.shape[1], system.base.shape[1]
    prior = np.zeros_like(data)
    pj = priors.jacobian
    prior[:n_t, :n_t] = pj.T @ pj
    if system.link.shape[0]:
        prior[n_t : n_t + n_c, n_t : n_t + n_c] = system.link.T @ system.link
    if system.penalty.shape[0]:
        s = n_t + n_c
        prior[s : s + n_b, s : s + n_b] = system.penalty.T @ system.penalty
    return Fisher(data, prior, n_t, n_c, jac)


def shaped_noise_factors(fisher: Fisher, model: SpectralModel, envelope: np.ndarray) -> np.ndarray:
    """Factors (n_amp,) by which the amplitudes' CRLB SDs grow when the FID was multiplied by
    `envelope` (n_points,), e.g. linewidth matching's exp(-pi w t), before the fit.

    The envelope shapes the noise as well as the signal: white time-domain noise becomes
    h(t) n(t), whose spectrum is correlated and whose measured spectral SD is lowered by
    sqrt(mean h^2) over the acquisition, while the signal, decayed within T2*, is lowered
    much less. Treating that noise as white understates the CRLBs. With the Jacobian in the
    time domain, g(t) = sum_v J(v) exp(2 pi i v t / nz) (the fitted points of the zero-filled
    unshifted FFT grid), the score covariance for the measured noise level is
    B_h = Re sum_{t < n} h(t)^2 g(t)* g(t)^T / mean(h^2), and B_1 the same with h = 1. The
    estimator's covariance is H^-1 B H^-1, H the fit's Gauss-Newton Hessian (data and
    prior rows); each amplitude's SD is scaled by sqrt of the ratio of the two diagonals, so
    that the factors are 1 for h = 1 and the bound keeps its priors and zero-fill treatment.
    """
    shaped, white = score_covariances([fisher.jacobian], model, [envelope])
    hessian = fisher.data * model.zero_fill + fisher.prior
    s = fisher.n_theta
    rows = invert(hessian)[:, s : s + fisher.n_amp]  # (p, n_amp)
    return sandwich_factors(rows, shaped, white)


def score_covariances(
    jacobians: list[np.ndarray], model: SpectralModel, envelopes: list[np.ndarray | None]
) -> tuple[np.ndarray, np.ndarray]:
    """(B_h, B_1) of `shaped_noise_factors` summed over spectra fitted jointly: one whitened
    Jacobian (2 n_fit, p) and one envelope (n_points,) or None (white noise) per spectrum."""
    shaped = white = 0.0
    for jac, envelope in zip(jacobians, envelopes, strict=True):
        n_fit = model.n_fit
        grid = np.zeros((model.nz, jac.shape[1]), dtype=complex)
        grid[model.fft_index] = jac[:n_fit] + 1j * jac[n_fit:]
        g = np.fft.ifft(grid, axis=0)[: model.n]  # the constant nz cancels in the ratio
        plain = np.real(g.conj().T @ g)
        white = white + plain
        if envelope is None:
            shaped = shaped + plain
        else:
            w = np.asarray(envelope, dtype=float) ** 2
            shaped = shaped + np.real(g.conj().T @ (g * (w / w.mean())[:, None]))
    return shaped, white


def sandwich_factors(rows: np.ndarray, shaped: np.ndarray, white: np.ndarray) -> np.ndarray:
    """sqrt(diag(R^T B_h R) / diag(R^T B_1 R)) for the columns of `rows` (p, k): the SD
    factor of each linear function of the parameters under shaped noise."""
    num = np.einsum("pk,pq,qk->k", rows, shaped, rows)
    den = np.einsum("pk,pq,qk->k", rows, white, rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / den, 1.0)
    return np.sqrt(np.clip(ratio, 0.0, None))


def invert(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive (semi)definite matrix, Jacobi-scaled; pinv fallback."""
    d = np.sqrt(np.clip(np.diag(matrix), 1e-300, None))
    scaled = matrix / np.outer(d, d)
    try:
        np.linalg.cholesky(scaled)  # raises if not positive definite
        inv = np.linalg.inv(scaled)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(scaled, hermitian=True)
    return inv / np.outer(d, d)


def effective_dof(fisher: Fisher) -> float:
    """Fitted degrees of freedom tr(F^-1 F_data) of the penalised model."""
    cov = invert(fisher.data + fisher.prior)
    return float(np.trace(cov @ fisher.data))


def amplitude_covariance(fisher: Fisher, variance_scale: float = 1.0) -> np.ndarray:
    """Covariance (K, K) of the amplitudes with the data information divided by
    `variance_scale` = (sigma_crlb / sigma_fit)^2."""
    cov = invert(fisher.data / variance_scale + fisher.prior)
    s = fisher.n_theta
    return cov[s : s + fisher.n_amp, s : s + fisher.n_amp]


@dataclass
class Estimate:
    """A derived quantity with its CRLB: value, SD and SD as a percentage of |value|."""

    value: float
    sd: float

    @property
    def pct(self) -> float:
        if self.value == 0 or not np.isfinite(self.sd):
            return float("inf")
        return 100.0 * self.sd / abs(self.value)


def linear_estimate(c: np.ndarray, cov: np.ndarray, weights: np.ndarray) -> Estimate:
    """Value w.c and its SD sqrt(w^T C w)."""
    value = float(weights @ c)
    return Estimate(value, float(np.sqrt(max(weights @ cov @ weights, 0.0))))


def ratio_estimate(c: np.ndarray, cov: np.ndarray, num: np.ndarray, den: np.ndarray) -> Estimate:
    """Ratio (num.c)/(den.c) with delta-method SD using the full covariance."""
    n, d = float(num @ c), float(den @ c)
    if d == 0:
        return Estimate(float("nan"), float("nan"))
    grad = num / d - n * den / d**2
    return Estimate(n / d, float(np.sqrt(max(grad @ cov @ grad, 0.0))))
