"""One look for every figure: colour-blind-safe colours, readable text, reproducible files.

Colours are from the Okabe-Ito palette (Okabe & Ito 2008), the same for each condition in
every figure. Files are written as PNG (300 dpi) and PDF with fixed metadata and, for PDF,
the creation date taken from SOURCE_DATE_EPOCH (0 when unset), so identical figures give
identical bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..io.atomic import atomic_path  # noqa: E402

CONDITION_COLOURS = {"placebo": "#0072B2", "naltrexone": "#D55E00"}
NEUTRAL = "#4D4D4D"
TRUTH_COLOUR = "#009E73"
PUBLISHED_COLOUR = "#CC79A7"
HIGHLIGHT = "#E69F00"

RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "svg.hashsalt": "fmrstrial",
    "pdf.compression": 6,
    "path.simplify": False,
}


def apply() -> None:
    """Set the shared rcParams (call before drawing)."""
    plt.rcParams.update(RC)
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")


def preview_png(fig, dpi: int = 110) -> bytes:
    """The figure as PNG bytes at screen resolution (for notebooks; reproducible)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def save(fig, out_dir: str | os.PathLike, stem: str) -> list[Path]:
    """Save `fig` as <stem>.png (300 dpi) and <stem>.pdf in out_dir; returns both paths."""
    paths = [Path(out_dir) / f"{stem}.{ext}" for ext in ("png", "pdf")]
    save_as(fig, *paths)
    return paths


def save_as(fig, png: str | os.PathLike, pdf: str | os.PathLike) -> None:
    """Save `fig` to `png` (300 dpi) and `pdf` without timestamps (byte-reproducible)."""
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    for path, ext, metadata in (
        (png, "png", {"Software": None}),
        (pdf, "pdf", {"Creator": None, "Producer": None, "CreationDate": None}),
    ):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, metadata=metadata, dpi=300)
    plt.close(fig)
