"""The analysed table of a planned crossover trial, built as the findings' models see it.

Participant k (0-based) follows sequence PN (placebo in period 1) when k is even and NP
when k is odd, so sequences are balanced (one more PN for odd N). Rows are ordered by
participant, then period, then block (Glx: ``baseline_blocks`` baseline blocks, then
``infusion_blocks`` infusion blocks) or timepoint (MADRS: pre, day1). The design matrix and
the type III contrast come from the project's own formula machinery
(:func:`fmrstrial.lmm.design.build_design`, :func:`fmrstrial.lmm.type3.type3_contrasts`) with
the findings' factor levels, so the coefficients are those of ``results/stats/<model>.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..lmm import parse_formula
from ..lmm.design import build_design
from ..lmm.type3 import type3_contrasts
from ..stats.models import factors_for

#: Columns a planned table can provide (besides the response and the participant column).
WITHIN = {"glx": "phase", "madrs": "timepoint"}
SUPPORTED = {"condition", "period", "sequence"}


@dataclass(frozen=True)
class Scenario:
    """One acquisition design. Glx: blocks per session and block length (min); MADRS: fixed."""

    test: str
    baseline_blocks: int = 1
    infusion_blocks: int = 5
    block_min: float = 6.0

    @property
    def label(self) -> str:
        if self.test != "glx":
            return "pre/day1"
        return f"{self.baseline_blocks}+{self.infusion_blocks} blocks x {self.block_min:g} min"

    def within_levels(self) -> list[str]:
        """Within-session row labels in order."""
        if self.test == "glx":
            return ["baseline"] * self.baseline_blocks + ["infusion"] * self.infusion_blocks
        return ["pre", "day1"]


@dataclass
class Template:
    """Full table (nothing missing) of N participants.

    X: (N, m, p) fixed-effect design; L: (k, p) type III contrast of ``term``;
    period: (m,) period (1 or 2) of each within-participant row; x_names: coefficient names;
    cells: (m,) index of each row's distinct X row within a participant of its sequence.
    """

    scenario: Scenario
    n_participants: int
    formula: str
    term: str
    X: np.ndarray
    L: np.ndarray
    x_names: list[str]
    period: np.ndarray
    sequence: np.ndarray  # (N,) 0 = PN, 1 = NP

    @property
    def rows_per_participant(self) -> int:
        return self.X.shape[1]


def check_formula(formula: str, term: str, test: str) -> str:
    """The participant (grouping) column; ValueError naming what is not supported."""
    parsed = parse_formula(formula)
    rand = parsed.random
    if rand is None or rand.terms or not rand.intercept or parsed.nested:
        raise ValueError(
            f"formula '{formula}': power analysis supports one random intercept per "
            "participant, '(1 | participant_id)', only"
        )
    allowed = SUPPORTED | {WITHIN[test], parsed.response, rand.group}
    other = [v for v in parsed.variables if v not in allowed]
    if other:
        raise ValueError(
            f"formula '{formula}' uses {', '.join(other)}: a planned {test} table has only "
            f"condition, period, sequence and {WITHIN[test]}"
        )
    if term not in parsed.term_labels:
        raise ValueError(
            f"term '{term}' is not a term of '{formula}' (terms: {', '.join(parsed.term_labels)})"
        )
    return rand.group


def table(scenario: Scenario, n_participants: int, group: str = "participant_id") -> pd.DataFrame:
    """The planned table (one row per analysed observation), without a response."""
    width = len(str(n_participants))
    rows = []
    within = scenario.within_levels()
    for k in range(n_participants):
        seq = "PN" if k % 2 == 0 else "NP"
        for period in (1, 2):
            cond = "placebo" if (seq == "PN") == (period == 1) else "naltrexone"
            for level in within:
                rows.append(
                    {
                        group: f"p{k:0{width}d}",
                        "sequence": seq,
                        "period": str(period),
                        "condition": cond,
                        WITHIN[scenario.test]: level,
                    }
                )
    return pd.DataFrame(rows)


def build_template(scenario: Scenario, n_participants: int, formula: str, term: str) -> Template:
    """Design matrix (N, m, p) and contrast of ``term`` for the full planned table."""
    group = check_formula(formula, term, scenario.test)
    frame = table(scenario, n_participants, group)
    parsed = parse_formula(formula)
    frame[parsed.response] = np.arange(len(frame), dtype=float)  # placeholder response
    design = build_design(frame, parsed, factors=factors_for(formula, frame))
    m = 2 * len(scenario.within_levels())
    X = design.X.reshape(n_participants, m, -1)
    return Template(
        scenario=scenario,
        n_participants=n_participants,
        formula=formula,
        term=term,
        X=X,
        L=type3_contrasts(design)[term],
        x_names=list(design.x_names),
        period=np.repeat([1, 2], m // 2),
        sequence=np.arange(n_participants) % 2,
    )
