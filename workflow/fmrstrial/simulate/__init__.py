"""Trial simulator: writes a complete dataset (spectra, ratings, truth) in the input layout of
docs/input-data.md."""

from .params import DEFAULTS, resolve
from .trial import simulate_trial

__all__ = ["DEFAULTS", "resolve", "simulate_trial"]
