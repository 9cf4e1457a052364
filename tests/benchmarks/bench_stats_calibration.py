"""Calibration of the statistics over simulated trials (run on demand, not in pytest).

    python tests/benchmarks/bench_stats_calibration.py [--trials 20] [--noise-sd 0.024]
        [--session-bias-sd 0.05] [--one-phase-fraction 0.1]

Each trial is simulated with a different seed (default demo design: 26 participants). The
MADRS and self-report analyses use the real chain (item tables scored by fmrstrial.clinical).
The Glx analyses use truth-level time courses: each block's true Glx/tNAA (mean of the
simulator's per-transient truth over the analysis blocks: one pre-infusion block and five
6-min infusion blocks) plus Gaussian measurement noise with the SD measured on the demo's
full chain (fitted minus true Glx/tNAA per block; --noise-sd, default 0.024). Spectra are
simulated at 256 points only to save time; the truth does not depend on it.

`--session-bias-sd`: each session's Glx/tNAA is also moved by one offset, normal with this
SD as a fraction of its true mean (a fit bias of the session as a whole, e.g. from its SNR;
0: none). `--one-phase-fraction`: in this fraction of the sessions every block of one phase
(baseline or infusion, at random) fails QC, so the session keeps blocks of one phase only.

Reports how often the 95 % CI of the primary Glx effect (glx_condition_infusion), of the
within-session change row (sensitivity_session_change), of the primary model with a random
intercept per session (sensitivity_session_intercept), of the three sex-moderation rows and
of the MADRS interaction (madrs_condition_by_time) covers the true value, the mean estimate
vs the truth, and the mean F statistic.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fmrstrial.clinical import score_dataset, write_outputs
from fmrstrial.io.tsv import read_tsv, write_tsv
from fmrstrial.simulate import resolve as sim_resolve
from fmrstrial.simulate import simulate_trial
from fmrstrial.stats import resolve
from fmrstrial.steps.stats import compute
from fmrstrial.timecourse import block_truth


def analysis_blocks(infusion_start_s: float) -> pd.DataFrame:
    rows = [(1, "baseline", -infusion_start_s / 60.0, 0.0)]
    rows += [(k + 2, "infusion", 6.0 * k, 6.0 * (k + 1)) for k in range(5)]
    out = pd.DataFrame(rows, columns=["block", "phase", "t_start_min", "t_end_min"])
    out["t_mid_min"] = 0.5 * (out.t_start_min + out.t_end_min)
    return out


def glx_table(
    root: Path,
    noise_sd: float,
    rng: np.random.Generator,
    session_bias_sd: float = 0.0,
    one_phase_fraction: float = 0.0,
) -> pd.DataFrame:
    parts = read_tsv(root / "participants.tsv").set_index("participant_id")
    sessions = read_tsv(root / "derivatives/truth/sessions.tsv")
    frames = []
    for s in sessions.itertuples():
        tr = read_tsv(
            root
            / "derivatives/truth"
            / s.participant_id
            / s.session_id
            / f"{s.participant_id}_{s.session_id}_transients.tsv"
        )
        blocks = analysis_blocks(s.infusion_start_s)
        bt = block_truth(tr, blocks).merge(blocks, on="block")
        bt = bt.assign(
            participant_id=s.participant_id,
            session_id=s.session_id,
            condition=s.condition,
            period=s.period,
            sex=parts.loc[s.participant_id, "sex"],
            qc_pass=True,
            glx_crlb_pct=2.0,
        )
        bt["glx_tnaa"] = bt.true_glx_tnaa + rng.normal(0, noise_sd, len(bt))
        bt["glu_tnaa"] = bt.true_glu_tnaa + rng.normal(0, noise_sd, len(bt))
        if session_bias_sd > 0:
            bt["glx_tnaa"] += bt.true_glx_tnaa.mean() * rng.normal(0, session_bias_sd)
        if one_phase_fraction > 0 and rng.random() < one_phase_fraction:
            bt.loc[bt.phase == rng.choice(["baseline", "infusion"]), "qc_pass"] = False
        frames.append(bt)
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--noise-sd", type=float, default=0.024)
    ap.add_argument("--session-bias-sd", type=float, default=0.0)
    ap.add_argument("--one-phase-fraction", type=float, default=0.0)
    args = ap.parse_args()
    settings = resolve({"bootstrap": {"n": 500, "seed": 1}})
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.trials):
            seed = args.first_seed + k
            ds = Path(tmp) / f"trial{k}"
            simulate_trial(ds, sim_resolve({"seed": seed, "acquisition": {"points": 256}}), jobs=2)
            tables = Path(tmp) / f"tables{k}"
            write_outputs(score_dataset(ds), tables)
            write_tsv(
                glx_table(
                    ds,
                    args.noise_sd,
                    np.random.default_rng(seed),
                    args.session_bias_sd,
                    args.one_phase_fraction,
                ),
                tables / "glx_timecourse.tsv",
            )
            out = Path(tmp) / f"stats{k}"
            compute(
                ds / "participants.tsv",
                out,
                settings,
                glx=tables / "glx_timecourse.tsv",
                clinical=tables / "clinical.tsv",
                truth_dir=ds / "derivatives/truth",
            )
            f = read_tsv(out / "findings.tsv")
            for fid, outcome in (
                ("glx_condition_infusion", "glx_tnaa"),
                ("sensitivity_session_change", "glx_change"),
                ("sensitivity_session_intercept", "glx_tnaa"),
                ("glx_sex_moderation", "glx_tnaa"),
                ("sensitivity_session_change_sex", "glx_change"),
                ("sensitivity_session_intercept_sex", "glx_tnaa"),
                ("madrs_condition_by_time", "madrs_total"),
                ("madrs_attenuation_pct", "madrs_total"),
            ):
                r = f[(f.finding_id == fid) & (f.outcome == outcome)].iloc[0]
                rows.append(
                    {
                        "trial": k,
                        "seed": seed,
                        "finding": fid,
                        "estimate": r.estimate,
                        "truth": r.truth,
                        "F": r.value,
                        "p": r.p_value,
                        "covers": str(r.ci_covers_truth).lower() == "true",
                    }
                )
            print(
                f"trial {k + 1}/{args.trials} done ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
            import shutil

            shutil.rmtree(ds)
    res = pd.DataFrame(rows)
    print(
        f"\n{args.trials} simulated trials (seeds {args.first_seed}-"
        f"{args.first_seed + args.trials - 1}); Glx from truth-level time courses with "
        f"block noise SD {args.noise_sd}, session bias SD {args.session_bias_sd}, sessions "
        f"with one phase only {args.one_phase_fraction}"
    )
    for fid, g in res.groupby("finding", sort=False):
        f_text = (
            ""
            if g.F.isna().all()
            else f"; F median {statistics.median(g.F):.2f} (mean {g.F.mean():.2f}), "
            f"p < 0.05 in {int((g.p < 0.05).sum())}/{len(g)}"
        )
        print(
            f"  {fid}: 95 % CI covers truth in {int(g.covers.sum())}/{len(g)}; "
            f"mean estimate {g.estimate.mean():.4g} vs truth {g.truth.mean():.4g}" + f_text
        )


if __name__ == "__main__":
    main()
