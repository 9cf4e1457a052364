"""Analytic power: non-central F with the Satterthwaite df of the expected design.

At the true parameters (tau^2 = participant_sd^2, sigma^2 = row SD^2), with
V_i = tau^2 J + sigma^2 I and a_i = 1 / (1 + n_i tau^2 / sigma^2), the group sums needed are
closed forms in n_i, s_i = X_i'1 and X_i'X_i (W_i^k = sigma^-2k (I - (1 - a_i^k) / n_i J)):

    X'WX      = sigma^-2 (X'X - (1 - a) / n  s s')
    M_tau     = X'W J W X   = a^2 sigma^-4 s s'
    M_sigma   = X'W^2 X     = sigma^-4 (X'X - (1 - a^2) / n  s s')
    N_tt      = n a^3 sigma^-6 s s',  N_ts = a^3 sigma^-6 s s',
    N_ss      = sigma^-6 (X'X - (1 - a^3) / n  s s')
    T_tt      = a^2 n^2 sigma^-4,  T_ts = a^2 n sigma^-4,  T_ss = (n - 1 + a^2) sigma^-4

Each is averaged over a participant's possible missing-data patterns (period-2 session
missing with probability ``dropout``; each Glx block kept with probability
1 - ``block_exclusion``, binomial counts per session x phase cell) and summed over
participants: the "expected design". Then C = (E X'WX)^-1, the expected REML information
I_kl = T_kl - 2 tr(C N_kl) + tr(C M_k C M_l) (= E of the deviance Hessian in
phi = (tau^2, sigma^2)), transformed to psi = (theta, sigma) as lmerTest does
(H = J' I J, A = 2 H^+, dC/dpsi_a = sum_k J_ka C M_k C), and for the one-row contrast l:

    nu = 2 (l'Cl)^2 / (g'Ag),   g_a = l' dC/dpsi_a l,   lambda = (l'beta)^2 / l'Cl,
    power = P(F(1, nu, lambda) > F_(1 - alpha)(1, nu)).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import stats

from .design import Template
from .params import PowerParams
from .simulate import true_beta

MAX_PATTERNS = 2_000_000


def _patterns(template: Template, seq: int, dropout: float, exclusion: float):
    """(counts (P, c), weights (P,), cell rows (c, p)) of one sequence's participants."""
    k = int(np.flatnonzero(template.sequence == seq)[0])
    X = template.X[k]  # (m, p)
    cells, inverse = np.unique(X, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    size = np.bincount(inverse, minlength=len(cells))
    period2 = np.array([template.period[inverse == c][0] == 2 for c in range(len(cells))])
    keep = 1.0 - (exclusion if template.scenario.test == "glx" else 0.0)
    n_patterns = int(np.prod(size + 1)) if keep < 1 else 1
    if n_patterns > MAX_PATTERNS:
        raise ValueError(
            f"too many missing-data patterns ({n_patterns}) for the analytic approximation; "
            "use fewer blocks per session"
        )
    if keep < 1:
        counts = np.array(list(itertools.product(*[range(s + 1) for s in size])), dtype=float)
        w = np.prod(stats.binom.pmf(counts, size[None, :], keep), axis=1)
    else:
        counts, w = size[None, :].astype(float), np.ones(1)
    if dropout > 0:
        gone = counts.copy()
        gone[:, period2] = 0.0
        counts = np.vstack([counts, gone])
        w = np.concatenate([w * (1 - dropout), w * dropout])
    return counts, w, cells


def sequence_counts(n_participants: int) -> tuple[int, int]:
    """Participants on PN and NP (PN gets the odd one, as in :func:`.design.table`)."""
    return (n_participants + 1) // 2, n_participants // 2


def expected_sums(
    template: Template,
    tau2: float,
    sigma2: float,
    dropout: float,
    exclusion: float,
    n_participants: int | None = None,
):
    """Expected X'WX (p,p), M (2,p,p), N (2,2,p,p), T (2,2) summed over participants
    (``n_participants``: plan for that N with the template's rows; default its own N)."""
    counts = sequence_counts(n_participants or template.n_participants)
    p = template.X.shape[2]
    XtWX, M, N, T = np.zeros((p, p)), np.zeros((2, p, p)), np.zeros((2, 2, p, p)), np.zeros((2, 2))
    gamma = tau2 / sigma2
    for seq in (0, 1):
        count = counts[seq]
        if count == 0:
            continue
        cnt, w, cells = _patterns(template, seq, dropout, exclusion)
        w = w * count
        n = cnt.sum(axis=1)
        s = cnt @ cells
        xtx = np.einsum("Pc,ci,cj->Pij", cnt, cells, cells)
        ss = np.einsum("Pi,Pj->Pij", s, s)
        a = 1.0 / (1.0 + n * gamma)
        safe = np.where(n > 0, n, 1.0)

        def shrink(k, a=a, safe=safe):
            return (1.0 - a**k) / safe

        def wsum(f, arr, w=w):  # sum_P w_P f_P arr_P
            return np.einsum("P,P...->...", w * f, arr)

        XtWX += wsum(np.ones_like(n), xtx - shrink(1)[:, None, None] * ss) / sigma2
        M[0] += wsum(a**2, ss) / sigma2**2
        M[1] += wsum(np.ones_like(n), xtx - shrink(2)[:, None, None] * ss) / sigma2**2
        N[0, 0] += wsum(n * a**3, ss) / sigma2**3
        N[0, 1] += wsum(a**3, ss) / sigma2**3
        N[1, 1] += wsum(np.ones_like(n), xtx - shrink(3)[:, None, None] * ss) / sigma2**3
        T[0, 0] += np.sum(w * a**2 * n**2) / sigma2**2
        T[0, 1] += np.sum(w * a**2 * n) / sigma2**2
        T[1, 1] += np.sum(w * (n - np.where(n > 0, 1.0 - a**2, 0.0))) / sigma2**2
    N[1, 0] = N[0, 1].T
    T[1, 0] = T[0, 1]
    return XtWX, M, N, T


def analytic_power(
    params: PowerParams,
    template: Template,
    alpha: float = 0.05,
    dropout: float = 0.0,
    block_exclusion: float = 0.0,
    n_participants: int | None = None,
) -> dict[str, float]:
    """power, den_df, noncentrality and se of the tested coefficient on the expected design
    of ``n_participants`` (default: the template's N; any template with both sequences
    serves, the design is per sequence)."""
    L = np.atleast_2d(template.L)
    if L.shape[0] != 1:
        raise ValueError("the analytic approximation handles one-df terms only")
    l = L[0]  # noqa: E741
    tau2 = params.participant_sd**2
    sd = params.row_sd(template.scenario.block_min)
    sigma2 = sd**2
    XtWX, M, N, T = expected_sums(template, tau2, sigma2, dropout, block_exclusion, n_participants)
    C = np.linalg.inv(XtWX)
    CM = np.einsum("ij,kjl->kil", C, M)
    info = T - 2.0 * np.einsum("ij,klji->kl", C, N) + np.einsum("kij,lji->kl", CM, CM)
    theta, sigma = np.sqrt(tau2 / sigma2), sd
    J = np.array([[2 * theta * sigma2, 2 * theta**2 * sigma], [0.0, 2 * sigma]])
    H = J.T @ info @ J
    evals, evecs = np.linalg.eigh(H)
    pos = evals > 1e-8
    A = 2.0 * (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
    dC = np.einsum("ka,kij,jl->ail", J, CM, C)
    var = float(l @ C @ l)
    g = np.einsum("i,aij,j->a", l, dC, l)
    denom = float(g @ A @ g)
    nu = 2 * var**2 / denom if denom > 0 else np.inf
    lam = float((l @ true_beta(params, template)) ** 2 / var)
    crit = stats.f.isf(alpha, 1, nu)
    return {
        "power": float(stats.ncf.sf(crit, 1, nu, lam)),
        "den_df": float(nu),
        "noncentrality": lam,
        "se": float(np.sqrt(var)),
    }
