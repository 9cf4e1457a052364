"""``fit_lmm``: formula + data frame -> :class:`LMMResult`."""

from __future__ import annotations

import pandas as pd

from .design import Design, build_design
from .formula import parse_formula
from .optimize import OPTIMIZERS, FitOutcome, fit_reml
from .reml import to_psi
from .result import LMMResult
from .satterthwaite import Satterthwaite, pinv_eigen
from .type3 import type3_contrasts


def fit_lmm(
    df: pd.DataFrame,
    formula: str,
    factors: dict[str, list[str] | None] | None = None,
    kr: bool = False,
    ref: dict[str, str] | None = None,
    optimizers: tuple[str, ...] = OPTIMIZERS,
    source: str | None = None,
) -> LMMResult:
    """Fit ``formula`` (e.g. ``"value ~ condition*time + (1|subject)"``) to ``df`` by REML.

    ``factors``: columns to treat as factors; a list gives all levels in order (first =
    reference), None sorts the observed levels (numerically for numeric columns). Non-numeric
    columns are factors anyway. ``ref``: reference level per factor (R's ``relevel``).
    ``kr``: also compute Kenward-Roger tables. ``source``: data file name for the metadata.

    Raises :class:`~fmrstrial.lmm.formula.FormulaError` or
    :class:`~fmrstrial.lmm.design.DesignError` (both ``ValueError``) for bad input.
    """
    parsed = parse_formula(formula)
    design = build_design(df, parsed, factors=factors, ref=ref)
    outcome = fit_reml(
        design.y, design.X, design.Z, design.groups, optimizers=optimizers, nested=design.nested
    )
    return assemble(design, outcome, kr=kr, source=source)


def assemble(
    design: Design, outcome: FitOutcome, kr: bool = False, source: str | None = None
) -> LMMResult:
    """Inference at the variance parameters of ``outcome`` (which need not be optimal)."""
    state = outcome.state
    psi = to_psi(state, design.Z.shape[1])
    satt = Satterthwaite(
        beta=state.beta, C=state.C, dC=psi.dC, vcov_varpar=2 * pinv_eigen(psi.hess)
    )
    return LMMResult(
        design=design,
        outcome=outcome,
        psi=psi,
        satterthwaite=satt,
        hypotheses=type3_contrasts(design),
        kr=kr,
        source=source,
    )
