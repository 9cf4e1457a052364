"""REML deviance of an LMM with one grouping factor (and nested intercepts), exact derivatives.

Model: y_i = X_i beta + Z_i b_i + sum_j S_ij c_ij + e_i for group i, b_i ~ N(0, G),
c_ij ~ N(0, tau_j I) (random intercepts of the levels of a grouping nested in the group, S_ij
their (n_i, levels) indicators), e_i ~ N(0, sigma^2 I), so
V_i = Z_i G Z_i' + sum_j tau_j S_ij S_ij' + sigma^2 I. The covariance is linear in

    phi = (vech(G), tau_1..tau_k, sigma^2)   (m = q (q + 1) / 2 + k + 1 entries; vech = lower
                                               triangle, column-major, as pbkrtest orders
                                               VarCorr entries)

with V = sum_k phi_k A_k. Everything is computed group by group (V is block diagonal), with
W = V^-1, C = (X' W X)^-1, P = W - W X C X' W and r = y - X beta_hat:

    deviance  D(phi) = (n - p) log(2 pi) + log|V| + log|X' W X| + r' W r   (= -2 REML loglik)
    gradient  dD/dphi_k = tr(P A_k) - y' P A_k P y
    Hessian   d2D/dphi_k dphi_l = -tr(P A_k P A_l) + 2 y' P A_k P A_l P y   (observed)
    expected  E[d2D] = tr(P A_k P A_l)                                     (used by KR)
    dC/dphi_k = C M_k C with M_k = X' W A_k W X

lmerTest works in psi = (theta, sigma), where G = sigma^2 Lambda Lambda', theta holds the
lower triangle of Lambda column-major (lme4's relative Cholesky factor) and then
sqrt(tau_j) / sigma for each nested intercept. :func:`to_psi`
transforms gradient, Hessian and dC/dphi exactly (chain rule including the second-derivative
term, so it is exact also off the optimum and on the boundary).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

LOG_2PI = float(np.log(2 * np.pi))


def vech_index(q: int) -> list[tuple[int, int]]:
    """(row, col) of the lower triangle of a q x q matrix, column-major."""
    return [(i, j) for j in range(q) for i in range(j, q)]


def vech(M: np.ndarray) -> np.ndarray:
    """Lower triangle of a square matrix, column-major, as a vector."""
    return np.array([M[i, j] for i, j in vech_index(M.shape[0])])


def unvech(v: np.ndarray, q: int, symmetric: bool = True) -> np.ndarray:
    """Inverse of :func:`vech`: a symmetric (or lower-triangular) q x q matrix."""
    M = np.zeros((q, q))
    for val, (i, j) in zip(v, vech_index(q), strict=True):
        M[i, j] = val
        if symmetric:
            M[j, i] = val
    return M


def psd_cholesky(S: np.ndarray) -> np.ndarray:
    """Lower-triangular L with L L' = S for a positive semi-definite S (zero pivots allowed)."""
    q = S.shape[0]
    L = np.zeros((q, q))
    for j in range(q):
        d = S[j, j] - L[j, :j] @ L[j, :j]
        if d <= 1e-14 * max(1.0, abs(S[j, j])):
            continue  # column j stays zero (singular direction)
        L[j, j] = np.sqrt(d)
        for i in range(j + 1, q):
            L[i, j] = (S[i, j] - L[i, :j] @ L[j, :j]) / L[j, j]
    return L


@dataclass
class REMLState:
    """REML quantities at one phi. Shapes: p fixed effects, m variance parameters."""

    phi: np.ndarray  # (m,)
    beta: np.ndarray  # (p,)
    C: np.ndarray  # (p, p) = (X' V^-1 X)^-1
    deviance: float
    grad: np.ndarray | None = None  # (m,)
    hess: np.ndarray | None = None  # (m, m) observed Hessian of the deviance
    info: np.ndarray | None = None  # (m, m) tr(P A_k P A_l)
    M: np.ndarray | None = None  # (m, p, p) X' W A_k W X
    N: np.ndarray | None = None  # (m, m, p, p) X' W A_k W A_l W X
    dC: np.ndarray | None = None  # (m, p, p) dC / dphi_k


def n_vech(q: int) -> int:
    """Number of free entries of a q x q covariance matrix."""
    return q * (q + 1) // 2


class REMLProblem:
    """Data of one LMM split by group. y: (n,), X: (n, p), Z: (n, q), groups: (n,) codes;
    ``nested``: (n,) codes of each nested random intercept (each level within one group)."""

    def __init__(
        self,
        y: np.ndarray,
        X: np.ndarray,
        Z: np.ndarray,
        groups: np.ndarray,
        nested: list[np.ndarray] | tuple = (),
    ):
        self.n, self.p = X.shape
        self.q = Z.shape[1]
        self.k = len(nested)
        self.m = n_vech(self.q) + self.k + 1
        order = np.argsort(groups, kind="stable")
        bounds = np.flatnonzero(np.diff(groups[order])) + 1
        self.blocks = []
        for idx in np.split(order, bounds):
            same = [(c[idx][:, None] == c[idx][None, :]).astype(float) for c in nested]
            self.blocks.append((y[idx], X[idx], Z[idx], same))
        self.basis = []  # q x q matrices E_k with G = sum_k phi_k E_k
        for i, j in vech_index(self.q):
            E = np.zeros((self.q, self.q))
            E[i, j] = E[j, i] = 1.0
            self.basis.append(E)

    # -- parameter conversions -------------------------------------------------------------
    def phi(self, G: np.ndarray, sigma2: float, taus=()) -> np.ndarray:
        return np.concatenate([vech(G), np.asarray(taus, dtype=float), [sigma2]])

    def split(self, phi: np.ndarray) -> tuple[np.ndarray, float]:
        """(G, sigma^2) from phi."""
        return unvech(phi[: n_vech(self.q)], self.q), float(phi[-1])

    def taus(self, phi: np.ndarray) -> np.ndarray:
        """Variances of the nested intercepts, (k,)."""
        return np.asarray(phi[n_vech(self.q) : -1], dtype=float)

    def _A(self, Zi: np.ndarray, same: list[np.ndarray]) -> list[np.ndarray]:
        """dV_i/dphi_k for one group: Z_i E_k Z_i', S_ij S_ij' and the identity."""
        return [Zi @ E @ Zi.T for E in self.basis] + same + [np.eye(Zi.shape[0])]

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, phi: np.ndarray, derivatives: bool = True) -> REMLState:
        """Deviance, beta_hat and C at phi; with ``derivatives`` also gradient, Hessians, dC."""
        phi = np.asarray(phi, dtype=float)
        G, sigma2 = self.split(phi)
        taus = self.taus(phi)
        p, m = self.p, self.m
        XtWX = np.zeros((p, p))
        XtWy = np.zeros(p)
        logdetV = 0.0
        cache = []
        for yi, Xi, Zi, same in self.blocks:
            Vi = Zi @ G @ Zi.T + sigma2 * np.eye(len(yi))
            for tau, Si in zip(taus, same, strict=True):
                Vi += tau * Si
            cf = linalg.cho_factor(Vi, lower=True)
            logdetV += 2.0 * np.sum(np.log(np.diag(cf[0])))
            Wi = linalg.cho_solve(cf, np.eye(len(yi)))
            WXi = Wi @ Xi
            XtWX += Xi.T @ WXi
            XtWy += WXi.T @ yi
            cache.append((Wi, WXi))
        cfX = linalg.cho_factor(XtWX, lower=True)
        C = linalg.cho_solve(cfX, np.eye(p))
        beta = C @ XtWy
        logdetXWX = 2.0 * np.sum(np.log(np.diag(cfX[0])))
        rWr = 0.0
        for (yi, Xi, _, _), (Wi, _) in zip(self.blocks, cache, strict=True):
            ri = yi - Xi @ beta
            rWr += ri @ Wi @ ri
        dev = (self.n - p) * LOG_2PI + logdetV + logdetXWX + rWr
        state = REMLState(phi=np.asarray(phi, float), beta=beta, C=C, deviance=float(dev))
        if not derivatives:
            return state

        trWA = np.zeros(m)
        rWAWr = np.zeros(m)
        T = np.zeros((m, m))
        S = np.zeros((m, m))  # sum u_k' W u_l with u_k = A_k W r
        b = np.zeros((m, p))  # X' W u_k
        M = np.zeros((m, p, p))
        N = np.zeros((m, m, p, p))
        for (yi, Xi, Zi, same), (Wi, WXi) in zip(self.blocks, cache, strict=True):
            Wr = Wi @ (yi - Xi @ beta)
            A = self._A(Zi, same)
            WA = [Wi @ Ak for Ak in A]
            U = [Ak @ Wr for Ak in A]  # u_k
            B = [Ak @ WXi for Ak in A]  # A_k W X
            WU = [Wi @ u for u in U]
            WB = [Wi @ Bk for Bk in B]
            for k in range(m):
                trWA[k] += np.trace(WA[k])
                rWAWr[k] += Wr @ U[k]
                M[k] += WXi.T @ B[k]
                b[k] += WXi.T @ U[k]
                for j in range(k, m):
                    T[k, j] += np.sum(WA[k] * WA[j].T)
                    S[k, j] += U[k] @ WU[j]
                    N[k, j] += B[k].T @ WB[j]
        for k in range(m):
            for j in range(k):
                T[k, j], S[k, j] = T[j, k], S[j, k]
                N[k, j] = N[j, k].T
        CM = np.einsum("ij,kjl->kil", C, M)  # C M_k
        trCM = np.einsum("kii->k", CM)
        trCN = np.einsum("ij,klji->kl", C, N)
        trCMCM = np.einsum("kij,lji->kl", CM, CM)
        info = T - 2.0 * trCN + trCMCM  # tr(P A_k P A_l)
        yPAPAPy = S - b @ C @ b.T
        state.grad = trWA - trCM - rWAWr
        state.hess = -info + 2.0 * yPAPAPy
        state.info = info
        state.M = M
        state.N = N
        state.dC = np.einsum("kij,jl->kil", CM, C)
        return state


@dataclass
class PsiDerivatives:
    """Quantities in lmerTest's parameterisation psi = (theta, sigma)."""

    psi: np.ndarray  # (m,)
    grad: np.ndarray  # (m,) dD/dpsi
    hess: np.ndarray  # (m, m) d2D/dpsi dpsi'
    dC: np.ndarray  # (m, p, p) dC/dpsi_a


def theta_sigma(G: np.ndarray, sigma2: float, taus=()) -> np.ndarray:
    """psi = (vech(Lambda), sqrt(tau_j) / sigma, sigma) with G = sigma^2 Lambda Lambda'."""
    Lam = psd_cholesky(G / sigma2)
    nested = np.sqrt(np.maximum(np.asarray(taus, dtype=float), 0.0) / sigma2)
    return np.concatenate([vech(Lam), nested, [np.sqrt(sigma2)]])


def psi_from_phi(phi: np.ndarray, q: int) -> np.ndarray:
    """psi = (theta, sigma) of phi = (vech(G), tau, sigma^2)."""
    v = n_vech(q)
    return theta_sigma(unvech(phi[:v], q), float(phi[-1]), phi[v:-1])


def _phi_jacobians(psi: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """J (m, m) = dphi/dpsi and D2 (m, m, m) = d2 phi_k / dpsi dpsi'."""
    m = len(psi)
    v = n_vech(q)
    s = psi[-1]
    Lam = unvech(psi[:v], q, symmetric=False)
    idx = vech_index(q)
    units = []
    for i, j in idx:
        E = np.zeros((q, q))
        E[i, j] = 1.0
        units.append(E)
    LLt = Lam @ Lam.T
    J = np.zeros((m, m))
    for a in range(v):
        J[:v, a] = vech(s**2 * (units[a] @ Lam.T + Lam @ units[a].T))
    J[:v, -1] = vech(2 * s * LLt)
    J[-1, -1] = 2 * s
    D2 = np.zeros((m, m, m))
    for a in range(v):
        for c in range(v):
            Ea, Ec = units[a], units[c]
            D2[:v, a, c] = vech(s**2 * (Ea @ Ec.T + Ec @ Ea.T))
        D2[:v, a, -1] = D2[:v, -1, a] = vech(2 * s * (units[a] @ Lam.T + Lam @ units[a].T))
    D2[:v, -1, -1] = vech(2 * LLt)
    for j in range(v, m - 1):  # tau_j = s^2 theta_j^2
        t = psi[j]
        J[j, j], J[j, -1] = 2 * s**2 * t, 2 * s * t**2
        D2[j, j, j] = 2 * s**2
        D2[j, j, -1] = D2[j, -1, j] = 4 * s * t
        D2[j, -1, -1] = 2 * t**2
    D2[-1, -1, -1] = 2.0
    return J, D2


def to_psi(state: REMLState, q: int) -> PsiDerivatives:
    """Transform gradient, Hessian and dC/dphi of ``state`` to psi = (theta, sigma)."""
    psi = psi_from_phi(state.phi, q)
    J, D2 = _phi_jacobians(psi, q)
    grad = J.T @ state.grad
    hess = J.T @ state.hess @ J + np.einsum("k,kab->ab", state.grad, D2)
    dC = np.einsum("ka,kij->aij", J, state.dC)
    return PsiDerivatives(psi=psi, grad=grad, hess=0.5 * (hess + hess.T), dC=dC)
