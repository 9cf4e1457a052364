"""The score_clinical step (``fmrstrial score``): score the phenotype tables of a dataset
by each scale's published rules and write the clinical tables (`score_clinical`)."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from ..clinical.dataset_scores import score_dataset
from ..clinical.output_tables import write_outputs, write_tables
from ..clinical.rules import merge_rules
from ..errors import InputError


def score_clinical(dataset, rules: dict | None, outputs) -> None:
    """Score `dataset` with the missing-item `rules` and write the tables to outputs[key]
    for every key of clinical.OUTPUT_FILES; prints the scales not scored and why."""
    scores = score_dataset(dataset, rules)
    for scale, reason in scores.absent.items():
        print(f"note: {scale} not scored ({reason})")
    write_tables(scores, outputs)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``score`` on the top-level parser's subparsers."""
    parser = subparsers.add_parser(
        "score",
        help="score the clinical rating scales of a dataset",
        description=(
            "Score every rating scale in DATASET/phenotype by its published rules (MADRS is "
            "required, the other scales are scored when their table is present) and write "
            "clinical.tsv, clinical_wide.tsv, clinical_madrs.tsv, clinical_imputation.tsv "
            "and clinical_mi.tsv into --out."
        ),
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET", help="BIDS dataset folder")
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="output folder (e.g. results/tables)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="YAML",
        help="missing-item rules: a YAML mapping with 'missing' and/or 'mice' "
        "(or the workflow config, whose 'clinical' key is used)",
    )
    parser.set_defaults(func=run)
    return parser


def read_rules(path: Path | None) -> dict | None:
    """Missing-item rules from a YAML file (None when no file is given)."""
    if path is None:
        return None
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read config ({exc.strerror})", file=str(path)) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", file=str(path)) from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError("config must be a YAML mapping", file=str(path))
    return doc


def run(args: argparse.Namespace) -> int:
    """Score the dataset and write the tables; InputError on bad input (exit code 2)."""
    rules = merge_rules(read_rules(args.config), source=str(args.config or "<defaults>"))
    scores = score_dataset(args.dataset, rules)
    for scale, reason in scores.absent.items():
        print(f"note: {scale} not scored ({reason})")
    paths = write_outputs(scores, args.out)
    for path in paths.values():
        print(path)
    return 0
