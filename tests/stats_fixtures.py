"""Block time courses built from simulator truth (for statistics tests without fitting)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmrstrial.io.tsv import read_tsv
from fmrstrial.timecourse import block_truth


def blocks_for(baseline_min: float, infusion_min: float, n_base: int, n_inf: int) -> pd.DataFrame:
    edges_b = np.linspace(-baseline_min, 0.0, n_base + 1)
    edges_i = np.linspace(0.0, infusion_min, n_inf + 1)
    rows = [(f"b{k + 1}", "baseline", edges_b[k], edges_b[k + 1]) for k in range(n_base)]
    rows += [(f"i{k + 1}", "infusion", edges_i[k], edges_i[k + 1]) for k in range(n_inf)]
    out = pd.DataFrame(rows, columns=["block", "phase", "t_start_min", "t_end_min"])
    out["t_mid_min"] = 0.5 * (out.t_start_min + out.t_end_min)
    return out


def truth_timecourse(
    root,
    noise_sd: float,
    seed: int,
    baseline_min: float,
    infusion_min: float,
    n_base: int = 2,
    n_inf: int = 4,
) -> pd.DataFrame:
    """A glx_timecourse table: truth block means plus Gaussian 'measurement' noise."""
    rng = np.random.default_rng(seed)
    parts = read_tsv(root / "participants.tsv")
    sessions = read_tsv(root / "derivatives/truth/sessions.tsv")
    blocks = blocks_for(baseline_min, infusion_min, n_base, n_inf)
    frames = []
    for s in sessions.itertuples():
        tr = read_tsv(
            root
            / "derivatives/truth"
            / s.participant_id
            / s.session_id
            / f"{s.participant_id}_{s.session_id}_transients.tsv"
        )
        bt = block_truth(tr, blocks).merge(blocks, on="block")
        bt["participant_id"], bt["session_id"] = s.participant_id, s.session_id
        bt["condition"], bt["period"] = s.condition, s.period
        bt["sex"] = parts.set_index("participant_id").loc[s.participant_id, "sex"]
        bt["glx_tnaa"] = bt.true_glx_tnaa + rng.normal(0, noise_sd, len(bt))
        bt["glu_tnaa"] = bt.true_glu_tnaa + rng.normal(0, noise_sd, len(bt))
        bt["glx_crlb_pct"] = rng.uniform(4, 12, len(bt))
        bt["qc_pass"] = True
        frames.append(bt)
    return pd.concat(frames, ignore_index=True)
