"""Snakemake entry point: preprocess one session."""

from pathlib import Path

import _bootstrap  # noqa: F401

from fmrstrial.dataset import sessions_table
from fmrstrial.preprocess import run_session
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    table = sessions_table(Path(snakemake.input.participants).parent)
    row = table[
        (table.participant_id == snakemake.wildcards.pid)
        & (table.session_id == snakemake.wildcards.sid)
    ].iloc[0]
    run_session(
        snakemake.input.svs,
        snakemake.input.get("mrsref"),
        float(row.infusion_start_s),
        Path(snakemake.output.blocks).parent,
        snakemake.params.settings,
    )
