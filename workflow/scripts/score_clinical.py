"""Snakemake entry point: score the clinical scales."""

from fmrstrial.clinical import score_dataset, write_tables
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    scores = score_dataset(snakemake.params.dataset, snakemake.params.rules)
    for scale, reason in scores.absent.items():
        print(f"note: {scale} not scored ({reason})")
    write_tables(scores, snakemake.output)
