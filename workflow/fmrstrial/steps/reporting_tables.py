"""The reporting_tables step (``fmrstrial reporting-tables``): Table 1 (demographics and
baseline scores by sequence), the participant flow and its summary, and the MRSinMRS table
(`fmrstrial.figures.reporting_tables`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..dataset import sessions_table
from ..errors import InputError
from ..figures.reporting_tables import flow_summary, mrsinmrs, participant_flow, table1
from ..io.config import load_section
from ..io.tsv import read_tsv, write_tsv
from ..preprocess.settings import resolve_settings as resolve_preprocess

#: Files written by the command line into its output folder.
OUTPUT_FILES = {
    "table1": "table1.tsv",
    "flow": "participant_flow.tsv",
    "flow_summary": "participant_flow_summary.tsv",
    "mrsinmrs": "mrsinmrs.tsv",
}


def write_reporting_tables(dataset, inputs, outputs, config: dict) -> None:
    """inputs: clinical (clinical.tsv), glx (time course), acquisition
    (acquisition_parameters.tsv) and manifest (provenance JSON, for software versions);
    outputs: table1, flow, flow_summary, mrsinmrs (TSV paths); config: the workflow config
    (preprocessing and fit settings for MRSinMRS). Participants and sessions come from the
    dataset folder (validated)."""
    participants = read_tsv(Path(dataset) / "participants.tsv")
    clinical = read_tsv(inputs["clinical"])
    glx = read_tsv(inputs["glx"])
    write_tsv(table1(participants, clinical), outputs["table1"])
    flow = participant_flow(participants, sessions_table(dataset), glx, clinical)
    write_tsv(flow, outputs["flow"])
    write_tsv(flow_summary(flow), outputs["flow_summary"])
    versions = json.loads(Path(inputs["manifest"]).read_text(encoding="utf-8"))["versions"]
    acquisition = read_tsv(inputs["acquisition"])
    write_tsv(mrsinmrs(acquisition, glx, config, versions), outputs["mrsinmrs"])


def workflow_settings(config_path: str | None, basis: str | None) -> dict:
    """The config sections MRSinMRS reports, from a workflow config (keys left out take the
    package defaults); InputError when no basis set is named."""
    config = load_section(config_path, "") if config_path else {}
    basis = basis or config.get("basis")
    if not basis:
        raise InputError(
            "name the basis set (--basis, or 'basis:' in the --config file): MRSinMRS reports it",
            file=config_path or "command line",
        )
    return {
        **config,
        "basis": basis,
        "preprocess": resolve_preprocess(config.get("preprocess"), config_path or "defaults"),
        "fit": config.get("fit") or {},
        "qc": config.get("qc") or {},
    }


def run(args: argparse.Namespace) -> int:
    config = workflow_settings(args.config, args.basis)
    inputs = {
        "clinical": args.clinical,
        "glx": args.glx,
        "acquisition": args.acquisition,
        "manifest": args.manifest,
    }
    outputs = {key: Path(args.out) / name for key, name in OUTPUT_FILES.items()}
    write_reporting_tables(args.dataset, inputs, outputs, config)
    print(f"wrote {', '.join(str(p) for p in outputs.values())}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "reporting-tables",
        help="Table 1, participant flow and the MRSinMRS table",
        description=__doc__,
    )
    p.add_argument("dataset", help="dataset folder (participants and sessions tables)")
    p.add_argument("--clinical", required=True, help="results/tables/clinical.tsv")
    p.add_argument("--glx", required=True, help="results/tables/glx_timecourse.tsv")
    p.add_argument(
        "--acquisition", required=True, help="results/converted/acquisition_parameters.tsv"
    )
    p.add_argument("--manifest", required=True, help="results/provenance/manifest.json")
    p.add_argument("--config", help="the workflow config (settings reported in MRSinMRS)")
    p.add_argument("--basis", help="the basis set used by the fit (default: the config's)")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=run)
