"""Settings of the linear-combination fit, defined once in ``fmrstrial/schemas/fit.yaml``.

`DEFAULTS` holds every key with its default value and `DESCRIPTIONS` one sentence per key,
both read from that schema (the workflow's config schema references it). `resolve_settings`
merges user overrides key by key; an unknown key or a value the schema does not allow is an
`InputError` naming the key. Defaults: LCModel 6.3's soft constraints on concentration
ratios (its CHRATO table; 'Big3' = tNAA + tCr + tCho), the metabolites of the shipped
LCModel PRESS 35 ms basis sets, parameterised MM and lipid components and its -CrCH2
correction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import settings_schema
from ..errors import InputError

DEFAULTS: dict[str, Any] = settings_schema.defaults("fit")
DESCRIPTIONS: dict[str, str] = settings_schema.descriptions("fit")


def describe_model(overrides: Mapping[str, Any] | None = None) -> str:
    """One line naming the spectral model behind a Glx/tNAA value (for the findings table)."""
    s = resolve_settings(overrides)
    changed = sorted(set(overrides or {}) - {"mode"})  # the mode is named below
    parts = [
        f"fmrstrial linear combination, {s['ppm_range'][0]:g}-{s['ppm_range'][1]:g} ppm",
        "+".join(s["macromolecules"] + s["lipids"] + s["measured_mm"]) or "no MM",
        "-CrCH2 correction" if s["crch2_correction"] else "no -CrCH2 correction",
        f"{len(s['ratio_priors'])} LCModel ratio priors" if s["ratio_priors"] else "no priors",
        "own shift and widths for NAA, Cr and Cho" if s["singlet_groups"] else "no singlet groups",
        f"{s['baseline']} baseline" + _flexibility_words(s),
        (
            "fitted block by block on the session background (baseline and macromolecules "
            "fitted on the session mean"
            + (
                ", lineshape differences between groups held there)"
                if s["session_group_offsets"]
                else ")"
            )
            + ("" if s["block_baseline_correction"] else ", no per-block baseline correction")
            if s["session_background"]
            else "fitted block by block"
        )
        if s["mode"] == "blocks"
        else f"all blocks of a session fitted jointly (dynamic, {s['dynamic_model']} model)",
    ]
    if changed:
        parts.append("settings changed: " + ", ".join(changed))
    return "; ".join(parts)


def baseline_flexibility_words(s: Mapping[str, Any]) -> str:
    """How the spline baseline's flexibility is chosen under the resolved settings `s`."""
    flex, k = s["baseline_flexibility"], f"modified AIC, k={s['baseline_aic_factor']:g}"
    if flex == "auto":
        return f"flexibility chosen per session ({k})"
    if flex == "trial":
        return f"one flexibility for every session, chosen on the trial's mean spectrum ({k})"
    return f"flexibility held at {flex:g} effective dimensions per ppm"


def _flexibility_words(s: Mapping[str, Any]) -> str:
    if s["baseline"] != "spline" or s["baseline_penalty"] != "auto":
        return ""
    return ", " + baseline_flexibility_words(s)


def _fail(key: str, message: str, source: str) -> InputError:
    return InputError(f"fit setting '{key}': {message}", file=source)


def resolve_settings(
    overrides: Mapping[str, Any] | None = None, source: str = "fit settings"
) -> dict[str, Any]:
    """`DEFAULTS` overridden by `overrides` (validated); InputError naming `source` and key."""
    out = settings_schema.resolve("fit", overrides, source)
    _check_design(out["dynamic_design"], source)
    unknown = [m for m in out["dynamic_metabolites"] if m not in out["metabolites"]]
    if unknown:
        raise _fail("dynamic_metabolites", f"{unknown} are not in 'metabolites'", source)
    return out


def _check_design(design: Mapping[str, list[float]], source: str) -> None:
    """dynamic_design (types checked by the schema): all regressors of the same length."""
    lengths = {len(values) for values in design.values()}
    if len(lengths) > 1:
        raise _fail(
            "dynamic_design", f"regressors have different lengths {sorted(lengths)}", source
        )
