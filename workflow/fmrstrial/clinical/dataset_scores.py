"""Score every scale of a BIDS dataset: the `score_dataset` entry point.

The scales scored are those with a definition (workflow/resources/scales/) AND a table
``phenotype/<scale>.tsv`` in the dataset; MADRS, the primary outcome, is the only table a
dataset must have. Every participant/session gets one row per timepoint at which a scored
scale is collected (from the scale definition), whether or not the phenotype file has that
row; absent rows give missing scores with the reason stated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, Problem
from . import mice
from .output_tables import IDS, build_madrs, build_wide, sort_long
from .phenotype import read_phenotype, read_sessions
from .rules import MissingRule, merge_rules, mice_settings, rule_for
from .scales import Scale, load_scales
from .scoring import score_rule

LONG_COLUMNS = [
    *IDS,
    "scale",
    "subscale",
    "score",
    "n_items_missing",
    "imputed",
    "missing_reason",
]
#: Phenotype tables every dataset must have (the primary outcome).
REQUIRED_SCALES = ("madrs",)
RECORD_COLUMNS = [
    *IDS,
    "scale",
    "subscale",
    "n_items",
    "n_items_missing",
    "items_missing",
    "method",
    "outcome",
    "detail",
]


@dataclass
class ClinicalScores:
    """Scores of one dataset.

    long: one row per participant/session/timepoint/scale/subscale (see LONG_COLUMNS);
    wide: one row per participant/session/timepoint, a column per ``<scale>_<subscale>``;
    madrs: per session MADRS pre, day1, change, pct_change, response, remission;
    imputation_record: every score with missing items and what was done about it;
    imputations: m completed long tables (column ``imputation`` = 1..m) when any scale uses
    MICE, else empty; pool estimates fitted on each with `rubin_pool`;
    rules: the missing-data rules used (defaults merged with the caller's);
    absent: {scale id: reason} of the defined scales that were not scored (no table).
    """

    long: pd.DataFrame
    wide: pd.DataFrame
    madrs: pd.DataFrame
    imputation_record: pd.DataFrame
    imputations: list[pd.DataFrame] = field(default_factory=list)
    rules: dict = field(default_factory=dict)
    absent: dict[str, str] = field(default_factory=dict)


def _grid(scale: Scale, sessions: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Every session x collected timepoint, with the raw items (NaN where absent)."""
    grid = sessions.merge(pd.DataFrame({"timepoint": list(scale.timepoints)}), how="cross")
    merged = grid.merge(
        items.drop(columns="row"),
        on=["participant_id", "session_id", "timepoint"],
        how="left",
        indicator=True,
        validate="one_to_one",
    )
    merged["present"] = merged.pop("_merge") == "both"
    return merged


def _covariates(grid: pd.DataFrame, scale: Scale) -> np.ndarray:
    """Time (later vs first timepoint), naltrexone and their product, for MICE models."""
    later = (grid["timepoint"] != scale.timepoints[0]).to_numpy(float)
    drug = (grid["condition"] == "naltrexone").to_numpy(float)
    return np.column_stack([later, drug, later * drug])


def _frame(grid, scale, name, result, absent_reason) -> pd.DataFrame:
    reason = np.where(grid["present"], result.missing_reason, absent_reason)
    return pd.DataFrame(
        {
            **{c: grid[c].to_numpy() for c in IDS},
            "scale": scale.id,
            "subscale": name,
            "score": result.score,
            "n_items_missing": result.n_items_missing,
            "imputed": result.imputed,
            "missing_reason": reason,
        }
    )


def _score_scale(grid: pd.DataFrame, scale: Scale, rules: dict, label: str, n_imp: int):
    """Score one scale.

    Returns (main frames, per-imputation frames, imputation records): main has one long
    frame per score; per-imputation is a list of ``n_imp`` lists of frames (scores that are
    not multiply imputed are repeated unchanged in every imputation).
    """
    recoded = scale.recode(grid[scale.columns].to_numpy(float))
    missing_rules = {name: rule_for(rules, scale.id, name) for name in scale.scores}
    absent = f"no row in {label}"
    completed = []
    if any(r.method == "mice" for r in missing_rules.values()):
        usable = grid["present"].to_numpy() & ~np.isnan(recoded).all(axis=1)
        for filled in mice.impute(
            recoded[usable], _covariates(grid[usable], scale), mice_settings(rules)
        ):
            full = recoded.copy()
            full[usable] = filled
            completed.append(full)
    main, records = [], []
    per_imp: list[list[pd.DataFrame]] = [[] for _ in range(n_imp)]
    for name, rule in scale.scores.items():
        mrule = missing_rules[name]
        result = score_rule(recoded, rule, mrule)
        runs = []
        if mrule.method == "mice":
            runs = [score_rule(c, rule, MissingRule("none")) for c in completed]
            done = ~np.isnan(runs[0].score) & np.isnan(result.score)
            result.score = np.where(done, np.mean([r.score for r in runs], axis=0), result.score)
            result.imputed = np.where(done, "mice", result.imputed)
            result.missing_reason = np.where(done, "", result.missing_reason)
            for run in runs:
                run.imputed, run.missing_reason = result.imputed, result.missing_reason
        frame = _frame(grid, scale, name, result, absent)
        main.append(frame)
        for k in range(n_imp):
            per_imp[k].append(_frame(grid, scale, name, runs[k], absent) if runs else frame)
        records.append(_records(grid, recoded, scale, name, rule, mrule, frame, rules))
    return main, per_imp, records


def _records(grid, recoded, scale, name, rule, mrule, frame, rules) -> pd.DataFrame:
    cols = [i - 1 for i in rule.items]
    miss = np.isnan(recoded[:, cols])
    present = grid["present"].to_numpy()
    rows = np.flatnonzero(miss.any(axis=1) & present)
    m = rules["mice"]["m"]
    out = []
    for r in rows:
        listed = [
            scale.columns[c] for c, is_missing in zip(cols, miss[r], strict=True) if is_missing
        ]
        imputed = frame["imputed"].iat[r]
        if imputed == "prorated":
            outcome = "prorated"
        elif imputed == "mice":
            outcome = f"multiply imputed (m={m})"
        elif np.isnan(frame["score"].iat[r]):
            outcome = "score missing"
        else:
            outcome = "scored from the answered items (no imputation needed)"
        out.append(
            {
                **{c: grid[c].iat[r] for c in IDS},
                "scale": scale.id,
                "subscale": name,
                "n_items": len(cols),
                "n_items_missing": int(miss[r].sum()),
                "items_missing": ";".join(listed),
                "method": mrule.method,
                "outcome": outcome,
                "detail": frame["missing_reason"].iat[r],
            }
        )
    return pd.DataFrame(out, columns=RECORD_COLUMNS)


def present_scales(dataset: Path, problems: list[Problem]) -> tuple[dict[str, Scale], dict]:
    """(defined scales with a phenotype table, {absent scale: reason}).

    A missing table of a REQUIRED_SCALES scale is recorded in ``problems``.
    """
    present, absent = {}, {}
    for sid, scale in load_scales().items():
        path = dataset / "phenotype" / f"{sid}.tsv"
        if path.is_file():
            present[sid] = scale
        elif sid in REQUIRED_SCALES:
            problems.append(
                Problem(
                    str(path),
                    f"file not found: {scale.name} is the primary outcome and "
                    "every dataset must have it",
                )
            )
        else:
            absent[sid] = f"phenotype/{sid}.tsv is not in the dataset"
    return present, absent


def score_dataset(dataset_dir: str | os.PathLike, rules: dict | None = None) -> ClinicalScores:
    """Score every defined scale that has a table in ``DATASET/phenotype``.

    InputError listing all input problems (a missing MADRS table is one).
    rules: missing-item rules (see `fmrstrial.clinical.rules`), merged over the defaults.
    """
    dataset = Path(dataset_dir)
    rules = merge_rules(rules)
    if not dataset.is_dir():
        raise InputError("dataset directory not found", file=str(dataset))
    problems: list[Problem] = []
    scales, absent = present_scales(dataset, problems)
    sessions = read_sessions(dataset, problems)
    items = {sid: read_phenotype(dataset, s, sessions, problems) for sid, s in scales.items()}
    if problems:
        raise InputError(problems)

    uses_mice = any(
        rule_for(rules, s.id, n).method == "mice" for s in scales.values() for n in s.scores
    )
    n_imp = rules["mice"]["m"] if uses_mice else 0
    main, records = [], []
    per_imp: list[list[pd.DataFrame]] = [[] for _ in range(n_imp)]
    for sid, scale in scales.items():
        grid = _grid(scale, sessions, items[sid])
        m_rows, i_rows, r_rows = _score_scale(grid, scale, rules, f"phenotype/{sid}.tsv", n_imp)
        main += m_rows
        records += r_rows
        for k in range(n_imp):
            per_imp[k] += i_rows[k]
    long = sort_long(pd.concat(main, ignore_index=True), scales)[LONG_COLUMNS]
    imputations = []
    for k, parts in enumerate(per_imp, start=1):
        table = sort_long(pd.concat(parts, ignore_index=True), scales)[LONG_COLUMNS]
        imputations.append(table.assign(imputation=k)[["imputation", *LONG_COLUMNS]])
    record = pd.concat(records, ignore_index=True) if records else pd.DataFrame()
    record = (
        sort_long(record, scales)[RECORD_COLUMNS]
        if len(record)
        else pd.DataFrame(columns=RECORD_COLUMNS)
    )
    return ClinicalScores(
        long=long,
        wide=build_wide(long, scales),
        madrs=build_madrs(long),
        imputation_record=record,
        imputations=imputations,
        rules=rules,
        absent=absent,
    )
