"""Snakemake entry point: assemble results/tables/glx_timecourse.tsv."""

from pathlib import Path

import _bootstrap  # noqa: F401

from fmrstrial.dataset import sessions_table
from fmrstrial.io.tables import write_tsv
from fmrstrial.smk import logged
from fmrstrial.timecourse import assemble

with logged(snakemake.log[0]):
    sessions = sessions_table(Path(snakemake.input.participants).parent)
    preproc_root = Path(snakemake.input.blocks[0]).parents[2]
    fit_root = Path(snakemake.input.ratios[0]).parents[2]
    table = assemble(
        sessions, preproc_root, fit_root, snakemake.params.qc, snakemake.params.truth or None
    )
    write_tsv(table, snakemake.output.table)
    print(f"{len(table)} blocks, {int(table.qc_pass.sum())} pass QC")
