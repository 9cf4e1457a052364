"""The trial simulator: truth agrees with the written files, ppm scale, SNR, determinism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import SMALL, tree_digest
from fmrstrial.dataset import ref_path, svs_path
from fmrstrial.io.nifti_mrs import read_nifti_mrs
from fmrstrial.io.tables import read_tsv
from fmrstrial.simulate import resolve, simulate_trial
from fmrstrial.simulate.clinical import load_scale_definitions
from fmrstrial.simulate.mrs import build_model, fwhm_hz, voigt
from fmrstrial.spectra import frequency_axis, ppm_axis, to_spectrum


def transients_truth(root, pid="sub-01", sid="ses-1") -> pd.DataFrame:
    return read_tsv(root / "derivatives" / "truth" / pid / sid / f"{pid}_{sid}_transients.tsv")


def corrected_average(root, pid, sid, model, phase=("baseline",)):
    """Average of clean transients after removing the true frequency offset and phase."""
    data = read_nifti_mrs(svs_path(root, pid, sid))
    truth = transients_truth(root, pid, sid)
    fids = data.fids if data.fids.ndim == 2 else data.fids[:, 0, :]
    keep = ((truth.corrupt == 0) & truth.phase.isin(phase)).to_numpy()
    rot = np.exp(
        -1j
        * (
            np.deg2rad(truth.phase_deg.to_numpy())[None, :]
            + 2 * np.pi * np.outer(model.t, truth.freq_offset_hz.to_numpy())
        )
    )
    return (fids * rot)[:, keep].mean(axis=1)


def test_noiseless_refit_recovers_true_concentrations(noiseless_dataset):
    """Least squares on the basis (with the true lineshape) gives the truth within 1 %."""
    params = resolve(
        json.loads((noiseless_dataset / "derivatives/truth/effects.json").read_text())["parameters"]
    )
    model = build_model(params)
    truth = transients_truth(noiseless_dataset)
    data = read_nifti_mrs(svs_path(noiseless_dataset, "sub-01", "ses-1"))
    assert data.fids.shape == (params["acquisition"]["points"], len(truth))
    names = model.basis.names
    columns = np.concatenate([model.basis.fids, model.mm], axis=1)
    for n in (0, len(truth) // 2, len(truth) - 1):
        row = truth.iloc[n]
        env = voigt(model.t, np.array([row.lorentz_hz]), row.gauss_hz)[:, 0]
        rot = np.exp(1j * (np.deg2rad(row.phase_deg) + 2 * np.pi * row.freq_offset_hz * model.t))
        design = columns * (env * rot)[:, None]
        a = np.concatenate([design.real, design.imag])
        y = np.concatenate([data.fids[:, n].real, data.fids[:, n].imag])
        coef = np.linalg.lstsq(a, y, rcond=None)[0]
        for k, m in enumerate(names):
            assert coef[k] == pytest.approx(row[f"conc_{m}"], rel=0.01), (n, m)


def test_peaks_of_averaged_spectrum_at_literature_shifts(small_dataset):
    """NAA 2.01, Cr 3.03 and choline 3.21 ppm (GPC 3.212 / PCh 3.208, Govindaraju 2000)."""
    model = build_model(resolve(SMALL))
    sessions = read_tsv(small_dataset / "derivatives/truth/sessions.tsv")
    single = sessions[sessions.n_coils == 1].iloc[0]
    pid, sid = single.participant_id, single.session_id
    avg = corrected_average(small_dataset, pid, sid, model, ("baseline", "infusion"))
    # eddy-current correction with the water reference (Klose 1990), the reference's true
    # phase/offset removed (the metabolite scan's own are removed above)
    water = read_nifti_mrs(ref_path(small_dataset, pid, sid)).fids.mean(axis=1)
    ec = (
        np.angle(water)
        - np.deg2rad(single.water_phase_deg)
        - 2 * np.pi * single.water_freq_offset_hz * model.t
    )
    avg = avg * np.exp(-1j * ec)
    n_zf = 8 * model.n_points
    spec = to_spectrum(np.pad(avg, (0, n_zf - avg.size))).real
    ppm = ppm_axis(n_zf, model.dwell_s, model.cf_mhz)
    for expected, lo, hi in ((2.01, 1.95, 2.07), (3.03, 2.98, 3.08), (3.21, 3.15, 3.26)):
        window = (ppm > lo) & (ppm < hi)
        peak = ppm[window][np.argmax(spec[window])]
        assert peak == pytest.approx(expected, abs=0.01)


def test_noise_level_and_snr_match_truth(small_dataset):
    """Noise SD in the data equals the truth; drawn SNRs lie in the configured range (the
    low-SNR session's in its own)."""
    params = resolve(SMALL)
    sessions = read_tsv(small_dataset / "derivatives/truth/sessions.tsv")
    low = sessions.habit_low_snr == 1
    assert low.sum() == 1
    assert sessions.snr_naa_single[~low].between(*params["signal"]["snr_naa"]).all()
    assert sessions.snr_naa_single[low].between(*params["habits"]["low_snr_naa"]).all()
    for row in sessions[sessions.n_coils == 1].itertuples():
        fids = read_nifti_mrs(svs_path(small_dataset, row.participant_id, row.session_id)).fids
        tail = fids[-200:, :]  # signals have decayed by 0.68 s
        measured = np.std(np.concatenate([tail.real.ravel(), tail.imag.ravel()]))
        assert measured == pytest.approx(row.noise_sd, rel=0.05)


def test_linewidth_of_average_matches_truth(noiseless_dataset):
    params = resolve(
        json.loads((noiseless_dataset / "derivatives/truth/effects.json").read_text())["parameters"]
    )
    model = build_model(params)
    truth = transients_truth(noiseless_dataset)
    avg = corrected_average(noiseless_dataset, "sub-01", "ses-1", model)
    n_zf = 8 * model.n_points
    spec = to_spectrum(np.pad(avg, (0, n_zf - avg.size))).real
    ppm = ppm_axis(n_zf, model.dwell_s, model.cf_mhz)
    lo, hi = np.searchsorted(ppm, [1.95, 2.07])
    measured = fwhm_hz(spec, frequency_axis(n_zf, model.dwell_s), lo, hi)
    expected = truth[truth.phase == "baseline"].naa_fwhm_hz.mean()
    lw_lo, lw_hi = params["signal"]["lorentz_hz"]
    assert measured == pytest.approx(expected, rel=0.1)
    assert truth.lorentz_hz.max() <= lw_hi + 1e-9


def test_bold_narrowing_during_infusion(small_dataset):
    params = resolve(SMALL)
    truth = transients_truth(small_dataset)
    base = truth[truth.phase == "baseline"].lorentz_hz
    late = truth[truth.t_rel_infusion_s > 90].lorentz_hz
    assert base.nunique() == 1
    narrowing = base.iloc[0] - late.to_numpy()
    assert np.all(narrowing > 0)
    assert narrowing.max() <= params["signal"]["bold_narrowing_hz"] + 1e-9


def test_same_seed_gives_identical_bytes(tmp_path):
    small = resolve({**SMALL, "participants": 2})
    simulate_trial(tmp_path / "a", small)
    simulate_trial(tmp_path / "b", small, jobs=2)
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    simulate_trial(tmp_path / "c", resolve({**SMALL, "seed": SMALL["seed"] + 1}))
    assert tree_digest(tmp_path / "a") != tree_digest(tmp_path / "c")


def test_layout_design_and_coils(small_dataset):
    parts = read_tsv(small_dataset / "participants.tsv")
    assert sorted(parts.sequence) == ["NP", "PN"]
    for pid, seq in zip(parts.participant_id, parts.sequence, strict=True):
        ses = read_tsv(small_dataset / pid / f"{pid}_sessions.tsv")
        first = ses[ses.period == 1].condition.item()
        assert first == ("placebo" if seq == "PN" else "naltrexone")
        for sid in ses.session_id:
            data = read_nifti_mrs(svs_path(small_dataset, pid, sid))
            ref = read_nifti_mrs(ref_path(small_dataset, pid, sid))
            assert data.dim_tags[-1] == "DIM_DYN"
            assert ref.header["WaterSuppressed"] is False
            if data.fids.ndim == 3:
                assert data.dim_tags == ("DIM_COIL", "DIM_DYN")
                assert data.fids.shape[1] == SMALL["acquisition"].get("coils", 4)
    sessions = read_tsv(small_dataset / "derivatives/truth/sessions.tsv")
    assert (sessions.n_coils > 1).sum() == 2  # multi_coil_fraction 0.5 of 4 sessions


def test_clinical_items_respect_scale_definitions(small_dataset):
    definitions = load_scale_definitions()
    truth = read_tsv(small_dataset / "derivatives/truth/clinical_scores.tsv")
    for scale, defn in definitions.items():
        table = read_tsv(small_dataset / "phenotype" / f"{scale}.tsv")
        items = table[[f"{scale}_{i:02d}" for i in range(1, defn["items"] + 1)]]
        values = items.to_numpy(dtype=float)
        ok = np.isnan(values) | ((values >= defn["item_min"]) & (values <= defn["item_max"]))
        assert ok.all(), scale
        if defn["integer"]:
            finite = values[np.isfinite(values)]
            assert np.all(finite == np.round(finite)), scale
        assert set(table.timepoint) == set(defn["timepoints"]), scale
    madrs = read_tsv(small_dataset / "phenotype/madrs.tsv")
    totals = truth[(truth.scale == "madrs") & (truth.subscale == "total")]
    merged = madrs.merge(totals, on=["participant_id", "session_id", "timepoint"])
    complete = merged[merged.n_items_missing == 0]
    item_sum = complete[[f"madrs_{i:02d}" for i in range(1, 11)]].sum(axis=1)
    assert (item_sum.to_numpy() == complete.score.to_numpy()).all()
    assert len(complete) > 0


def test_effects_json_states_true_effects(small_dataset):
    eff = json.loads((small_dataset / "derivatives/truth/effects.json").read_text())
    assert eff["madrs_attenuation_pct"] == pytest.approx(28.0)
    assert eff["madrs_condition_by_time"] == pytest.approx(14.0 * 0.28)
    assert (
        eff["glx_relative_response_naltrexone_male"]
        < eff["glx_relative_response_naltrexone_female"]
        < eff["glx_relative_response_placebo"]
    )
