"""Cubic (any degree) B-spline design matrices in numpy (Cox-de Boor recursion).

Avoids importing scipy.interpolate (about 0.4 s of a fit job's start-up) for the baseline and
lineshape-distortion bases.
"""

from __future__ import annotations

import numpy as np


def design_matrix(x: np.ndarray, knots: np.ndarray, degree: int = 3) -> np.ndarray:
    """B-spline basis functions of `degree` on the non-decreasing `knots` evaluated at x,
    shape (len(x), len(knots) - degree - 1). x must lie in [knots[degree], knots[-degree-1]];
    the right end point belongs to the last interval."""
    x = np.asarray(x, dtype=float)
    t = np.asarray(knots, dtype=float)
    n_basis = t.size - degree - 1
    lo, hi = t[degree], t[n_basis]
    if np.any((x < lo) | (x > hi)):
        raise ValueError(f"x outside the spline's base interval [{lo}, {hi}]")
    # degree-0 functions: indicator of the knot interval holding x (right end in the last one)
    span = np.searchsorted(t, x, side="right") - 1
    span = np.clip(span, degree, n_basis - 1)
    basis = np.zeros((x.size, t.size - 1))
    basis[np.arange(x.size), span] = 1.0
    for k in range(1, degree + 1):
        nxt = np.zeros((x.size, t.size - 1 - k))
        for i in range(t.size - 1 - k):
            left_den, right_den = t[i + k] - t[i], t[i + k + 1] - t[i + 1]
            term = np.zeros(x.size)
            if left_den > 0:
                term += (x - t[i]) / left_den * basis[:, i]
            if right_den > 0:
                term += (t[i + k + 1] - x) / right_den * basis[:, i + 1]
            nxt[:, i] = term
        basis = nxt
    return basis[:, :n_basis]
