"""Core conventions for time-domain signals (FIDs) and spectra.

Internal convention (as FSL-MRS uses in memory): a resonance at chemical shift ``ppm`` has
time-domain signal ``exp(+2j*pi*f*t)`` with ``f = (ppm - centre_ppm) * cf_mhz`` Hz, and the
spectrum is ``fftshift(fft(fid))``. NIfTI-MRS files store the complex conjugate of this;
`fmrstrial.io.nifti_mrs` converts at read and write, so nothing else needs to care.
Arrays keep the spectral (time) axis first, as in NIfTI-MRS.
"""

from __future__ import annotations

import numpy as np

#: Chemical shift of the receiver centre frequency for 1H (water), ppm.
PPM_CENTRE_1H = 4.65


def time_axis(n_points: int, dwell_s: float) -> np.ndarray:
    """Sample times of an FID, s, shape (n_points,)."""
    return np.arange(n_points) * dwell_s


def broadening_envelope(
    n_points: int, dwell_s: float, width_hz: float, lineshape: str = "lorentzian"
) -> np.ndarray:
    """Time-domain line-broadening envelope (n_points,) with FWHM `width_hz` Hz: Lorentzian
    exp(-pi w t) or Gaussian exp(-(pi w t)^2 / (4 ln 2))."""
    t = time_axis(n_points, dwell_s)
    if lineshape == "gaussian":
        return np.exp(-((np.pi * width_hz * t) ** 2) / (4.0 * np.log(2.0)))
    return np.exp(-np.pi * width_hz * t)


def frequency_axis(n_points: int, dwell_s: float) -> np.ndarray:
    """Frequency of each spectral point after `to_spectrum`, Hz, shape (n_points,)."""
    return np.fft.fftshift(np.fft.fftfreq(n_points, dwell_s))


def ppm_axis(
    n_points: int, dwell_s: float, cf_mhz: float, centre_ppm: float = PPM_CENTRE_1H
) -> np.ndarray:
    """Chemical shift of each spectral point after `to_spectrum`, ppm, shape (n_points,)."""
    return centre_ppm + frequency_axis(n_points, dwell_s) / cf_mhz


def to_spectrum(fid: np.ndarray, axis: int = 0) -> np.ndarray:
    """Spectrum of an FID along `axis` (fftshift(fft)), same shape."""
    return np.fft.fftshift(np.fft.fft(fid, axis=axis), axes=axis)


def to_fid(spectrum: np.ndarray, axis: int = 0) -> np.ndarray:
    """Inverse of `to_spectrum`."""
    return np.fft.ifft(np.fft.ifftshift(spectrum, axes=axis), axis=axis)


def chirp_z(
    x: np.ndarray,
    a: float,
    n_out: int,
    pre: np.ndarray | None = None,
    post: np.ndarray | None = None,
) -> np.ndarray:
    """post[k] sum_j pre[j] x[j] w^(j k) for k < n_out, w = exp(2 pi i a): x (m, c) ->
    (n_out, c); `pre` (m,) and `post` (n_out,) are optional factors.

    A chirp z-transform by Bluestein's identity jk = (j^2 + k^2 - (k - j)^2) / 2, one FFT
    convolution of length m + n_out - 1 (O(n log n) instead of an (n_out, m) matrix of
    complex exponentials); zoomed DFTs and trigonometric interpolation both are one.
    """
    m = x.shape[0]
    sign, a = np.sign(a), abs(a)

    def chirp(j: np.ndarray) -> np.ndarray:
        """w^(j^2 / 2), with the phase reduced modulo 2 pi before the exponential."""
        return np.exp(sign * 1j * np.pi * np.mod(a * j.astype(np.float64) ** 2, 2.0))

    first = chirp(np.arange(m)) if pre is None else pre * chirp(np.arange(m))
    last = chirp(np.arange(n_out)) if post is None else chirp(np.arange(n_out)) * post
    size = 1 << int(np.ceil(np.log2(m + n_out - 1)))
    u = np.fft.fft(x * first[:, None], size, axis=0)
    v = np.fft.fft(np.conj(chirp(np.arange(-(m - 1), n_out))), size)
    conv = np.fft.ifft(u * v[:, None], axis=0)[m - 1 : m - 1 + n_out]
    return last[:, None] * conv


def shift_hz(fid: np.ndarray, shift: float, dwell_s: float, axis: int = 0) -> np.ndarray:
    """Move every resonance by `shift` Hz (positive = towards higher ppm)."""
    t = time_axis(fid.shape[axis], dwell_s)
    shape = [1] * fid.ndim
    shape[axis] = -1
    return fid * np.exp(2j * np.pi * shift * t).reshape(shape)


def fwhm_hz(spectrum_real: np.ndarray, freq_hz: np.ndarray, lo: int, hi: int) -> float:
    """Full width at half maximum (Hz) of the largest peak of a real spectrum in [lo, hi).

    Width at half the peak height above zero, linear interpolation between points.
    """
    seg = spectrum_real[lo:hi]
    i = int(np.argmax(seg))
    half = seg[i] / 2.0
    left = i
    while left > 0 and seg[left] > half:
        left -= 1
    right = i
    while right < seg.size - 1 and seg[right] > half:
        right += 1
    f = freq_hz[lo:hi]

    def cross(a: int, b: int) -> float:
        return f[a] + (half - seg[a]) * (f[b] - f[a]) / (seg[b] - seg[a])

    return float(abs(cross(right - 1, right) - cross(left, left + 1)))
