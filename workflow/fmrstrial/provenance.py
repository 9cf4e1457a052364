"""Provenance of a run: input checksums, resolved config, software versions, git commit.

Paths are written relative to the dataset (inputs) or the repository (workflow files), so
the manifest holds no absolute path of the machine or the source data.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

from . import __version__

PACKAGES = (
    "snakemake",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "nibabel",
    "spec2nii",
    "nifti-mrs",
    "matplotlib",
    "papermill",
)


def sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def versions() -> dict[str, str]:
    out = {"fmrstrial": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(repo: str | os.PathLike) -> dict[str, str | bool]:
    """HEAD commit of the workflow's repository and whether tracked files are modified."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = (
            subprocess.run(
                ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            != ""
        )
        return {"commit": head, "modified": dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown (not a git checkout)", "modified": False}


def relative_name(path: Path, bases: list[tuple[str, Path]]) -> str:
    resolved = path.resolve()
    for label, base in bases:
        try:
            return f"{label}/{resolved.relative_to(base.resolve())}"
        except ValueError:
            continue
    return path.name


def workflow_files(repo: str | os.PathLike) -> list[str]:
    """Files of the workflow at `repo` that define the analysis (their checksums go into
    the manifest): Snakefile, config, schemas, rules and scale definitions."""
    base = Path(repo)
    files = [base / "Snakefile", base / "config" / "config.yaml"]
    files += sorted((base / "config" / "schemas").glob("*.yaml"))
    files += sorted((base / "workflow" / "rules").glob("*.smk"))
    files += sorted((base / "workflow" / "resources" / "scales").glob("*.yaml"))
    return [str(f) for f in files]


def sanitised_config(config: dict, dataset: str | os.PathLike) -> dict:
    """The resolved config with the dataset given by its folder name only."""
    out = copy.deepcopy(dict(config))
    out["dataset"] = Path(dataset).resolve().name
    return out
