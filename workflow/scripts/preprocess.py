"""Snakemake entry point: preprocess one session."""

from fmrstrial.dataset import infusion_start_s
from fmrstrial.smk import logged
from fmrstrial.steps.preprocess import PreprocessOutputs, run_session

with logged(snakemake.log[0]):
    run_session(
        snakemake.input.svs,
        snakemake.input.get("mrsref"),
        infusion_start_s(snakemake.input.sessions, snakemake.wildcards.sid),
        PreprocessOutputs.from_mapping(snakemake.output),
        snakemake.params.settings,
    )
