"""Snakemake entry point: run the analyses and write the findings table."""

from fmrstrial.smk import logged
from fmrstrial.stats import resolve
from fmrstrial.steps.stats import write_findings

with logged(snakemake.log[0]):
    inp, out, params = snakemake.input, snakemake.output, snakemake.params
    write_findings(
        inp.participants,
        out.findings,
        dict(zip(params.models, out.models, strict=True)),
        resolve(params.settings),
        glx=inp.glx,
        glx_unmatched=inp.get("glx_unmatched"),
        clinical=inp.clinical,
        clinical_mi=inp.clinical_mi,
        truth_dir=params.truth or None,
        spectral_model=params.spectral_model,
        glx_other_mode=inp.get("glx_other_mode"),
        other_spectral_model=params.other_spectral_model or None,
    )
