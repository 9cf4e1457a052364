"""Snakemake entry point: fit every block of one session, with and without linewidth
matching when the rule has both inputs (the fit mode, blocks or dynamic, comes with the fit
settings)."""

from fmrstrial.smk import logged
from fmrstrial.steps.fit import FitOutputs, fit_file

with logged(snakemake.log[0]):
    inp, out = snakemake.input, snakemake.output
    jobs = [(inp.blocks, FitOutputs.from_mapping(out))]
    if "unmatched" in inp.keys():
        jobs.append((inp.unmatched, FitOutputs.from_mapping(out, prefix="unmatched_")))
    for blocks, outputs in jobs:
        fits = fit_file(
            blocks, inp.basis, outputs, snakemake.params.settings, inp.get("block_table"),
            trial_baseline=inp.get("trial_baseline"),
        )  # fmt: skip
        print(f"{blocks}: {len(fits)} blocks, {sum(r.converged for _, r in fits)} converged")
