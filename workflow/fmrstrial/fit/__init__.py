"""Linear-combination fitting of 1H MRS spectra (frequency domain, LCModel-style).

API
    fit_spectrum(fid, dwell_s, cf_mhz, basis, settings) -> FitResult   one FID
    fit_data(data, basis, settings)                                    every block of MRSData
    prepare_basis(basis, n_points, dwell_s, cf_mhz, settings)          components on a grid
    DEFAULTS, DESCRIPTIONS, resolve_settings                           settings

One default model for real and simulated data (the CLI and the workflow use the same
`DEFAULTS`; docs/fitting.md has the validation against LCModel and FSL-MRS simulations).

Method (modules in brackets)
    Components [basis_setup]: the configured basis metabolites, resampled band-limited to
    the data grid (a basis narrower than the data is fine), plus LCModel's default MM09-MM20
    and Lip09/Lip13a/Lip13b/Lip20 components (fmrstrial.macromolecules), optional measured
    MM spectra from the basis (`measured_mm`). Field (> 1 %), echo time (> 5 ms) and
    metabolite-name mismatches are InputErrors naming the files.
    Model [model]: frequency domain over ppm_range (default 0.2-4.0 ppm, LCModel's); per
    lineshape group (default: metabolites, macromolecules) a frequency shift and Lorentzian
    and Gaussian broadening; zero- and first-order phase; a complex baseline (cubic
    B-splines every 0.1 ppm, penalised second differences; or Legendre polynomials); an
    optional smooth lineshape distortion. No apodisation and no zero-filling by default.
    Baseline flexibility [core]: the penalty is chosen per spectrum by a modified AIC,
    n log(RSS) + 2 k ED (k = 5, as ABfit, Wilson 2021), over baselines with 0.5-12 effective
    dimensions per ppm, at the nonlinear parameters of a first fit; for a file of blocks it
    is chosen once on the mean of the blocks and kept for every block [session].
    Priors [solver, settings]: Gaussian priors on shifts and widths; LCModel 6.3's ratio
    priors on amplitudes (MM/lipid pattern, Asp, GABA, Scyllo, Tau relative to tNAA + tCr +
    tCho, GSH/(Gln+GSH)), linearised at the first fit's amplitudes.
    Solver [start, solver]: coarse cross-correlation search over shift, zero-order phase
    and Gaussian width for the start; variable projection (baseline projected out, amplitudes
    by exact NNLS) with bounded Levenberg-Marquardt on the nonlinear parameters using the
    analytic Kaufman Jacobian (both in numpy, `optimize`).
    Uncertainty [crlb]: Fisher information of all parameters (nonlinear, amplitudes,
    baseline) at the solution plus the priors/penalty; noise SD from the residual corrected
    for the fitted degrees of freedom (or from the signal-free region); sums and ratios with
    the full covariance (delta method for ratios).
    QC [core, noise]: noise SD from signal-free regions, SNR = fitted NAA height / noise SD,
    FWHM of the fitted spectrum at NAA (definitions in fmrstrial.fit.core).
    Outputs [results, plot; written by fmrstrial.steps.fit]: fit, ratio and QC tables (the
    chosen baseline penalty and effective dimension) with JSON column descriptions, a
    figure; fixed float format and PNG metadata so reruns are byte-identical.
    BOLD narrowing during infusion is handled by fitting the widths of every block.
"""

from .basis_setup import FitBasis, prepare_basis
from .core import FitResult, fit_spectrum
from .session import fit_data
from .settings import DEFAULTS, DESCRIPTIONS, resolve_settings

__all__ = [
    "DEFAULTS",
    "DESCRIPTIONS",
    "FitBasis",
    "FitResult",
    "fit_data",
    "fit_spectrum",
    "prepare_basis",
    "resolve_settings",
]
