"""Linear-combination fitting of 1H MRS spectra (frequency domain, LCModel-style).

API
    fit_spectrum(fid, dwell_s, cf_mhz, basis, settings) -> FitResult   one FID
    fit_file(in_path, basis_path, outputs, settings)                   every block of a file,
                                                                       writes tables + figure
    fit_data(data, basis, settings)                                    the same for MRSData
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
    is chosen once on the mean of the blocks and kept for every block [run].
    Priors [solver, settings]: Gaussian priors on shifts and widths; LCModel 6.3's ratio
    priors on amplitudes (MM/lipid pattern, Asp, GABA, Scyllo, Tau relative to tNAA + tCr +
    tCho, GSH/(Gln+GSH)), linearised at the first fit's amplitudes.
    Solver [start, solver]: coarse cross-correlation search over shift, zero-order phase
    and Gaussian width for the start; variable projection (baseline projected out, amplitudes
    by exact NNLS) with scipy's trust-region least squares on the nonlinear parameters
    using the analytic Kaufman Jacobian.
    Uncertainty [crlb]: Fisher information of all parameters (nonlinear, amplitudes,
    baseline) at the solution plus the priors/penalty; noise SD from the residual corrected
    for the fitted degrees of freedom (or from the signal-free region); sums and ratios with
    the full covariance (delta method for ratios).
    QC [core, noise]: noise SD from signal-free regions, SNR = fitted NAA height / noise SD,
    FWHM of the fitted spectrum at NAA (definitions in fmrstrial.fit.core).
    Outputs [results, plot, run, command]: fit.tsv, ratios.tsv, fit_qc.tsv (with the chosen
    baseline penalty and effective dimension) with JSON column descriptions, fit.png; fixed
    float format and PNG metadata so reruns are byte-identical.
    BOLD narrowing during infusion is handled by fitting the widths of every block.
"""

from .basis_setup import FitBasis, prepare_basis
from .core import FitResult, fit_spectrum
from .run import FitOutputs, fit_data, fit_file
from .settings import DEFAULTS, DESCRIPTIONS, resolve_settings

__all__ = [
    "DEFAULTS",
    "DESCRIPTIONS",
    "FitBasis",
    "FitOutputs",
    "FitResult",
    "fit_data",
    "fit_file",
    "fit_spectrum",
    "prepare_basis",
    "resolve_settings",
]
