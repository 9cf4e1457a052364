"""Conversion of raw spectra (vendor files or NIfTI-MRS) to de-identified, checked NIfTI-MRS
(the conversion step and the conversion summary, with their workflow entry points, are in
`fmrstrial.steps.convert` and `fmrstrial.steps.conversion_summary`)."""

from .acquisition import DEFAULTS, convert_acquisition

__all__ = ["DEFAULTS", "convert_acquisition"]
