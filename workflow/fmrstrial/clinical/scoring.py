"""Compute one score from recoded items, applying the missing-item rule (none or prorate).

Vectorised over rows: ``recoded`` has shape (n_rows, n_items) with NaN for a missing item.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .rules import MissingRule
from .scales import ScoreRule


@dataclass
class ScoreResult:
    """Per-row outcome: score (NaN if missing), missing item count, imputation, reason."""

    score: np.ndarray
    n_items_missing: np.ndarray
    imputed: np.ndarray
    missing_reason: np.ndarray


def unit_values(recoded: np.ndarray, rule: ScoreRule) -> np.ndarray:
    """Value of each unit the rule sums, shape (n_rows, n_units); NaN if the unit is missing.

    Units are items, or groups for ``max_of_groups`` (the highest answered item of the
    group; missing only when every item of the group is missing).
    """
    recoded = np.asarray(recoded, dtype=float)
    columns = []
    for unit in rule.units:
        block = recoded[:, [i - 1 for i in unit]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN rows
            columns.append(np.nanmax(block, axis=1))
    values = np.column_stack(columns)
    if rule.rule == "count_at_least":
        values = np.where(np.isnan(values), np.nan, (values >= rule.threshold).astype(float))
    return values


def score_rule(recoded: np.ndarray, rule: ScoreRule, missing: MissingRule) -> ScoreResult:
    """Apply ``rule`` to each row; missing items handled by ``missing`` (none | prorate).

    With method ``mice`` the items are expected to be complete already; rows that still
    have missing units are then scored as with ``none``.
    """
    recoded = np.asarray(recoded, dtype=float)
    values = unit_values(recoded, rule)
    n_units = values.shape[1]
    n_rows = values.shape[0]
    items = [i - 1 for i in rule.items]
    n_items_missing = np.isnan(recoded[:, items]).sum(axis=1).astype(int)
    units_missing = np.isnan(values).sum(axis=1)
    allowed = missing.allowed(n_units) if missing.method == "prorate" else 0
    unit = "domains" if rule.rule == "max_of_groups" else "items"

    score = np.full(n_rows, np.nan)
    imputed = np.full(n_rows, "none", dtype=object)
    reason = np.full(n_rows, "", dtype=object)
    complete = units_missing == 0
    score[complete] = values[complete].sum(axis=1)
    partial = ~complete & (units_missing < n_units)
    prorate = partial & (units_missing <= allowed)
    if prorate.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            score[prorate] = np.nanmean(values[prorate], axis=1) * n_units
        imputed[prorate] = "prorated"
    for r in np.flatnonzero(~complete & ~prorate):
        k = int(units_missing[r])
        if k == n_units:
            reason[r] = "the item is missing" if n_units == 1 else f"all {n_units} {unit} missing"
        elif missing.method == "prorate":
            reason[r] = f"{k} of {n_units} {unit} missing (prorating allows at most {allowed})"
        else:
            reason[r] = f"{k} of {n_units} {unit} missing (missing-item method '{missing.method}')"
    return ScoreResult(score, n_items_missing, imputed, reason)
