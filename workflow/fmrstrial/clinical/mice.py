"""Multiple imputation of item responses by chained equations (MICE), seeded and reproducible.

Each incomplete item is imputed in turn from all other items and complete covariates by
predictive mean matching (van Buuren 2018, *Flexible Imputation of Missing Data*, 2nd ed.,
sections 3.4 and 4.5): a Bayesian linear regression is fitted to the rows where the item is
observed, its coefficients are drawn from their posterior, and every missing value takes the
observed value of one of the ``donors`` rows whose predicted values are closest ("type 1"
matching). Imputed values therefore are always values that occur in the data (in range and
integer for integer items). The m chains use independent random streams spawned from one
seed (numpy SeedSequence), so results are identical across runs and platforms with the same
numpy version.
"""

from __future__ import annotations

import numpy as np

from .rules import MiceSettings


def _draw_regression(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    """OLS fit and one posterior draw of the coefficients (flat prior)."""
    n, p = x.shape
    xtx = x.T @ x
    xtx += np.eye(p) * 1e-6 * (1.0 + np.trace(xtx) / p)
    xtx_inv = np.linalg.inv(xtx)
    beta = xtx_inv @ (x.T @ y)
    resid = y - x @ beta
    df = max(n - p, 1)
    sigma2 = float(resid @ resid) / rng.chisquare(df)
    chol = np.linalg.cholesky((xtx_inv + xtx_inv.T) / 2 * max(sigma2, 1e-12))
    beta_draw = beta + chol @ rng.standard_normal(p)
    return beta, beta_draw


def _impute_column(data, j, missing, covariates, donors, rng) -> None:
    obs = ~missing[:, j]
    mis = missing[:, j]
    others = np.delete(data, j, axis=1)
    x = np.column_stack([np.ones(len(data)), others, covariates])
    beta, beta_draw = _draw_regression(x[obs], data[obs, j], rng)
    pred_obs = x[obs] @ beta
    pred_mis = x[mis] @ beta_draw
    y_obs = data[obs, j]
    k = min(donors, y_obs.size)
    chosen = []
    for value in pred_mis:
        nearest = np.argsort(np.abs(pred_obs - value), kind="stable")[:k]
        chosen.append(y_obs[nearest[rng.integers(k)]])
    data[mis, j] = chosen


def _chain(items, covariates, settings: MiceSettings, rng) -> np.ndarray:
    data = items.copy()
    missing = np.isnan(items)
    columns = [j for j in range(items.shape[1]) if missing[:, j].any() and (~missing[:, j]).any()]
    for j in columns:  # start from random draws of the observed values
        observed = items[~missing[:, j], j]
        data[missing[:, j], j] = rng.choice(observed, size=int(missing[:, j].sum()))
    # Columns without any observed value cannot be imputed: they enter the other models as a
    # constant (no information beyond the intercept) and are set back to NaN at the end.
    empty = [j for j in range(items.shape[1]) if not (~missing[:, j]).any()]
    for j in empty:
        data[:, j] = 0.0
    for _ in range(settings.iterations):
        for j in columns:
            _impute_column(data, j, missing, covariates, settings.donors, rng)
    for j in empty:
        data[:, j] = np.nan
    return data


def impute(
    items: np.ndarray, covariates: np.ndarray | None, settings: MiceSettings
) -> list[np.ndarray]:
    """``settings.m`` completed copies of ``items`` (n_rows, n_items; NaN = missing).

    covariates: complete predictors (n_rows, q) used in every imputation model (e.g. time,
    condition and their interaction, so that the imputation model is congenial with the
    analysis model). Observed values are never changed.
    """
    items = np.asarray(items, dtype=float)
    covariates = (
        np.zeros((items.shape[0], 0)) if covariates is None else np.asarray(covariates, float)
    )
    if items.ndim != 2 or covariates.shape[0] != items.shape[0]:
        raise ValueError("items must be (n_rows, n_items) and covariates (n_rows, q)")
    if np.isnan(covariates).any():
        raise ValueError("covariates must be complete")
    streams = np.random.SeedSequence(settings.seed).spawn(settings.m)
    return [
        _chain(items, covariates, settings, np.random.Generator(np.random.PCG64(s)))
        for s in streams
    ]
