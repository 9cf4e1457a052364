"""Output tables: row order, wide layout, MADRS response table and byte-stable TSV text."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.atomic import write_text
from .scales import SCALE_ORDER, TIMEPOINTS, Scale

IDS = ["participant_id", "session_id", "condition", "period", "timepoint"]
NA = "n/a"
DECIMALS = 4

#: Files written by `write_outputs`, relative to the output directory.
OUTPUT_FILES = {
    "long": "clinical.tsv",
    "wide": "clinical_wide.tsv",
    "madrs": "clinical_madrs.tsv",
    "imputation_record": "clinical_imputation.tsv",
    "imputations": "clinical_mi.tsv",
}


def sort_long(frame: pd.DataFrame, scales: dict[str, Scale] | None = None) -> pd.DataFrame:
    """Rows ordered by participant, session, timepoint (chronological), scale, subscale."""
    keys = ["participant_id", "session_id"]
    frame = frame.copy()
    frame["_tp"] = frame["timepoint"].map({t: i for i, t in enumerate(TIMEPOINTS)})
    keys.append("_tp")
    if "scale" in frame:
        order = list(scales) if scales else list(SCALE_ORDER)
        frame["_sc"] = frame["scale"].map(lambda s: order.index(s) if s in order else len(order))
        keys.append("_sc")
    if "subscale" in frame:
        if scales:
            frame["_sub"] = [
                list(scales[a].scores).index(b) if a in scales else 0
                for a, b in zip(frame["scale"], frame["subscale"], strict=True)
            ]
            keys.append("_sub")
        keys.append("subscale")
    if "imputation" in frame:
        keys.insert(0, "imputation")
    frame = frame.sort_values(keys, kind="mergesort")
    return frame.drop(columns=[c for c in frame if c.startswith("_")]).reset_index(drop=True)


def build_wide(long: pd.DataFrame, scales: dict[str, Scale]) -> pd.DataFrame:
    """One row per participant/session/timepoint, a ``<scale>_<subscale>`` column per score."""
    columns = [f"{s.id}_{name}" for s in scales.values() for name in s.scores]
    table = long.assign(column=long["scale"] + "_" + long["subscale"])
    wide = table.pivot(index=IDS, columns="column", values="score")
    wide = wide.reindex(columns=columns).reset_index()
    wide.columns.name = None
    return sort_long(wide)


def build_madrs(long: pd.DataFrame) -> pd.DataFrame:
    """Per session: MADRS total pre and day 1, change, % change, response, remission.

    change = day1 - pre (negative = improvement); pct_change = 100 * change / pre;
    response = day-1 total at most half the pre-infusion total (reduction >= 50 %);
    remission = day-1 total <= 10. 1 = yes, 0 = no, missing when an input is missing.
    """
    totals = long[(long["scale"] == "madrs") & (long["subscale"] == "total")]
    keys = ["participant_id", "session_id", "condition", "period"]
    pre = totals[totals["timepoint"] == "pre"].set_index(keys)["score"].rename("madrs_pre")
    day1 = totals[totals["timepoint"] == "day1"].set_index(keys)["score"].rename("madrs_day1")
    table = pd.concat([pre, day1], axis=1).reset_index()
    p, d = table["madrs_pre"].to_numpy(float), table["madrs_day1"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = d - p
        pct = np.where(p > 0, 100.0 * change / p, np.nan)
    response = np.where(np.isnan(pct), np.nan, (d - 0.5 * p <= 1e-9).astype(float))
    remission = np.where(np.isnan(d), np.nan, (d <= 10.0 + 1e-9).astype(float))
    reasons = []
    for a, b in zip(p, d, strict=True):
        why = []
        if math.isnan(a):
            why.append("pre-infusion total missing")
        elif a == 0:
            why.append("pre-infusion total is 0: percent change undefined")
        if math.isnan(b):
            why.append("day-1 total missing")
        reasons.append("; ".join(why))
    table["change"] = change
    table["pct_change"] = pct
    table["response"] = pd.array(response, dtype="Float64").astype("Int64")
    table["remission"] = pd.array(remission, dtype="Float64").astype("Int64")
    table["missing_reason"] = reasons
    return sort_long(table.assign(timepoint="pre")).drop(columns="timepoint")


def _cell(value) -> str:
    if value is None or value is pd.NA:
        return NA
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return NA
        return f"{round(float(value), DECIMALS) + 0.0:.{DECIMALS}f}"
    if isinstance(value, str):
        return value if value != "" else NA
    return str(value)


def to_tsv(frame: pd.DataFrame, float_columns: list[str] | None = None) -> str:
    """TSV text with fixed formatting: floats with 4 decimals, missing as ``n/a``.

    Columns named in ``float_columns`` (default: float dtype columns) are always written as
    floats, so integer-valued scores do not change format between runs.
    """
    float_columns = set(
        float_columns
        if float_columns is not None
        else [c for c in frame if pd.api.types.is_float_dtype(frame[c])]
    )
    lines = ["\t".join(frame.columns)]
    columns = [
        [float(v) if c in float_columns and v is not pd.NA else v for v in frame[c].tolist()]
        for c in frame.columns
    ]
    for row in zip(*columns, strict=True):
        lines.append("\t".join(_cell(v) for v in row))
    return "\n".join(lines) + "\n"


def write_outputs(scores, out_dir: str | os.PathLike) -> dict[str, Path]:
    """`write_tables` into ``out_dir`` with the names of OUTPUT_FILES; returns the paths."""
    paths = {key: Path(out_dir) / name for key, name in OUTPUT_FILES.items()}
    write_tables(scores, paths)
    return paths


def write_tables(scores, paths: dict[str, str | os.PathLike]) -> None:
    """Write the clinical tables (each file atomically) to paths[key] for every key of
    OUTPUT_FILES: long (clinical.tsv), wide, madrs (per-session MADRS change and response),
    imputation_record (what was prorated / imputed / set missing) and imputations (the m
    completed long tables stacked, column ``imputation``; header only when no scale is
    multiply imputed)."""
    long_columns = list(scores.long.columns)
    mi = (
        pd.concat(scores.imputations, ignore_index=True)
        if scores.imputations
        else pd.DataFrame(columns=["imputation", *long_columns])
    )
    texts = {
        "long": to_tsv(scores.long, ["score"]),
        "wide": to_tsv(scores.wide, [c for c in scores.wide if c not in IDS]),
        "madrs": to_tsv(scores.madrs, ["madrs_pre", "madrs_day1", "change", "pct_change"]),
        "imputation_record": to_tsv(scores.imputation_record, []),
        "imputations": to_tsv(mi, ["score"]),
    }
    for key, text in texts.items():
        write_text(paths[key], text)
