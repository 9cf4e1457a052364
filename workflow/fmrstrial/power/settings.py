"""Settings of the power analysis (config section ``power:``), defined once in
``fmrstrial/schemas/power.yaml`` (types, limits, defaults, descriptions), and their checks."""

from __future__ import annotations

import math

from .. import settings_schema
from ..errors import InputError, Problem
from .design import Scenario

WHERE = "config power"

DEFAULTS: dict = settings_schema.defaults("power")
TESTS = ("glx", "madrs")
#: Largest N searched by the analytic sample-size search.
MAX_N = 2000


def resolve(overrides: dict | None = None) -> dict:
    """Defaults updated by ``overrides`` (nested per test), then checked."""
    out = settings_schema.resolve("power", overrides, WHERE, label="field", prefix="power.")
    check(out)
    return out


def _bad(field: str, message: str) -> InputError:
    return InputError(Problem(WHERE, f"field 'power.{field}': {message}"))


def check(s: dict) -> None:
    """What the schema (fmrstrial/schemas/power.yaml) cannot say: effects are non-zero."""
    for test in TESTS:
        eff = s[test]["effect"]
        if eff is not None and (not math.isfinite(eff) or eff == 0):
            raise _bad(
                f"{test}.effect",
                f"the effect must be a non-zero number (got {eff!r}); power against an "
                "effect of 0 is the type I error rate",
            )


def scenarios(s: dict) -> dict[str, list[Scenario]]:
    """The acquisition designs of each test, from resolved settings (keys left out of a
    design take the defaults in fmrstrial/schemas/power.yaml)."""
    glx = settings_schema.section_schema("power")["properties"]["glx"]
    item = glx["properties"]["designs"]["items"]["properties"]
    base = {key: sub["default"] for key, sub in item.items()}
    out = []
    for design in s["glx"]["designs"]:
        d = {**base, **design}
        out.append(
            Scenario("glx", int(d["baseline_blocks"]), int(d["infusion_blocks"]), d["block_min"])
        )
    return {"glx": out, "madrs": [Scenario("madrs")]}
