"""Pool estimates over multiply imputed data sets by Rubin's rules (Barnard-Rubin df)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PooledEstimate:
    """Pooled result. Unpacks as ``estimate, variance, df = rubin_pool(...)``.

    estimate: mean of the m estimates; variance: total variance T = W + (1 + 1/m) B;
    df: Barnard-Rubin degrees of freedom; within: W (mean of the m variances);
    between: B (variance of the m estimates); lambda_: proportion of the total variance
    due to missing data, (1 + 1/m) B / T; m: number of imputations. Arrays for vector input.
    """

    estimate: np.ndarray | float
    variance: np.ndarray | float
    df: np.ndarray | float
    within: np.ndarray | float
    between: np.ndarray | float
    lambda_: np.ndarray | float
    m: int

    def __iter__(self):
        return iter((self.estimate, self.variance, self.df))


def _scalar(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def rubin_pool(estimates, variances, df_complete: float | None = None) -> PooledEstimate:
    """Combine m estimates and their squared standard errors (Rubin 1987).

    estimates, variances: shape (m,) or (m, k) for k parameters pooled independently.
    df_complete: degrees of freedom of the complete-data analysis (e.g. residual or
    Satterthwaite df); None = infinite (large-sample), giving the classical Rubin df.
    Barnard & Rubin (1999, Biometrika 86:948) small-sample df:
    nu_old = (m - 1) / lambda^2, nu_obs = (nu_com + 1) / (nu_com + 3) * nu_com * (1 - lambda),
    df = 1 / (1 / nu_old + 1 / nu_obs).
    """
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    if q.shape != u.shape or q.ndim not in (1, 2):
        raise ValueError("estimates and variances must have the same shape (m,) or (m, k)")
    m = q.shape[0]
    if m < 2:
        raise ValueError("Rubin's rules need at least 2 imputations")
    if np.any(u < 0):
        raise ValueError("variances must be non-negative")
    qbar = q.mean(axis=0)
    within = u.mean(axis=0)
    between = q.var(axis=0, ddof=1)
    total = within + (1.0 + 1.0 / m) * between
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(total > 0, (1.0 + 1.0 / m) * between / total, 0.0)
        nu_old = np.where(lam > 0, (m - 1) / lam**2, np.inf)
        if df_complete is None or not np.isfinite(df_complete):
            df = nu_old
        else:
            nu_com = float(df_complete)
            nu_obs = (nu_com + 1.0) / (nu_com + 3.0) * nu_com * (1.0 - lam)
            df = 1.0 / (1.0 / nu_old + 1.0 / nu_obs)
    return PooledEstimate(
        estimate=_scalar(qbar),
        variance=_scalar(total),
        df=_scalar(df),
        within=_scalar(within),
        between=_scalar(between),
        lambda_=_scalar(lam),
        m=m,
    )
