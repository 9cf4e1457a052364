"""The simulate step (``fmrstrial simulate``; rule simulate_demo): write a simulated trial
dataset with its truth (`simulate`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import InputError
from ..io.config import load_section
from ..simulate.params import resolve
from ..simulate.trial import simulate_trial


def load_overrides(path: str | None) -> dict:
    """The `simulate:` section of a YAML config (or the whole file if it has none)."""
    return load_section(path, "simulate")


def simulate(
    dataset, overrides: dict | None = None, jobs: int = 1, workflow_demo: bool = False, **fixed
) -> dict:
    """Simulate a trial into the folder `dataset` from `simulate:` settings (overrides of
    the defaults; `fixed`: participants, seed); returns the simulator's summary.
    `workflow_demo`: written by the workflow's demo rule, which may regenerate it."""
    start = time.perf_counter()
    params = resolve(overrides or {}, **fixed)
    summary = simulate_trial(dataset, params, jobs=jobs, workflow_demo=workflow_demo)
    print(
        f"simulated {summary['participants']} participants, {summary['sessions']} sessions "
        f"into {dataset} ({summary['bytes'] / 1e6:.1f} MB, {time.perf_counter() - start:.1f} s)"
    )
    return summary


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise InputError(
            "output directory exists and is not empty (use --overwrite)", file=str(out)
        )
    overrides = load_overrides(args.config)
    simulate(out, overrides, args.jobs, participants=args.participants, seed=args.seed)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "simulate", help="write a simulated trial dataset (the demo input)", description=__doc__
    )
    p.add_argument("--out", required=True, help="dataset directory to write")
    p.add_argument("--participants", type=int, default=None, help="number of participants")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.add_argument("--config", default=None, help="YAML with a 'simulate:' section")
    p.add_argument("--jobs", type=int, default=1, help="parallel processes")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    p.set_defaults(func=run)
