"""Data whose spectral window is narrower than the fit range (7 T data sampled at 2 kHz span
only 1.3-8.0 ppm): the range is cut to the window, not left to fail in the spline algebra;
a window that misses NAA or Cr is refused with the setting's name."""

from __future__ import annotations

import numpy as np
import pytest

from fmrstrial.errors import InputError
from fmrstrial.fit import fit_spectrum
from fmrstrial.io.basis import read_basis
from fmrstrial.paths import resource

BASIS = "basis/lcmodel_press35_3T/3T_PRESS_{}_35ms_noMM.BASIS"
CF = 127.731
TRUE = {"NAA": 12.0, "NAAG": 1.5, "Cr": 5.0, "PCr": 4.0, "GPC": 1.0, "PCh": 0.6, "Glu": 10.0,
        "Gln": 3.0, "Ins": 6.0, "GSH": 2.0, "Tau": 1.5, "Asp": 1.5, "GABA": 1.2}  # fmt: skip


def spectrum(bandwidth_hz: float, n: int) -> np.ndarray:
    """Noise-free FID from the Philips basis on a grid of `bandwidth_hz`, 4 Hz lines."""
    dwell = 1.0 / bandwidth_hz
    philips = read_basis(resource(BASIS.format("Philips"))).auto_referenced()
    grid = philips.rereferenced(4.65).resampled(dwell, n, CF)
    t = np.arange(n) * dwell
    return sum(c * grid.fid(m) for m, c in TRUE.items()) * np.exp(-np.pi * 4.0 * t)


def test_fit_range_is_cut_to_a_narrow_spectral_window():
    """900 Hz at 127.7 MHz: 1.13-8.17 ppm, so 0.2-4.0 ppm is fitted as about 1.27-4.0; with
    the basis the data were built from (a check of the mechanism, not of the model) the
    ratios come out exact."""
    fid = spectrum(900.0, 1024)
    basis = read_basis(resource(BASIS.format("Philips")))
    res = fit_spectrum(fid, 1 / 900.0, CF, basis, te_ms=35.0)
    lo, hi = res.fit_range_ppm
    assert 1.2 < lo < 1.35 and hi == pytest.approx(4.0, abs=0.05)
    true = (TRUE["Glu"] + TRUE["Gln"]) / (TRUE["NAA"] + TRUE["NAAG"])
    assert res.ratios["Glx/tNAA"].value == pytest.approx(true, rel=0.01)
    tnaa_tcr = (TRUE["NAA"] + TRUE["NAAG"]) / (TRUE["Cr"] + TRUE["PCr"])
    assert res.sums["tNAA"].value / res.sums["tCr"].value == pytest.approx(tnaa_tcr, rel=0.01)


def test_window_without_naa_is_refused_with_the_setting_named():
    fid = spectrum(400.0, 512)  # 3.08-6.22 ppm
    basis = read_basis(resource(BASIS.format("GE")))
    with pytest.raises(InputError, match=r"fit\.ppm_range.*covers only 3\.1\d-6\.\d\d ppm"):
        fit_spectrum(fid, 1 / 400.0, CF, basis, te_ms=35.0, source="narrow.nii.gz")
