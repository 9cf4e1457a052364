"""Preprocessing of data with habits our simulator does not have (issue 14, items 1-2).

The simulator gives the metabolite scan the water reference's phase and frequency. Real
data need not: separate scans have unrelated zero-order phases, and the frequency can sit
tenths of a ppm off while eddy-current correction moves the spectrum by the reference's
own offset. These tests take short simulated sessions and multiply the metabolite FIDs by
exp(i phi) and/or exp(2 pi i f t), the reference by exp(2 pi i f_ref t), and compare with
the unperturbed sessions and the simulator's truth.
"""

from __future__ import annotations

import numpy as np
import pytest

from fmrstrial.dataset import ref_path, svs_path
from fmrstrial.errors import InputError
from fmrstrial.io.nifti_mrs import read_nifti_mrs
from fmrstrial.io.tsv import read_tsv
from fmrstrial.preprocess import preprocess_session, qc
from fmrstrial.simulate import resolve, simulate_trial
from fmrstrial.simulate.params import NO_HABITS, combine
from fmrstrial.spectra import time_axis

#: The simulator's own habits are off (these tests add phase and offsets themselves); its
#: realistic MM background, baseline and lineshape stay on.
PARAMS = combine(NO_HABITS, {
    "participants": 2,
    "seed": 57,
    "acquisition": {
        "baseline_min": 2.0,
        "baseline_jitter_min": 0.0,
        "infusion_min": 4.0,
        "multi_coil_fraction": 0.5,
    },
})  # fmt: skip
SETTINGS = {"baseline_blocks": 1, "infusion_block_min": 2.0, "infusion_window_min": 4.0}
SESSIONS = (("sub-01", "ses-1"), ("sub-02", "ses-2"))
#: 0.3 ppm and 0.05 ppm at the simulator's 127.73 MHz.
PPM_03_HZ, PPM_005_HZ = 0.3 * 127.73, 0.05 * 127.73


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp("pp_habits") / "ds"
    simulate_trial(out, resolve(PARAMS))
    return out


def _load(root, pid, sid):
    svs = read_nifti_mrs(svs_path(root, pid, sid))
    ref = read_nifti_mrs(ref_path(root, pid, sid))
    base = root / "derivatives" / "truth"
    truth = read_tsv(base / pid / sid / f"{pid}_{sid}_transients.tsv")
    sessions = read_tsv(base / "sessions.tsv")
    row = sessions[(sessions.participant_id == pid) & (sessions.session_id == sid)].iloc[0]
    return svs, ref, truth, float(row.infusion_start_s)


def _rotate(data, phase_deg=0.0, shift_hz=0.0):
    """data with every FID multiplied by exp(i (phase + 2 pi shift t))."""
    t = time_axis(data.n_points, data.dwell_s)
    factor = np.exp(1j * np.deg2rad(phase_deg) + 2j * np.pi * shift_hz * t)
    return data.with_fids(data.fids * factor.reshape((-1,) + (1,) * (data.fids.ndim - 1)))


def _run(root, pid, sid, phase_deg=0.0, shift_hz=0.0, ref_shift_hz=0.0, with_ref=True):
    svs, ref, truth, t0 = _load(root, pid, sid)
    svs = _rotate(svs, phase_deg, shift_hz)
    ref = _rotate(ref, 0.0, ref_shift_hz) if with_ref else None
    return preprocess_session(svs, ref, t0, SETTINGS), truth


@pytest.fixture(scope="module")
def plain(root):
    return {key: _run(root, *key)[0] for key in SESSIONS}


def _diff(result, truth):
    """Reported minus true frequency offset (Hz) of the clean transients."""
    clean = truth.corrupt.to_numpy() == 0
    return result.transients.freq_offset_hz.to_numpy()[clean] - truth.freq_offset_hz[clean]


def _upright(result):
    """Fitted phase (deg) of the NAA singlet of every output block."""
    b = result.blocks
    return np.array(
        [
            np.rad2deg(qc.naa_measures(b.fids[:, j], b.dwell_s, b.cf_mhz, (1.9, 2.12)).phase_rad)
            for j in range(b.fids.shape[1])
        ]
    )


@pytest.mark.parametrize("phase_deg", [90.0, 180.0, -135.0])
@pytest.mark.parametrize("key", SESSIONS)
def test_metabolite_phase_unrelated_to_the_reference(root, plain, key, phase_deg):
    result, _ = _run(root, *key, phase_deg=phase_deg)
    ref = plain[key]
    q, q0 = result.qc, ref.qc
    assert (q.snr > 0).all()
    assert q.snr.to_numpy() == pytest.approx(q0.snr.to_numpy(), rel=0.03)
    fwhm, fwhm0 = q.naa_fwhm_unmatched_hz.to_numpy(), q0.naa_fwhm_unmatched_hz.to_numpy()
    assert fwhm == pytest.approx(fwhm0, rel=0.1)
    assert (q.qc_pass == 1).all()
    # phased on the metabolites, not the reference: the NAA singlet of every block is
    # upright (absorptive within the bias of a singlet fit among overlapping lines)
    assert np.abs(_upright(result)).max() < 25
    assert result.session["phase_source"] == "NAA/Cr singlets"
    assert (
        abs(result.session["metabolite_phase_deg"] - phase_deg) % 360 < 30
        or abs(result.session["metabolite_phase_deg"] - phase_deg) % 360 > 330
    )


def test_reference_phase_kept_when_the_metabolites_agree(plain):
    for result in plain.values():
        assert result.session["phase_source"].startswith("water reference")
        assert abs(result.session["metabolite_phase_deg"]) < 30
        assert np.abs(_upright(result)).max() < 25


@pytest.mark.parametrize(
    "shift_hz, ref_shift_hz, phase_deg",
    [
        (PPM_03_HZ, -PPM_005_HZ, 0.0),
        (-PPM_03_HZ, PPM_005_HZ, 0.0),
        (-9.0, PPM_005_HZ, 0.0),  # the session: NAA near 1.89 ppm after ECC
        (-PPM_03_HZ, -PPM_005_HZ, 135.0),
    ],
)
@pytest.mark.parametrize("key", SESSIONS)
def test_frequency_offsets_of_a_third_of_a_ppm_are_found(
    root, plain, key, shift_hz, ref_shift_hz, phase_deg
):
    result, truth = _run(root, *key, phase_deg, shift_hz, ref_shift_hz)
    d, d0 = _diff(result, truth), _diff(plain[key], truth)
    # per-transient error against truth (common offset removed: offsets are reported
    # relative to the water reference)
    assert np.sqrt(np.mean((d - d.mean()) ** 2)) < 0.5
    # the offset is found: reported offsets move by exactly what was added, relative to
    # the water reference (whose own offset Klose correction removes)
    assert d.mean() - d0.mean() == pytest.approx(shift_hz - ref_shift_hz, abs=0.1)
    # NAA referenced to 2.008 ppm in every block; every block passes QC
    b = result.blocks
    for j in range(b.fids.shape[1]):
        naa = qc.naa_measures(b.fids[:, j], b.dwell_s, b.cf_mhz, (1.9, 2.12))
        assert naa.ppm == pytest.approx(2.008, abs=0.003)
    assert (result.qc.qc_pass == 1).all()
    assert result.qc.snr.to_numpy() == pytest.approx(plain[key].qc.snr.to_numpy(), rel=0.03)


def test_offset_and_phase_without_a_water_reference(root, plain):
    key = SESSIONS[1]
    result, truth = _run(root, *key, 200.0, -PPM_03_HZ, with_ref=False)
    d = _diff(result, truth)
    assert np.sqrt(np.mean((d - d.mean()) ** 2)) < 0.5
    assert result.session["phase_source"] == "NAA/Cr singlets"
    assert np.abs(_upright(result)).max() < 25
    assert (result.qc.qc_pass == 1).all()


def test_no_naa_error_names_the_config_keys(plain):
    result = next(iter(plain.values()))
    rng = np.random.default_rng(1)
    shape = (1024, len(result.transients))
    noise = result.blocks.with_fids(
        rng.standard_normal(shape) + 1j * rng.standard_normal(shape), dim_tags=("DIM_DYN",)
    )
    with pytest.raises(InputError) as err:
        preprocess_session(noise, None, 120.0, SETTINGS, source="noise.nii.gz")
    text = str(err.value)
    assert "no usable transients" in text and "noise.nii.gz" in text
    assert "preprocess.reference_max_offset_ppm" in text
    assert "preprocess.reference_search_ppm" in text
