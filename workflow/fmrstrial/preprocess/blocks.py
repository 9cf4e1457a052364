"""Time blocks relative to infusion start.

Times are in seconds relative to infusion start (negative = baseline). A transient belongs
to a block when its acquisition time t (start of its TR) satisfies start <= t < end.

Consecutive blocks (default): the baseline window [max(-baseline_window, t_first), 0) split
into `baseline_blocks` equal blocks, then infusion blocks of `infusion_block_min` from 0 to
`infusion_window_min` (the last one shorter if the window is not a multiple). A block in
which the acquisition ended ends with the last transient's TR, so that its times (and its
midpoint, plotted and tabulated) are those of the data it holds. Sliding
windows: windows of `sliding_width_min` every `sliding_step_min`, placed separately in the
baseline and infusion windows so that none straddles infusion start (a period shorter than
one window gets a single window covering it).

Block numbers are 1-based positions in this grid. With consecutive blocks the same number
means the same window in every session with the same settings (baseline blocks scale with
the baseline actually acquired when baseline_window_min is null); with sliding windows the
number of baseline windows depends on the baseline length, so use the block times. Blocks
that contain no acquired transient (the acquisition ended earlier or started later) are
left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-6


@dataclass(frozen=True)
class Block:
    """One time block: 1-based number, phase ('baseline'|'infusion'), [start_s, end_s)."""

    number: int
    phase: str
    start_s: float
    end_s: float

    @property
    def mid_s(self) -> float:
        return 0.5 * (self.start_s + self.end_s)


def _consecutive(start: float, end: float, n: int) -> list[tuple[float, float]]:
    edges = np.linspace(start, end, n + 1)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def _sliding(start: float, end: float, width: float, step: float) -> list[tuple[float, float]]:
    if end - start <= width + _EPS:
        return [(start, end)]
    out = []
    s = start
    while s + width <= end + _EPS:
        out.append((s, s + width))
        s += step
    return out


def define_blocks(t_rel_s: np.ndarray, settings: dict) -> list[Block]:
    """Blocks for transients acquired at `t_rel_s` (s from infusion start, shape (n,))."""
    t_first = float(np.min(t_rel_s))
    window = settings["baseline_window_min"]
    base_start = t_first if window is None else max(-60.0 * window, t_first)
    inf_end = 60.0 * settings["infusion_window_min"]
    spans: list[tuple[str, float, float]] = []
    if base_start < 0:
        if settings["sliding_window"]:
            pieces = _sliding(
                base_start,
                0.0,
                60.0 * settings["sliding_width_min"],
                60.0 * settings["sliding_step_min"],
            )
            # anchor baseline windows at infusion start: shift the grid to end at 0
            if len(pieces) > 1:
                shift = -pieces[-1][1]
                pieces = [(a + shift, b + shift) for a, b in pieces]
        else:
            pieces = _consecutive(base_start, 0.0, settings["baseline_blocks"])
        spans += [("baseline", a, b) for a, b in pieces]
    if settings["sliding_window"]:
        pieces = _sliding(
            0.0, inf_end, 60.0 * settings["sliding_width_min"], 60.0 * settings["sliding_step_min"]
        )
    else:
        length = 60.0 * settings["infusion_block_min"]
        n = int(np.ceil(inf_end / length - _EPS))
        pieces = [(k * length, min((k + 1) * length, inf_end)) for k in range(n)]
    spans += [("infusion", a, b) for a, b in pieces]
    # a block the acquisition ended in spans only the time acquired (its times are reported)
    end = acquisition_end(t_rel_s)
    blocks = [Block(i + 1, phase, a, min(b, end)) for i, (phase, a, b) in enumerate(spans)]
    return [b for b in blocks if np.any((t_rel_s >= b.start_s) & (t_rel_s < b.end_s))]


def acquisition_end(t_rel_s: np.ndarray) -> float:
    """End of the last transient's TR, s: its start plus the median spacing (the TR); inf for
    a single transient (no spacing to go by)."""
    t = np.sort(np.asarray(t_rel_s, dtype=float))
    return float(t[-1] + np.median(np.diff(t))) if len(t) > 1 else float("inf")


def membership(t_rel_s: np.ndarray, blocks: list[Block]) -> np.ndarray:
    """Boolean matrix (n_blocks, n_transients): transient j lies in block i."""
    t = np.asarray(t_rel_s)[None, :]
    start = np.array([b.start_s for b in blocks])[:, None]
    end = np.array([b.end_s for b in blocks])[:, None]
    return (t >= start) & (t < end)
