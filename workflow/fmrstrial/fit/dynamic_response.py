"""Per-session response estimates of the dynamic fit: response.tsv and its JSON sidecar.

Quantities: the configured sums and ratios and the components named in the ratios (e.g.
Glx, tNAA, Glx/tNAA, Glu). Terms:
- contrasts of the per-block values (`dynamic_design.block_contrasts`), e.g.
  'infusion-baseline' = mean of the infusion blocks minus mean of the baseline blocks;
- for dynamic_model 'glm', every coefficient of the design ('coef:<column>') of the
  components and sums (ratios are not linear in the coefficients and get contrasts only).
Each with its SE from the joint covariance of the linear coefficients (delta method for
ratios, which are non-linear in the amplitudes) and the relative change in % of the baseline
level (the contrast's reference blocks, or the GLM intercept) with its delta-method SE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .core import _component_sets, _weights
from .dynamic import DynamicResult
from .dynamic_design import block_contrasts

RESPONSE_COLUMNS = {
    "quantity": {"Description": "Component, sum (e.g. Glx) or ratio (e.g. Glx/tNAA)."},
    "term": {
        "Description": "'infusion-baseline': mean of the infusion blocks minus mean of the "
        "baseline blocks; 'block<j>-baseline' (or 'block<j>-block0' without a block table): "
        "one block minus the baseline; 'coef:<column>': GLM coefficient of a design column "
        "(dynamic_model 'glm'); blocks numbered from 0 along DIM_DYN."
    },
    "estimate": {"Description": "Estimate from the joint fit.", "Units": "basis units or 1"},
    "se": {
        "Description": "Standard error from the joint Fisher information (Cramér-Rao bound, "
        "delta method with the full covariance for ratios and relative changes).",
        "Units": "as estimate",
    },
    "relative_pct": {
        "Description": "estimate as a percentage of the baseline level (reference blocks of "
        "the contrast, or the GLM intercept); n/a without one.",
        "Units": "%",
    },
    "relative_se_pct": {"Description": "SE of relative_pct (delta method).", "Units": "%"},
}


def block_values(dyn: DynamicResult, settings: dict, quantity: str):
    """Per-block values (J,) and their gradients (J, n_lin) with respect to the linear
    coefficients of a component, sum or ratio; None if it cannot be formed."""
    names = dyn.names
    sums = _component_sets(names, settings["sums"])
    if quantity in settings["ratios"]:
        num, den = settings["ratios"][quantity]
        wn, wd = _weights(num, names, sums), _weights(den, names, sums)
        if wn is None or wd is None:
            return None
        vals, grads = [], []
        for t in dyn.maps:
            c = t @ dyn.gamma
            n, d = float(wn @ c), float(wd @ c)
            if d == 0:
                return None
            vals.append(n / d)
            grads.append(t.T @ (wn / d - n * wd / d**2))
        return np.array(vals), np.array(grads)
    w = _weights(quantity, names, sums)
    if w is None:
        return None
    return (
        np.array([float(w @ (t @ dyn.gamma)) for t in dyn.maps]),
        np.array([t.T @ w for t in dyn.maps]),
    )


def _se(grad: np.ndarray, cov: np.ndarray) -> float:
    return float(np.sqrt(max(grad @ cov @ grad, 0.0)))


def _relative(a, ga, b, gb, cov) -> tuple[float, float]:
    """100 a / b and its delta-method SE."""
    if b == 0 or not np.isfinite(b):
        return float("nan"), float("nan")
    return 100.0 * a / b, 100.0 * _se(ga / b - a * gb / b**2, cov)


def quantities(settings: dict) -> list[str]:
    """Reported quantities: the components named in the ratios, the sums, the ratios."""
    comps = [x for pair in settings["ratios"].values() for x in pair if x not in settings["sums"]]
    return list(dict.fromkeys(comps + list(settings["sums"]) + list(settings["ratios"])))


def response_table(
    dyn: DynamicResult, settings: dict, phases: list[str] | None = None
) -> pd.DataFrame:
    """Rows quantity, term, estimate, se, relative_pct, relative_se_pct (see module doc);
    `phases`: one per fitted block of `dyn`."""
    cov = dyn.cov_gamma
    contrasts = block_contrasts(phases, dyn.temporal.n_blocks, [j for j, _ in dyn.fits])
    rows = []
    tm = dyn.temporal
    intercept = [p for p, n in enumerate(tm.names) if np.all(tm.matrix[:, p] == 1.0)]
    for q in quantities(settings):
        got = block_values(dyn, settings, q)
        if got is None:
            continue
        vals, grads = got
        for name, (w, ref) in contrasts.items():
            a, ga = float(w @ vals), w @ grads
            b, gb = float(ref @ vals), ref @ grads
            rows.append((q, name, a, _se(ga, cov), *_relative(a, ga, b, gb, cov)))
        if tm.kind != "glm" or q in settings["ratios"]:
            continue
        coef_w = _coefficient_weights(dyn, settings, q)
        if coef_w is None:
            continue
        for p, col in enumerate(tm.names):
            a, ga = float(coef_w[p] @ dyn.gamma), coef_w[p]
            rel = (float("nan"), float("nan"))
            if intercept and p != intercept[0]:
                gb = coef_w[intercept[0]]
                rel = _relative(a, ga, float(gb @ dyn.gamma), gb, cov)
            rows.append((q, f"coef:{col}", a, _se(ga, cov), *rel))
    return pd.DataFrame(rows, columns=list(RESPONSE_COLUMNS))


def _coefficient_weights(dyn: DynamicResult, settings: dict, quantity: str):
    """Weights (p, n_lin) picking the GLM coefficients of a metabolite or sum of metabolites;
    None for a quantity with shared (MM/lipid) members."""
    sums = _component_sets(dyn.names, settings["sums"])
    w = _weights(quantity, dyn.names, sums)
    out = np.zeros((len(dyn.temporal.names), dyn.gamma.size))
    for k in np.flatnonzero(w):
        for p, col in enumerate(dyn.temporal.names):
            key = f"{dyn.names[k]}:{col}"
            if key not in dyn.coef_names:
                return None
            out[p, dyn.coef_names.index(key)] = w[k]
    return out
