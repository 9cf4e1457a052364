"""The two solvers a spectral fit needs, in numpy alone.

- `nnls`: non-negative least squares min ||A x - b|| subject to x >= 0 (Lawson & Hanson's
  active-set method, 1974, ch. 23, on the normal equations as Bro & De Jong's fast NNLS),
  optionally started from a guess of the positive set.
- `levenberg_marquardt`: bounded nonlinear least squares min ||r(x)||^2 subject to x >= lower
  with an analytic Jacobian (Levenberg-Marquardt with Marquardt's column scaling, the
  damping update of Nielsen 1999, and variables held at a bound while the gradient pushes
  them out of the feasible set).

scipy.optimize offers both, but importing it takes about 0.35 s, longer than fitting a
spectrum; a fit job imports this module instead (see docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_EPS = np.finfo(float).eps


def _passive_solution(gram: np.ndarray, rhs: np.ndarray, passive: np.ndarray) -> np.ndarray:
    """Unconstrained least-squares solution on the passive columns (normal equations of
    the column-scaled problem), zero elsewhere."""
    z = np.zeros(gram.shape[0])
    if passive.any():
        idx = np.flatnonzero(passive)
        sub = gram[np.ix_(idx, idx)]
        try:
            z[idx] = np.linalg.solve(sub, rhs[idx])
        except np.linalg.LinAlgError:
            z[idx] = np.linalg.lstsq(sub, rhs[idx], rcond=None)[0]
    return z


def nnls(
    a: np.ndarray, b: np.ndarray, max_iter: int | None = None, start: np.ndarray | None = None
) -> np.ndarray:
    """Solution x (n,) of min ||a x - b||_2 with x >= 0 for a (m, n), b (m,).

    Lawson-Hanson's active-set iterations on the normal equations of the problem with
    unit-norm columns (as Bro & De Jong's fast NNLS, 1997): A^T A and A^T b are formed once,
    so that each iteration solves a small (passive x passive) system. start: boolean (n,)
    guess of the columns with x > 0 (e.g. the previous solution's); the result does not
    depend on it when the solution is unique, only the work does. RuntimeError after
    `max_iter` (default 3 n) iterations (columns entering or leaving).
    """
    n = a.shape[1]
    max_iter = 3 * n if max_iter is None else max_iter
    norms = np.linalg.norm(a, axis=0)
    scale = np.divide(1.0, norms, out=np.zeros(n), where=norms > 0)  # all-zero columns stay 0
    a_s = a * scale
    gram, rhs = a_s.T @ a_s, a_s.T @ b
    tol = 10 * _EPS * max(a.shape) * max(1.0, float(np.abs(rhs).max(initial=0.0)))
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    if start is not None and start.any():
        passive = start & (norms > 0)
        z = _passive_solution(gram, rhs, passive)
        if np.all(z[passive] > 0):
            x = z
        else:
            passive[:] = False
    iterations = 0

    def count() -> None:
        nonlocal iterations
        iterations += 1
        if iterations > max_iter:
            raise RuntimeError(f"nnls: no solution after {max_iter} iterations")

    rejected = np.zeros(n, dtype=bool)  # columns whose entry would not come out positive
    while True:
        w = rhs - gram @ x  # zero for all-zero columns
        free = ~passive & ~rejected & (w > tol)
        if not free.any():
            return x * scale
        count()
        j = np.flatnonzero(free)[np.argmax(w[free])]
        passive[j] = True
        z = _passive_solution(gram, rhs, passive)
        if z[j] <= 0:
            # rounding: the gradient says j should enter, the solve disagrees (Lawson and
            # Hanson's safeguard); leave it out until another column enters
            passive[j] = False
            rejected[j] = True
            continue
        rejected[:] = False
        while True:
            blocking = passive & (z <= 0)
            if not blocking.any():
                x = z
                break
            count()
            ratios = np.full(n, np.inf)
            ratios[blocking] = x[blocking] / (x[blocking] - z[blocking])
            leaving = int(np.argmin(ratios))
            x = x + ratios[leaving] * (z - x)
            x[leaving] = 0.0  # exactly, whatever the rounding of the step
            passive &= x > 0
            x[~passive] = 0.0
            z = _passive_solution(gram, rhs, passive)


@dataclass
class LeastSquaresResult:
    """Solution x, cost 0.5 ||r||^2, residual evaluations, and how the search ended:
    status 1 (gradient), 2 (cost change), 3 (step size) = converged; 0 = evaluation limit."""

    x: np.ndarray
    cost: float
    nfev: int
    status: int
    message: str


_MESSAGES = {
    0: "the maximum number of residual evaluations was reached",
    1: "gtol: the projected gradient is below tolerance",
    2: "ftol: the relative reduction of the cost is below tolerance",
    3: "xtol: the relative step is below tolerance",
}


def levenberg_marquardt(
    fun: Callable[[np.ndarray], np.ndarray],
    jac: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    lower: np.ndarray,
    max_nfev: int,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    gtol: float = 1e-10,
    upper: np.ndarray | None = None,
) -> LeastSquaresResult:
    """Minimise 0.5 ||fun(x)||^2 over lower <= x <= upper (+-inf: unbounded) from x0 (p,).

    fun returns the residual vector (m,), jac its Jacobian (m, p). Each step solves
    (J_f^T J_f + mu D_f^2) dx_f = -J_f^T r over the free variables f (those not held at
    their bound), with D the largest column norms of J seen so far (scale invariance), and is
    clipped to the bounds; mu falls after a good step and rises after a failed one.
    Termination: cost reduction < ftol cost, step < xtol (xtol + ||x||), or the largest
    cosine between r and a free column of J below gtol (MINPACK's tests).
    """
    upper = np.full_like(lower, np.inf) if upper is None else upper
    x = np.clip(np.asarray(x0, dtype=float), lower, upper)
    r = fun(x)
    cost = 0.5 * float(r @ r)
    j = jac(x)
    nfev = 1
    scale = np.maximum(np.linalg.norm(j, axis=0), _EPS)
    mu, nu = 1e-3, 2.0
    while True:
        g = j.T @ r
        held = ((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0))
        cosine = np.abs(np.where(held, 0.0, g / scale)) / max(np.sqrt(2.0 * cost), _EPS)
        if np.max(cosine, initial=0.0) < gtol:
            return _result(x, cost, nfev, 1)
        if nfev >= max_nfev:
            return _result(x, cost, nfev, 0)
        free = ~held
        jf = j[:, free] / scale[free]
        lhs = np.vstack([jf, np.sqrt(mu) * np.eye(jf.shape[1])])
        rhs = np.concatenate([-r, np.zeros(jf.shape[1])])
        step = np.zeros_like(x)
        step[free] = np.linalg.lstsq(lhs, rhs, rcond=None)[0] / scale[free]
        x_new = np.clip(x + step, lower, upper)
        dx = x_new - x
        predicted = cost - 0.5 * float(np.sum((r + j @ dx) ** 2))
        r_new = fun(x_new)
        nfev += 1
        cost_new = 0.5 * float(r_new @ r_new)
        actual = cost - cost_new
        small_step = np.linalg.norm(dx) < xtol * (xtol + np.linalg.norm(x))
        if predicted > 0 and actual > 0:
            rho = actual / predicted
            x, r, cost = x_new, r_new, cost_new
            j = jac(x)
            scale = np.maximum(scale, np.linalg.norm(j, axis=0))
            mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            nu = 2.0
            if actual < ftol * (cost + actual) and rho > 0.25:
                return _result(x, cost, nfev, 2)
            if small_step:
                return _result(x, cost, nfev, 3)
        else:
            if small_step:
                return _result(x, cost, nfev, 3)
            mu *= nu
            nu *= 2.0


def _result(x: np.ndarray, cost: float, nfev: int, status: int) -> LeastSquaresResult:
    return LeastSquaresResult(x, cost, nfev, status, _MESSAGES[status])
