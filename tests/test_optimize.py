"""The numpy solvers of a fit (`fmrstrial.fit.optimize`) against scipy.optimize and known
solutions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import least_squares
from scipy.optimize import nnls as scipy_nnls

from fmrstrial.fit.optimize import levenberg_marquardt, nnls


@pytest.mark.parametrize("seed", range(20))
def test_nnls_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    m, n = rng.integers(30, 200), rng.integers(2, 25)
    a = rng.normal(size=(m, n))
    b = a @ np.where(rng.random(n) < 0.5, 0.0, rng.random(n)) + rng.normal(0, 0.5, m)
    x = nnls(a, b)
    expected = scipy_nnls(a, b)[0]
    assert np.all(x >= 0)
    assert np.allclose(x, expected, atol=1e-9 * max(1.0, np.abs(expected).max()))


def test_nnls_start_changes_the_work_not_the_solution():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(80, 12))
    b = rng.normal(size=80)
    x = nnls(a, b)
    for start in (x > 0, np.ones(12, bool), np.zeros(12, bool), rng.random(12) < 0.5):
        assert np.allclose(nnls(a, b, start=start), x, atol=1e-12)


def test_nnls_satisfies_the_optimality_conditions():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(60, 15))
    b = rng.normal(size=60)
    x = nnls(a, b)
    w = a.T @ (b - a @ x)  # minus the gradient
    assert np.all(w[x > 0] == pytest.approx(0.0, abs=1e-9))
    assert np.all(w[x == 0] <= 1e-9)


def decay(t, y):
    """Residual and Jacobian of y ~ a exp(-k t) + c, parameters (a, k, c)."""

    def fun(p):
        return p[0] * np.exp(-p[1] * t) + p[2] - y

    def jac(p):
        e = np.exp(-p[1] * t)
        return np.column_stack([e, -p[0] * t * e, np.ones_like(t)])

    return fun, jac


def test_levenberg_marquardt_matches_scipy_on_a_decay():
    rng = np.random.default_rng(1)
    t = np.linspace(0, 5, 80)
    y = 3.0 * np.exp(-1.3 * t) + 0.4 + rng.normal(0, 0.02, t.size)
    fun, jac = decay(t, y)
    lower = np.array([-np.inf, 0.0, -np.inf])
    got = levenberg_marquardt(fun, jac, np.array([1.0, 0.1, 0.0]), lower, 200)
    ref = least_squares(fun, [1.0, 0.1, 0.0], jac=jac, bounds=(lower, np.inf), xtol=1e-12)
    assert got.status > 0
    assert np.allclose(got.x, ref.x, rtol=1e-6)
    assert got.cost == pytest.approx(ref.cost, rel=1e-9)


def test_levenberg_marquardt_stops_at_an_active_bound():
    """Growing data fitted by a exp(-k t) with k >= 0: the best rate is 0, a = mean(y)."""
    t = np.linspace(0, 2, 40)
    y = np.exp(0.5 * t)

    def fun(p):
        return p[0] * np.exp(-p[1] * t) - y

    def jac(p):
        e = np.exp(-p[1] * t)
        return np.column_stack([e, -p[0] * t * e])

    got = levenberg_marquardt(fun, jac, np.array([1.0, 1.0]), np.array([-np.inf, 0.0]), 500)
    assert got.status > 0
    assert got.x[1] == 0.0
    assert got.x[0] == pytest.approx(y.mean(), rel=1e-8)


def test_levenberg_marquardt_respects_an_upper_bound():
    """Decaying data fitted by a exp(-k t) with k <= 0.2: the rate ends at its bound."""
    t = np.linspace(0, 2, 40)
    y = np.exp(-1.0 * t)

    def fun(p):
        return p[0] * np.exp(-p[1] * t) - y

    def jac(p):
        e = np.exp(-p[1] * t)
        return np.column_stack([e, -p[0] * t * e])

    lower, upper = np.array([-np.inf, -np.inf]), np.array([np.inf, 0.2])
    got = levenberg_marquardt(fun, jac, np.array([1.0, 0.0]), lower, 500, upper=upper)
    assert got.status > 0
    assert got.x[1] == 0.2
    best_a = float(np.exp(-0.2 * t) @ y / np.sum(np.exp(-0.4 * t)))
    assert got.x[0] == pytest.approx(best_a, rel=1e-8)


def test_levenberg_marquardt_reports_the_evaluation_limit():
    t = np.linspace(0, 5, 50)
    fun, jac = decay(t, 2.0 * np.exp(-0.7 * t))
    got = levenberg_marquardt(fun, jac, np.array([0.1, 2.0, 1.0]), np.full(3, -np.inf), 3)
    assert got.status == 0 and got.nfev == 3 and "maximum" in got.message


def test_nnls_terminates_on_degenerate_columns():
    """Duplicated and dependent columns (no unique solution): still a solution satisfying the
    optimality conditions, found without cycling."""
    rng = np.random.default_rng(11)
    base = rng.normal(size=(120, 6))
    a = np.column_stack([base, base[:, 0], base[:, 1] + base[:, 2], np.zeros(120)])
    b = base @ np.array([1.0, 0.0, 2.0, 0.5, 0.0, 1.5]) + rng.normal(0, 0.1, 120)
    x = nnls(a, b)
    w = a.T @ (b - a @ x)
    assert np.all(x >= 0)
    assert np.all(w <= 1e-8) and np.all(np.abs(w[x > 0]) <= 1e-8)
    assert np.sum((a @ x - b) ** 2) == pytest.approx(np.sum((a @ scipy_nnls(a, b)[0] - b) ** 2))
