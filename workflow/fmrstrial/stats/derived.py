"""Findings without a model formula: MADRS attenuation and the Glx-MADRS association.

Both use participant-level percentile bootstrap CIs (participants resampled with
replacement; `n` resamples from a generator seeded from config).

Attenuation (%) = 100 x (1 - mean change_naltrexone / mean change_placebo), change = day-1
minus pre-infusion MADRS, over participants with both timepoints in both conditions.
Association: per participant, the Glx response (mean Glx/tNAA of infusion blocks minus mean
of baseline blocks) and the MADRS response (% change pre -> day 1), both in the configured
condition (placebo by default: the ketamine response); Pearson r and Spearman rho.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps


def madrs_changes(frame: pd.DataFrame, column: str = "score") -> pd.DataFrame:
    """Participants x condition table of day-1 minus pre (complete participants only)."""
    wide = frame.pivot_table(
        index=["participant_id", "condition"], columns="timepoint", values=column, aggfunc="first"
    )
    change = (wide["day1"] - wide["pre"]).unstack("condition")
    return change.dropna()


def attenuation_pct(change: pd.DataFrame) -> float:
    return float(100.0 * (1.0 - change["naltrexone"].mean() / change["placebo"].mean()))


def bootstrap(values: pd.DataFrame, statistic, n: int, seed: int) -> tuple[float, float]:
    """Percentile 95 % CI of statistic(rows resampled with replacement)."""
    rng = np.random.default_rng(seed)
    k = len(values)
    draws = np.empty(n)
    for b in range(n):
        draws[b] = statistic(values.iloc[rng.integers(0, k, k)])
    draws = draws[np.isfinite(draws)]
    return float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975))


def attenuation_finding(frame: pd.DataFrame, spec: dict, boot: dict) -> dict:
    """The madrs_attenuation_pct finding (truth from expected_score when present)."""
    change = madrs_changes(frame)
    lo, hi = bootstrap(change, attenuation_pct, boot["n"], boot["seed"])
    truth = np.nan
    if "expected_score" in frame.columns and frame["expected_score"].notna().all():
        truth = attenuation_pct(madrs_changes(frame, "expected_score"))
    return {
        "finding_id": spec["finding_id"],
        "outcome": f"{spec['scale']}_{spec['subscale']}",
        "term": "100*(1-change_naltrexone/change_placebo)",
        "statistic": f"bootstrap (n={boot['n']})",
        "value": np.nan,
        "num_df": np.nan,
        "den_df": np.nan,
        "p_value": np.nan,
        "estimate": attenuation_pct(change),
        "se": np.nan,
        "ci_low": lo,
        "ci_high": hi,
        "published": spec["published"],
        "truth": truth,
        "model": "attenuation",
        "n_obs": 4 * len(change),
        "n_participants": len(change),
        "converged": True,
    }


def session_changes(glx: pd.DataFrame, column: str = "glx_tnaa") -> pd.Series:
    """Per session, indexed by (participant_id, session_id): mean of `column` over the
    infusion blocks minus its mean over the baseline blocks (NaN without either phase)."""
    means = glx.pivot_table(
        index=["participant_id", "session_id"], columns="phase", values=column, aggfunc="mean"
    ).reindex(columns=["baseline", "infusion"])
    return means["infusion"] - means["baseline"]


def glx_response(glx: pd.DataFrame, condition: str, column: str = "glx_tnaa") -> pd.Series:
    """Per participant: mean infusion minus mean baseline of `column` in `condition`."""
    change = session_changes(glx[glx["condition"] == condition], column)
    return change.droplevel("session_id").rename("glx_response")


def madrs_response(clinical: pd.DataFrame, condition: str) -> pd.Series:
    """Per participant: % change of MADRS from pre to day 1 in `condition`."""
    c = clinical[clinical["condition"] == condition]
    wide = c.pivot_table(
        index="participant_id", columns="timepoint", values="score", aggfunc="first"
    )
    return (100.0 * (wide["day1"] - wide["pre"]) / wide["pre"]).rename("madrs_response")


def _pearson(df: pd.DataFrame) -> float:
    return float(np.corrcoef(df.iloc[:, 0], df.iloc[:, 1])[0, 1])


def _spearman(df: pd.DataFrame) -> float:
    return float(sps.spearmanr(df.iloc[:, 0], df.iloc[:, 1]).statistic)


def association_findings(
    glx: pd.DataFrame, clinical: pd.DataFrame, spec: dict, boot: dict, truth: pd.DataFrame | None
) -> list[dict]:
    """Pearson and Spearman rows of the glx_madrs_association finding.

    truth: noise-free per-participant responses (glx_response, madrs_response) or None.
    """
    cond = spec["condition"]
    pairs = pd.concat([glx_response(glx, cond), madrs_response(clinical, cond)], axis=1).dropna()
    rows = []
    for name, fn, test in (
        ("pearson_r", _pearson, sps.pearsonr),
        ("spearman_rho", _spearman, sps.spearmanr),
    ):
        lo, hi = bootstrap(pairs, fn, boot["n"], boot["seed"])
        res = test(pairs.iloc[:, 0], pairs.iloc[:, 1])
        true = np.nan if truth is None or len(truth) < 3 else fn(truth)
        rows.append(
            {
                "finding_id": spec["finding_id"],
                "outcome": "glx_response~madrs_pct_change",
                "term": f"{name} ({cond})",
                "statistic": name,
                "value": float(res.statistic),
                "num_df": np.nan,
                "den_df": float(len(pairs) - 2),
                "p_value": float(res.pvalue),
                "estimate": fn(pairs),
                "se": np.nan,
                "ci_low": lo,
                "ci_high": hi,
                "published": spec["published"],
                "truth": true,
                "model": "association",
                "n_obs": len(pairs),
                "n_participants": len(pairs),
                "converged": True,
            }
        )
    return rows
