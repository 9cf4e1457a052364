"""Snakemake entry point: assemble the Glx/tNAA time course (with and without matching)."""

from pathlib import Path

import _bootstrap  # noqa: F401

from fmrstrial.dataset import sessions_table
from fmrstrial.io.tables import write_tsv
from fmrstrial.smk import logged
from fmrstrial.timecourse import assemble

with logged(snakemake.log[0]):
    inp, out = snakemake.input, snakemake.output
    sessions = sessions_table(Path(inp.participants).parent)
    preproc_root = Path(inp.blocks[0]).parents[2]
    variants = (
        (out.table, Path(inp.ratios[0]).parents[2]),
        (out.unmatched, Path(inp.ratios_unmatched[0]).parents[2]),
    )
    for path, fit_root in variants:
        table = assemble(
            sessions, preproc_root, fit_root, snakemake.params.qc, snakemake.params.truth or None
        )
        write_tsv(table, path)
        print(f"{path}: {len(table)} blocks, {int(table.qc_pass.sum())} pass QC")
