"""Rejection and block QC at higher SNR than the demo's, against the simulator's truth.

    python tests/benchmarks/bench_high_snr.py [--snr-factor 10] [--sessions 12] [--seed 1]

Run on demand (not in pytest). The first `--sessions` sessions of the realistic demo
simulator's trial `--seed` (config defaults, the demo's habits) are simulated with the
single-transient NAA SNR range multiplied by `--snr-factor`, preprocessed with the demo's
settings, twice: with the default rejection (amplitude and registration residual judged
against their running median over `reject_trend_window` transients) and with the window
set to the whole session (`reject_trend_window` >= the number of transients), which is the
earlier session-median rule exactly. Printed per rule: clean transients excluded, corrupt
transients (simulator's truth) excluded and missed, blocks left empty.

The default run's blocks are then fitted (GE basis, default fit settings, as the workflow)
and put through the time course's QC (`timecourse.session_timecourse`): printed are the
share of blocks passing, the median residual / noise, and the share of blocks above
`qc.max_residual_ratio` (what the residual rule excluded before it also required a block
to exceed `qc.max_residual_over_median` x its session's median), and the correlation over
sessions of the fitted with the true Glx/tNAA rise (issue 14's r >= 0.8), to show how it
grows with SNR.

About 3 s of one core per session and rule at the demo's 1024 points.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_calibration_modes import (  # noqa: E402
    GE,
    PREPROCESS,
    rise_correlation,
    timecourse_rows,
    write_preprocessing,
)

from fmrstrial.fit.session import fit_data  # noqa: E402
from fmrstrial.io.basis import read_basis  # noqa: E402
from fmrstrial.io.tsv import write_tsv  # noqa: E402
from fmrstrial.paths import resource  # noqa: E402
from fmrstrial.preprocess import preprocess_session  # noqa: E402
from fmrstrial.simulate import resolve as sim_resolve  # noqa: E402
from fmrstrial.simulate.mrs import build_model, simulate_session  # noqa: E402
from fmrstrial.simulate.params import DEFAULTS as SIM_DEFAULTS  # noqa: E402
from fmrstrial.simulate.trial import _to_mrs, draw_trial  # noqa: E402
from fmrstrial.timecourse import qc_limits  # noqa: E402

RULES = {"trend": {}, "session-wide": {"reject_trend_window": 10**9}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snr-factor", type=float, default=10.0)
    ap.add_argument("--sessions", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    snr = [a.snr_factor * v for v in SIM_DEFAULTS["signal"]["snr_naa"]]
    params = sim_resolve({"signal": {"snr_naa": snr}}, seed=a.seed, participants=26)
    model = build_model(params)
    trial = draw_trial(params)
    basis = read_basis(resource(GE))
    # clean excluded, clean, corrupt excluded, corrupt, empty blocks
    counts = {name: np.zeros(5, int) for name in RULES}
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in trial.sessions[: a.sessions]:
            pid, sid = s.participant.participant_id, s.session_id
            effects, habits = trial.session_inputs(s)
            data = simulate_session(s, effects, model, params, habits)
            truth = Path(tmp) / f"{pid}_{sid}_transients.tsv"
            write_tsv(data.truth, truth)
            bad = data.truth["corrupt"].to_numpy().astype(bool)
            multi = s.n_coils > 1
            svs = _to_mrs(data.fids, multi, model, params, True, "transients")
            ref = _to_mrs(data.water, multi, model, params, False, "water reference")
            for name, extra in RULES.items():
                pre = preprocess_session(svs, ref, s.infusion_start_s, {**PREPROCESS, **extra})
                ex = pre.transients["excluded"].to_numpy().astype(bool)
                empty = int(pre.qc["n_kept"].eq(0).sum())
                found = [(ex & ~bad).sum(), (~bad).sum(), (ex & bad).sum(), bad.sum(), empty]
                counts[name] += found
                if name == "trend":
                    work = Path(tmp) / pid / sid
                    fits = fit_data(pre.blocks, basis)
                    pre_dir = write_preprocessing(pre, work)
                    frames.append(timecourse_rows(s, pre_dir, fits, work, truth))
            print(f"{pid} {sid} done", flush=True)
    print(
        f"\nSNR x {a.snr_factor:g} (single-transient NAA SNR {snr[0]:g}-{snr[1]:g}), "
        f"trial seed {a.seed}, {min(a.sessions, len(trial.sessions))} sessions"
    )
    for name, (fp, clean, tp, corrupt, empty) in counts.items():
        print(
            f"rejection ({name} rule): clean transients excluded {fp} of {clean}, corrupt "
            f"excluded {tp} of {corrupt}, empty blocks {empty}"
        )
    tc = pd.concat(frames, ignore_index=True)
    limit = qc_limits()["max_residual_ratio"]
    print(
        f"blocks passing time-course QC (trend rule): {tc.qc_pass.astype(bool).sum()} of "
        f"{len(tc)}; residual/noise median {tc.residual_noise_ratio.median():.2f}, above "
        f"{limit:g} (excluded by the residual rule without the session comparison): "
        f"{(tc.residual_noise_ratio > limit).mean():.1%}"
    )
    print(f"per-session Glx/tNAA rise, fitted vs true: r = {rise_correlation(tc):.3f}")


if __name__ == "__main__":
    main()
