"""Facts the Snakefile needs before any job runs (kept out of the rules for testing).

Which dataset the simulator wrote (and so may be regenerated, and has a truth folder we
can read), and which rating scales a dataset has.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import InputError

#: Where the trial simulator writes the true values, relative to the dataset root.
TRUTH_SUBDIR = Path("derivatives") / "truth"


def _written_by_simulator(desc: Path) -> bool:
    """True if `desc` (a dataset_description.json) names the fmrstrial trial simulator."""
    doc = json.loads(desc.read_text(encoding="utf-8"))
    gens = doc.get("GeneratedBy", []) if isinstance(doc, dict) else []
    for gen in gens if isinstance(gens, list) else []:
        if (
            isinstance(gen, dict)
            and gen.get("Name") == "fmrstrial"
            and str(gen.get("Description", "")).startswith("trial simulator")
        ):
            return True
    return False


def dataset_was_simulated(root: str | Path) -> bool:
    """True if `root` holds a dataset written by `fmrstrial simulate` (safe to regenerate).

    An empty folder counts too (nothing would be lost by simulating into it).
    """
    desc = Path(root) / "dataset_description.json"
    try:
        return _written_by_simulator(desc)
    except (OSError, ValueError):
        return not any(Path(root).iterdir()) if Path(root).is_dir() else False


def simulator_truth_dir(root: str | Path) -> Path | None:
    """`root`/derivatives/truth when our simulator wrote the dataset, else None.

    Only a dataset whose dataset_description.json names the fmrstrial trial simulator in
    GeneratedBy has a truth folder in our format; other datasets may have a
    derivatives/truth folder of their own, which is never read.
    """
    root = Path(root)
    truth = root / TRUTH_SUBDIR
    try:
        ours = _written_by_simulator(root / "dataset_description.json")
    except (OSError, ValueError):
        return None
    return truth if ours and truth.is_dir() else None


def check_simulator_truth(truth_dir: str | Path) -> Path:
    """`truth_dir` if it is the truth folder of a dataset our simulator wrote; else InputError.

    truth_dir: DATASET/derivatives/truth. The dataset's own dataset_description.json
    (two levels up) decides, as for `simulator_truth_dir`.
    """
    truth = Path(truth_dir)
    ours = (
        truth.name == TRUTH_SUBDIR.name
        and truth.parent.name == TRUTH_SUBDIR.parent.name
        and simulator_truth_dir(truth.parent.parent) is not None
    )
    if not ours:
        raise InputError(
            "not the truth folder of a dataset written by the fmrstrial trial simulator "
            "(expected DATASET/derivatives/truth with DATASET/dataset_description.json naming "
            "GeneratedBy 'fmrstrial', 'trial simulator ...'); truth is read only from "
            "simulated datasets",
            file=str(truth),
        )
    return truth


def present_scales(root: str | Path, scales: list[str] | tuple[str, ...]) -> list[str]:
    """The scales (in the given order) that have a table phenotype/<scale>.tsv in `root`."""
    pheno = Path(root) / "phenotype"
    return [s for s in scales if (pheno / f"{s}.tsv").is_file()]
