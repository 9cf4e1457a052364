"""Settings of the linear-combination fit: defaults, one-sentence descriptions, validation.

`DEFAULTS` holds every key with its default value and `DESCRIPTIONS` one sentence per key
(used by the workflow's config schema and README). `resolve_settings` merges user overrides
key by key; an unknown key or a value of the wrong kind is an `InputError` naming the key.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..errors import InputError

#: tNAA + tCr + tCho: LCModel's 'Big3' denominator of its minor-metabolite priors.
BIG3 = ["NAA", "NAAG", "Cr", "PCr", "GPC", "PCh"]

#: Metabolites of the shipped LCModel PRESS 35 ms basis sets (and of the demo simulator).
METABOLITES = [
    "Asc",
    "Asp",
    "Cr",
    "GABA",
    "GPC",
    "GSH",
    "Gln",
    "Glu",
    "Ins",
    "Lac",
    "NAA",
    "NAAG",
    "PCh",
    "PCr",
    "PE",
    "Scyllo",
    "Tau",
]

#: LCModel 6.3's default soft constraints on concentration ratios (its CHRATO table), as
#: name -> numerator components, denominator components, expected ratio, SD. 'Big3' is
#: tNAA + tCr + tCho. They keep minor metabolites and the MM/lipid pattern plausible where
#: the data cannot separate them.
LCMODEL_RATIO_PRIORS: dict[str, dict[str, Any]] = {
    "MM12/MM09": {"numerator": ["MM12"], "denominator": ["MM09"], "ratio": 0.3, "sd": 0.1},
    "MM14/MM09": {"numerator": ["MM14"], "denominator": ["MM09"], "ratio": 0.75, "sd": 0.45},
    "MM17/MM09": {"numerator": ["MM17"], "denominator": ["MM09"], "ratio": 0.375, "sd": 0.3},
    "MM20/MM09": {"numerator": ["MM20"], "denominator": ["MM09"], "ratio": 1.5, "sd": 0.375},
    "Lip09/Lip13": {
        "numerator": ["Lip09"],
        "denominator": ["Lip13a", "Lip13b"],
        "ratio": 0.267,
        "sd": 0.1,
    },
    "Lip20/Lip13": {
        "numerator": ["Lip20"],
        "denominator": ["Lip13a", "Lip13b"],
        "ratio": 0.15,
        "sd": 0.07,
    },
    "Asp/Big3": {"numerator": ["Asp"], "denominator": BIG3, "ratio": 0.05, "sd": 0.05},
    "GABA/Big3": {"numerator": ["GABA"], "denominator": BIG3, "ratio": 0.03, "sd": 0.03},
    "Scyllo/Big3": {"numerator": ["Scyllo"], "denominator": BIG3, "ratio": 0.01, "sd": 0.01},
    "Tau/Big3": {"numerator": ["Tau"], "denominator": BIG3, "ratio": 0.05, "sd": 0.05},
    "GSH/(Gln+GSH)": {
        "numerator": ["GSH"],
        "denominator": ["Gln", "GSH"],
        "ratio": 0.286,
        "sd": 0.126,
    },
}

DEFAULTS: dict[str, Any] = {
    "ppm_range": [0.2, 4.0],
    "metabolites": list(METABOLITES),
    "macromolecules": ["MM09", "MM12", "MM14", "MM17", "MM20"],
    "lipids": ["Lip09", "Lip13a", "Lip13b", "Lip20"],
    "measured_mm": [],
    "ratio_priors": LCMODEL_RATIO_PRIORS,
    "groups": {},
    "baseline": "spline",
    "baseline_knot_spacing_ppm": 0.1,
    "baseline_penalty": "auto",
    "baseline_ed_per_ppm": [0.5, 12.0],
    "baseline_aic_factor": 5.0,
    "baseline_poly_order": 3,
    "shift_search_ppm": 0.1,
    "init_ppm_range": [1.8, 4.1],
    "shift_prior_sd_ppm": 0.1,
    "group_shift_prior_sd_ppm": 0.01,
    "lorentz_prior_hz": [2.0, 10.0],
    "gauss_prior_hz": [4.0, 10.0],
    "group_width_prior_sd_hz": 2.0,
    "phase1_prior_sd_deg_per_ppm": 5.0,
    "fit_phase1": True,
    "lineshape_knot_spacing_ms": 0.0,
    "lineshape_duration_ms": 300.0,
    "lineshape_prior_sd": 0.2,
    "zero_fill": 1,
    "noise_ppm": [[-3.0, -0.5], [8.5, 12.0]],
    "crlb": True,
    "crlb_noise": "residual",
    "max_iterations": 200,
    "sums": {
        "Glx": ["Glu", "Gln"],
        "tNAA": ["NAA", "NAAG"],
        "tCr": ["Cr", "PCr"],
        "tCho": ["GPC", "PCh"],
    },
    "ratios": {
        "Glx/tNAA": ["Glx", "tNAA"],
        "Glu/tNAA": ["Glu", "tNAA"],
        "Gln/tNAA": ["Gln", "tNAA"],
        "Glx/tCr": ["Glx", "tCr"],
    },
    "mode": "blocks",
    "dynamic_model": "free",
    "dynamic_design": {},
    "dynamic_block_lineshape": True,
    "dynamic_metabolites": [],
    "dynamic_lipids_per_block": True,
    "dynamic_mm_per_block": True,
    "dynamic_baseline": "shared",
}

DESCRIPTIONS: dict[str, str] = {
    "ppm_range": "Chemical-shift range [low, high] in ppm over which the spectrum is fitted.",
    "metabolites": "Basis-set metabolites to fit; each must be in the basis set.",
    "macromolecules": (
        "Parameterised Gaussian macromolecule components (LCModel positions MM09, MM12, MM14, "
        "MM17, MM20) fitted with free non-negative amplitudes; an empty list switches them off."
    ),
    "lipids": "Parameterised lipid components (Lip09, Lip13, Lip20) to add; empty for none.",
    "measured_mm": (
        "Names of basis-set entries holding a measured macromolecule spectrum, fitted in the "
        "macromolecule group."
    ),
    "ratio_priors": (
        "Soft constraints on amplitude ratios, name -> {numerator: [names], denominator: [names], "
        "ratio, sd}: a Gaussian prior (num - ratio * den) / (sd * den) linearised at a first "
        "fit (priors whose components are not all fitted are skipped); defaults: LCModel 6.3's "
        "(MM and lipid pattern; Asp, GABA, Scyllo, Tau relative to tNAA + tCr + tCho; "
        "GSH/(Gln+GSH)); {} switches them off."
    ),
    "groups": (
        "Extra lineshape groups, name -> component list; each group gets its own frequency "
        "shift and Lorentzian and Gaussian widths (defaults: 'metabolites' and 'macromolecules')."
    ),
    "baseline": "Baseline model: 'spline' (penalised cubic B-spline), 'polynomial' or 'none'.",
    "baseline_knot_spacing_ppm": "Spacing of the cubic B-spline baseline knots, ppm.",
    "baseline_penalty": (
        "Weight lambda of the spline's second-difference penalty (data units: "
        "||data - model||^2 + lambda ||D2 b||^2), or 'auto' to choose it per spectrum "
        "(per session for block files) by the modified AIC n log(RSS) + 2 k ED over "
        "baseline_ed_per_ppm, ED = effective dimension of the baseline."
    ),
    "baseline_ed_per_ppm": (
        "Range [low, high] of baseline effective dimensions per ppm searched when "
        "baseline_penalty is 'auto'."
    ),
    "baseline_aic_factor": (
        "Factor k multiplying the baseline's effective dimension in the modified AIC "
        "(1 = AIC; larger values favour stiffer baselines; ABfit uses 5)."
    ),
    "baseline_poly_order": (
        "Order of the (Legendre) polynomial baseline when baseline is 'polynomial'."
    ),
    "shift_search_ppm": "Half-width of the coarse frequency-shift search for starting values, ppm.",
    "init_ppm_range": "Chemical-shift range used by the coarse shift/phase search, ppm.",
    "shift_prior_sd_ppm": (
        "Prior SD of the metabolite-group frequency shift around the coarse-search estimate, ppm."
    ),
    "group_shift_prior_sd_ppm": (
        "Prior SD of each other group's frequency shift relative to the metabolite group, ppm."
    ),
    "lorentz_prior_hz": "Prior [mean, SD] of the metabolite-group Lorentzian FWHM, Hz.",
    "gauss_prior_hz": "Prior [mean, SD] of the metabolite-group Gaussian FWHM, Hz.",
    "group_width_prior_sd_hz": (
        "Prior SD of each other group's Lorentzian and Gaussian FWHM relative to the "
        "metabolite group, Hz."
    ),
    "phase1_prior_sd_deg_per_ppm": "Prior SD (around 0) of the first-order phase, degrees per ppm.",
    "fit_phase1": "Fit a first-order phase (otherwise it is fixed at 0).",
    "lineshape_knot_spacing_ms": (
        "Knot spacing (ms) of a smooth complex distortion exp(B(t)(a + i p)) of the Voigt "
        "lineshape shared by all components (non-Voigt lines, residual eddy currents); "
        "0 switches it off."
    ),
    "lineshape_duration_ms": "Time (ms) over which the lineshape distortion may vary.",
    "lineshape_prior_sd": (
        "Prior SD (around 0) of each lineshape-distortion coefficient (log-amplitude and "
        "phase in rad)."
    ),
    "zero_fill": (
        "Zero-filling factor before the FFT (1 = none); the Fisher information is divided by it "
        "because zero-filled spectral points are not independent."
    ),
    "noise_ppm": (
        "Signal-free ranges [low, high] in ppm where the noise SD is measured (quadratic "
        "detrend of real and imaginary parts); parts outside the spectral window are ignored."
    ),
    "crlb": "Compute Cramér-Rao lower bounds of amplitudes, sums and ratios.",
    "crlb_noise": (
        "Noise SD used for the CRLBs: 'residual' (fit residual corrected for the fitted degrees "
        "of freedom) or 'region' (signal-free region)."
    ),
    "max_iterations": "Maximum number of model evaluations of the nonlinear fit.",
    "sums": "Sums of amplitudes reported with their CRLB, name -> component list.",
    "ratios": "Ratios reported with propagated CRLB, name -> [numerator, denominator].",
    "mode": (
        "'blocks' fits every block on its own; 'dynamic' fits all blocks of a session jointly "
        "with shared phase, lineshape and baseline (docs/dynamic-fitting.md)."
    ),
    "dynamic_model": (
        "Temporal model of the metabolite amplitudes in dynamic mode: 'free' (one amplitude "
        "per block and metabolite) or 'glm' (amplitudes = design matrix x fitted coefficients)."
    ),
    "dynamic_design": (
        "GLM design for dynamic_model 'glm', regressor name -> one value per block; {} uses an "
        "intercept plus an infusion indicator from the phase column of the block table."
    ),
    "dynamic_block_lineshape": (
        "In dynamic mode, fit a frequency shift and an extra Lorentzian broadening per block "
        "(drift, BOLD narrowing) on top of the shared lineshape."
    ),
    "dynamic_metabolites": (
        "Metabolites whose amplitudes follow the temporal model in dynamic mode, the others "
        "having one amplitude shared by all blocks; [] lets every metabolite vary."
    ),
    "dynamic_lipids_per_block": (
        "In dynamic mode, fit the lipid amplitudes per block (lipid contamination comes and "
        "goes with motion) instead of sharing them like the macromolecules."
    ),
    "dynamic_mm_per_block": (
        "In dynamic mode, fit the macromolecule amplitudes per block (false: once for the session)."
    ),
    "dynamic_baseline": (
        "Baseline in dynamic mode: 'shared' (one spline for the session) or 'block' (one per "
        "block, for residual water that differs between blocks), penalty as in block mode."
    ),
}

#: Fit modes and temporal models of the dynamic mode.
MODES = ("blocks", "dynamic")
DYNAMIC_MODELS = ("free", "glm")

_CHOICES = {
    "baseline": ("spline", "polynomial", "none"),
    "crlb_noise": ("residual", "region"),
    "mode": MODES,
    "dynamic_model": DYNAMIC_MODELS,
    "dynamic_baseline": ("shared", "block"),
}


def describe_model(overrides: Mapping[str, Any] | None = None) -> str:
    """One line naming the spectral model behind a Glx/tNAA value (for the findings table)."""
    s = resolve_settings(overrides)
    changed = sorted(overrides or {})
    parts = [
        f"fmrstrial linear combination, {s['ppm_range'][0]:g}-{s['ppm_range'][1]:g} ppm",
        "+".join(s["macromolecules"] + s["lipids"] + s["measured_mm"]) or "no MM",
        f"{len(s['ratio_priors'])} LCModel ratio priors" if s["ratio_priors"] else "no priors",
        f"{s['baseline']} baseline"
        + (
            f", penalty chosen per session (modified AIC, k={s['baseline_aic_factor']:g})"
            if s["baseline"] == "spline" and s["baseline_penalty"] == "auto"
            else ""
        ),
        "fitted block by block",
    ]
    if changed:
        parts.append("settings changed: " + ", ".join(changed))
    return "; ".join(parts)


def _fail(key: str, message: str, source: str) -> InputError:
    return InputError(f"fit setting '{key}': {message}", file=source)


def _check_range(key: str, value: Any, source: str) -> list[float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise _fail(key, f"expected [low, high], got {value!r}", source) from None
    if not lo < hi:
        raise _fail(key, f"low must be below high, got {value!r}", source)
    return [lo, hi]


def _check_positive(key: str, value: Any, source: str, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(key, f"expected a number, got {value!r}", source)
    if value < 0 or (value == 0 and not allow_zero):
        raise _fail(key, f"must be {'>= 0' if allow_zero else '> 0'}, got {value!r}", source)
    return float(value)


def _check_names(key: str, value: Any, source: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _fail(key, f"expected a list of names, got {value!r}", source)
    if len(set(value)) != len(value):
        raise _fail(key, "contains duplicate names", source)
    return list(value)


def resolve_settings(
    overrides: Mapping[str, Any] | None = None, source: str = "fit settings"
) -> dict[str, Any]:
    """`DEFAULTS` overridden by `overrides` (validated); InputError naming `source` and key."""
    out = copy.deepcopy(DEFAULTS)
    for key, value in (overrides or {}).items():
        if key not in DEFAULTS:
            raise InputError(
                f"unknown fit setting '{key}' (known: {', '.join(sorted(DEFAULTS))})", file=source
            )
        out[key] = copy.deepcopy(value)
    out["ppm_range"] = _check_range("ppm_range", out["ppm_range"], source)
    out["init_ppm_range"] = _check_range("init_ppm_range", out["init_ppm_range"], source)
    out["baseline_ed_per_ppm"] = _check_range(
        "baseline_ed_per_ppm", out["baseline_ed_per_ppm"], source
    )
    if out["baseline_penalty"] != "auto":
        out["baseline_penalty"] = _check_positive(
            "baseline_penalty", out["baseline_penalty"], source
        )
    for key in ("metabolites", "macromolecules", "lipids", "measured_mm", "dynamic_metabolites"):
        out[key] = _check_names(key, out[key], source)
    if not out["metabolites"]:
        raise _fail("metabolites", "at least one metabolite is needed", source)
    for key in ("baseline", "crlb_noise", "mode", "dynamic_model", "dynamic_baseline"):
        if out[key] not in _CHOICES[key]:
            raise _fail(key, f"expected one of {_CHOICES[key]}, got {out[key]!r}", source)
    for key in (
        "baseline_knot_spacing_ppm",
        "baseline_aic_factor",
        "shift_search_ppm",
        "shift_prior_sd_ppm",
        "group_shift_prior_sd_ppm",
        "group_width_prior_sd_hz",
        "phase1_prior_sd_deg_per_ppm",
    ):
        out[key] = _check_positive(key, out[key], source)
    for key in ("lineshape_knot_spacing_ms",):
        out[key] = _check_positive(key, out[key], source, allow_zero=True)
    for key in ("lineshape_duration_ms", "lineshape_prior_sd"):
        out[key] = _check_positive(key, out[key], source)
    for key in ("lorentz_prior_hz", "gauss_prior_hz"):
        try:
            mean, sd = (float(v) for v in out[key])
        except (TypeError, ValueError):
            raise _fail(key, f"expected [mean, SD], got {out[key]!r}", source) from None
        if sd <= 0:
            raise _fail(key, "the SD must be > 0", source)
        out[key] = [mean, sd]
    for key in ("zero_fill", "max_iterations", "baseline_poly_order"):
        value = out[key]
        smallest = 0 if key == "baseline_poly_order" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
            raise _fail(key, f"expected an integer >= {smallest}, got {value!r}", source)
    for key in (
        "crlb",
        "fit_phase1",
        "dynamic_block_lineshape",
        "dynamic_lipids_per_block",
        "dynamic_mm_per_block",
    ):
        if not isinstance(out[key], bool):
            raise _fail(key, f"expected true or false, got {out[key]!r}", source)
    if not isinstance(out["noise_ppm"], list | tuple):
        raise _fail("noise_ppm", "expected a list of [low, high] ranges", source)
    out["noise_ppm"] = [_check_range("noise_ppm", r, source) for r in out["noise_ppm"]]
    for key in ("groups", "sums", "ratio_priors", "ratios"):
        if not isinstance(out[key], Mapping):
            raise _fail(key, "expected a mapping", source)
    for name, members in out["groups"].items():
        out["groups"][name] = _check_names(f"groups.{name}", members, source)
    for name, members in out["sums"].items():
        out["sums"][name] = _check_names(f"sums.{name}", members, source)
    for name, pair in out["ratios"].items():
        pair = _check_names(f"ratios.{name}", pair, source)
        if len(pair) != 2:
            raise _fail(f"ratios.{name}", "expected [numerator, denominator]", source)
        out["ratios"][name] = pair
    for name, prior in out["ratio_priors"].items():
        out["ratio_priors"][name] = _check_ratio_prior(f"ratio_priors.{name}", prior, source)
    out["dynamic_design"] = _check_design(out["dynamic_design"], source)
    unknown = [m for m in out["dynamic_metabolites"] if m not in out["metabolites"]]
    if unknown:
        raise _fail("dynamic_metabolites", f"{unknown} are not in 'metabolites'", source)
    return out


def _check_design(design: Any, source: str) -> dict[str, list[float]]:
    """dynamic_design: name -> per-block values (numbers, all the same length)."""
    key = "dynamic_design"
    if not isinstance(design, Mapping):
        raise _fail(
            key, f"expected a mapping regressor name -> per-block values, got {design!r}", source
        )
    out, lengths = {}, set()
    for name, values in design.items():
        ok = isinstance(values, list | tuple) and len(values) > 0
        ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if not ok:
            raise _fail(
                f"{key}.{name}",
                f"expected a list of numbers (one per block), got {values!r}",
                source,
            )
        out[str(name)] = [float(v) for v in values]
        lengths.add(len(values))
    if len(lengths) > 1:
        raise _fail(key, f"regressors have different lengths {sorted(lengths)}", source)
    return out


def _check_ratio_prior(key: str, prior: Any, source: str) -> dict[str, Any]:
    fields = ("numerator", "denominator", "ratio", "sd")
    if not isinstance(prior, Mapping) or sorted(prior) != sorted(fields):
        raise _fail(key, f"expected a mapping with keys {', '.join(fields)}, got {prior!r}", source)
    return {
        "numerator": _check_names(f"{key}.numerator", prior["numerator"], source),
        "denominator": _check_names(f"{key}.denominator", prior["denominator"], source),
        "ratio": _check_positive(f"{key}.ratio", prior["ratio"], source, allow_zero=True),
        "sd": _check_positive(f"{key}.sd", prior["sd"], source),
    }
