"""The glx_timecourse step (``fmrstrial glx-timecourse``): the trial's Glx/tNAA block time
course, one row per session and block, with QC decisions and (on simulated data) truth
(`fmrstrial.timecourse`).

The workflow passes every session's four tables; the command line finds them in the
layout the workflow writes: <preproc>/<pid>/<sid>/blocks.tsv and blocks_qc.tsv,
<fit>/<pid>/<sid>/ratios.tsv and fit_qc.tsv.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from ..dataset import sessions_table
from ..io.config import load_section
from ..io.tsv import write_tsv
from ..timecourse import SessionFiles, assemble, qc_limits, session_files
from ..workflow_plan import simulator_truth_dir


def write_timecourse(
    dataset: str | os.PathLike,
    files: dict[tuple[str, str], SessionFiles],
    qc: dict,
    truth_root: str | None,
    out_path: str | os.PathLike,
) -> pd.DataFrame:
    """Validate the dataset's tables, `assemble` every session's rows and write them to
    `out_path` (TSV); returns the table."""
    table = assemble(sessions_table(dataset), files, qc, truth_root)
    write_tsv(table, out_path)
    print(f"{out_path}: {len(table)} blocks, {int(table.qc_pass.sum())} pass QC")
    return table


def run(args: argparse.Namespace) -> int:
    sessions = sessions_table(args.dataset)
    keys = list(zip(sessions.participant_id, sessions.session_id, strict=True))
    pre, fit = Path(args.preproc), Path(args.fit)
    files = session_files(
        keys,
        blocks=[pre / p / s / "blocks.tsv" for p, s in keys],
        blocks_qc=[pre / p / s / "blocks_qc.tsv" for p, s in keys],
        ratios=[fit / p / s / "ratios.tsv" for p, s in keys],
        fit_qc=[fit / p / s / "fit_qc.tsv" for p, s in keys],
    )
    config = load_section(args.config, "") if args.config else {}
    qc = qc_limits(config.get("qc"), config.get("preprocess"), args.config or "defaults")
    truth = simulator_truth_dir(args.dataset)
    write_timecourse(args.dataset, files, qc, str(truth) if truth else None, args.out)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "glx-timecourse",
        help="the Glx/tNAA block time course of every session",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", help="dataset folder (participants and sessions tables)")
    p.add_argument("--preproc", required=True, help="preprocessing results (results/preproc)")
    p.add_argument("--fit", required=True, help="fit results (results/fit)")
    p.add_argument(
        "--config",
        help="workflow config: block QC limits from its 'qc:' and 'preprocess:' sections",
    )
    p.add_argument("--out", required=True, help="glx_timecourse.tsv to write")
    p.set_defaults(func=run)
