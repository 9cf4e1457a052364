"""Power by simulation of the analysed table, analysed with the findings' LMM and F test.

Each replicate is one planned trial: y = X beta + u_participant + e with
u ~ N(0, participant_sd^2) and e ~ N(0, row_sd^2) (Glx: row_sd for the scenario's block
length, see :meth:`PowerParams.row_sd`). Missing data: each participant misses the whole
period-2 session with probability ``dropout``; each Glx block is excluded (QC) with
probability ``block_exclusion``. Every replicate is analysed by REML with the type III
Satterthwaite F test of the term (:mod:`.fastlmm`, identical to :func:`fmrstrial.lmm.fit_lmm`).
Replicates whose design is not estimable (rank-deficient after the missing data) count as
failed analyses and as non-rejections. Random draws come from a generator seeded by
(seed, test, scenario, N, chunk), so a result does not depend on the rest of the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .design import Template
from .fastlmm import f_tests, fit_replicates, grouped_stats
from .params import PowerParams

CHUNK = 500
TEST_CODES = {"glx": 1, "madrs": 2}


@dataclass
class SimResult:
    """Rejections of ``n_sim`` simulated trials; den_df/F over the analysed replicates."""

    n_sim: int
    n_failed: int
    rejections: int
    den_df_median: float
    F_mean: float

    @property
    def power(self) -> float:
        return self.rejections / self.n_sim

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        return clopper_pearson(self.rejections, self.n_sim, level)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) binomial confidence interval of k successes in n."""
    a = 1.0 - level
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def true_beta(params: PowerParams, template: Template) -> np.ndarray:
    """(p,) true fixed effects in the template's coefficient order (absent names: 0)."""
    unknown = [n for n in params.fixed if n not in template.x_names]
    if unknown:
        raise ValueError(
            f"fixed effect(s) {', '.join(unknown)} are not coefficients of the planned design "
            f"({', '.join(template.x_names)})"
        )
    return np.array([params.fixed.get(n, 0.0) for n in template.x_names])


def seed_for(seed: int, template: Template, chunk: int) -> np.random.SeedSequence:
    sc = template.scenario
    key = [
        seed,
        TEST_CODES[sc.test],
        sc.baseline_blocks,
        sc.infusion_blocks,
        int(round(sc.block_min * 1000)),
        template.n_participants,
        chunk,
    ]
    return np.random.SeedSequence(key)


def draw(
    params: PowerParams,
    template: Template,
    n: int,
    rng: np.random.Generator,
    dropout: float = 0.0,
    block_exclusion: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Y (n, N, m) and the kept-row mask (n, N, m) of n simulated trials."""
    N, m = template.n_participants, template.rows_per_participant
    mean = template.X @ true_beta(params, template)  # (N, m)
    sd = params.row_sd(template.scenario.block_min)
    u = rng.normal(0.0, params.participant_sd, (n, N, 1))
    e = rng.normal(0.0, sd, (n, N, m))
    Y = mean[None] + u + e
    mask = np.ones((n, N, m), dtype=bool)
    if dropout > 0:
        gone = rng.random((n, N)) < dropout
        mask &= ~(gone[:, :, None] & (template.period == 2)[None, None, :])
    if block_exclusion > 0 and template.scenario.test == "glx":
        mask &= rng.random((n, N, m)) >= block_exclusion
    return Y, mask


def estimable(template: Template, st) -> np.ndarray:
    """(R,) True where the masked design has full column rank and residual df > 0."""
    p = template.X.shape[2]
    scale = np.sqrt(np.maximum(np.einsum("rii->ri", st.xtx), 1e-300))
    xs = st.xtx / scale[:, :, None] / scale[:, None, :]
    ev = np.linalg.eigvalsh(xs)
    return (ev[:, 0] > 1e-10 * ev[:, -1]) & (st.n > p) & (np.sum(st.n_i > 0, axis=1) >= 2)


def analyse(template: Template, Y: np.ndarray, mask: np.ndarray, alpha: float, beta0=None):
    """Type III Satterthwaite F test of every replicate: dict of (R,) arrays and ``ok``.

    ``beta0`` (p,), when given, is subtracted before fitting and added back (REML is
    equivariant: the variance estimates are unchanged and beta_hat shifts by beta0; this
    only keeps the sums of squares well conditioned).
    """
    X = template.X
    if beta0 is not None:
        Y = Y - (X @ beta0)[None]
    st = grouped_stats(X, Y, mask)
    ok = estimable(template, st)
    R = len(ok)
    out = {k: np.full(R, np.nan) for k in ("F", "num_df", "den_df", "p")}
    if ok.any():
        sub = type(st)(**{k: v[ok] for k, v in vars(st).items()})
        fits = fit_replicates(sub)
        if beta0 is not None:
            fits.beta = fits.beta + beta0[None]
        res = f_tests(fits, template.L)
        for k in out:
            out[k][ok] = res[k]
    out["ok"] = ok
    out["reject"] = ok & (out["p"] < alpha)
    return out


def simulate_power(
    params: PowerParams,
    template: Template,
    n_sim: int,
    seed: int,
    alpha: float = 0.05,
    dropout: float = 0.0,
    block_exclusion: float = 0.0,
) -> SimResult:
    """Rejection rate of the term's F test over ``n_sim`` simulated trials."""
    beta = true_beta(params, template)
    rejections, failed, dfs, Fs = 0, 0, [], []
    for chunk, start in enumerate(range(0, n_sim, CHUNK)):
        n = min(CHUNK, n_sim - start)
        rng = np.random.default_rng(seed_for(seed, template, chunk))
        Y, mask = draw(params, template, n, rng, dropout, block_exclusion)
        res = analyse(template, Y, mask, alpha, beta0=beta)
        rejections += int(res["reject"].sum())
        failed += int((~res["ok"]).sum())
        dfs.append(res["den_df"][res["ok"]])
        Fs.append(res["F"][res["ok"]])
    dfs, Fs = np.concatenate(dfs), np.concatenate(Fs)
    return SimResult(
        n_sim=n_sim,
        n_failed=failed,
        rejections=rejections,
        den_df_median=float(np.median(dfs)) if len(dfs) else float("nan"),
        F_mean=float(np.mean(Fs)) if len(Fs) else float("nan"),
    )
