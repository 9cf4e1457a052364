"""Snakemake entry point: power curves and sample sizes for the next trial."""

from fmrstrial.power import resolve
from fmrstrial.smk import logged
from fmrstrial.steps.power import run_power

with logged(snakemake.log[0]):
    run_power(
        resolve(dict(snakemake.params.settings)),
        {test: snakemake.input.get(test) for test in ("glx", "madrs")},
        snakemake.output,
    )
