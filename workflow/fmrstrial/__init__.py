"""fmrstrial: reproducible analysis of a pharmacological functional-MRS crossover trial."""

__version__ = "0.1.0"
