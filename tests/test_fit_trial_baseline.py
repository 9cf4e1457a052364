"""One baseline flexibility for every session (fit setting baseline_flexibility: trial).

The criterion picks a stiffer baseline at lower SNR; with 'trial' it picks once, on the mean
of every QC-passing block of the trial (`fmrstrial trial-baseline`), and every session's
fit (`fmrstrial fit --trial-baseline`) uses that flexibility. Sessions here are synthetic
block files (`fmrstrial.fit.synthetic`, Philips basis, distorted lineshape, broad baseline)
at two SNRs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fmrstrial.cli import main
from fmrstrial.errors import InputError
from fmrstrial.fit import fit_spectrum
from fmrstrial.fit.synthetic import demo_model, make_blocks
from fmrstrial.fit.trial_baseline import flexibility_setting, trial_mean_spectrum
from fmrstrial.io.basis import read_basis
from fmrstrial.io.nifti_mrs import MRSData, read_nifti_mrs, write_nifti_mrs
from fmrstrial.paths import resource

GE = str(resource("basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS"))


def write_session(folder: Path, fids: np.ndarray, passed: list[int], cf=None) -> Path:
    """A preprocessing folder: blocks.nii.gz (DIM_DYN) and blocks_qc.tsv (qc_pass)."""
    sim = demo_model()
    folder.mkdir(parents=True)
    data = MRSData(
        fids=fids, dwell_s=sim.dwell_s, cf_mhz=cf or sim.cf_mhz, dim_tags=("DIM_DYN",),
        header={"EchoTime": 0.035},
    )  # fmt: skip
    write_nifti_mrs(folder / "blocks.nii.gz", data)
    qc = pd.DataFrame({"block": range(1, fids.shape[1] + 1), "qc_pass": passed})
    qc.to_csv(folder / "blocks_qc.tsv", sep="\t", index=False)
    return folder


def session_fids(seed: int, n_average: int, n: int = 3) -> np.ndarray:
    blocks = make_blocks(n, seed, n_average=n_average, realistic=True)
    return np.stack([b.fid for b in blocks], axis=1)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """A high-SNR session (all blocks pass) and a low-SNR one (its last block fails QC)."""
    root = tmp_path_factory.mktemp("preproc")
    high = write_session(root / "high", session_fids(3, 400), [1, 1, 1])
    low = write_session(root / "low", session_fids(4, 6), [1, 1, 0])
    return high, low


@pytest.fixture(scope="module")
def basis():
    return read_basis(GE)


def test_fixed_flexibility_is_the_criterions_fit_when_it_matches_the_choice(basis):
    """A number equal to what the criterion chose gives the same fit (same first stage)."""
    sim = demo_model()
    fid = make_blocks(1, 11, realistic=True)[0].fid
    auto = fit_spectrum(fid, sim.dwell_s, sim.cf_mhz, basis, {"baseline_flexibility": "auto"})
    fixed = {"baseline_flexibility": auto.baseline_ed_per_ppm}
    held = fit_spectrum(fid, sim.dwell_s, sim.cf_mhz, basis, fixed)
    assert held.baseline_ed_per_ppm == pytest.approx(auto.baseline_ed_per_ppm, rel=1e-6)
    assert np.allclose(held.amplitudes, auto.amplitudes, rtol=1e-5, atol=0)


def test_a_number_holds_the_baseline_at_that_flexibility(basis):
    sim = demo_model()
    fid = make_blocks(1, 12, realistic=True)[0].fid
    for per_ppm in (1.5, 4.0):
        fit = fit_spectrum(fid, sim.dwell_s, sim.cf_mhz, basis, {"baseline_flexibility": per_ppm})
        assert fit.baseline_ed_per_ppm == pytest.approx(per_ppm, rel=1e-3)


def test_the_trial_mean_holds_only_blocks_that_passed_qc(sessions):
    high, low = sessions
    mean = trial_mean_spectrum(
        [high / "blocks.nii.gz", low / "blocks.nii.gz"],
        [high / "blocks_qc.tsv", low / "blocks_qc.tsv"],
    )
    a = read_nifti_mrs(high / "blocks.nii.gz").fids
    b = read_nifti_mrs(low / "blocks.nii.gz").fids
    expected = np.concatenate([a, b[:, :2]], axis=1).mean(axis=1)
    assert (mean.sessions, mean.blocks) == (2, 5)
    assert np.allclose(mean.fid, expected)


def test_sessions_on_another_grid_or_without_passing_blocks_are_named(sessions, tmp_path):
    high, _ = sessions
    other = write_session(tmp_path / "other", session_fids(5, 50), [1, 1, 1], cf=123.2)
    with pytest.raises(InputError, match="one sampling grid") as err:
        trial_mean_spectrum(
            [high / "blocks.nii.gz", other / "blocks.nii.gz"],
            [high / "blocks_qc.tsv", other / "blocks_qc.tsv"],
        )
    assert str(other / "blocks.nii.gz") in str(err.value)
    failed = write_session(tmp_path / "failed", session_fids(6, 50), [0, 0, 0])
    with pytest.raises(InputError, match="no block of any session passed"):
        trial_mean_spectrum([failed / "blocks.nii.gz"], [failed / "blocks_qc.tsv"])


def test_a_trial_table_needs_the_trial_setting(tmp_path):
    table = tmp_path / "trial_baseline.tsv"
    table.write_text("baseline_ed_per_ppm\tsessions\n3.5\t2\n")
    assert flexibility_setting({}, table)["baseline_flexibility"] == 3.5  # default: trial
    assert flexibility_setting({"ppm_range": [0.2, 4.0]}, None) == {"ppm_range": [0.2, 4.0]}
    with pytest.raises(InputError, match="is not 'trial'"):
        flexibility_setting({"baseline_flexibility": "auto"}, table)
    table.write_text("something\n1\n")
    with pytest.raises(InputError, match="baseline_ed_per_ppm"):
        flexibility_setting({}, table)


@pytest.mark.slow
def test_every_session_is_fitted_with_the_trials_flexibility(sessions, tmp_path, capsys):
    """Alone, the low-SNR session chooses a stiffer baseline than the high-SNR one; with
    the trial's table both are fitted with the flexibility chosen on the trial's mean."""
    high, low = sessions
    table = tmp_path / "trial_baseline.tsv"
    assert main(["trial-baseline", str(high), str(low), "--basis", GE, "--out", str(table)]) == 0
    row = pd.read_csv(table, sep="\t")
    assert list(row.columns) == [
        "baseline_ed_per_ppm", "sessions", "blocks", "glx_tnaa", "residual_noise_ratio",
    ]  # fmt: skip
    assert (row.sessions[0], row.blocks[0]) == (2, 5)
    assert (tmp_path / "trial_baseline.json").exists()
    chosen = {}
    for name, folder in (("high", high), ("low", low)):
        for how, extra in (("alone", []), ("trial", ["--trial-baseline", str(table)])):
            out = tmp_path / f"{name}_{how}"
            args = ["fit", str(folder / "blocks.nii.gz"), "--basis", GE, "--out", str(out)]
            assert main([*args, "--no-figure", *extra]) == 0
            note = "baseline flexibility chosen on this file alone" in capsys.readouterr().out
            assert note == (how == "alone")
            qc = pd.read_csv(out / "fit_qc.tsv", sep="\t")
            chosen[name, how] = float(qc.session_baseline_ed_per_ppm.iloc[0])
    assert chosen["low", "alone"] < chosen["high", "alone"]
    for name in ("high", "low"):
        assert chosen[name, "trial"] == pytest.approx(row.baseline_ed_per_ppm[0], rel=1e-3)
