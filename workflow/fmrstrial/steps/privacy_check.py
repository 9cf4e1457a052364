"""The privacy_check step (``fmrstrial privacy-check``): scan a results folder for patient
identifiers and for absolute paths of the source data (`check`; the scan is
`fmrstrial.privacy.scan`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..convert.deidentify import IDENTIFIER_KEYS
from ..errors import InputError
from ..io.tsv import write_json
from ..privacy import scan


def check(
    results: str | os.PathLike,
    dataset: str | os.PathLike,
    report: str | None = None,
    extra: list[str] | None = None,
) -> dict:
    """Scan `results` for identifiers and for the dataset's absolute path; raise if found."""
    forbidden = [str(Path(dataset).resolve())] + list(extra or [])
    skip = (str(Path(report).resolve().relative_to(Path(results).resolve())),) if report else ()
    found = scan(results, forbidden, skip)
    summary = {
        "scanned": Path(results).name,
        "identifier_keys": f"{len(IDENTIFIER_KEYS)} keys of "
        "fmrstrial.convert.deidentify.IDENTIFIER_KEYS",
        "forbidden_paths": "the absolute path of the dataset"
        + (f" and {len(extra)} more (e.g. the repository's)" if extra else ""),
        "findings": found,
        "clean": not found,
    }
    if found:
        raise InputError(
            f"{len(found)} privacy finding(s): " + "; ".join(found[:10]), file=str(results)
        )
    if report:
        write_json(summary, report)
    return summary


def run(args: argparse.Namespace) -> int:
    check(args.results, args.dataset, args.report, extra=args.forbid or [])
    print(f"{args.results}: no identifiers or source paths found")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "privacy-check", help="scan outputs for identifiers and source paths", description=__doc__
    )
    p.add_argument("results", help="folder to scan (e.g. results)")
    p.add_argument("--dataset", required=True, help="source dataset (its path must not appear)")
    p.add_argument(
        "--forbid",
        action="append",
        help="another text that must not appear, e.g. the clone's path (repeatable)",
    )
    p.add_argument("--report", help="write a JSON summary here when clean")
    p.set_defaults(func=run)
