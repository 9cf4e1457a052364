"""Planning the next trial: power and sample size from a fitted trial (``fmrstrial power``).

Modules: settings (config ``power:``), params (effects and variances from a model JSON or
the config), design (the planned crossover table), fastlmm (REML + Satterthwaite over many
replicates), simulate (simulated power with Monte-Carlo CI), analytic (non-central F
cross-check), run (grid, sample sizes, outputs), plot (power-curve figure), command (CLI).
"""

from .settings import resolve

__all__ = ["resolve"]
