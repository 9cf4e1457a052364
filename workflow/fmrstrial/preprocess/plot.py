"""The per-session QC figure (PNG with deterministic bytes).

Three panels: frequency offset (Hz) and zero-order phase (deg) of every transient against
time from infusion start (min), excluded transients marked, blocks shaded; and the block
spectra (real part, 0.2-4.2 ppm, stacked in time order, failing blocks dashed).
Uses the object-oriented Matplotlib API (no pyplot state, Agg canvas); PNG metadata
without the software version so that identical inputs give identical bytes.
"""

from __future__ import annotations

import io

import numpy as np

from ..spectra import ppm_axis
from .qc import zero_filled_spectrum

#: Chemical-shift range shown in the spectra panel, ppm.
SPECTRA_PPM = (0.2, 4.2)


def qc_figure_png(result, title: str) -> bytes:
    """PNG bytes of the QC figure of a `PreprocessResult`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tr = result.transients
    qc = result.qc
    bt = result.block_table
    t_min = tr["time_s"].to_numpy() / 60.0
    excl = tr["excluded"].to_numpy().astype(bool)

    fig = Figure(figsize=(8.0, 9.0), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 1, gridspec_kw={"height_ratios": [1, 1, 1.6]})
    for ax, col, label in (
        (axes[0], "freq_offset_hz", "Frequency offset (Hz)"),
        (axes[1], "phase_deg", "Phase (deg)"),
    ):
        y = tr[col].to_numpy()
        for k, row in enumerate(bt.itertuples()):
            ax.axvspan(row.t_start_min, row.t_end_min, color="0.9" if k % 2 else "0.82", lw=0)
        ax.plot(t_min[~excl], y[~excl], ".", ms=2.5, color="tab:blue", label="kept")
        if excl.any():
            ax.plot(t_min[excl], y[excl], "x", ms=5, color="tab:red", label="excluded")
        ax.axvline(0.0, color="k", lw=0.8, ls="--")
        ax.set_xlabel("Time from infusion start (min)")
        ax.set_ylabel(label)
        ax.legend(loc="upper right", fontsize=7, frameon=False)
    axes[0].set_title(title, fontsize=10)

    ax = axes[2]
    blocks = result.blocks
    spec = zero_filled_spectrum(blocks.fids, 2).real
    ppm = ppm_axis(spec.shape[0], blocks.dwell_s, blocks.cf_mhz)
    show = (ppm >= SPECTRA_PPM[0]) & (ppm <= SPECTRA_PPM[1])
    scale = float(np.max(np.abs(spec[show]))) if spec[show].size else 1.0
    scale = scale if scale > 0 else 1.0
    cmap_base, cmap_inf = "tab:blue", "tab:red"
    for j, row in enumerate(qc.itertuples()):
        offset = -0.35 * j
        color = cmap_base if row.phase == "baseline" else cmap_inf
        style = "-" if row.qc_pass else "--"
        ax.plot(ppm[show], spec[show, j] / scale + offset, style, lw=0.8, color=color)
        ax.text(
            SPECTRA_PPM[0] + 0.02,
            offset + 0.05,
            f"block {row.block} ({row.t_mid_min:+.1f} min){'' if row.qc_pass else ' FAIL'}",
            fontsize=6,
            va="bottom",
            ha="right",
        )
    for color, style, label in (
        (cmap_base, "-", "baseline"),
        (cmap_inf, "-", "infusion"),
        ("0.4", "--", "fails QC"),
    ):
        ax.plot([], [], style, color=color, lw=0.8, label=label)
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    ax.set_xlim(SPECTRA_PPM[1], SPECTRA_PPM[0])
    ax.set_xlabel("Chemical shift (ppm)")
    ax.set_ylabel("Signal (real part, normalised, offset by block)")
    ax.set_yticks([])
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.06, top=0.96, hspace=0.35)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
