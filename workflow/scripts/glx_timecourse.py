"""Snakemake entry point: assemble the Glx/tNAA time course (with and without linewidth
matching, and from the other fit mode when the sensitivity analysis is on)."""

from fmrstrial.smk import logged
from fmrstrial.steps.glx_timecourse import write_timecourse
from fmrstrial.timecourse import session_files

with logged(snakemake.log[0]):
    inp, out, params = snakemake.input, snakemake.output, snakemake.params
    variants = [
        (out.table, inp.ratios, inp.fit_qc),
        (out.unmatched, inp.ratios_unmatched, inp.fit_qc_unmatched),
    ]
    if "other_mode" in out.keys():
        variants.append((out.other_mode, inp.ratios_other_mode, inp.fit_qc_other_mode))
    for path, ratios, fit_qc in variants:
        files = session_files(
            params.sessions,
            blocks=inp.blocks,
            blocks_qc=inp.blocks_qc,
            ratios=ratios,
            fit_qc=fit_qc,
        )
        write_timecourse(params.dataset, files, params.qc, params.truth or None, path)
