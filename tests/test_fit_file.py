"""`fit_file` and `fmrstrial fit`: blocks along DIM_DYN, output tables, determinism, errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fmrstrial.cli import main
from fmrstrial.errors import InputError
from fmrstrial.fit import DEFAULTS
from fmrstrial.fit.basis_setup import component_names
from fmrstrial.fit.synthetic import demo_model, make_blocks
from fmrstrial.io.nifti_mrs import MRSData, write_nifti_mrs
from fmrstrial.paths import resource
from fmrstrial.steps.fit import FitOutputs, fit_file

GE = str(resource("basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS"))
N_COMPONENTS = len(component_names(DEFAULTS))  # basis metabolites, -CrCH2, MM, lipids


@pytest.fixture(scope="module")
def blocks():
    sim = demo_model()
    return sim, make_blocks(3, 31, sim)


def write(path: Path, fids: np.ndarray, tags=(), te_s=0.035, cf=None) -> Path:
    sim = demo_model()
    data = MRSData(
        fids=fids,
        dwell_s=sim.dwell_s,
        cf_mhz=cf or sim.cf_mhz,
        dim_tags=tuple(tags),
        header={"EchoTime": te_s},
    )
    write_nifti_mrs(path, data)
    return path


@pytest.fixture(scope="module")
def dyn_file(blocks, tmp_path_factory) -> Path:
    _, bl = blocks
    fids = np.stack([b.fid for b in bl], axis=1)
    return write(tmp_path_factory.mktemp("in") / "blocks.nii.gz", fids, ("DIM_DYN",))


def digest(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def test_cli_fits_every_block_and_writes_tables(dyn_file, blocks, tmp_path, capsys):
    out = tmp_path / "fit"
    assert main(["fit", str(dyn_file), "--basis", GE, "--out", str(out)]) == 0
    assert "fitted 3 block(s)" in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {"fit.tsv", "ratios.tsv", "fit_qc.tsv", "fit.png"} <= names
    assert {"fit.json", "ratios.json", "fit_qc.json"} <= names

    fit = pd.read_csv(out / "fit.tsv", sep="\t", na_values="n/a")
    assert list(fit.columns) == ["block", "metabolite", "amplitude", "crlb_sd", "crlb_pct"]
    assert len(fit) == 3 * (N_COMPONENTS + 4)
    assert sorted(fit["block"].unique()) == [0, 1, 2]
    sums = fit.set_index(["block", "metabolite"])
    for b in range(3):
        glx = sums.loc[(b, "Glx"), "amplitude"]
        assert glx == pytest.approx(
            sums.loc[(b, "Glu"), "amplitude"] + sums.loc[(b, "Gln"), "amplitude"], rel=1e-5
        )
        assert 0 < sums.loc[(b, "tNAA"), "crlb_pct"] < 10

    ratios = pd.read_csv(out / "ratios.tsv", sep="\t")
    assert list(ratios.columns) == ["block", "ratio", "value", "crlb_sd", "crlb_pct"]
    assert set(ratios["ratio"]) == {"Glx/tNAA", "Glu/tNAA", "Gln/tNAA", "Glx/tCr"}
    _, bl = blocks
    glx = ratios[ratios["ratio"] == "Glx/tNAA"].sort_values("block")
    for b, row in zip(bl, glx.itertuples(), strict=True):
        truth = b.ratio(("Glu", "Gln"), ("NAA", "NAAG"))
        assert abs(row.value - truth) < 3.5 * row.crlb_sd

    qc = pd.read_csv(out / "fit_qc.tsv", sep="\t")
    for col in (
        "residual_sd",
        "noise_sd",
        "snr",
        "fwhm_hz",
        "converged",
        "iterations",
        "phase0_deg",
        "shift_hz_metabolites",
        "lorentz_hz_metabolites",
        "gauss_hz_metabolites",
    ):
        assert col in qc.columns, col
    assert (qc["converged"] == 1).all()
    sidecar = json.loads((out / "fit_qc.json").read_text())
    assert set(sidecar) == set(qc.columns)
    assert "NAA" in sidecar["snr"]["Description"]


def test_outputs_are_byte_identical_between_runs(dyn_file, tmp_path):
    fit_file(dyn_file, GE, FitOutputs.in_folder(tmp_path / "a"))
    fit_file(dyn_file, GE, FitOutputs.in_folder(tmp_path / "b"))
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_spectrum_without_dynamic_dimension_is_one_block(blocks, tmp_path):
    _, bl = blocks
    path = write(tmp_path / "one.nii.gz", bl[0].fid)
    fits = fit_file(path, GE, FitOutputs.in_folder(tmp_path / "out"))
    assert [b for b, _ in fits] == [0]
    assert (tmp_path / "out" / "fit.png").stat().st_size > 10_000


def test_other_dimensions_are_rejected(blocks, tmp_path, capsys):
    _, bl = blocks
    fids = np.stack([b.fid for b in bl[:2]], axis=1)
    path = write(tmp_path / "coils.nii.gz", fids, ("DIM_COIL",))
    assert main(["fit", str(path), "--basis", GE, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "coils.nii.gz" in err and "DIM_COIL of size 2" in err
    assert not (tmp_path / "o").exists()


def test_mismatches_are_input_errors(blocks, tmp_path):
    _, bl = blocks
    te = write(tmp_path / "te.nii.gz", bl[0].fid, te_s=0.080)
    with pytest.raises(InputError, match=r"te\.nii\.gz.*echo-time mismatch"):
        fit_file(te, GE, FitOutputs.in_folder(tmp_path / "o1"))
    field = write(tmp_path / "field.nii.gz", bl[0].fid, cf=297.2)
    with pytest.raises(InputError, match=r"field\.nii\.gz.*field mismatch"):
        fit_file(field, GE, FitOutputs.in_folder(tmp_path / "o2"))
    good = write(tmp_path / "good.nii.gz", bl[0].fid)
    with pytest.raises(InputError, match=r"BASIS.*GABA2.*not in the basis"):
        fit_file(good, GE, FitOutputs.in_folder(tmp_path / "o3"), {"metabolites": ["NAA", "GABA2"]})
    assert not any((tmp_path / d).exists() for d in ("o1", "o2", "o3"))


def test_cli_config_errors_name_the_file(dyn_file, tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("fit:\n  ppm_range: [0.2, 4.2]\n  metabolitez: [NAA]\n")
    code = main(
        ["fit", str(dyn_file), "--basis", GE, "--out", str(tmp_path / "o"), "--config", str(cfg)]
    )
    assert code == 2
    assert "cfg.yaml" in capsys.readouterr().err
    cfg.write_text("fit:\n  metabolites: [NAA, Cr, Glu, Glx]\n")
    assert (
        main(
            [
                "fit",
                str(dyn_file),
                "--basis",
                GE,
                "--out",
                str(tmp_path / "o"),
                "--config",
                str(cfg),
            ]
        )
        == 2
    )
    assert "Glx" in capsys.readouterr().err


def test_empty_block_is_reported_not_fitted(blocks, tmp_path):
    """A block without any kept transient (preprocessing writes zeros) gets an n/a row and
    converged 0, so one bad block does not stop the session; a file of empty blocks, or a
    non-finite one, is an input error naming the file."""
    _, bl = blocks
    fids = np.stack([bl[0].fid, np.zeros_like(bl[0].fid), bl[1].fid], axis=1)
    path = write(tmp_path / "empty.nii.gz", fids, ("DIM_DYN",))
    fits = fit_file(path, GE, FitOutputs.in_folder(tmp_path / "o"))
    assert [r.converged for _, r in fits] == [True, False, True]
    ratios = pd.read_csv(tmp_path / "o" / "ratios.tsv", sep="\t", na_values="n/a")
    glx = ratios[ratios.ratio == "Glx/tNAA"].set_index("block")["value"]
    assert np.isnan(glx[1]) and glx[0] > 0 and glx[2] > 0
    qc = pd.read_csv(tmp_path / "o" / "fit_qc.tsv", sep="\t", na_values="n/a")
    assert list(qc.converged) == [1, 0, 1]
    zeros = write(tmp_path / "zeros.nii.gz", np.zeros_like(fids), ("DIM_DYN",))
    with pytest.raises(InputError, match=r"zeros\.nii\.gz: every block is empty"):
        fit_file(zeros, GE, FitOutputs.in_folder(tmp_path / "o2"))
    bad = fids.copy()
    bad[5, 0] = np.nan
    nan_path = write(tmp_path / "nan.nii.gz", bad, ("DIM_DYN",))
    with pytest.raises(InputError, match=r"nan\.nii\.gz: data contain NaN"):
        fit_file(nan_path, GE, FitOutputs.in_folder(tmp_path / "o3"))
