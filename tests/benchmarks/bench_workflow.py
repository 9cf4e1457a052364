"""Benchmark the whole demo workflow (run on demand, not in pytest).

    python tests/benchmarks/bench_workflow.py [--repeats 2] [--cores 2]

Each repeat runs the demo from nothing in a fresh working directory (simulation included:
a cold run), then a no-op re-run; reports medians, the ratio no-op / cold, the time of each
rule summed over its jobs, and the peak memory (max RSS) per rule from Snakemake's
`benchmark:` files. Targets (issue 10): cold run <= 5 min on 2 cores, no-op <= 10 s, peak
memory per job <= 2 GiB.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]


def snakemake(workdir: Path, cores: int, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(REPO / "Snakefile"),
            "-d",
            str(workdir),
            "--cores",
            str(cores),
            "--quiet",
            "all",
            *extra,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def rule_table(workdir: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((workdir / "results/benchmarks").rglob("*.tsv")):
        rule = path.parent.name if path.parent.name != "benchmarks" else path.stem
        b = pd.read_csv(path, sep="\t")
        rows.append(
            {"rule": rule, "s": float(b["s"].iloc[0]), "max_rss_mb": float(b["max_rss"].iloc[0])}
        )
    t = pd.DataFrame(rows)
    return t.groupby("rule").agg(
        jobs=("s", "size"),
        total_s=("s", "sum"),
        median_s=("s", "median"),
        max_rss_mb=("max_rss_mb", "max"),
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    cold, noop = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeats):
            work = Path(tmp) / f"run{k}"
            work.mkdir()
            (work / "config").symlink_to(REPO / "config")
            cold.append(snakemake(work, args.cores))
            noop.append(snakemake(work, args.cores))
            print(f"repeat {k + 1}: cold {cold[-1]:.1f} s, no-op {noop[-1]:.1f} s", flush=True)
        rules = rule_table(work)
    med_cold, med_noop = statistics.median(cold), statistics.median(noop)
    print(f"\nfull demo run, {args.cores} cores, {args.repeats} repeats")
    print(f"  cold run: median {med_cold:.1f} s ({', '.join(f'{t:.1f}' for t in cold)})")
    print(
        f"  no-op re-run: median {med_noop:.1f} s ({', '.join(f'{t:.1f}' for t in noop)}); "
        f"ratio no-op/cold {med_noop / med_cold:.3f}"
    )
    print("  per rule (last repeat; seconds summed over jobs, peak RSS of any job):")
    print(rules.round(2).to_string())
    print(f"  largest peak memory of any job: {rules.max_rss_mb.max():.0f} MB")


if __name__ == "__main__":
    main()
