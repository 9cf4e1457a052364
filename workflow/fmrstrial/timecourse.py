"""The Glx/tNAA block time course: truth per block for simulated data.

Blocks are given by their start and end relative to infusion start (minutes, block table of
preprocessing); a transient at time t (s, relative to infusion start) belongs to the block
with t_start_min*60 <= t < t_end_min*60.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRUTH_COLUMNS = {
    "glx_tnaa": "true_glx_tnaa",
    "glu_tnaa": "true_glu_tnaa",
    "expected_glx_tnaa": "expected_glx_tnaa",
    "expected_glu_tnaa": "expected_glu_tnaa",
}


def block_truth(transients: pd.DataFrame, blocks: pd.DataFrame) -> pd.DataFrame:
    """Mean true and expected ratios of the transients in each block.

    transients: simulator truth (t_rel_infusion_s, glx_tnaa, glu_tnaa, expected_*);
    blocks: block, t_start_min, t_end_min. Returns block + TRUTH_COLUMNS values.
    """
    t = transients["t_rel_infusion_s"].to_numpy(dtype=float)
    rows = []
    for block in blocks.itertuples(index=False):
        inside = (t >= 60.0 * block.t_start_min) & (t < 60.0 * block.t_end_min)
        row = {"block": block.block}
        for src, dst in TRUTH_COLUMNS.items():
            row[dst] = float(transients.loc[inside, src].mean()) if inside.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
