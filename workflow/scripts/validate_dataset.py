"""Snakemake entry point: validate the dataset and write a JSON summary."""

from fmrstrial.dataset import validation_report
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    validation_report(
        snakemake.params.dataset,
        snakemake.output.report,
        required_scales=tuple(snakemake.params.required_scales),
    )
