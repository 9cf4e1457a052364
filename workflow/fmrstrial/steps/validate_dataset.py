"""The validate_dataset step (``fmrstrial validate-dataset``): check a trial dataset's layout
and tables before any analysis (`validation_report`; the checks are in `fmrstrial.dataset`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..dataset import validate_dataset
from ..errors import InputError
from ..io.tsv import write_json


def validation_report(
    dataset: str | Path,
    report: str | Path | None = None,
    required_scales: tuple[str, ...] = ("madrs",),
) -> dict:
    """Validate; raise InputError listing every problem, else return (and write) a summary.

    The summary names the dataset folder only (no absolute paths).
    """
    v = validate_dataset(dataset, required_scales=required_scales)
    if v.problems:
        raise InputError(v.problems)
    for note in v.notes:
        print(f"note: {note}")
    summary = {
        "dataset": Path(dataset).name,
        "valid": True,
        "participants": len({s.participant_id for s in v.sessions}),
        "sessions": len(v.sessions),
        "notes": v.notes,
    }
    if report:
        write_json(summary, report)
    print(
        f"{dataset}: valid ({summary['participants']} participants, {summary['sessions']} sessions)"
    )
    return summary


def run(args: argparse.Namespace) -> int:
    validation_report(args.dataset, args.report, tuple(args.require_scale or ("madrs",)))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "validate-dataset", help="check a trial dataset before analysis", description=__doc__
    )
    p.add_argument("dataset", help="dataset directory (docs/input-data.md)")
    p.add_argument(
        "--require-scale",
        action="append",
        help="phenotype table that must exist (repeatable; default: madrs)",
    )
    p.add_argument("--report", help="write a JSON summary here when the dataset is valid")
    p.set_defaults(func=run)
