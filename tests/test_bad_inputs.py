"""The bad-input corpus (tests/data/bad/cases.yaml): every case fails clearly and cleanly."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import DATA, REPO, tree_digest
from fmrstrial.cli import main
from fmrstrial.dataset import svs_path
from fmrstrial.io.tsv import read_tsv, write_tsv
from fmrstrial.paths import resource

BAD = DATA / "bad"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text())
GE_BASIS = str(resource("basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS"))


def _path(root: Path, rel: str) -> Path:
    if rel == "{svs}":
        return svs_path(root, "sub-01", "ses-1")
    return root / rel


def apply_edits(root: Path, edits: list[dict]) -> None:
    for edit in edits:
        ((kind, arg),) = edit.items()
        if kind == "delete":
            _path(root, arg).unlink()
        elif kind == "mkdir":
            (root / arg).mkdir()
        elif kind == "copy":
            target = _path(root, arg["to"])
            shutil.copyfile(BAD / arg["from"], target)
        else:
            path = root / arg["file"]
            df = read_tsv(path, dtype=str)
            if kind == "drop_column":
                df = df.drop(columns=arg["column"])
            elif kind == "set_cell":
                df.loc[arg["row"] - 1, arg["column"]] = str(arg["value"])
            elif kind == "duplicate_row":
                df = pd.concat([df, df.iloc[[arg["row"] - 1]]], ignore_index=True)
            else:
                raise ValueError(f"unknown edit {kind}")
            write_tsv(df, path)


def run_stage(case: dict, root: Path, out: Path, tmp: Path, capsys) -> tuple[int, str]:
    stage = case["stage"]
    if stage == "validate":
        code = main(["validate-dataset", str(root)])
    elif stage == "convert":
        source = BAD / case["input"] if "input" in case else _path(root, "{svs}")
        code = main(
            [
                "convert",
                str(source),
                "--out",
                str(out / "x.nii.gz"),
                "--basis",
                GE_BASIS,
                "--summary",
                str(out / "x.json"),
            ]
        )
    elif stage == "preprocess":
        code = main(
            ["preprocess", str(BAD / case["input"]), "--infusion-start", "60", "--out", str(out)]
        )
    elif stage == "score":
        code = main(["score", str(root), "--out", str(out)])
    elif stage == "stats":
        tables = tmp / "tables"
        assert main(["score", str(root), "--out", str(tables)]) == 0
        capsys.readouterr()
        cfg = tmp / "stats.yaml"
        cfg.write_text(yaml.safe_dump({"stats": case["config"]}))
        code = main(
            [
                "stats",
                "--participants",
                str(root / "participants.tsv"),
                "--clinical",
                str(tables / "clinical.tsv"),
                "--config",
                str(cfg),
                "--out",
                str(out),
            ]
        )
    elif stage == "workflow":
        config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        config["dataset"] = str(tmp / "not-yet-simulated")
        for key, value in case["config"].items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key].update(value)
            else:
                config[key] = value
        cfg = tmp / "config.yaml"
        cfg.write_text(yaml.safe_dump(config))
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-s",
                str(REPO / "Snakefile"),
                "--configfile",
                str(cfg),
                "-d",
                str(out),
                "--dry-run",
                "--cores",
                "1",
            ],
            capture_output=True,
            text=True,
        )
        return proc.returncode, proc.stdout + proc.stderr
    else:
        raise ValueError(stage)
    return code, capsys.readouterr().err


def test_corpus_is_large_enough():
    assert len(CASES) >= 25
    assert len({c["id"] for c in CASES}) == len(CASES)
    kinds = {c["id"].split("_")[0] for c in CASES}
    assert {"layout", "nifti", "vendor", "phenotype", "config"} <= kinds


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case, small_dataset, tmp_path, capsys):
    root = tmp_path / "ds"
    shutil.copytree(small_dataset, root)
    apply_edits(root, case.get("edits", []))
    before = tree_digest(root)
    corpus_before = tree_digest(BAD)
    out = tmp_path / "out"
    out.mkdir()
    code, message = run_stage(case, root, out, tmp_path, capsys)
    assert code != 0, f"accepted: {message[-500:]}"
    for text in case["expect"]:
        assert text in message, f"{text!r} not in:\n{message[-1500:]}"
    left = [p for p in out.rglob("*") if p.is_file() and ".snakemake" not in p.parts]
    assert left == [], left
    assert tree_digest(root) == before
    assert tree_digest(BAD) == corpus_before
