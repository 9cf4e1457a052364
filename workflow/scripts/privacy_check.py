"""Snakemake entry point: scan results/ for identifiers and source paths."""

from pathlib import Path

import _bootstrap  # noqa: F401

from fmrstrial.privacy import check
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    results = Path(snakemake.output.report).parents[1]
    check(
        results,
        snakemake.params.dataset,
        snakemake.output.report,
        extra=[p for p in [snakemake.params.repository] if p],
    )
