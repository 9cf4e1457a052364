"""Benchmark `fmrstrial simulate` for the 26-participant demo (run on demand, not in pytest).

    python tests/benchmarks/bench_simulate.py [--repeats 3] [--jobs 2]

Reports the median wall time of `repeats` runs with `--jobs` processes, the median of
single-process runs as the in-run baseline (ratio = parallel / single), and the dataset
size on disk.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(out: Path, jobs: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "fmrstrial", "simulate", "--out", str(out), "--jobs", str(jobs)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        parallel = [run_once(out, args.jobs) for _ in range(args.repeats)]
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        n_files = sum(1 for f in out.rglob("*") if f.is_file())
        single = [run_once(out, 1) for _ in range(args.repeats)]
    med_p, med_s = statistics.median(parallel), statistics.median(single)
    print(f"fmrstrial simulate, 26 participants / 52 sessions, {args.repeats} runs each")
    print(
        f"  --jobs {args.jobs}: median {med_p:.1f} s  (runs: "
        f"{', '.join(f'{t:.1f}' for t in parallel)})"
    )
    print(
        f"  --jobs 1 (baseline): median {med_s:.1f} s  (runs: "
        f"{', '.join(f'{t:.1f}' for t in single)})"
    )
    print(f"  ratio parallel/single: {med_p / med_s:.2f}")
    print(f"  dataset: {size / 2**20:.0f} MiB in {n_files} files")


if __name__ == "__main__":
    main()
