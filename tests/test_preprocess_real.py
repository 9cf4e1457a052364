"""Preprocessing of real vendor spectra (converted with spec2nii into temporary folders).

Philips SDAT/SPAR PRESS 35 ms with water references (Osprey example data), Siemens RDA and
DICOM of the same acquisition (suspect test data), a Siemens XA phantom without NAA, and a
real 7 T NIfTI-MRS water reference with 32 uncombined coils.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fmrstrial.errors import InputError
from fmrstrial.io.nifti_mrs import read_nifti_mrs
from fmrstrial.preprocess import coils, preprocess_session, qc
from fmrstrial.spectra import ppm_axis, to_spectrum
from fmrstrial.steps.preprocess import PreprocessOutputs, run_session

VENDOR = Path(__file__).parent / "data" / "vendor"
PHILIPS = VENDOR / "philips_sdat_press35"


def spec2nii(*args: str) -> None:
    cmd = [sys.executable, "-c", "from spec2nii.spec2nii import main; main()", *args]
    subprocess.run(cmd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pp_real")
    for sub in ("sub-01", "sub-02"):
        for kind in ("act", "ref"):
            stem = PHILIPS / sub / f"{sub}_PRESS_35_{kind}"
            spec2nii(
                "philips", "-f", f"{sub}_{kind}", "-o", str(out),
                f"{stem}.sdat", f"{stem}.spar",
            )  # fmt: skip
    spec2nii("rda", "-f", "rda", "-o", str(out), str(VENDOR / "siemens_rda" / "SVS_30.rda"))
    for name, src in (("ima", "SVS_30.IMA"), ("xa", "SVS_XA60.dcm")):
        spec2nii("dicom", "-f", name, "-o", str(out), str(VENDOR / "siemens_dicom" / src))
    return out


def _band_energy(fid, dwell, cf, lo, hi):
    ppm = ppm_axis(fid.shape[0], dwell, cf)
    spec = to_spectrum(fid)
    return float(np.sum(np.abs(spec[(ppm >= lo) & (ppm <= hi)]) ** 2))


@pytest.mark.parametrize("sub", ["sub-01", "sub-02"])
def test_philips_with_water_reference(converted, sub, tmp_path):
    svs = converted / f"{sub}_act.nii.gz"
    ref = converted / f"{sub}_ref.nii.gz"
    result = run_session(svs, ref, 0.0, PreprocessOutputs.in_folder(tmp_path))
    session = result.session
    assert session["eddy_current_correction"] and session["hlsvd_water_components"] > 0
    q = result.qc.iloc[0]
    assert len(result.qc) == 1 and q.n_kept == 1
    assert 4.0 < q.water_fwhm_hz < 15.0 and 4.0 < q.naa_fwhm_hz < 12.0
    assert q.snr > 50 and q.qc_pass == 1
    data = read_nifti_mrs(svs)
    out = result.blocks.fids[:, 0]
    # residual water removed; creatine lands at 3.03 ppm once NAA is referenced to 2.008
    before = _band_energy(data.fids, data.dwell_s, data.cf_mhz, 4.5, 4.85)
    after = _band_energy(out, data.dwell_s, data.cf_mhz, 4.5, 4.85)
    assert after < before / 20
    cr = qc.peak_measures(out, data.dwell_s, data.cf_mhz, (2.95, 3.1))[2]
    assert cr == pytest.approx(3.027, abs=0.02)
    # Klose phasing makes the peaks absorptive, and the metabolite signal confirms it: the
    # fitted NAA singlet (QC's measure, at 2.008 ppm) has a phase near 0; the NAA/Cr phase
    # (Cr about 30 deg from NAA here: a first-order phase) lies within the tolerance
    naa = qc.naa_measures(out, data.dwell_s, data.cf_mhz, (1.9, 2.12))
    assert naa.ppm == pytest.approx(2.008, abs=0.002)
    assert abs(np.rad2deg(naa.phase_rad)) < 10
    assert session["phase_source"].startswith("water reference")
    assert abs(session["metabolite_phase_deg"]) < 30
    assert (tmp_path / "qc.png").is_file()


def test_siemens_rda_and_dicom_agree(converted):
    results = {}
    for name in ("rda", "ima"):
        data = read_nifti_mrs(converted / f"{name}.nii.gz")
        results[name] = preprocess_session(data, None, 0.0, source=name)
        assert not results[name].session["eddy_current_correction"]
    rda, ima = results["rda"].qc.iloc[0], results["ima"].qc.iloc[0]
    assert rda.snr > 20 and rda.qc_pass == 1
    assert rda.snr == pytest.approx(ima.snr, rel=0.02)
    assert rda.naa_fwhm_hz == pytest.approx(ima.naa_fwhm_hz, rel=0.02)


def test_phantom_without_naa_is_rejected_with_its_name(converted):
    data = read_nifti_mrs(converted / "xa.nii.gz")
    with pytest.raises(InputError, match=r"xa\.nii\.gz: no usable transients.*NAA"):
        preprocess_session(data, None, 0.0, source=str(converted / "xa.nii.gz"))


def test_real_32_coil_water_reference_combination():
    data = read_nifti_mrs(VENDOR / "nifti_mrs" / "sub-01_ses-01_SVS-ref.nii.gz")
    assert data.dim_tags == ("DIM_COIL",)
    x = data.fids[:, :, None]
    psi = coils.noise_covariance(x, 0.5)
    weights = coils.combination_weights(coils.sensitivity_profile(x[:, :, 0], psi), psi)
    combined = coils.combine(x, weights, 1)[:, 0]

    def snr(fid):
        """First point over the noise SD of the quietest tail segments (own estimate)."""
        segments = np.array_split(fid[fid.size // 2 :], 8)
        var = sorted(float(np.mean(np.abs(s - s.mean()) ** 2)) for s in segments)
        return abs(fid[0]) / np.sqrt(np.mean(var[:4]))

    single = max(snr(x[:, c, 0]) for c in range(x.shape[1]))
    plain = snr(x[:, :, 0].sum(axis=1))
    assert snr(combined) > 1.3 * single
    assert snr(combined) > 3 * plain


def test_neighbour_prior_aligns_real_transients_at_low_snr(converted):
    """The real sub-01 spectrum made into 200 transients (drift, jitter, 6 motion-corrupted)
    at a single-transient SNR of 3: the neighbour prior and the smoothing over the series
    lower the frequency error (measured 0.77 -> 0.45 Hz RMS; 0.53 with the former pooling)
    and every motion-corrupted transient is still excluded."""
    from real_spectra import alignment_errors, transient_series

    real = read_nifti_mrs(converted / "sub-01_act.nii.gz")
    fid = real.fids.reshape(real.n_points, -1).mean(axis=1)
    rng = np.random.default_rng(2)
    fids, freq, motion = transient_series(fid, real.dwell_s, real.cf_mhz, 200, 3.0, rng)
    rms = {}
    for prior in (False, True):
        rms[prior], motion_excluded, _ = alignment_errors(
            fids, real.dwell_s, real.cf_mhz, freq, motion, prior
        )
        assert motion_excluded == motion.sum()
    assert rms[False] > 0.7
    assert rms[True] < 0.7 * rms[False] and rms[True] < 0.5
