"""What the power analysis assumes about one test: effect, variances, model.

Either from a fitted trial's ``results/stats/<model>.json`` (formula, term, fixed effects,
variance components; config values override single entries) or from the config alone
(effect, participant_sd, residual_sd; the formula and term of the findings' model). Every
value records where it came from, for the assumptions written next to the results.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Problem
from ..lmm import FormulaError
from .design import check_formula

#: The findings' models (formula, term) used when no model JSON is read.
DEFAULT_MODELS = {
    "glx": ("glx_tnaa ~ condition * phase + period + (1 | participant_id)", "condition:phase"),
    "madrs": (
        "score ~ condition * timepoint + period + (1 | participant_id)",
        "condition:timepoint",
    ),
}
#: Name of the tested coefficient under the findings' reference levels.
COEFFICIENTS = {
    "condition:phase": "conditionnaltrexone:phaseinfusion",
    "condition:timepoint": "conditionnaltrexone:timepointday1",
}


@dataclass
class PowerParams:
    """Assumptions of one test. SDs in response units (Glx/tNAA ratio, MADRS points).

    ``residual_sd`` is the residual SD of one analysed row at ``reference_block_min``
    (Glx); ``block_noise_sd`` is the part of it that is measurement noise of a block and
    scales as 1/sqrt(block length / reference_block_min) (None: all of it).
    """

    test: str
    formula: str
    term: str
    coefficient: str
    effect: float
    participant_sd: float
    residual_sd: float
    fixed: dict[str, float] = field(default_factory=dict)
    block_noise_sd: float | None = None
    reference_block_min: float = 6.0
    sources: dict[str, str] = field(default_factory=dict)

    def row_sd(self, block_min: float | None = None) -> float:
        """Residual SD of one row (Glx: of one block of ``block_min`` minutes)."""
        if self.test != "glx" or block_min is None:
            return self.residual_sd
        noise = self.residual_sd if self.block_noise_sd is None else self.block_noise_sd
        other2 = max(self.residual_sd**2 - noise**2, 0.0)
        return math.sqrt(other2 + noise**2 * self.reference_block_min / block_min)


def _get(doc: dict, path: str, file: str):
    node = doc
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node or node[key] is None:
            raise InputError(
                Problem(file, f"field '{path}' is missing (expected the output of fmrstrial stats)")
            )
        node = node[key]
    return node


def read_model(path: str | Path) -> dict:
    """The JSON of a fitted model; InputError naming the file for anything unusable."""
    file = str(path)
    if not Path(path).is_file():
        raise InputError(Problem(file, "model file not found (run the statistics first)"))
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(Problem(file, f"not readable as JSON ({exc})")) from exc
    if not isinstance(doc, dict):
        raise InputError(Problem(file, "expected a JSON object (a results/stats/<model>.json)"))
    if "skipped" in doc:
        raise InputError(Problem(file, f"the model was not fitted: {doc['skipped']}"))
    if "pooled_over_imputations" in doc:
        raise InputError(
            Problem(file, "a model pooled over imputations has no single variance estimate")
        )
    return doc


def _variances(doc: dict, file: str) -> tuple[float, float]:
    """(participant SD, residual SD) from fit.variance_components."""
    comps = (
        doc.get("fit", {}).get("variance_components") if isinstance(doc.get("fit"), dict) else None
    )
    if not comps:
        raise InputError(
            Problem(
                file,
                "field 'fit.variance_components' is missing or empty: the power analysis needs "
                "the participant and residual variances",
            )
        )
    resid = [c for c in comps if c.get("group") == "Residual"]
    rand = [c for c in comps if c.get("group") != "Residual"]
    if len(resid) != 1 or len(rand) != 1 or rand[0].get("var1") != "(Intercept)":
        raise InputError(
            Problem(
                file,
                "field 'fit.variance_components' must hold one participant intercept and the "
                f"residual (found {len(comps)} entries)",
            )
        )
    out = []
    for name, comp in (("participant", rand[0]), ("residual", resid[0])):
        v = comp.get("variance")
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise InputError(
                Problem(
                    file,
                    f"field 'fit.variance_components' ({name}): variance {v!r} is not "
                    "a finite non-negative number",
                )
            )
        out.append(math.sqrt(v))
    if out[1] <= 0:
        raise InputError(Problem(file, "field 'fit.variance_components': residual variance is 0"))
    return out[0], out[1]


def from_model(test: str, path: str | Path, overrides: dict) -> PowerParams:
    """Assumptions from a fitted model JSON; ``overrides`` = the config's power.<test>."""
    file = str(path)
    doc = read_model(path)
    formula = _get(doc, "formula", file)
    term = _get(doc, "term", file)
    _check(formula, term, test, file)
    tau, sigma = _variances(doc, file)
    fixed = {
        r["term"]: float(r["estimate"])
        for r in _get(doc, "fit.fixed_effects_satterthwaite", file)
        if isinstance(r, dict) and r.get("estimate") is not None
    }
    coef = COEFFICIENTS.get(term)
    if coef is None or coef not in fixed:
        raise InputError(
            Problem(
                file,
                f"field 'fit.fixed_effects_satterthwaite' has no coefficient for "
                f"'{term}' (expected {coef or 'a one-column term'})",
            )
        )
    field_ = f"{file}: fit.fixed_effects_satterthwaite[{coef}]"
    src = {
        "effect": field_,
        "participant_sd": f"{file}: fit.variance_components",
        "residual_sd": f"{file}: fit.variance_components",
    }
    values = {"effect": fixed[coef], "participant_sd": tau, "residual_sd": sigma}
    for key in values:
        if overrides.get(key) is not None:
            values[key] = float(overrides[key])
            src[key] = f"config power.{test}.{key}"
    return _finish(test, formula, term, coef, values, fixed, src, overrides)


def from_config(test: str, overrides: dict) -> PowerParams:
    """Assumptions given entirely in the config's power.<test> section."""
    formula, term = DEFAULT_MODELS[test]
    missing = [k for k in ("effect", "participant_sd", "residual_sd") if overrides.get(k) is None]
    if missing:
        raise InputError(
            Problem(
                "config power",
                f"no fitted model JSON was given for {test} (power.{test}.model with "
                f"--stats-dir, or --{test}-model), so "
                f"{', '.join(f'power.{test}.{k}' for k in missing)} must be given",
            )
        )
    values = {k: float(overrides[k]) for k in ("effect", "participant_sd", "residual_sd")}
    src = {k: f"config power.{test}.{k}" for k in values}
    coef = COEFFICIENTS[term]
    return _finish(test, formula, term, coef, values, {}, src, overrides)


def _check(formula: str, term: str, test: str, file: str) -> None:
    try:
        check_formula(formula, term, test)
    except (ValueError, FormulaError) as exc:
        raise InputError(Problem(file, f"field 'formula': {exc}")) from exc


def _where(source: str) -> tuple[str, str]:
    """(file, field) of a source text 'FILE: FIELD' or 'config power.x.y'."""
    if source.startswith("config "):
        return "config power", source.removeprefix("config ")
    file, _, name = source.rpartition(": ")
    return file, name


def _finish(test, formula, term, coef, values, fixed, src, overrides) -> PowerParams:
    """Validate the values and build the PowerParams (errors name the source field)."""
    where = "config power"
    if not math.isfinite(values["effect"]) or values["effect"] == 0:
        file, name = _where(src["effect"])
        raise InputError(
            Problem(
                file,
                f"field '{name}': the effect must be a non-zero number (got "
                f"{values['effect']!r}); power against an effect of 0 is the type I error rate",
            )
        )
    for key in ("participant_sd", "residual_sd"):
        v = values[key]
        if not math.isfinite(v) or v < 0 or (key == "residual_sd" and v == 0):
            file, name = _where(src[key])
            raise InputError(
                Problem(file, f"field '{name}': must be a finite number > 0 (got {v!r})")
            )
    fixed = dict(fixed)
    fixed[coef] = values["effect"]
    noise = overrides.get("block_noise_sd")
    ref = float(overrides.get("reference_block_min") or 6.0)
    if test == "glx":
        if noise is not None and not (0 < float(noise) <= values["residual_sd"]):
            raise InputError(
                Problem(
                    where,
                    f"power.glx.block_noise_sd = {noise!r} must be > 0 and at most the residual "
                    f"SD {values['residual_sd']:.4g} ({src['residual_sd']})",
                )
            )
        src["block_noise_sd"] = (
            "config power.glx.block_noise_sd"
            if noise is not None
            else "assumed: the whole residual is block measurement noise"
        )
    return PowerParams(
        test=test,
        formula=formula,
        term=term,
        coefficient=coef,
        effect=values["effect"],
        participant_sd=values["participant_sd"],
        residual_sd=values["residual_sd"],
        fixed=fixed,
        block_noise_sd=float(noise) if (test == "glx" and noise is not None) else None,
        reference_block_min=ref,
        sources=src,
    )
