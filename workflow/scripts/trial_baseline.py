"""Snakemake entry point: choose the trial's baseline flexibility on the mean of every
session's QC-passing blocks."""

from fmrstrial.smk import logged
from fmrstrial.steps.trial_baseline import trial_baseline

with logged(snakemake.log[0]):
    inp, out = snakemake.input, snakemake.output
    row = trial_baseline(
        inp.blocks, inp.blocks_qc, inp.basis, out.table, out.sidecar, snakemake.params.settings
    )
    print(f"trial baseline: {row}")
