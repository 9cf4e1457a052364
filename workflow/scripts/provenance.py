"""Snakemake entry point: write the provenance manifest."""

from fmrstrial.provenance import write_manifest
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    write_manifest(
        snakemake.output.manifest,
        snakemake.params.dataset,
        list(snakemake.input.dataset) + [snakemake.input.basis],
        list(snakemake.input.workflow),
        snakemake.params.config,
        snakemake.params.repo,
    )
