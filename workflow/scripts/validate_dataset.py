"""Snakemake entry point: validate the dataset and write a JSON summary."""

from fmrstrial.smk import logged
from fmrstrial.steps.validate_dataset import validation_report

with logged(snakemake.log[0]):
    validation_report(
        snakemake.params.dataset,
        snakemake.output.report,
        required_scales=tuple(snakemake.params.required_scales),
    )
