"""How the chain copes with the demo's real-data habits (issue on data we did not write).

    python tests/benchmarks/bench_demo_habits.py [--results results] [--dataset data/demo]

Reads a finished run on a simulated dataset (the demo, or any dataset the simulator wrote
with habits) and its truth, and prints:
  - blocks without simulated corruption (derivatives/truth/blocks.tsv: expected_fail empty)
    that pass QC (target >= 95 %), and the excluded blocks by reason;
  - sessions lost (no baseline or no infusion block left; target none), with their habits;
  - correlation of the per-session Glx/tNAA rise (mean of the infusion blocks minus the
    baseline block) with the true rise (target r >= 0.8), over sessions that kept both, and
    the ceiling a fit whose errors equal its CRLBs would reach on the same true rises
    (sd_true / hypot(sd_true, sd_crlb), sd_crlb from each session's block CRLBs of Glx/tNAA;
    not a ceiling in dynamic mode, whose block CRLBs include the shared parameters' share);
    in dynamic mode also the joint fit's session change (response.tsv) against its SE
    (`joint_change_calibration`);
  - transients excluded: clean, motion-corrupted and otherwise corrupted (lipids);
  - frequency error per transient (clean transients, common offset removed) against truth:
    median and maximum over sessions of the RMS (target < 0.5 Hz), also for the sessions with
    a metabolite phase unrelated to the reference and with large offsets; and, for the
    sessions at or above 0.5 Hz, the information limit of one transient's frequency in the
    registration window (`registration_crlb_hz`), which the smoothing over the series can
    beat only where the true frequency changes slowly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def joint_change_calibration(res: Path, m: pd.DataFrame, sessions: list) -> None:
    """Dynamic mode: each session's joint-fit change of Glx/tNAA (response.tsv,
    infusion-baseline) against the true change over the blocks in the joint fit (those with
    transients and not left out as lipid outliers, which QC's lipid rule excludes with the
    same default): z = error / SE, its SD and the 90 % interval's coverage. Sessions without
    a response table (block mode) are skipped."""
    z = []
    for pid, sid in sessions:
        path = res / "fit" / pid / sid / "response.tsv"
        if not path.exists():
            continue
        r = pd.read_csv(path, sep="\t", na_values="n/a")
        row = r[(r.quantity == "Glx/tNAA") & (r.term == "infusion-baseline")]
        s = m[(m.participant_id == pid) & (m.session_id == sid)]
        joint = s[(s.n_kept > 0) & ~s.qc_reasons.fillna("").str.contains("lipid index")]
        base, inf = joint[joint.phase == "baseline"], joint[joint.phase == "infusion"]
        if row.empty or base.empty or inf.empty or not row.se.iloc[0] > 0:
            continue
        true = inf.true_glx_tnaa.mean() - base.true_glx_tnaa.mean()
        z.append((row.estimate.iloc[0] - true) / row.se.iloc[0])
    if z:
        z = np.array(z)
        print(f"  joint fit's session change (response.tsv) against its SE, {z.size} sessions: "
              f"z mean {z.mean():+.2f}, SD {z.std(ddof=1):.2f} (1 = honest SEs); 90 % interval "
              f"covers the truth in {100 * np.mean(np.abs(z) <= 1.645):.0f} %")  # fmt: skip


def registration_crlb_hz(blocks_nii: Path, block: int, n_transients: int) -> float:
    """`preprocess.align.frequency_crlb_hz` for one transient of a session: block `block`
    (0-based) of the preprocessed, coil-combined `blocks_nii` taken as the noise-free
    transient, its time-domain noise SD (FID tail) times sqrt(n_transients) as one
    transient's."""
    from fmrstrial.fit.noise import tail_noise_sd
    from fmrstrial.io.nifti_mrs import read_nifti_mrs
    from fmrstrial.preprocess.align import frequency_crlb_hz

    data = read_nifti_mrs(blocks_nii)
    fid = np.asarray(data.fids)[:, block]
    n = fid.shape[0]
    noise_sd = tail_noise_sd(fid) / np.sqrt(n) * np.sqrt(n_transients)
    return frequency_crlb_hz(fid, noise_sd, data.dwell_s, data.cf_mhz)


def tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", na_values="n/a", keep_default_na=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--dataset", default="data/demo")
    a = ap.parse_args()
    res, ds = Path(a.results), Path(a.dataset)
    truth = ds / "derivatives" / "truth"
    tc = tsv(res / "tables" / "glx_timecourse.tsv")
    blocks = tsv(truth / "blocks.tsv")
    sessions = tsv(truth / "sessions.tsv")
    # the truth numbers blocks from 0, preprocessing from 1: match them by their order
    keys = ["participant_id", "session_id", "order"]
    for frame in (tc, blocks):
        frame["order"] = frame.sort_values("block").groupby(keys[:2]).cumcount()
    m = tc.merge(blocks[keys + ["expected_fail"]], on=keys, how="left", validate="one_to_one")
    clean = m.expected_fail.isna() | (m.expected_fail.astype(str).str.strip() == "")
    ok = m.qc_pass.astype(bool)
    share = 100 * (ok & clean).sum() / clean.sum()
    print(f"blocks: {len(m)}; without simulated corruption: {clean.sum()}, passing QC "
          f"{(ok & clean).sum()} ({share:.1f} %, target >= 95 %)")  # fmt: skip
    print(f"excluded blocks: {(~ok).sum()} (expected by truth: {(~clean).sum()}); reasons:")
    for reason, n in m.loc[~ok, "qc_reasons"].str.split(";").str[0].value_counts().items():
        print(f"  {n:3d}  {reason}")

    rises, lost = [], []
    for (pid, sid), s in m.groupby(["participant_id", "session_id"]):
        kept = s[s.qc_pass.astype(bool)]
        base, inf = kept[kept.phase == "baseline"], kept[kept.phase == "infusion"]
        if base.empty or inf.empty:
            lost.append((pid, sid))
            continue
        sd = kept.glx_crlb_pct / 100.0 * kept.glx_tnaa  # CRLB SD of each block's Glx/tNAA
        crlb_var = (sd[inf.index] ** 2).sum() / len(inf) ** 2 + (sd[base.index] ** 2).mean()
        rises.append((inf.glx_tnaa.mean() - base.glx_tnaa.mean(),
                      inf.true_glx_tnaa.mean() - base.true_glx_tnaa.mean(), crlb_var))  # fmt: skip
    habit_cols = [c for c in sessions.columns if c.startswith("habit_")]
    print(f"sessions lost: {len(lost)} of {m.groupby(['participant_id', 'session_id']).ngroups}")
    for pid, sid in lost:
        row = sessions[(sessions.participant_id == pid) & (sessions.session_id == sid)].iloc[0]
        print(f"  {pid} {sid}: habits {[c for c in habit_cols if bool(row[c])]}")
    fit, true, crlb_var = np.array(rises).T
    r = np.corrcoef(fit, true)[0, 1]
    print(f"per-session Glx/tNAA rise vs truth: r = {r:.3f} over {len(rises)} sessions "
          f"(target >= 0.8); SD of the error {np.std(fit - true, ddof=1):.4f}, "
          f"SD of the true rises {np.std(true, ddof=1):.4f}")  # fmt: skip
    # the correlation a fit with errors of exactly its CRLBs would reach on these true rises
    sd_true, sd_crlb = np.std(true, ddof=1), float(np.sqrt(crlb_var.mean()))
    print(f"  ceiling from the blocks' CRLBs alone: r = {sd_true / np.hypot(sd_true, sd_crlb):.3f} "
          f"(rise error SD the CRLBs imply: {sd_crlb:.4f})")  # fmt: skip
    joint_change_calibration(res, m, [key for key in m.groupby(keys[:2]).groups])

    rms = {}
    counts = {"clean": [0, 0], "motion": [0, 0], "other corrupt": [0, 0]}  # [excluded, all]
    for row in sessions.itertuples():
        pid, sid = row.participant_id, row.session_id
        if not (res / "preproc" / pid / sid / "transients_qc.tsv").exists():
            print(f"  {pid} {sid}: not preprocessed (not in the dataset: a dropout?)")
            continue
        qc = tsv(res / "preproc" / pid / sid / "transients_qc.tsv")
        tr = tsv(truth / pid / sid / f"{pid}_{sid}_transients.tsv")
        good = (tr.corrupt.to_numpy() == 0) & (qc.excluded.to_numpy() == 0)
        reason = tr.corrupt_reason.fillna("").astype(str)
        kinds = {
            "clean": tr.corrupt.to_numpy() == 0,
            "motion": reason.str.startswith("motion").to_numpy(),
        }
        kinds["other corrupt"] = ~kinds["clean"] & ~kinds["motion"]
        for kind, mask in kinds.items():
            counts[kind][0] += int((mask & (qc.excluded.to_numpy() != 0)).sum())
            counts[kind][1] += int(mask.sum())
        diff = qc.freq_offset_hz.to_numpy()[good] - tr.freq_offset_hz.to_numpy()[good]
        rms[(pid, sid)] = float(np.sqrt(np.mean((diff - diff.mean()) ** 2)))
    print("transients excluded: " + ", ".join(f"{k} {e} of {n}" for k, (e, n) in counts.items()))
    values = np.array(list(rms.values()))
    print(f"frequency error per transient (RMS, clean transients): median "
          f"{np.median(values):.3f} Hz, max {values.max():.3f} Hz over {values.size} sessions "
          "(target < 0.5 Hz)")  # fmt: skip
    worst = max(rms, key=rms.get)
    row = sessions[(sessions.participant_id == worst[0]) & (sessions.session_id == worst[1])]
    print(f"  worst: {worst[0]} {worst[1]} {rms[worst]:.3f} Hz, habits "
          f"{[c for c in habit_cols if bool(row.iloc[0][c])]}; sessions above 0.5 Hz: "
          f"{int((values >= 0.5).sum())}")  # fmt: skip
    bounds = {}
    for pid, sid in rms:
        bq = tsv(res / "preproc" / pid / sid / "blocks_qc.tsv")
        first = bq[bq.broadening_hz.fillna(0) == 0].index[0]  # an unbroadened block
        bounds[(pid, sid)] = registration_crlb_hz(
            res / "preproc" / pid / sid / "blocks.nii.gz", int(first), int(bq.n_kept[first])
        )
    ratio = np.array([rms[k] / bounds[k] for k in rms])
    median_bound = np.median(list(bounds.values()))
    print(f"  one transient's frequency CRLB in the registration window: median "
          f"{median_bound:.3f} Hz; RMS error / CRLB median {np.median(ratio):.2f}, "
          f"range {ratio.min():.2f}-{ratio.max():.2f}")  # fmt: skip
    for key in sorted(k for k, v in rms.items() if v >= 0.5):
        print(f"  {key[0]} {key[1]}: {rms[key]:.3f} Hz, CRLB {bounds[key]:.2f} Hz")
    if "habit_low_snr" in sessions:
        low = {(r.participant_id, r.session_id) for r in sessions.itertuples() if r.habit_low_snr}
        rest = [v for k, v in rms.items() if k not in low] or [float("nan")]
        print(
            f"  without the low-SNR session(s) ({len(low)}; single-transient SNR about 1, every "
            f"block fails QC by design): median {np.median(rest):.3f}, max {max(rest):.3f} Hz"
        )
    for col in ("habit_phase_unrelated", "habit_large_offset"):
        if col in sessions:
            keys = [(r.participant_id, r.session_id) for r in sessions.itertuples()
                    if bool(getattr(r, col))]  # fmt: skip
            sel = [rms[k] for k in keys if k in rms]
            if sel:
                print(f"  {col}: {len(sel)} sessions, max {max(sel):.3f} Hz")


if __name__ == "__main__":
    main()
