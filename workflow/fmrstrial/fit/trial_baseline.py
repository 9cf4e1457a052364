"""One baseline flexibility for a whole trial, chosen on the trial's mean spectrum.

The criterion that chooses a spectrum's baseline flexibility (`select_baseline_penalty`)
picks a stiffer baseline at lower SNR, and Glx/tNAA moves with that choice by 10-40 %
(docs/fitting.md). Chosen per session, a low-SNR session then reads a different level from
the others for a reason that is not in the brain. With the fit setting
`baseline_flexibility: trial` the flexibility is chosen once, by the same criterion, on the
mean of every QC-passing block of every session (`trial_mean_spectrum`), and every session
is fitted with it (`flexibility_setting`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..io.basis import Basis
from ..io.nifti_mrs import read_nifti_mrs
from ..io.tsv import read_tsv
from .core import fit_spectrum
from .session import blocks_of, echo_time_ms, used_blocks
from .settings import resolve_settings

#: Relative tolerance on the sessions' spectrometer frequency (MHz) and dwell time (s).
GRID_TOLERANCE = 1e-6


@dataclass(frozen=True)
class TrialMean:
    """The mean FID of a trial's blocks, (n_points,) complex, on its sampling grid."""

    fid: np.ndarray
    dwell_s: float
    cf_mhz: float
    te_ms: float | None
    sessions: int
    blocks: int


def passing_blocks(qc_path: str | os.PathLike, n_blocks: int) -> list[int]:
    """0-based indices of the blocks that preprocessing QC passed (column `qc_pass` of
    blocks_qc.tsv, one row per block in order, 1 = pass); InputError naming the file."""
    table = read_tsv(qc_path)
    if "qc_pass" not in table.columns:
        raise InputError("has no column 'qc_pass' (expected a blocks_qc.tsv)", file=str(qc_path))
    if len(table) != n_blocks:
        raise InputError(
            f"lists {len(table)} blocks but the block spectra have {n_blocks}", file=str(qc_path)
        )
    return [j for j, ok in enumerate(table["qc_pass"]) if ok == 1]


def trial_mean_spectrum(
    block_files: Sequence[str | os.PathLike], qc_files: Sequence[str | os.PathLike]
) -> TrialMean:
    """Mean of every QC-passing, non-empty block of every session (each block weighs the
    same), summed in the order of the file paths. `block_files`: the sessions' preprocessed
    block spectra (NIfTI-MRS); `qc_files`: their blocks_qc.tsv, in the same order. All
    sessions must share one sampling grid (points, dwell time, spectrometer frequency);
    InputError naming the first file that does not, or when no block passes anywhere."""
    if len(block_files) != len(qc_files):
        raise ValueError("one blocks_qc.tsv per block file is needed")
    total, n_blocks, n_sessions, grid = None, 0, 0, None
    # summed in the order of the paths, so that the mean does not depend on the order given
    pairs = sorted(zip(map(str, block_files), qc_files, strict=True))
    for path, qc_path in pairs:
        data = read_nifti_mrs(path)
        fids = blocks_of(data, str(path))
        passed = passing_blocks(qc_path, fids.shape[1])
        keep = sorted(set(used_blocks(fids, str(path))) & set(passed))
        this = (fids.shape[0], data.dwell_s, data.cf_mhz, echo_time_ms(data))
        if grid is None:
            grid, first = this, str(path)
        elif this[0] != grid[0] or not np.allclose(this[1:3], grid[1:3], rtol=GRID_TOLERANCE):
            raise InputError(
                f"{this[0]} points, dwell {this[1]:g} s, {this[2]:.6f} MHz, where {first} has "
                f"{grid[0]} points, dwell {grid[1]:g} s, {grid[2]:.6f} MHz: a trial-wide baseline "
                "needs one sampling grid (set fit.settings.baseline_flexibility to 'auto')",
                file=str(path),
            )
        if not keep:
            continue
        part = fids[:, keep].sum(axis=1)
        total = part if total is None else total + part
        n_blocks += len(keep)
        n_sessions += 1
    if total is None:
        raise InputError(
            "no block of any session passed preprocessing QC: nothing to choose the trial's "
            "baseline flexibility on",
            file=str(block_files[0]) if block_files else "<no sessions>",
        )
    return TrialMean(total / n_blocks, grid[1], grid[2], grid[3], n_sessions, n_blocks)


def choose_trial_flexibility(mean: TrialMean, basis: Basis, settings: dict) -> dict:
    """Fit the trial's mean spectrum with the flexibility chosen by the criterion for the
    mean's own noise; returns the row of trial_baseline.tsv: baseline_ed_per_ppm (the
    choice), sessions, blocks, glx_tnaa and residual_noise_ratio of that fit."""
    fit = fit_spectrum(
        mean.fid, mean.dwell_s, mean.cf_mhz, basis, {**settings, "baseline_flexibility": "auto"},
        te_ms=mean.te_ms, source="the trial's mean spectrum",
    )  # fmt: skip
    return {
        "baseline_ed_per_ppm": fit.baseline_ed_per_ppm,
        "sessions": mean.sessions,
        "blocks": mean.blocks,
        "glx_tnaa": fit.ratios["Glx/tNAA"].value,
        "residual_noise_ratio": fit.residual_ratio,
    }


def read_trial_flexibility(path: str | os.PathLike) -> float:
    """The chosen effective dimensions per ppm from a trial_baseline.tsv; InputError naming
    the file when it is not one."""
    table = read_tsv(path)
    if len(table) != 1 or "baseline_ed_per_ppm" not in table.columns:
        raise InputError(
            "expected one row with a column 'baseline_ed_per_ppm' (a trial_baseline.tsv)",
            file=str(path),
        )
    value = float(table["baseline_ed_per_ppm"].iloc[0])
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"baseline_ed_per_ppm is {value}, expected > 0", file=str(path))
    return value


def flexibility_setting(settings: dict | None, trial_baseline: str | os.PathLike | None) -> dict:
    """Fit settings with the trial's flexibility from the `trial_baseline` table as the
    number `baseline_flexibility`, when the (resolved) setting is 'trial' and a table is
    given; otherwise the settings unchanged (without a table, 'trial' chooses on the file's
    own blocks: a file fitted alone is a trial of one session). InputError when a table is
    given but the setting is not 'trial' (the table would be ignored)."""
    settings = dict(settings or {})
    if trial_baseline is None:
        return settings
    if resolve_settings(settings)["baseline_flexibility"] != "trial":
        raise InputError(
            "a trial baseline table was given but the fit setting 'baseline_flexibility' is "
            "not 'trial'",
            file=str(trial_baseline),
        )
    return {**settings, "baseline_flexibility": read_trial_flexibility(trial_baseline)}
