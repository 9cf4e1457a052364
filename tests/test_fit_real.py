"""The default fit on four real spectra against LCModel 6.3 with its default settings.

Spectra (tests/data/vendor, with their licences): the two Philips PRESS TE 35 ms data sets
(Philips 35 ms basis) and two Siemens RDA PRESS TE 30 ms data sets (fitted, as LCModel was,
with the Siemens 35 ms basis). Each is converted by `fmrstrial convert` and fitted by
`fmrstrial fit` with the default settings, exactly as a user would; the FID is not
preprocessed, as for LCModel (tests/data/lcmodel/README.md). Targets of the fitting issue:
Glx/tNAA and tNAA/tCr within 10 % of LCModel, and the spread of Glx/tNAA across the spectra
no more than 1.5 times LCModel's. Measured (not asserted) residual/noise is reported by
tests/benchmarks/bench_fit_validation.py.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from real_spectra import BASIS, SPECTRA, convert

from fmrstrial.cli import main
from fmrstrial.paths import resource

DATA = Path(__file__).parent / "data"


def lcmodel() -> dict[str, dict[str, str]]:
    """LCModel's summary row of each spectrum, by our short name (real_spectra.SPECTRA)."""
    with open(DATA / "lcmodel" / "summary.tsv") as fh:
        rows = {r["name"]: r for r in csv.DictReader(fh, delimiter="\t")}
    return {name: rows[s.lcmodel] for name, s in SPECTRA.items()}


def fit_as_a_user(nii: Path, vendor: str, out: Path) -> dict[str, float]:
    """`fmrstrial fit` of `nii` with the vendor's 35 ms basis into `out`; its ratios and QC."""
    args = ["fit", str(nii), "--basis", str(resource(BASIS.format(vendor)))]
    assert main([*args, "--out", str(out)]) == 0
    amp = pd.read_csv(out / "fit.tsv", sep="\t").set_index("metabolite")["amplitude"]
    qc = pd.read_csv(out / "fit_qc.tsv", sep="\t").iloc[0]
    return {
        "glx_tnaa": amp["Glx"] / amp["tNAA"],
        "tnaa_tcr": amp["tNAA"] / amp["tCr"],
        "crch2_tcr": amp["-CrCH2"] / amp["tCr"],
        "residual_noise_ratio": float(qc["residual_noise_ratio"]),
        "baseline_ed_per_ppm": float(qc["baseline_ed_per_ppm"]),
    }


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> dict[str, dict[str, float]]:
    out = {}
    for name, spectrum in SPECTRA.items():
        d = tmp_path_factory.mktemp(name)
        out[name] = fit_as_a_user(convert(name, d / "data.nii.gz"), spectrum.vendor, d / "fit")
    return out


@pytest.mark.parametrize("name", list(SPECTRA))
def test_glx_tnaa_within_10_percent_of_lcmodel(ours, name):
    ref = float(lcmodel()[name]["glx_tnaa"])
    assert ours[name]["glx_tnaa"] == pytest.approx(ref, rel=0.10)


@pytest.mark.parametrize("name", list(SPECTRA))
def test_tnaa_tcr_within_10_percent_of_lcmodel(ours, name):
    ref = float(lcmodel()[name]["tnaa_tcr"])
    assert ours[name]["tnaa_tcr"] == pytest.approx(ref, rel=0.10)


def test_creatine_ch2_correction_where_lcmodel_uses_it(ours):
    """LCModel's -CrCH2 is 17 % of tCr on sub-02 (whose tNAA/tCr was 12.5 % high without it)
    and 0 on sub-01 (LCModel 6.3's concentration tables; docs/fitting.md)."""
    assert ours["sub-02"]["crch2_tcr"] > 0.05
    assert ours["sub-01"]["crch2_tcr"] < 0.02


def test_spread_of_glx_tnaa_at_most_1_5_times_lcmodel(ours):
    ref = lcmodel()
    mine = np.array([ours[n]["glx_tnaa"] for n in SPECTRA])
    theirs = np.array([float(ref[n]["glx_tnaa"]) for n in SPECTRA])
    assert np.std(mine, ddof=1) <= 1.5 * np.std(theirs, ddof=1)


def test_baseline_flexibility_is_chosen_and_reported(ours):
    eds = [ours[n]["baseline_ed_per_ppm"] for n in SPECTRA]
    assert all(0.5 <= e <= 12.0 for e in eds)
    assert len(set(np.round(eds, 3))) > 1  # chosen per spectrum, not one fixed value


@pytest.fixture(scope="module")
def fifth(tmp_path_factory) -> dict[str, float]:
    """The fifth real spectrum (Siemens SVS_30.rda, 1024 points at 1200 Hz), which no setting
    was tuned on, converted and fitted as a user would."""
    d = tmp_path_factory.mktemp("svs30")
    src = Path(__file__).parent / "data" / "vendor" / "siemens_rda" / "SVS_30.rda"
    assert main(["convert", str(src), "--out", str(d / "data.nii.gz")]) == 0
    return fit_as_a_user(d / "data.nii.gz", "Siemens", d / "fit")


@pytest.mark.parametrize("ratio", ["glx_tnaa", "tnaa_tcr"])
def test_fifth_spectrum_within_10_percent_of_lcmodel(fifth, ratio):
    """LCModel 6.3 on the whole FID (tests/data/lcmodel/fifth_spectrum.tsv, first row).
    Glx/tNAA was 34 % low with the Voigt lineshape shared by all metabolites; the singlets'
    own small shifts (`singlet_groups`) bring it within 10 %."""
    with open(DATA / "lcmodel" / "fifth_spectrum.tsv") as fh:
        ref = next(csv.DictReader(fh, delimiter="\t"))
    assert fifth[ratio] == pytest.approx(float(ref[ratio]), rel=0.10)
