"""The trial-baseline step (``fmrstrial trial-baseline``): choose one baseline flexibility
for every session of a trial on the mean of its QC-passing blocks
(`fmrstrial.fit.trial_baseline`), and write it as trial_baseline.tsv with a JSON sidecar.
The fit reads it when the setting `baseline_flexibility` is 'trial'."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from ..fit.results import FLOAT_FORMAT
from ..fit.settings import resolve_settings
from ..fit.trial_baseline import choose_trial_flexibility, trial_mean_spectrum
from ..io.atomic import write_text
from ..io.basis import read_basis
from ..io.tsv import json_text, tsv_text

COLUMNS = {
    "baseline_ed_per_ppm": {
        "Description": "Effective dimensions per ppm of the spline baseline chosen by the "
        "modified AIC on the trial's mean spectrum; every session's fit uses it "
        "(fit setting baseline_flexibility: trial).",
        "Units": "1/ppm",
    },
    "sessions": {"Description": "Sessions with at least one block in the mean."},
    "blocks": {"Description": "Blocks in the mean (non-empty, passing preprocessing QC)."},
    "glx_tnaa": {"Description": "Glx/tNAA of the fit of the trial's mean spectrum."},
    "residual_noise_ratio": {
        "Description": "Residual SD over noise SD of the fit of the trial's mean spectrum."
    },
}


def trial_baseline(
    block_files: Sequence[str | os.PathLike],
    qc_files: Sequence[str | os.PathLike],
    basis_path: str | os.PathLike,
    out: str | os.PathLike,
    sidecar: str | os.PathLike,
    settings: dict | None = None,
) -> dict:
    """Choose the trial's baseline flexibility and write `out` (TSV, one row) and `sidecar`
    (JSON column descriptions); returns the row."""
    settings = resolve_settings(settings)
    mean = trial_mean_spectrum(block_files, qc_files)
    row = choose_trial_flexibility(mean, read_basis(basis_path), settings)
    import pandas as pd

    write_text(out, tsv_text(pd.DataFrame([row]), FLOAT_FORMAT))
    write_text(sidecar, json_text(COLUMNS))
    return row


def run(args: argparse.Namespace) -> int:
    from .fit import load_settings

    folders = [Path(f) for f in args.sessions]
    row = trial_baseline(
        [f / "blocks.nii.gz" for f in folders],
        [f / "blocks_qc.tsv" for f in folders],
        args.basis,
        args.out,
        Path(args.out).with_suffix(".json"),
        load_settings(args.config),
    )
    print(
        f"trial baseline: {row['baseline_ed_per_ppm']:.3f} effective dimensions per ppm, "
        f"chosen on {row['blocks']} blocks of {row['sessions']} sessions; wrote {args.out}"
    )
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "trial-baseline",
        help="choose one baseline flexibility for every session on the trial's mean spectrum",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "sessions",
        nargs="+",
        help="preprocessing folders of the sessions (each with blocks.nii.gz, blocks_qc.tsv)",
    )
    p.add_argument("--basis", required=True, help="LCModel .BASIS file or FSL-MRS basis directory")
    p.add_argument("--out", required=True, help="output table (TSV; a .json sidecar beside it)")
    p.add_argument("--config", default=None, help="YAML with a 'fit:' section of settings")
    p.set_defaults(func=run)
