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
    "fmrstrial.power.command",
    "fmrstrial.privacy",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fmrstrial", description="Steps of the fmrstrial workflow, runnable one at a time."
    )
    parser.add_argument("--version", action="version", version=f"fmrstrial {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in STEP_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"fmrstrial {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
