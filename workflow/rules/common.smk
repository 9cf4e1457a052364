"""Helpers shared by the rules: dataset location, session list, paths."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from fmrstrial.dataset import ref_path, sessions_table, svs_path
from fmrstrial.simulate.design import participant_label
from fmrstrial.simulate.trial import mrs_paths
from fmrstrial.workflow_plan import dataset_was_simulated

DATASET = Path(config["dataset"])
SIMULATE = config["demo"]["generate_if_missing"] and (
    not DATASET.exists() or dataset_was_simulated(DATASET)
)
SCALES = ["madrs", "qids_sr16", "shaps", "teps", "m3vas", "cadss", "psi"]


def planned_sessions():
    """(participant_id, session_id) of every session, known before any job runs."""
    if SIMULATE:
        n = config["simulate"]["participants"]
        return [(participant_label(i, n), f"ses-{k}") for i in range(n) for k in (1, 2)]
    if not DATASET.exists():
        raise WorkflowError(
            f"dataset '{DATASET}' does not exist and demo.generate_if_missing is false"
        )
    table = sessions_table(DATASET)
    return list(zip(table.participant_id, table.session_id))


SESSIONS = planned_sessions()
PARTICIPANTS = sorted({pid for pid, _ in SESSIONS})


def session_svs(pid, sid):
    """Metabolite NIfTI-MRS of a session (the simulator's name when not yet written)."""
    found = None if SIMULATE else svs_path(DATASET, pid, sid)
    return str(found or mrs_paths(DATASET, pid, sid)[0])


def session_ref(pid, sid):
    """Water reference of a session, or None."""
    if SIMULATE:
        return str(mrs_paths(DATASET, pid, sid)[1])
    found = ref_path(DATASET, pid, sid)
    return str(found) if found else None


def dataset_tables():
    """Tabular files of the dataset that every analysis reads."""
    files = [DATASET / "dataset_description.json", DATASET / "participants.tsv"]
    files += [DATASET / pid / f"{pid}_sessions.tsv" for pid in PARTICIPANTS]
    return [str(f) for f in files]


def phenotype_tables(scales=None):
    return [str(DATASET / "phenotype" / f"{s}.tsv") for s in (scales or SCALES)]


def dataset_spectra():
    files = []
    for pid, sid in SESSIONS:
        files.append(session_svs(pid, sid))
        ref = session_ref(pid, sid)
        if ref:
            files.append(ref)
    return files


def final_outputs():
    """Everything `rule all` builds."""
    return ["results/validation/dataset.json"]
