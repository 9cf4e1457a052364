"""A basis set with a narrower bandwidth than the data is resampled, not refused (GE's usual
5 kHz data with the shipped 4 kHz GE basis), as long as it covers the fitted range."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fmrstrial.convert.sanity import check_basis
from fmrstrial.errors import InputError
from fmrstrial.fit import fit_spectrum
from fmrstrial.io.basis import BasisInfo, _resample_fids, read_basis
from fmrstrial.io.nifti_mrs import read_nifti_mrs
from fmrstrial.paths import resource

BASIS = "basis/lcmodel_press35_3T/3T_PRESS_{}_35ms_noMM.BASIS"
WIDE = Path(__file__).parent / "data" / "bad" / "convert" / "wide_bandwidth.nii.gz"
TRUE = {"NAA": 12.0, "NAAG": 1.5, "Cr": 5.0, "PCr": 4.0, "GPC": 1.0, "PCh": 0.6, "Glu": 10.0,
        "Gln": 3.0, "Ins": 6.0, "GSH": 2.0, "Tau": 1.5, "Asp": 1.5, "GABA": 1.2}  # fmt: skip


def test_conversion_accepts_data_wider_than_the_basis():
    data = read_nifti_mrs(WIDE)
    assert 1.0 / data.dwell_s == pytest.approx(10000.0)  # basis: 4000 Hz
    info = BasisInfo(1 / 4000.0, 8192, 127.731, 35.0, "GE.BASIS")
    check_basis(data, info, 5.0, "wide.nii.gz")  # no error


def test_basis_window_that_misses_the_fitted_range_is_refused():
    data = read_nifti_mrs(WIDE)
    narrow = BasisInfo(1 / 500.0, 1024, 127.731, 35.0, "narrow.BASIS")  # +-1.96 ppm
    with pytest.raises(InputError, match=r"narrow\.BASIS.*does not cover 0 to 4\.7 ppm"):
        check_basis(data, narrow, 5.0, "wide.nii.gz")


def test_fit_of_5khz_data_with_the_4khz_ge_basis():
    """Noise-free 5 kHz, 4096-point spectrum built from the Philips basis; fitted with the
    GE basis (4 kHz), which is resampled to the data's grid."""
    dwell, n, cf = 1 / 5000.0, 4096, 127.731
    philips = read_basis(resource(BASIS.format("Philips"))).auto_referenced()
    grid = philips.rereferenced(4.65).resampled(dwell, n, cf)
    t = np.arange(n) * dwell
    fid = sum(c * grid.fid(m) for m, c in TRUE.items()) * np.exp(-np.pi * 4.0 * t)
    res = fit_spectrum(fid, dwell, cf, read_basis(resource(BASIS.format("GE"))), te_ms=35.0)
    true = (TRUE["Glu"] + TRUE["Gln"]) / (TRUE["NAA"] + TRUE["NAAG"])
    assert res.ratios["Glx/tNAA"].value == pytest.approx(true, rel=0.05)
    tnaa_tcr = (TRUE["NAA"] + TRUE["NAAG"]) / (TRUE["Cr"] + TRUE["PCr"])
    assert res.sums["tNAA"].value / res.sums["tCr"].value == pytest.approx(tnaa_tcr, rel=0.05)


@pytest.mark.parametrize("n_in, dwell_in, n_out, dwell_out", [
    (256, 1 / 4000, 200, 1 / 2000 * 1.004),  # coarser grid, field 0.4 % different
    (256, 1 / 4000, 300, 1 / 5000),  # finer grid: every bin kept, times past the basis zero
    (255, 1 / 3000, 128, 1 / 1200),  # odd length
])  # fmt: skip
def test_resampling_equals_the_direct_trigonometric_sum(n_in, dwell_in, n_out, dwell_out):
    """The chirp-z evaluation equals sum_k X_k exp(2 pi i t f_k) / n over the kept bins."""
    rng = np.random.default_rng(3)
    fids = rng.normal(size=(n_in, 2)) + 1j * rng.normal(size=(n_in, 2))
    freq = np.fft.fftfreq(n_in, dwell_in)
    keep = np.abs(freq) < 0.5 / dwell_out
    t = np.arange(n_out) * dwell_out
    kernel = np.exp(2j * np.pi * np.outer(t, freq[keep])) / n_in
    direct = kernel @ np.fft.fft(fids, axis=0)[keep]
    direct[t >= n_in * dwell_in - 0.5 * dwell_in] = 0.0
    out = _resample_fids(fids, dwell_in, dwell_out, n_out)
    assert np.abs(out - direct).max() < 1e-10 * np.abs(direct).max()
