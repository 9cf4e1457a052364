"""The fit step (``fmrstrial fit``): fit every block of a session's NIfTI-MRS block spectra
and write the tables (`fit_file`).

Outputs (`FitOutputs`, paths chosen by the caller; the command line puts them into one
folder): the fit, ratio, QC and curve tables with JSON sidecars describing their columns,
and, when its path is given, the figure drawn from them (the workflow draws it in a job of
its own, `fmrstrial.steps.plot_fit`, so that a fit job does not import matplotlib). With
the setting `mode: dynamic` the blocks are fitted jointly (`fmrstrial.fit.dynamic`); the
same tables then hold the joint fit's per-block values, and the response table (+ sidecar)
and its figure are added when their paths are given.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from ..errors import InputError
from ..fit.core import FitResult
from ..fit.results import (
    CURVE_COLUMNS,
    FIT_COLUMNS,
    FLOAT_FORMAT,
    RATIO_COLUMNS,
    curve_table,
    fit_table,
    qc_columns,
    qc_table,
    ratio_table,
)
from ..fit.session import blocks_of, fit_data, fit_data_dynamic, joint_fit
from ..fit.settings import resolve_settings
from ..fit.trial_baseline import flexibility_setting
from ..io.atomic import write_text
from ..io.basis import read_basis
from ..io.config import load_section
from ..io.nifti_mrs import read_nifti_mrs
from ..io.outputs import FitOutputs
from ..io.tsv import json_text, tsv_text


def write_outputs(fits: list[tuple[int, FitResult]], out: FitOutputs, title: str = "") -> None:
    """Write the four tables, their sidecars and (if `out.figure`) the figure."""
    write_text(out.fit, tsv_text(fit_table(fits), FLOAT_FORMAT))
    write_text(out.ratios, tsv_text(ratio_table(fits), FLOAT_FORMAT))
    write_text(out.qc, tsv_text(qc_table(fits), FLOAT_FORMAT))
    write_text(out.fit_sidecar, json_text(FIT_COLUMNS))
    write_text(out.ratios_sidecar, json_text(RATIO_COLUMNS))
    write_text(out.qc_sidecar, json_text(qc_columns(fits)))
    write_text(out.curves, tsv_text(curve_table(fits), FLOAT_FORMAT))
    write_text(out.curves_sidecar, json_text(CURVE_COLUMNS))
    if out.figure is not None:
        from ..fit.plot import plot_fit_tables  # matplotlib: only when a figure is wanted

        plot_fit_tables(out.curves, out.ratios, out.qc, out.figure, title)


def fit_file(
    in_path: str | os.PathLike,
    basis_path: str | os.PathLike,
    out: FitOutputs,
    settings: dict | None = None,
    block_table: str | os.PathLike | None = None,
    trial_baseline: str | os.PathLike | None = None,
) -> list[tuple[int, FitResult]]:
    """Fit every block of the NIfTI-MRS file `in_path` with the basis set at `basis_path`
    (LCModel .BASIS or FSL-MRS JSON directory) and write the outputs `out`.

    block_table: table with a 'phase' column per block (blocks.tsv of preprocessing), used
    in dynamic mode only (None: every block is in one phase). trial_baseline: the trial's
    baseline flexibility (trial_baseline.tsv), needed when the setting
    `baseline_flexibility` is 'trial'.
    A file of one block is fitted on its own whatever the mode (no response table then).
    Returns the (block, FitResult) list. InputError (naming the file) for unreadable data,
    unsupported dimensions, or a basis that does not match the data."""
    source = str(in_path)
    settings = flexibility_setting(settings, trial_baseline)
    data = read_nifti_mrs(in_path)
    basis = read_basis(basis_path)
    if joint_fit(settings, data, source):
        return _fit_file_dynamic(data, basis, settings, source, block_table, out)
    fits = fit_data(data, basis, settings, source)
    write_outputs(fits, out, title=Path(in_path).name)
    return fits


def _fit_file_dynamic(data, basis, settings, source, block_table, out: FitOutputs):
    from ..fit.dynamic_design import read_block_phases
    from ..fit.dynamic_plot import plot_dynamic
    from ..fit.dynamic_response import RESPONSE_COLUMNS, response_table

    phases = read_block_phases(block_table) if block_table is not None else None
    n_blocks = blocks_of(data, source).shape[1]
    if phases is not None and len(phases) != n_blocks:
        raise InputError(
            f"the block table {block_table} lists {len(phases)} blocks but the data have "
            f"{n_blocks}",
            file=source,
        )
    dyn = fit_data_dynamic(data, basis, settings, source, phases)
    settings = resolve_settings(settings)
    title = Path(source).name
    fits = sorted(dyn.fits + dyn.empty, key=lambda item: item[0])
    write_outputs(fits, out, title=f"{title} (dynamic fit)")
    fitted_phases = None if phases is None else [phases[j] for j, _ in dyn.fits]
    if out.response is not None:
        table = response_table(dyn, settings, fitted_phases)
        write_text(out.response, tsv_text(table, FLOAT_FORMAT))
        write_text(out.response_sidecar, json_text(RESPONSE_COLUMNS))
    if out.dynamic_figure is not None:
        plot_dynamic(dyn, out.dynamic_figure, fitted_phases, title, settings)
    return fits


def load_settings(path: str | None) -> dict:
    """Fit settings from a YAML file: the workflow config (its `fit: settings:`), a `fit:`
    section of settings, or a plain mapping of settings."""
    section = load_section(path, "fit")
    return section.get("settings", section) if isinstance(section, dict) else section


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if args.config:
        settings = resolve_settings(settings, source=args.config)
    if args.dynamic or args.blocks:
        settings = {**(settings or {}), "mode": "dynamic" if args.dynamic else "blocks"}
    resolved = resolve_settings(settings)
    dynamic = resolved["mode"] == "dynamic"
    block_table = args.block_table
    beside = Path(args.input).parent / "blocks.tsv"
    if dynamic and block_table is None and beside.exists():
        block_table = beside
    out = FitOutputs.in_folder(args.out, dynamic=dynamic, figure=not args.no_figure)
    start = time.perf_counter()
    fits = fit_file(
        args.input, args.basis, out, settings, block_table, trial_baseline=args.trial_baseline
    )
    n_ok = sum(r.converged for _, r in fits)
    print(
        f"fitted {len(fits)} block(s) of {args.input} ({n_ok} converged) into {args.out} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    if dynamic and len(fits) == 1:
        print("  note: one block, fitted on its own (a joint fit has nothing to share)")
    if resolved["baseline_flexibility"] == "trial" and args.trial_baseline is None:
        print(
            "  note: baseline flexibility chosen on this file alone (a trial of one session); "
            "for a trial, give --trial-baseline (`fmrstrial trial-baseline`)"
        )
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fit",
        help="fit every block of a NIfTI-MRS file with a basis set (LCModel-style)",
        description=(
            "Linear-combination fit in the frequency domain of every block (DIM_DYN) of a "
            "preprocessed NIfTI-MRS file; writes fit.tsv, ratios.tsv, fit_qc.tsv (with JSON "
            "column descriptions), fit_curves.tsv (data, fit, baseline and main components of the "
            "first and last block) and fit.png into --out."
        ),
    )
    p.add_argument("input", help="NIfTI-MRS file (.nii.gz), coil-combined block spectra")
    p.add_argument("--basis", required=True, help="LCModel .BASIS file or FSL-MRS basis directory")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--config", default=None, help="YAML with a 'fit:' section of settings")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--dynamic",
        action="store_true",
        help="fit all blocks jointly (mode: dynamic, the default); adds response.tsv and "
        "dynamic.png",
    )
    mode.add_argument(
        "--blocks",
        action="store_true",
        help="fit every block on its own (mode: blocks), overriding the settings",
    )
    p.add_argument(
        "--block-table",
        default=None,
        help="block table with a 'phase' column (default: blocks.tsv beside the input), "
        "used in dynamic mode",
    )
    p.add_argument(
        "--trial-baseline",
        default=None,
        help="trial_baseline.tsv of `fmrstrial trial-baseline`, for the setting "
        "baseline_flexibility: trial",
    )
    p.add_argument(
        "--no-figure",
        action="store_true",
        help="write the tables only, not fit.png (draw it later with `fmrstrial plot-fit`)",
    )
    p.set_defaults(func=run)
