"""End to end: the whole workflow on a small simulated trial, twice.

Checks every declared output (figures at their declared pixel size), the report, the privacy
scan of everything under results/, byte-identical results of two runs in fresh folders, a
no-op re-run, and that editing one MADRS value re-runs only what depends on it.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from fmrstrial.cli import main as cli_main
from fmrstrial.figures.plots import FIGSIZE
from fmrstrial.io.tsv import read_tsv, write_tsv
from fmrstrial.paths import resource
from fmrstrial.privacy import scan
from fmrstrial.workflow_plan import WORKFLOW_DEMO_MARK

pytestmark = pytest.mark.slow

CONFIG = {
    "dataset": "data/demo",
    "simulate": {
        "participants": 6,
        "seed": 11,
        "design": {"female_fraction": 0.5},
        "acquisition": {
            "baseline_min": 2.0,
            "baseline_jitter_min": 0.2,
            "infusion_min": 10.0,
            "multi_coil_fraction": 0.2,
        },
    },
    "preprocess": {"baseline_blocks": 1, "infusion_block_min": 2.0, "infusion_window_min": 10.0},
    "stats": {"bootstrap": {"n": 200, "seed": 1}},
    "validation": {"required_scales": ["madrs", "qids_sr16"]},
}
COMPARE_SKIP = {"logs", "benchmarks"}


def snakemake(workdir: Path, *args: str, config: dict = CONFIG) -> subprocess.CompletedProcess:
    cfg = workdir / "test-config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(REPO / "Snakefile"),
            "-d",
            str(workdir),
            "--configfile",
            str(cfg),
            "--cores",
            "2",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )


def run_all(workdir: Path) -> None:
    workdir.mkdir(parents=True)
    done = snakemake(workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    report = snakemake(workdir, "--report", "results/report.html")
    assert report.returncode == 0, report.stderr[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("workflow")
    first, second = base / "a" / "run", base / "b" / "run"
    run_all(first)
    run_all(second)
    return first, second


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_outputs_and_figures(runs):
    run = runs[0]
    for rel in (
        "results/stats/findings.tsv",
        "results/tables/glx_timecourse.tsv",
        "results/tables/clinical.tsv",
        "results/tables/table1.tsv",
        "results/tables/mrsinmrs.tsv",
        "results/notebooks/findings.html",
        "results/notebooks/quality.html",
        "results/provenance/manifest.json",
        "results/report.html",
    ):
        assert (run / rel).stat().st_size > 0, rel
    findings = read_tsv(run / "results/stats/findings.tsv")
    # the primary fit is the default (dynamic) mode; the other mode (block by block) is a
    # sensitivity row, each with its own model description
    rows = findings.set_index("finding_id")
    primary = rows.loc["glx_condition_infusion"]
    assert "fitted jointly (dynamic" in primary.spectral_model
    other = rows.loc["sensitivity_other_fit_mode"]
    assert other.status == "estimated" and "fitted block by block" in other.spectral_model
    assert other.estimate != primary.estimate
    assert (run / "results/tables/glx_timecourse_blocks.tsv").stat().st_size > 0
    assert (run / "results/fit/sub-01/ses-1/response.tsv").stat().st_size > 0
    for stem in (
        "glx_timecourse",
        "madrs_prepost",
        "glx_by_sex",
        "selfreport",
        "spectrum_fit",
        "qc_distributions",
        "frequency_drift",
        "findings_forest",
    ):
        png = run / "results/figures" / f"{stem}.png"
        pdf = run / "results/figures" / f"{stem}.pdf"
        assert png.stat().st_size > 10_000 and pdf.stat().st_size > 5_000, stem
        width, height = png_size(png)
        if stem == "findings_forest":  # one row per finding with an estimate
            w_in = FIGSIZE["forest"][0]
            h_in = max(2.0, 0.42 * findings["estimate"].notna().sum() + 0.8)
        else:
            w_in, h_in = FIGSIZE[stem]
        assert (width, height) == (round(300 * w_in), round(300 * h_in)), stem


def test_privacy_scan_of_all_results(runs):
    run = runs[0]
    dataset = (run / "data/demo").resolve()
    assert scan(run / "results", [str(dataset), str(run.resolve())]) == []


def test_two_runs_are_byte_identical(runs):
    first, second = runs

    def files(root: Path) -> dict[str, bytes]:
        out = {}
        for p in sorted((root / "results").rglob("*")):
            rel = p.relative_to(root / "results")
            if p.is_file() and not COMPARE_SKIP & set(rel.parts) and rel.name != "report.html":
                out[str(rel)] = p.read_bytes()
        return out

    a, b = files(first), files(second)
    assert a.keys() == b.keys()
    different = [k for k in a if a[k] != b[k]]
    assert different == [], different
    assert any(k.endswith(".nii.gz") for k in a) and any(k.endswith(".ipynb") for k in a)


def test_every_result_file_is_declared_by_a_rule(runs):
    """Every file under results/ is an output or log of a job in the DAG (Snakemake's
    summary lists both), a benchmark (declared by `benchmark:`) or the report, which
    `snakemake --report` writes."""
    plan = snakemake(runs[0], "--summary")
    assert plan.returncode == 0, plan.stderr[-3000:]
    declared = set()
    for line in plan.stdout.splitlines()[1:]:
        cells = line.split("\t")
        declared.add(cells[0])
        declared.update(f for f in cells[3].split(",") if f and f != "-")
    root = runs[0] / "results"
    present = {
        str(p.relative_to(runs[0]))
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] != "benchmarks"
    }
    assert present - declared == {"results/report.html"}, sorted(present - declared)


def test_cli_steps_reproduce_the_workflow_tables(runs, tmp_path):
    """The subcommands are thin wrappers over the rules' functions: run on the workflow's
    own results they give the same bytes."""
    run = runs[0]
    summaries = sorted(str(p) for p in (run / "results/converted").rglob("sub-*.json"))
    out = tmp_path / "cli"
    cfg = str(run / "test-config.yaml")
    commands = [
        [
            "conversion-summary", *summaries, "--table", str(out / "acquisition_parameters.tsv"),
            "--differences", str(out / "acquisition_differences.tsv"), "--config", cfg,
        ],
        [
            "glx-timecourse", str(run / "data/demo"), "--preproc", str(run / "results/preproc"),
            "--fit", str(run / "results/fit"), "--config", cfg,
            "--out", str(out / "glx_timecourse.tsv"),
        ],
        [
            "reporting-tables", str(run / "data/demo"),
            "--clinical", str(run / "results/tables/clinical.tsv"),
            "--glx", str(run / "results/tables/glx_timecourse.tsv"),
            "--acquisition", str(run / "results/converted/acquisition_parameters.tsv"),
            "--manifest", str(run / "results/provenance/manifest.json"), "--config", cfg,
            "--basis", "3T_PRESS_GE_35ms_noMM.BASIS", "--out", str(out),
        ],
        [
            "trial-baseline", *sorted(str(p) for p in (run / "results/preproc").glob("*/*")),
            "--basis", str(resource("basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS")),
            "--out", str(out / "trial_baseline.tsv"),
        ],
    ]  # fmt: skip
    for args in commands:
        assert cli_main(args) == 0, args[0]
    for rel in (
        "converted/acquisition_parameters.tsv",
        "converted/acquisition_differences.tsv",
        "tables/glx_timecourse.tsv",
        "tables/table1.tsv",
        "tables/participant_flow.tsv",
        "tables/participant_flow_summary.tsv",
        "tables/mrsinmrs.tsv",
        "fit/trial_baseline.tsv",
        "fit/trial_baseline.json",
    ):
        mine = out / Path(rel).name
        assert mine.read_bytes() == (run / "results" / rel).read_bytes(), rel


def test_noop_rerun_does_nothing(runs):
    plan = snakemake(runs[0], "--dry-run")
    assert plan.returncode == 0
    assert "Nothing to be done" in plan.stdout + plan.stderr


def test_editing_madrs_reruns_only_dependants(runs, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(runs[1], run, symlinks=True)
    madrs = run / "data/demo/phenotype/madrs.tsv"
    table = read_tsv(madrs, dtype=str)
    table.loc[0, "madrs_01"] = "0" if table.loc[0, "madrs_01"] != "0" else "1"
    write_tsv(table, madrs)
    plan = snakemake(run, "--dry-run", "--quiet", "rules")
    out = plan.stdout + plan.stderr
    assert plan.returncode == 0, out
    rules = {line.split()[0] for line in out.splitlines() if line and line.split()[0] in RULES}
    assert {"score_clinical", "stats", "notebook_findings"} <= rules, out
    assert not rules & {
        "simulate_demo",
        "validate_dataset",
        "convert_svs",
        "convert_reference",
        "preprocess_session",
        "trial_baseline",
        "fit_session",
        "fit_session_other_mode",
        "glx_timecourse",
    }, out
    assert rules <= {
        "score_clinical",
        "stats",
        "reporting_tables",
        "notebook_findings",
        "notebook_quality",
        "provenance",
        "privacy_check",
        "all",
    }, out


def test_only_the_workflows_own_demo_is_regenerated(runs, tmp_path):
    """The demo rule marks what it writes; a dataset from `fmrstrial simulate` (same
    simulator, no mark) is input and is never rewritten, whatever the simulate settings."""
    run = tmp_path / "copy"
    shutil.copytree(runs[1], run, symlinks=True)
    desc = run / "data/demo/dataset_description.json"
    doc = json.loads(desc.read_text())
    assert doc["GeneratedBy"][0]["Description"].endswith(WORKFLOW_DEMO_MARK)
    other_seed = {**CONFIG, "simulate": {**CONFIG["simulate"], "seed": 12}}

    def planned() -> set[str]:
        plan = snakemake(run, "--dry-run", "--quiet", "rules", config=other_seed)
        out = plan.stdout + plan.stderr
        assert plan.returncode == 0, out
        return {line.split()[0] for line in out.splitlines() if line and line.split()[0] in RULES}

    assert "simulate_demo" in planned()  # new settings: the workflow's demo is re-simulated
    doc["GeneratedBy"][0]["Description"] = doc["GeneratedBy"][0]["Description"].removesuffix(
        WORKFLOW_DEMO_MARK
    )
    desc.write_text(json.dumps(doc))
    assert "simulate_demo" not in planned()


RULES = {
    "simulate_demo",
    "validate_dataset",
    "convert_svs",
    "convert_reference",
    "conversion_summary",
    "preprocess_session",
    "trial_baseline",
    "fit_session",
    "fit_session_other_mode",
    "glx_timecourse",
    "score_clinical",
    "stats",
    "reporting_tables",
    "notebook_findings",
    "notebook_quality",
    "provenance",
    "privacy_check",
    "all",
}
