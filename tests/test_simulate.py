"""The trial simulator: truth agrees with the written files, ppm scale, SNR, determinism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import NOISELESS, REPO, SMALL, tree_digest
from fmrstrial.dataset import ref_path, svs_path
from fmrstrial.io.nifti_mrs import read_nifti_mrs
from fmrstrial.io.tsv import read_tsv
from fmrstrial.macromolecules import MACROMOLECULES
from fmrstrial.simulate import resolve, simulate_trial
from fmrstrial.simulate.clinical import load_scale_definitions
from fmrstrial.simulate.design import make_participants, make_sessions
from fmrstrial.simulate.effects import STREAM_DESIGN, rng_for
from fmrstrial.simulate.habits import HABITS as HABIT_NAMES
from fmrstrial.simulate.habits import SessionHabits, assign_habits
from fmrstrial.simulate.macromolecules import MM_PEAKS
from fmrstrial.simulate.mrs import build_model, fwhm_hz, voigt
from fmrstrial.simulate.params import INVERSE_CRIME, NO_HABITS, combine
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


# ----------------------------------------------------------------------------- realism
#: A short trial in which every session has the habits that can be checked without noise.
HABITS = combine(
    NOISELESS,
    {
        "seed": 23,
        "acquisition": {"baseline_min": 1.0, "infusion_min": 2.0},
        "signal": {
            "residual_water": [0.0, 0.0],
            "eddy_current_rad": 0.2,
            "lineshape_satellites": 2,
            "residual_eddy_current_rad": 0.1,
            "baseline_amplitude": [0.1, 0.3],
        },
        "habits": {
            "phase_unrelated_fraction": 1.0,
            "large_offset_fraction": 1.0,
            "motion_fraction": 1.0,
            "motion_burst_transients": [3, 6],
        },
    },
)


@pytest.fixture(scope="module")
def habits_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("habits") / "ds"
    simulate_trial(out, resolve(HABITS))
    return out


def test_demo_spectra_are_not_built_from_the_fitters_basis_or_mm():
    """Default: Philips basis (the fit's default basis is GE), literature MM peaks."""
    params = resolve()
    assert "Philips" in params["acquisition"]["basis"]
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    schema = yaml.safe_load((REPO / "config" / "schemas" / "config.schema.yaml").read_text())
    assert "GE" in cfg.get("basis", schema["properties"]["basis"]["default"])
    assert "Philips" in cfg["simulate"]["acquisition"]["basis"]
    model = build_model(params)
    assert set(model.mm_names) == set(MM_PEAKS)
    assert not set(model.mm_names) & set(MACROMOLECULES)
    # the basis on the grid is the resampled Philips set, not the GE one
    ge = build_model(resolve(INVERSE_CRIME))
    naa_ph, naa_ge = model.basis.fid("NAA"), ge.basis.fid("NAA")
    assert np.abs(naa_ph / np.abs(naa_ph).max() - naa_ge / np.abs(naa_ge).max()).max() > 0.05
    # MM under NAA; 3 T width of M0.95 from Snoussi 2015
    assert abs(MM_PEAKS["M2.07"][0] - 2.01) < 0.1
    assert MM_PEAKS["M0.95"][1] * 127.7 == pytest.approx(19.8)


def test_resampled_philips_basis_keeps_its_singlets():
    """4000 Hz / 8192 points -> 1200 Hz / 1024 points: NAA, Cr at their shifts."""
    model = build_model(resolve())
    assert model.basis.n_points == 1024 and model.dwell_s == pytest.approx(1 / 1200)
    assert model.basis.singlet_ppm("NAA", 2.008) == pytest.approx(2.008, abs=0.005)
    assert model.basis.singlet_ppm("Cr", 3.027) == pytest.approx(3.027, abs=0.005)


def test_habit_counts_on_the_demo_design():
    params = resolve()
    rng = rng_for(params["seed"], STREAM_DESIGN)
    sessions = make_sessions(make_participants(params, rng), params, rng)
    habits = list(assign_habits(sessions, params).values())
    counts = {h: sum(getattr(x, h) for x in habits) for h in HABIT_NAMES}
    assert counts == {
        "phase_unrelated": 10,
        "large_offset": 5,
        "large_drift": 8,
        "motion": 13,
        "lipid": 3,
        "broadened": 1,
        "low_snr": 1,
    }
    bad = [x for x in habits if x.broadened or x.low_snr]
    assert len(bad) == 2
    for x in bad:  # nothing else: their failure has one reason
        assert sum(getattr(x, h) for h in HABIT_NAMES) == 1
    assert assign_habits(sessions, resolve(NO_HABITS)) == {
        k: SessionHabits() for k in assign_habits(sessions, params)
    }


def _klose_average(root, row, model, n_first=None):
    """Average of clean transients with the truth frequency and transient phase changes
    removed (phase kept at the session's metabolite phase), then eddy-current corrected
    with the water reference and shifted back by the reference's own offset."""
    pid, sid = row.participant_id, row.session_id
    data = read_nifti_mrs(svs_path(root, pid, sid)).fids
    truth = transients_truth(root, pid, sid)
    keep = (truth.corrupt == 0).to_numpy()
    if n_first:
        keep &= truth.transient.to_numpy() < n_first
    dphase = np.deg2rad(truth.phase_deg.to_numpy() - row.phase0_deg)
    rot = np.exp(-1j * (dphase[None, :] + 2 * np.pi * np.outer(model.t, truth.freq_offset_hz)))
    avg = (data * rot)[:, keep].mean(axis=1)
    water = read_nifti_mrs(ref_path(root, pid, sid)).fids.mean(axis=1)
    return (
        avg
        * np.exp(-1j * np.angle(water))
        * np.exp(2j * np.pi * row.water_freq_offset_hz * model.t)
    )


def test_metabolite_phase_is_unrelated_to_the_reference(habits_dataset, tmp_path):
    """Against a twin trial without the habit: same water reference, metabolite data rotated
    by the recorded metabolite phase offset (so a reference-based phase leaves it rotated)."""
    twin = tmp_path / "twin"
    simulate_trial(twin, resolve(combine(HABITS, {"habits": {"phase_unrelated_fraction": 0.0}})))
    sessions = read_tsv(habits_dataset / "derivatives/truth/sessions.tsv")
    assert (sessions.habit_phase_unrelated == 1).all()
    assert np.ptp(sessions.metabolite_phase_offset_deg) > 90
    for row in sessions.itertuples():
        pid, sid = row.participant_id, row.session_id
        ref_a = read_nifti_mrs(ref_path(habits_dataset, pid, sid)).fids
        ref_b = read_nifti_mrs(ref_path(twin, pid, sid)).fids
        assert np.array_equal(ref_a, ref_b)
        a = read_nifti_mrs(svs_path(habits_dataset, pid, sid)).fids
        b = read_nifti_mrs(svs_path(twin, pid, sid)).fids
        strong = np.abs(b) > 1e-3 * np.abs(b).max()
        ratio = a[strong] / b[strong]
        expected = np.exp(1j * np.deg2rad(row.metabolite_phase_offset_deg))
        assert np.allclose(ratio, expected, atol=1e-6)
        assert (
            np.cos(
                np.deg2rad(row.phase0_deg - row.water_phase_deg - row.metabolite_phase_offset_deg)
            )
            > 0.9999
        )


def test_large_offsets_are_in_the_data(habits_dataset):
    """Uncorrected first transients: NAA sits at 2.008 ppm + the recorded offset."""
    model = build_model(resolve(HABITS))
    sessions = read_tsv(habits_dataset / "derivatives/truth/sessions.tsv")
    n_zf = 8 * model.n_points
    ppm = ppm_axis(n_zf, model.dwell_s, model.cf_mhz)
    for row in sessions.itertuples():
        offset = row.freq_offset0_hz - row.water_freq_offset_hz
        assert 12.0 <= abs(offset) <= 38.0
        assert abs(row.water_freq_offset_hz) <= 0.05 * model.cf_mhz
        fid = read_nifti_mrs(svs_path(habits_dataset, row.participant_id, row.session_id)).fids
        spec = np.abs(to_spectrum(np.pad(fid[:, 0], (0, n_zf - 1024))))
        expected = 2.008 + row.freq_offset0_hz / model.cf_mhz
        window = np.abs(ppm - expected) < 0.06
        assert ppm[window][np.argmax(spec[window])] == pytest.approx(expected, abs=0.01)


def test_motion_bursts_are_runs_recorded_in_the_truth(habits_dataset):
    sessions = read_tsv(habits_dataset / "derivatives/truth/sessions.tsv")
    blocks = read_tsv(habits_dataset / "derivatives/truth/blocks.tsv")
    for row in sessions.itertuples():
        truth = transients_truth(habits_dataset, row.participant_id, row.session_id)
        runs = [tuple(map(int, r.split("-"))) for r in row.motion_bursts.split(";")]
        assert 1 <= len(runs) <= 3
        in_burst = np.zeros(len(truth), bool)
        for first, last in runs:
            assert 3 <= last - first + 1 <= 6
            in_burst[first : last + 1] = True
        assert ((truth.corrupt_reason == "motion_burst").to_numpy() == in_burst).all()
        assert (truth.corrupt[in_burst] == 1).all()
        mine = blocks[
            (blocks.participant_id == row.participant_id) & (blocks.session_id == row.session_id)
        ]
        assert mine.phase.tolist() == ["baseline", "infusion"]  # 2 min of 6-min blocks
        assert mine.n_corrupt.sum() == truth.corrupt.sum()
        assert mine.n_transients.sum() == len(truth)


def test_baseline_is_smooth_and_sized_as_recorded(tmp_path):
    """The data with and without the baseline differ by a smooth signal whose largest modulus
    over 0-4.5 ppm is the recorded fraction of the NAA height."""
    flat = combine(HABITS, {"signal": {"baseline_amplitude": [0.0, 0.0]}})
    simulate_trial(tmp_path / "flat", resolve(flat))
    simulate_trial(tmp_path / "base", resolve(HABITS))
    model = build_model(resolve(HABITS))
    sessions = read_tsv(tmp_path / "base" / "derivatives/truth/sessions.tsv")
    n_zf = 8 * model.n_points
    ppm = ppm_axis(n_zf, model.dwell_s, model.cf_mhz)
    for row in sessions.itertuples():
        a, b = (
            read_nifti_mrs(svs_path(tmp_path / d, row.participant_id, row.session_id)).fids[:, 0]
            for d in ("base", "flat")
        )
        diff = a - b
        # decays within 30 ms (a very broad signal), i.e. smooth in frequency
        late = model.t > 0.03
        assert np.sum(np.abs(diff[late]) ** 2) < 1e-3 * np.sum(np.abs(diff) ** 2)
        spec = np.abs(to_spectrum(np.pad(diff, (0, n_zf - diff.size))))
        naa_height = row.noise_sd * row.snr_naa_single * np.sqrt(model.n_points)
        measured = spec[(ppm > 0.1) & (ppm < 4.4)].max() / naa_height
        amplitude = transients_truth(
            tmp_path / "base", row.participant_id, row.session_id
        ).amplitude[0]
        assert measured == pytest.approx(row.baseline_rel_naa_height * amplitude, rel=0.05)
        assert 0.1 <= row.baseline_rel_naa_height <= 0.3


def test_lineshape_is_not_voigt_and_recorded(noiseless_dataset, tmp_path):
    """With satellites and a residual eddy current, least squares with the recorded lineshape
    recovers the concentrations; a pure Voigt model with the true widths does not."""
    distorted = {"signal": {"lineshape_satellites": 2, "residual_eddy_current_rad": 0.1}}
    params = resolve(combine(NOISELESS, distorted))
    simulate_trial(tmp_path / "ds", params)
    model = build_model(params)
    truth = transients_truth(tmp_path / "ds")
    row = read_tsv(tmp_path / "ds" / "derivatives/truth/sessions.tsv").iloc[0]
    data = read_nifti_mrs(svs_path(tmp_path / "ds", "sub-01", "ses-1")).fids[:, 0]
    t = model.t
    distortion = np.ones(t.size, complex)
    weights = 1.0
    for sat in row.lineshape_satellites.split(";"):
        w, d = sat.removesuffix("Hz").split("@")
        distortion += float(w) * np.exp(2j * np.pi * float(d) * t)
        weights += float(w)
    distortion /= weights
    residual = np.exp(
        1j * row.residual_eddy_current_rad * np.exp(-t / row.residual_eddy_current_tau_s)
    )
    first = truth.iloc[0]
    voigt_env = voigt(t, np.array([first.lorentz_hz]), first.gauss_hz)[:, 0]
    rot = np.exp(1j * (np.deg2rad(first.phase_deg) + 2 * np.pi * first.freq_offset_hz * t))
    columns = np.concatenate([model.basis.fids, model.mm], axis=1)
    errors = []
    for env in (voigt_env * distortion * residual, voigt_env):
        design = columns * (env * rot)[:, None]
        a = np.concatenate([design.real, design.imag])
        y = np.concatenate([data.real, data.imag])
        coef = np.linalg.lstsq(a, y, rcond=None)[0]
        glx = (coef[model.basis.names.index("Glu")] + coef[model.basis.names.index("Gln")]) / (
            coef[model.basis.names.index("NAA")] + coef[model.basis.names.index("NAAG")]
        )
        errors.append(abs(glx / first.glx_tnaa - 1.0))
    assert errors[0] < 0.002
    assert errors[1] > 10 * errors[0]
