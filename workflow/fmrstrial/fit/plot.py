"""Fit figure: data, fit, baseline, residual and the NAA, Glu and Gln components.

Drawn from a fit's written tables (fit_curves.tsv, ratios.tsv, fit_qc.tsv), so that the
figure can be a job of its own: the fit job then does not import matplotlib (about 0.4 s of
its start-up). One panel per block in the curves table (the first and, if there are more,
the last fitted block of the file), real parts with the fitted phase removed, ppm axis
reversed. Rendered with matplotlib's Agg backend and saved without the 'Software' metadata
so that identical tables give identical bytes.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..errors import InputError  # noqa: E402
from ..io.atomic import atomic_path  # noqa: E402
from .results import CURVE_COMPONENTS  # noqa: E402

#: Colours of the components drawn under the fit.
COLOURS = dict(zip(CURVE_COMPONENTS, ("tab:green", "tab:red", "tab:purple"), strict=True))


def _rows(path: str | os.PathLike, needed: set[str]) -> list[dict[str, str]]:
    if not os.path.isfile(path):
        raise InputError("fit table not found (run `fmrstrial fit` first)", file=str(path))
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        missing = needed - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"columns {sorted(missing)} missing", file=str(path))
        return list(reader)


def _number(text: str) -> float:
    return float("nan") if text == "n/a" else float(text)


def _curves(path: str | os.PathLike) -> dict[int, dict[str, np.ndarray]]:
    """Block -> column -> (n_points,) array from fit_curves.tsv."""
    columns = ("ppm", "data", "fit", "baseline", *CURVE_COMPONENTS)
    per_block: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in _rows(path, {"block", *columns}):
        for c in columns:
            per_block[int(row["block"])][c].append(_number(row[c]))
    return {b: {c: np.array(v) for c, v in cols.items()} for b, cols in per_block.items()}


def _panel_title(block: int, glx: dict[str, str] | None, qc: dict[str, str] | None) -> str:
    text = f"block {block}"
    if glx is not None:
        text += f": Glx/tNAA {_number(glx['value']):.3f} ± {_number(glx['crlb_sd']):.3f} (CRLB)"
    if qc is not None:
        text += (
            f"; SNR {_number(qc['snr']):.0f}, FWHM {_number(qc['fwhm_hz']):.1f} Hz, "
            f"residual/noise {_number(qc['residual_noise_ratio']):.2f}"
        )
    return text


def _panel(ax, curves: dict[str, np.ndarray], title: str) -> None:
    ppm, data, fit, base = curves["ppm"], curves["data"], curves["fit"], curves["baseline"]
    scale = float(np.max(np.abs(fit))) or 1.0
    ax.plot(ppm, data, color="black", lw=0.7, label="data")
    ax.plot(ppm, fit, color="tab:orange", lw=1.0, label="fit")
    ax.plot(ppm, base, color="tab:blue", lw=1.0, label="baseline")
    top = max(float(np.max(data)), float(np.max(fit)))
    ax.plot(ppm, data - fit + top + 0.15 * scale, color="0.4", lw=0.6, label="residual (offset)")
    low = min(float(np.min(data)), float(np.min(base)))
    for k, name in enumerate(CURVE_COMPONENTS):
        if np.all(np.isfinite(curves[name])):
            offset = low - (0.35 * k + 0.4) * scale
            ax.plot(ppm, curves[name] + offset, color=COLOURS[name], lw=0.8,
                    label=f"{name} (offset)")  # fmt: skip
    ax.set_title(title, fontsize=9)
    ax.set_xlim(ppm.max(), ppm.min())
    ax.set_xlabel("chemical shift (ppm)")
    ax.set_ylabel("signal (a.u., real part)")
    ax.set_yticks([])


def plot_fit_tables(
    curves: str | os.PathLike,
    ratios: str | os.PathLike,
    qc: str | os.PathLike,
    path: str | os.PathLike,
    title: str = "",
) -> None:
    """Draw the fit figure (PNG at `path`) from a fit's curves, ratio and QC tables."""
    blocks = _curves(curves)
    glx = {int(r["block"]): r for r in _rows(ratios, {"block", "ratio", "value", "crlb_sd"})
           if r["ratio"] == "Glx/tNAA"}  # fmt: skip
    quality = {int(r["block"]): r
               for r in _rows(qc, {"block", "snr", "fwhm_hz", "residual_noise_ratio"})}  # fmt: skip
    shown = sorted(blocks) or [None]
    fig, axes = plt.subplots(1, len(shown), figsize=(6.5 * len(shown), 6.0), squeeze=False)
    for ax, block in zip(axes[0], shown, strict=True):
        if block is None:
            ax.set_title("no fitted block", fontsize=9)
            ax.set_axis_off()
            continue
        _panel(ax, blocks[block], _panel_title(block, glx.get(block), quality.get(block)))
    if shown[0] is not None:
        axes[0][0].legend(loc="upper left", fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
