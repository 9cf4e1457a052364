"""Scoring the simulated trial gives back the simulator's true scores exactly."""

from __future__ import annotations

import pandas as pd

from fmrstrial.clinical import score_dataset
from fmrstrial.io.tsv import read_tsv


def test_scores_equal_simulation_truth(small_dataset):
    scored = score_dataset(small_dataset).long
    truth = read_tsv(small_dataset / "derivatives/truth/clinical_scores.tsv")
    keys = ["participant_id", "session_id", "timepoint", "scale", "subscale"]
    merged = scored.merge(truth, on=keys, suffixes=("", "_true"), validate="one_to_one")
    assert len(merged) == len(truth)
    complete = merged[merged.n_items_missing_true == 0]
    assert len(complete) > 0.8 * len(merged)
    pd.testing.assert_series_equal(
        complete.score.astype(float), complete.score_true, check_names=False, check_index=False
    )
    assert set(complete.scale) == {"madrs", "qids_sr16", "shaps", "teps", "m3vas", "cadss", "psi"}
