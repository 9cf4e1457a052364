"""The `fmrstrial` command: one subcommand per workflow step (and `lmm`, the mixed-model
tool).

Each step module (fmrstrial.steps) exposes ``add_parser(subparsers)`` which registers its
subcommand and sets ``func`` (a callable taking the parsed arguments and returning an exit
code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import InputError

#: Subcommand -> module (fmrstrial.steps.<rule name>, in workflow order; `lmm` is a tool),
#: so that one step imports only its own module (start-up time of a one-spectrum job);
#: --help imports them all.
COMMANDS = {
    "simulate": "fmrstrial.steps.simulate",
    "validate-dataset": "fmrstrial.steps.validate_dataset",
    "convert": "fmrstrial.steps.convert",
    "conversion-summary": "fmrstrial.steps.conversion_summary",
    "preprocess": "fmrstrial.steps.preprocess",
    "trial-baseline": "fmrstrial.steps.trial_baseline",
    "fit": "fmrstrial.steps.fit",
    "plot-fit": "fmrstrial.steps.plot_fit",
    "glx-timecourse": "fmrstrial.steps.glx_timecourse",
    "score": "fmrstrial.steps.score_clinical",
    "stats": "fmrstrial.steps.stats",
    "reporting-tables": "fmrstrial.steps.reporting_tables",
    "provenance": "fmrstrial.steps.provenance",
    "privacy-check": "fmrstrial.steps.privacy_check",
    "power": "fmrstrial.steps.power",
    "lmm": "fmrstrial.lmm.command",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv` naming a known subcommand, only that step's module is loaded."""
    parser = argparse.ArgumentParser(
        prog="fmrstrial", description="Steps of the fmrstrial workflow, runnable one at a time."
    )
    parser.add_argument("--version", action="version", version=f"fmrstrial {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    first = next((a for a in (argv or []) if not a.startswith("-")), None)
    wanted = [COMMANDS[first]] if first in COMMANDS else list(COMMANDS.values())
    for name in wanted:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"fmrstrial {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
