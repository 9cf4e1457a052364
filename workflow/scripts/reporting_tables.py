"""Snakemake entry point: Table 1, participant flow and the MRSinMRS table."""

import json
from pathlib import Path

import _bootstrap  # noqa: F401

from fmrstrial.dataset import sessions_table
from fmrstrial.figures.tables import flow_summary, mrsinmrs, participant_flow, table1
from fmrstrial.io.tables import read_tsv, write_tsv
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    inp, out = snakemake.input, snakemake.output
    participants = read_tsv(inp.participants)
    clinical = read_tsv(inp.clinical)
    glx = read_tsv(inp.glx)
    sessions = sessions_table(Path(inp.participants).parent)
    write_tsv(table1(participants, clinical), out.table1)
    flow = participant_flow(participants, sessions, glx, clinical)
    write_tsv(flow, out.flow)
    write_tsv(flow_summary(flow), out.flow_summary)
    versions = json.loads(Path(inp.manifest).read_text())["versions"]
    write_tsv(
        mrsinmrs(read_tsv(inp.acquisition), glx, snakemake.params.config, versions), out.mrsinmrs
    )
