"""Dynamic fit: all blocks of a session fitted jointly (`fit.settings.mode: dynamic`).

Model of block j (j = 0 .. J-1) over the fit range, with the single-spectrum model of
`fmrstrial.fit.model` (phase, per-group Voigt lineshape and shift, components S_k):

    M_j = exp(i(phi0 + phi1 rel_ppm)) sum_k c_jk S_k(theta_j) + baseline

- shared by all blocks: phi0, phi1, every group's shift d_g and Lorentzian and Gaussian
  widths L_g, G_g (those of block 0), the optional lineshape distortion and (setting
  dynamic_baseline 'shared') the baseline: one spline, penalty chosen on the session's mean
  spectrum as in block mode ('block': one spline per block with that penalty);
- per block (setting dynamic_block_phase, default on): a zero-order phase phi_j that turns
  block j's data by exp(-i phi_j), baseline included (phi_0 = 0);
- per block (setting dynamic_block_lineshape): a frequency shift delta_j added to every
  group and an extra Lorentzian broadening ell_j added to every group but the broad
  macromolecule group (delta_0 = ell_0 = 0), so theta_j has shifts d_g + delta_j and
  metabolite widths L_g + ell_j (drift, BOLD narrowing); ell_j >= -L_g at the start;
- metabolite amplitudes c_j = sum_p X[j, p] beta_p (`dynamic_design.TemporalModel`), for
  the metabolites of the setting dynamic_metabolites (all if empty); the other metabolites
  have one amplitude shared by all blocks;
- lipid amplitudes free per block (setting dynamic_lipids_per_block: scalp lipid picked up
  during motion comes and goes between blocks), else shared; the same for the
  macromolecules with dynamic_mm_per_block (default true).

Objective: sum_j || stack(Y_j - M_j) / sigma_j ||^2 (sigma_j: block j's noise SD from the
signal-free region) + lambda sum_j sigma_j^-2 ||D2 b||^2 for a shared baseline b (the
penalty lambda per block, so it keeps the effective dimension chosen on the mean spectrum;
lambda sigma_j^-2 ||D2 b_j||^2 for per-block baselines) + the
priors of the single fit on the shared parameters + weak priors on delta_j, ell_j (the
single fit's shift and Lorentzian prior SDs, around 0) + the ratio priors applied to every
block, linearised at the mean spectrum's amplitudes.

Solver: variable projection as in `solver`: for fixed nonlinear parameters the baseline(s)
are projected out and the linear coefficients (beta, MM/lipid amplitudes) are solved
exactly with their bounds (non-negative levels, see `dynamic_design`) on the small
triangular system of the Gram matrix (built block by block, `JointProblem.normal_equations`,
never from the dense projected design); the nonlinear parameters by trust-region least
squares with the analytic Kaufman Jacobian (chain rule from the single model's derivatives).
Start: the fit of the session's mean spectrum (delta = ell = 0).

Uncertainty: the Fisher information of all parameters (nonlinear, linear coefficients,
baseline) summed over the blocks, plus the prior/penalty information, scaled by the
whitened residual per degree of freedom (crlb_noise 'residual') as in `crlb`; covariances of
per-block amplitudes, GLM coefficients and contrasts follow from it. Blocks that linewidth
matching broadened (`noise_envelopes`) carry shaped noise: each block amplitude's SD, and
each coefficient's, is scaled by its sandwich ratio (`crlb.sandwich_factors`, the score
covariance summed over the blocks), as `crlb.shaped_noise_factors` does in block mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares, lsq_linear, nnls

from ..blas import single_threaded_blas
from ..errors import InputError
from .basis_setup import MM_GROUP, FitBasis
from .core import (
    FitResult,
    _component_sets,
    _noise,
    _qc_measures,
    _weights,
    fit_spectrum,
    spectral_model,
)
from .crlb import (
    invert,
    linear_estimate,
    ratio_estimate,
    sandwich_factors,
    score_covariances,
)
from .dynamic_design import TemporalModel
from .model import SpectralModel, cmatvec, stack
from .solver import (
    Priors,
    _orthonormalise,
    _solve_spd,
    baseline_design,
    baseline_effective_dimension,
    build_priors,
    lower_bounds,
    ratio_prior_rows,
)

BLOCK_PHASE_PRIOR_SD_RAD = 0.1
"""Prior SD of a block's zero-order phase relative to block 0 (dynamic_block_phase): weak,
since preprocessing has phased every transient (about 6 degrees)."""


@dataclass(frozen=True)
class JointLayout:
    """Joint nonlinear parameters: the single model's theta (shared; block 0's values), then
    for each per-block kind (`targets`) one value per block j = 1 .. J-1 that is added to the
    single-model positions the kind names: delta_j (Hz, every group's shift) and ell_j (Hz,
    the metabolite groups' Lorentzian widths); last, with `data_phase`, phi_j (rad), which
    rotates block j's data by exp(-i phi_j) (the whole block, baseline included)."""

    n_single: int
    n_blocks: int
    targets: tuple[tuple[int, ...], ...]
    data_phase: bool = False

    @property
    def n_extra(self) -> int:
        """Per-block values of one kind (J - 1, or 0 without per-block parameters)."""
        return self.n_blocks - 1 if self.targets or self.data_phase else 0

    @property
    def n_kinds(self) -> int:
        return len(self.targets) + int(self.data_phase)

    @property
    def size(self) -> int:
        return self.n_single + self.n_kinds * self.n_extra

    def block_phases(self, theta: np.ndarray) -> np.ndarray:
        """phi_j (rad) of every block, (J,), phi_0 = 0."""
        out = np.zeros(self.n_blocks)
        if self.data_phase:
            first = self.extra(len(self.targets), 1)
            out[1:] = theta[first : first + self.n_extra]
        return out

    def extra(self, kind: int, j: int) -> int:
        """Position in the joint theta of block j's (j >= 1) parameter of one kind."""
        return self.n_single + kind * self.n_extra + j - 1

    def block_theta(self, theta: np.ndarray, j: int) -> np.ndarray:
        """Single-model parameters of block j."""
        out = theta[: self.n_single].copy()
        if j > 0:
            for kind, positions in enumerate(self.targets):
                out[list(positions)] += theta[self.extra(kind, j)]
        return out

    def block_map(self, j: int) -> np.ndarray:
        """d theta_j / d theta, shape (n_single, size)."""
        p = np.zeros((self.n_single, self.size))
        p[:, : self.n_single] = np.eye(self.n_single)
        if j > 0:
            for kind, positions in enumerate(self.targets):
                p[list(positions), self.extra(kind, j)] = 1.0
        return p


class JointProblem:
    """Projected residual and Kaufman Jacobian of the joint problem (see module doc).

    ys: (J, n_fit) complex data spectra; sigmas: (J,) noise SDs; lam: baseline penalty;
    c_ref: (K,) amplitudes at which the ratio priors are linearised.
    """

    def __init__(
        self,
        model: SpectralModel,
        ys: np.ndarray,
        sigmas: np.ndarray,
        temporal: TemporalModel,
        settings: dict,
        lam: float,
        c_ref: np.ndarray,
        priors: Priors,
    ):
        fb = model.fb
        self.model, self.ys, self.sigmas, self.temporal = model, ys, sigmas, temporal
        self.n_blocks = ys.shape[0]
        lay = model.layout
        kinds = []  # (positions in the single theta, prior SD) of each per-block kind
        if settings["dynamic_block_lineshape"]:
            kinds.append(
                (tuple(lay.shift(g) for g in range(lay.n_groups)),
                 settings["shift_prior_sd_ppm"] * fb.cf_mhz)
            )  # fmt: skip
            kinds.append(
                (tuple(lay.lorentz(g) for g, name in enumerate(fb.groups) if name != MM_GROUP),
                 settings["lorentz_prior_hz"][1])
            )  # fmt: skip
        self.lorentz_kind = 1 if settings["dynamic_block_lineshape"] else None
        data_phase = bool(settings["dynamic_block_phase"])
        self.kind_prior_sd = [sd for _, sd in kinds] + [BLOCK_PHASE_PRIOR_SD_RAD] * data_phase
        self.layout = JointLayout(
            lay.size, self.n_blocks, tuple(pos for pos, _ in kinds), data_phase
        )
        varying = np.array(fb.kinds) == "metabolite"
        if settings["dynamic_metabolites"]:
            varying &= np.isin(fb.names, settings["dynamic_metabolites"])
        per_block = np.zeros(len(fb.names), dtype=bool)
        if settings["dynamic_lipids_per_block"]:
            per_block |= np.isin(fb.names, settings["lipids"]) & ~varying
        if settings["dynamic_mm_per_block"]:
            mm = list(settings["macromolecules"]) + list(settings["measured_mm"])
            per_block |= np.isin(fb.names, mm) & ~varying
        self.met = np.flatnonzero(varying)
        self.per_block = np.flatnonzero(per_block)
        self.shared = np.flatnonzero(~varying & ~per_block)
        n_p = temporal.matrix.shape[1]
        self.n_lin = n_p * self.met.size + self.n_blocks * self.per_block.size + self.shared.size
        self.maps = [self._linear_map(j) for j in range(self.n_blocks)]
        self.lin_lb = np.concatenate(
            [np.repeat(np.where(temporal.nonneg, 0.0, -np.inf), self.met.size),
             np.zeros(self.n_blocks * self.per_block.size + self.shared.size)]
        )  # fmt: skip
        # baseline: one spline per group of blocks (all blocks, or each block on its own),
        # augmented with its penalty rows (lambda per block, so the effective dimension is
        # the one chosen on the mean spectrum)
        design, diff2 = baseline_design(model, settings)
        self.design, self.diff2, self.lam = design, diff2, lam
        nb, n = design.shape[1], model.n_fit
        base = np.zeros((2 * n, 2 * nb))
        base[:n, :nb] = design
        base[n:, nb:] = design
        self.base, self.nb2 = base, 2 * nb
        j_all = list(range(self.n_blocks))
        shared_baseline = settings["dynamic_baseline"] == "shared"
        self.base_groups = [j_all] if shared_baseline else [[j] for j in j_all]
        self.group_of = np.zeros(self.n_blocks, dtype=int)
        for g, members in enumerate(self.base_groups):
            self.group_of[members] = g
        m_pen = 2 * diff2.shape[0]
        n_groups = len(self.base_groups)
        link = ratio_prior_rows(fb.names, settings["ratio_priors"], c_ref)
        link = np.zeros((0, len(fb.names))) if link is None else link
        self.link = (
            np.vstack([link @ t for t in self.maps]) if link.size else np.zeros((0, self.n_lin))
        )
        self.n_data = 2 * n * self.n_blocks
        self.n_pen = m_pen * n_groups
        self.n_aug = self.n_data + self.n_pen + self.link.shape[0]
        self.penalty = np.zeros((self.n_pen, n_groups * self.nb2))
        self.group_rows, self.qs, self.rs = [], [], []
        for g, members in enumerate(self.base_groups):
            scale = np.sqrt(lam * np.sum(sigmas[members] ** -2.0))
            pen = np.zeros((m_pen, 2 * nb))
            if diff2.size:
                pen[: diff2.shape[0], :nb] = diff2 * scale
                pen[diff2.shape[0] :, nb:] = diff2 * scale
            self.penalty[g * m_pen : (g + 1) * m_pen, g * self.nb2 : (g + 1) * self.nb2] = pen
            rows = [np.arange(2 * n * j, 2 * n * (j + 1)) for j in members]
            rows.append(self.n_data + g * m_pen + np.arange(m_pen))
            self.group_rows.append(np.concatenate(rows))
            b_aug = np.vstack([base / sigmas[j] for j in members] + [pen])
            if nb:
                q, r = _orthonormalise(b_aug)
            else:
                q, r = np.zeros((b_aug.shape[0], 0)), np.zeros((0, 0))
            self.qs.append(q)
            self.rs.append(r)
        self.y_aug = np.zeros(self.n_aug)
        self._set_phases(np.zeros(self.n_blocks))
        self.priors = self._joint_priors(priors, settings)
        self._last = None
        self.n_eval = 0

    # ------------------------------------------------------------------ structure
    def _linear_map(self, j: int) -> np.ndarray:
        """T_j (K, n_lin): block j's amplitudes c_j = T_j gamma."""
        x = self.temporal.matrix
        k, m = len(self.model.fb.names), self.met.size
        t = np.zeros((k, self.n_lin))
        for p in range(x.shape[1]):
            t[self.met, p * m + np.arange(m)] = x[j, p]
        start = x.shape[1] * m + j * self.per_block.size
        t[self.per_block, start + np.arange(self.per_block.size)] = 1.0
        start = x.shape[1] * m + self.n_blocks * self.per_block.size
        t[self.shared, start + np.arange(self.shared.size)] = 1.0
        return t

    def _joint_priors(self, single: Priors, settings: dict) -> Priors:
        """The single fit's priors on the shared part; each per-block value around 0 with its
        kind's SD (the single fit's shift and Lorentzian prior SDs; BLOCK_PHASE_PRIOR_SD_RAD)."""
        lay = self.layout
        n_rows, n_new = single.matrix.shape[0], lay.size - lay.n_single
        matrix = np.zeros((n_rows + n_new, lay.size))
        matrix[:n_rows, : lay.n_single] = single.matrix
        matrix[n_rows:, lay.n_single :] = np.eye(n_new)
        mean = np.concatenate([single.mean, np.zeros(n_new)])
        sd = np.concatenate([single.sd, np.repeat(self.kind_prior_sd, lay.n_extra)])
        return Priors(matrix, mean, sd)

    def _set_phases(self, phases: np.ndarray) -> None:
        """Rotate every block's data by exp(-i phi_j): y_rot (J, n_fit), y_aug, y_proj."""
        self.phases = phases.copy()
        self.y_rot = self.ys * np.exp(-1j * phases)[:, None]
        self.y_aug[: self.n_data] = np.concatenate(
            [stack(self.y_rot[j]) / self.sigmas[j] for j in range(self.n_blocks)]
        )
        self.y_proj = self.project(self.y_aug)

    def project(self, a: np.ndarray) -> np.ndarray:
        """Remove the component in the (augmented) baselines' column space."""
        if self.nb2 == 0:
            return a
        out = a.copy()
        for rows, q in zip(self.group_rows, self.qs, strict=True):
            out[rows] -= q @ (q.T @ a[rows])
        return out

    def _augment(self, data_rows: np.ndarray, with_link: bool) -> np.ndarray:
        out = np.zeros((self.n_aug, data_rows.shape[1]))
        out[: self.n_data] = data_rows
        if with_link and self.link.shape[0]:
            out[self.n_data + self.n_pen :] = self.link
        return out

    # ------------------------------------------------------------------ evaluation
    def block_columns(self, theta: np.ndarray):
        """Per block: (theta_j, cols_j (n_fit, K), phase_j (n_fit,))."""
        out = []
        for j in range(self.n_blocks):
            th = self.layout.block_theta(theta, j)
            cols, phase = self.model.columns(th)
            out.append((th, cols, phase))
        return out

    def design_rows(self, blocks) -> np.ndarray:
        """Whitened data rows of the linear coefficients, (n_data, n_lin)."""
        a = np.empty((self.n_data, self.n_lin))
        for j, b in enumerate(self.block_designs(blocks)):
            a[self._rows(j)] = b @ self.maps[j]
        return a

    def block_designs(self, blocks) -> list[np.ndarray]:
        """B_j (2 n_fit, K) per block: its whitened component columns, so that block j's data
        rows of the linear coefficients are B_j T_j (never formed: see `normal_equations`)."""
        return [
            stack(phase[:, None] * cols) / self.sigmas[j]
            for j, (_, cols, phase) in enumerate(blocks)
        ]

    def _rows(self, j: int) -> slice:
        n2 = 2 * self.model.n_fit
        return slice(n2 * j, n2 * (j + 1))

    def normal_equations(self, bs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Gram matrix a^T a (n_lin, n_lin) and a^T y_proj of the projected augmented design
        a = P A (P: the baselines projected out), from the blocks' B_j without forming the
        dense (n_aug, n_lin) a: A^T P A = sum_j T_j^T B_j^T B_j T_j + link^T link -
        sum_g (Q_g^T A)^T (Q_g^T A), and a^T y_proj = A^T y_proj (P is a projector; the
        design is zero in the penalty rows and y_proj in the link rows). Cost linear in the
        number of blocks for the data part, where the dense product is quadratic."""
        gram = self.link.T @ self.link if self.link.shape[0] else np.zeros((self.n_lin,) * 2)
        rhs = np.zeros(self.n_lin)
        for j, b in enumerate(bs):
            t = self.maps[j]
            gram += t.T @ (b.T @ b) @ t
            rhs += t.T @ (b.T @ self.y_proj[self._rows(j)])
        if self.nb2:
            n2 = 2 * self.model.n_fit
            for members, q in zip(self.base_groups, self.qs, strict=True):
                qa = sum(
                    (q[n2 * i : n2 * (i + 1)].T @ bs[j]) @ self.maps[j]
                    for i, j in enumerate(members)
                )
                gram -= qa.T @ qa
        return gram, rhs

    def design_times(self, bs: list[np.ndarray], x: np.ndarray, columns=None) -> np.ndarray:
        """A_aug[:, columns] @ x, (n_aug,) or (n_aug, k), from the blocks' B_j (the link rows
        included; the penalty rows are zero)."""
        cols = slice(None) if columns is None else columns
        out = np.zeros((self.n_aug,) + x.shape[1:])
        for j, b in enumerate(bs):
            out[self._rows(j)] = b @ (self.maps[j][:, cols] @ x)
        if self.link.shape[0]:
            out[self.n_data + self.n_pen :] = self.link[:, cols] @ x
        return out

    def _solve_linear(self, gram: np.ndarray, rhs: np.ndarray, blocks) -> np.ndarray:
        """Bounded least squares min ||a x - y_proj|| with x >= lin_lb on its normal
        equations (`normal_equations`); the dense projected design of `blocks` is formed only
        when the Gram matrix is not positive definite."""
        d = np.sqrt(np.clip(np.diag(gram), 1e-300, None))
        try:
            lower = np.linalg.cholesky(gram / np.outer(d, d))
            rmat, z = lower.T, np.linalg.solve(lower, rhs / d)
        except np.linalg.LinAlgError:
            rmat = self.project(self._augment(self.design_rows(blocks), with_link=True))
            z, d = self.y_proj, np.ones(self.n_lin)
        if np.all(self.lin_lb == 0):
            u, _ = nnls(rmat, z, maxiter=50 * rmat.shape[1])
        else:
            lb = np.where(np.isfinite(self.lin_lb), 0.0, -np.inf)
            u = lsq_linear(rmat, z, bounds=(lb, np.inf), method="bvls").x
        return u / d

    def evaluate(self, theta: np.ndarray):
        """(theta, blocks, (B_j list, Gram matrix), gamma, projected residual) at theta."""
        if self._last is not None and np.array_equal(theta, self._last[0]):
            return self._last
        self.n_eval += 1
        phases = self.layout.block_phases(theta)
        if not np.array_equal(phases, self.phases):
            self._set_phases(phases)
        blocks = self.block_columns(theta)
        bs = self.block_designs(blocks)
        gram, rhs = self.normal_equations(bs)
        gamma = self._solve_linear(gram, rhs, blocks)
        residual = self.y_proj - self.project(self.design_times(bs, gamma))
        self._last = (theta.copy(), blocks, (bs, gram), gamma, residual)
        return self._last

    def fun(self, theta: np.ndarray) -> np.ndarray:
        _, _, _, _, residual = self.evaluate(theta)
        return np.concatenate([residual, self.priors.residual(theta)])

    def model_jacobian(self, theta, blocks, gamma) -> np.ndarray:
        """Whitened d(model - rotated data)/d theta at fixed gamma, data rows (n_data, size);
        the column of phi_j is i y_rot_j (d y_rot_j / d phi_j = -i y_rot_j; y_rot is the
        data of the last `evaluate`, at this theta)."""
        n2 = 2 * self.model.n_fit
        out = np.empty((self.n_data, self.layout.size))
        for j, block in enumerate(blocks):
            out[n2 * j : n2 * (j + 1)] = self.block_theta_rows(j, block, gamma, 1j * self.y_rot[j])
        return out

    def block_theta_rows(self, j: int, block, gamma, turned: np.ndarray) -> np.ndarray:
        """Block j's whitened rows of the derivative by the joint theta, (2 n_fit, size): the
        model's, and in phi_j's column (j >= 1) stack(turned) / sigma_j, where `turned` is
        i x the block's data (in the residual's derivative) or model (in the Fisher
        information)."""
        th, cols, phase = block
        deriv = self.model.derivatives(th, self.maps[j] @ gamma, cols, phase)
        rows = (stack(deriv) / self.sigmas[j]) @ self.layout.block_map(j)
        if self.layout.data_phase and j > 0:
            rows[:, self.layout.extra(len(self.layout.targets), j)] = stack(turned) / self.sigmas[j]
        return rows

    def jac(self, theta: np.ndarray) -> np.ndarray:
        """Kaufman Jacobian: the projected model derivative minus its component in the span
        of the free linear coefficients' projected columns (computed from the blocks' B_j:
        a_act^T d_proj = A^T d_proj, a_act x = P A_act x)."""
        _, blocks, (bs, gram), gamma, _ = self.evaluate(theta)
        d_proj = self.project(self._augment(self.model_jacobian(theta, blocks, gamma), False))
        free = np.flatnonzero((gamma > 0) | ~np.isfinite(self.lin_lb))
        if free.size:
            atd = sum(
                self.maps[j][:, free].T @ (b.T @ d_proj[self._rows(j)]) for j, b in enumerate(bs)
            )
            x = _solve_spd(gram[np.ix_(free, free)], atd)
            d_proj = d_proj - self.project(self.design_times(bs, x, free))
        return np.vstack([-d_proj, self.priors.jacobian])

    def lower_bounds(self, theta0: np.ndarray) -> np.ndarray:
        """Single-model bounds on the shared part; ell_j >= -(smallest starting Lorentz width
        of the groups it broadens)."""
        lb = np.full(self.layout.size, -np.inf)
        lb[: self.layout.n_single] = lower_bounds(self.model)
        if self.layout.n_extra and self.lorentz_kind is not None:
            smallest = min(theta0[p] for p in self.layout.targets[self.lorentz_kind])
            first = self.layout.extra(self.lorentz_kind, 1)
            lb[first : first + self.layout.n_extra] = -max(smallest, 0.0)
        return lb

    def baseline_coefs(self, blocks, gamma) -> np.ndarray:
        """Baseline coefficients (n_groups * 2 nb,) in data units, group after group."""
        if self.nb2 == 0:
            return np.zeros(0)
        resid = self.y_aug - self.design_times(self.block_designs(blocks), gamma)
        return np.concatenate(
            [np.linalg.solve(r, q.T @ resid[rows])
             for rows, q, r in zip(self.group_rows, self.qs, self.rs, strict=True)]
        )  # fmt: skip

    def block_baseline(self, b: np.ndarray, j: int) -> np.ndarray:
        """Baseline spectrum (n_fit,) complex of block j from all coefficients b."""
        n_fit = self.model.n_fit
        if self.nb2 == 0:
            return np.zeros(n_fit, dtype=np.complex128)
        g = self.group_of[j]
        stacked = self.base @ b[g * self.nb2 : (g + 1) * self.nb2]
        return stacked[:n_fit] + 1j * stacked[n_fit:]


@dataclass
class DynamicResult:
    """Joint fit of a session.

    fits: (block, FitResult) per block, as block mode returns them (amplitudes, CRLBs and
    covariances from the joint Fisher information); temporal: the temporal model;
    coef_names: names of the linear coefficients (n_lin,), '<metabolite>:<column>' and the
    '<lipid>:block<j>' (lipids per block), then the shared components (MM, lipids if not
    per block, metabolites held constant); gamma (n_lin,) and
    cov_gamma (n_lin, n_lin) their estimates and covariance; maps: T_j (K, n_lin) per block;
    theta: joint nonlinear parameters (`JointLayout`); names: components (K,);
    chi2_per_dof: whitened residual per degree of freedom; block_fits: the block-by-block
    fits of the same blocks for comparison (empty unless made); empty: results of the blocks
    outside the joint fit: n/a (no transient kept), or a first joint fit's values of a block
    left out as a lipid outlier (`message` says which).
    """

    fits: list[tuple[int, FitResult]]
    temporal: TemporalModel
    names: list[str]
    coef_names: list[str]
    gamma: np.ndarray
    cov_gamma: np.ndarray
    maps: list[np.ndarray]
    theta: np.ndarray
    converged: bool
    iterations: int
    chi2_per_dof: float
    block_fits: list[tuple[int, FitResult]] = field(default_factory=list)
    empty: list[tuple[int, FitResult]] = field(default_factory=list)


def fit_dynamic(
    fids: np.ndarray,
    dwell_s: float,
    cf_mhz: float,
    fb: FitBasis,
    settings: dict,
    temporal: TemporalModel,
    *,
    source: str = "<data>",
    mean_fit: FitResult | None = None,
    noise_envelopes: list[np.ndarray | None] | None = None,
) -> DynamicResult:
    """Joint fit of the blocks `fids` (n_points, J) complex with the prepared basis `fb`.

    `mean_fit`: fit of the mean spectrum (start and baseline penalty); fitted here if None.
    `noise_envelopes`: per block, the envelope (n_points,) the block was multiplied by
    (linewidth matching) or None; the blocks' CRLBs then account for the shaped noise as in
    block mode (`crlb.shaped_noise_factors`). InputError if the temporal model does not have
    J rows."""
    fids = np.asarray(fids)
    if fids.ndim != 2 or fids.shape[1] != temporal.n_blocks:
        raise InputError(
            f"the temporal model has {temporal.n_blocks} blocks but the data have "
            f"{fids.shape[1] if fids.ndim == 2 else 1}",
            file=source,
        )
    envelopes = noise_envelopes if noise_envelopes is not None else [None] * fids.shape[1]
    with single_threaded_blas():
        return _fit_dynamic(
            fids, dwell_s, cf_mhz, fb, settings, temporal, source, mean_fit, envelopes
        )


def _fit_dynamic(fids, dwell_s, cf_mhz, fb, settings, temporal, source, mean_fit, envelopes):
    if mean_fit is None:
        mean_fit = fit_spectrum(
            fids.mean(axis=1), dwell_s, cf_mhz, fb, settings,
            source=f"{source}, mean of the blocks", averaged_blocks=fids.shape[1],
        )  # fmt: skip
    settings = {**settings, "ppm_range": list(mean_fit.fit_range_ppm)}  # the mean's range
    model = spectral_model(fb, settings)
    n_blocks = fids.shape[1]
    ys = np.array([model.data_spectrum(fids[:, j]) for j in range(n_blocks)])
    noise = [_noise(fids[:, j], dwell_s, cf_mhz, ys[j], settings) for j in range(n_blocks)]
    sigmas = np.array([s for s, _ in noise])
    lam = mean_fit.baseline_penalty if settings["baseline"] == "spline" else 1.0
    lay1 = model.layout
    priors = build_priors(model, settings, float(mean_fit.theta[lay1.shift(0)]))
    problem = JointProblem(model, ys, sigmas, temporal, settings, lam, mean_fit.amplitudes, priors)
    jl = problem.layout
    theta0 = np.zeros(jl.size)
    theta0[: jl.n_single] = mean_fit.theta
    lb = problem.lower_bounds(theta0)
    theta0 = np.maximum(theta0, lb + 1e-3)
    res = least_squares(
        problem.fun,
        theta0,
        jac=problem.jac,
        bounds=(lb, np.full_like(lb, np.inf)),
        method="trf",
        x_scale="jac",
        max_nfev=settings["max_iterations"],
        ftol=1e-10,
        xtol=1e-10,
        gtol=1e-10,
    )
    theta = res.x
    _, blocks, _, gamma, _ = problem.evaluate(theta)
    b = problem.baseline_coefs(blocks, gamma)
    return _assemble(problem, settings, theta, gamma, b, blocks, noise, res, mean_fit, envelopes)


def _fisher(problem: JointProblem, theta, blocks, gamma, models, jacobians: list | None = None):
    """Data and prior Fisher information of (theta, gamma, b), (P, P) each; `models`: each
    block's fitted model (metabolites + baseline, (n_fit,)), whose rotation is the derivative
    by the block's phase phi_j; each block's whitened Jacobian (2 n_fit, P) is appended to
    `jacobians` when given."""
    jl, model = problem.layout, problem.model
    nt, nl, nb = jl.size, problem.n_lin, problem.penalty.shape[1]
    data = np.zeros((nt + nl + nb, nt + nl + nb))
    for j, (th, cols, phase) in enumerate(blocks):
        theta_rows = problem.block_theta_rows(j, (th, cols, phase), gamma, 1j * models[j])
        base = np.zeros((2 * model.n_fit, nb))
        g = problem.group_of[j]
        base[:, g * problem.nb2 : (g + 1) * problem.nb2] = problem.base
        jac = np.hstack(
            [theta_rows,
             (np.hstack([stack(phase[:, None] * cols) @ problem.maps[j], base])
              / problem.sigmas[j])]
        )  # fmt: skip
        data += jac.T @ jac
        if jacobians is not None:
            jacobians.append(jac)
    data /= model.zero_fill
    prior = np.zeros_like(data)
    pj = problem.priors.jacobian
    prior[:nt, :nt] = pj.T @ pj
    if problem.link.shape[0]:
        prior[nt : nt + nl, nt : nt + nl] = problem.link.T @ problem.link
    if problem.penalty.shape[0]:
        prior[nt + nl :, nt + nl :] = problem.penalty.T @ problem.penalty
    return data, prior


def _assemble(
    problem, settings, theta, gamma, b, blocks, noise, res, mean_fit, envelopes
) -> DynamicResult:
    model, fb, jl = problem.model, problem.model.fb, problem.layout
    n_fit, n_blocks = model.n_fit, problem.n_blocks
    baselines = [problem.block_baseline(b, j) for j in range(n_blocks)]
    metabs, rss = [], np.zeros(n_blocks)
    for j, (_, cols, phase) in enumerate(blocks):
        metab = phase * cmatvec(cols, problem.maps[j] @ gamma)
        metabs.append(metab)
        rss[j] = float(np.sum(stack(problem.y_rot[j] - metab - baselines[j]) ** 2))
    broadened = any(e is not None and np.any(np.asarray(e) != 1.0) for e in envelopes)
    jacobians: list[np.ndarray] | None = [] if broadened and settings["crlb"] else None
    models = [m + bl for m, bl in zip(metabs, baselines, strict=True)]
    data_info, prior_info = _fisher(problem, theta, blocks, gamma, models, jacobians)
    edf = float(np.trace(invert(data_info + prior_info) @ data_info))
    chi2 = float(np.sum(rss / problem.sigmas**2))
    dof = max(problem.n_data - model.zero_fill * edf, 1.0)
    all_region = all(src == "region" for _, src in noise)
    scale2 = 1.0 if settings["crlb_noise"] == "region" and all_region else chi2 / dof
    nt, nl = jl.size, problem.n_lin
    shaped = None
    if settings["crlb"]:
        cov_all = invert(data_info / scale2 + prior_info)
        cov_gamma = cov_all[nt : nt + nl, nt : nt + nl]
        if jacobians is not None:
            shaped = score_covariances(jacobians, model, envelopes)
            to_gamma = invert(data_info * model.zero_fill + prior_info)[:, nt : nt + nl]
    else:
        cov_gamma = np.full((nl, nl), np.nan)
    cov_white = cov_gamma
    if shaped is not None:  # the coefficients' own factors, for the response's contrasts
        r = sandwich_factors(to_gamma, *shaped)
        cov_gamma = cov_gamma * np.outer(r, r)
    names = list(fb.names)
    sum_w = _component_sets(names, settings["sums"])
    design, diff2, lam = problem.design, problem.diff2, problem.lam
    width = settings["ppm_range"][1] - settings["ppm_range"][0]
    ed = baseline_effective_dimension(design, diff2, lam)
    fits = []
    lay1 = model.layout
    for j, (th, cols, phase) in enumerate(blocks):
        t = problem.maps[j]
        c = t @ gamma
        cov = t @ cov_white @ t.T
        if shaped is not None:  # linewidth-matched blocks (`crlb.shaped_noise_factors`)
            r = sandwich_factors(to_gamma @ t.T, *shaped)
            cov = cov * np.outer(r, r)
        sums = {n: linear_estimate(c, cov, w) for n, w in sum_w.items()}
        ratios = {}
        for rname, (num, den) in settings["ratios"].items():
            wn, wd = _weights(num, names, sum_w), _weights(den, names, sum_w)
            if wn is not None and wd is not None:
                ratios[rname] = ratio_estimate(c, cov, wn, wd)
        params = {"phase0_deg": float(np.rad2deg(th[0] + problem.phases[j]))}
        params["phase1_deg_per_ppm"] = float(np.rad2deg(th[1])) if lay1.fit_phase1 else 0.0
        for g, gname in enumerate(fb.groups):
            params[f"shift_hz_{gname}"] = float(th[lay1.shift(g)])
            params[f"lorentz_hz_{gname}"] = float(th[lay1.lorentz(g)])
            params[f"gauss_hz_{gname}"] = float(th[lay1.gauss(g)])
        sigma, src = noise[j]
        snr, fwhm = _qc_measures(model, th, c, sigma)
        unphase = phase.conj()
        fits.append(
            (
                j,
                FitResult(
                    names=names,
                    kinds=list(fb.kinds),
                    amplitudes=c,
                    amplitude_sd=np.sqrt(np.clip(np.diag(cov), 0.0, None)),
                    covariance=cov,
                    sums=sums,
                    ratios=ratios,
                    params=params,
                    converged=bool(res.status > 0),
                    iterations=int(res.nfev),
                    message=str(res.message),
                    noise_sd=float(sigma),
                    noise_source=src,
                    residual_sd=float(np.sqrt(rss[j] / (2 * n_fit))),
                    crlb_noise_sd=float(sigma * np.sqrt(scale2)),
                    effective_dof=edf / n_blocks,
                    snr=snr,
                    fwhm_hz=fwhm,
                    ppm=model.ppm.copy(),
                    data=problem.y_rot[j] * unphase,
                    fit=(metabs[j] + baselines[j]) * unphase,
                    baseline=baselines[j] * unphase,
                    components=cols * c[None, :],
                    theta=th.copy(),
                    baseline_penalty=float(lam) if settings["baseline"] == "spline" else np.nan,
                    baseline_ed=ed,
                    baseline_ed_per_ppm=ed / width,
                    session_baseline_penalty=mean_fit.baseline_penalty,
                    session_baseline_ed_per_ppm=mean_fit.baseline_ed_per_ppm,
                    fit_range_ppm=mean_fit.fit_range_ppm,
                ),
            )
        )
    met_names = [names[i] for i in problem.met]
    coef_names = [f"{m}:{col}" for col in problem.temporal.names for m in met_names]
    coef_names += [f"{names[i]}:block{j}" for j in range(n_blocks) for i in problem.per_block]
    coef_names += [names[i] for i in problem.shared]
    return DynamicResult(
        fits=fits,
        temporal=problem.temporal,
        names=names,
        coef_names=coef_names,
        gamma=gamma.copy(),
        cov_gamma=cov_gamma,
        maps=problem.maps,
        theta=theta.copy(),
        converged=bool(res.status > 0),
        iterations=int(res.nfev) + int(mean_fit.iterations),
        chi2_per_dof=float(chi2 / dof),
    )
