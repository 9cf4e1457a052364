"""`fmrstrial preprocess`: outputs, determinism, configuration and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fmrstrial.cli import main
from fmrstrial.dataset import ref_path, svs_path
from fmrstrial.io.nifti_mrs import read_nifti_mrs, write_nifti_mrs
from fmrstrial.io.tables import read_tsv
from fmrstrial.preprocess.command import PreprocessOutputs


def _session(root, pid="sub-01", sid="ses-1"):
    sessions = read_tsv(root / pid / f"{pid}_sessions.tsv")
    start = float(sessions.set_index("session_id").loc[sid, "infusion_start_s"])
    return svs_path(root, pid, sid), ref_path(root, pid, sid), start


def _args(svs, ref, start, out, *extra):
    args = ["preprocess", str(svs), "--infusion-start", str(start), "--out", str(out), *extra]
    return args + (["--ref", str(ref)] if ref is not None else [])


def test_outputs_are_complete_and_deterministic(small_dataset, tmp_path, capsys):
    svs, ref, start = _session(small_dataset)
    for name in ("a", "b"):
        assert main(_args(svs, ref, start, tmp_path / name)) == 0
    assert "preprocessed" in capsys.readouterr().out
    names = [Path(p).name for p in vars(PreprocessOutputs.in_folder(".")).values()]
    assert len(names) == 7
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    out = tmp_path / "a"
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no temporary left
    blocks = read_tsv(out / "blocks.tsv")
    data = read_nifti_mrs(out / "blocks.nii.gz")
    assert data.dim_tags == ("DIM_DYN",) and data.fids.shape[1] == len(blocks)
    assert data.header["RepetitionTime"] == 3.0
    qc = read_tsv(out / "blocks_qc.tsv")
    sidecar = json.loads((out / "blocks_qc.json").read_text())
    for column in qc.columns:
        assert sidecar[column]["Description"], column
    assert "standard deviation" in sidecar["snr"]["Description"]
    assert sidecar["PreprocessingSettings"]["linewidth_matching"] is True
    assert (out / "qc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    series = read_tsv(out / "transients_qc.tsv")
    assert series.time_s.iloc[0] == pytest.approx(-start)
    assert set(series.excluded.unique()) <= {0, 1}


def test_config_section_is_applied(small_dataset, tmp_path):
    svs, ref, start = _session(small_dataset, "sub-02", "ses-1")
    config = tmp_path / "config.yaml"
    config.write_text(
        "dataset: somewhere\npreprocess:\n  linewidth_matching: false\n"
        "  infusion_block_min: 1.0\n  infusion_window_min: 2.0\n  hlsvd: false\n"
    )
    assert main(_args(svs, ref, start, tmp_path / "out", "--config", str(config))) == 0
    qc = read_tsv(tmp_path / "out" / "blocks_qc.tsv")
    assert len(qc) == 4 and (qc.broadening_hz == 0).all()
    assert qc.naa_fwhm_hz.tolist() == qc.naa_fwhm_unmatched_hz.tolist()


def test_unknown_config_key_names_the_file(small_dataset, tmp_path, capsys):
    svs, ref, start = _session(small_dataset)
    config = tmp_path / "bad.yaml"
    config.write_text("preprocess:\n  hlsvd_band: [4.2, 5.2]\n")
    assert main(_args(svs, ref, start, tmp_path / "out", "--config", str(config))) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "hlsvd_band" in err
    assert not (tmp_path / "out").exists()


def test_missing_reference_names_the_file(small_dataset, tmp_path, capsys):
    svs, _, start = _session(small_dataset)
    missing = tmp_path / "nope_mrsref.nii.gz"
    assert main(_args(svs, missing, start, tmp_path / "out")) == 2
    assert "nope_mrsref.nii.gz: file not found" in capsys.readouterr().err


def test_unusable_session_raises_and_writes_nothing(small_dataset, tmp_path, capsys):
    svs, _, start = _session(small_dataset)
    data = read_nifti_mrs(svs)
    rng = np.random.default_rng(0)
    noise = data.with_fids(rng.standard_normal(data.fids.shape) * (1 + 1j))
    bad = tmp_path / "noise_svs.nii.gz"
    write_nifti_mrs(bad, noise)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("unrelated")
    assert main(_args(bad, None, start, out)) == 2
    err = capsys.readouterr().err
    assert "noise_svs.nii.gz" in err and "no usable transients" in err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_mismatched_reference_is_rejected(small_dataset, tmp_path, capsys):
    svs, ref, start = _session(small_dataset)
    water = read_nifti_mrs(ref)
    short = tmp_path / "short_mrsref.nii.gz"
    write_nifti_mrs(short, water.with_fids(water.fids[:512]))
    assert main(_args(svs, short, start, tmp_path / "out")) == 2
    assert "short_mrsref.nii.gz: water reference has 512 points" in capsys.readouterr().err


def test_missing_repetition_time_needs_setting(small_dataset, tmp_path, capsys):
    svs, ref, start = _session(small_dataset)
    data = read_nifti_mrs(svs)
    data.header.pop("RepetitionTime")
    no_tr = tmp_path / "notr_svs.nii.gz"
    write_nifti_mrs(no_tr, data)
    assert main(_args(no_tr, ref, start, tmp_path / "out")) == 2
    assert "notr_svs.nii.gz: RepetitionTime is missing" in capsys.readouterr().err
    config = tmp_path / "tr.yaml"
    config.write_text("preprocess:\n  tr_s: 3.0\n")
    assert main(_args(no_tr, ref, start, tmp_path / "out", "--config", str(config))) == 0


def test_module_entry_point(small_dataset, tmp_path, capsys):
    from fmrstrial.preprocess.__main__ import main as module_main

    svs, ref, start = _session(small_dataset)
    args = [str(svs), "--ref", str(ref), "--infusion-start", str(start), "--out", str(tmp_path)]
    assert module_main(args) == 0
    assert (tmp_path / "blocks.nii.gz").is_file()
    assert module_main([str(tmp_path / "absent.nii.gz"), *args[1:]]) == 2
    assert "absent.nii.gz: file not found" in capsys.readouterr().err
