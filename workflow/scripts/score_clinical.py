"""Snakemake entry point: score the clinical scales."""

from fmrstrial.smk import logged
from fmrstrial.steps.score_clinical import score_clinical

with logged(snakemake.log[0]):
    score_clinical(snakemake.params.dataset, snakemake.params.rules, snakemake.output)
