"""The fit figure step (``fmrstrial plot-fit``): draw fit.png from a fit's tables.

A job of its own in the workflow, so that the fit job does not import matplotlib: the
figure is drawn from fit_curves.tsv (data, fit, baseline and the NAA, Glu and Gln
components of the first and last fitted block), ratios.tsv (Glx/tNAA and its CRLB) and
fit_qc.tsv (SNR, FWHM, residual/noise), as `fmrstrial fit` writes them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import InputError


def plot_fit(
    curves: str | os.PathLike,
    ratios: str | os.PathLike,
    qc: str | os.PathLike,
    figure: str | os.PathLike,
    title: str = "",
) -> None:
    """Draw the figure of one fit (PNG at `figure`) from its three tables."""
    for path in (curves, ratios, qc):
        if not Path(path).is_file():
            raise InputError("fit table not found (run `fmrstrial fit` first)", file=str(path))
    from ..fit.plot import plot_fit_tables

    plot_fit_tables(curves, ratios, qc, figure, title)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    plot_fit(
        folder / "fit_curves.tsv",
        folder / "ratios.tsv",
        folder / "fit_qc.tsv",
        folder / "fit.png",
        args.title if args.title is not None else folder.name,
    )
    print(f"drew {folder / 'fit.png'}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "plot-fit",
        help="draw fit.png from the tables `fmrstrial fit` wrote into a folder",
        description=(
            "Draw the fit figure (data, fit, baseline, residual and the NAA, Glu and Gln "
            "components of the first and last fitted block) from fit_curves.tsv, ratios.tsv "
            "and fit_qc.tsv in FOLDER; writes FOLDER/fit.png."
        ),
    )
    p.add_argument("folder", help="folder with the fit's tables (fmrstrial fit --out)")
    p.add_argument("--title", default=None, help="figure title (default: the folder's name)")
    p.set_defaults(func=run)
