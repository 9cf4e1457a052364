"""SAS-style type III hypothesis matrices (Goodnight 1976), as lmerTest's ``anova(type = 3)``.

Start from the over-parameterised design Xf (pp columns: intercept and every factor coded by
indicators of all levels) and the general form of estimable functions
``Lg = G Xf'Xf`` with G the inverse of Xf'Xf on the columns that are model coefficients (zero
elsewhere). For a term T, the columns of every term that neither is T nor contains T (same
numeric covariates) are eliminated from Lg by Gaussian pivoting; the remaining rows are made
orthogonal to the rows that involve only terms containing T. The nonzero rows, restricted to
the coefficient columns, are the type III contrasts of T, shape (num_df, p).
"""

from __future__ import annotations

import numpy as np

from .design import Design, full_indicator_matrix

_ZERO = 1e-10


def _relatives(term: tuple[str, ...], terms: list[tuple[str, ...]], numeric: set[str]) -> list:
    """Other terms containing all variables of ``term`` and exactly its numeric covariates."""
    own_numeric = set(term) & numeric
    return [
        t for t in terms if t != term and set(term) <= set(t) and set(t) & numeric == own_numeric
    ]


def _term_contrast(Lg: np.ndarray, term_cols: list[int], other_cols: list[int]) -> np.ndarray:
    """Type III rows for one term from the general form ``Lg`` (pp, pp)."""
    L = Lg.copy()
    for col in other_cols:
        pivots = np.flatnonzero(np.abs(L[:, col]) > 1e-8)
        if len(pivots) == 0:
            continue
        first = pivots[0]
        L[first] /= L[first, col]
        for r in pivots[1:]:
            L[r] -= L[r, col] * L[first]
        L[first] = 0.0
    L = L[np.abs(L).sum(axis=1) > _ZERO]
    if L.shape[0] <= 1:
        return L
    related_only = np.flatnonzero(np.abs(L[:, term_cols]).sum(axis=1) <= _ZERO)
    for zr in related_only:
        w = L[zr].copy()
        for i in range(L.shape[0]):
            if i != zr and np.abs(L[i]).sum() > _ZERO:
                L[i] -= (w @ L[i]) / (w @ w) * w
        L[zr] = 0.0
    L[np.abs(L) < 1e-6] = 0.0
    return L[np.abs(L).sum(axis=1) > 0]


def type3_contrasts(design: Design) -> dict[str, np.ndarray]:
    """Type III hypothesis matrix (num_df, p) for each fixed term label, in model order."""
    formula = design.formula
    Xf, names, owner = full_indicator_matrix(
        design.frame, formula.terms, formula.intercept, design.variables
    )
    coef = [names.index(n) for n in design.x_names]
    xtx = Xf.T @ Xf
    G = np.zeros_like(xtx)
    G[np.ix_(coef, coef)] = np.linalg.inv(xtx[np.ix_(coef, coef)])
    G[np.abs(G) < 1e-10] = 0.0
    Lg = G @ xtx
    Lg[np.abs(Lg) < 1e-6] = 0.0
    numeric = {v.name for v in design.variables.values() if v.kind == "numeric"}
    terms = list(formula.terms)
    owner = np.array(owner)
    out = {}
    for term in terms:
        label = ":".join(term)
        family = {label} | {":".join(t) for t in _relatives(term, terms, numeric)}
        term_cols = list(np.flatnonzero(owner == label))
        other_cols = [j for j in range(len(names)) if owner[j] not in family]
        L = _term_contrast(Lg, term_cols, other_cols)
        out[label] = L[:, coef]
    return out
