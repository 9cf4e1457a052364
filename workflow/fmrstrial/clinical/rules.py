"""Missing-item rules: which method each scale uses and how many missing items it tolerates.

The rules are a plain dict (from the workflow config or ``fmrstrial score --config``)::

    missing:
      default: {method: prorate, max_missing_fraction: 0.10}
      madrs:   {method: prorate, max_missing_items: 1}
      teps:    {method: mice}
      # optional per-score override: teps: {method: prorate, scores: {consummatory: {...}}}
    mice: {m: 20, seed: 20240601, iterations: 10, donors: 5}

Methods: ``none`` (any missing item makes the score missing), ``prorate`` (mean of the
answered units times the number of units, when at most ``max_missing_items`` units, or else
``floor(max_missing_fraction * units)`` units, are missing; otherwise missing), ``mice``
(multiple imputation of the scale's items by chained equations, see `mice.py`).
Units are items, except for ``max_of_groups`` scores (QIDS-SR16) where they are domains.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InputError, Problem

METHODS = ("none", "prorate", "mice")

DEFAULT_RULES: dict = {
    "missing": {
        "default": {"method": "prorate", "max_missing_fraction": 0.10},
        "madrs": {"method": "prorate", "max_missing_items": 1},
    },
    "mice": {"m": 20, "seed": 20240601, "iterations": 10, "donors": 5},
}

_SPEC_KEYS = {"method", "max_missing_fraction", "max_missing_items", "scores"}
_MICE_KEYS = {"m", "seed", "iterations", "donors"}


@dataclass(frozen=True)
class MissingRule:
    """The missing-data rule of one score."""

    method: str
    max_missing_fraction: float = 0.10
    max_missing_items: int | None = None

    def allowed(self, n_units: int) -> int:
        """How many of ``n_units`` may be missing for the score to be computed."""
        if self.method == "none":
            return 0
        if self.max_missing_items is not None:
            return self.max_missing_items
        return int(math.floor(self.max_missing_fraction * n_units + 1e-9))


@dataclass(frozen=True)
class MiceSettings:
    """Settings of multiple imputation by chained equations."""

    m: int
    seed: int
    iterations: int
    donors: int


def _merge(base: dict, override: Mapping) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_rules(rules: Mapping | None, source: str = "<rules>") -> dict:
    """The default rules updated with ``rules`` (deep merge), validated.

    A mapping with a top-level ``clinical`` key (the workflow config) is accepted too.
    Raises InputError naming each bad key.
    """
    rules = dict(rules or {})
    if "clinical" in rules and isinstance(rules["clinical"], Mapping):
        rules = dict(rules["clinical"])
    problems: list[Problem] = []
    unknown = sorted(set(rules) - {"missing", "mice"})
    if unknown:
        problems.append(Problem(source, f"unknown key(s) {unknown}; expected 'missing', 'mice'"))
    merged = _merge(DEFAULT_RULES, {k: v for k, v in rules.items() if k in ("missing", "mice")})
    for scale_id, spec in merged["missing"].items():
        _check_spec(spec, f"missing.{scale_id}", source, problems)
        for score, sub in (spec.get("scores") or {}).items():
            _check_spec(sub, f"missing.{scale_id}.scores.{score}", source, problems)
    mice = merged["mice"]
    if not isinstance(mice, Mapping) or set(mice) - _MICE_KEYS:
        problems.append(Problem(source, f"mice: expected keys {sorted(_MICE_KEYS)}"))
    else:
        for key in ("m", "iterations", "donors"):
            if not isinstance(mice.get(key), int) or mice[key] < 1:
                problems.append(Problem(source, f"mice.{key} must be a positive integer"))
        if not isinstance(mice.get("seed"), int) or mice["seed"] < 0:
            problems.append(Problem(source, "mice.seed must be a non-negative integer"))
    if problems:
        raise InputError(problems)
    return merged


def _check_spec(spec, where: str, source: str, problems: list[Problem]) -> None:
    if not isinstance(spec, Mapping):
        problems.append(Problem(source, f"{where} must be a mapping"))
        return
    extra = sorted(set(spec) - _SPEC_KEYS)
    if extra:
        problems.append(Problem(source, f"{where}: unknown key(s) {extra}"))
    if "method" in spec and spec["method"] not in METHODS:
        problems.append(Problem(source, f"{where}.method must be one of {', '.join(METHODS)}"))
    frac = spec.get("max_missing_fraction")
    if frac is not None and not (isinstance(frac, int | float) and 0 <= frac < 1):
        problems.append(Problem(source, f"{where}.max_missing_fraction must be in [0, 1)"))
    items = spec.get("max_missing_items")
    if items is not None and not (isinstance(items, int) and items >= 0):
        problems.append(Problem(source, f"{where}.max_missing_items must be an integer >= 0"))


def rule_for(rules: dict, scale_id: str, score: str) -> MissingRule:
    """The rule for one score: default < scale < scale.scores[score] (later layers win).

    A layer that sets ``max_missing_fraction`` without ``max_missing_items`` cancels a
    ``max_missing_items`` inherited from an earlier layer.
    """
    scale_spec = rules["missing"].get(scale_id, {})
    spec: dict = {}
    for layer in (
        rules["missing"].get("default", {}),
        scale_spec,
        (scale_spec.get("scores") or {}).get(score, {}),
    ):
        if "max_missing_fraction" in layer and "max_missing_items" not in layer:
            spec.pop("max_missing_items", None)
        spec.update({k: v for k, v in layer.items() if k != "scores"})
    return MissingRule(
        method=spec.get("method", "prorate"),
        max_missing_fraction=float(spec.get("max_missing_fraction", 0.10)),
        max_missing_items=spec.get("max_missing_items"),
    )


def mice_settings(rules: dict) -> MiceSettings:
    """MICE settings from merged rules."""
    mice = rules["mice"]
    return MiceSettings(
        m=int(mice["m"]),
        seed=int(mice["seed"]),
        iterations=int(mice["iterations"]),
        donors=int(mice["donors"]),
    )
