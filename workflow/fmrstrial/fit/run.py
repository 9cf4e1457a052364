"""`fit_file`: fit every block of a NIfTI-MRS file and write the tables and the figure.

Blocks are the entries along DIM_DYN (a spectrum without a dynamic dimension is one block).
Any other higher dimension with more than one entry (coils, edit conditions, ...) is an
error: the fit expects coil-combined, preprocessed block spectra.

Outputs (`FitOutputs`, paths chosen by the caller): the fit, ratio and QC tables with JSON
sidecars describing their columns, and a figure. With the setting `mode: dynamic` the
blocks are fitted jointly (`fmrstrial.fit.dynamic`); the same tables then hold the joint
fit's per-block values, and the response table (+ sidecar) and its figure are added when
their paths are given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..blas import single_threaded_blas
from ..errors import InputError
from ..io.atomic import write_text
from ..io.basis import Basis, read_basis
from ..io.nifti_mrs import MRSData, read_nifti_mrs
from ..io.tables import json_text, tsv_text
from .basis_setup import prepare_basis
from .core import FitResult, empty_result, fit_spectrum
from .plot import plot_fits
from .results import (
    FIT_COLUMNS,
    FLOAT_FORMAT,
    RATIO_COLUMNS,
    fit_table,
    qc_columns,
    qc_table,
    ratio_table,
)
from .settings import resolve_settings

DYNAMIC = "DIM_DYN"


def blocks_of(data: MRSData, source: str) -> np.ndarray:
    """FIDs of the blocks, shape (n_points, n_blocks); InputError for other dimensions."""
    if data.nucleus != "1H":
        raise InputError(f"nucleus is {data.nucleus}; the fit handles 1H spectra only", file=source)
    extra = [
        (tag, size)
        for tag, size in zip(data.dim_tags, data.fids.shape[1:], strict=True)
        if tag != DYNAMIC and size > 1
    ]
    if extra:
        listed = ", ".join(f"{tag} of size {size}" for tag, size in extra)
        raise InputError(
            f"has {listed}; the fit needs preprocessed block spectra with at most a dynamic "
            f"dimension ({DYNAMIC}): combine coils / average / split other dimensions first",
            file=source,
        )
    fids = data.fids
    axis = data.axis(DYNAMIC)
    if axis is None:
        return fids.reshape(fids.shape[0], 1)
    fids = np.moveaxis(fids, axis, -1)
    return fids.reshape(fids.shape[0], fids.shape[-1])


def echo_time_ms(data: MRSData) -> float | None:
    """Echo time from the NIfTI-MRS header (EchoTime, s), ms; None if absent."""
    te = data.header.get("EchoTime")
    try:
        return None if te is None else float(te) * 1000.0
    except (TypeError, ValueError):
        return None


def used_blocks(fids: np.ndarray, source: str) -> list[int]:
    """Indices of the blocks holding data (n_points, n_blocks): a block without any kept
    transient (all zeros) is reported, not fitted; InputError when every block is empty."""
    used = [j for j in range(fids.shape[1]) if np.any(fids[:, j])]
    if not used:
        raise InputError("every block is empty (no transient kept)", file=source)
    return used


def mean_fit(fids, used, data: MRSData, fb, settings: dict, source: str) -> FitResult:
    """Fit of the mean of the used blocks, its baseline penalty chosen for one block's noise."""
    return fit_spectrum(
        fids[:, used].mean(axis=1), data.dwell_s, data.cf_mhz, fb, settings,
        source=f"{source}, mean of the blocks", averaged_blocks=len(used),
    )  # fmt: skip


def block_fit(fids, j: int, data: MRSData, fb, settings: dict, source: str, penalty):
    """Fit of block j with the session's baseline penalty (None: chosen on the block)."""
    return fit_spectrum(
        fids[:, j], data.dwell_s, data.cf_mhz, fb, settings,
        source=f"{source}, block {j}", baseline_penalty=penalty,
    )  # fmt: skip


def fit_data(
    data: MRSData,
    basis: Basis,
    settings: dict | None = None,
    source: str = "<data>",
) -> list[tuple[int, FitResult]]:
    """Fit every block of `data`; list of (block index, FitResult).

    With `baseline_penalty: auto` and more than one block, the spline penalty is chosen once,
    on the mean of the blocks (the session's mean spectrum) for the noise level of one block,
    and every block is fitted with it, so that the baseline absorbs the same share of signal
    in every block."""
    settings = resolve_settings(settings)
    fids = blocks_of(data, source)
    with single_threaded_blas():
        fb = prepare_basis(
            basis, data.n_points, data.dwell_s, data.cf_mhz, settings, echo_time_ms(data), source
        )
        used = used_blocks(fids, source)
        penalty = None
        if len(used) > 1 and settings["baseline_penalty"] == "auto":
            penalty = mean_fit(fids, used, data, fb, settings, source).baseline_penalty
        return [
            (
                j,
                block_fit(fids, j, data, fb, settings, source, penalty)
                if j in used
                else empty_result(fb, settings, "empty block: no transient kept"),
            )
            for j in range(fids.shape[1])
        ]


def fit_data_dynamic(
    data: MRSData,
    basis: Basis,
    settings: dict | None = None,
    source: str = "<data>",
    phases: list[str] | None = None,
    compare: bool | None = None,
):
    """Joint fit of every block of `data` (settings `dynamic_*`); a `DynamicResult`.

    phases: the block table's phase per block (default GLM design and response contrasts).
    compare: also fit every block on its own (with the penalty of the mean spectrum, as
    `fit_data` does) into `block_fits`, for the comparison figure; None: when there are at
    most `COMPARE_MAX_BLOCKS` blocks."""
    from .dynamic import fit_dynamic
    from .dynamic_design import restrict, temporal_model

    settings = resolve_settings(settings)
    fids = blocks_of(data, source)
    n_blocks = fids.shape[1]
    temporal = temporal_model(settings, n_blocks, phases, source)
    used = used_blocks(fids, source)
    if len(used) < n_blocks:
        temporal = restrict(temporal, used, source)
    compare = len(used) <= COMPARE_MAX_BLOCKS if compare is None else compare
    with single_threaded_blas():
        fb = prepare_basis(
            basis, data.n_points, data.dwell_s, data.cf_mhz, settings, echo_time_ms(data), source
        )
        mean = mean_fit(fids, used, data, fb, settings, source)
        penalty = mean.baseline_penalty if settings["baseline"] == "spline" else None
        block_fits = []
        if compare:
            block_fits = [
                (j, block_fit(fids, j, data, fb, settings, source, penalty)) for j in used
            ]
        dyn = fit_dynamic(
            fids[:, used], data.dwell_s, data.cf_mhz, fb, settings, temporal,
            source=source, mean_fit=mean,
        )  # fmt: skip
    dyn.fits = [(used[i], r) for i, r in dyn.fits]
    dyn.block_fits = block_fits
    reason = "empty block: no transient kept"
    dyn.empty = [(j, empty_result(fb, settings, reason)) for j in range(n_blocks) if j not in used]
    return dyn


#: Largest number of blocks for which dynamic mode also fits every block on its own.
COMPARE_MAX_BLOCKS = 16


@dataclass(frozen=True)
class FitOutputs:
    """Paths of the files one fit writes. The names are those of the fit rule's outputs;
    the dynamic-mode files are optional (None: not written)."""

    fit: str | os.PathLike
    fit_sidecar: str | os.PathLike
    ratios: str | os.PathLike
    ratios_sidecar: str | os.PathLike
    qc: str | os.PathLike
    qc_sidecar: str | os.PathLike
    figure: str | os.PathLike
    response: str | os.PathLike | None = None
    response_sidecar: str | os.PathLike | None = None
    dynamic_figure: str | os.PathLike | None = None

    @classmethod
    def from_mapping(cls, paths, prefix: str = "") -> FitOutputs:
        """The fields found in `paths` (a mapping or Snakemake's output) as `prefix + name`."""
        keys = set(paths.keys())
        return cls(
            **{f.name: paths[prefix + f.name] for f in fields(cls) if prefix + f.name in keys}
        )

    @classmethod
    def in_folder(cls, folder: str | os.PathLike, dynamic: bool = False) -> FitOutputs:
        """The command line's layout: fit.tsv, fit.json, ratios.tsv, ratios.json,
        fit_qc.tsv, fit_qc.json, fit.png (+ response.tsv, response.json, dynamic.png)."""
        d = Path(folder)
        extra = {}
        if dynamic:
            extra = dict(
                response=d / "response.tsv",
                response_sidecar=d / "response.json",
                dynamic_figure=d / "dynamic.png",
            )
        return cls(
            fit=d / "fit.tsv",
            fit_sidecar=d / "fit.json",
            ratios=d / "ratios.tsv",
            ratios_sidecar=d / "ratios.json",
            qc=d / "fit_qc.tsv",
            qc_sidecar=d / "fit_qc.json",
            figure=d / "fit.png",
            **extra,
        )


def write_outputs(fits: list[tuple[int, FitResult]], out: FitOutputs, title: str = "") -> None:
    """Write the three tables, their sidecars and the figure."""
    write_text(out.fit, tsv_text(fit_table(fits), FLOAT_FORMAT))
    write_text(out.ratios, tsv_text(ratio_table(fits), FLOAT_FORMAT))
    write_text(out.qc, tsv_text(qc_table(fits), FLOAT_FORMAT))
    write_text(out.fit_sidecar, json_text(FIT_COLUMNS))
    write_text(out.ratios_sidecar, json_text(RATIO_COLUMNS))
    write_text(out.qc_sidecar, json_text(qc_columns(fits)))
    plot_fits(fits, out.figure, title)


def fit_file(
    in_path: str | os.PathLike,
    basis_path: str | os.PathLike,
    out: FitOutputs,
    settings: dict | None = None,
    block_table: str | os.PathLike | None = None,
) -> list[tuple[int, FitResult]]:
    """Fit every block of the NIfTI-MRS file `in_path` with the basis set at `basis_path`
    (LCModel .BASIS or FSL-MRS JSON directory) and write the outputs `out`.

    block_table: table with a 'phase' column per block (blocks.tsv of preprocessing), used
    in dynamic mode only (None: every block is in one phase).
    Returns the (block, FitResult) list. InputError (naming the file) for unreadable data,
    unsupported dimensions, or a basis that does not match the data."""
    source = str(in_path)
    data = read_nifti_mrs(in_path)
    basis = read_basis(basis_path)
    if resolve_settings(settings)["mode"] == "dynamic":
        return _fit_file_dynamic(data, basis, settings, source, block_table, out)
    fits = fit_data(data, basis, settings, source)
    write_outputs(fits, out, title=Path(in_path).name)
    return fits


def _fit_file_dynamic(data, basis, settings, source, block_table, out: FitOutputs):
    from .dynamic_design import read_block_phases
    from .dynamic_plot import plot_dynamic
    from .dynamic_response import RESPONSE_COLUMNS, response_table

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
