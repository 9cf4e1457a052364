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
    """Fisher information blocks; data part (sigma_fit-whitened) and prior part, (p, p)."""

    data: np.ndarray
    prior: np.ndarray
    n_theta: int
    n_amp: int


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
    return Fisher(data, prior, n_t, n_c)


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
