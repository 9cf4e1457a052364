"""Benchmark `fmrstrial preprocess` on the 26-participant demo (run on demand, not in pytest).

    python tests/benchmarks/bench_preprocess.py [--repeats 3] [--workers 2] [--dataset DIR]

Simulates the demo into a temporary folder (`fmrstrial simulate --jobs 2`) unless --dataset
is given, then, `repeats` times each:

- baseline: read the 52 metabolite and 52 water-reference NIfTI-MRS files with `workers`
  processes (the I/O floor of any per-session step);
- api: preprocess all 52 sessions (read, process, write the six outputs) with `workers`
  processes calling `fmrstrial.preprocess.run_session`;
- cli: the same through one `python -m fmrstrial.preprocess` process per session,
  `workers` at a time (as a Snakemake rule with one job per session runs it; includes
  interpreter start and imports). The start-up of that entry point and of the full
  `fmrstrial` command (which imports every step) is reported separately.

Reports medians, the ratio to the baseline, and the time per session per core.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

N_SESSIONS = 52


def sessions(root: Path) -> list[tuple[str, str, float]]:
    """(svs, ref, infusion_start_s) of every session of the dataset."""
    from fmrstrial.dataset import ref_path, svs_path
    from fmrstrial.io.tsv import read_tsv

    out = []
    for sub in sorted(p for p in root.glob("sub-*") if p.is_dir()):
        table = read_tsv(sub / f"{sub.name}_sessions.tsv")
        for row in table.itertuples():
            svs, ref = (
                svs_path(root, sub.name, row.session_id),
                ref_path(root, sub.name, row.session_id),
            )
            out.append((str(svs), str(ref), float(row.infusion_start_s)))
    return out


def _read(job) -> float:
    from fmrstrial.io.nifti_mrs import read_nifti_mrs

    start = time.perf_counter()
    read_nifti_mrs(job[0])
    read_nifti_mrs(job[1])
    return time.perf_counter() - start


def _process(job) -> tuple[float, float]:
    from fmrstrial.steps.preprocess import PreprocessOutputs, run_session

    svs, ref, t0, out = job
    start, cpu = time.perf_counter(), time.process_time()
    run_session(svs, ref, t0, PreprocessOutputs.in_folder(out))
    return time.perf_counter() - start, time.process_time() - cpu


def _warm(_):
    import matplotlib.backends.backend_agg  # noqa: F401

    import fmrstrial.steps.preprocess  # noqa: F401

    return os.getpid()


def timed_pool(fn, jobs, workers: int) -> tuple[float, list[float]]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_warm, range(workers)))  # imports are not part of the work
        start = time.perf_counter()
        each = list(pool.map(fn, jobs))
        return time.perf_counter() - start, each


def timed_cli(jobs, workers: int) -> tuple[float, float]:
    """Wall time and summed CPU time (user + system) of one process per session."""

    def one(job):
        svs, ref, t0, out = job
        cmd = [sys.executable, "-m", "fmrstrial.preprocess", svs, "--ref", ref,
               "--infusion-start", str(t0), "--out", out]  # fmt: skip
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, jobs))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def startup(module: str, repeats: int = 3) -> float:
    """Median wall time of `python -m module --help` (interpreter start and imports)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", module, "--help"], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dataset", default=None, help="existing demo dataset (else simulate)")
    ap.add_argument("--skip-cli", action="store_true", help="do not time the CLI mode")
    args = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as Snakemake sets for 1-thread jobs
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = Path(args.dataset) if args.dataset else tmp / "demo"
        if not args.dataset:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "fmrstrial", "simulate", "--out", str(root),
                            "--jobs", "2"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            print(f"simulated the demo in {time.perf_counter() - t:.1f} s")
        todo = sessions(root)
        assert len(todo) == N_SESSIONS, len(todo)
        base, api, cli, cli_cpu, per_session, cpu_session = [], [], [], [], [], []
        for r in range(args.repeats):
            base.append(timed_pool(_read, todo, args.workers)[0])
            jobs = [(s, f, t0, str(tmp / f"api{r}" / Path(s).name)) for s, f, t0 in todo]
            wall, each = timed_pool(_process, jobs, args.workers)
            api.append(wall)
            per_session += [w for w, _ in each]
            cpu_session += [c for _, c in each]
            if not args.skip_cli:
                jobs = [(s, f, t0, str(tmp / f"cli{r}" / Path(s).name)) for s, f, t0 in todo]
                wall, cpu = timed_cli(jobs, args.workers)
                cli.append(wall)
                cli_cpu.append(cpu)

    def fmt(xs):
        return ", ".join(f"{x:.1f}" for x in xs)

    med_b, med_a = statistics.median(base), statistics.median(api)
    print(f"fmrstrial preprocess, {N_SESSIONS} demo sessions, {args.workers} workers, "
          f"{args.repeats} repeats (cpus available: {os.cpu_count()})")  # fmt: skip
    print(f"  baseline, read 104 NIfTI-MRS files: median {med_b:.1f} s (runs: {fmt(base)})")
    print(f"  api, run_session x 52:            median {med_a:.1f} s (runs: {fmt(api)})")
    print(f"    ratio to baseline: {med_a / med_b:.1f}; per session per core: "
          f"{med_a * args.workers / N_SESSIONS:.2f} s; single session (in worker) median "
          f"{statistics.median(per_session):.2f} s, max {max(per_session):.2f} s; CPU time "
          f"median {statistics.median(cpu_session):.2f} s")  # fmt: skip
    print(f"  start-up: python -m fmrstrial.preprocess {startup('fmrstrial.preprocess'):.2f} s, "
          f"fmrstrial (all steps) {startup('fmrstrial'):.2f} s")  # fmt: skip
    if cli:
        med_c = statistics.median(cli)
        print(f"  cli, one process per session:     median {med_c:.1f} s (runs: {fmt(cli)})")
        cpu = statistics.median(cli_cpu)
        print(f"    ratio to baseline: {med_c / med_b:.1f}; per session per core: "
              f"{med_c * args.workers / N_SESSIONS:.2f} s; CPU time {cpu / N_SESSIONS:.2f} s "
              f"per session ({cpu / args.workers:.1f} s of {args.workers} busy cores)")  # fmt: skip


if __name__ == "__main__":
    main()
