"""Settings of the power analysis (config section ``power:``) and their checks."""

from __future__ import annotations

import copy
import math

from ..errors import InputError, Problem
from .design import Scenario

WHERE = "config power"

DEFAULTS: dict = {
    "seed": 20261130,
    "alpha": 0.05,
    "n_sim": 1000,
    "participants": [8, 12, 16, 20, 24, 26, 28, 32, 36, 40, 44, 48, 56, 64, 72, 80],
    "targets": [0.8, 0.9],
    "dropout": 0.0,
    "glx": {
        "model": "glx_condition_infusion",
        "effect": None,
        "participant_sd": None,
        "residual_sd": None,
        "block_noise_sd": None,
        "reference_block_min": 6.0,
        "block_exclusion": 0.0,
        "designs": [
            {"baseline_blocks": 1, "infusion_blocks": 5, "block_min": 6.0},
            {"baseline_blocks": 2, "infusion_blocks": 10, "block_min": 3.0},
            {"baseline_blocks": 2, "infusion_blocks": 5, "block_min": 6.0},
        ],
    },
    "madrs": {
        "model": "madrs_condition_by_time",
        "effect": None,
        "participant_sd": None,
        "residual_sd": None,
    },
}
TESTS = ("glx", "madrs")
#: Largest N searched by the analytic sample-size search.
MAX_N = 2000


def resolve(overrides: dict | None = None) -> dict:
    """Defaults updated by ``overrides`` (nested per test), then checked."""
    out = copy.deepcopy(DEFAULTS)
    for key, value in (overrides or {}).items():
        if key in TESTS and isinstance(value, dict):
            out[key].update(copy.deepcopy(value))
        else:
            out[key] = copy.deepcopy(value)
    check(out)
    return out


def _bad(field: str, message: str) -> InputError:
    return InputError(Problem(WHERE, f"field 'power.{field}': {message}"))


def _number(value, field: str, lo: float, hi: float, lo_open=False, hi_open=False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
    if not ok:
        lo_b, hi_b = "(" if lo_open else "[", ")" if hi_open else "]"
        raise _bad(field, f"expected a number in {lo_b}{lo:g}, {hi:g}{hi_b}, got {value!r}")
    return float(value)


def check(s: dict) -> None:
    """InputError naming the field for every unusable setting."""
    unknown = sorted(set(s) - set(DEFAULTS))
    if unknown:
        raise _bad(unknown[0], f"unknown key (known: {', '.join(DEFAULTS)})")
    if not isinstance(s["seed"], int) or s["seed"] < 0:
        raise _bad("seed", f"expected a non-negative integer, got {s['seed']!r}")
    _number(s["alpha"], "alpha", 0, 1, True, True)
    if not isinstance(s["n_sim"], int) or s["n_sim"] < 10:
        raise _bad("n_sim", f"expected an integer >= 10, got {s['n_sim']!r}")
    ns = s["participants"]
    if not isinstance(ns, list) or not ns:
        raise _bad("participants", f"expected a list of sample sizes, got {ns!r}")
    for n in ns:
        if not isinstance(n, int) or isinstance(n, bool) or n < 4:
            raise _bad(
                "participants",
                f"every sample size must be an integer >= 4 (two per sequence), got {n!r}",
            )
    for t in s["targets"]:
        _number(t, "targets", 0, 1, True, True)
    _number(s["dropout"], "dropout", 0, 1, False, True)
    for test in TESTS:
        sub = s[test]
        known = set(DEFAULTS[test])
        extra = sorted(set(sub) - known)
        if extra:
            raise _bad(f"{test}.{extra[0]}", f"unknown key (known: {', '.join(DEFAULTS[test])})")
        for key in ("participant_sd", "residual_sd", "block_noise_sd"):
            if sub.get(key) is not None:
                _number(sub[key], f"{test}.{key}", 0, math.inf, key != "participant_sd", True)
        if sub.get("effect") is not None:
            eff = sub["effect"]
            if not isinstance(eff, (int, float)) or not math.isfinite(eff) or eff == 0:
                raise _bad(
                    f"{test}.effect",
                    f"the effect must be a non-zero number (got {eff!r}); power against an "
                    "effect of 0 is the type I error rate",
                )
    glx = s["glx"]
    _number(glx["reference_block_min"], "glx.reference_block_min", 0, math.inf, True, True)
    _number(glx["block_exclusion"], "glx.block_exclusion", 0, 1, False, True)
    scenarios(s)


def scenarios(s: dict) -> dict[str, list[Scenario]]:
    """The acquisition designs of each test."""
    designs = s["glx"]["designs"]
    if not isinstance(designs, list) or not designs:
        raise _bad("glx.designs", "expected a non-empty list of designs")
    out = []
    for k, d in enumerate(designs):
        field = f"glx.designs[{k}]"
        if not isinstance(d, dict) or set(d) - {"baseline_blocks", "infusion_blocks", "block_min"}:
            raise _bad(field, f"expected baseline_blocks, infusion_blocks, block_min; got {d!r}")
        b, i = d.get("baseline_blocks", 1), d.get("infusion_blocks", 5)
        for name, v in (("baseline_blocks", b), ("infusion_blocks", i)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise _bad(f"{field}.{name}", f"expected an integer >= 1, got {v!r}")
        length = _number(d.get("block_min", 6.0), f"{field}.block_min", 0, math.inf, True, True)
        out.append(Scenario("glx", b, i, length))
    return {"glx": out, "madrs": [Scenario("madrs")]}
