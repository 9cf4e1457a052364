"""Bad input stops scoring with one message per problem (file, data row, column)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from fmrstrial.clinical import score_dataset
from fmrstrial.errors import InputError
from fmrstrial.steps import score_clinical as command

FIXTURE = Path(__file__).parent / "data" / "clinical" / "dataset"
LINE = "(data row {r} = line {l} of the file, counting the header)"


@pytest.fixture
def ds(tmp_path):
    return Path(shutil.copytree(FIXTURE, tmp_path / "ds"))


def set_cell(path: Path, data_row: int, column: str, value: str) -> None:
    """Overwrite one cell of a TSV (data_row is 1-based, header excluded)."""
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    cells = lines[data_row].split("\t")
    cells[header.index(column)] = value
    lines[data_row] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")


def problems(ds) -> list[str]:
    with pytest.raises(InputError) as err:
        score_dataset(ds)
    return [str(p) for p in err.value.problems]


def only(ds) -> str:
    found = problems(ds)
    assert len(found) == 1, found
    return found[0]


def test_out_of_range(ds):
    f = ds / "phenotype" / "madrs.tsv"
    set_cell(f, 2, "madrs_03", "7")
    assert only(ds) == (
        f"{f}, row 2, column 'madrs_03': 7 is outside the allowed range 0-6 "
        + LINE.format(r=2, l=3)
    )


def test_out_of_range_vas(ds):
    f = ds / "phenotype" / "m3vas.tsv"
    set_cell(f, 1, "m3vas_03", "100.5")
    assert "column 'm3vas_03': 100.5 is outside the allowed range 0-100" in only(ds)


def test_non_integer(ds):
    f = ds / "phenotype" / "qids_sr16.tsv"
    set_cell(f, 3, "qids_sr16_12", "1.5")
    assert only(ds) == (
        f"{f}, row 3, column 'qids_sr16_12': 1.5 is not an integer "
        "(qids_sr16 items take integers 0-3) " + LINE.format(r=3, l=4)
    )


def test_integer_valued_decimal_is_accepted(ds):
    set_cell(ds / "phenotype" / "madrs.tsv", 1, "madrs_01", "4.0")
    assert score_dataset(ds).long.score.iloc[0] == 30


def test_not_a_number_and_empty_cell(ds):
    f = ds / "phenotype" / "teps.tsv"
    set_cell(f, 1, "teps_02", "abc")
    set_cell(f, 2, "teps_04", "")
    assert problems(ds) == [
        f"{f}, row 1, column 'teps_02': 'abc' is not a number (write n/a for a missing value) "
        + LINE.format(r=1, l=2),
        f"{f}, row 2, column 'teps_04': empty cell; write n/a for a missing value "
        + LINE.format(r=2, l=3),
    ]


def test_duplicate_row(ds):
    f = ds / "phenotype" / "shaps.tsv"
    set_cell(f, 2, "timepoint", "pre")
    assert only(ds) == (
        f"{f}, row 2: duplicate row: same participant_id, session_id and timepoint as data "
        "row 1 " + LINE.format(r=2, l=3)
    )


def test_unknown_participant(ds):
    f = ds / "phenotype" / "cadss.tsv"
    set_cell(f, 2, "participant_id", "sub-99")
    assert only(ds) == (
        f"{f}, row 2, column 'participant_id': unknown participant 'sub-99' "
        "(not in participants.tsv) " + LINE.format(r=2, l=3)
    )


def test_unknown_session(ds):
    f = ds / "phenotype" / "psi.tsv"
    set_cell(f, 1, "session_id", "ses-3")
    assert only(ds) == (
        f"{f}, row 1, column 'session_id': unknown session 'ses-3' for sub-01 "
        "(not in sub-01/sub-01_sessions.tsv) " + LINE.format(r=1, l=2)
    )


def test_unknown_timepoint(ds):
    f = ds / "phenotype" / "madrs.tsv"
    set_cell(f, 4, "timepoint", "day2")
    set_cell(f, 6, "timepoint", "post")
    assert problems(ds) == [
        f"{f}, row 4, column 'timepoint': unknown timepoint 'day2' (expected one of pre, "
        "post, day1) " + LINE.format(r=4, l=5),
        f"{f}, row 6, column 'timepoint': madrs is not collected at 'post' (expected one of "
        "pre, day1) " + LINE.format(r=6, l=7),
    ]


def test_missing_column(ds):
    f = ds / "phenotype" / "teps.tsv"
    lines = [line.split("\t") for line in f.read_text().splitlines()]
    k = lines[0].index("teps_05")
    f.write_text("\n".join("\t".join(c[:k] + c[k + 1 :]) for c in lines) + "\n")
    assert only(ds) == f"{f}, column 'teps_05': required column is missing"


def test_missing_phenotype_file(ds):
    """MADRS, the primary outcome, is required; another absent scale is not scored."""
    (ds / "phenotype" / "madrs.tsv").unlink()
    assert only(ds) == (
        f"{ds / 'phenotype' / 'madrs.tsv'}: file not found: Montgomery-Asberg Depression "
        "Rating Scale is the primary outcome and every dataset must have it"
    )
    shutil.copy(FIXTURE / "phenotype" / "madrs.tsv", ds / "phenotype" / "madrs.tsv")
    (ds / "phenotype" / "psi.tsv").unlink()
    scores = score_dataset(ds)
    assert "psi" not in set(scores.long["scale"])
    assert scores.absent == {"psi": "phenotype/psi.tsv is not in the dataset"}


def test_bad_session_metadata(ds):
    f = ds / "sub-02" / "sub-02_sessions.tsv"
    set_cell(f, 1, "condition", "naloxone")
    found = problems(ds)
    assert found[0] == (
        f"{f}, row 1, column 'condition': 'naloxone' is not one of placebo, naltrexone "
        + LINE.format(r=1, l=2)
    )
    # the session is then unknown to the phenotype files, which say so too
    assert all("unknown session 'ses-1' for sub-02" in p for p in found[1:]) and found[1:]


def test_all_problems_are_collected_and_nothing_is_written(ds, tmp_path):
    set_cell(ds / "phenotype" / "madrs.tsv", 1, "madrs_01", "9")
    set_cell(ds / "phenotype" / "madrs.tsv", 3, "madrs_02", "-1")
    set_cell(ds / "phenotype" / "teps.tsv", 1, "teps_07", "0")
    out = tmp_path / "out"
    args = argparse.Namespace(dataset=ds, out=out, config=None)
    with pytest.raises(InputError) as err:
        command.run(args)
    assert len(err.value.problems) == 3
    assert str(err.value).startswith("3 problems found:")
    assert not out.exists()


def test_bad_config_file_is_named(ds, tmp_path):
    cfg = tmp_path / "rules.yaml"
    cfg.write_text("missing:\n  teps: {method: guess}\n")
    args = argparse.Namespace(dataset=ds, out=tmp_path / "out", config=cfg)
    with pytest.raises(InputError, match=rf"{cfg}: missing.teps.method must be one of"):
        command.run(args)
