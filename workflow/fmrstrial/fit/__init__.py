"""Linear-combination fitting of 1H MRS spectra (frequency domain, LCModel-style).

API: `fit_spectrum` (one FID), `fit_file` (every block of a NIfTI-MRS file, writing the
tables and figure), `prepare_basis`, `DEFAULTS` / `DESCRIPTIONS` (settings) and `FitResult`.
"""

from .basis_setup import FitBasis, prepare_basis
from .core import FitResult, fit_spectrum
from .run import fit_data, fit_file
from .settings import DEFAULTS, DESCRIPTIONS, IN_VIVO, resolve_settings

__all__ = [
    "DEFAULTS",
    "DESCRIPTIONS",
    "FitBasis",
    "FitResult",
    "IN_VIVO",
    "fit_data",
    "fit_file",
    "fit_spectrum",
    "prepare_basis",
    "resolve_settings",
]
