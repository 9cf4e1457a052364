"""The four real spectra copied under tests/data/vendor (licences there), for tests and
benchmarks: Philips SDAT/SPAR PRESS TE 35 ms (sub-01, sub-02) and Siemens RDA PRESS TE 30 ms
(ACC, PCG), fitted, as LCModel did, with the 35 ms basis of their vendor; and the broad
residual water line both add to them."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from fmrstrial.cli import main as cli

VENDOR = Path(__file__).parent / "data" / "vendor"
#: Resource path of the 35 ms basis set of a vendor (`.format(vendor)`).
BASIS = "basis/lcmodel_press35_3T/3T_PRESS_{}_35ms_noMM.BASIS"


class RealSpectrum(NamedTuple):
    vendor: str  # 'Philips' or 'Siemens', also the basis set's
    stem: str  # path under VENDOR without the extension
    lcmodel: str  # the spectrum's name in tests/data/lcmodel/summary.tsv


SPECTRA = {
    "sub-01": RealSpectrum("Philips", "philips_sdat_press35/sub-01/sub-01_PRESS_35_act",
                           "sub-01_PRESS_35_act"),
    "sub-02": RealSpectrum("Philips", "philips_sdat_press35/sub-02/sub-02_PRESS_35_act",
                           "sub-02_PRESS_35_act"),
    "ACC": RealSpectrum("Siemens", "siemens_rda_press30/ACC_PRESS", "ACC_PRESS"),
    "PCG": RealSpectrum("Siemens", "siemens_rda_press30/PCG_PRESS", "PCG_PRESS"),
}  # fmt: skip


def convert(name: str, out: Path) -> Path:
    """Convert spectrum `name` with `fmrstrial convert` to the NIfTI-MRS file `out`."""
    spectrum = SPECTRA[name]
    src = VENDOR / spectrum.stem
    files = [f"{src}.sdat", f"{src}.spar"] if spectrum.vendor == "Philips" else [f"{src}.rda"]
    assert cli(["convert", *files, "--out", str(out)]) == 0, f"converting {src} failed"
    return out


def water_line(fid: np.ndarray, dwell_s: float, cf_mhz: float) -> np.ndarray:
    """A broad residual water line (Lorentzian 16 Hz, 0.05 ppm from the data's water, 0.7 rad
    from its phase) of 30 x the mean |fid| of the first 4 points, shape of fid (n,)."""
    t = np.arange(fid.size) * dwell_s
    return 30 * np.abs(fid[:4]).mean() * np.exp(2j * np.pi * 0.05 * cf_mhz * t - t / 0.02 + 0.7j)
