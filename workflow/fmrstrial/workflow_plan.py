"""Facts the Snakefile needs before any job runs (kept out of the rules for testing)."""

from __future__ import annotations

import json
from pathlib import Path


def dataset_was_simulated(root: str | Path) -> bool:
    """True if `root` holds a dataset written by `fmrstrial simulate` (safe to regenerate)."""
    desc = Path(root) / "dataset_description.json"
    try:
        doc = json.loads(desc.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return not any(Path(root).iterdir()) if Path(root).is_dir() else False
    for gen in doc.get("GeneratedBy", []):
        if gen.get("Name") == "fmrstrial" and str(gen.get("Description", "")).startswith(
            "trial simulator"
        ):
            return True
    return False
