"""Spectral preprocessing of fMRS sessions: coil combination, eddy-current correction,
alignment, rejection, residual water removal, time blocks, linewidth matching and QC.

Public API: `preprocess_session`, `PreprocessResult`, `DEFAULTS`, `DESCRIPTIONS`,
`resolve_settings`, `run_session`.
"""

from .command import PreprocessOutputs, run_session
from .session import PreprocessResult, preprocess_session
from .settings import DEFAULTS, DESCRIPTIONS, load_settings, resolve_settings

__all__ = [
    "DEFAULTS",
    "DESCRIPTIONS",
    "PreprocessOutputs",
    "PreprocessResult",
    "load_settings",
    "preprocess_session",
    "resolve_settings",
    "run_session",
]
