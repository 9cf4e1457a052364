"""Fit figure: data, fit, baseline, residual and the Glu, Gln and NAA components.

One panel per shown block (the first and, if there are more, the last block of the file),
real parts with the fitted phase removed, ppm axis reversed. Rendered with matplotlib's Agg
backend and saved without the 'Software' metadata so that identical fits give identical bytes.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io.atomic import atomic_path  # noqa: E402
from .core import FitResult  # noqa: E402

#: Components drawn under the fit, with their colours.
COMPONENTS = (("NAA", "tab:green"), ("Glu", "tab:red"), ("Gln", "tab:purple"))


def _panel(ax, block: int, r: FitResult) -> None:
    ppm = r.ppm
    data, fit, base = r.data.real, r.fit.real, r.baseline.real
    resid = data - fit
    scale = float(np.max(np.abs(fit))) or 1.0
    ax.plot(ppm, data, color="black", lw=0.7, label="data")
    ax.plot(ppm, fit, color="tab:orange", lw=1.0, label="fit")
    ax.plot(ppm, base, color="tab:blue", lw=1.0, label="baseline")
    top = max(float(np.max(data)), float(np.max(fit)))
    ax.plot(ppm, resid + top + 0.15 * scale, color="0.4", lw=0.6, label="residual (offset)")
    low = min(float(np.min(data)), float(np.min(base)))
    for k, (name, colour) in enumerate(COMPONENTS):
        if name in r.names:
            comp = r.components[:, r.names.index(name)].real
            ax.plot(
                ppm,
                comp + low - (0.35 * k + 0.4) * scale,
                color=colour,
                lw=0.8,
                label=f"{name} (offset)",
            )
    glx = r.ratios.get("Glx/tNAA")
    text = f"block {block}"
    if glx is not None:
        text += f": Glx/tNAA {glx.value:.3f} ± {glx.sd:.3f} (CRLB)"
    text += f"; SNR {r.snr:.0f}, FWHM {r.fwhm_hz:.1f} Hz, residual/noise {r.residual_ratio:.2f}"
    ax.set_title(text, fontsize=9)
    ax.set_xlim(ppm.max(), ppm.min())
    ax.set_xlabel("chemical shift (ppm)")
    ax.set_ylabel("signal (a.u., real part)")
    ax.set_yticks([])


def plot_fits(fits: list[tuple[int, FitResult]], path: str | os.PathLike, title: str = "") -> None:
    """Write the figure for a file's fits (first and last fitted block) to `path` (PNG)."""
    fitted = [f for f in fits if f[1].ppm.size] or fits[:1]
    shown = [fitted[0]] if len(fitted) == 1 else [fitted[0], fitted[-1]]
    fig, axes = plt.subplots(1, len(shown), figsize=(6.5 * len(shown), 6.0), squeeze=False)
    for ax, (block, r) in zip(axes[0], shown, strict=True):
        _panel(ax, block, r)
    axes[0][0].legend(loc="upper left", fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
