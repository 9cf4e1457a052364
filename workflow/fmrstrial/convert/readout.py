"""Bring a readout to given points and dwell time (e.g. an oversampled TWIX water reference
to its metabolite data).

Dwell time: when the target dwell is an integer multiple k of the data's, the spectrum is
cropped to its central 1/k (ideal low-pass filter and decimation in the frequency domain,
as scanners remove readout oversampling); other ratios are refused. Points: the FID is
truncated at its end or zero-filled to the target length.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..io.nifti_mrs import MRSData


def decimate(fids: np.ndarray, factor: int) -> np.ndarray:
    """Remove oversampling by `factor` along axis 0 (n_points -> n_points // factor)."""
    n = fids.shape[0] - fids.shape[0] % factor
    spec = np.fft.fftshift(np.fft.fft(fids[:n], axis=0), axes=0)
    keep = n // factor
    start = (n - keep) // 2
    return np.fft.ifft(np.fft.ifftshift(spec[start : start + keep], axes=0), axis=0) / factor


def match_readout(
    data: MRSData, dwell_s: float, n_points: int, name: str
) -> tuple[MRSData, list[str]]:
    """`data` resampled to `dwell_s` (s) and `n_points`; the corrections made, as text."""
    notes = []
    fids, dwell = data.fids, data.dwell_s
    ratio = dwell_s / dwell
    if abs(ratio - 1.0) > 1e-3:
        k = int(round(ratio))
        if k < 2 or abs(ratio - k) > 1e-3:
            raise InputError(
                f"dwell time {dwell * 1e6:.2f} us cannot be brought to the metabolite data's "
                f"{dwell_s * 1e6:.2f} us (expected an integer oversampling factor)",
                file=name,
            )
        before = fids.shape[0]
        fids, dwell = decimate(fids, k), dwell * k
        notes.append(
            f"readout oversampling x{k} removed: {before} points at {1 / data.dwell_s:.0f} Hz "
            f"-> {fids.shape[0]} at {1 / dwell:.0f} Hz"
        )
    if fids.shape[0] > n_points:
        notes.append(f"truncated from {fids.shape[0]} to {n_points} points")
        fids = fids[:n_points]
    elif fids.shape[0] < n_points:
        notes.append(f"zero-filled from {fids.shape[0]} to {n_points} points")
        pad = [(0, n_points - fids.shape[0])] + [(0, 0)] * (fids.ndim - 1)
        fids = np.pad(fids, pad)
    if not notes:
        return data, notes
    header = dict(data.header)
    if "SpectralWidth" in header:
        header["SpectralWidth"] = 1.0 / dwell
    out = MRSData(
        fids=np.ascontiguousarray(fids),
        dwell_s=dwell,
        cf_mhz=data.cf_mhz,
        nucleus=data.nucleus,
        dim_tags=data.dim_tags,
        header=header,
        affine=data.affine,
    )
    return out, notes
