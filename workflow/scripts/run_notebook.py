"""Snakemake entry point: execute a figure notebook with papermill and render it to HTML."""

from pathlib import Path

import _bootstrap  # noqa: F401

from fmrstrial.notebooks import run_notebook
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    run_notebook(
        snakemake.input.notebook,
        snakemake.output.notebook,
        snakemake.output.html,
        dict(snakemake.params.parameters),
        cwd=Path(snakemake.output.notebook).resolve().parents[2],
    )
