"""`fmrstrial preprocess`: preprocess one fMRS session into QC'd time-block spectra.

Writes (`PreprocessOutputs`; the command line puts them into one folder DIR): blocks.nii.gz
(NIfTI-MRS, DIM_DYN = block), blocks_unmatched.nii.gz (the same before linewidth matching,
for the sensitivity analysis), blocks.tsv (block times and transient counts),
transients_qc.tsv (per-transient frequency, phase, exclusion), blocks_qc.tsv +
blocks_qc.json (per-block QC and column definitions) and qc.png. Every result is computed
before anything is written, and each file is written to a temporary name and renamed, so
an error leaves no partial file.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from ..io.atomic import atomic_path, write_text
from ..io.nifti_mrs import LINEWIDTH_MATCHING_KEY, read_nifti_mrs, write_nifti_mrs
from ..io.outputs import PreprocessOutputs
from ..io.tsv import json_text, tsv_text
from ..preprocess.plot import qc_figure_png
from ..preprocess.session import PreprocessResult, preprocess_session
from ..preprocess.settings import load_settings


def write_outputs(result: PreprocessResult, out: PreprocessOutputs, title: str) -> None:
    """Write the step's files (see module docstring)."""
    texts = {
        out.table: tsv_text(result.block_table),
        out.transients: tsv_text(result.transients),
        out.qc: tsv_text(result.qc),
        out.qc_json: json_text(result.qc_sidecar),
    }
    png = qc_figure_png(result, title)
    # the same blocks before linewidth matching (sensitivity analysis)
    unmatched = result.blocks.with_fids(result.unmatched)
    unmatched.header.pop(LINEWIDTH_MATCHING_KEY, None)
    unmatched.header["ProcessingApplied"] = [
        {**step, "Details": step["Details"] + "; before linewidth matching"}
        for step in unmatched.header.get("ProcessingApplied", [])
    ]
    write_nifti_mrs(out.blocks, result.blocks)  # atomic, as every write below
    write_nifti_mrs(out.unmatched, unmatched)
    for path, text in texts.items():
        write_text(path, text)
    with atomic_path(out.figure) as tmp:
        tmp.write_bytes(png)


def run_session(
    svs_path: str | os.PathLike,
    ref_path: str | os.PathLike | None,
    infusion_start_s: float,
    out: PreprocessOutputs,
    settings: dict | None = None,
) -> PreprocessResult:
    """Read, preprocess and write one session; returns the result."""
    svs = read_nifti_mrs(svs_path)
    ref = read_nifti_mrs(ref_path) if ref_path is not None else None
    result = preprocess_session(
        svs,
        ref,
        infusion_start_s,
        settings,
        source=str(svs_path),
        ref_source=str(ref_path) if ref_path is not None else "water reference",
    )
    name = Path(svs_path).name
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    write_outputs(result, out, title=name)
    return result


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    start = time.perf_counter()
    out = PreprocessOutputs.in_folder(args.out)
    result = run_session(args.svs, args.ref, args.infusion_start, out, settings)
    qc = result.qc
    print(
        f"preprocessed {args.svs}: {result.session['n_transients']} transients, "
        f"{result.session['n_excluded']} excluded, {len(qc)} blocks "
        f"({int(qc['qc_pass'].sum())} pass QC) -> {args.out} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return 0


def arguments(p: argparse.ArgumentParser) -> None:
    """Add the step's arguments to a parser and set its `func`."""
    p.add_argument("svs", help="metabolite NIfTI-MRS (every transient along DIM_DYN)")
    p.add_argument("--ref", default=None, help="unsuppressed water reference NIfTI-MRS")
    p.add_argument(
        "--infusion-start",
        type=float,
        required=True,
        help="infusion start, seconds after the first transient",
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--config", default=None, help="YAML with a 'preprocess:' section")
    p.set_defaults(func=run)


def add_parser(sub) -> None:
    """Register `fmrstrial preprocess`."""
    arguments(
        sub.add_parser(
            "preprocess",
            help="preprocess one session: coils, ECC, alignment, rejection, HLSVD, blocks, QC",
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
