"""Locations of the files that ship with the workflow (basis sets, scale definitions)."""

from __future__ import annotations

import os
from pathlib import Path


def resources_dir() -> Path:
    """The workflow's `workflow/resources` folder (override with FMRSTRIAL_RESOURCES)."""
    env = os.environ.get("FMRSTRIAL_RESOURCES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "resources"


def resource(*parts: str) -> Path:
    """Path of one shipped resource; raises FileNotFoundError naming it if absent."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path}: shipped resource not found (is the clone complete?)")
    return path
