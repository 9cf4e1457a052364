"""Snakemake entry point: simulate the demo dataset."""

from fmrstrial.smk import logged
from fmrstrial.steps.simulate import simulate

with logged(snakemake.log[0]):
    simulate(
        snakemake.params.dataset,
        snakemake.params.simulate,
        jobs=snakemake.threads,
        workflow_demo=True,
    )
