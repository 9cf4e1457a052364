"""Conversion of raw spectra (vendor files or NIfTI-MRS) to de-identified, checked NIfTI-MRS."""

from .session import (
    DEFAULTS,
    convert_acquisition,
    convert_reference,
    convert_svs,
    summarise_conversions,
)

__all__ = [
    "DEFAULTS",
    "convert_acquisition",
    "convert_reference",
    "convert_svs",
    "summarise_conversions",
]
