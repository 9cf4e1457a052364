"""Random-intercept LMM by REML with lmerTest's Satterthwaite F test, for many replicates at once.

Model (the findings' models): y = X beta + u_group + e, u ~ N(0, tau^2), e ~ N(0, sigma^2).
With gamma = theta^2 = tau^2 / sigma^2 and, per group i, n_i rows, s_i = X_i' 1 (p,),
t_i = 1' y_i, a_i = 1 / (1 + n_i gamma), the scaled inverse covariance is
V_i^-1 sigma^2 = I - gamma a_i J, so every REML quantity is a sum of group-level terms:

    K(gamma) = X'X - sum_i gamma a_i s_i s_i'          (= sigma^2 X' V^-1 X)
    b(gamma) = X'y - sum_i gamma a_i t_i s_i,  c(gamma) = y'y - sum_i gamma a_i t_i^2
    Q(gamma) = c - b' K^-1 b                           (= sigma^2 r' V^-1 r at beta_hat)
    D(theta, sigma) = (n - p) log(2 pi sigma^2) + sum_i log(1 + n_i gamma) + log|K| + Q / sigma^2

which is exactly the REML deviance of :mod:`fmrstrial.lmm.reml` (-2 REML log-likelihood).
sigma is profiled out (sigma^2 = Q / (n - p)); theta >= 0 is found by a grid over
[0, 1e3] and golden-section refinement (to ~1e-12 relative bracket width), the same optimum
as the general fit (a one-dimensional problem). Inference follows
:mod:`fmrstrial.lmm.satterthwaite` exactly: C = sigma^2 K^-1, the exact Hessian of D in
psi = (theta, sigma) (analytic first and second derivatives in gamma below), A = 2 H^+
(eigenvalues > 1e-8), dC/dtheta = 2 theta sigma^2 K^-1 (sum a_i^2 s_i s_i') K^-1,
dC/dsigma = 2 sigma K^-1; a one-row contrast l gives F = (l'beta)^2 / l'Cl with
df = 2 (l'Cl)^2 / g'Ag, g = (l' dC_a l); multi-row contrasts go through
:class:`fmrstrial.lmm.satterthwaite.Satterthwaite` (Fai-Cornelius) replicate by replicate.

Arrays: R replicates, G groups, m rows per group (missing rows masked), p fixed effects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..lmm.optimize import EIGEN_TOL
from ..lmm.satterthwaite import Satterthwaite

#: theta grid (tau / sigma) searched before the golden-section refinement.
THETA_GRID = np.concatenate([[0.0], np.logspace(-3, 3, 49)])
GOLDEN_STEPS = 64
_INVPHI = (np.sqrt(5.0) - 1.0) / 2.0


@dataclass
class GroupedStats:
    """Sufficient statistics of R replicate data sets sharing one group structure.

    n: (R,) rows; n_i: (R, G); s: (R, G, p) = X_i'1; t: (R, G) = 1'y_i; xtx: (R, p, p);
    xty: (R, p); yty: (R,).
    """

    n: np.ndarray
    n_i: np.ndarray
    s: np.ndarray
    t: np.ndarray
    xtx: np.ndarray
    xty: np.ndarray
    yty: np.ndarray

    @property
    def p(self) -> int:
        return self.xtx.shape[-1]


def grouped_stats(X: np.ndarray, Y: np.ndarray, mask: np.ndarray | None = None) -> GroupedStats:
    """Statistics of Y (R, G, m) on the design X (G, m, p); ``mask`` (R, G, m) keeps rows."""
    R = Y.shape[0]
    M = np.ones(Y.shape) if mask is None else mask.astype(float)
    Ym = Y * M
    return GroupedStats(
        n=M.sum(axis=(1, 2)),
        n_i=M.sum(axis=2),
        s=np.einsum("rgm,gmp->rgp", M, X, optimize=True),
        t=Ym.sum(axis=2),
        xtx=np.einsum("rgm,gmp,gmq->rpq", M, X, X, optimize=True).reshape(R, X.shape[2], -1),
        xty=np.einsum("rgm,gmp->rp", Ym, X, optimize=True),
        yty=(Ym * Y).sum(axis=(1, 2)),
    )


def _core(st: GroupedStats, gamma: np.ndarray):
    """a (R,G), K^-1 (R,p,p), beta (R,p), Q (R,), log|K| (R,) at gamma (R,)."""
    a = 1.0 / (1.0 + st.n_i * gamma[:, None])
    g = gamma[:, None] * a
    K = st.xtx - np.einsum("rg,rgp,rgq->rpq", g, st.s, st.s, optimize=True)
    b = st.xty - np.einsum("rg,rg,rgp->rp", g, st.t, st.s, optimize=True)
    c = st.yty - np.sum(g * st.t**2, axis=1)
    L = np.linalg.cholesky(K)
    logdet = 2.0 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)), axis=1)
    Kinv = np.linalg.inv(K)
    beta = np.einsum("rpq,rq->rp", Kinv, b)
    Q = c - np.einsum("rp,rp->r", b, beta)
    return a, Kinv, beta, Q, logdet


def profiled_deviance(st: GroupedStats, theta: np.ndarray) -> np.ndarray:
    """REML deviance with sigma profiled out, up to a constant, at theta (R,)."""
    gamma = theta**2
    _, _, _, Q, logdet = _core(st, gamma)
    dof = st.n - st.p
    return dof * np.log(Q / dof) + np.sum(np.log1p(st.n_i * gamma[:, None]), axis=1) + logdet


def reml_theta(st: GroupedStats) -> np.ndarray:
    """REML estimate of theta = tau / sigma >= 0 for every replicate, shape (R,)."""
    R = len(st.n)
    grid = np.stack([profiled_deviance(st, np.full(R, th)) for th in THETA_GRID], axis=1)
    k = np.argmin(grid, axis=1)
    lo = THETA_GRID[np.maximum(k - 1, 0)]
    hi = THETA_GRID[np.minimum(k + 1, len(THETA_GRID) - 1)]
    x1 = hi - _INVPHI * (hi - lo)
    x2 = lo + _INVPHI * (hi - lo)
    f1, f2 = profiled_deviance(st, x1), profiled_deviance(st, x2)
    for _ in range(GOLDEN_STEPS):
        left = f1 < f2  # the minimum lies in [lo, x2]
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
        x1, x2 = (
            np.where(left, hi - _INVPHI * (hi - lo), x2),
            np.where(left, x1, lo + _INVPHI * (hi - lo)),
        )
        fnew = profiled_deviance(st, np.where(left, x1, x2))
        f1, f2 = np.where(left, fnew, f2), np.where(left, f1, fnew)
    theta = 0.5 * (lo + hi)
    at_zero = profiled_deviance(st, np.zeros(R)) <= profiled_deviance(st, theta)
    return np.where(at_zero, 0.0, theta)


@dataclass
class ReplicateFits:
    """REML fits of R replicates: beta (R,p), C (R,p,p), dC (R,2,p,p), A = 2 H^+ (R,2,2),
    theta (R,), sigma (R,)."""

    beta: np.ndarray
    C: np.ndarray
    dC: np.ndarray
    A: np.ndarray
    theta: np.ndarray
    sigma: np.ndarray

    def satterthwaite(self, r: int) -> Satterthwaite:
        """The project's Satterthwaite object for replicate r."""
        return Satterthwaite(beta=self.beta[r], C=self.C[r], dC=self.dC[r], vcov_varpar=self.A[r])


def _pinv2(H: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of symmetric (R, 2, 2) matrices over eigenvalues > EIGEN_TOL."""
    evals, evecs = np.linalg.eigh(H)
    inv = np.where(evals > EIGEN_TOL, 1.0 / np.where(evals > EIGEN_TOL, evals, 1.0), 0.0)
    return np.einsum("rij,rj,rkj->rik", evecs, inv, evecs)


def fit_replicates(st: GroupedStats, theta: np.ndarray | None = None) -> ReplicateFits:
    """REML fit (theta given or estimated) and the Satterthwaite ingredients."""
    if theta is None:
        theta = reml_theta(st)
    gamma = theta**2
    a, Kinv, beta, Q, _ = _core(st, gamma)
    dof = st.n - st.p
    s2 = Q / dof
    sig = np.sqrt(s2)
    w = st.t - np.einsum("rgp,rp->rg", st.s, beta)  # group sums of residuals
    a2 = a**2
    n_a3 = st.n_i * a**3
    Kp = -np.einsum("rg,rgp,rgq->rpq", a2, st.s, st.s, optimize=True)  # dK/dgamma
    Kpp = 2.0 * np.einsum("rg,rgp,rgq->rpq", n_a3, st.s, st.s, optimize=True)
    u = -np.einsum("rg,rg,rgp->rp", a2, w, st.s)
    Qp = -np.sum(a2 * w**2, axis=1)
    Qpp = 2.0 * np.sum(n_a3 * w**2, axis=1) - 2.0 * np.einsum("rp,rpq,rq->r", u, Kinv, u)
    KiKp = Kinv @ Kp
    fp = np.sum(st.n_i * a, axis=1) + np.einsum("rii->r", KiKp)
    fpp = (
        -np.sum(st.n_i**2 * a2, axis=1)
        + np.einsum("rij,rji->r", Kinv, Kpp)
        - np.einsum("rij,rji->r", KiKp, KiKp)
    )
    H = np.empty((len(theta), 2, 2))
    H[:, 0, 0] = 2.0 * (fp + Qp / s2) + 4.0 * gamma * (fpp + Qpp / s2)
    H[:, 0, 1] = H[:, 1, 0] = -4.0 * theta * Qp / (s2 * sig)
    H[:, 1, 1] = -2.0 * dof / s2 + 6.0 * Q / s2**2
    C = s2[:, None, None] * Kinv
    dC = np.empty((len(theta), 2) + C.shape[1:])
    dC[:, 0] = -2.0 * (theta * s2)[:, None, None] * (KiKp @ Kinv)
    dC[:, 1] = 2.0 * sig[:, None, None] * Kinv
    return ReplicateFits(beta=beta, C=C, dC=dC, A=2.0 * _pinv2(H), theta=theta, sigma=sig)


def f_tests(fits: ReplicateFits, L: np.ndarray) -> dict[str, np.ndarray]:
    """Type III F test of L beta = 0 per replicate: F, num_df, den_df, p (each (R,))."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    if L.shape[0] == 1:
        c = L[0]
        var = np.einsum("i,rij,j->r", c, fits.C, c)
        g = np.einsum("i,raij,j->ra", c, fits.dC, c)
        denom = np.einsum("ra,rab,rb->r", g, fits.A, g)
        with np.errstate(divide="ignore"):
            ddf = np.where(denom > 0, 2.0 * var**2 / np.where(denom > 0, denom, 1.0), np.inf)
        F = (fits.beta @ c) ** 2 / var
        num = np.ones_like(F)
    else:
        res = [fits.satterthwaite(r).f_test(L) for r in range(len(fits.theta))]
        F = np.array([x["F"] for x in res])
        num = np.array([x["num_df"] for x in res], dtype=float)
        ddf = np.array([x["den_df"] for x in res])
    return {"F": F, "num_df": num, "den_df": ddf, "p": stats.f.sf(F, num, ddf)}
