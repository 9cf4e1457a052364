"""Accuracy of the fit on synthetic demo block spectra with known truth (fast subset).

Blocks: average of 100 transients of single-transient NAA SNR 9-14, Lorentzian 2.5-3.5 Hz +
Gaussian 3-4.5 Hz, the simulator's MM, after preprocessing (see fmrstrial.fit.synthetic).
The full sets (>= 200 spectra, the 85-95 % coverage criterion) are in
tests/benchmarks/bench_fit_accuracy.py; here 100 inverse-crime and 60 non-inverse-crime
spectra, with bounds that allow for their sampling error (coverage of a 90 % interval in 100
spectra has SD 3 %, the SD of an SD over 100 spectra about 7 %).
"""

from __future__ import annotations

import numpy as np
import pytest

from fmrstrial.fit import fit_spectrum, prepare_basis, resolve_settings
from fmrstrial.fit.synthetic import demo_model, make_blocks
from fmrstrial.io.basis import read_basis
from fmrstrial.paths import resource

GE = "basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS"
RATIOS = {
    "Glx/tNAA": (("Glu", "Gln"), ("NAA", "NAAG")),
    "Glu/tNAA": (("Glu",), ("NAA", "NAAG")),
}


@pytest.fixture(scope="module")
def setup():
    sim = demo_model()
    settings = resolve_settings()
    fb = prepare_basis(read_basis(resource(GE)), sim.n_points, sim.dwell_s, sim.cf_mhz, settings)
    return sim, fb, settings


def run(setup, n, seed, **kw):
    """Relative errors and relative CRLBs per ratio, and the fits."""
    sim, fb, settings = setup
    blocks = make_blocks(n, seed, sim, **kw)
    err = {k: [] for k in RATIOS}
    crlb = {k: [] for k in RATIOS}
    fits = []
    for b in blocks:
        r = fit_spectrum(b.fid, sim.dwell_s, sim.cf_mhz, fb, settings)
        fits.append(r)
        for k, (num, den) in RATIOS.items():
            truth = b.ratio(num, den)
            err[k].append(r.ratios[k].value / truth - 1.0)
            crlb[k].append(r.ratios[k].sd / truth)
    return (
        blocks,
        fits,
        {k: np.array(v) for k, v in err.items()},
        {k: np.array(v) for k, v in crlb.items()},
    )


@pytest.fixture(scope="module")
def inverse_crime(setup):
    return run(setup, 100, 101)


def test_bias_inverse_crime(inverse_crime):
    _, fits, err, _ = inverse_crime
    assert all(r.converged for r in fits)
    assert abs(err["Glx/tNAA"].mean()) <= 0.02
    assert abs(err["Glu/tNAA"].mean()) <= 0.03


def test_crlb_matches_scatter_and_intervals_cover(inverse_crime):
    _, _, err, crlb = inverse_crime
    for k in RATIOS:
        ratio = err[k].std(ddof=1) / crlb[k].mean()
        assert 0.75 <= ratio <= 1.25, (k, ratio)
    cover = np.mean(np.abs(err["Glx/tNAA"]) <= 1.645 * crlb["Glx/tNAA"])
    assert 0.80 <= cover <= 0.98, cover


def test_qc_measures_against_truth(inverse_crime):
    blocks, fits, _, _ = inverse_crime
    snr_ratio = np.array([r.snr / (b.snr_single * 10.0) for b, r in zip(blocks, fits, strict=True)])
    fwhm_err = np.array([r.fwhm_hz - b.naa_fwhm_hz for b, r in zip(blocks, fits, strict=True)])
    assert np.median(snr_ratio) == pytest.approx(1.0, abs=0.05)
    assert np.all(np.abs(snr_ratio - 1.0) < 0.3)
    assert np.abs(fwhm_err).max() < 0.5
    assert abs(np.median(fwhm_err)) < 0.1
    resid = np.array([r.residual_ratio for r in fits])
    assert np.median(resid) == pytest.approx(1.0, abs=0.1)
    shift_err = [
        r.params["shift_hz_metabolites"] - b.shift_hz for b, r in zip(blocks, fits, strict=True)
    ]
    assert np.abs(shift_err).max() < 0.3


def test_bias_without_inverse_crime(setup):
    """Philips basis, non-Voigt lineshape, broad baseline; fitted with the GE basis."""
    _, fits, err, _ = run(setup, 60, 202, realistic=True)
    assert all(r.converged for r in fits)
    assert abs(err["Glx/tNAA"].mean()) <= 0.05
