"""Satterthwaite denominator df for contrasts of fixed effects, as lmerTest computes them.

With C = Var(beta_hat) (p, p), dC_a = dC/dpsi_a (m, p, p) and A = 2 H^+ (m, m), H the Hessian of
the REML deviance in psi = (theta, sigma) (pseudo-inverse over eigenvalues > 1e-8):

    t test of l'beta:  nu = 2 (l'Cl)^2 / (g'Ag),  g_a = l' dC_a l
    F test of L beta:  eigen-decompose L C L' = P D P'; the q = rank rows of P'L give
                       independent t statistics with df nu_m; F = sum(t_m^2) / q and the
                       denominator df follow Fai & Cornelius (1996):
                       E = sum nu_m / (nu_m - 2),  ddf = 2E / (E - q)  (2 if any nu_m <= 2).

Kuznetsova, Brockhoff & Christensen (2017), JSS 82(13).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .optimize import EIGEN_TOL


def pinv_eigen(H: np.ndarray, tol: float = EIGEN_TOL) -> np.ndarray:
    """Moore-Penrose inverse of a symmetric matrix over eigenvalues > tol."""
    evals, evecs = np.linalg.eigh(H)
    pos = evals > tol
    return (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T


def fstat_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """Denominator df of an F built from independent t statistics with df ``nu``."""
    nu = np.asarray(nu, dtype=float)
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - len(nu))


@dataclass
class Satterthwaite:
    """beta (p,), C (p, p), dC (m, p, p) and vcov_varpar = 2 H^+ (m, m)."""

    beta: np.ndarray
    C: np.ndarray
    dC: np.ndarray
    vcov_varpar: np.ndarray

    def t_test(self, c: np.ndarray) -> tuple[float, float, float]:
        """(estimate, se, df) of the contrast c'beta; c: (p,)."""
        c = np.asarray(c, dtype=float)
        var = float(c @ self.C @ c)
        g = np.einsum("i,aij,j->a", c, self.dC, c)
        denom = float(g @ self.vcov_varpar @ g)
        df = 2 * var**2 / denom if denom > 0 else np.inf
        return float(c @ self.beta), float(np.sqrt(var)), float(df)

    def f_test(self, L: np.ndarray, eps: float = np.sqrt(np.finfo(float).eps)) -> dict:
        """Multi-df test of L beta = 0; L: (k, p). Returns F, num_df, den_df."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        if L.shape[0] == 1:
            est, se, df = self.t_test(L[0])
            return {"F": (est / se) ** 2, "num_df": 1, "den_df": df}
        evals, evecs = np.linalg.eigh(L @ self.C @ L.T)
        evals, evecs = evals[::-1], evecs[:, ::-1]  # decreasing, as R's eigen()
        pos = evals > max(eps * evals[0], 0)
        q = int(np.sum(pos))
        PtL = evecs[:, :q].T @ L
        if q == 1:
            est, se, df = self.t_test(PtL[0])
            return {"F": (est / se) ** 2, "num_df": 1, "den_df": df}
        d = evals[:q]
        F = float(np.sum((PtL @ self.beta) ** 2 / d) / q)
        g = np.einsum("mi,aij,mj->ma", PtL, self.dC, PtL)  # (q, m)
        nu = 2 * d**2 / np.einsum("ma,ab,mb->m", g, self.vcov_varpar, g)
        return {"F": F, "num_df": q, "den_df": fstat_ddf(nu)}
