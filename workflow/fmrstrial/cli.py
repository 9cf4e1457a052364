"""The `fmrstrial` command: one subcommand per workflow step.

Each step module exposes ``add_parser(subparsers)`` which registers its subcommand and sets
``func`` (a callable taking the parsed arguments and returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import InputError

#: Modules that provide a subcommand, in the order shown by --help.
STEP_MODULES = (
    "fmrstrial.simulate.command",
    "fmrstrial.dataset",
    "fmrstrial.convert.command",
    "fmrstrial.preprocess.command",
    "fmrstrial.fit.command",
    "fmrstrial.clinical.command",
    "fmrstrial.lmm.command",
    "fmrstrial.stats.command",
    "fmrstrial.privacy",
)


#: Subcommand name -> module, so that one step imports only its own module (start-up time
#: of a one-spectrum job); --help imports them all.
COMMANDS = {
    "simulate": "fmrstrial.simulate.command",
    "validate-dataset": "fmrstrial.dataset",
    "convert": "fmrstrial.convert.command",
    "preprocess": "fmrstrial.preprocess.command",
    "fit": "fmrstrial.fit.command",
    "score": "fmrstrial.clinical.command",
    "lmm": "fmrstrial.lmm.command",
    "stats": "fmrstrial.stats.command",
    "privacy-check": "fmrstrial.privacy",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv` naming a known subcommand, only that step's module is loaded."""
    parser = argparse.ArgumentParser(
        prog="fmrstrial", description="Steps of the fmrstrial workflow, runnable one at a time."
    )
    parser.add_argument("--version", action="version", version=f"fmrstrial {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    first = next((a for a in (argv or []) if not a.startswith("-")), None)
    wanted = [COMMANDS[first]] if first in COMMANDS else STEP_MODULES
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
