"""Read and check the BIDS inputs of clinical scoring: participants, sessions, phenotype files.

Every problem found is collected (file, row, column, what was expected) and raised together
as one `InputError`; nothing is scored from a file with problems. Row numbers are 1-based
DATA rows: row 1 is the first line after the header (line 2 of the file).
Missing values are written ``n/a`` (BIDS); an empty cell is an error.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import Problem, row_problem
from .scales import TIMEPOINTS, Scale

NA = "n/a"
CONDITIONS = ("placebo", "naltrexone")
KEYS = ("participant_id", "session_id", "timepoint")


def _problem(file: Path, row: int | None, field: str | None, message: str) -> Problem:
    if row is not None:
        return row_problem(str(file), row, message, field)
    return Problem(str(file), message, row=row, field=field)


def read_tsv(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    """A TSV as strings (no NA conversion); None, with a problem recorded, if unreadable."""
    if not path.is_file():
        problems.append(Problem(str(path), "file not found"))
        return None
    try:
        table = pd.read_csv(
            path,
            sep="\t",
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            quoting=csv.QUOTE_NONE,
            encoding="utf-8",
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        problems.append(Problem(str(path), f"not a readable tab-separated file ({exc})"))
        return None
    table.columns = [str(c).strip() for c in table.columns]
    return table


def _require_columns(table, path, columns, problems) -> bool:
    missing = [c for c in columns if c not in table.columns]
    for col in missing:
        problems.append(Problem(str(path), "required column is missing", field=col))
    return not missing


def read_sessions(dataset: Path, problems: list[Problem]) -> pd.DataFrame:
    """participant_id, session_id, condition, period for every session in the dataset."""
    path = dataset / "participants.tsv"
    participants = read_tsv(path, problems)
    columns = ["participant_id", "session_id", "condition", "period"]
    rows: list[dict] = []
    if participants is None or not _require_columns(
        participants, path, ["participant_id"], problems
    ):
        return pd.DataFrame(columns=columns)
    seen: dict[str, int] = {}
    for k, pid in enumerate(participants["participant_id"], start=1):
        if not pid.startswith("sub-") or len(pid) < 5:
            problems.append(_problem(path, k, "participant_id", f"'{pid}' is not sub-<label>"))
            continue
        if pid in seen:
            problems.append(_problem(path, k, "participant_id", f"duplicate of row {seen[pid]}"))
            continue
        seen[pid] = k
        rows += _read_participant_sessions(dataset, pid, problems)
    return pd.DataFrame(rows, columns=columns)


def _read_participant_sessions(dataset: Path, pid: str, problems: list[Problem]) -> list[dict]:
    path = dataset / pid / f"{pid}_sessions.tsv"
    table = read_tsv(path, problems)
    if table is None or not _require_columns(
        table, path, ["session_id", "condition", "period"], problems
    ):
        return []
    out, seen = [], {}
    for k, rec in enumerate(table.to_dict("records"), start=1):
        sid, cond, period = rec["session_id"], rec["condition"], rec["period"]
        ok = True
        if not sid.startswith("ses-") or len(sid) < 5:
            problems.append(_problem(path, k, "session_id", f"'{sid}' is not ses-<label>"))
            ok = False
        elif sid in seen:
            problems.append(_problem(path, k, "session_id", f"duplicate of row {seen[sid]}"))
            ok = False
        if cond not in CONDITIONS:
            problems.append(
                _problem(path, k, "condition", f"'{cond}' is not one of {', '.join(CONDITIONS)}")
            )
            ok = False
        if period not in ("1", "2"):
            problems.append(_problem(path, k, "period", f"'{period}' is not 1 or 2"))
            ok = False
        if ok:
            seen[sid] = k
            out.append(
                {"participant_id": pid, "session_id": sid, "condition": cond, "period": int(period)}
            )
    return out


def _parse_value(text: str, scale: Scale) -> tuple[float, str | None]:
    """(value, problem message or None); NaN for n/a."""
    if text == NA:
        return math.nan, None
    if text.strip() == "":
        return math.nan, "empty cell; write n/a for a missing value"
    try:
        value = float(text)
    except ValueError:
        return math.nan, f"'{text}' is not a number (write n/a for a missing value)"
    if not math.isfinite(value):
        return math.nan, f"'{text}' is not a finite number (write n/a for a missing value)"
    lo, hi = scale.item_min, scale.item_max
    if scale.integer and value != round(value):
        return math.nan, f"{text} is not an integer ({scale.id} items take integers {lo:g}-{hi:g})"
    if not lo <= value <= hi:
        return math.nan, f"{text} is outside the allowed range {lo:g}-{hi:g}"
    return value, None


def read_phenotype(
    dataset: Path, scale: Scale, sessions: pd.DataFrame, problems: list[Problem]
) -> pd.DataFrame:
    """Raw item values of one scale: participant_id, session_id, timepoint, row, items.

    Item columns hold floats (NaN = n/a). Problems of every kind are appended to
    ``problems``; the returned table then is not to be used.
    """
    path = dataset / "phenotype" / f"{scale.id}.tsv"
    columns = list(KEYS) + ["row"] + scale.columns
    table = read_tsv(path, problems)
    if table is None or not _require_columns(table, path, list(KEYS) + scale.columns, problems):
        return pd.DataFrame(columns=columns)
    prefix = f"{scale.id}_"
    for col in table.columns:
        suffix = col[len(prefix) :]
        if col.startswith(prefix) and col not in scale.columns and suffix.isdigit():
            problems.append(
                Problem(
                    str(path),
                    f"unexpected item column ({scale.id} has "
                    f"{scale.n_items} items: {scale.columns[0]}..{scale.columns[-1]})",
                    field=col,
                )
            )
    known = {
        (p, s) for p, s in zip(sessions["participant_id"], sessions["session_id"], strict=True)
    }
    participants = set(sessions["participant_id"])
    first_row: dict[tuple[str, str, str], int] = {}
    out = []
    for k, rec in enumerate(table.to_dict("records"), start=1):
        pid, sid, tp = rec["participant_id"], rec["session_id"], rec["timepoint"]
        if pid not in participants:
            problems.append(
                _problem(
                    path,
                    k,
                    "participant_id",
                    f"unknown participant '{pid}' (not in participants.tsv)",
                )
            )
        elif (pid, sid) not in known:
            problems.append(
                _problem(
                    path,
                    k,
                    "session_id",
                    f"unknown session '{sid}' for {pid} (not in {pid}/{pid}_sessions.tsv)",
                )
            )
        if tp not in TIMEPOINTS:
            problems.append(
                _problem(
                    path,
                    k,
                    "timepoint",
                    f"unknown timepoint '{tp}' (expected one of {', '.join(TIMEPOINTS)})",
                )
            )
        elif tp not in scale.timepoints:
            problems.append(
                _problem(
                    path,
                    k,
                    "timepoint",
                    f"{scale.id} is not collected at '{tp}' (expected one of "
                    f"{', '.join(scale.timepoints)})",
                )
            )
        key = (pid, sid, tp)
        if key in first_row:
            problems.append(
                _problem(
                    path,
                    k,
                    None,
                    f"duplicate row: same participant_id, session_id and "
                    f"timepoint as data row {first_row[key]}",
                )
            )
        else:
            first_row[key] = k
        values = []
        for col in scale.columns:
            value, message = _parse_value(rec[col], scale)
            if message:
                problems.append(_problem(path, k, col, message))
            values.append(value)
        out.append([pid, sid, tp, k, *values])
    frame = pd.DataFrame(out, columns=columns)
    frame[scale.columns] = frame[scale.columns].astype(np.float64)
    return frame
