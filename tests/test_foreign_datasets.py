"""Datasets our simulator did not write (issue 14, items 3 and 4).

A dataset whose dataset_description.json names another generator may carry a
derivatives/truth folder of its own format: it is never read (no truth columns, no truth in
the findings, no "simulated data" banner). A dataset may have phenotype/madrs.tsv only: the
other scales are not scored, their findings are reported as not available with the reason,
and the tables, figures and notebooks still come out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest
import yaml
from stats_fixtures import truth_timecourse

from conftest import REPO, tree_digest
from fmrstrial.cli import main as cli_main
from fmrstrial.clinical import score_dataset, write_outputs
from fmrstrial.dataset import sessions_table, validate_dataset
from fmrstrial.errors import InputError
from fmrstrial.figures import plots
from fmrstrial.figures.reporting_tables import NOT_IN_DATASET, participant_flow, table1
from fmrstrial.io.tsv import read_tsv, write_tsv
from fmrstrial.notebooks import FINDINGS_FIGURES, figure_files, run_notebook
from fmrstrial.simulate import resolve as sim_resolve
from fmrstrial.simulate import simulate_trial
from fmrstrial.stats import resolve
from fmrstrial.steps.stats import compute
from fmrstrial.workflow_plan import (
    check_simulator_truth,
    dataset_was_simulated,
    simulator_truth_dir,
)

matplotlib.use("Agg")

TRIAL = {
    "participants": 10,
    "seed": 33,
    "acquisition": {"baseline_min": 2.0, "baseline_jitter_min": 0.0, "infusion_min": 8.0},
}
SELF_REPORT = ("qids_sr16", "m3vas", "shaps", "teps")
TRUTH_COLUMNS = ("true_glx_tnaa", "true_glu_tnaa", "expected_glx_tnaa", "expected_glu_tnaa")


def make_foreign(ds: Path, madrs_only: bool = True) -> None:
    """Turn a simulated dataset into one another generator wrote (in place).

    GeneratedBy names the other generator; derivatives/truth holds that generator's own
    files (none of ours); with madrs_only, phenotype/ keeps MADRS only.
    """
    desc = json.loads((ds / "dataset_description.json").read_text())
    desc["Name"] = "crossover fMRS trial (other generator)"
    desc["GeneratedBy"] = [
        {"Name": "othersim", "Version": "2.1", "Description": "crossover fMRS generator"}
    ]
    (ds / "dataset_description.json").write_text(json.dumps(desc, indent=2))
    truth = ds / "derivatives" / "truth"
    shutil.rmtree(truth)
    (truth / "sub-01" / "ses-1").mkdir(parents=True)
    (truth / "dataset_description.json").write_text(
        json.dumps({"Name": "othersim truth", "GeneratedBy": [{"Name": "othersim"}]})
    )
    (truth / "sub-01" / "ses-1" / "sub-01_ses-1_metabolites.json").write_text(
        json.dumps({"Glu": [9.1, 9.4], "Gln": [3.0, 3.1]})
    )
    # same file names as two of ours, different content
    (truth / "clinical_scores.tsv").write_text("subject\tvisit\tmadrs\nsub-01\t1\t30\n")
    (truth / "effects.json").write_text(json.dumps({"glx_effect": 0.05}))
    if madrs_only:
        for path in (ds / "phenotype").iterdir():
            if not path.name.startswith("madrs."):
                path.unlink()


def notebook_output(path: Path) -> str:
    """Text of every output of an executed notebook (not its source)."""
    nb = json.loads(path.read_text())
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            parts.append(json.dumps(out.get("data", {})) + "".join(out.get("text", [])))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """A MADRS-only dataset with a foreign truth folder, scored, with a measured time course."""
    root = tmp_path_factory.mktemp("foreign")
    ds = root / "ds"
    simulate_trial(ds, sim_resolve(TRIAL))
    # the "measured" time course, made while our truth is still there; a foreign dataset's
    # time course carries no truth columns
    glx = truth_timecourse(ds, noise_sd=0.03, seed=4, baseline_min=2.0, infusion_min=8.0)
    glx = glx.drop(columns=list(TRUTH_COLUMNS)).assign(qc_reasons=float("nan"))
    make_foreign(ds)
    tables = root / "tables"
    write_outputs(score_dataset(ds), tables)
    write_tsv(glx, tables / "glx_timecourse.tsv")
    compute(
        ds / "participants.tsv",
        root / "stats",
        resolve({"bootstrap": {"n": 200}}),
        glx=tables / "glx_timecourse.tsv",
        clinical=tables / "clinical.tsv",
        clinical_mi=tables / "clinical_mi.tsv",
        truth_dir=simulator_truth_dir(ds),
    )
    return ds, tables, root / "stats"


# --- item 3: truth only from datasets our simulator wrote ---------------------------------


def test_truth_is_read_only_from_simulated_datasets(small_dataset, tmp_path):
    assert simulator_truth_dir(small_dataset) == small_dataset / "derivatives" / "truth"
    assert check_simulator_truth(small_dataset / "derivatives" / "truth")
    ds = tmp_path / "ds"
    shutil.copytree(small_dataset, ds)
    make_foreign(ds, madrs_only=False)
    assert (ds / "derivatives" / "truth").is_dir()
    assert not dataset_was_simulated(ds)
    assert simulator_truth_dir(ds) is None
    with pytest.raises(InputError, match="dataset_description.json"):
        check_simulator_truth(ds / "derivatives" / "truth")


def test_our_truth_is_not_read_once_the_dataset_says_another_generator(small_dataset, tmp_path):
    """Only GeneratedBy decides: our own truth files are ignored if the dataset disowns us."""
    ds = tmp_path / "ds"
    shutil.copytree(small_dataset, ds)
    desc = json.loads((ds / "dataset_description.json").read_text())
    desc["GeneratedBy"] = [{"Name": "othersim", "Description": "trial simulator"}]
    (ds / "dataset_description.json").write_text(json.dumps(desc))
    assert simulator_truth_dir(ds) is None
    (ds / "dataset_description.json").unlink()
    assert simulator_truth_dir(ds) is None


def test_stats_carry_no_truth(foreign):
    _, _, stats = foreign
    f = read_tsv(stats / "findings.tsv")
    assert f["truth"].isna().all()
    assert set(f["ci_covers_truth"].dropna()) == set()


def test_stats_refuse_a_foreign_truth_folder(foreign, tmp_path):
    ds, tables, _ = foreign
    with pytest.raises(InputError, match="trial simulator"):
        compute(
            ds / "participants.tsv",
            tmp_path,
            resolve({"bootstrap": {"n": 50}}),
            glx=tables / "glx_timecourse.tsv",
            clinical=tables / "clinical.tsv",
            truth_dir=ds / "derivatives" / "truth",
        )
    assert not (tmp_path / "findings.tsv").exists()


# --- item 4: only the scales a trial has ---------------------------------------------------


def test_madrs_only_dataset_validates_with_the_default(foreign):
    ds = foreign[0]
    assert validate_dataset(ds, check_spectra=False).problems == []
    with open(REPO / "config" / "config.yaml") as fh:
        required = yaml.safe_load(fh)["validation"]["required_scales"]
    assert required == ["madrs"]
    assert validate_dataset(ds, tuple(required), check_spectra=False).problems == []


def test_phenotype_table_without_definition_is_noted_not_rejected(dataset_copy):
    (dataset_copy / "phenotype" / "hamd.tsv").write_text(
        "participant_id\tsession_id\tvisit\tHAMD1\nsub-01\tses-1\tpre\t2\n"
    )
    v = validate_dataset(dataset_copy, check_spectra=False)
    assert v.problems == []
    assert any("hamd.tsv" in n and "not analysed" in n for n in v.notes)


def test_only_present_scales_are_scored(foreign, capsys, tmp_path):
    ds, tables, _ = foreign
    clinical = read_tsv(tables / "clinical.tsv")
    assert set(clinical["scale"]) == {"madrs"}
    wide = read_tsv(tables / "clinical_wide.tsv")
    assert [c for c in wide.columns if c.startswith(SELF_REPORT)] == []
    assert len(read_tsv(tables / "clinical_madrs.tsv")) == 2 * TRIAL["participants"]
    assert cli_main(["score", str(ds), "--out", str(tmp_path)]) == 0
    assert "qids_sr16 not scored (phenotype/qids_sr16.tsv is not in the dataset)" in (
        capsys.readouterr().out
    )


def test_missing_madrs_is_a_clear_error(foreign, tmp_path):
    ds = tmp_path / "ds"
    shutil.copytree(foreign[0], ds)
    (ds / "phenotype" / "madrs.tsv").unlink()
    with pytest.raises(InputError, match=r"madrs\.tsv: file not found: .* primary outcome"):
        score_dataset(ds)


def test_findings_of_absent_scales_are_not_available_with_reason(foreign):
    _, _, stats = foreign
    f = read_tsv(stats / "findings.tsv")
    assert {"status", "note"} <= set(f.columns)
    selfrep = f[f.finding_id == "selfreport_condition_by_time"]
    assert len(selfrep) == len(SELF_REPORT)
    assert (selfrep.status == "not available").all()
    assert selfrep[["value", "p_value", "estimate", "ci_low", "ci_high"]].isna().all().all()
    for scale in SELF_REPORT:
        note = selfrep[selfrep.outcome.str.startswith(scale)].note.iloc[0]
        assert f"phenotype/{scale}.tsv is not in the dataset" in note
    madrs = f[f.finding_id == "madrs_condition_by_time"].iloc[0]
    assert madrs.status == "estimated" and madrs.p_value > 0
    notes = f[f.status == "estimated"]["note"].dropna()
    assert notes.str.startswith("singular (boundary) fit: ").all()  # the only note they carry
    assert (f.loc[f.status == "estimated", "finding_id"] == "madrs_attenuation_pct").any()
    doc = json.loads((stats / "selfreport_qids_sr16_total.json").read_text())
    assert "phenotype/qids_sr16.tsv" in doc["skipped"]


def test_unknown_scale_in_a_model_is_a_config_error(foreign, tmp_path):
    ds, tables, _ = foreign
    spec = {**resolve()["models"]["selfreport_qids_sr16_total"], "scale": "hamd"}
    with pytest.raises(InputError, match="unknown scale/score 'hamd'"):
        compute(
            ds / "participants.tsv",
            tmp_path,
            resolve({"models": {"selfreport_qids_sr16_total": spec}}),
            clinical=tables / "clinical.tsv",
        )


def test_reporting_tables_and_figures_cope(foreign):
    ds, tables, stats = foreign
    participants = read_tsv(ds / "participants.tsv")
    clinical = read_tsv(tables / "clinical.tsv")
    t1 = table1(participants, clinical).set_index("characteristic")
    qids = t1.loc["QIDS-SR16 total, pre-infusion period 1, mean (SD)"]
    assert list(qids) == [NOT_IN_DATASET] * 3
    assert t1.loc["MADRS total, pre-infusion period 1, mean (SD)", "all"] != NOT_IN_DATASET
    flow = participant_flow(
        participants, sessions_table(ds), read_tsv(tables / "glx_timecourse.tsv"), clinical
    )
    assert flow.madrs_pre.all()
    fig = plots.selfreport(clinical)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert sum("not available" in t for t in texts) == len(SELF_REPORT)
    assert any("phenotype/qids_sr16.tsv not in the dataset" in t for t in texts)
    fig = plots.forest(read_tsv(stats / "findings.tsv"))
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "estimate, 95 % CI" in labels and "true value (simulated data)" not in labels
    # the two crossover_period rows of the Glx outcome are told apart by their model
    rows = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    period = [r for r in rows if r.startswith("crossover_period\nglx_tnaa")]
    assert period == [
        "crossover_period\nglx_tnaa\n(glx_condition_infusion)",
        "crossover_period\nglx_tnaa\n(sensitivity_session_intercept)",
    ]
    assert len(set(rows)) == len(rows)


def test_findings_notebook_runs(foreign, tmp_path):
    _, tables, stats = foreign
    out = tmp_path / "results"
    run_notebook(
        REPO / "workflow" / "notebooks" / "findings.ipynb",
        out / "findings.ipynb",
        out / "findings.html",
        {
            "glx_timecourse": str(tables / "glx_timecourse.tsv"),
            "clinical": str(tables / "clinical.tsv"),
            "findings": str(stats / "findings.tsv"),
            "figures": figure_files(
                out / "figures" / f"{stem}.{ext}"
                for stem in FINDINGS_FIGURES
                for ext in ("png", "pdf")
            ),
            "simulated": False,
        },
        cwd=tmp_path,
    )
    shown = notebook_output(out / "findings.ipynb")
    assert "Not available on these data" in shown
    assert "phenotype/qids_sr16.tsv is not in the dataset" in shown
    assert "Simulated data" not in shown
    assert (out / "findings.html").stat().st_size > 0
    assert (out / "figures" / "selfreport.png").stat().st_size > 0


# --- the whole workflow on a tiny MADRS-only dataset with a foreign truth folder ----------

TINY = {
    "participants": 4,
    "seed": 5,
    "design": {"female_fraction": 0.5},
    "acquisition": {
        "baseline_min": 1.0,
        "baseline_jitter_min": 0.0,
        "infusion_min": 2.0,
        "multi_coil_fraction": 0.0,
    },
}


@pytest.mark.slow
def test_workflow_on_a_foreign_madrs_only_dataset(tmp_path):
    ds = tmp_path / "data" / "trial"
    simulate_trial(ds, sim_resolve(TINY))
    make_foreign(ds)
    before = tree_digest(ds)
    config = {
        "dataset": "data/trial",
        "demo": {"generate_if_missing": True},
        "preprocess": {
            "baseline_blocks": 1,
            "infusion_block_min": 1.0,
            "infusion_window_min": 2.0,
        },
        "stats": {"bootstrap": {"n": 100, "seed": 1}},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(REPO / "Snakefile"),
            "-d",
            str(tmp_path),
            "--configfile",
            str(tmp_path / "config.yaml"),
            "--cores",
            "2",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": "0"},
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    res = tmp_path / "results"
    glx = read_tsv(res / "tables" / "glx_timecourse.tsv")
    assert not set(TRUTH_COLUMNS) & set(glx.columns)
    f = read_tsv(res / "stats" / "findings.tsv")
    assert f["truth"].isna().all()
    selfrep = f[f.finding_id == "selfreport_condition_by_time"]
    assert (selfrep.status == "not available").all() and selfrep.note.notna().all()
    assert set(read_tsv(res / "tables" / "clinical.tsv")["scale"]) == {"madrs"}
    t1 = read_tsv(res / "tables" / "table1.tsv")
    assert (t1 == NOT_IN_DATASET).any(axis=None)
    shown = notebook_output(res / "notebooks" / "findings.ipynb")
    assert "Simulated data" not in shown and "Not available on these data" in shown
    assert "Simulated data" not in notebook_output(res / "notebooks" / "quality.ipynb")
    for stem in plots.FIGSIZE:
        assert (res / "figures" / f"{stem}.png").is_file() or stem == "forest"
    # the dataset is read, never written (nor regenerated)
    assert tree_digest(ds) == before
