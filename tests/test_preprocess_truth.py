"""Preprocessing against the simulator's truth (derivatives/truth), fixed seeds.

Short sessions (2 min baseline + 6 min infusion, 5 % corrupt transients so that the
exclusion rates rest on enough cases, half of them with 4 uncombined coils) and one
full-length session with the demo's parameters. The session habits (phase unrelated to the
reference, large offsets, motion bursts, lipids, broadened / low-SNR sessions) are switched off
here: these tests measure precision on usable sessions; the lineshape distortion, MM
background and baseline of the demo stay on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmrstrial.dataset import ref_path, svs_path
from fmrstrial.errors import InputError
from fmrstrial.io.nifti_mrs import read_nifti_mrs
from fmrstrial.io.tsv import read_tsv
from fmrstrial.preprocess import preprocess_session, qc
from fmrstrial.simulate import resolve, simulate_trial
from fmrstrial.simulate.mrs import build_model, voigt
from fmrstrial.simulate.params import MACROMOLECULES, NO_HABITS, combine
from fmrstrial.spectra import broadening_envelope as envelope
from fmrstrial.steps.preprocess import PreprocessOutputs, run_session

SHORT = combine(NO_HABITS, {
    "participants": 2,
    "seed": 31,
    "acquisition": {
        "baseline_min": 2.0,
        "baseline_jitter_min": 0.0,
        "infusion_min": 6.0,
        "multi_coil_fraction": 0.5,
    },
    "signal": {"corrupt_fraction": 0.05},
})  # fmt: skip
#: One 2-min baseline block and two 3-min infusion blocks.
SHORT_SETTINGS = {"baseline_blocks": 1, "infusion_block_min": 3.0, "infusion_window_min": 6.0}
FULL = combine(NO_HABITS, {"participants": 2, "seed": 20260917})


def _truth(root, pid, sid):
    transients = read_tsv(
        root / "derivatives" / "truth" / pid / sid / f"{pid}_{sid}_transients.tsv"
    )
    sessions = read_tsv(root / "derivatives" / "truth" / "sessions.tsv")
    row = sessions[(sessions.participant_id == pid) & (sessions.session_id == sid)].iloc[0]
    return transients, row


def _run(root, pid, sid, settings=None):
    svs = read_nifti_mrs(svs_path(root, pid, sid))
    ref = read_nifti_mrs(ref_path(root, pid, sid))
    _, row = _truth(root, pid, sid)
    return preprocess_session(svs, ref, float(row.infusion_start_s), settings)


@pytest.fixture(scope="module")
def short_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("pp_short") / "ds"
    simulate_trial(root, resolve(SHORT))
    return root


@pytest.fixture(scope="module")
def short(short_root):
    root = short_root
    out = {}
    for pid in ("sub-01", "sub-02"):
        for sid in ("ses-1", "ses-2"):
            out[(pid, sid)] = (_run(root, pid, sid, SHORT_SETTINGS), *_truth(root, pid, sid))
    return out


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    root = tmp_path_factory.mktemp("pp_full") / "ds"
    simulate_trial(root, resolve(FULL))
    pid, sid = "sub-01", "ses-1"
    _, row = _truth(root, pid, sid)
    out = tmp_path_factory.mktemp("pp_full_out")
    result = run_session(
        svs_path(root, pid, sid),
        ref_path(root, pid, sid),
        float(row.infusion_start_s),
        PreprocessOutputs.in_folder(out),
    )
    unmatched = _run(root, pid, sid, {"linewidth_matching": False})
    return result, *_truth(root, pid, sid), out, unmatched


def _all(short, full):
    return list(short.values()) + [full[:3]]


def _freq_rms(result, truth) -> float:
    clean = truth.corrupt.to_numpy() == 0
    diff = result.transients.freq_offset_hz.to_numpy()[clean] - truth.freq_offset_hz[clean]
    return float(np.sqrt(np.mean((diff - diff.mean()) ** 2)))


def test_frequency_offsets_track_truth(short, full):
    rms = [_freq_rms(result, truth) for result, truth, _ in _all(short, full)]
    assert max(rms) < 0.5, rms


def test_phases_track_truth(short, full):
    for result, truth, _ in _all(short, full):
        clean = truth.corrupt.to_numpy() == 0
        d = np.deg2rad(result.transients.phase_deg.to_numpy()[clean] - truth.phase_deg[clean])
        d = np.angle(np.exp(1j * (d - np.angle(np.mean(np.exp(1j * d))))))
        assert np.rad2deg(np.sqrt(np.mean(d**2))) < 3.0


def test_corrupt_transients_are_excluded(short, full):
    corrupt_hit = corrupt_n = clean_hit = clean_n = 0
    for result, truth, _ in _all(short, full):
        excluded = result.transients.excluded.to_numpy() == 1
        corrupt = truth.corrupt.to_numpy() == 1
        corrupt_hit += int(excluded[corrupt].sum())
        corrupt_n += int(corrupt.sum())
        clean_hit += int(excluded[~corrupt].sum())
        clean_n += int((~corrupt).sum())
        assert excluded[~corrupt].mean() <= 0.02
        reasons = result.transients.exclusion_reason[excluded]
        assert reasons.notna().all()
    assert corrupt_n >= 40
    assert corrupt_hit / corrupt_n >= 0.9
    assert clean_hit / clean_n <= 0.02


def _true_naa_fwhm(model, truth, inside, session) -> float:
    """NAA FWHM as QC measures it (`qc.naa_measures`) on the noise-free metabolite + MM
    spectrum of the block's mean transient (true concentrations, MM scale and lineshape:
    Voigt times the session's satellites and residual eddy-current phase)."""
    names = model.basis.names
    conc = np.array([truth[f"conc_{m}"][inside].mean() for m in names])
    row = truth.iloc[0]
    mm = np.array(list(MACROMOLECULES.values())) * float(session.mm_scale)
    clean = model.basis.fids @ conc + model.mm @ mm
    env = voigt(model.t, np.array([truth.lorentz_hz[inside].mean()]), row.gauss_hz)[:, 0]
    sats = [s.split("@") for s in str(session.lineshape_satellites).split(";") if "@" in s]
    dist = 1.0 + sum(float(w) * np.exp(2j * np.pi * float(d[:-2]) * model.t) for w, d in sats)
    dist /= 1.0 + sum(float(w) for w, _ in sats)
    tau = float(session.residual_eddy_current_tau_s)
    eddy = np.exp(1j * float(session.residual_eddy_current_rad) * np.exp(-model.t / tau))
    return qc.naa_measures(
        clean * env * dist * eddy, model.dwell_s, model.cf_mhz, (1.9, 2.12)
    ).fwhm_hz


def test_block_linewidth_close_to_true_single_transient_linewidth(short, full):
    """Alignment does not smear lines: the NAA FWHM of each block (before matching) is
    within 5 % of the same measure on the noise-free single-transient spectrum (true
    concentrations and lineshape averaged over the block). The simulator's own truth
    naa_fwhm_hz is the half-height width above zero, which counts the macromolecule hump
    under NAA into the line; QC now measures the NAA line above its local background."""
    model = build_model(resolve(SHORT))
    for result, truth, session in _all(short, full):
        t = result.transients.time_s.to_numpy()
        clean = truth.corrupt.to_numpy() == 0
        for block, q in zip(result.block_table.itertuples(), result.qc.itertuples(), strict=True):
            inside = (t >= block.t_start_min * 60) & (t < block.t_end_min * 60) & clean
            true_fwhm = _true_naa_fwhm(model, truth, inside, session)
            assert q.naa_fwhm_unmatched_hz == pytest.approx(true_fwhm, rel=0.05)


def test_linewidth_matching_equalises_blocks(full):
    result, _, _, out, unmatched = full
    written = read_nifti_mrs(out / "blocks.nii.gz")
    assert written.fids.shape == (1024, 8) and written.dim_tags == ("DIM_DYN",)
    # (the QC measure of the NAA FWHM: the fitted line above its local background)
    fwhm = [
        qc.naa_measures(written.fids[:, j], written.dwell_s, written.cf_mhz, (1.9, 2.12)).fwhm_hz
        for j in range(8)
    ]
    assert np.ptp(fwhm) < 0.01
    # without matching the BOLD narrowing during infusion is visible
    before = unmatched.qc.naa_fwhm_hz.to_numpy()
    assert np.ptp(before) > 0.2
    assert before[2:].mean() < before[:2].mean()
    # the recorded broadening is the one applied
    for j, width in enumerate(result.qc.broadening_hz):
        ratio = written.fids[:400, j] / result.unmatched[:400, j]
        expected = envelope(1024, written.dwell_s, width, "lorentzian")[:400]
        assert np.allclose(np.abs(ratio), expected, rtol=1e-4, atol=1e-6), j
    # blocks after the first infusion block are narrower (BOLD) and get broadened; the first
    # one's true narrowing (about 0.17 Hz) is within two noise SDs of a block FWHM
    assert (result.qc.broadening_hz[3:] > 0).all()
    # and the blocks file says so, for the fit's CRLBs; the unmatched file does not
    entry = written.header["LinewidthMatching"]["Value"]
    assert entry["broadening_hz"] == pytest.approx(list(result.qc.broadening_hz))
    assert entry["lineshape"] == "lorentzian"
    assert "LinewidthMatching" not in read_nifti_mrs(out / "blocks_unmatched.nii.gz").header


def test_water_linewidth_and_qc_table(short, full):
    for result, _, row in _all(short, full):
        assert result.qc.water_fwhm_hz.iloc[0] == pytest.approx(row.water_fwhm_hz, rel=0.01)
        assert (result.qc.qc_pass == 1).all()
        assert result.session["n_coils"] == row.n_coils


def test_outputs_of_the_command(full):
    result, _, _, out, _ = full
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "blocks.nii.gz",
            "blocks.tsv",
            "blocks_qc.json",
            "blocks_qc.tsv",
            "blocks_unmatched.nii.gz",
            "qc.png",
            "transients_qc.tsv",
        ]
    )
    blocks = read_tsv(out / "blocks.tsv")
    assert list(blocks.columns) == [
        "block",
        "phase",
        "t_start_min",
        "t_mid_min",
        "t_end_min",
        "n_transients",
        "n_kept",
        "n_excluded",
    ]
    assert blocks.phase.tolist() == ["baseline"] * 2 + ["infusion"] * 6
    assert blocks.t_end_min.iloc[1] == 0 and blocks.t_start_min.iloc[2] == 0
    assert blocks.t_end_min.iloc[-1] == 30
    series = read_tsv(out / "transients_qc.tsv")
    assert len(series) == len(result.transients)
    assert {
        "transient",
        "time_s",
        "freq_offset_hz",
        "phase_deg",
        "excluded",
        "exclusion_reason",
    } <= set(series.columns)


@pytest.fixture(scope="module")
def coil_twins(tmp_path_factory):
    """The same short sessions simulated with 4 coils, without noise, and with 1 coil."""
    base = {
        **NO_HABITS,
        "participants": 2,
        "seed": 44,
        "acquisition": {
            "baseline_min": 1.0,
            "baseline_jitter_min": 0.0,
            "infusion_min": 3.0,
            "multi_coil_fraction": 1.0,
        },
    }
    variants = {
        "coils": base,
        "noiseless": base | {"signal": {"snr_naa": [1e9, 1e9]}},
        "single": base | {"acquisition": base["acquisition"] | {"coils": 1}},
    }
    roots = {}
    for name, params in variants.items():
        roots[name] = tmp_path_factory.mktemp(f"pp_{name}") / "ds"
        simulate_trial(roots[name], resolve(params))
    return roots


def test_coil_combination_snr_is_optimal(coil_twins):
    settings = {"baseline_blocks": 1, "infusion_block_min": 1.5, "infusion_window_min": 3.0}
    for pid, sid in (("sub-01", "ses-1"), ("sub-01", "ses-2"), ("sub-02", "ses-1")):
        noisy = read_nifti_mrs(svs_path(coil_twins["coils"], pid, sid)).fids
        clean = read_nifti_mrs(svs_path(coil_twins["noiseless"], pid, sid)).fids
        assert noisy.shape[1] == 4
        result = _run(coil_twins["coils"], pid, sid, settings)
        w = result.session["coil_weights"]
        sens = clean[0, :, 0]  # every coil sees the same signal times its sensitivity
        noise = (noisy - clean).transpose(1, 0, 2).reshape(4, -1)
        psi = noise @ noise.conj().T / noise.shape[1]
        snr_ratio = np.sqrt(
            abs(np.vdot(w, sens)) ** 2
            / (np.real(w.conj() @ psi @ w) * np.real(sens.conj() @ np.linalg.solve(psi, sens)))
        )
        assert snr_ratio > 0.9
        plain = np.ones(4)
        plain_ratio = np.sqrt(
            abs(np.vdot(plain, sens)) ** 2
            / (np.real(plain @ psi @ plain) * np.real(sens.conj() @ np.linalg.solve(psi, sens)))
        )
        assert plain_ratio < snr_ratio
        # end to end: block SNR equals that of the same session recorded with one coil at
        # the simulator's (optimal) SNR
        single = _run(coil_twins["single"], pid, sid, settings)
        ratio = np.median(result.qc.snr.to_numpy() / single.qc.snr.to_numpy())
        assert ratio == pytest.approx(1.0, abs=0.1)


def test_mostly_corrupt_session_flags_every_block(tmp_path):
    params = SHORT | {"seed": 5, "signal": {"corrupt_fraction": 0.97}}
    simulate_trial(tmp_path / "ds", resolve(params))
    result = _run(tmp_path / "ds", "sub-01", "ses-1", SHORT_SETTINGS)
    assert result.transients.excluded.mean() > 0.8
    assert (result.qc.qc_pass == 0).all()
    assert result.qc.qc_fail_reasons.str.contains("excluded_fraction").all()


def test_noise_only_session_raises_naming_the_file(short):
    result = next(iter(short.values()))[0]
    rng = np.random.default_rng(0)
    shape = (1024, len(result.transients))
    noise = result.blocks.with_fids(
        rng.standard_normal(shape) + 1j * rng.standard_normal(shape), dim_tags=("DIM_DYN",)
    )
    with pytest.raises(InputError, match=r"noise\.nii\.gz: no usable transients"):
        preprocess_session(noise, None, 120.0, SHORT_SETTINGS, source="noise.nii.gz")


def test_noiseless_alignment_is_exact(noiseless_dataset):
    for pid, sid in (("sub-01", "ses-1"), ("sub-02", "ses-2")):
        result = _run(noiseless_dataset, pid, sid, {"infusion_window_min": 1.0})
        truth, _ = _truth(noiseless_dataset, pid, sid)
        assert _freq_rms(result, truth) < 0.02
        assert pd.Series(result.qc.naa_fwhm_hz).notna().all()


def test_options_change_what_they_should(short, short_root):
    """Each switch runs end to end and has its documented effect (sub-02 ses-1 has 4 coils)."""
    pid, sid = "sub-02", "ses-1"
    default, truth, _ = short[(pid, sid)]
    assert default.session["n_coils"] == 4 and default.session["coil_combination"] == "water"

    unaligned = _run(short_root, pid, sid, SHORT_SETTINGS | {"align": False})
    # offsets are still measured and reported, but only the common reference shift is applied
    assert _freq_rms(unaligned, truth) < 0.5
    assert np.ptp(unaligned.session["total_freq_hz"]) == 0
    assert np.ptp(default.session["total_freq_hz"]) > 1

    svd = _run(short_root, pid, sid, SHORT_SETTINGS | {"coil_combination": "svd"})
    assert svd.session["coil_combination"] == "svd"
    assert svd.qc.snr.to_numpy() == pytest.approx(default.qc.snr.to_numpy(), rel=0.03)

    no_ecc = _run(short_root, pid, sid, SHORT_SETTINGS | {"eddy_current_correction": False})
    assert not no_ecc.session["eddy_current_correction"]
    assert _freq_rms(no_ecc, truth) < 0.5
    assert no_ecc.qc.water_fwhm_hz.iloc[0] > 0

    keep_all = _run(short_root, pid, sid, SHORT_SETTINGS | {"reject": False})
    assert keep_all.transients.excluded.sum() == 0

    gauss = _run(short_root, pid, sid, SHORT_SETTINGS | {"linewidth_lineshape": "gaussian"})
    assert np.ptp(gauss.qc.naa_fwhm_hz) < 0.2
    assert gauss.qc.broadening_hz.max() > default.qc.broadening_hz.max()

    sliding = _run(
        short_root, pid, sid, {"sliding_window": True, "sliding_width_min": 2.0,
                               "sliding_step_min": 1.0, "infusion_window_min": 6.0}
    )  # fmt: skip
    blocks = sliding.block_table
    assert len(blocks) == 1 + 5
    assert ((blocks.t_end_min <= 0) | (blocks.t_start_min >= 0)).all()
    assert sliding.transients.block.isna().all()
    assert np.ptp(sliding.qc.naa_fwhm_hz) < 0.2
