"""Snakemake entry point: fit every block of one session."""

from pathlib import Path

import _bootstrap  # noqa: F401

from fmrstrial.fit import fit_file
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    fits = fit_file(
        snakemake.input.blocks,
        snakemake.input.basis,
        Path(snakemake.output.fit).parent,
        snakemake.params.settings,
    )
    print(f"fitted {len(fits)} blocks, {sum(r.converged for _, r in fits)} converged")
