"""The provenance step (``fmrstrial provenance``): a manifest of a run with the SHA-256 of
every input and workflow file, the configuration (dataset by folder name only), software
versions and the workflow's git commit (`write_manifest`).

The workflow lists the inputs it used; the command line checksums every file of the
dataset folder (and the basis set, when given).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import yaml

from ..errors import InputError
from ..io.tsv import write_json
from ..provenance import (
    git_commit,
    relative_name,
    sanitised_config,
    sha256,
    versions,
    workflow_files,
)


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
        "inputs": {relative_name(Path(p), bases): sha256(p) for p in sorted(set(inputs))},
        "workflow_files": {
            relative_name(Path(p), bases): sha256(p) for p in sorted(set(workflow_files))
        },
        "config": config,
        "versions": versions(),
        "git": git_commit(repo),
    }
    write_json(manifest, out)
    return manifest


def run(args: argparse.Namespace) -> int:
    dataset = Path(args.dataset)
    if not dataset.is_dir():
        raise InputError("dataset folder not found", file=str(dataset))
    inputs = sorted(str(p) for p in dataset.rglob("*") if p.is_file())
    if args.basis:
        basis = Path(args.basis)
        inputs += (
            sorted(str(p) for p in basis.rglob("*") if p.is_file())
            if basis.is_dir()
            else [str(basis)]
        )
    config = {}
    if args.config:
        try:
            config = yaml.safe_load(Path(args.config).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"cannot read the config ({exc})", file=args.config) from None
    repo = Path(args.repo)
    write_manifest(
        args.out, dataset, inputs, workflow_files(repo), sanitised_config(config, dataset), repo
    )
    print(f"wrote {args.out} ({len(inputs)} inputs)")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "provenance",
        help="checksums, configuration and versions of a run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", required=True, help="dataset folder (every file is checksummed)")
    p.add_argument("--basis", help="basis set (file or folder) used by the fit")
    p.add_argument("--config", help="workflow config YAML recorded in the manifest")
    p.add_argument("--repo", default=".", help="the workflow's clone (default: .)")
    p.add_argument("--out", required=True, help="manifest JSON to write")
    p.set_defaults(func=run)
