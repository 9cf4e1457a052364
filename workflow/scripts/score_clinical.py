"""Snakemake entry point: score the clinical scales."""

from pathlib import Path

import _bootstrap  # noqa: F401

from fmrstrial.clinical import score_dataset, write_outputs
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    scores = score_dataset(snakemake.params.dataset, snakemake.params.rules)
    for scale, reason in scores.absent.items():
        print(f"note: {scale} not scored ({reason})")
    paths = write_outputs(scores, Path(snakemake.output.long).parent)
    expected = {Path(p) for p in snakemake.output}
    written = {Path(p) for p in paths.values()}
    if expected != written:
        raise RuntimeError(f"score_clinical wrote {sorted(written)}, expected {sorted(expected)}")
