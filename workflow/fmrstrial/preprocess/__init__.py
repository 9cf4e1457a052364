"""Spectral preprocessing of fMRS sessions: coil combination, eddy-current correction,
alignment, rejection, residual water removal, time blocks, linewidth matching and QC.

Public API: `preprocess_session`, `PreprocessResult`, `DEFAULTS`, `DESCRIPTIONS`,
`resolve_settings`. Reading and writing files is the preprocess step's job
(`fmrstrial.steps.preprocess`: `run_session`, `PreprocessOutputs`).
"""

from .session import PreprocessResult, preprocess_session
from .settings import DEFAULTS, DESCRIPTIONS, load_settings, resolve_settings

__all__ = [
    "DEFAULTS",
    "DESCRIPTIONS",
    "PreprocessResult",
    "load_settings",
    "preprocess_session",
    "resolve_settings",
]
