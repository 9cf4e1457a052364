"""Facts the Snakefile needs before any job runs (kept out of the rules for testing).

Which dataset the simulator wrote (and so has a truth folder we can read), which one the
workflow's demo rule wrote (and so may be regenerated), and which rating scales a dataset
has.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import InputError

#: Where the trial simulator writes the true values, relative to the dataset root.
TRUTH_SUBDIR = Path("derivatives") / "truth"
#: appended to the simulator's GeneratedBy description when the workflow's demo rule wrote
#: the dataset: the only kind of dataset the workflow may regenerate
WORKFLOW_DEMO_MARK = "; the workflow's demo (demo.generate_if_missing)"


def _simulator_description(desc: Path) -> str | None:
    """The GeneratedBy description of the fmrstrial trial simulator in `desc` (a
    dataset_description.json), or None when it names no such entry."""
    doc = json.loads(desc.read_text(encoding="utf-8"))
    gens = doc.get("GeneratedBy", []) if isinstance(doc, dict) else []
    for gen in gens if isinstance(gens, list) else []:
        if not isinstance(gen, dict) or gen.get("Name") != "fmrstrial":
            continue
        text = str(gen.get("Description", ""))
        if text.startswith("trial simulator"):
            return text
    return None


def _written_by_simulator(desc: Path) -> bool:
    """True if `desc` (a dataset_description.json) names the fmrstrial trial simulator."""
    return _simulator_description(desc) is not None


def _empty_folder(root: Path) -> bool:
    return not any(root.iterdir()) if root.is_dir() else False


def dataset_was_simulated(root: str | Path) -> bool:
    """True if `root` holds a dataset written by the trial simulator (`fmrstrial simulate`
    or the workflow's demo rule). An empty folder counts too."""
    desc = Path(root) / "dataset_description.json"
    try:
        return _written_by_simulator(desc)
    except (OSError, ValueError):
        return _empty_folder(Path(root))


def dataset_is_workflow_demo(root: str | Path) -> bool:
    """True if the workflow's demo rule wrote `root` (so the workflow may regenerate it when
    the `simulate` settings or the code change), or `root` is an empty folder. A dataset
    written by `fmrstrial simulate`, or by anything else, is input: never written."""
    desc = Path(root) / "dataset_description.json"
    try:
        text = _simulator_description(desc)
    except (OSError, ValueError):
        return _empty_folder(Path(root))
    return text is not None and text.endswith(WORKFLOW_DEMO_MARK)


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
