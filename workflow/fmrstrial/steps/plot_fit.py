"""The fit figure step (``fmrstrial plot-fit``): draw fit.png from a fit's tables.

A job of its own in the workflow, so that the fit job does not import matplotlib: the
figure is drawn from fit_curves.tsv (data, fit, baseline and the NAA, Glu and Gln
components of the first and last fitted block), ratios.tsv (Glx/tNAA and its CRLB) and
fit_qc.tsv (SNR, FWHM, residual/noise), as `fmrstrial fit` writes them. The step's
function is `fmrstrial.fit.plot.plot_fit_tables` (an InputError names a missing table), so
this module imports matplotlib; the CLI loads it only for `plot-fit` (and `--help`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..fit.plot import plot_fit_tables as plot_fit
from ..io.outputs import FitOutputs

__all__ = ["plot_fit"]


def run(args: argparse.Namespace) -> int:
    out = FitOutputs.in_folder(args.folder)
    title = args.title if args.title is not None else Path(args.folder).name
    plot_fit(out.curves, out.ratios, out.qc, out.figure, title)
    print(f"drew {out.figure}")
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
