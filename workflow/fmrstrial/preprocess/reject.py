"""Rejection of corrupt (e.g. motion-corrupted) transients.

Rule (documented in docs/preprocessing.md and in transients_qc.tsv): a transient is
excluded when any of four registration metrics is an outlier by a robust z-score,

    z = (m - median(m)) / max(1.4826 MAD(m), floor)

with |z| > reject_z for the frequency jump, phase jump and amplitude, and z > reject_z
(one-sided) for the registration residual; or when its frequency or phase jump exceeds an
absolute limit (reject_max_freq_jump_hz, reject_max_phase_jump_deg), which also catches
sessions where so many transients are corrupt that the MAD is inflated.

Metrics (shape (n_transients,)): frequency jump = estimated frequency minus its running
median over `reject_window` transients (Hz); phase jump likewise (deg, circular);
amplitude = fitted amplitude relative to the template, minus its running median over
`reject_trend_window` transients; residual = window misfit energy relative to the
template's (baseline projected out), likewise minus its running median. The trend windows
are kept inside the session at its ends (not padded), so a burst at the start or end is
judged against clean transients, and they leave out the transients already flagged (by the
jumps, then by a first pass on amplitude and residual), so that two bursts close together do
not pull the trend towards themselves. Judging amplitude and residual against the local trend
rather than the session median keeps slow changes (BOLD narrowing, the metabolic response)
from marking a whole phase of the session as corrupt at high SNR, where the MAD is small.
The floors keep near-noiseless data from flagging negligible deviations.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

#: Order of the metrics in a transient's exclusion reason (transients_qc.tsv).
REASON_ORDER = ("residual", "amplitude", "frequency_jump", "phase_jump")
#: Smallest scale (robust SD) used for each metric's z-score.
FLOORS = {"frequency_jump": 0.05, "phase_jump": 0.5, "amplitude": 0.005, "residual": 0.005}


@dataclass
class Rejection:
    """Outcome of `reject`: excluded (n,) bool, reasons (n,) str ('' if kept), metrics."""

    excluded: np.ndarray
    reasons: np.ndarray
    freq_jump_hz: np.ndarray
    phase_jump_deg: np.ndarray
    z: dict[str, np.ndarray]


def wrap_deg(x: np.ndarray) -> np.ndarray:
    """Angles wrapped to (-180, 180] degrees."""
    return -((-np.asarray(x) + 180.0) % 360.0 - 180.0)


def running_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centred running median of a series (edges padded with the end values), shape of x."""
    x = np.asarray(x, float)
    w = min(window, x.size)
    padded = np.pad(x, (w // 2, w - 1 - w // 2), mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, w), axis=1)


def trend_inside(x: np.ndarray, window: int, ignore: np.ndarray | None = None) -> np.ndarray:
    """Running median of a series over `window` values, the window shifted to stay inside
    the series at its ends (the whole series when it is shorter), shape of x. Values where
    `ignore` (bool, shape of x) is true are left out of every window (a window with nothing
    left takes the median of all values not ignored)."""
    x = np.asarray(x, float)
    n = x.size
    w = min(window, n)
    if w == 0:
        return x.copy()
    values = x.copy()
    if ignore is not None and not ignore.all():
        values[ignore] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows: filled below
        medians = np.nanmedian(np.lib.stride_tricks.sliding_window_view(values, w), axis=1)
        fallback = np.nanmedian(values) if not np.isnan(values).all() else np.nan
    medians = np.where(np.isnan(medians), fallback, medians)
    start = np.clip(np.arange(n) - w // 2, 0, n - w)
    return medians[start]


def robust_z(x: np.ndarray, floor: float) -> np.ndarray:
    """(x - median) / max(1.4826 MAD, floor); all NaN when x holds NaN."""
    if np.isnan(x).any():
        return np.full(x.shape, np.nan)
    med = np.median(x)
    scale = max(1.4826 * float(np.median(np.abs(x - med))), floor)
    return (x - med) / scale


def jumps(freq_hz: np.ndarray, phase_deg: np.ndarray, window: int) -> tuple[np.ndarray, ...]:
    """Frequency (Hz) and phase (deg) deviations from their running medians."""
    centre = np.rad2deg(np.angle(np.mean(np.exp(1j * np.deg2rad(phase_deg)))))
    ph = wrap_deg(phase_deg - centre)
    return freq_hz - running_median(freq_hz, window), wrap_deg(ph - running_median(ph, window))


def _trend_z(amplitude, residual, window: int, ignore: np.ndarray) -> dict[str, np.ndarray]:
    """Robust z of amplitude and residual against their running median (`trend_inside`)."""
    return {
        "amplitude": robust_z(
            amplitude - trend_inside(amplitude, window, ignore), FLOORS["amplitude"]
        ),
        "residual": robust_z(residual - trend_inside(residual, window, ignore), FLOORS["residual"]),
    }


def reject(
    freq_hz: np.ndarray,
    phase_deg: np.ndarray,
    amplitude: np.ndarray,
    residual: np.ndarray,
    settings: dict,
) -> Rejection:
    """Apply the rejection rule; see the module docstring. Inputs of shape (n,)."""
    n = freq_hz.size
    fj, pj = jumps(freq_hz, phase_deg, settings["reject_window"])
    zmax = settings["reject_z"]
    z = {
        "frequency_jump": robust_z(fj, FLOORS["frequency_jump"]),
        "phase_jump": robust_z(pj, FLOORS["phase_jump"]),
    }
    flags = {
        "frequency_jump": (np.abs(z["frequency_jump"]) > zmax)
        | (np.abs(fj) > settings["reject_max_freq_jump_hz"]),
        "phase_jump": (np.abs(z["phase_jump"]) > zmax)
        | (np.abs(pj) > settings["reject_max_phase_jump_deg"]),
    }
    # amplitude and residual against their trend over the transients not yet flagged: first
    # without the jumps, then also without the amplitude/residual outliers of that pass
    ignore = flags["frequency_jump"] | flags["phase_jump"]
    for _ in range(2):
        z.update(_trend_z(amplitude, residual, settings["reject_trend_window"], ignore))
        flags["residual"] = z["residual"] > zmax  # False where the residual is unknown (NaN)
        flags["amplitude"] = np.abs(z["amplitude"]) > zmax
        ignore = ignore | flags["residual"] | flags["amplitude"]
    if n < 3 or not settings["reject"]:
        flags = {k: np.zeros(n, bool) for k in flags}
    excluded = np.zeros(n, bool)
    reasons = np.full(n, "", dtype=object)
    for name in REASON_ORDER:
        flag = flags[name]
        excluded |= flag
        reasons[flag] = [f"{r},{name}" if r else name for r in reasons[flag]]
    return Rejection(excluded, reasons.astype(str), fj, pj, z)
