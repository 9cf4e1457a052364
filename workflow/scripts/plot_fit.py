"""Snakemake entry point: draw one fit's figure from its tables."""

from fmrstrial.smk import logged
from fmrstrial.steps.plot_fit import plot_fit

with logged(snakemake.log[0]):
    inp = snakemake.input
    plot_fit(inp.curves, inp.ratios, inp.qc, snakemake.output.figure, snakemake.params.title)
