"""Model-ready data frames from the workflow's tables (and the simulation truth).

glx: results/tables/glx_timecourse.tsv, rows with qc_pass only; `expected_glx_tnaa`,
`expected_glu_tnaa` and `true_glx_tnaa` columns (present on simulated data) carry the truth.
glx_session_change: one row per session from those blocks, the change of Glx/tNAA from the
baseline to the infusion (`session_change_frame`).
clinical: results/tables/clinical.tsv restricted to one scale/score at pre and day 1, with
`expected_score` from the simulation truth when available; multiply imputed scores come from
clinical_mi.tsv. Truth is read only from the derivatives/truth folder of a dataset that the
fmrstrial trial simulator wrote (its dataset_description.json says so).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..io.tsv import read_tsv
from ..workflow_plan import check_simulator_truth
from .derived import session_changes

IDS = ["participant_id", "session_id"]


def _read(path: str | os.PathLike, required: list[str]) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError("table not found", file=str(path))
    df = read_tsv(path, dtype={"participant_id": str, "session_id": str})
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s): {', '.join(missing)}", file=str(path))
    return df


@dataclass
class StatsInputs:
    """Everything the analyses read, loaded once."""

    participants: pd.DataFrame
    glx: pd.DataFrame | None = None
    glx_unmatched: pd.DataFrame | None = None
    glx_other_mode: pd.DataFrame | None = None
    clinical: pd.DataFrame | None = None
    clinical_mi: pd.DataFrame | None = None
    truth_clinical: pd.DataFrame | None = None
    truth_madrs: pd.DataFrame | None = None


GLX_COLUMNS = [
    "participant_id",
    "session_id",
    "condition",
    "period",
    "sex",
    "block",
    "phase",
    "glx_tnaa",
    "glu_tnaa",
    "glx_crlb_pct",
    "qc_pass",
]
CLINICAL_COLUMNS = [
    "participant_id",
    "session_id",
    "condition",
    "period",
    "timepoint",
    "scale",
    "subscale",
    "score",
]


def load_inputs(
    participants: str | os.PathLike,
    glx: str | None = None,
    glx_unmatched: str | None = None,
    clinical: str | None = None,
    clinical_mi: str | None = None,
    truth_dir: str | None = None,
    glx_other_mode: str | None = None,
) -> StatsInputs:
    """Read the tables the analyses need (missing optional ones stay None).

    truth_dir: DATASET/derivatives/truth of a simulated dataset; InputError for any other.
    """
    parts = _read(participants, ["participant_id", "sex", "sequence"])
    out = StatsInputs(participants=parts[["participant_id", "sex", "sequence"]])
    if glx:
        out.glx = _read(glx, GLX_COLUMNS)
    if glx_unmatched:
        out.glx_unmatched = _read(glx_unmatched, GLX_COLUMNS)
    if glx_other_mode:
        out.glx_other_mode = _read(glx_other_mode, GLX_COLUMNS)
    if clinical:
        out.clinical = _read(clinical, CLINICAL_COLUMNS)
    if clinical_mi:
        mi = _read(clinical_mi, ["imputation", *CLINICAL_COLUMNS])
        out.clinical_mi = mi if len(mi) else None
    if truth_dir:
        truth = check_simulator_truth(truth_dir)
        if (truth / "clinical_scores.tsv").is_file():
            out.truth_clinical = _read(
                truth / "clinical_scores.tsv",
                [*CLINICAL_COLUMNS[:2], "timepoint", "scale", "subscale", "expected_score"],
            )
        if (truth / "madrs_sessions.tsv").is_file():
            out.truth_madrs = _read(truth / "madrs_sessions.tsv", [*IDS, "pct_change"])
    return out


def _with_design(df: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """Add sequence (and sex if absent); period as text so it is a factor."""
    cols = ["participant_id", "sequence"] + ([] if "sex" in df.columns else ["sex"])
    out = df.merge(participants[cols], on="participant_id", how="left", validate="many_to_one")
    out["period"] = out["period"].astype(int).astype(str)
    return out


def glx_frame(inputs: StatsInputs, which: str, crlb_strict_pct: float) -> pd.DataFrame | None:
    """Block rows for the Glx models ('glx', 'glx_crlb_strict', 'glx_unmatched' or
    'glx_other_mode': the time course from the other fit mode)."""
    source = {"glx_unmatched": inputs.glx_unmatched, "glx_other_mode": inputs.glx_other_mode}.get(
        which, inputs.glx
    )
    if source is None:
        return None
    df = source[source["qc_pass"].astype(str).str.lower().isin(["true", "1"])].copy()
    if which == "glx_crlb_strict":
        df = df[df["glx_crlb_pct"] <= crlb_strict_pct]
    return _with_design(df, inputs.participants)


def clinical_frame(
    table: pd.DataFrame, inputs: StatsInputs, scale: str, subscale: str, with_truth: bool = True
) -> pd.DataFrame:
    """Pre/day-1 rows of one score (with expected_score when the truth is known)."""
    df = table[
        (table["scale"] == scale)
        & (table["subscale"] == subscale)
        & table["timepoint"].isin(["pre", "day1"])
    ].copy()
    if df.empty:
        raise InputError(f"no {scale} {subscale} scores at pre and day1", file="clinical.tsv")
    if with_truth and inputs.truth_clinical is not None:
        t = inputs.truth_clinical
        t = t[(t["scale"] == scale) & (t["subscale"] == subscale)]
        df = df.merge(
            t[[*IDS, "timepoint", "expected_score"]],
            on=[*IDS, "timepoint"],
            how="left",
            validate="one_to_one",
        )
    return _with_design(df, inputs.participants)


def session_change_frame(inputs: StatsInputs) -> pd.DataFrame | None:
    """One row per session with QC-passing blocks in both phases: `glx_change`, the mean
    Glx/tNAA of its passing infusion blocks minus the mean of its passing baseline blocks
    (ratio units), and `expected_glx_change`, the same from the noise-free population values
    when the truth is known; with the session's condition, period, sex and sequence.

    Each session is compared with itself only, so a level that differs between a
    participant's sessions (a fit bias of one session) cannot enter the estimate, as it
    can in the block-level model when a session keeps blocks of one phase only."""
    blocks = glx_frame(inputs, "glx", float("inf"))
    if blocks is None:
        return None
    values = [c for c in ("glx_tnaa", "expected_glx_tnaa") if c in blocks.columns]
    change = pd.concat(
        {c.replace("glx_tnaa", "glx_change"): session_changes(blocks, c) for c in values}, axis=1
    ).dropna(subset=["glx_change"])
    design = blocks.groupby(IDS)[["condition", "period", "sex", "sequence"]].first()
    return change.join(design).reset_index()
