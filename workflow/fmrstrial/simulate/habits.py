"""Real-data habits of the simulated sessions (`simulate.habits`).

Which sessions get a habit is drawn once for the whole trial (stream STREAM_HABITS), so the
counts are fixed: round(fraction x n_sessions) sessions per habit (habits may coincide),
and `broadened_sessions` / `low_snr_sessions` distinct sessions without motion or lipids,
chosen among sessions without any other habit while there are enough. The habit's own
parameters (burst times, lipid period, ...) are drawn per session;
the phase, offset and drift parameters are drawn whether or not the session has the habit,
so that switching one habit changes nothing else in the data.

- phase_unrelated: the metabolite scan's zero-order phase is uniform in [0, 360) degrees
  relative to the water reference's (separate scans), instead of equal to it.
- large_offset: the metabolite scan's frequency is off by +-large_offset_hz relative to the
  water reference, whose own offset is uniform within +-water_offset_ppm.
- large_drift: linear drift of +-large_drift_hz_per_min instead of signal.drift_hz_per_min.
- motion: motion_bursts runs of motion_burst_transients consecutive corrupted transients
  (amplitude loss, phase and frequency jumps, broadening, lipid signal), each followed by a
  small lasting frequency and phase step (the head settles in a new position).
- lipid: for lipid_min minutes the voxel picks up scalp lipid (0.9 and 1.3 ppm) whose
  amplitude (x one proton at 1 mM) fluctuates from transient to transient.
- broadened: the session's Lorentzian width is broadened_lorentz_hz (poor shim).
- low_snr: the session's single-transient NAA SNR is low_snr_naa (e.g. a coil failure).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .design import Session
from .effects import STREAM_HABITS, rng_for

HABITS = (
    "phase_unrelated",
    "large_offset",
    "large_drift",
    "motion",
    "lipid",
    "broadened",
    "low_snr",
)


@dataclass(frozen=True)
class SessionHabits:
    phase_unrelated: bool = False
    large_offset: bool = False
    large_drift: bool = False
    motion: bool = False
    lipid: bool = False
    broadened: bool = False
    low_snr: bool = False

    def flags(self) -> dict[str, int]:
        return {f"habit_{k}": int(v) for k, v in asdict(self).items()}


def assign_habits(sessions: list[Session], params: dict) -> dict[tuple[int, int], SessionHabits]:
    """Habits per (participant index, session index); deterministic given the seed."""
    h = params["habits"]
    rng = rng_for(params["seed"], STREAM_HABITS)
    n = len(sessions)
    chosen: dict[str, set[int]] = {}
    for name in ("phase_unrelated", "large_offset", "large_drift", "motion", "lipid"):
        k = min(n, int(round(h[f"{name}_fraction"] * n)))
        chosen[name] = set(rng.permutation(n)[:k].tolist())  # same draws whatever k is
    # a broadened and a low-SNR session: distinct, without motion or lipids, and preferably
    # without any other habit (so that the reason of their failure is unambiguous)
    order = rng.permutation(n).tolist()
    failing = chosen["motion"] | chosen["lipid"]
    any_habit = set().union(*chosen.values())
    pool = [i for i in order if i not in any_habit]
    pool += [i for i in order if i in any_habit and i not in failing]
    nb = min(h["broadened_sessions"], len(pool))
    chosen["broadened"] = set(pool[:nb])
    nl = min(h["low_snr_sessions"], len(pool) - nb)
    chosen["low_snr"] = set(pool[nb : nb + nl])
    return {
        (s.participant.index, s.index): SessionHabits(**{k: i in chosen[k] for k in HABITS})
        for i, s in enumerate(sessions)
    }


def motion_bursts(
    rng: np.random.Generator, n_tr: int, bursts: list[int], length: list[int]
) -> list[tuple[int, int]]:
    """Non-overlapping runs [first, last] of corrupted transients (never the first two)."""
    out: list[tuple[int, int]] = []
    taken = np.zeros(n_tr, bool)
    taken[:2] = True
    for _ in range(int(rng.integers(bursts[0], bursts[1] + 1))):
        size = int(rng.integers(length[0], length[1] + 1))
        for _ in range(20):  # a few tries to find a free place
            first = int(rng.integers(2, max(3, n_tr - size)))
            last = min(n_tr - 1, first + size - 1)
            if not taken[max(0, first - 1) : last + 2].any():
                taken[first : last + 1] = True
                out.append((first, last))
                break
    return sorted(out)
