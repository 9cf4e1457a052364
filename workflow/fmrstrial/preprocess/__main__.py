"""`python -m fmrstrial.preprocess SVS ...`: the preprocess step without the other steps'
imports (faster start for one job per session); same arguments as `fmrstrial preprocess`."""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError
from ..steps import preprocess as command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fmrstrial.preprocess",
        description=command.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.arguments(parser)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"fmrstrial preprocess: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
