"""Snakemake entry point: run the analyses and write the findings table."""

from pathlib import Path

import _bootstrap  # noqa: F401

from fmrstrial.smk import logged
from fmrstrial.stats import resolve
from fmrstrial.stats.command import compute

with logged(snakemake.log[0]):
    inp = snakemake.input
    compute(
        inp.participants,
        Path(snakemake.output.findings).parent,
        resolve(snakemake.params.settings),
        glx=inp.glx,
        glx_unmatched=inp.get("glx_unmatched"),
        clinical=inp.clinical,
        clinical_mi=inp.clinical_mi,
        truth_dir=snakemake.params.truth or None,
        spectral_model=snakemake.params.spectral_model,
    )
