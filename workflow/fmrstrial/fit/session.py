"""Fit every block of a session's block spectra (`fit_data`), or all blocks jointly
(`fit_data_dynamic`, setting `mode: dynamic`; `fmrstrial.fit.dynamic`).

Blocks are the entries along DIM_DYN (a spectrum without a dynamic dimension is one block).
Any other higher dimension with more than one entry (coils, edit conditions, ...) is an
error: the fit expects coil-combined, preprocessed block spectra. With more than one block,
the session's background (the spline baseline and the macromolecules, neither of which
should change within minutes) is fitted once, on the mean of the blocks (`mean_fit`), and
held fixed for every block (`session_background`, `block_fit`); each block then fits the
metabolites, the lipids and a baseline correction on top of it, with the lineshape
differences between the metabolite group and the singlet (and user) groups held at the
mean's (`session_group_offsets`). Writing the results is the fit step's job
(`fmrstrial.steps.fit`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..blas import single_threaded_blas
from ..errors import InputError
from ..io.basis import Basis
from ..io.nifti_mrs import LINEWIDTH_MATCHING_KEY, MRSData
from ..spectra import broadening_envelope
from .basis_setup import MM_GROUP, FitBasis, prepare_basis
from .core import FitResult, empty_result, fit_spectrum
from .results import lipid_tnaa
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


def mean_fit(
    fids, used, data: MRSData, fb, settings: dict, source: str, own_noise: bool = False
) -> FitResult:
    """Fit of the mean of the used blocks, its baseline penalty chosen for one block's noise
    (the flexibility for blocks that fit their own baseline with it), or (`own_noise`) for
    the mean's own noise (the flexibility for a session background held fixed in every
    block, which the mean's SNR supports)."""
    return fit_spectrum(
        fids[:, used].mean(axis=1), data.dwell_s, data.cf_mhz, fb, settings,
        source=f"{source}, mean of the blocks",
        averaged_blocks=1 if own_noise else len(used),
    )  # fmt: skip


def block_fit(
    fids, j: int, data: MRSData, fb, settings: dict, source: str, penalty, background=None,
    group_offsets=None,
):  # fmt: skip
    """Fit of block j with a baseline penalty (None: chosen on the block) and optionally on
    a fixed session background (n_fit,) complex, data frame, and with the session's group
    offsets (`session_group_offsets`)."""
    return fit_spectrum(
        fids[:, j], data.dwell_s, data.cf_mhz, fb, settings,
        source=f"{source}, block {j}", baseline_penalty=penalty, background=background,
        group_offsets=group_offsets, noise_envelope=matching_envelope(data, j),
    )  # fmt: skip


def matching_envelope(data: MRSData, j: int) -> np.ndarray | None:
    """The linewidth-matching envelope (n_points,) that preprocessing multiplied block j by
    (its header entry `LinewidthMatching`), or None when the block was not broadened or the
    file does not say (data from elsewhere, the unmatched blocks)."""
    entry = data.header.get(LINEWIDTH_MATCHING_KEY)
    if not isinstance(entry, dict):
        return None
    value = entry.get("Value", {})
    widths = value.get("broadening_hz", [])
    if j >= len(widths) or not widths[j] > 0:
        return None
    return broadening_envelope(
        data.n_points, data.dwell_s, float(widths[j]), value.get("lineshape", "lorentzian")
    )


def background_names(settings: dict) -> list[str]:
    """Components held fixed at the session mean's fit: the macromolecules (parameterised
    and measured); lipids stay free per block (scalp lipid can come and go)."""
    return list(settings["macromolecules"]) + list(settings["measured_mm"])


def session_background(mean: FitResult, names: list[str]) -> np.ndarray:
    """The mean fit's baseline plus its components `names`, (n_fit,) complex, in the data's
    frame (the mean's fitted phase put back)."""
    fixed = [i for i, n in enumerate(mean.names) if n in names]
    return (mean.baseline + mean.components[:, fixed].sum(axis=1)) * mean.phase


def fit_blocks_on_background(
    fids, used: list[int], data: MRSData, fb: FitBasis, settings: dict, source: str,
    mean: FitResult | None = None,
) -> dict[int, FitResult]:  # fmt: skip
    """Every used block fitted on the session background of the mean spectrum (`mean`:
    its fit with `own_noise`, when already done), block index -> FitResult
    (`with_fixed_components`)."""
    if mean is None:
        mean = mean_fit(fids, used, data, fb, settings, source, own_noise=True)
    fixed = background_names(settings)
    background = session_background(mean, fixed)
    fb_block = fb.without(fixed)
    block_settings = {**settings, "macromolecules": [], "measured_mm": []}
    block_settings["baseline_flexibility"] = "auto"  # a block's correction: chosen per block
    block_settings["ppm_range"] = list(mean.fit_range_ppm)  # the background's grid
    if not settings["block_baseline_correction"]:
        block_settings["baseline"] = "none"
    offsets = session_group_offsets(mean, fb_block) if settings["session_group_offsets"] else None
    fits = {}
    for j in used:
        r = block_fit(fids, j, data, fb_block, block_settings, source, None, background, offsets)
        fits[j] = with_fixed_components(r, mean, fixed)
    return fits


def session_group_offsets(mean: FitResult, fb: FitBasis) -> dict[str, tuple[float, float, float]]:
    """The mean fit's shift, Lorentzian and Gaussian FWHM of every lineshape group of `fb`
    relative to the metabolite group's (Hz), for the groups whose blocks keep them: all but
    the metabolite group and the macromolecule group (which in a block holds the lipids,
    free per block: scalp lipid can come and go)."""
    p = mean.params
    ref = fb.groups[0]

    def offset(kind: str, g: str) -> float:
        return p[f"{kind}_hz_{g}"] - p[f"{kind}_hz_{ref}"]

    held = [g for g in fb.groups[1:] if g != MM_GROUP]
    return {g: (offset("shift", g), offset("lorentz", g), offset("gauss", g)) for g in held}


def with_fixed_components(block: FitResult, mean: FitResult, fixed: list[str]) -> FitResult:
    """A block's result on the session background, completed with the background's
    components as the mean fitted them (amplitude and CRLB SD of the mean; no covariance
    with the block's amplitudes), in the order of the mean's components, so that a block's
    table has the same rows with and without a session background. The fixed components
    leave the block's `baseline` (which keeps the mean's spline plus the block's correction)
    for `components`, turned to the block's phase."""
    names = mean.names
    pos = [names.index(n) for n in block.names]
    k = len(names)
    fixed_idx = [names.index(n) for n in fixed if n in names]
    amplitudes = mean.amplitudes.copy()
    amplitudes[pos] = block.amplitudes
    amplitude_sd = mean.amplitude_sd.copy()
    amplitude_sd[pos] = block.amplitude_sd
    covariance = np.diag(mean.amplitude_sd**2)
    covariance[np.ix_(pos, pos)] = block.covariance
    to_block = mean.phase / block.phase
    fixed_parts = mean.components[:, fixed_idx] * to_block[:, None]
    components = np.zeros((block.components.shape[0], k), dtype=complex)
    components[:, pos] = block.components
    components[:, fixed_idx] = fixed_parts
    baseline = block.baseline - fixed_parts.sum(axis=1)
    return replace(
        block,
        names=list(names),
        kinds=list(mean.kinds),
        amplitudes=amplitudes,
        amplitude_sd=amplitude_sd,
        covariance=covariance,
        components=components,
        baseline=baseline,
        session_baseline_penalty=mean.baseline_penalty,
        session_baseline_ed_per_ppm=mean.baseline_ed_per_ppm,
    )


def fit_blocks(
    fids, used: list[int], data: MRSData, fb: FitBasis, settings: dict, source: str,
    mean: FitResult | None = None,
) -> dict[int, FitResult]:  # fmt: skip
    """Every used block fitted as `fit_data` fits it, block index -> FitResult; `mean`: the
    fit of the mean of the blocks, when already done (made here only when needed), as
    `mean_fit` makes it for these settings (own noise with a session background)."""
    several = len(used) > 1
    if several and settings["session_background"]:
        return fit_blocks_on_background(fids, used, data, fb, settings, source, mean)
    penalty = None
    if several and settings["baseline"] == "spline" and settings["baseline_penalty"] == "auto":
        if mean is None:
            mean = mean_fit(fids, used, data, fb, settings, source)
        penalty = mean.baseline_penalty
    return {j: block_fit(fids, j, data, fb, settings, source, penalty) for j in used}


def fit_data(
    data: MRSData,
    basis: Basis,
    settings: dict | None = None,
    source: str = "<data>",
) -> list[tuple[int, FitResult]]:
    """Fit every block of `data`; list of (block index, FitResult).

    With more than one block and `session_background: true` (default), the baseline and
    macromolecules are fitted once on the mean of the blocks (its spline penalty chosen for
    the mean's own noise) and held fixed for every block, which fits the metabolites, the
    lipids and a baseline correction (its penalty chosen per block by the same criterion),
    so that the background absorbs the same signal in every block; the singlet and user
    groups keep the mean's shift and width offsets from the metabolites
    (`session_group_offsets`). With
    `session_background: false` and `baseline_penalty: auto`, only the penalty is chosen on
    the mean and every block fits its own baseline and macromolecules with it."""
    settings = resolve_settings(settings)
    fids = blocks_of(data, source)
    with single_threaded_blas():
        fb = prepare_basis(
            basis, data.n_points, data.dwell_s, data.cf_mhz, settings, echo_time_ms(data), source
        )
        used = used_blocks(fids, source)
        fits = fit_blocks(fids, used, data, fb, settings, source)
        reason = "empty block: no transient kept"
        return [
            (j, fits[j] if j in used else empty_result(fb, settings, reason))
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
    compare: also fit every block on its own (`fit_blocks`, as `fit_data` does) into
    `block_fits`, for the comparison figure; None: when there are at most
    `COMPARE_MAX_BLOCKS` blocks. Blocks whose lipid index rises above the session's median
    by more than `dynamic_lipid_outlier` are left out of a second joint fit of the others
    (their shared baseline and lineshape would move the whole session's level); their
    first-pass results go to `empty` with the reason in `message`."""
    from .dynamic import fit_dynamic
    from .dynamic_design import estimable, restrict, temporal_model

    settings = resolve_settings(settings)
    fids = blocks_of(data, source)
    n_blocks = fids.shape[1]
    full = temporal_model(settings, n_blocks, phases, source)
    used = used_blocks(fids, source)
    compare = len(used) <= COMPARE_MAX_BLOCKS if compare is None else compare

    def joint(blocks: list[int]):
        temporal = full if len(blocks) == n_blocks else restrict(full, blocks, source)
        dyn = fit_dynamic(
            fids[:, blocks], data.dwell_s, data.cf_mhz, fb, settings, temporal,
            source=source, mean_fit=mean_fit(fids, blocks, data, fb, settings, source),
            noise_envelopes=[matching_envelope(data, j) for j in blocks],
        )  # fmt: skip
        dyn.fits = [(blocks[i], r) for i, r in dyn.fits]
        return dyn

    with single_threaded_blas():
        fb = prepare_basis(
            basis, data.n_points, data.dwell_s, data.cf_mhz, settings, echo_time_ms(data), source
        )
        block_fits = []
        if compare:
            # the blocks' own mean fit: with a session background it is chosen for the
            # mean's noise, the joint fit's for one block's (`mean_fit`)
            block_fits = sorted(fit_blocks(fids, used, data, fb, settings, source).items())
        dyn = joint(used)
        excluded = lipid_outliers(dyn.fits, settings["dynamic_lipid_outlier"])
        kept = [j for j in used if j not in excluded]
        if excluded and len(kept) >= 2 and estimable(full, kept):
            first = dict(dyn.fits)
            dyn = joint(kept)
            dyn.empty = [(j, replace(first[j], message=excluded[j])) for j in excluded]
    joint_blocks = {j for j, _ in dyn.fits}
    dyn.block_fits = [(j, r) for j, r in block_fits if j in joint_blocks]  # the figure's pairs
    reason = "empty block: no transient kept"
    dyn.empty += [(j, empty_result(fb, settings, reason)) for j in range(n_blocks) if j not in used]
    return dyn


def lipid_outliers(fits: list[tuple[int, FitResult]], limit: float | None) -> dict[int, str]:
    """Blocks whose lipid index (`lipid_tnaa`) exceeds the median of `fits` by more than
    `limit` (None: none), block -> reason."""
    if limit is None:
        return {}
    index = {j: lipid_tnaa(r) for j, r in fits}
    values = np.array([v for v in index.values() if np.isfinite(v)])
    if values.size < 3:
        return {}
    median = float(np.median(values))
    return {
        j: f"left out of the joint fit: lipid index {v:.2f} x tNAA, {v - median:.2f} above the "
        f"session's median > {limit:g} (values of the first joint fit)"
        for j, v in index.items()
        if np.isfinite(v) and v - median > limit
    }


def joint_fit(settings: dict | None, data: MRSData, source: str = "<data>") -> bool:
    """True when `settings` choose the dynamic mode and `data` hold more than one block (a
    joint fit of one block has nothing to share: it is fitted on its own)."""
    return resolve_settings(settings)["mode"] == "dynamic" and blocks_of(data, source).shape[1] > 1


def fit_in_mode(
    data: MRSData,
    basis: Basis,
    settings: dict | None = None,
    source: str = "<data>",
    phases: list[str] | None = None,
) -> list[tuple[int, FitResult]]:
    """Every block of `data` fitted in the settings' mode (`joint_fit`), (block, FitResult)
    in block order: the joint fit's results (blocks left out and empty ones included, without
    the comparison fits) or `fit_data`'s."""
    if joint_fit(settings, data, source):
        dyn = fit_data_dynamic(data, basis, settings, source, phases, compare=False)
        return sorted(dyn.fits + dyn.empty, key=lambda item: item[0])
    return fit_data(data, basis, settings, source)


#: Largest number of blocks for which dynamic mode also fits every block on its own.
COMPARE_MAX_BLOCKS = 16
