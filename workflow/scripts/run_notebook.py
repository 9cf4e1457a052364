"""Snakemake entry point: execute a figure notebook with papermill and render it to HTML."""

from fmrstrial.notebooks import run_notebook
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    run_notebook(
        snakemake.input.notebook,
        snakemake.output.notebook,
        snakemake.output.html,
        dict(snakemake.params.parameters),
    )
