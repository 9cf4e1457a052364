"""Snakemake entry point: Table 1, participant flow and the MRSinMRS table."""

from fmrstrial.figures.tables import write_reporting_tables
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    write_reporting_tables(
        snakemake.params.dataset, snakemake.input, snakemake.output, snakemake.params.config
    )
