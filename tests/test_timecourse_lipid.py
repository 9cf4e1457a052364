"""Time-course QC judged against the block's own session: a block whose lipid index (Lip09 +
Lip13a + Lip13b over tNAA, fit_qc.tsv) rises above the session's median by more than
qc.max_lipid_rise is excluded, with the reason; so is a block whose fit residual exceeds
qc.max_residual_ratio x noise and qc.max_residual_over_median x the session's median."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from fmrstrial.fit.results import lipid_tnaa
from fmrstrial.io.tsv import write_tsv
from fmrstrial.timecourse import SessionFiles, qc_limits, session_timecourse

SESSION = {"participant_id": "sub-01", "session_id": "ses-1", "condition": "placebo",
           "period": 1, "sex": "F"}  # fmt: skip


def _files(tmp_path, lipid, n=4, residual=1.1):
    """The four tables of a session of n blocks; lipid: fit_qc's lipid_tnaa (None: no column);
    residual: fit_qc's residual_noise_ratio (one value or one per block)."""
    import pandas as pd

    blocks = pd.DataFrame({
        "block": range(1, n + 1), "phase": ["baseline"] + ["infusion"] * (n - 1),
        "t_start_min": range(n), "t_mid_min": np.arange(n) + 0.5, "t_end_min": range(1, n + 1),
        "n_kept": 100, "n_excluded": 0,
    })  # fmt: skip
    bqc = pd.DataFrame({"block": range(1, n + 1), "snr": 100.0, "naa_fwhm_unmatched_hz": 8.0,
                        "broadening_hz": 0.5, "qc_pass": 1, "qc_fail_reasons": "n/a"})  # fmt: skip
    ratios = pd.DataFrame([
        (j, name, 1.2, 0.03, 2.5) for j in range(n)
        for name in ("Glx/tNAA", "Glu/tNAA", "Gln/tNAA", "Glx/tCr")
    ], columns=["block", "ratio", "value", "crlb_sd", "crlb_pct"])  # fmt: skip
    fqc = pd.DataFrame({"block": range(n), "residual_noise_ratio": residual, "converged": 1})
    if lipid is not None:
        fqc["lipid_tnaa"] = lipid
    paths = {k: tmp_path / f"{k}.tsv" for k in ("blocks", "blocks_qc", "ratios", "fit_qc")}
    for key, table in zip(paths, (blocks, bqc, ratios, fqc), strict=True):
        write_tsv(table, paths[key])
    return SessionFiles(**paths)


def test_a_lipid_block_is_excluded_with_its_reason(tmp_path):
    out = session_timecourse(SESSION, _files(tmp_path, [0.05, 0.04, 1.4, 0.06]), qc_limits())
    assert out["qc_pass"].tolist() == [True, True, False, True]
    assert "lipid index 1.40 x tNAA" in out["qc_reasons"].iloc[2]
    assert out["lipid_tnaa"].iloc[2] == pytest.approx(1.4)


def test_a_steady_lipid_level_is_not_an_exclusion(tmp_path):
    """A voxel with the same lipid signal in every block (e.g. near the skull) is kept."""
    out = session_timecourse(SESSION, _files(tmp_path, [0.9, 0.95, 0.92, 0.9]), qc_limits())
    assert out["qc_pass"].all()


@pytest.mark.parametrize("lipid", [None, [np.nan] * 4])
def test_no_lipid_index_means_no_lipid_test(tmp_path, lipid):
    out = session_timecourse(SESSION, _files(tmp_path, lipid), qc_limits())
    assert out["qc_pass"].all()


def test_the_limit_comes_from_the_config(tmp_path):
    files = _files(tmp_path, [0.05, 0.04, 0.45, 0.06])
    assert session_timecourse(SESSION, files, qc_limits())["qc_pass"].all()
    strict = qc_limits({"max_lipid_rise": 0.2})
    assert session_timecourse(SESSION, files, strict)["qc_pass"].tolist()[2] is False


def test_lipid_index_of_a_fit():
    sums = {"tNAA": SimpleNamespace(value=4.0)}
    r = SimpleNamespace(names=["NAA", "Lip09", "Lip13a", "Lip13b", "Lip20"],
                        amplitudes=np.array([4.0, 1.0, 2.0, 3.0, 5.0]), sums=sums)  # fmt: skip
    assert lipid_tnaa(r) == pytest.approx(1.5)  # (1 + 2 + 3) / 4, Lip20 not counted
    assert math.isnan(lipid_tnaa(SimpleNamespace(names=["NAA"], amplitudes=np.ones(1), sums=sums)))


def test_a_block_fitting_worse_than_its_session_is_excluded(tmp_path):
    out = session_timecourse(SESSION, _files(tmp_path, None, residual=[1.1, 1.6, 1.05, 1.2]),
                             qc_limits())  # fmt: skip
    assert out["qc_pass"].tolist() == [True, False, True, True]
    assert (
        "fit residual 1.60 x noise > 1.5 and > 1.25 x the session's median 1.15"
        in (out["qc_reasons"].iloc[1])
    )


def test_high_snr_misfit_in_every_block_is_not_an_exclusion(tmp_path):
    """At high SNR the model's misfit shows in every block (residual 3-4 x noise): only the
    block fitting clearly worse than the others is excluded."""
    files = _files(tmp_path, None, n=6, residual=[3.4, 3.6, 3.5, 5.2, 3.7, 3.3])
    assert session_timecourse(SESSION, files, qc_limits())["qc_pass"].tolist() == [
        True, True, True, False, True, True,
    ]  # fmt: skip
    strict = qc_limits({"max_residual_over_median": 1.0})  # every block above the median
    assert session_timecourse(SESSION, files, strict)["qc_pass"].tolist() == [
        True, False, True, False, False, True,
    ]  # fmt: skip


def test_an_unknown_residual_excludes_the_block(tmp_path):
    out = session_timecourse(SESSION, _files(tmp_path, None, residual=[1.1, np.nan, 1.0, 1.2]),
                             qc_limits())  # fmt: skip
    assert out["qc_pass"].tolist() == [True, False, True, True]
    assert out["qc_reasons"].iloc[1] == "fit residual not known"


def test_with_fewer_than_three_blocks_the_absolute_limit_acts_alone(tmp_path):
    out = session_timecourse(SESSION, _files(tmp_path, None, n=2, residual=[1.6, 1.7]), qc_limits())
    assert not out["qc_pass"].any()
    assert out["qc_reasons"].iloc[0] == (
        "fit residual 1.60 x noise > 1.5 (too few blocks to compare with the session)"
    )
