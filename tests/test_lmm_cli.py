"""The ``fmrstrial lmm`` subcommand, run through fmrstrial.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fmrstrial import cli

DATA = Path(__file__).parent / "data" / "lmm"
PREPOST = ["--data", str(DATA / "prepost.csv"), "--formula",
           "value ~ condition*time + (1|subject)", "--ref", "time=pre"]  # fmt: skip


@pytest.fixture
def main():
    """cli.main; the lmm command must be registered."""
    assert cli.COMMANDS["lmm"] == "fmrstrial.lmm.command"
    return cli.main


def test_writes_reference_layout(main, tmp_path):
    out = tmp_path / "sub" / "prepost.json"
    assert main(["lmm", *PREPOST, "--kr", "--out", str(out)]) == 0
    ours = json.loads(out.read_text())
    ref = json.loads((DATA / "prepost.lmertest.json").read_text())
    for key in (
        "fixed_effects_satterthwaite",
        "fixed_effects_kenward_roger",
        "anova",
        "variance_components",
        "reml_loglik",
        "type3_hypotheses",
        "vcov_beta",
    ):
        assert key in ours, key  # fmt: skip
    assert set(ours["anova"]) == set(ref["anova"])
    for a, b in zip(ours["anova"]["typeIII_kenward_roger"], ref["anova"]["typeIII_kenward_roger"],
                    strict=True):  # fmt: skip
        assert set(b) <= set(a)
        assert a["term"] == b["term"] and a["den_df"] == pytest.approx(b["den_df"], abs=1e-2)
    for a, b in zip(ours["fixed_effects_satterthwaite"], ref["fixed_effects_satterthwaite"],
                    strict=True):  # fmt: skip
        assert set(b) <= set(a)
        assert a["se"] == pytest.approx(b["se"], rel=1e-4)
    assert ours["meta"]["data"] == "prepost.csv"
    assert ours["convergence"]["converged"] is True
    assert not list(out.parent.glob(".*tmp*"))  # no temporary left behind


def test_output_is_identical_across_runs_and_kr_is_optional(main, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["lmm", *PREPOST, "--factors", "period", "--out", str(a)]) == 0
    assert main(["lmm", *PREPOST, "--factors", "period", "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    out = json.loads(a.read_text())
    assert out["fixed_effects_kenward_roger"] is None
    assert list(out["anova"]) == ["typeIII_satterthwaite"]


def _csv(tmp_path: Path, edit) -> Path:
    df = edit(pd.read_csv(DATA / "prepost.csv"))
    path = tmp_path / "edited.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("edit", "args", "fragments"),
    [
        (None, ["--formula", "value ~ condition*dose + (1|subject)"],
         ["column 'dose'", "not in the data"]),
        (lambda df: df.assign(value=df.value.astype(str).where(df.index != 3, "n.d.")),
         ["--formula", "value ~ condition + (1|subject)"],
         ["column 'value'", "must be numeric", "'n.d.'"]),
        (lambda df: df.assign(condition="A"), ["--formula", "value ~ condition + (1|subject)"],
         ["column 'condition'", "only one level"]),
        (None, ["--formula", "value ~ condition + (1|subject)", "--ref", "condition=C"],
         ["column 'condition'", "reference level 'C' does not occur", "A, B"]),
        (None, ["--formula", "value ~ condition + (1|subject)", "--factors", "dose"],
         ["column 'dose'", "not in the data"]),
    ],
)  # fmt: skip
def test_bad_input_names_file_and_column(main, tmp_path, capsys, edit, args, fragments):
    data = DATA / "prepost.csv" if edit is None else _csv(tmp_path, edit)
    out = tmp_path / "out.json"
    assert main(["lmm", "--data", str(data), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fmrstrial lmm: error: ")
    assert str(data) in err
    for fragment in fragments:
        assert fragment in err
    assert not out.exists()


def test_missing_file(main, tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    code = main(["lmm", "--data", str(missing), "--formula", "y ~ a + (1|g)",
                 "--out", str(tmp_path / "o.json")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "file not found" in err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--formula", "value ~ condition + (1|subject) + (1|time)"], "not nested in 'subject'"),
        (["--formula", "value ~ condition"], "random-effect term"),
        (["--formula", "value ~ condition + (1|subject)", "--ref", "condition"], "factor=level"),
    ],
)
def test_bad_formula_or_option(main, tmp_path, capsys, args, fragment):
    code = main(["lmm", "--data", str(DATA / "prepost.csv"), *args,
                 "--out", str(tmp_path / "o.json")])  # fmt: skip
    assert code == 2
    assert fragment in capsys.readouterr().err


def test_lme4_slash_grouping_from_the_command_line(main, tmp_path):
    """'(1|subject/condition)' is lme4's subject + subject:condition intercepts: the same
    fit as the R reference written with both terms."""
    out = tmp_path / "nested.json"
    args = ["lmm", "--data", str(DATA / "timecourse_session.csv"), "--formula",
            "value ~ condition*phase + period + (1|subject/condition)", "--factors", "period",
            "--ref", "condition=placebo", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    ours = json.loads(out.read_text())
    ref = json.loads((DATA / "timecourse_session.lmertest.json").read_text())
    assert ours["meta"]["n_groups"] == ref["meta"]["n_groups"]
    assert ours["reml_loglik"] == pytest.approx(ref["reml_loglik"], abs=1e-6)
    for a, b in zip(
        ours["anova"]["typeIII_satterthwaite"], ref["anova"]["typeIII_satterthwaite"], strict=True
    ):
        assert a["den_df"] == pytest.approx(b["den_df"], abs=1e-2)
        assert a["F"] == pytest.approx(b["F"], rel=1e-4)
