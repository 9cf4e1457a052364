"""The fitted model: tables, arbitrary contrasts and the JSON layout of the R references."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import statsmodels
from scipy import stats

from .. import __version__
from .design import INTERCEPT, Design
from .kenward_roger import KenwardRoger
from .optimize import DECREMENT_TOL, SINGULAR_TOL, FitOutcome, newton_decrement
from .reml import PsiDerivatives, n_vech, unvech, vech_index
from .satterthwaite import Satterthwaite

FIXED_COLUMNS = ["estimate", "se", "df", "t", "p", "ci_low", "ci_high"]
ANOVA_COLUMNS = ["term", "num_df", "den_df", "F", "p", "sum_sq", "mean_sq"]


def _t_row(est: float, se: float, df: float, level: float = 0.95) -> dict[str, float]:
    t = est / se
    half = stats.t.ppf(0.5 + level / 2, df) * se
    p = 2 * stats.t.sf(abs(t), df)
    return {
        "estimate": est,
        "se": se,
        "df": df,
        "t": t,
        "p": p,
        "ci_low": est - half,
        "ci_high": est + half,
    }


def _clean(value):
    """JSON-ready: numpy scalars to Python, NaN/inf to None, recursively."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    return value


@dataclass
class LMMResult:
    """A REML fit with Satterthwaite (and optionally Kenward-Roger) inference.

    Attributes: ``fixed`` (DataFrame indexed by coefficient: estimate, se, df, t, p, ci_low,
    ci_high), ``anova`` (type III F tests: term, num_df, den_df, F, p, sum_sq, mean_sq),
    ``fixed_kr`` / ``anova_kr`` (None unless fitted with ``kr=True``), ``converged``,
    ``singular``, ``optimizer``; :meth:`contrast` for any linear combination of coefficients.
    """

    design: Design
    outcome: FitOutcome
    psi: PsiDerivatives
    satterthwaite: Satterthwaite
    hypotheses: dict[str, np.ndarray]
    kr: bool = False
    source: str | None = None
    extra_warnings: list[str] = field(default_factory=list)
    _kenward_roger: KenwardRoger | None = field(default=None, repr=False)

    # -- basic quantities --------------------------------------------------------------------
    @property
    def converged(self) -> bool:
        return self.outcome.converged

    @property
    def singular(self) -> bool:
        return self.outcome.singular

    @property
    def optimizer(self) -> str:
        return self.outcome.optimizer

    @property
    def names(self) -> list[str]:
        return list(self.design.x_names)

    @property
    def beta(self) -> pd.Series:
        return pd.Series(self.outcome.state.beta, index=self.names)

    @property
    def vcov(self) -> pd.DataFrame:
        """C = (X' V^-1 X)^-1 at the REML estimate, (p, p)."""
        return pd.DataFrame(self.outcome.state.C, index=self.names, columns=self.names)

    @property
    def sigma2(self) -> float:
        return float(self.outcome.state.phi[-1])

    @property
    def cov_re(self) -> pd.DataFrame:
        """Random-effect covariance G, (q, q)."""
        q = len(self.design.z_names)
        G = unvech(self.outcome.state.phi[: n_vech(q)], q)
        return pd.DataFrame(G, index=self.design.z_names, columns=self.design.z_names)

    @property
    def nested_variances(self) -> dict[str, float]:
        """Variance of each nested random intercept, by its grouping ('g:h')."""
        taus = self.outcome.state.phi[n_vech(len(self.design.z_names)) : -1]
        return {p.group: float(t) for p, t in zip(self.design.formula.nested, taus, strict=True)}

    @property
    def reml_loglik(self) -> float:
        return -self.outcome.state.deviance / 2

    @property
    def warnings(self) -> list[str]:
        out = list(self.design.warnings) + list(self.extra_warnings)
        if not self.converged:
            out.append(
                "model failed to converge: no optimiser reached a Newton decrement below "
                f"{DECREMENT_TOL:g} at a local minimum (see convergence.attempts)"
            )
        if self.singular:
            out.append(
                f"boundary (singular) fit: a diagonal of the relative Cholesky factor is below "
                f"{SINGULAR_TOL:g} (variance component ~0 or correlation ~ +/-1)"
            )
        return out

    # -- tables ------------------------------------------------------------------------------
    def _as_vector(self, L) -> np.ndarray:
        if isinstance(L, dict):
            unknown = [k for k in L if k not in self.names]
            if unknown:
                raise KeyError(f"unknown coefficient(s) {unknown}; known: {self.names}")
            return np.array([float(L.get(n, 0.0)) for n in self.names])
        if isinstance(L, pd.Series):
            return self._as_vector(L.to_dict())
        vec = np.asarray(L, dtype=float).reshape(-1)
        if vec.shape != (len(self.names),):
            raise ValueError(f"contrast must have {len(self.names)} entries, got {vec.shape}")
        return vec

    def contrast(self, L, kr: bool = False, level: float = 0.95) -> dict[str, float]:
        """Estimate, se, df, t, p and CI of l'beta (Satterthwaite, or Kenward-Roger if ``kr``).

        ``L``: (p,) array-like or {coefficient name: weight}.
        """
        c = self._as_vector(L)
        if kr:
            est, se, df = self._kr().t_test(c)
        else:
            est, se, df = self.satterthwaite.t_test(c)
        return _t_row(est, se, df, level)

    def ftest(self, L, kr: bool = False) -> dict[str, float]:
        """F test of L beta = 0 for L: (k, p); Satterthwaite or Kenward-Roger (scaled F)."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        res = self._kr().f_test(L) if kr else self.satterthwaite.f_test(L)
        res = dict(res)
        res["p"] = float(stats.f.sf(res["F"], res["num_df"], res["den_df"]))
        return res

    def _kr(self) -> KenwardRoger:
        """Kenward-Roger quantities, computed on first use."""
        if self._kenward_roger is None:
            self._kenward_roger = KenwardRoger.from_state(self.outcome.state)
        return self._kenward_roger

    @cached_property
    def fixed(self) -> pd.DataFrame:
        rows = [self.contrast(np.eye(len(self.names))[j]) for j in range(len(self.names))]
        return pd.DataFrame(rows, index=pd.Index(self.names, name="term"))[FIXED_COLUMNS]

    @cached_property
    def fixed_kr(self) -> pd.DataFrame | None:
        if not self.kr:
            return None
        rows = [self.contrast(np.eye(len(self.names))[j], kr=True) for j in range(len(self.names))]
        return pd.DataFrame(rows, index=pd.Index(self.names, name="term"))[FIXED_COLUMNS]

    def _anova(self, kr: bool) -> pd.DataFrame:
        rows = []
        for term, L in self.hypotheses.items():
            res = self.ftest(L, kr=kr)
            ms = (res["F_unscaled"] if kr else res["F"]) * self.sigma2
            rows.append(
                {
                    "term": term,
                    "num_df": int(res["num_df"]),
                    "den_df": res["den_df"],
                    "F": res["F"],
                    "p": res["p"],
                    "sum_sq": ms * res["num_df"],
                    "mean_sq": ms,
                }
            )
        return pd.DataFrame(rows, columns=ANOVA_COLUMNS)

    @cached_property
    def anova(self) -> pd.DataFrame:
        """Type III F tests with Satterthwaite denominator df."""
        return self._anova(kr=False)

    @cached_property
    def anova_kr(self) -> pd.DataFrame | None:
        """Type III F tests with Kenward-Roger df and scaled F (None unless fitted with kr)."""
        return self._anova(kr=True) if self.kr else None

    @cached_property
    def variance_components(self) -> pd.DataFrame:
        """Per random term (most levels first, as lme4 orders them) one row per variance, then
        the covariances (sd column = correlation); the residual last."""
        G = self.cov_re.to_numpy()
        z, group = self.design.z_names, self.design.formula.random.group
        rows = [
            {
                "group": group,
                "var1": z[i],
                "var2": None,
                "variance": G[i, i],
                "sd": np.sqrt(G[i, i]),
            }
            for i in range(len(z))
        ]
        for i, j in vech_index(len(z)):
            if i != j:
                denom = np.sqrt(G[i, i] * G[j, j])
                rows.append(
                    {
                        "group": group,
                        "var1": z[j],
                        "var2": z[i],
                        "variance": G[i, j],
                        "sd": G[i, j] / denom if denom > 0 else np.nan,
                    }
                )
        # terms in lme4's order: by number of levels, most first (formula order on ties)
        blocks = [(len(self.design.group_levels), rows)]
        for (nested_group, tau), levels in zip(
            self.nested_variances.items(), self.design.nested_levels, strict=True
        ):
            row = {"group": nested_group, "var1": INTERCEPT, "var2": None, "variance": tau}
            blocks.append((len(levels), [{**row, "sd": np.sqrt(tau)}]))
        rows = [r for _, block in sorted(blocks, key=lambda b: -b[0]) for r in block]
        rows.append(
            {
                "group": "Residual",
                "var1": None,
                "var2": None,
                "variance": self.sigma2,
                "sd": np.sqrt(self.sigma2),
            }
        )
        table = pd.DataFrame(rows, dtype=object)  # keeps None in var1 / var2
        return table.astype({"variance": float, "sd": float})

    # -- JSON --------------------------------------------------------------------------------
    def _theta_names(self) -> list[str]:
        z, group = self.design.z_names, self.design.formula.random.group
        names = [
            f"{group}.{z[i]}" if i == j else f"{group}.{z[i]}.{z[j]}" for i, j in vech_index(len(z))
        ]
        return names + [f"{p.group}.{INTERCEPT}" for p in self.design.formula.nested]

    def _meta(self) -> dict:
        d = self.design
        factors = [v.name for v in d.variables.values() if v.kind == "factor"]
        fixed_factors = [
            v
            for v in dict.fromkeys(x for t in d.formula.terms for x in t)
            if d.variables[v].kind == "factor"
        ]
        return {
            "software": {"fmrstrial": __version__, "statsmodels": statsmodels.__version__},
            "data": self.source,
            "formula": d.formula.text,
            "REML": True,
            "n_obs": d.n_obs,
            "n_rows_input": d.n_rows_input,
            "n_groups": {
                d.formula.random.group: len(d.group_levels),
                **{
                    p.group: len(levels)
                    for p, levels in zip(d.formula.nested, d.nested_levels, strict=True)
                },
            },
            "factors": factors,
            "levels": {f: list(d.variables[f].levels) for f in fixed_factors},
            "reference_levels": {f: d.variables[f].levels[0] for f in fixed_factors},
            "contrasts": {f: "contr.treatment" for f in fixed_factors},
            "warnings": self.warnings,
        }

    def _convergence(self) -> dict:
        out = self.outcome
        return {
            "converged": out.converged,
            "singular": out.singular,
            "optimizer": out.optimizer,
            "optimizer_sequence": list(out.sequence),
            "criterion": (
                "each statsmodels MixedLM method in turn, refined by Newton steps on the exact "
                "REML deviance in (theta, sigma); converged when the Newton decrement g'H^+g < "
                f"{DECREMENT_TOL:g} at a local minimum; singular if a diagonal of Lambda < "
                f"{SINGULAR_TOL:g}"
                + (" or a nested intercept's theta is" if self.design.formula.nested else "")
            ),
            "newton_decrement": newton_decrement(self.psi.grad, self.psi.hess)[0],
            "gradient_theta_sigma": self.psi.grad,
            "hessian_eigenvalues": out.hessian_eigenvalues,
            "attempts": [a.to_dict() for a in out.attempts],
        }

    def _fixed_records(self, kr: bool) -> list[dict]:
        table = self.fixed_kr if kr else self.fixed
        se_key = "se_adj" if kr else "se"
        return [
            {
                "term": name,
                "estimate": r.estimate,
                se_key: r.se,
                "df": r.df,
                "t": r.t,
                "p": r.p,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
            }
            for name, r in table.iterrows()
        ]

    @staticmethod
    def _anova_records(table: pd.DataFrame) -> list[dict]:
        keys = ["term", "sum_sq", "mean_sq", "num_df", "den_df", "F", "p"]
        return [{k: row[k] for k in keys} for row in table.to_dict("records")]

    def to_dict(self) -> dict:
        """The layout of the R reference JSONs (plus ``convergence`` and CI columns)."""
        names = self.names
        anova = {"typeIII_satterthwaite": self._anova_records(self.anova)}
        if self.kr:
            anova["typeIII_kenward_roger"] = self._anova_records(self.anova_kr)
        theta_names = self._theta_names()
        varpar_names = theta_names + ["sigma"]
        matrix = lambda M: {"names": names, "matrix": M}  # noqa: E731
        out = {
            "meta": self._meta(),
            "convergence": self._convergence(),
            "fixed_effects_satterthwaite": self._fixed_records(kr=False),
            "fixed_effects_kenward_roger": (self._fixed_records(kr=True) if self.kr else None),
            "anova": anova,
            "type3_hypotheses": {
                term: {"columns": names, "L": L} for term, L in self.hypotheses.items()
            },
            "reml_loglik": self.reml_loglik,
            "reml_criterion": -2 * self.reml_loglik,
            "df_loglik": len(names) + len(theta_names) + 1,
            "variance_components": self.variance_components.to_dict("records"),
            "theta": dict(zip(theta_names, self.psi.psi[:-1], strict=True)),
            "sigma": float(np.sqrt(self.sigma2)),
            "vcov_beta": matrix(self.outcome.state.C),
            "lmertest_internals": {
                "varpar": dict(zip(varpar_names, self.psi.psi, strict=True)),
                "vcov_varpar": {"names": varpar_names, "matrix": self.satterthwaite.vcov_varpar},
                "jacobian_vcov_beta": {
                    n: matrix(self.psi.dC[a]) for a, n in enumerate(varpar_names)
                },
            },
            "emmeans": None,
        }
        return _clean(out)
