"""Snakemake entry point: acquisition-parameter table and cross-session consistency check."""

from fmrstrial.smk import logged
from fmrstrial.steps.conversion_summary import summarise_conversions

with logged(snakemake.log[0]):
    summarise_conversions(
        snakemake.input.summaries,
        snakemake.output.table,
        snakemake.output.differences,
        snakemake.params.limits,
    )
