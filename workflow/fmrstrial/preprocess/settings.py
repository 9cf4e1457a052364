"""Settings of the preprocessing step, defined once in ``fmrstrial/schemas/preprocess.yaml``.

`DEFAULTS` (flat, one level of keys) and `DESCRIPTIONS` (one sentence per key) are read from
that schema; `resolve_settings` merges user overrides into the defaults and raises InputError
for an unknown key or a bad value (checked against the same schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import settings_schema
from ..io.config import load_section

DEFAULTS: dict[str, Any] = settings_schema.defaults("preprocess")
DESCRIPTIONS: dict[str, str] = settings_schema.descriptions("preprocess")


def resolve_settings(
    overrides: Mapping[str, Any] | None = None, source: str = "preprocess settings"
) -> dict[str, Any]:
    """DEFAULTS updated by `overrides`; InputError (naming `source`) for a bad key or value."""
    return settings_schema.resolve("preprocess", overrides, source)


def load_settings(path: str | None) -> dict[str, Any]:
    """Settings from the `preprocess:` section of a YAML file (or the whole file)."""
    if path is None:
        return resolve_settings()
    return resolve_settings(load_section(path, "preprocess"), source=path)
