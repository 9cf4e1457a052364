"""Blocks of an fMRS session fitted on the session's background (setting session_background).

The sessions here are built from a real spectrum (Philips PRESS TE 35 ms, sub-01, with its
licence in tests/data/vendor): its real baseline, macromolecules and lineshape are the same
in every block, each block gets independent noise (three times the spectrum's own), and
Glu is raised by a known fraction in the infusion blocks (its fitted component, with the
spectrum's own lineshape, added to the FID). What the trial measures is the change of Glx
from the baseline block; its error is compared between the session background (default)
and every block fitting its own baseline and macromolecules (the previous default).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fmrstrial.cli import main
from fmrstrial.fit import fit_spectrum
from fmrstrial.fit.basis_setup import prepare_basis
from fmrstrial.fit.model import SpectralModel
from fmrstrial.fit.session import blocks_of, fit_data
from fmrstrial.fit.settings import resolve_settings
from fmrstrial.io.basis import read_basis
from fmrstrial.io.nifti_mrs import MRSData, read_nifti_mrs
from fmrstrial.paths import resource

SPECTRUM = Path(__file__).parent / "data/vendor/philips_sdat_press35/sub-01/sub-01_PRESS_35_act"
BASIS = "basis/lcmodel_press35_3T/3T_PRESS_Philips_35ms_noMM.BASIS"
GLU_CHANGE = np.array([0.0, 0.03, 0.06, 0.09, 0.09, 0.06])  # fraction of the fitted Glu
NOISE_FACTOR = 3.0
SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The real spectrum's FID, its fit, the fitted Glu FID (data phase) and the basis."""
    out = tmp_path_factory.mktemp("real") / "data.nii.gz"
    assert main(["convert", f"{SPECTRUM}.sdat", f"{SPECTRUM}.spar", "--out", str(out)]) == 0
    data = read_nifti_mrs(out)
    fid = blocks_of(data, str(out))[:, 0]
    basis = read_basis(resource(BASIS))
    settings = resolve_settings()
    fb = prepare_basis(basis, data.n_points, data.dwell_s, data.cf_mhz, settings)
    fit = fit_spectrum(fid, data.dwell_s, data.cf_mhz, fb, settings)
    model = SpectralModel(fb, settings["ppm_range"], settings["zero_fill"], settings["fit_phase1"])
    i = fb.names.index("Glu")
    glu = model.component_fids(fit.theta)[:, i] * fit.amplitudes[i] * np.exp(1j * fit.theta[0])
    return data, fid, fit, glu, basis


def session(real, seed: int) -> MRSData:
    """Blocks (n_points, 6) of the real spectrum with Glu raised and fresh noise."""
    data, fid, fit, glu, _ = real
    rng = np.random.default_rng(seed)
    sd = NOISE_FACTOR * fit.noise_sd / np.sqrt(fid.size)  # spectral noise SD -> FID's
    blocks = [
        fid
        + change * glu
        + sd * (rng.standard_normal(fid.size) + 1j * rng.standard_normal(fid.size)) / np.sqrt(2)
        for change in GLU_CHANGE
    ]
    fids = np.stack(blocks, axis=1)
    return MRSData(fids, data.dwell_s, data.cf_mhz, dim_tags=("DIM_DYN",), header=data.header)


def change_errors(real, background: bool) -> np.ndarray:
    """Fitted minus true change of Glx from the baseline block, percent of the baseline
    Glx, over every infusion block of every seed."""
    _, _, fit, _, basis = real
    glu = fit.amplitude("Glu")
    glx = fit.amplitude("Glx")
    true = 100 * GLU_CHANGE[1:] * glu / glx
    errors = []
    for seed in SEEDS:
        fits = fit_data(session(real, seed), basis, {"session_background": background})
        g = np.array([r.amplitude("Glx") for _, r in fits])
        errors.extend(100 * (g[1:] - g[0]) / glx - true)
    return np.array(errors)


@pytest.mark.slow
def test_session_background_halves_the_change_error_on_real_spectra(real):
    ours = change_errors(real, background=True)
    per_block = change_errors(real, background=False)
    rms = lambda e: float(np.sqrt(np.mean(e**2)))  # noqa: E731
    assert rms(ours) < 0.7 * rms(per_block), (rms(ours), rms(per_block))
    assert rms(ours) < 3.0  # percentage points of the baseline's Glx


def test_blocks_share_the_session_background(real):
    fits = fit_data(session(real, 7), real[4])
    mm = ["MM09", "MM12", "MM14", "MM17", "MM20"]
    first = fits[0][1]
    assert first.names == fits[-1][1].names and set(mm) <= set(first.names)
    for _, r in fits:
        # macromolecules are the mean's: identical in every block, with the mean's CRLB
        for name in mm:
            i = r.names.index(name)
            assert r.amplitudes[i] == first.amplitudes[i]
            assert r.amplitude_sd[i] == first.amplitude_sd[i]
        # the session's baseline flexibility is reported with every block; the block's own
        # correction on top of it is at most as flexible
        assert r.session_baseline_ed_per_ppm == first.session_baseline_ed_per_ppm
        assert np.isfinite(r.session_baseline_penalty)
        assert r.baseline_ed_per_ppm <= r.session_baseline_ed_per_ppm + 1e-9
        # data = fit + residual: the fixed components are in the model curve
        model = r.baseline + r.components.sum(axis=1)
        assert np.allclose(model, r.fit, atol=1e-9 * np.abs(r.fit).max())


def test_session_background_off_fits_each_block_on_its_own(real):
    fits = fit_data(session(real, 7), real[4], {"session_background": False})
    i = fits[0][1].names.index("MM09")
    assert len({r.amplitudes[i] for _, r in fits}) == len(fits)
    assert all(np.isnan(r.session_baseline_ed_per_ppm) for _, r in fits)


def test_a_single_spectrum_has_no_session_background(real):
    data, fid, fit, _, basis = real
    ((_, r),) = fit_data(data, basis)
    assert np.isnan(r.session_baseline_penalty)
    assert r.amplitude("Glx") == pytest.approx(fit.amplitude("Glx"), rel=1e-12)
