"""`fmrstrial stats`: every analysis behind the findings, from the workflow's tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from ..io.config import load_section
from ..lmm import DesignError, FormulaError
from ..stats.analysis import run_analyses, write_results
from ..stats.data import load_inputs
from ..stats.settings import resolve


def read_settings(path: str | None) -> dict:
    """The `stats:` section of a YAML config (or the whole file) over the defaults."""
    return resolve(load_section(path, "stats"))


def compute(participants, out_dir, settings, *tables, **named) -> None:
    """`write_findings` into one folder: findings.tsv and <model>.json (the other
    arguments as for `write_findings`)."""
    out_dir = Path(out_dir)
    models = {model: out_dir / f"{model}.json" for model in settings["models"]}
    write_findings(participants, out_dir / "findings.tsv", models, settings, *tables, **named)


def write_findings(
    participants,
    findings,
    model_paths: dict,
    settings,
    glx=None,
    glx_unmatched=None,
    clinical=None,
    clinical_mi=None,
    truth_dir=None,
    spectral_model=None,
    glx_other_mode=None,
    other_spectral_model=None,
) -> None:
    """Load the tables, run the analyses, write the findings table (`findings`) and each
    model's JSON (model_paths: model id -> path). glx_other_mode: the time course from the
    other fit mode (sensitivity row), described by `other_spectral_model`."""
    inputs = load_inputs(
        participants, glx, glx_unmatched, clinical, clinical_mi, truth_dir, glx_other_mode
    )
    try:
        table, docs = run_analyses(inputs, settings, spectral_model, other_spectral_model)
    except (FormulaError, DesignError) as exc:
        field = getattr(exc, "field", None)
        raise InputError(
            f"statistics configuration does not fit the data: {exc}"
            + (f" (column '{field}')" if field else ""),
            file="config stats.models",
        ) from exc
    write_results(table, docs, findings, model_paths)


def run(args: argparse.Namespace) -> int:
    compute(
        args.participants,
        args.out,
        read_settings(args.config),
        args.glx,
        args.glx_unmatched,
        args.clinical,
        args.clinical_mi,
        args.truth,
        args.spectral_model,
        args.glx_other_mode,
        args.other_spectral_model,
    )
    print(f"wrote {Path(args.out) / 'findings.tsv'}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("stats", help="mixed models and the findings table", description=__doc__)
    p.add_argument("--participants", required=True, help="participants.tsv of the dataset")
    p.add_argument("--glx", help="results/tables/glx_timecourse.tsv")
    p.add_argument("--glx-unmatched", help="time course without linewidth matching")
    p.add_argument("--clinical", help="results/tables/clinical.tsv")
    p.add_argument("--clinical-mi", help="results/tables/clinical_mi.tsv (imputations)")
    p.add_argument(
        "--truth",
        help="derivatives/truth of a dataset the fmrstrial simulator wrote (refused otherwise)",
    )
    p.add_argument("--config", help="YAML with a 'stats:' section")
    p.add_argument(
        "--spectral-model",
        help="description of the fit model behind the Glx values (spectral_model column)",
    )
    p.add_argument(
        "--glx-other-mode",
        help="time course from the other fit mode (sensitivity_other_fit_mode)",
    )
    p.add_argument("--other-spectral-model", help="description of the other fit mode's model")
    p.add_argument("--out", required=True, help="output folder (findings.tsv, <model>.json)")
    p.set_defaults(func=run)
