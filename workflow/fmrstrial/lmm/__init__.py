"""Linear mixed models by REML with lmerTest-grade inference.

``fit_lmm(df, "value ~ condition*time + (1|subject)", factors={"period": None}, kr=True)``
returns an :class:`LMMResult` with Satterthwaite t tests and SAS type III F tests (and
Kenward-Roger ones with ``kr=True``), variance components and convergence diagnostics.
statsmodels' MixedLM finds the REML estimate; all inference is computed here from the exact
REML deviance (modules: formula, design, reml, optimize, satterthwaite, kenward_roger, type3,
result, model, command).
"""

from .design import DesignError
from .formula import FormulaError, parse_formula
from .model import fit_lmm
from .result import LMMResult

__all__ = ["DesignError", "FormulaError", "LMMResult", "fit_lmm", "parse_formula"]
