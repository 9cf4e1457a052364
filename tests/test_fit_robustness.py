"""The default fit on real spectra that are not referenced, or carry more residual water.

Each of the four real spectra of `test_fit_real.py` (converted, not preprocessed) is changed
the way another site's spectrum may differ, and the fit must give about what it gives on the
spectrum as acquired:

- a frequency offset of -0.3 to +0.3 ppm (an unreferenced spectrum, or drift): before the fit
  range followed the data's offset and the coarse search spanned +-0.3 ppm, the -0.2 ppm
  offset lost the NAA fit on the Siemens ACC spectrum (tNAA 0) and moved Glx/tNAA by +50 % on
  PCG;
- a broad residual water line 0.05 ppm from water, 30 times the FID's first points (38 times
  the NAA peak height on the Philips spectra, which already have 25 times): before the coarse
  search high-passed the FID before cutting out its window and the fine fit bounded the
  metabolite shift, the fit moved the metabolites by a ppm and fitted no Glx at all on sub-01
  and sub-02;
- the same water line with the baseline limited to ABfit's 7 effective dimensions per ppm:
  before a first stage that went astray was redone, sub-01 fitted no metabolite at all.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from real_spectra import BASIS, SPECTRA, convert, water_line

from fmrstrial.fit.core import fit_spectrum, went_astray
from fmrstrial.fit.session import blocks_of
from fmrstrial.fit.start import Start
from fmrstrial.io.basis import read_basis
from fmrstrial.io.nifti_mrs import read_nifti_mrs
from fmrstrial.paths import resource


@pytest.fixture(scope="module")
def spectra(tmp_path_factory):
    """name -> (fid (n,), dwell s, MHz, basis) of each real spectrum as converted."""
    out = {}
    for name, spectrum in SPECTRA.items():
        data = read_nifti_mrs(convert(name, tmp_path_factory.mktemp(name) / "data.nii.gz"))
        fid = blocks_of(data, name)[:, 0]
        basis = read_basis(resource(BASIS.format(spectrum.vendor)))
        out[name] = (fid, data.dwell_s, data.cf_mhz, basis)
    return out


def ratios(fid, dwell_s, cf_mhz, basis) -> np.ndarray:
    """[Glx/tNAA, tNAA/tCr] of the default fit."""
    r = fit_spectrum(fid, dwell_s, cf_mhz, basis, {})
    glx, tnaa, tcr = (r.amplitude(name) for name in ("Glx", "tNAA", "tCr"))
    return np.array([glx / tnaa, tnaa / tcr])


#: Offsets (ppm) of the sweep below: -0.3 to +0.3 in steps of 0.05, 0 left out.
OFFSETS_PPM = [k * 0.05 for k in range(-6, 7) if k]


@pytest.mark.parametrize("name", SPECTRA)
def test_an_offset_spectrum_is_fitted_like_a_referenced_one(spectra, name):
    """Over 12 offsets from -0.3 to +0.3 ppm, Glx/tNAA and tNAA/tCr stay within 3 % of the
    spectrum as acquired at 10 or more and within 12 % at all. The offset moves the lines
    by a fraction of a spectral point against the sampling grid, and on sub-01 that tips
    the zero- and first-order phase into another optimum at two offsets (Glx/tNAA +10.7 and
    +10.1 % at -0.2 and -0.3 ppm; measured in docs/fitting.md, "Singlet groups")."""
    fid, dwell_s, cf_mhz, basis = spectra[name]
    t = np.arange(fid.size) * dwell_s
    as_acquired = ratios(fid, dwell_s, cf_mhz, basis)
    dev = np.array(
        [
            np.abs(ratios(fid * np.exp(2j * np.pi * o * cf_mhz * t), dwell_s, cf_mhz, basis)
                   / as_acquired - 1).max()
            for o in OFFSETS_PPM
        ]
    )  # fmt: skip
    assert np.sum(dev <= 0.03) >= 10, dev.round(3)
    assert dev.max() <= 0.12, dev.round(3)


@pytest.mark.parametrize("name", ["sub-01", "sub-02"])
def test_a_large_water_tail_does_not_take_the_glx(spectra, name):
    fid, dwell_s, cf_mhz, basis = spectra[name]
    as_acquired = ratios(fid, dwell_s, cf_mhz, basis)
    wet = ratios(fid + water_line(fid, dwell_s, cf_mhz), dwell_s, cf_mhz, basis)
    np.testing.assert_allclose(wet, as_acquired, rtol=0.15)


def test_a_first_stage_that_went_astray_is_redone(spectra):
    """The water tail drags sub-01's first, stiff-baseline stage by 216 degrees to the edge of
    its shift window; with the most flexible baseline (12 per ppm) the second stage happened
    to recover, with ABfit's limit of 7 it ended with every metabolite at 0 (residual/noise
    7.6). Redone from the start with the flexibility chosen there, tNAA and tCr stay within
    10 % of the spectrum as acquired (its Glx does not: -26 %, docs/fitting.md)."""
    fid, dwell_s, cf_mhz, basis = spectra["sub-01"]
    limited = {"baseline_ed_per_ppm": [0.5, 7.0]}
    dry = fit_spectrum(fid, dwell_s, cf_mhz, basis, limited)
    wet = fit_spectrum(fid + water_line(fid, dwell_s, cf_mhz), dwell_s, cf_mhz, basis, limited)
    for name in ("tNAA", "tCr"):
        assert wet.amplitude(name) == pytest.approx(dry.amplitude(name), rel=0.10)


def test_went_astray_reads_the_phase_modulo_a_turn_and_the_shift_window():
    model = SimpleNamespace(layout=SimpleNamespace(shift=lambda group: 2))  # theta[2]: shift
    start = Start(shift_hz=0.0, phase_rad=3.1, gauss_hz=5.0, score=1.0)
    window = (-12.8, 12.8)
    assert not went_astray(np.array([3.3 - 2 * np.pi, 0.0, 1.0]), model, start, window)
    assert went_astray(np.array([3.1 + np.radians(70), 0.0, 1.0]), model, start, window)
    assert went_astray(np.array([3.1, 0.0, 12.79]), model, start, window)
    assert went_astray(np.array([3.1, 0.0, -12.79]), model, start, window)
