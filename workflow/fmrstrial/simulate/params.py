"""Parameters of the trial simulator: defaults, merging of user overrides, validation.

The defaults describe the demo trial. They are chosen from the literature and from the
published design (docs/simulator.md), never tuned to make one seed hit the
published statistics. `config/config.yaml` (key `simulate:`) and `fmrstrial simulate
--config` override them key by key; unknown keys are an error.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from .clinical import SCALE_DEFAULTS
from .macromolecules import MM_AMPLITUDES

#: Population mean concentrations in the anterior cingulate, mM-like basis units
#: (healthy/depressed adult ACC at 3T; cf. Govindaraju 2000, Moriguchi 2019 review).
CONCENTRATIONS = {
    "Asc": 1.0,
    "Asp": 2.5,
    "Cr": 4.3,
    "GABA": 1.3,
    "GPC": 1.4,
    "GSH": 1.6,
    "Gln": 3.2,
    "Glu": 9.5,
    "Ins": 6.5,
    "Lac": 0.6,
    "NAA": 8.9,
    "NAAG": 1.2,
    "PCh": 0.5,
    "PCr": 3.7,
    "PE": 1.2,
    "Scyllo": 0.3,
    "Tau": 1.5,
}

#: Macromolecule peaks and their amplitudes (protons x mM-like units): the literature MM
#: spectrum of `simulate.macromolecules` (Bell et al. 2024), not the fitter's MM Gaussians.
MACROMOLECULES = dict(MM_AMPLITUDES)

#: The fitter's own basis set (GE) and LCModel-style MM Gaussians: the inverse crime.
GE_BASIS = "basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS"

DEFAULTS: dict[str, Any] = {
    "seed": 20260917,
    "participants": 26,
    "design": {
        "female_fraction": 0.5,
        "age_mean": 38.0,
        "age_sd": 11.0,
        "age_min": 18,
        "age_max": 65,
    },
    "acquisition": {
        "basis": "basis/lcmodel_press35_3T/3T_PRESS_Philips_35ms_noMM.BASIS",
        "spectral_width_hz": 1200.0,
        "points": 1024,
        "tr_s": 3.0,
        "te_ms": 35.0,
        "baseline_min": 8.0,
        "baseline_jitter_min": 0.5,
        "infusion_min": 30.0,
        "water_ref_transients": 8,
        "block_min": 6.0,
        "multi_coil_fraction": 0.1,
        "coils": 4,
        "coil_noise_correlation": 0.2,
    },
    "signal": {
        "concentrations": dict(CONCENTRATIONS),
        "macromolecules": dict(MACROMOLECULES),
        "between_participant_cv": 0.08,
        "between_session_cv": 0.02,
        "lorentz_hz": [2.5, 3.5],
        "gauss_hz": [3.0, 4.5],
        "water_extra_lorentz_hz": 1.5,
        "snr_naa": [9.0, 14.0],
        "bold_narrowing_hz": 0.35,
        "bold_tau_min": 3.0,
        "drift_hz_per_min": [-0.08, 0.02],
        "drift_walk_hz": 0.02,
        "frequency_jitter_hz": 0.25,
        "phase_offset_deg": [-180.0, 180.0],
        "phase_jitter_deg": 3.0,
        "eddy_current_rad": 0.2,
        "eddy_current_tau_s": 0.05,
        "residual_water": [5.0, 30.0],
        "water_amplitude": 1500.0,
        "corrupt_fraction": 0.02,
        "mm_scale_cv": 0.1,
        "baseline_amplitude": [0.1, 0.3],
        "baseline_components": 4,
        "baseline_fwhm_ppm": [0.6, 2.0],
        "lineshape_satellites": 2,
        "lineshape_satellite_weight": [0.05, 0.3],
        "lineshape_satellite_shift_hz": [1.0, 3.0],
        "residual_eddy_current_rad": 0.1,
    },
    "habits": {
        "phase_unrelated_fraction": 0.2,
        "large_offset_fraction": 0.1,
        "large_offset_hz": [12.0, 38.0],
        "water_offset_ppm": 0.05,
        "large_drift_fraction": 0.15,
        "large_drift_hz_per_min": [0.15, 0.4],
        "motion_fraction": 0.25,
        "motion_bursts": [1, 3],
        "motion_burst_transients": [5, 40],
        "lipid_fraction": 0.06,
        "lipid_min": [3.0, 10.0],
        "lipid_amplitude": [20.0, 60.0],
        "broadened_sessions": 1,
        "broadened_lorentz_hz": [11.0, 13.0],
        "low_snr_sessions": 1,
        "low_snr_naa": [0.8, 1.2],
    },
    "effects": {
        "glx_response_placebo": 0.04,
        "gln_response_factor": 1.0,
        "response_tau_min": 4.0,
        "response_cv": 0.2,
        "naltrexone_attenuation_male": 0.7,
        "naltrexone_attenuation_female": 0.3,
        "period2_glx": 0.01,
        "madrs_pre_mean": 32.0,
        "madrs_between_sd": 4.0,
        "madrs_residual_sd": 4.3,
        "madrs_reduction_placebo": 14.0,
        "madrs_attenuation": 0.28,
        "madrs_reduction_cv": 0.2,
        "madrs_period2": -1.0,
        "glx_madrs_correlation": 0.3,
    },
    "clinical": copy.deepcopy(SCALE_DEFAULTS),
    "missing": {
        "teps_anticipatory_pre_fraction": 0.15,
        "item_fraction": 0.005,
    },
}

#: Overrides that switch every session-level habit off (phase unrelated to the reference,
#: large offsets and drift, motion bursts, lipids, a broadened and a low-SNR session).
NO_HABITS: dict[str, Any] = {
    "habits": {
        "phase_unrelated_fraction": 0.0,
        "large_offset_fraction": 0.0,
        "large_drift_fraction": 0.0,
        "motion_fraction": 0.0,
        "lipid_fraction": 0.0,
        "broadened_sessions": 0,
        "low_snr_sessions": 0,
    }
}

#: Overrides that make the simulator the fitter's mirror, for inverse-crime unit tests only:
#: the GE basis the default fit uses, its LCModel-style MM Gaussians with fixed amplitudes,
#: a pure Voigt lineshape, no baseline, no habits.
INVERSE_CRIME: dict[str, Any] = {
    "acquisition": {"basis": GE_BASIS},
    "signal": {
        "macromolecules": {"MM09": 3.0, "MM12": 2.0, "MM14": 3.0, "MM17": 1.5, "MM20": 4.0},
        "mm_scale_cv": 0.0,
        "baseline_amplitude": [0.0, 0.0],
        "lineshape_satellites": 0,
        "residual_eddy_current_rad": 0.0,
    },
    **NO_HABITS,
}

#: Mappings that an override replaces as a whole (their keys are names, not settings).
_WHOLE = ("concentrations", "macromolecules")

_RANGES = {
    "participants": (2, 10000),
}


def deep_merge(base: Mapping, override: Mapping, path: str = "simulate") -> dict:
    """Override `base` key by key; an unknown key raises InputError naming its path."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        where = f"{path}.{key}"
        if key not in out:
            raise InputError(
                f"unknown simulation key '{where}' (known: {', '.join(sorted(out))})",
                file="simulation config",
            )
        if isinstance(out[key], Mapping) and key not in _WHOLE:
            if not isinstance(value, Mapping):
                raise InputError(f"'{where}' must be a mapping", file="simulation config")
            out[key] = deep_merge(out[key], value, where)
        else:
            out[key] = copy.deepcopy(value)
    return out


def combine(*overrides: Mapping) -> dict:
    """Override mappings merged key by key (later ones win); validated later by `resolve`."""
    out: dict = {}
    for o in overrides:
        for key, value in o.items():
            nested = key not in _WHOLE and isinstance(out.get(key), Mapping)
            if nested and isinstance(value, Mapping):
                out[key] = combine(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def resolve(overrides: Mapping | None = None, **top: Any) -> dict:
    """Defaults merged with `overrides` and keyword overrides (e.g. participants=4, seed=1)."""
    params = deep_merge(DEFAULTS, overrides or {})
    params = deep_merge(params, {k: v for k, v in top.items() if v is not None})
    n = params["participants"]
    lo, hi = _RANGES["participants"]
    if not isinstance(n, int) or not lo <= n <= hi:
        raise InputError(
            f"simulate.participants must be an integer in [{lo}, {hi}], got {n!r}",
            file="simulation config",
        )
    _check_habits(params)
    if not isinstance(params["seed"], int) or params["seed"] < 0:
        raise InputError(
            f"simulate.seed must be a non-negative integer, got {params['seed']!r}",
            file="simulation config",
        )
    return params


def _check_habits(params: dict) -> None:
    """Fractions in [0, 1], counts non-negative integers, [low, high] ranges ordered."""

    def bad(key: str, expected: str, value: Any) -> InputError:
        return InputError(
            f"simulate.{key} must be {expected}, got {value!r}", file="simulation config"
        )

    for section in ("signal", "habits"):
        for key, value in params[section].items():
            where = f"{section}.{key}"
            if key.endswith("_fraction") and not (
                isinstance(value, int | float) and 0 <= value <= 1
            ):
                raise bad(where, "a number in [0, 1]", value)
            if key.endswith(("_sessions", "_satellites", "_components")) and not (
                isinstance(value, int) and not isinstance(value, bool) and value >= 0
            ):
                raise bad(where, "an integer >= 0", value)
            if isinstance(value, list) and not (
                len(value) == 2
                and all(isinstance(v, int | float) for v in value)
                and value[0] <= value[1]
            ):
                raise bad(where, "a pair [low, high] of numbers with low <= high", value)
