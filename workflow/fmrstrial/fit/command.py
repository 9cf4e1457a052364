"""``fmrstrial fit``: linear-combination fit of every block of a NIfTI-MRS file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..io.config import load_section
from .run import FitOutputs, fit_file
from .settings import resolve_settings


def load_settings(path: str | None) -> dict:
    """Fit settings from a YAML file: the workflow config (its `fit: settings:`), a `fit:`
    section of settings, or a plain mapping of settings."""
    section = load_section(path, "fit")
    return section.get("settings", section) if isinstance(section, dict) else section


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if args.config:
        settings = resolve_settings(settings, source=args.config)
    if args.dynamic:
        settings = {**(settings or {}), "mode": "dynamic"}
    dynamic = resolve_settings(settings)["mode"] == "dynamic"
    block_table = args.block_table
    beside = Path(args.input).parent / "blocks.tsv"
    if dynamic and block_table is None and beside.exists():
        block_table = beside
    out = FitOutputs.in_folder(args.out, dynamic=dynamic)
    start = time.perf_counter()
    fits = fit_file(args.input, args.basis, out, settings, block_table=block_table)
    n_ok = sum(r.converged for _, r in fits)
    print(
        f"fitted {len(fits)} block(s) of {args.input} ({n_ok} converged) into {args.out} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fit",
        help="fit every block of a NIfTI-MRS file with a basis set (LCModel-style)",
        description=(
            "Linear-combination fit in the frequency domain of every block (DIM_DYN) of a "
            "preprocessed NIfTI-MRS file; writes fit.tsv, ratios.tsv, fit_qc.tsv (with JSON "
            "column descriptions) and fit.png into --out."
        ),
    )
    p.add_argument("input", help="NIfTI-MRS file (.nii.gz), coil-combined block spectra")
    p.add_argument("--basis", required=True, help="LCModel .BASIS file or FSL-MRS basis directory")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--config", default=None, help="YAML with a 'fit:' section of settings")
    p.add_argument(
        "--dynamic",
        action="store_true",
        help="fit all blocks jointly (mode: dynamic); adds response.tsv and dynamic.png",
    )
    p.add_argument(
        "--block-table",
        default=None,
        help="block table with a 'phase' column (default: blocks.tsv beside the input), "
        "used in dynamic mode",
    )
    p.set_defaults(func=run)
