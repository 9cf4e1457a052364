"""Fit of real in-vivo spectra: the two Philips PRESS TE 35 ms data sets (Osprey example data,
tests/data/vendor/philips_sdat_press35, already averaged on the scanner), converted with
spec2nii into a temporary folder, eddy-current corrected with their water references (Klose:
divide by the water FID's phase) and fitted with the Philips PRESS 35 ms basis and the
in-vivo settings (`fmrstrial.fit.IN_VIVO`).

Reference ranges. Healthy-brain concentrations from Govindaraju, Young & Maudsley (2000),
"Proton NMR chemical shifts and coupling constants for brain metabolites", NMR Biomed
13:129-153, table of concentrations (mM): NAA 7.9-16.6, NAAG 0.6-2.7, Glu 6.0-12.5,
Gln 3.0-5.8, Cr 5.1-10.6, PCr 3.2-5.5, myo-inositol 3.8-8.1. A ratio's range is bounded by
the extreme quotients of these ranges (lowest numerator over highest denominator, and vice
versa); the amplitudes are basis-set units (one unit = one molecule's signal at TE 35 ms, no
relaxation correction), comparable with concentration ratios to within the T2 differences.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fmrstrial.fit import IN_VIVO, fit_spectrum
from fmrstrial.io.basis import read_basis
from fmrstrial.io.nifti_mrs import read_nifti_mrs
from fmrstrial.paths import resource

VENDOR = Path(__file__).parent / "data" / "vendor" / "philips_sdat_press35"
BASIS = "basis/lcmodel_press35_3T/3T_PRESS_Philips_35ms_noMM.BASIS"

#: Govindaraju et al. 2000 concentration ranges, mM (see module doc).
CONC = {
    "NAA": (7.9, 16.6),
    "NAAG": (0.6, 2.7),
    "Glu": (6.0, 12.5),
    "Gln": (3.0, 5.8),
    "Cr": (5.1, 10.6),
    "PCr": (3.2, 5.5),
    "Ins": (3.8, 8.1),
}


def range_of(num: tuple[str, ...], den: tuple[str, ...]) -> tuple[float, float]:
    """Extreme quotients of summed concentration ranges."""
    lo_n, hi_n = (sum(CONC[m][i] for m in num) for i in (0, 1))
    lo_d, hi_d = (sum(CONC[m][i] for m in den) for i in (0, 1))
    return lo_n / hi_d, hi_n / lo_d


TNAA = ("NAA", "NAAG")
RANGES = {
    "Glx/tNAA": range_of(("Glu", "Gln"), TNAA),  # 0.47 - 2.15
    "Glu/tNAA": range_of(("Glu",), TNAA),  # 0.31 - 1.47
    "tCr/tNAA": range_of(("Cr", "PCr"), TNAA),  # 0.43 - 1.89
    "Ins/tNAA": range_of(("Ins",), TNAA),  # 0.20 - 0.95
}


def spec2nii(*args: str) -> None:
    cmd = [sys.executable, "-c", "from spec2nii.spec2nii import main; main()", *args]
    subprocess.run(cmd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def fits(tmp_path_factory):
    out = tmp_path_factory.mktemp("philips")
    basis = read_basis(resource(BASIS))
    results = {}
    for sub in ("sub-01", "sub-02"):
        for kind in ("act", "ref"):
            stem = VENDOR / sub / f"{sub}_PRESS_35_{kind}"
            spec2nii("philips", "-f", f"{sub}_{kind}", "-o", str(out), f"{stem}.sdat",
                     f"{stem}.spar")  # fmt: skip
        act = read_nifti_mrs(out / f"{sub}_act.nii.gz")
        ref = read_nifti_mrs(out / f"{sub}_ref.nii.gz")
        assert act.fids.ndim == 1  # averaged on the scanner: one block
        fid = act.fids * np.exp(-1j * np.angle(ref.fids))  # Klose eddy-current correction
        te_ms = 1000.0 * act.header["EchoTime"]
        results[sub] = fit_spectrum(
            fid, act.dwell_s, act.cf_mhz, basis, IN_VIVO, te_ms=te_ms, source=sub
        )
    return results


@pytest.mark.parametrize("sub", ["sub-01", "sub-02"])
def test_ratios_in_published_healthy_ranges(fits, sub):
    r = fits[sub]
    assert r.converged
    tnaa = r.sums["tNAA"].value
    values = {
        "Glx/tNAA": r.ratios["Glx/tNAA"].value,
        "Glu/tNAA": r.ratios["Glu/tNAA"].value,
        "tCr/tNAA": r.sums["tCr"].value / tnaa,
        "Ins/tNAA": r.amplitude("Ins") / tnaa,
    }
    for name, value in values.items():
        lo, hi = RANGES[name]
        assert lo <= value <= hi, (sub, name, value, (lo, hi))
    assert r.ratios["Glx/tNAA"].pct < 10.0
    assert 80 < r.snr < 200 and 5.0 < r.fwhm_hz < 11.0


@pytest.mark.parametrize("sub", ["sub-01", "sub-02"])
def test_residual_close_to_noise(fits, sub):
    r = fits[sub]
    assert r.noise_source == "region"
    assert r.residual_ratio <= 1.3, r.residual_ratio


def test_default_settings_fit_worse_than_in_vivo_settings(fits, tmp_path):
    """The in-vivo settings exist for a reason: with the demo defaults (Voigt lines, one shift
    and width for all metabolites, stiff 0.4-ppm baseline) the residual is clearly larger."""
    out = tmp_path
    stem = VENDOR / "sub-02" / "sub-02_PRESS_35"
    spec2nii("philips", "-f", "act", "-o", str(out), f"{stem}_act.sdat", f"{stem}_act.spar")
    spec2nii("philips", "-f", "ref", "-o", str(out), f"{stem}_ref.sdat", f"{stem}_ref.spar")
    act, ref = read_nifti_mrs(out / "act.nii.gz"), read_nifti_mrs(out / "ref.nii.gz")
    fid = act.fids * np.exp(-1j * np.angle(ref.fids))
    plain = fit_spectrum(fid, act.dwell_s, act.cf_mhz, read_basis(resource(BASIS)))
    assert plain.residual_ratio > fits["sub-02"].residual_ratio + 0.2
