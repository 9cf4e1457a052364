"""Snakemake entry point: fit every block of one session (and the unmatched blocks); the
setting mode (blocks or dynamic) comes with the fit settings."""

from pathlib import Path

import _bootstrap  # noqa: F401

from fmrstrial.fit import fit_file
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    jobs = (
        (snakemake.input.blocks, snakemake.output.fit),
        (snakemake.input.unmatched, snakemake.output.unmatched_ratios),
    )
    for blocks, out in jobs:
        fits = fit_file(
            blocks,
            snakemake.input.basis,
            Path(out).parent,
            snakemake.params.settings,
            block_table=snakemake.input.get("block_table"),
        )
        print(f"{blocks}: {len(fits)} blocks, {sum(r.converged for _, r in fits)} converged")
