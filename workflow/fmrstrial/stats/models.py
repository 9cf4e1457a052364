"""Fit one analysis model and turn it into a finding.

The finding of a model is the type III F test of its `term` (Satterthwaite, or Kenward-Roger
with ddf: kenward_roger) and, for a one-column term, that coefficient with its 95 % CI. The
true value on simulated data is the same coefficient estimated by ordinary least squares from
the noise-free population values (`expected_<response>`) at exactly the analysed rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..clinical.rubin import rubin_pool
from ..errors import InputError
from ..lmm import fit_lmm, parse_formula
from ..lmm.design import build_design
from ..lmm.optimize import SINGULAR_TOL
from .settings import FACTOR_LEVELS


def factors_for(formula: str, frame: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Factor levels in reference-first order (restricted to the levels present in frame)."""
    variables = parse_formula(formula).variables
    out = {}
    for v in variables:
        if v in FACTOR_LEVELS:
            levels = FACTOR_LEVELS[v]
            if frame is not None and v in frame.columns:
                present = set(frame[v].dropna().astype(str))
                levels = [x for x in levels if x in present]
            out[v] = levels
    return out


def term_coefficient(names: list[str], columns: list[int]) -> str | None:
    """The coefficient name of a one-column term (None for multi-column terms)."""
    return names[columns[0]] if len(columns) == 1 else None


def singular_note(fit) -> str:
    """Which variance a singular (boundary) fit put at ~0, as lme4's isSingular flags it."""
    vc = fit.variance_components
    sigma = float(np.sqrt(fit.sigma2))
    tiny = vc[vc["var2"].isna() & (vc["group"] != "Residual") & (vc["sd"] < SINGULAR_TOL * sigma)]
    what = (
        ", ".join(f"the {g} {v} variance" for g, v in zip(tiny["group"], tiny["var1"], strict=True))
        + " estimated at 0"
        if len(tiny)
        else "a random-effect correlation estimated at +/-1"
    )
    return f"singular (boundary) fit: {what}; inference as lmerTest reports it"


def ols_truth(frame: pd.DataFrame, formula: str, response: str, term: str) -> float | None:
    """Coefficient of `term` fitted by OLS to expected_<response> at the same rows."""
    expected = f"expected_{response}"
    if expected not in frame.columns or frame[expected].isna().all():
        return None
    data = frame.copy()
    data[response] = data[expected]
    complete = frame.dropna(subset=[response])  # the rows the model analysed
    data = data.loc[complete.index]
    design = build_design(data, parse_formula(formula), factors_for(formula, data))
    beta = np.linalg.lstsq(design.X, design.y, rcond=None)[0]
    cols = design.term_columns[term]
    if len(cols) != 1:
        return None
    scale = float(np.max(np.abs(design.y))) or 1.0
    value = float(beta[cols[0]])
    return 0.0 if abs(value) < 1e-10 * scale else value  # exact zero, not rounding noise


def fit_model(model_id: str, spec: dict, frame: pd.DataFrame, kr: bool) -> tuple[dict, dict]:
    """(JSON document, finding row) of one model."""
    formula = spec["formula"]
    fit = fit_lmm(frame, formula, factors=factors_for(formula, frame), kr=kr, source=model_id)
    anova = fit.anova_kr if kr else fit.anova
    row = anova[anova["term"] == spec["term"]]
    if row.empty:
        raise InputError(
            f"model {model_id}: term '{spec['term']}' is not a term of "
            f"{formula} (terms: {', '.join(anova['term'])})",
            file="config stats.models",
        )
    row = row.iloc[0]
    coef = term_coefficient(fit.names, fit.design.term_columns[spec["term"]])
    fixed = fit.fixed_kr if kr else fit.fixed
    truth = ols_truth(frame, formula, spec["response"], spec["term"])
    finding = {
        "finding_id": spec["finding_id"],
        "outcome": outcome_label(spec),
        "term": coef or spec["term"],
        "statistic": "F",
        "value": float(row["F"]),
        "num_df": float(row["num_df"]),
        "den_df": float(row["den_df"]),
        "p_value": float(row["p"]),
        "estimate": float(fixed.loc[coef, "estimate"]) if coef else np.nan,
        "se": float(fixed.loc[coef, "se"]) if coef else np.nan,
        "ci_low": float(fixed.loc[coef, "ci_low"]) if coef else np.nan,
        "ci_high": float(fixed.loc[coef, "ci_high"]) if coef else np.nan,
        "published": spec.get("published", ""),
        "truth": np.nan if truth is None else truth,
        "model": model_id,
        "n_obs": fit.design.n_obs,
        "n_participants": len(fit.design.group_levels),
        "converged": fit.converged,
        "note": singular_note(fit) if fit.singular else np.nan,
    }
    doc = {
        "model": model_id,
        "finding_id": spec["finding_id"],
        "data": spec["data"],
        "formula": formula,
        "term": spec["term"],
        "ddf": "kenward_roger" if kr else "satterthwaite",
        "n_obs": fit.design.n_obs,
        "n_participants": len(fit.design.group_levels),
        "singular": fit.singular,
        "truth": finding["truth"],
        "fit": fit.to_dict(),
    }
    return doc, finding


def fit_pooled(
    model_id: str, spec: dict, frames: list[pd.DataFrame], kr: bool
) -> tuple[dict, dict]:
    """Fit on each imputed data set and pool the term's coefficient by Rubin's rules.

    The pooled test is t = estimate / sqrt(total variance) with Barnard-Rubin df, reported
    as F = t^2 on (1, df).
    """
    docs, ests, variances, dfs = [], [], [], []
    for frame in frames:
        doc, finding = fit_model(model_id, spec, frame, kr)
        ests.append(finding["estimate"])
        variances.append(finding["se"] ** 2)
        dfs.append(finding["den_df"])
        docs.append(doc)
    # complete-data df: the term's denominator df, averaged over the imputed data sets
    est, var, df = rubin_pool(np.array(ests), np.array(variances), df_complete=float(np.mean(dfs)))
    se = float(np.sqrt(var))
    half = sps.t.ppf(0.975, df) * se
    base = dict(finding)
    base.update(
        {
            "value": (est / se) ** 2,
            "num_df": 1.0,
            "den_df": float(df),
            "p_value": float(2 * sps.t.sf(abs(est / se), df)),
            "estimate": float(est),
            "se": se,
            "ci_low": float(est - half),
            "ci_high": float(est + half),
            "statistic": f"F (Rubin, m={len(frames)})",
        }
    )
    doc = {
        "model": model_id,
        "pooled_over_imputations": len(frames),
        "estimate": est,
        "total_variance": var,
        "df": df,
        "per_imputation": docs,
    }
    return doc, base


def outcome_label(spec: dict) -> str:
    if spec["data"].startswith("glx"):
        return spec["response"]
    return f"{spec['scale']}_{spec['subscale']}"


def covers(row: dict) -> bool | None:
    """Whether [ci_low, ci_high] contains the truth (None when there is no truth)."""
    truth, lo, hi = row.get("truth"), row.get("ci_low"), row.get("ci_high")
    if truth is None or lo is None or any(pd.isna(x) for x in (truth, lo, hi)):
        return None
    return bool(lo <= truth <= hi)
