"""Quality measures of spectra: NAA height, FWHM, noise, SNR.

Definitions (also written to the blocks_qc.json sidecar):

- NAA height and FWHM (`naa_measures`): from a fit of one Voigt line plus a complex
  quadratic background (the macromolecule hump and the tails of neighbouring lines) to the
  spectrum within +/- 0.15 ppm of the largest magnitude point of the NAA window
  (`singlet.fit_singlet`). Height = absorption maximum of the fitted line alone (the
  background excluded), on the scale of the real part of the unscaled spectrum; FWHM = full
  width at half maximum of the fitted Voigt profile (Hz). The fit has a free complex
  amplitude, so both are the same for a spectrum of any zero-order phase.
- Noise SD: standard deviation of the real part of the spectral noise, computed from the
  time-domain noise variance of the FID's last `tail_fraction` (signal decayed; median of
  the variances of 8 segments, robust to an artefact in one part of the tail):
  SD = sqrt(var_real(t) * sum_t e(t)^2), with e(t) any apodisation applied afterwards
  (e = 1: SD = sqrt(var_real * n_points)), which is exact for white noise.
- SNR: NAA height / noise SD (as the simulator defines its SNR: the NAA line alone).
- `peak_measures` (the largest real point and its half-height width above zero) remains
  for phased spectra without background, e.g. the water reference.
"""

from __future__ import annotations

import numpy as np

from ..spectra import PPM_CENTRE_1H, frequency_axis, ppm_axis, to_spectrum
from .singlet import Singlet, fit_singlet

ZERO_FILL = 8
#: Segments of the FID tail whose median variance is the noise variance.
TAIL_SEGMENTS = 8


def zero_filled_spectrum(fid: np.ndarray, zero_fill: int = ZERO_FILL) -> np.ndarray:
    """Spectrum of `fid` (n_points, ...) zero-filled to zero_fill * n_points."""
    n = fid.shape[0]
    pad = [(0, (zero_fill - 1) * n)] + [(0, 0)] * (fid.ndim - 1)
    return to_spectrum(np.pad(fid, pad))


def peak_fwhm(
    spectrum_real: np.ndarray, freq_hz: np.ndarray, inside: np.ndarray
) -> tuple[float, float, int]:
    """(height, FWHM Hz, index) of the largest peak of a real spectrum within `inside`.

    spectrum_real, freq_hz: (n,); inside: boolean mask (n,). FWHM is NaN when the peak is
    not positive or a half-height crossing is not found.
    """
    idx = np.flatnonzero(inside)
    if idx.size == 0:
        return float("nan"), float("nan"), -1
    i = int(idx[np.argmax(spectrum_real[idx])])
    height = float(spectrum_real[i])
    if not height > 0:
        return height, float("nan"), i
    half = 0.5 * height
    below = spectrum_real <= half
    left = np.flatnonzero(below[:i])
    right = np.flatnonzero(below[i + 1 :])
    if left.size == 0 or right.size == 0:
        return height, float("nan"), i
    a = int(left[-1])  # last point at/below half on the left; a + 1 is above
    b = i + 1 + int(right[0])  # first point at/below half on the right; b - 1 is above

    def cross(j: int, k: int) -> float:
        return freq_hz[j] + (half - spectrum_real[j]) * (freq_hz[k] - freq_hz[j]) / (
            spectrum_real[k] - spectrum_real[j]
        )

    return height, float(abs(cross(b - 1, b) - cross(a, a + 1))), i


def peak_measures(
    fid: np.ndarray, dwell_s: float, cf_mhz: float, ppm_range: tuple[float, float]
) -> tuple[float, float, float]:
    """(height, FWHM Hz, peak position ppm) of the largest real peak of `fid` (n_points,)."""
    spec = zero_filled_spectrum(fid).real
    n = spec.size
    ppm = ppm_axis(n, dwell_s, cf_mhz)
    inside = (ppm >= min(ppm_range)) & (ppm <= max(ppm_range))
    height, fwhm, i = peak_fwhm(spec, frequency_axis(n, dwell_s), inside)
    return height, fwhm, float(ppm[i]) if i >= 0 else float("nan")


def tail_noise_var_real(fid: np.ndarray, tail_fraction: float) -> float:
    """Variance of the real part of one time-domain noise sample, from the FID tail.

    The last `tail_fraction` of the FID (n_points,) is cut into `TAIL_SEGMENTS` segments;
    the median of their variances (each about its own mean) is robust to a segment that
    still holds signal or an artefact (e.g. the rising end of some vendors' FIDs).
    """
    n = fid.shape[0]
    tail = fid[min(n - 2 * TAIL_SEGMENTS, int(round(n * (1.0 - tail_fraction)))) :]
    segments = np.array_split(tail, TAIL_SEGMENTS)
    var = [np.mean(np.abs(seg - seg.mean()) ** 2) for seg in segments]
    return float(np.median(var) / 2.0)


def spectral_noise_sd(var_real: float, envelope: np.ndarray) -> float:
    """SD of the real spectral noise of an FID with time-domain real-part variance
    `var_real` after multiplication by `envelope` (n_points,)."""
    return float(np.sqrt(var_real * np.sum(envelope**2)))


def naa_measures(
    fid: np.ndarray, dwell_s: float, cf_mhz: float, ppm_range: tuple[float, float]
) -> Singlet:
    """The fitted NAA singlet of `fid` (n_points,) in `ppm_range` (see module docstring)."""
    return fit_singlet(fid, dwell_s, cf_mhz, ppm_range)


def block_measures(
    block_fids: np.ndarray,
    dwell_s: float,
    cf_mhz: float,
    ppm_range: tuple[float, float],
    tail_fraction: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Singlet]]:
    """NAA height, FWHM (Hz), SNR (each (n_blocks,)) and fitted singlets of each block;
    block_fids (n_points, n_blocks), unapodised."""
    n_points, nb = block_fids.shape
    height, fwhm, snr = np.full(nb, np.nan), np.full(nb, np.nan), np.full(nb, np.nan)
    fits = []
    for j in range(nb):
        fit = naa_measures(block_fids[:, j], dwell_s, cf_mhz, ppm_range)
        fits.append(fit)
        height[j], fwhm[j] = fit.height, fit.fwhm_hz
        noise = spectral_noise_sd(
            tail_noise_var_real(block_fids[:, j], tail_fraction), np.ones(n_points)
        )
        if noise > 0:
            snr[j] = height[j] / noise
    return height, fwhm, snr, fits


def water_fwhm(ref_mean: np.ndarray, dwell_s: float, cf_mhz: float, phased: bool) -> float:
    """FWHM (Hz) of the water peak (4.65 +/- 0.5 ppm) of a mean water reference FID.

    Real part when the reference is phased (eddy-current corrected), else magnitude.
    """
    spec = zero_filled_spectrum(ref_mean)
    n = spec.size
    inside = np.abs(ppm_axis(n, dwell_s, cf_mhz) - PPM_CENTRE_1H) <= 0.5
    values = spec.real if phased else np.abs(spec)
    return peak_fwhm(values, frequency_axis(n, dwell_s), inside)[1]


def linear_drift_hz(t_s: np.ndarray, freq_hz: np.ndarray) -> float:
    """Frequency drift (Hz) over a series: least-squares slope times the time spanned."""
    if t_s.size < 2 or np.ptp(t_s) == 0:
        return 0.0
    return float(np.polyfit(t_s, freq_hz, 1)[0] * np.ptp(t_s))


def qc_flags(qc, s: dict) -> tuple[list[int], list[str | None]]:
    """Pass flag (1/0) and failure reasons of each row of a block QC table.

    A block fails when it has no kept transient, its SNR is below qc_min_snr, its NAA FWHM
    before matching exceeds qc_max_fwhm_hz, or more than qc_max_excluded_fraction of its
    transients were excluded.
    """
    passes, reasons = [], []
    for row in qc.itertuples():
        why = []
        if row.n_kept == 0:
            why.append("no_transients")
        else:
            if not row.snr >= s["qc_min_snr"]:
                why.append("snr")
            if not row.naa_fwhm_unmatched_hz <= s["qc_max_fwhm_hz"]:
                why.append("fwhm")
        if row.excluded_fraction > s["qc_max_excluded_fraction"]:
            why.append("excluded_fraction")
        passes.append(0 if why else 1)
        reasons.append(",".join(why) if why else None)
    return passes, reasons
