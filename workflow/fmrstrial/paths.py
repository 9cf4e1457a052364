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


def given_or_shipped(spec: str | os.PathLike) -> Path:
    """A file named by the user: the path itself when absolute or present, else the shipped
    resource of that name (e.g. the config's `basis: basis/lcmodel_press35_3T/...`)."""
    path = Path(spec)
    return path if path.is_absolute() or path.exists() else resource(str(spec))
