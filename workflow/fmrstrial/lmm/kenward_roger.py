"""Kenward-Roger adjusted covariance, df and F scaling, as pbkrtest (Halekoh & Højsgaard 2014).

The covariance V = sum_k phi_k A_k is linear in phi = (vech(G), sigma^2), so the second
derivatives of V vanish and (Kenward & Roger 1997), with Phi = C = (X' W X)^-1:

    P_k = -X' W A_k W X = -M_k,     Q_kl = X' W A_k W A_l W X = N_kl
    I_kl = tr(P A_k P A_l)            (expected information x 2),   W_kr = 2 I^-1
    Phi_A = Phi + 2 Phi [sum_kl W_kl (Q_kl - P_k Phi P_l)] Phi

For a hypothesis L beta = 0 of rank q, with Theta = L'(L Phi L')^-1 L:

    A1 = sum_kl W_kl tr(Theta Phi P_k Phi) tr(Theta Phi P_l Phi)
    A2 = sum_kl W_kl tr(Theta Phi P_k Phi Theta Phi P_l Phi)
    B = (A1 + 6 A2) / (2q),  g = ((q+1) A1 - (q+4) A2) / ((q+2) A2)
    c1 = g / (3q + 2(1-g)),  c2 = (q-g) / (3q + 2(1-g)),  c3 = (q+2-g) / (3q + 2(1-g))
    rho = (1/q) ((1 - A2/q) / (1 - c2 B))^2 (1 + c1 B) / (1 - c3 B)
    ddf = 4 + (q + 2) / (q rho - 1),  F scaling = ddf (1 - A2/q) / (ddf - 2)
    F = scaling x (L beta)'(L Phi_A L')^-1 (L beta) / q
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reml import REMLState


@dataclass
class KenwardRoger:
    """beta (p,), Phi = C (p, p), adjusted Phi_A (p, p), P (m, p, p) and W (m, m)."""

    beta: np.ndarray
    Phi: np.ndarray
    PhiA: np.ndarray
    P: np.ndarray
    W: np.ndarray

    @classmethod
    def from_state(cls, state: REMLState) -> KenwardRoger:
        """Adjusted covariance at a REML state evaluated with derivatives."""
        Phi, M, N = state.C, state.M, state.N
        info = state.info
        if np.min(np.abs(np.linalg.eigvalsh(info))) > 1e-10:
            W = 2 * np.linalg.inv(info)
        else:
            W = 2 * np.linalg.pinv(info)
        W = 0.5 * (W + W.T)
        MPhiM = np.einsum("kij,jl,mln->kmin", M, Phi, M)  # M_k Phi M_l
        U = np.einsum("kl,klij->ij", W, N - MPhiM)
        PhiA = Phi + 2 * Phi @ U @ Phi
        return cls(beta=state.beta, Phi=Phi, PhiA=0.5 * (PhiA + PhiA.T), P=-M, W=W)

    def _a1_a2(self, L: np.ndarray) -> tuple[float, float]:
        Theta = L.T @ np.linalg.solve(L @ self.Phi @ L.T, L)
        u = np.einsum("ij,jk,mkl,ln->min", Theta, self.Phi, self.P, self.Phi)  # (m, p, p)
        tr = np.einsum("mii->m", u)
        A1 = float(tr @ self.W @ tr)
        A2 = float(np.einsum("kl,kij,lji->", self.W, u, u))
        return A1, A2

    def ddf(self, L: np.ndarray) -> dict:
        """KR denominator df, F scaling and rank q for the hypothesis L beta = 0."""
        L = _full_row_rank(np.atleast_2d(np.asarray(L, dtype=float)))
        q = L.shape[0]
        A1, A2 = self._a1_a2(L)
        B = (A1 + 6 * A2) / (2 * q)
        g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
        denom = 3 * q + 2 * (1 - g)
        c1, c2, c3 = g / denom, (q - g) / denom, (q + 2 - g) / denom
        V0 = 1 + c1 * B
        V0 = 0.0 if abs(V0) < 1e-10 else V0
        V1, V2 = 1 - c2 * B, 1 - c3 * B
        ratio = (1 - A2 / q) / V1 if abs(V1) > 1e-12 else 0.0
        rho = ratio**2 * V0 / V2 / q
        ddf = 4 + (q + 2) / (q * rho - 1)
        scaling = 1.0 if abs(ddf - 2) < 1e-2 else ddf * (1 - A2 / q) / (ddf - 2)
        return {"q": q, "ddf": float(ddf), "scaling": float(scaling), "A1": A1, "A2": A2}

    def t_test(self, c: np.ndarray) -> tuple[float, float, float]:
        """(estimate, adjusted se, KR df) of c'beta; c: (p,)."""
        c = np.asarray(c, dtype=float)
        return float(c @ self.beta), float(np.sqrt(c @ self.PhiA @ c)), self.ddf(c)["ddf"]

    def f_test(self, L: np.ndarray) -> dict:
        """Scaled F (as pbkrtest's ``Ftest``), unscaled F, num_df and den_df for L beta = 0."""
        L = _full_row_rank(np.atleast_2d(np.asarray(L, dtype=float)))
        info = self.ddf(L)
        Lb = L @ self.beta
        F_unscaled = float(Lb @ np.linalg.solve(L @ self.PhiA @ L.T, Lb)) / info["q"]
        return {
            "F": info["scaling"] * F_unscaled,
            "F_unscaled": F_unscaled,
            "num_df": info["q"],
            "den_df": info["ddf"],
            "scaling": info["scaling"],
        }


def _full_row_rank(L: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Rows spanning the same space as L's rows, linearly independent (L itself if so)."""
    rank = np.linalg.matrix_rank(L, tol=tol * max(1.0, np.abs(L).max()))
    if rank == L.shape[0]:
        return L
    _, _, vt = np.linalg.svd(L)
    return vt[:rank]
