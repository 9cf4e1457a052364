"""Speed of the fit on demo block spectra, one core, in both fit modes.

    python tests/benchmarks/bench_fit_speed.py [--n 200] [--repeats 3] [--session-blocks 6]

Fits `n` synthetic demo blocks (fmrstrial.fit.synthetic, fixed seed; basis prepared once)
`repeats` times and reports the median spectra per second:
  - dynamic mode (the default, `fit_data_dynamic` without the comparison fits): the blocks
    cut into sessions of `session-blocks` consecutive blocks, each session fitted jointly
    (its mean-spectrum fit included), as one fit job does per file;
  - block mode: the session background fitted once on the mean of all `n` blocks and every
    block on it (`fit_blocks_on_background`, as `fit_data` does per file).
Baselines measured in the same run on the same spectra (block mode):
  - finite-difference Jacobian: the same variable-projection problem solved by scipy's
    least_squares with jac='2-point' instead of the analytic Jacobian (full CRLB as well);
  - NNLS only: one linear solve at the starting values (no nonlinear fit, no CRLB), a lower
    bound for any fit of this model.
OMP/OpenBLAS threads are set to 1 before numpy is imported (the fit also forces
single-threaded OpenBLAS itself). Target: >= 8 spectra/s (LCModel 6.3 needs about 1.3 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
from scipy.optimize import least_squares  # noqa: E402

import fmrstrial.fit.core as core  # noqa: E402
from fmrstrial.fit import prepare_basis, resolve_settings  # noqa: E402
from fmrstrial.fit.session import fit_blocks_on_background, fit_data_dynamic  # noqa: E402
from fmrstrial.fit.solver import bounds  # noqa: E402
from fmrstrial.fit.synthetic import demo_model, make_blocks  # noqa: E402
from fmrstrial.io.basis import read_basis  # noqa: E402
from fmrstrial.io.nifti_mrs import MRSData  # noqa: E402
from fmrstrial.paths import resource  # noqa: E402

GE = "basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS"


def solve_finite_differences(problem, theta0, max_nfev, shift_window=None):
    """core.solve with a finite-difference Jacobian (same bounds and tolerances)."""
    lb, ub = bounds(problem.model, shift_window)
    theta0 = np.clip(theta0, lb + 1e-3, ub - 1e-3)
    return least_squares(
        problem.fun,
        theta0,
        jac="2-point",
        bounds=(lb, ub),
        method="trf",
        x_scale="jac",
        max_nfev=max_nfev,
        ftol=1e-10,
        xtol=1e-10,
        gtol=1e-10,
    )


def solve_nothing(problem, theta0, max_nfev, shift_window=None):
    """No nonlinear fit: the linear (NNLS) solution at the starting values."""

    class Result:
        x = theta0
        status = 1
        nfev = 1
        message = "start only"

    problem.evaluate(theta0)
    return Result()


def run(blocks, sim, fb, settings):
    """As `fit_data` fits a session: the baseline and macromolecules fitted once on the
    mean of the blocks (its time included), then every block on that session background."""
    fids = np.stack([b.fid for b in blocks], axis=1)
    data = MRSData(fids, sim.dwell_s, sim.cf_mhz, dim_tags=("DIM_DYN",))
    used = list(range(len(blocks)))
    start = time.perf_counter()
    fits = fit_blocks_on_background(fids, used, data, fb, settings, "benchmark blocks")
    return len(blocks) / (time.perf_counter() - start), [fits[j] for j in used]


def run_dynamic(blocks, sim, basis, settings, per_session):
    """Sessions of `per_session` consecutive blocks, each fitted jointly as one fit job
    does (`fit_data_dynamic`, no comparison fits; the raw `basis` prepared per session, as
    per file); spectra per second and the fits."""
    start, fits = time.perf_counter(), []
    for s in range(0, len(blocks) - per_session + 1, per_session):
        fids = np.stack([b.fid for b in blocks[s : s + per_session]], axis=1)
        data = MRSData(fids, sim.dwell_s, sim.cf_mhz, dim_tags=("DIM_DYN",))
        phases = ["baseline"] + ["infusion"] * (per_session - 1)
        dyn = fit_data_dynamic(data, basis, settings, "benchmark session", phases, compare=False)
        fits += [r for _, r in sorted(dyn.fits + dyn.empty, key=lambda item: item[0])]
    return len(fits) / (time.perf_counter() - start), fits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--session-blocks", type=int, default=6)
    args = ap.parse_args()
    if not 2 <= args.session_blocks <= args.n:
        ap.error("--session-blocks must be between 2 and --n")
    sim = demo_model()
    settings = resolve_settings()
    raw = read_basis(resource(GE))
    t0 = time.perf_counter()
    fb = prepare_basis(raw, sim.n_points, sim.dwell_s, sim.cf_mhz, settings)
    prep = time.perf_counter() - t0
    blocks = make_blocks(args.n, 11, sim)

    dynamic, dyn_fits = [], None
    dyn_settings = resolve_settings({"mode": "dynamic"})
    for _ in range(args.repeats):
        rate, dyn_fits = run_dynamic(blocks, sim, raw, dyn_settings, args.session_blocks)
        dynamic.append(rate)

    analytic, fits = [], None
    for _ in range(args.repeats):
        rate, fits = run(blocks, sim, fb, settings)
        analytic.append(rate)
    original = core.solve
    try:
        core.solve = solve_finite_differences
        fd, fd_fits = [], None
        for _ in range(args.repeats):
            rate, fd_fits = run(blocks, sim, fb, settings)
            fd.append(rate)
        core.solve = solve_nothing
        linear = [run(blocks, sim, fb, settings)[0] for _ in range(args.repeats)]
    finally:
        core.solve = original

    med, med_fd, med_lin, med_dyn = (statistics.median(x) for x in (analytic, fd, linear, dynamic))
    glx = np.array([r.ratios["Glx/tNAA"].value for r in fits])
    glx_fd = np.array([r.ratios["Glx/tNAA"].value for r in fd_fits])
    iters = [r.iterations for r in fits]
    print(f"{args.n} demo block spectra, {args.repeats} repeats, one thread")
    print(f"  basis preparation (once per file): {prep * 1000:.0f} ms")
    print(f"  dynamic mode (default), sessions of {args.session_blocks} blocks fitted jointly: "
          f"median {med_dyn:.1f} spectra/s ({1000 / med_dyn:.1f} ms each; runs "
          f"{', '.join(f'{x:.1f}' for x in dynamic)}; {len(dyn_fits)} blocks); "
          f"{med_dyn / med:.2f}x the block mode's rate below; LCModel 6.3 at 2.5-2.7 s per "
          f"spectrum: {2.6 * med_dyn:.0f}x (target >= 10x)")  # fmt: skip
    print("  block mode (session background on the mean of all blocks):")
    print(f"  analytic Jacobian (fmrstrial): median {med:.1f} spectra/s "
          f"({1000 / med:.1f} ms each; runs {', '.join(f'{x:.1f}' for x in analytic)}); "
          f"median {statistics.median(iters):.0f} model evaluations")  # fmt: skip
    print(f"  baseline, finite-difference Jacobian: median {med_fd:.1f} spectra/s "
          f"(runs {', '.join(f'{x:.1f}' for x in fd)})")  # fmt: skip
    print(f"  baseline, NNLS only at the start values: median {med_lin:.1f} spectra/s")
    print(f"  speed-up over the finite-difference fit: {med / med_fd:.2f}x; "
          f"fraction of the NNLS-only rate: {med / med_lin:.2f}")  # fmt: skip
    print(f"  same optimum: max |Glx/tNAA difference| analytic vs finite differences "
          f"{np.abs(glx - glx_fd).max():.2e}")  # fmt: skip
    print(f"  target >= 8 spectra/s: {'PASS' if med >= 8 else 'FAIL'}; LCModel 6.3 needs 2.5-2.7 s "
          f"per spectrum: ratio {2.6 * med:.0f}x (target >= 10x)")  # fmt: skip


if __name__ == "__main__":
    main()
