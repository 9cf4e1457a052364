"""Snakemake entry point: acquisition-parameter table and cross-session consistency check."""

from fmrstrial.convert import summarise_conversions
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    summarise_conversions(
        snakemake.input.summaries,
        snakemake.output.table,
        snakemake.output.differences,
        snakemake.params.limits,
    )
