"""``fmrstrial lmm``: fit one linear mixed model from a CSV and write its JSON summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from ..errors import InputError, Problem
from ..io.atomic import write_text
from .design import DesignError
from .formula import FormulaError
from .model import fit_lmm
from .optimize import FitError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "lmm",
        help="fit a linear mixed model (REML) with Satterthwaite / Kenward-Roger inference",
        description=(
            "Fit one LMM by REML and write fixed effects, type III F tests, variance "
            "components and convergence information as JSON (layout of the lmerTest references)."
        ),
    )
    p.add_argument("--data", required=True, help="long-format CSV, one row per observation")
    p.add_argument(
        "--formula",
        required=True,
        help=(
            "e.g. 'value ~ condition*time + (1|subject)', '... + (1 + time|subject)' or, with "
            "an intercept per session nested in the subject's, '... + (1|subject/session)'"
        ),
    )
    p.add_argument(
        "--factors",
        default="",
        help="comma-separated columns to treat as factors (text columns always are)",
    )
    p.add_argument(
        "--ref", default="", help="reference levels as factor=level pairs, comma-separated"
    )
    p.add_argument("--kr", action="store_true", help="also compute Kenward-Roger tables")
    p.add_argument("--out", required=True, help="output JSON file (written atomically)")
    p.set_defaults(func=run)


def _parse_ref(text: str) -> dict[str, str]:
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, sep, level = item.partition("=")
        if not sep or not name.strip() or not level.strip():
            raise InputError(
                Problem("--ref", f"expected factor=level pairs separated by commas, got {item!r}")
            )
        out[name.strip()] = level.strip()
    return out


def read_table(path: str) -> pd.DataFrame:
    """Read the CSV or raise InputError naming the file."""
    if not Path(path).is_file():
        raise InputError("file not found (expected a CSV with one row per observation)", file=path)
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read as CSV: {exc}", file=path) from exc


def run(args: argparse.Namespace) -> int:
    data = read_table(args.data)
    factors = {f.strip(): None for f in args.factors.split(",") if f.strip()}
    ref = _parse_ref(args.ref)
    try:
        result = fit_lmm(
            data,
            args.formula,
            factors=factors,
            kr=args.kr,
            ref=ref,
            source=Path(args.data).name,
        )
    except FormulaError as exc:
        raise InputError(Problem("--formula", f"{exc} (formula: {args.formula!r})")) from exc
    except DesignError as exc:
        raise InputError(Problem(args.data, str(exc), row=exc.row, field=exc.field)) from exc
    except FitError as exc:
        raise InputError(Problem(args.data, f"the model could not be fitted: {exc}")) from exc
    text = json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"
    write_text(args.out, text)
    return 0
