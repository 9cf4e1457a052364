"""Unit tests of the NAA singlet fit (QC measures) and the coarse NAA/Cr/Cho search."""

from __future__ import annotations

import numpy as np
import pytest

from fmrstrial.preprocess import locate, qc
from fmrstrial.preprocess.align import apply_corrections
from fmrstrial.preprocess.singlet import voigt_fwhm
from fmrstrial.spectra import PPM_CENTRE_1H, time_axis

DWELL = 1.0 / 1200.0
CF = 127.73
N = 1024
T = time_axis(N, DWELL)


def line(ppm, lorentz_hz, gauss_hz=0.0, amp=1.0):
    f = (ppm - PPM_CENTRE_1H) * CF
    env = np.exp(-np.pi * lorentz_hz * T - (np.pi * gauss_hz * T) ** 2 / (4 * np.log(2)))
    return amp * np.exp(2j * np.pi * f * T) * env


def hump(ppm, fwhm_ppm, amp):
    """A broad Gaussian line (macromolecule-like) of FWHM fwhm_ppm."""
    return line(ppm, 0.0, fwhm_ppm * CF, amp)


def spectrum_like():
    """NAA (Voigt 3 + 4 Hz), Cr, Cho singlets on an MM hump under NAA (2.0 ppm, 0.15 ppm
    wide, as high as NAA) and residual water."""
    return (
        line(2.008, 3.0, 4.0, 1.0)
        + line(3.027, 3.0, 4.0, 0.8)
        + line(3.2, 3.0, 4.0, 0.6)
        + hump(2.05, 0.15, 0.45)
        + line(4.65, 8.0, 0.0, 20.0)
    )


def test_voigt_fwhm_limits():
    assert voigt_fwhm(5.0, 0.0) == pytest.approx(5.0)
    assert voigt_fwhm(0.0, 5.0) == pytest.approx(5.0, rel=1e-6)
    # Olivero & Longbothum's approximation (0.02 %)
    lor, gau = 3.0, 4.0
    approx = 0.5346 * lor + np.sqrt(0.2166 * lor**2 + gau**2)
    assert voigt_fwhm(lor, gau) == pytest.approx(approx, rel=3e-4)


def test_singlet_fit_is_exact_without_background():
    fid = line(2.008, 3.0, 4.0) * np.exp(0.7j) + line(3.027, 3.0, 4.0, 0.8)
    fit = qc.naa_measures(fid, DWELL, CF, (1.9, 2.12))
    assert fit.fwhm_hz == pytest.approx(voigt_fwhm(3.0, 4.0), rel=1e-3)
    assert fit.ppm == pytest.approx(2.008, abs=1e-4)
    assert fit.phase_rad == pytest.approx(0.7, abs=0.01)
    assert fit.height == pytest.approx(qc.peak_measures(line(2.008, 3.0, 4.0), DWELL, CF,
                                                        (1.9, 2.12))[0], rel=0.01)  # fmt: skip


@pytest.mark.parametrize("phase_deg", [0.0, 90.0, 180.0, -135.0])
def test_naa_measures_ignore_phase_and_mm_background(phase_deg):
    """With an MM hump 0.04 ppm from NAA (14 % of its height) and residual water, the fit
    stays within 6 % (FWHM) and 10 % (height) of the NAA line alone, for any phase; the old
    measure (real maximum, half height above zero) is 24 % / 28 % off even at phase 0."""
    fid = spectrum_like() * np.exp(1j * np.deg2rad(phase_deg))
    fit = qc.naa_measures(fid, DWELL, CF, (1.9, 2.12))
    true_fwhm = voigt_fwhm(3.0, 4.0)
    true_height = qc.peak_measures(line(2.008, 3.0, 4.0), DWELL, CF, (1.9, 2.12))[0]
    assert fit.fwhm_hz == pytest.approx(true_fwhm, rel=0.06)
    assert fit.height == pytest.approx(true_height, rel=0.1)
    assert fit.ppm == pytest.approx(2.008, abs=0.003)
    assert abs(np.exp(1j * fit.phase_rad) - np.exp(1j * np.deg2rad(phase_deg))) < 0.2
    old_height, old_fwhm, _ = qc.peak_measures(fid, DWELL, CF, (1.9, 2.12))
    # (NaN, i.e. not measured, counts as wrong)
    assert not abs(old_fwhm / true_fwhm - 1) <= 3 * abs(fit.fwhm_hz / true_fwhm - 1)
    assert not abs(old_height / true_height - 1) <= 2 * abs(fit.height / true_height - 1)


def test_block_snr_is_the_same_for_every_phase():
    rng = np.random.default_rng(4)
    fid = spectrum_like() + 0.002 * (rng.standard_normal(N) + 1j * rng.standard_normal(N))
    fids = np.stack([fid * np.exp(1j * p) for p in (0.0, 1.0, 2.5, -2.0)], axis=1)
    _, fwhm, snr, _ = qc.block_measures(fids, DWELL, CF, (1.9, 2.12), 0.5)
    assert np.ptp(snr) < 1e-6 * snr[0] and np.ptp(fwhm) < 1e-6
    assert (snr > 0).all()


@pytest.mark.parametrize("offset_ppm", [-0.45, -0.3, -0.1, 0.05, 0.2, 0.3, 0.45])
def test_coarse_search_finds_offsets(offset_ppm):
    phase = 2.0
    fid = spectrum_like()
    moved = apply_corrections(fid[:, None], np.array([offset_ppm * CF]), np.array([phase]), DWELL)
    f, p, _ = locate.coarse_offset(moved[:, 0], DWELL, CF, 2.008, 0.5, 0.4)
    assert f == pytest.approx(-offset_ppm * CF, abs=0.5)
    assert abs(np.exp(1j * (p + phase)) - 1) < 0.2
