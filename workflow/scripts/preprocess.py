"""Snakemake entry point: preprocess one session."""

from fmrstrial.dataset import infusion_start_s
from fmrstrial.preprocess import PreprocessOutputs, run_session
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    run_session(
        snakemake.input.svs,
        snakemake.input.get("mrsref"),
        infusion_start_s(snakemake.input.sessions, snakemake.wildcards.sid),
        PreprocessOutputs.from_mapping(snakemake.output),
        snakemake.params.settings,
    )
