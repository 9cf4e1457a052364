"""Statistics: mixed models behind every finding, derived findings, the findings table."""

from .analysis import FINDING_COLUMNS, run_analyses, write_results
from .data import load_inputs
from .settings import DEFAULTS, resolve

__all__ = ["DEFAULTS", "FINDING_COLUMNS", "load_inputs", "resolve", "run_analyses", "write_results"]
