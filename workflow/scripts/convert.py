"""Snakemake entry point: convert a session's metabolite data (and water reference)."""

import _bootstrap  # noqa: F401

from fmrstrial.convert import convert_acquisition
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    labels = {"participant_id": snakemake.wildcards.pid, "session_id": snakemake.wildcards.sid}
    for role in ("svs", "mrsref"):
        if role not in snakemake.output.keys():
            continue
        convert_acquisition(
            snakemake.input[f"{role}_source"],
            snakemake.output[role],
            role=role,
            settings=snakemake.params.settings,
            basis_path=snakemake.input.basis if role == "svs" else None,
            labels=labels,
            summary_path=snakemake.output[f"{role}_summary"],
        )
