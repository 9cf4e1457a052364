"""The conversion_summary step (``fmrstrial conversion-summary``): one row of acquisition
parameters per converted file (from the conversion summaries, <name>.json beside each
converted NIfTI-MRS) and the cross-session consistency check
(`summarise_conversions`)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..convert.acquisition import DEFAULTS
from ..convert.sanity import compare_sessions
from ..errors import InputError
from ..io.config import load_section
from ..io.tsv import write_tsv


def summarise_conversions(
    summary_files: list[str | os.PathLike],
    out_table: str | os.PathLike,
    out_differences: str | os.PathLike,
    limits: dict | None = None,
) -> None:
    """Tabulate per-acquisition summaries; InputError if parameters differ beyond limits.

    Both tables are written before the check so that the differences can be inspected.
    """
    import pandas as pd

    limits = {**DEFAULTS["consistency"], **(limits or {})}
    rows = [json.loads(Path(f).read_text(encoding="utf-8")) for f in summary_files]
    table = pd.DataFrame(rows)
    if table.empty:
        raise InputError("no converted acquisitions to summarise", file=str(out_table))
    table = table.sort_values(["participant_id", "session_id", "role"], kind="stable")
    differences, problems = compare_sessions(table, limits, source=Path(out_table).name)
    write_tsv(table, out_table)
    write_tsv(differences, out_differences)
    if problems:
        raise InputError(problems)


def run(args: argparse.Namespace) -> int:
    limits = load_section(args.config, "convert").get("consistency")
    summarise_conversions(args.summaries, args.table, args.differences, limits)
    print(f"wrote {args.table} and {args.differences} ({len(args.summaries)} acquisitions)")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "conversion-summary",
        help="acquisition-parameter table and cross-session consistency check",
        description=__doc__,
    )
    p.add_argument("summaries", nargs="+", help="conversion summary JSON files")
    p.add_argument("--table", required=True, help="acquisition_parameters.tsv to write")
    p.add_argument("--differences", required=True, help="acquisition_differences.tsv to write")
    p.add_argument("--config", help="YAML with a 'convert:' section (consistency limits)")
    p.set_defaults(func=run)
