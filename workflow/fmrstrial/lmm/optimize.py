"""Find the REML estimate: statsmodels MixedLM optimisers, checked and refined analytically.

Sequence (documented in :data:`OPTIMIZERS`): each statsmodels method is run on its own (a
statsmodels method list only moves on when a method reports failure, and e.g. Powell reports
success early on random-slope models). After each run the solution is refined by at most
:data:`MAX_NEWTON` Newton steps on the exact REML deviance in psi = (theta, sigma) with step
halving, and is accepted once the Newton decrement g' H^+ g (expected deviance decrease x 2)
is below :data:`DECREMENT_TOL`. The first accepted attempt wins; if none is accepted the one
with the lowest deviance is returned with ``converged = False``. Every attempt is recorded.

A fit is flagged singular, as lme4's ``isSingular`` does, when a diagonal entry of the relative
Cholesky factor Lambda (G = sigma^2 Lambda Lambda') is below :data:`SINGULAR_TOL`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import statsmodels.api as sm
from statsmodels.regression.mixed_linear_model import VCSpec

from .reml import REMLProblem, REMLState, n_vech, psi_from_phi, to_psi, unvech, vech, vech_index

#: statsmodels ``MixedLM.fit`` methods tried in this order, each from statsmodels' start values.
OPTIMIZERS: tuple[str, ...] = ("lbfgs", "bfgs", "powell", "nm", "cg")
#: Newton decrement (deviance units) below which a solution counts as converged.
DECREMENT_TOL = 1e-10
#: Newton refinement steps after each statsmodels run.
MAX_NEWTON = 20
#: lme4's default tolerance for singular fits (on the diagonal of Lambda).
SINGULAR_TOL = 1e-4
#: Eigenvalue tolerance for the pseudo-inverse of the Hessian (as lmerTest).
EIGEN_TOL = 1e-8


class FitError(RuntimeError):
    """No optimiser produced a usable REML estimate."""


@dataclass
class Attempt:
    """One statsmodels run and its refinement."""

    method: str
    statsmodels_converged: bool
    reml_loglik_statsmodels: float | None
    newton_steps: int = 0
    reml_loglik: float | None = None
    newton_decrement: float | None = None
    accepted: bool = False
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "statsmodels_converged": self.statsmodels_converged,
            "reml_loglik_statsmodels": self.reml_loglik_statsmodels,
            "newton_steps": self.newton_steps,
            "reml_loglik": self.reml_loglik,
            "newton_decrement": self.newton_decrement,
            "accepted": self.accepted,
            "messages": self.messages,
        }


@dataclass
class FitOutcome:
    """The chosen REML estimate and how it was reached."""

    state: REMLState
    converged: bool
    singular: bool
    optimizer: str
    attempts: list[Attempt]
    hessian_eigenvalues: np.ndarray
    sequence: tuple[str, ...] = OPTIMIZERS


def phi_from_psi(psi: np.ndarray, q: int) -> np.ndarray:
    """phi = (vech(sigma^2 Lambda Lambda'), sigma^2 theta_j^2, sigma^2) from
    psi = (vech(Lambda), theta_j, sigma)."""
    v = n_vech(q)
    lam = unvech(psi[:v], q, symmetric=False)
    s2 = psi[-1] ** 2
    return np.concatenate([vech(s2 * lam @ lam.T), s2 * psi[v:-1] ** 2, [s2]])


def _normalise_psi(psi: np.ndarray, q: int) -> np.ndarray:
    """Flip signs in Lambda (columns), the nested thetas and sigma so that they are >= 0;
    the covariance is unchanged."""
    v = n_vech(q)
    lam = unvech(psi[:v], q, symmetric=False)
    lam = lam * np.where(np.diag(lam) < 0, -1.0, 1.0)[None, :]
    return np.concatenate([vech(lam), np.abs(psi[v:])])


def newton_decrement(grad: np.ndarray, hess: np.ndarray) -> tuple[float, np.ndarray]:
    """g' H^+ g over the positive eigen-directions of H, and the Newton step -H^+ g."""
    evals, evecs = np.linalg.eigh(hess)
    pos = evals > EIGEN_TOL
    coef = (evecs[:, pos].T @ grad) / evals[pos]
    step = -evecs[:, pos] @ coef
    return float(grad @ -step), step


def _refine(prob: REMLProblem, state: REMLState, attempt: Attempt) -> REMLState:
    """Newton steps in psi with step halving; stops when the decrement is small."""
    q = prob.q
    # restart from a PSD G with diag(Lambda) >= 0 and non-negative nested variances
    state = prob.evaluate(phi_from_psi(psi_from_phi(state.phi, q), q))
    for _ in range(MAX_NEWTON):
        der = to_psi(state, q)
        dec, step = newton_decrement(der.grad, der.hess)
        attempt.newton_decrement = dec
        if dec < DECREMENT_TOL or np.min(np.linalg.eigvalsh(der.hess)) < -EIGEN_TOL:
            break
        t = 1.0
        while t > 1e-4:
            psi_new = _normalise_psi(der.psi + t * step, q)
            try:
                trial = prob.evaluate(phi_from_psi(psi_new, q))
            except np.linalg.LinAlgError:
                trial = None
            if trial is not None and trial.deviance <= state.deviance + 1e-12:
                break
            t /= 2
        else:
            break
        state = trial
        attempt.newton_steps += 1
    der = to_psi(state, q)
    attempt.newton_decrement = newton_decrement(der.grad, der.hess)[0]
    attempt.reml_loglik = -state.deviance / 2
    return state


def _variance_components(groups: np.ndarray, nested: list[np.ndarray]) -> VCSpec | None:
    """statsmodels' ``exog_vc``: per nested term and group (sorted codes, statsmodels'
    order), the (n_g, levels in g) indicators of that term's levels."""
    if not nested:
        return None
    labels = np.unique(groups)
    mats, colnames = [], []
    for codes in nested:
        per_group = [codes[groups == g] for g in labels]
        mats.append([(c[:, None] == np.unique(c)[None, :]).astype(float) for c in per_group])
        colnames.append([[str(level) for level in np.unique(c)] for c in per_group])
    return VCSpec([f"nested{j:03d}" for j in range(len(nested))], colnames, mats)


def _statsmodels_fit(prob_data, method: str):
    """One statsmodels REML fit: (result, messages, start phi)."""
    y, X, Z, groups, nested = prob_data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.MixedLM(
            y, X, groups=groups, exog_re=Z, exog_vc=_variance_components(groups, nested)
        )
        res = model.fit(reml=True, method=method)
    messages = sorted({str(w.message).splitlines()[0] for w in caught})
    G = np.atleast_2d(np.asarray(res.cov_re, dtype=float))
    taus = np.asarray(res.vcomp, dtype=float) if nested else np.zeros(0)
    phi = np.concatenate([vech(G), taus, [float(res.scale)]])
    return res, messages, phi


def is_singular(state: REMLState, q: int) -> bool:
    """lme4's rule: a diagonal entry of Lambda, or a nested theta, below :data:`SINGULAR_TOL`."""
    psi = psi_from_phi(state.phi, q)
    diagonal = [psi[k] for k, (i, j) in enumerate(vech_index(q)) if i == j]
    return bool(min(diagonal + list(psi[n_vech(q) : -1])) < SINGULAR_TOL)


def fit_reml(
    y: np.ndarray,
    X: np.ndarray,
    Z: np.ndarray,
    groups: np.ndarray,
    optimizers: tuple[str, ...] = OPTIMIZERS,
    nested: list[np.ndarray] | tuple = (),
) -> FitOutcome:
    """Run the optimiser sequence and return the REML estimate with its diagnostics.

    ``nested``: (n,) codes of each further random intercept (levels nested in ``groups``)."""
    nested = list(nested)
    prob = REMLProblem(y, X, Z, groups, nested)
    attempts: list[Attempt] = []
    best: tuple[float, REMLState, Attempt] | None = None
    for method in optimizers:
        try:
            res, messages, phi = _statsmodels_fit((y, X, Z, groups, nested), method)
            state = prob.evaluate(phi)
        except (np.linalg.LinAlgError, ValueError) as exc:
            attempts.append(Attempt(method, False, None, messages=[f"failed: {exc}"]))
            continue
        attempt = Attempt(method, bool(res.converged), -state.deviance / 2, messages=messages)
        attempts.append(attempt)
        state = _refine(prob, state, attempt)
        if best is None or state.deviance < best[0]:
            best = (state.deviance, state, attempt)
        minimum = np.min(np.linalg.eigvalsh(to_psi(state, prob.q).hess)) > -EIGEN_TOL
        if minimum and attempt.newton_decrement < DECREMENT_TOL:
            attempt.accepted = True
            best = (state.deviance, state, attempt)
            break
    if best is None:
        details = "; ".join(f"{a.method}: {' '.join(a.messages)}" for a in attempts)
        raise FitError(f"every optimiser failed ({details})")
    _, state, chosen = best
    der = to_psi(state, prob.q)
    return FitOutcome(
        state=state,
        converged=chosen.accepted,
        singular=is_singular(state, prob.q),
        optimizer=chosen.method,
        attempts=attempts,
        hessian_eigenvalues=np.linalg.eigvalsh(der.hess),
        sequence=tuple(optimizers),
    )
