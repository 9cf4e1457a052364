"""Variable-projection fit: exact NNLS for the linear part, Levenberg-Marquardt for the rest.

Objective (all terms dimensionless):

    || stack(Y - M(theta, c, b)) / sigma ||^2 + lambda (|| D2 b_re ||^2 + || D2 b_im ||^2) / sigma^2
    + sum_j ((P theta - mu)_j / s_j)^2 + ratio-prior terms in c

sigma: noise SD (from the signal-free region, else the FID tail); lambda: the baseline
penalty in data units (chosen per spectrum by `select_baseline_penalty` or fixed), so that
the baseline's effective dimension depends on lambda alone, not on the noise level; the
ratio priors are LCModel-style soft constraints (num - r den) / (sd den_ref) on the
amplitudes, linearised at reference amplitudes; P, mu, s: Gaussian priors on the nonlinear
parameters (LCModel-style soft constraints: the metabolite group's shift around the coarse
estimate and its widths around the prior means, other groups' shifts and widths around the
metabolite group's). For fixed theta the baseline coefficients b (unconstrained) are
projected out with one orthonormalisation (Cholesky of the Gram matrix), and c >= 0 is
solved exactly by NNLS (Lawson-Hanson, started from the previous evaluation's positive
set). The outer problem in theta is solved by bounded Levenberg-Marquardt (widths >= 0;
`fmrstrial.fit.optimize`, numpy only) with the analytic Kaufman variable-projection
Jacobian (derivative of the projected residual with the amplitudes held fixed, projected
onto the complement of the baseline and active columns). Both solvers are numpy code
because importing scipy.optimize took 0.35 s of a one-spectrum job (docs/fitting.md, "Speed",
compares them with scipy's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import SpectralModel, polynomial_baseline, spline_baseline, stack
from .optimize import levenberg_marquardt, nnls

#: SD of a group's offsets held at a session's values, as a fraction of the group priors' SDs
#: (0.01: 0.00004 ppm and 0.001 Hz by default, i.e. held; 0.1 and 0.3 gave a larger change
#: error on the demo, 1.92 and 1.99 against 1.89 pp).
SESSION_OFFSET_SD_FRACTION = 0.01


@dataclass
class Priors:
    """Linear Gaussian priors on theta: rows of (P theta - mu) / sd, shapes (m, p), (m,)."""

    matrix: np.ndarray
    mean: np.ndarray
    sd: np.ndarray

    def residual(self, theta: np.ndarray) -> np.ndarray:
        return (self.matrix @ theta - self.mean) / self.sd

    @property
    def jacobian(self) -> np.ndarray:
        return self.matrix / self.sd[:, None]


def build_priors(
    model: SpectralModel,
    settings: dict,
    start_shift_hz: float,
    group_offsets: dict[str, tuple[float, float, float]] | None = None,
) -> Priors:
    """Soft constraints on theta (see module doc); units Hz and rad/ppm. group_offsets:
    group name -> (shift, Lorentzian, Gaussian FWHM) relative to the metabolite group (Hz),
    e.g. a session mean's (`fmrstrial.fit.session`): those groups' priors are centred there
    with `SESSION_OFFSET_SD_FRACTION` of the group priors' SDs, so that a block keeps the
    session's lineshape differences between groups and fits only their common shift and
    widths."""
    lay = model.layout
    group_offsets = group_offsets or {}
    cf = model.fb.cf_mhz
    rows, mean, sd = [], [], []

    def add(coefs: dict[int, float], mu: float, s: float) -> None:
        row = np.zeros(lay.size)
        for i, v in coefs.items():
            row[i] = v
        rows.append(row)
        mean.append(mu)
        sd.append(s)

    if lay.fit_phase1:
        add({1: 1.0}, 0.0, np.deg2rad(settings["phase1_prior_sd_deg_per_ppm"]))
    add({lay.shift(0): 1.0}, start_shift_hz, settings["shift_prior_sd_ppm"] * cf)
    add({lay.lorentz(0): 1.0}, *settings["lorentz_prior_hz"])
    add({lay.gauss(0): 1.0}, *settings["gauss_prior_hz"])
    for j in range(2 * lay.n_lineshape):
        add({lay.first_lineshape + j: 1.0}, 0.0, settings["lineshape_prior_sd"])
    for g in range(1, lay.n_groups):
        name = model.fb.groups[g]
        shift, lorentz, gauss = group_offsets.get(name, (0.0, 0.0, 0.0))
        scale = SESSION_OFFSET_SD_FRACTION if name in group_offsets else 1.0
        shift_sd = settings["group_shift_prior_sd_ppm"] * cf * scale
        width_sd = settings["group_width_prior_sd_hz"] * scale
        add({lay.shift(g): 1.0, lay.shift(0): -1.0}, shift, shift_sd)
        add({lay.lorentz(g): 1.0, lay.lorentz(0): -1.0}, lorentz, width_sd)
        add({lay.gauss(g): 1.0, lay.gauss(0): -1.0}, gauss, width_sd)
    return Priors(np.array(rows), np.array(mean), np.array(sd))


@dataclass
class LinearSystem:
    """Fixed parts of the whitened linear problem.

    base: real baseline design for the stacked data rows (2 n_fit, nb);
    penalty: baseline penalty rows (m_b, nb); q: orthonormal basis (n_aug, nb) of the
    augmented baseline matrix [base / sigma; penalty; 0]; link: MM-link rows (m_l, K);
    y_aug: whitened, augmented data (n_aug,); y_proj: y_aug minus its baseline projection.
    """

    sigma: float
    base: np.ndarray
    penalty: np.ndarray
    link: np.ndarray
    q: np.ndarray
    r: np.ndarray
    y_aug: np.ndarray
    y_proj: np.ndarray
    n_data: int

    def augment(self, a: np.ndarray, with_link: bool = True) -> np.ndarray:
        """Whitened data-row block (n_data, m) -> augmented rows (n_aug, m)."""
        extra = self.penalty.shape[0]
        out = np.zeros((self.n_data + extra + self.link.shape[0], a.shape[1]))
        out[: self.n_data] = a / self.sigma
        if with_link and self.link.shape[0]:
            out[self.n_data + extra :] = self.link
        return out

    def project(self, a_aug: np.ndarray) -> np.ndarray:
        """Remove the component in the baseline's column space."""
        if self.q.shape[1] == 0:
            return a_aug
        return a_aug - self.q @ (self.q.T @ a_aug)

    def baseline_coefs(self, c_resid_aug: np.ndarray) -> np.ndarray:
        """Least-squares baseline coefficients for an augmented residual (y - A c)."""
        if self.q.shape[1] == 0:
            return np.zeros(0)
        return np.linalg.solve(self.r, self.q.T @ c_resid_aug)


def _solve_spd(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve gram x = rhs for a small symmetric positive semidefinite gram (Jacobi-scaled).

    Small Gram-matrix solves stay fast when the BLAS is multi-threaded on a busy machine,
    where LAPACK QR of the tall matrices is not.
    """
    d = np.sqrt(np.clip(np.diag(gram), 1e-300, None))
    scaled = gram / np.outer(d, d)
    try:
        x = np.linalg.solve(scaled, rhs / d[:, None])
    except np.linalg.LinAlgError:
        x = np.linalg.lstsq(scaled, rhs / d[:, None], rcond=1e-12)[0]
    return x / d[:, None]


def _orthonormalise(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q (n, m) with orthonormal columns and upper-triangular R (m, m), a = Q R, for a
    full-rank, well-conditioned a (Cholesky of the Gram matrix)."""
    lower = np.linalg.cholesky(a.T @ a)
    r = lower.T
    q = a @ np.linalg.inv(r)
    return q, r


def baseline_design(model: SpectralModel, settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """Real design (n_fit, nb) and penalty difference matrix (m, nb) of one baseline part
    (made once per model and baseline setting; every fit of a session reuses them)."""
    lo, hi = settings["ppm_range"]
    kind = settings["baseline"]
    key = (kind, lo, hi, settings["baseline_knot_spacing_ppm"], settings["baseline_poly_order"])
    cache = model.baseline_designs
    if key not in cache:
        if kind == "spline":
            cache[key] = spline_baseline(model.ppm, lo, hi, settings["baseline_knot_spacing_ppm"])
        elif kind == "polynomial":
            design = polynomial_baseline(model.ppm, lo, hi, settings["baseline_poly_order"])
            cache[key] = (design, np.zeros((0, design.shape[1])))
        else:
            cache[key] = (np.zeros((model.n_fit, 0)), np.zeros((0, 0)))
    return cache[key]


def baseline_effective_dimension(design: np.ndarray, diff2: np.ndarray, lam: float) -> float:
    """Effective dimension tr((B'B + lam D'D)^-1 B'B) of one (real) part of the baseline;
    design B (n_fit, nb), difference matrix D (m, nb). The complex baseline has twice it."""
    if design.shape[1] == 0:
        return 0.0
    gram = design.T @ design
    if diff2.size == 0:
        return float(np.linalg.matrix_rank(gram))
    return float(np.trace(np.linalg.solve(gram + lam * diff2.T @ diff2, gram)))


def penalty_eigenvalues(design: np.ndarray, diff2: np.ndarray) -> np.ndarray:
    """Eigenvalues mu (nb,) of L^-1 D'D L^-T, where B'B = L L' (design B (n_fit, nb) of full
    column rank, difference matrix D (m, nb)), so that the effective dimension is
    sum_i 1 / (1 + lam mu_i) for any penalty lam without a linear solve."""
    lower = np.linalg.cholesky(design.T @ design)
    half = np.linalg.solve(lower, diff2.T)  # L^-1 D'
    return np.clip(np.linalg.eigvalsh(half @ half.T), 0.0, None)


def build_linear_system(
    model: SpectralModel,
    y: np.ndarray,
    sigma: float,
    settings: dict,
    link: np.ndarray | None = None,
    lam: float = 1.0,
) -> LinearSystem:
    """Whitened, augmented linear problem for data spectrum y (n_fit,) complex, with
    baseline penalty `lam` (data units) and optional ratio-prior rows `link` (m, K)."""
    design, diff2 = baseline_design(model, settings)
    nb = design.shape[1]
    base = np.zeros((2 * model.n_fit, 2 * nb))
    base[: model.n_fit, :nb] = design
    base[model.n_fit :, nb:] = design
    scale = np.sqrt(lam) / sigma
    penalty = np.zeros((2 * diff2.shape[0], 2 * nb))
    if diff2.size:
        penalty[: diff2.shape[0], :nb] = diff2 * scale
        penalty[diff2.shape[0] :, nb:] = diff2 * scale
    k = model.fb.fids.shape[1]
    link = np.zeros((0, k)) if link is None else link
    n_data = 2 * model.n_fit
    n_aug = n_data + penalty.shape[0] + link.shape[0]
    b_aug = np.zeros((n_aug, 2 * nb))
    b_aug[:n_data] = base / sigma
    b_aug[n_data : n_data + penalty.shape[0]] = penalty
    if nb:
        q, r = _orthonormalise(b_aug)
    else:
        q, r = np.zeros((n_aug, 0)), np.zeros((0, 0))
    y_aug = np.zeros(n_aug)
    y_aug[:n_data] = stack(y) / sigma
    y_proj = y_aug - q @ (q.T @ y_aug) if nb else y_aug
    return LinearSystem(sigma, base, penalty, link, q, r, y_aug, y_proj, n_data)


def ratio_prior_rows(names: list[str], priors: dict, c_ref: np.ndarray) -> np.ndarray | None:
    """Rows (w_num - r w_den) / (sd w_den.c_ref), shape (m, K), of the ratio priors whose
    components are all fitted and whose denominator is positive at `c_ref` (K,)."""
    rows = []
    for prior in priors.values():
        members = prior["numerator"] + prior["denominator"]
        if not all(m in names for m in members):
            continue
        row = np.zeros(len(names))
        for m in prior["numerator"]:
            row[names.index(m)] += 1.0
        den = np.zeros(len(names))
        for m in prior["denominator"]:
            den[names.index(m)] += 1.0
        den_ref = float(den @ c_ref)
        if den_ref <= 0:
            continue
        rows.append((row - prior["ratio"] * den) / (prior["sd"] * den_ref))
    return np.array(rows) if rows else None


@dataclass
class Evaluation:
    """Linear solution at one theta."""

    theta: np.ndarray
    cols: np.ndarray
    phase: np.ndarray
    a_proj: np.ndarray
    c: np.ndarray
    residual: np.ndarray


class VarProProblem:
    """Residual and Kaufman Jacobian of the projected problem in theta."""

    def __init__(self, model: SpectralModel, system: LinearSystem, priors: Priors):
        self.model = model
        self.system = system
        self.priors = priors
        self._last: Evaluation | None = None
        self.n_eval = 0

    def evaluate(self, theta: np.ndarray) -> Evaluation:
        if self._last is not None and np.array_equal(theta, self._last.theta):
            return self._last
        self.n_eval += 1
        cols, phase = self.model.columns(theta)
        a_aug = self.system.augment(stack(phase[:, None] * cols))
        a_proj = self.system.project(a_aug)
        start = None if self._last is None else self._last.c > 0
        c = nnls(a_proj, self.system.y_proj, 50 * a_proj.shape[1], start)
        residual = self.system.y_proj - a_proj @ c
        self._last = Evaluation(theta.copy(), cols, phase, a_proj, c, residual)
        return self._last

    def fun(self, theta: np.ndarray) -> np.ndarray:
        ev = self.evaluate(theta)
        return np.concatenate([ev.residual, self.priors.residual(theta)])

    def jac(self, theta: np.ndarray) -> np.ndarray:
        ev = self.evaluate(theta)
        deriv = self.model.derivatives(theta, ev.c, ev.cols, ev.phase)
        d_proj = self.system.project(self.system.augment(stack(deriv), with_link=False))
        active = ev.c > 0
        if active.any():
            a_act = ev.a_proj[:, active]
            gram = a_act.T @ a_act
            d_proj = d_proj - a_act @ _solve_spd(gram, a_act.T @ d_proj)
        return np.vstack([-d_proj, self.priors.jacobian])


def lower_bounds(model: SpectralModel) -> np.ndarray:
    """Widths are non-negative; phases and shifts are free."""
    lay = model.layout
    lb = np.full(lay.size, -np.inf)
    for g in range(lay.n_groups):
        lb[lay.lorentz(g)] = 0.0
        lb[lay.gauss(g)] = 0.0
    return lb


def bounds(
    model: SpectralModel, shift_window: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) bounds of theta: `lower_bounds`, and the metabolite group's shift
    within shift_window (low, high) Hz when given."""
    lb = lower_bounds(model)
    ub = np.full_like(lb, np.inf)
    if shift_window is not None:
        lb[model.layout.shift(0)], ub[model.layout.shift(0)] = shift_window
    return lb, ub


def solve(
    problem: VarProProblem,
    theta0: np.ndarray,
    max_nfev: int,
    shift_window: tuple[float, float] | None = None,
):
    """Fit theta from theta0 (bounded Levenberg-Marquardt); a `LeastSquaresResult`.

    shift_window: (low, high) Hz bounds of the metabolite group's shift (None: free)."""
    lb, ub = bounds(problem.model, shift_window)
    theta0 = np.clip(theta0, lb + 1e-3, ub - 1e-3)
    return levenberg_marquardt(problem.fun, problem.jac, theta0, lb, max_nfev, upper=ub)
