"""Provenance of a run: input checksums, resolved config, software versions, git commit.

Paths are written relative to the dataset (inputs) or the repository (workflow files), so
the manifest holds no absolute path of the machine or the source data.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

from . import __version__
from .io.tables import write_json

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


def _relative(path: Path, bases: list[tuple[str, Path]]) -> str:
    resolved = path.resolve()
    for label, base in bases:
        try:
            return f"{label}/{resolved.relative_to(base.resolve())}"
        except ValueError:
            continue
    return path.name


def write_manifest(
    out: str | os.PathLike,
    dataset: str | os.PathLike,
    inputs: list[str],
    workflow_files: list[str],
    config: dict,
    repo: str | os.PathLike,
) -> dict:
    """Write results/provenance/manifest.json; returns it."""
    bases = [("dataset", Path(dataset)), ("workflow", Path(repo))]
    manifest = {
        "description": "Provenance of this run: SHA-256 of every input, the resolved "
        "configuration, software versions and the workflow's git commit.",
        "dataset": Path(dataset).resolve().name,
        "inputs": {_relative(Path(p), bases): sha256(p) for p in sorted(set(inputs))},
        "workflow_files": {
            _relative(Path(p), bases): sha256(p) for p in sorted(set(workflow_files))
        },
        "config": config,
        "versions": versions(),
        "git": git_commit(repo),
    }
    write_json(manifest, out)
    return manifest
