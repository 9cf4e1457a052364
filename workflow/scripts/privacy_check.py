"""Snakemake entry point: scan results/ for identifiers and source paths."""

from fmrstrial.privacy import check
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    check(
        snakemake.params.results,
        snakemake.params.dataset,
        snakemake.output.report,
        extra=[p for p in [snakemake.params.repository] if p],
    )
