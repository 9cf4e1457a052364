"""Settings of the preprocessing step: defaults, one-sentence descriptions, validation.

`DEFAULTS` is flat (one level of keys) so that the workflow's config schema can list it
directly; `DESCRIPTIONS` holds one sentence per key. `resolve_settings` merges user
overrides into the defaults and raises InputError for an unknown key or a bad value.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from ..io.config import load_section

DEFAULTS: dict[str, Any] = {
    # coil combination
    "coil_combination": "auto",
    "noise_tail_fraction": 0.5,
    # eddy currents and phasing
    "eddy_current_correction": True,
    # alignment
    "align": True,
    "align_ppm": [1.8, 4.2],
    "align_baseline_order": 2,
    "align_max_shift_hz": 20.0,
    "align_time_s": 0.4,
    "align_iterations": 1,
    "reference_ppm": 2.008,
    "reference_search_ppm": [1.9, 2.12],
    "reference_max_offset_ppm": 0.5,
    # rejection
    "reject": True,
    "reject_z": 4.0,
    "reject_window": 15,
    "reject_max_freq_jump_hz": 3.0,
    "reject_max_phase_jump_deg": 20.0,
    # residual water
    "hlsvd": True,
    "hlsvd_ppm": [4.2, 5.2],
    "hlsvd_components": 30,
    "hlsvd_points": 512,
    # time blocks
    "tr_s": None,
    "baseline_blocks": 2,
    "baseline_window_min": None,
    "infusion_block_min": 5.0,
    "infusion_window_min": 30.0,
    "sliding_window": False,
    "sliding_width_min": 5.0,
    "sliding_step_min": 1.0,
    # linewidth matching
    "linewidth_matching": True,
    "linewidth_lineshape": "lorentzian",
    # quality control
    "naa_ppm": [1.9, 2.12],
    "qc_min_snr": 20.0,
    "qc_max_fwhm_hz": 12.8,
    "qc_max_excluded_fraction": 0.2,
}

DESCRIPTIONS: dict[str, str] = {
    "coil_combination": "Coil combination for uncombined data: 'auto' (weights from the water "
    "reference when it has the same coils, else whitened SVD), 'water' or 'svd'.",
    "noise_tail_fraction": "Fraction of the FID at its end (signal decayed) used to estimate "
    "the noise (co)variance.",
    "eddy_current_correction": "Correct eddy currents with the water reference (Klose 1990) "
    "when a reference is given; its phase is kept only when the NAA/Cr singlets agree with it.",
    "align": "Align the frequency and zero-order phase of every transient to the session "
    "template by spectral registration.",
    "align_ppm": "Chemical-shift window [low, high] (ppm) compared in spectral registration.",
    "align_baseline_order": "Degree of the complex polynomial baseline projected out of the "
    "registration window (negative: none); makes registration insensitive to water tails.",
    "align_max_shift_hz": "Largest frequency correction (Hz) searched for one transient.",
    "align_time_s": "Length of the start of the FID (s) used in registration (the rest is "
    "noise once the signal has decayed).",
    "align_iterations": "Number of template refinements (template = mean of the aligned, "
    "non-outlying transients) before and after water removal.",
    "reference_ppm": "Chemical shift (ppm) at which the NAA singlet of the output is placed.",
    "reference_search_ppm": "Window [low, high] (ppm) searched for the NAA peak when "
    "referencing, phasing and measuring NAA.",
    "reference_max_offset_ppm": "Largest frequency offset (ppm) of the session's NAA/Cr/Cho "
    "pattern searched for before referencing (after eddy-current correction, which moves the "
    "spectrum by the water reference's own offset).",
    "reject": "Exclude corrupt transients (see reject_z and the absolute jump limits).",
    "reject_z": "Robust z-score (median/MAD) above which a transient's registration residual, "
    "amplitude, frequency jump or phase jump marks it as corrupt.",
    "reject_window": "Number of transients in the running median that defines a frequency "
    "or phase jump.",
    "reject_max_freq_jump_hz": "A transient whose frequency differs from the running median "
    "by more than this (Hz) is excluded, whatever its z-score.",
    "reject_max_phase_jump_deg": "A transient whose phase differs from the running median by "
    "more than this (degrees) is excluded, whatever its z-score.",
    "hlsvd": "Remove residual water by HLSVD (Hankel SVD) components inside hlsvd_ppm.",
    "hlsvd_ppm": "Chemical-shift band [low, high] (ppm) whose HLSVD components are removed.",
    "hlsvd_components": "Number of damped sinusoids in the HLSVD model.",
    "hlsvd_points": "Number of leading FID points used to build the Hankel matrix.",
    "tr_s": "Repetition time (s) between transients; null takes RepetitionTime from the "
    "NIfTI-MRS header.",
    "baseline_blocks": "Number of equal blocks the pre-infusion baseline window is split into.",
    "baseline_window_min": "Length (min) of the baseline window ending at infusion start; null "
    "uses every transient before the infusion.",
    "infusion_block_min": "Length (min) of each infusion block, counted from infusion start.",
    "infusion_window_min": "Length (min) of the infusion period divided into blocks.",
    "sliding_window": "Use overlapping sliding windows instead of consecutive blocks "
    "(windows never straddle infusion start).",
    "sliding_width_min": "Width (min) of a sliding window.",
    "sliding_step_min": "Step (min) between the starts of consecutive sliding windows.",
    "linewidth_matching": "Broaden every block to the NAA linewidth of the session's broadest "
    "usable block (BOLD narrowing correction).",
    "linewidth_lineshape": "Lineshape of the matching broadening: 'lorentzian' (T2*-like, "
    "the BOLD effect) or 'gaussian'.",
    "naa_ppm": "Window [low, high] (ppm) in which the NAA peak height and FWHM are measured.",
    "qc_min_snr": "A block fails QC when its NAA SNR (definition in blocks_qc.json) is below this.",
    "qc_max_fwhm_hz": "A block fails QC when its NAA FWHM before matching exceeds this (Hz; "
    "0.1 ppm at 3 T is 12.8 Hz).",
    "qc_max_excluded_fraction": "A block fails QC when more than this fraction of its "
    "transients was excluded.",
}

_CHOICES = {
    "coil_combination": ("auto", "water", "svd"),
    "linewidth_lineshape": ("lorentzian", "gaussian"),
}
_BOOLS = (
    "eddy_current_correction",
    "align",
    "reject",
    "hlsvd",
    "sliding_window",
    "linewidth_matching",
)
_RANGES_PPM = ("align_ppm", "reference_search_ppm", "hlsvd_ppm", "naa_ppm")
_POSITIVE = (
    "align_max_shift_hz",
    "align_time_s",
    "reference_ppm",
    "reject_z",
    "reject_max_freq_jump_hz",
    "reject_max_phase_jump_deg",
    "infusion_block_min",
    "infusion_window_min",
    "sliding_width_min",
    "sliding_step_min",
    "qc_max_fwhm_hz",
    "reference_max_offset_ppm",
)
_INTS = {
    "align_iterations": 0,
    "reject_window": 3,
    "hlsvd_components": 1,
    "hlsvd_points": 8,
    "baseline_blocks": 1,
    "align_baseline_order": -1,
}


def _bad(key: str, message: str, source: str) -> InputError:
    return InputError(f"preprocess setting '{key}' {message}", file=source)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def resolve_settings(
    overrides: Mapping[str, Any] | None = None, source: str = "preprocess settings"
) -> dict[str, Any]:
    """DEFAULTS updated by `overrides`; InputError (naming `source`) for a bad key or value."""
    settings = copy.deepcopy(DEFAULTS)
    for key, value in (overrides or {}).items():
        if key not in DEFAULTS:
            raise _bad(key, f"is unknown (known: {', '.join(sorted(DEFAULTS))})", source)
        settings[key] = copy.deepcopy(value)
    for key, choices in _CHOICES.items():
        if settings[key] not in choices:
            raise _bad(key, f"must be one of {', '.join(choices)}, got {settings[key]!r}", source)
    for key in _BOOLS:
        if not isinstance(settings[key], bool):
            raise _bad(key, f"must be true or false, got {settings[key]!r}", source)
    for key in _RANGES_PPM:
        v = settings[key]
        if not (isinstance(v, list | tuple) and len(v) == 2 and all(_number(x) for x in v)):
            raise _bad(key, f"must be a pair [low, high] of numbers (ppm), got {v!r}", source)
        if not v[0] < v[1]:
            raise _bad(key, f"must have low < high, got {v!r}", source)
        settings[key] = [float(v[0]), float(v[1])]
    for key in _POSITIVE:
        if not _number(settings[key]) or not settings[key] > 0:
            raise _bad(key, f"must be a positive number, got {settings[key]!r}", source)
    for key, lo in _INTS.items():
        v = settings[key]
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            raise _bad(key, f"must be an integer >= {lo}, got {v!r}", source)
    frac = settings["noise_tail_fraction"]
    if not _number(frac) or not 0.05 <= frac <= 0.75:
        raise _bad("noise_tail_fraction", f"must be in [0.05, 0.75], got {frac!r}", source)
    for key in ("qc_min_snr",):
        if not _number(settings[key]) or settings[key] < 0:
            raise _bad(key, f"must be a number >= 0, got {settings[key]!r}", source)
    frac = settings["qc_max_excluded_fraction"]
    if not _number(frac) or not 0 <= frac <= 1:
        raise _bad("qc_max_excluded_fraction", f"must be in [0, 1], got {frac!r}", source)
    for key in ("tr_s", "baseline_window_min"):
        v = settings[key]
        if v is not None and (not _number(v) or not v > 0):
            raise _bad(key, f"must be a positive number or null, got {v!r}", source)
    return settings


def load_settings(path: str | None) -> dict[str, Any]:
    """Settings from the `preprocess:` section of a YAML file (or the whole file)."""
    if path is None:
        return resolve_settings()
    return resolve_settings(load_section(path, "preprocess"), source=path)
