"""Snakemake entry point: assemble the Glx/tNAA time course (with and without matching)."""

from fmrstrial.smk import logged
from fmrstrial.timecourse import session_files, write_timecourse

with logged(snakemake.log[0]):
    inp, out, params = snakemake.input, snakemake.output, snakemake.params
    variants = (
        (out.table, inp.ratios, inp.fit_qc),
        (out.unmatched, inp.ratios_unmatched, inp.fit_qc_unmatched),
    )
    for path, ratios, fit_qc in variants:
        files = session_files(
            params.sessions,
            blocks=inp.blocks,
            blocks_qc=inp.blocks_qc,
            ratios=ratios,
            fit_qc=fit_qc,
        )
        write_timecourse(params.dataset, files, params.qc, params.truth or None, path)
