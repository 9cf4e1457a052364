"""Snakemake entry point: power curves and sample sizes for the next trial."""

from fmrstrial.power import resolve
from fmrstrial.power.command import run_power
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    run_power(
        resolve(dict(snakemake.params.settings)),
        {test: snakemake.input.get(test) for test in ("glx", "madrs")},
        snakemake.output,
    )
