"""Dataset validation: a valid dataset passes; each broken one gives its own clear message."""

from __future__ import annotations

import gzip
import json
import shutil

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from conftest import tree_digest
from fmrstrial.cli import main
from fmrstrial.dataset import ref_path, sessions_table, svs_path, validate_dataset
from fmrstrial.io.nifti_mrs import read_nifti_mrs, write_nifti_mrs
from fmrstrial.io.tsv import read_tsv, write_tsv
from fmrstrial.workflow_plan import (
    WORKFLOW_DEMO_MARK,
    dataset_is_workflow_demo,
    dataset_was_simulated,
)


def edit_tsv(path, fn):
    df = read_tsv(path, dtype=str)
    write_tsv(fn(df), path)


def test_valid_dataset_passes(small_dataset, capsys):
    before = tree_digest(small_dataset)
    v = validate_dataset(small_dataset, required_scales=("madrs", "teps"))
    assert v.problems == []
    assert len(v.sessions) == 4
    assert main(["validate-dataset", str(small_dataset)]) == 0
    assert "valid (2 participants, 4 sessions)" in capsys.readouterr().out
    assert tree_digest(small_dataset) == before  # read, never written
    table = sessions_table(small_dataset)
    assert set(table.condition) == {"placebo", "naltrexone"}


def _first_svs(root):
    return svs_path(root, "sub-01", "ses-1")


def _rm_participants(root):
    (root / "participants.tsv").unlink()


def _drop_sequence(root):
    edit_tsv(root / "participants.tsv", lambda d: d.drop(columns="sequence"))


def _bad_sex(root):
    edit_tsv(root / "participants.tsv", lambda d: d.assign(sex=["X", d.sex.iloc[1]]))


def _duplicate_participant(root):
    edit_tsv(root / "participants.tsv", lambda d: pd.concat([d, d.iloc[[0]]]))


def _same_condition(root):
    edit_tsv(
        root / "sub-01" / "sub-01_sessions.tsv",
        lambda d: d.assign(condition=["placebo", "placebo"]),
    )


def _period_three(root):
    edit_tsv(root / "sub-01" / "sub-01_sessions.tsv", lambda d: d.assign(period=["1", "3"]))


def _contradicts_sequence(root):
    def flip(d):
        d = d.copy()
        d.loc[0, "sequence"] = "NP" if d.sequence.iloc[0] == "PN" else "PN"
        return d

    edit_tsv(root / "participants.tsv", flip)


def _unknown_participant(root):
    edit_tsv(
        root / "phenotype" / "madrs.tsv",
        lambda d: d.assign(participant_id=["sub-99"] + list(d.participant_id[1:])),
    )


def _unknown_session(root):
    edit_tsv(
        root / "phenotype" / "madrs.tsv",
        lambda d: d.assign(session_id=["ses-7"] + list(d.session_id[1:])),
    )


def _bad_timepoint(root):
    edit_tsv(
        root / "phenotype" / "madrs.tsv",
        lambda d: d.assign(timepoint=["week1"] + list(d.timepoint[1:])),
    )


def _missing_phenotype(root):
    (root / "phenotype" / "madrs.tsv").unlink()


def _stray_subject_folder(root):
    (root / "sub-77").mkdir()


def _plain_nifti(root):
    path = _first_svs(root)
    data = read_nifti_mrs(path).fids.astype(np.complex64)
    nib.save(nib.Nifti2Image(data.reshape((1, 1, 1) + data.shape), np.eye(4)), path)


def _truncated(root):
    path = _first_svs(root)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _averaged_no_dyn(root):
    path = _first_svs(root)
    data = read_nifti_mrs(path)
    axis = data.axis("DIM_DYN")
    mean = data.fids.mean(axis=axis)
    tags = tuple(t for t in data.dim_tags if t != "DIM_DYN")
    write_nifti_mrs(path, data.with_fids(mean, tags))


def _nan_samples(root):
    path = _first_svs(root)
    data = read_nifti_mrs(path)
    fids = data.fids.copy()
    fids[5, ..., 3] = np.nan
    write_nifti_mrs(path, data.with_fids(fids))


def _missing_spectra(root):
    _first_svs(root).unlink()


def _two_runs(root):
    """A restarted scan kept as two runs: neither may be analysed silently."""
    path = _first_svs(root)
    shutil.copy(path, path.with_name(path.name.replace("_svs", "_run-2_svs")))


def _two_references(root):
    path = _first_svs(root)
    for run in (1, 2):
        shutil.copy(path, path.with_name(f"sub-01_ses-1_run-{run}_mrsref.nii.gz"))


def _missing_description(root):
    (root / "dataset_description.json").unlink()


def _non_numeric_start(root):
    edit_tsv(
        root / "sub-02" / "sub-02_sessions.tsv",
        lambda d: d.assign(infusion_start_s=["soon", d.infusion_start_s.iloc[1]]),
    )


BROKEN = [
    (_rm_participants, "participants.tsv: required file is missing"),
    (_drop_sequence, "participants.tsv, column 'sequence': required column is missing"),
    (_bad_sex, "participants.tsv, row 1, column 'sex': 'X' is not allowed"),
    (_duplicate_participant, "participants.tsv, row 3, column 'participant_id': duplicate row"),
    (
        _same_condition,
        "sub-01_sessions.tsv, column 'condition': both sessions have the same condition",
    ),
    (_period_three, "sub-01_sessions.tsv, row 2, column 'period': '3' is not allowed"),
    (_contradicts_sequence, "sub-01_sessions.tsv, row 1, column 'condition': condition"),
    (
        _unknown_participant,
        "madrs.tsv, row 1, column 'participant_id': unknown participant 'sub-99'",
    ),
    (_unknown_session, "madrs.tsv, row 1, column 'session_id': unknown session 'ses-7'"),
    (_bad_timepoint, "madrs.tsv, row 1, column 'timepoint': 'week1' is not allowed"),
    (_missing_phenotype, "madrs.tsv: required phenotype table is missing"),
    (_stray_subject_folder, "folder sub-77 has no row in participants.tsv"),
    (_plain_nifti, "no NIfTI-MRS header extension"),
    (_truncated, "sub-01_ses-1_task-ketamine_svs.nii.gz: "),
    (_averaged_no_dyn, "must keep every transient along DIM_DYN"),
    (_nan_samples, "data contain NaN"),
    (_missing_spectra, "no metabolite spectra for sub-01 ses-1"),
    (_missing_description, "dataset_description.json: required file is missing"),
    (
        _two_runs,
        "expected at most one metabolite NIfTI-MRS (*_svs.nii.gz) for sub-01 ses-1, found 2: "
        "sub-01_ses-1_task-ketamine_run-2_svs.nii.gz, sub-01_ses-1_task-ketamine_svs.nii.gz",
    ),
    (
        _two_references,
        "expected at most one water-reference NIfTI-MRS (*_mrsref.nii.gz) for sub-01 ses-1",
    ),
    (
        _non_numeric_start,
        "sub-02_sessions.tsv, row 1, column 'infusion_start_s': 'soon' is not a number",
    ),
]


@pytest.mark.parametrize(("breaker", "expected"), BROKEN, ids=[b.__name__ for b, _ in BROKEN])
def test_broken_dataset_is_rejected(dataset_copy, breaker, expected, capsys):
    breaker(dataset_copy)
    before = tree_digest(dataset_copy)
    problems = validate_dataset(dataset_copy).problems
    assert problems, "the broken dataset was accepted"
    messages = [str(p) for p in problems]
    assert any(expected in m for m in messages), messages
    assert len(problems) <= 2, messages  # one clear message, not a cascade
    assert main(["validate-dataset", str(dataset_copy)]) == 2
    err = capsys.readouterr().err
    assert expected.split(":")[0].split(",")[0] in err
    assert tree_digest(dataset_copy) == before


def test_truncated_gzip_is_reported_as_unreadable(dataset_copy):
    path = _first_svs(dataset_copy)
    with gzip.open(path, "rb") as fh:
        head = fh.read(2000)  # header and a little data only
    with gzip.open(path, "wb") as fh:
        fh.write(head)
    messages = [str(p) for p in validate_dataset(dataset_copy).problems]
    assert any("truncated" in m or "not a readable" in m for m in messages), messages


def test_only_simulated_datasets_may_be_regenerated(small_dataset, tmp_path):
    assert dataset_was_simulated(small_dataset)
    real = tmp_path / "real"
    shutil.copytree(small_dataset, real)
    (real / "dataset_description.json").write_text(
        '{"Name": "a real trial", "BIDSVersion": "1.10.0"}'
    )
    assert not dataset_was_simulated(real)
    assert not dataset_was_simulated(tmp_path / "absent")


def test_only_the_workflows_demo_may_be_regenerated(small_dataset, tmp_path):
    # written by `fmrstrial simulate` (simulate_trial without workflow_demo): input only
    assert dataset_was_simulated(small_dataset)
    assert not dataset_is_workflow_demo(small_dataset)
    demo = tmp_path / "demo"
    demo.mkdir()
    assert dataset_is_workflow_demo(demo)  # empty: nothing to lose
    doc = json.loads((small_dataset / "dataset_description.json").read_text())
    doc["GeneratedBy"][0]["Description"] += WORKFLOW_DEMO_MARK
    (demo / "dataset_description.json").write_text(json.dumps(doc))
    assert dataset_is_workflow_demo(demo) and dataset_was_simulated(demo)
    assert not dataset_is_workflow_demo(tmp_path / "absent")


def test_a_session_without_water_reference_is_valid_and_noted(dataset_copy):
    """A missing water reference is a partial case, not a problem: validation says which
    steps the session goes without."""
    ref_path(dataset_copy, "sub-01", "ses-2").unlink()
    v = validate_dataset(dataset_copy)
    assert v.problems == []
    notes = [n for n in v.notes if "water reference" in n]
    assert len(notes) == 1 and notes[0].startswith("sub-01 ses-2: no water reference")
    assert "eddy-current correction" in notes[0]
