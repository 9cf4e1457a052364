"""The fit figure as a job of its own: `fmrstrial fit` writes the curves it is drawn from and
`fmrstrial plot-fit` draws it (so that a fit job does not import matplotlib;
test_fit_startup.py checks the imports)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fmrstrial.cli import main
from fmrstrial.fit.synthetic import demo_model, make_blocks
from fmrstrial.io.nifti_mrs import MRSData, write_nifti_mrs
from fmrstrial.paths import resource

GE = str(resource("basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS"))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> Path:
    sim = demo_model()
    fids = np.stack([b.fid for b in make_blocks(3, 5, sim)], axis=1)
    folder = tmp_path_factory.mktemp("fit")
    data = MRSData(fids, sim.dwell_s, sim.cf_mhz, dim_tags=("DIM_DYN",),
                   header={"EchoTime": 0.035})  # fmt: skip
    write_nifti_mrs(folder / "blocks.nii.gz", data)
    out = folder / "out"
    assert main(["fit", str(folder / "blocks.nii.gz"), "--basis", GE, "--out", str(out),
                 "--no-figure"]) == 0  # fmt: skip
    return out


def test_curves_hold_the_first_and_last_block(fitted):
    curves = pd.read_csv(fitted / "fit_curves.tsv", sep="\t")
    assert sorted(curves["block"].unique()) == [0, 2]
    one = curves[curves["block"] == 0]
    assert one["ppm"].between(0.1, 4.3).all() and len(one) > 300
    # the fit is the baseline plus the components: above the baseline where NAA peaks
    peak = one.loc[one["NAA"].idxmax()]
    assert abs(peak["ppm"] - 2.01) < 0.03
    assert peak["fit"] - peak["baseline"] >= 0.9 * peak["NAA"]
    resid = (one["data"] - one["fit"]).std()
    assert resid < 0.1 * one["NAA"].max()
    sidecar = json.loads((fitted / "fit_curves.json").read_text())
    assert list(sidecar) == list(curves.columns)
    assert not (fitted / "fit.png").exists()


def test_plot_fit_draws_the_figure_from_the_tables(fitted, capsys):
    assert main(["plot-fit", str(fitted), "--title", "demo"]) == 0
    assert (fitted / "fit.png").stat().st_size > 10_000
    assert "drew" in capsys.readouterr().out


def test_plot_fit_names_a_missing_table(tmp_path, capsys):
    assert main(["plot-fit", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "fit_curves.tsv" in err and "fmrstrial fit" in err
    assert not (tmp_path / "fit.png").exists()
