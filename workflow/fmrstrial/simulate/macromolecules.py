"""Macromolecule background of the simulated spectra (not the fitter's MM Gaussians).

The default background is a metabolite-nulled-like MM spectrum of nine Gaussian peaks at the
positions, proton numbers and relative concentrations that Bell et al. (2024, Magn Reson Med;
table published with their FID-A spin systems, github.com/HarrisBrainLab/MMSim) measured by
parameterising the averaged 7 T metabolite-nulled spectra of six volunteers (Povazan et al.
2015, data at zenodo.org/records/3906754), with the peak nomenclature of Cudalbu et al.
(2021, NMR Biomed 34:e4393, "Contribution of macromolecules to brain 1H MR spectra: experts'
consensus recommendations"). Their 7 T linewidths are converted to 3 T by scaling the widths in
Hz by the ratio of the M0.9 width measured at 3 T in the anterior cingulate (19.8 Hz,
Snoussi et al. 2015, Magn Reson Med 74:607) to Bell's M0.95 width (32 Hz): width_3T(Hz) =
width_7T(Hz) * 19.8 / 32 (M0.95: 19.8 Hz, M2.07 under NAA: 23.5 Hz, M3.98: 67 Hz).

Each peak's spectral area is `amplitude * unit` where `unit` is the area of one proton at
1 mM in the basis set; the default amplitudes are relative concentration x protons x 3, so
that M0.95 (3 protons, relative concentration 1) has the area of the old MM09 component
(3 protons at 3 mM-like units). The whole background is scaled by one factor per session:
its shape is the same in every session.

The fitter's LCModel-style components (MM09 ... MM20, `fmrstrial.macromolecules`) are also
accepted by name, for inverse-crime tests only.
"""

from __future__ import annotations

import numpy as np

from ..macromolecules import MM_LIPID_LINES, component_fids
from ..spectra import time_axis

#: Bell et al. 2024 table: name -> (ppm, protons, 7 T Gaussian FWHM Hz, relative conc.).
BELL_2024_7T: dict[str, tuple[float, int, float, float]] = {
    "M0.95": (0.95, 3, 32.0, 1.0),
    "M1.24": (1.235, 3, 23.0, 0.41),
    "M1.43": (1.427, 3, 26.0, 0.98),
    "M1.71": (1.705, 2, 31.0, 1.185),
    "M2.07": (2.07, 2, 38.0, 2.53),
    "M2.30": (2.295, 2, 32.0, 2.00),
    "M3.03": (3.03, 2, 26.0, 1.30),
    "M3.24": (3.24, 2, 48.0, 0.10),
    "M3.98": (3.98, 2, 109.0, 2.33),
}

#: 7 T Hz -> 3 T Hz linewidth factor (see module docstring): the 3 T M0.9 width of Snoussi
#: et al. 2015 (19.8 Hz) over Bell's M0.95 width (32 Hz at 7 T).
WIDTH_7T_TO_3T = 19.8 / 32.0
CF_3T_MHZ = 127.7

#: name -> (ppm, Gaussian FWHM ppm) of the simulator's MM peaks (M0.95: 0.155 ppm).
MM_PEAKS: dict[str, tuple[float, float]] = {
    name: (ppm, fwhm_7t * WIDTH_7T_TO_3T / CF_3T_MHZ)
    for name, (ppm, _, fwhm_7t, _) in BELL_2024_7T.items()
}

#: Default amplitudes (protons x mM-like units): relative concentration x protons x 3.
MM_AMPLITUDES: dict[str, float] = {
    name: round(3.0 * protons * rel, 3) for name, (_, protons, _, rel) in BELL_2024_7T.items()
}


def known_components() -> list[str]:
    """Names accepted in `simulate.signal.macromolecules`."""
    return sorted(MM_PEAKS) + sorted(k for k in MM_LIPID_LINES if k.startswith("MM"))


def mm_fids(
    names: list[str], n_points: int, dwell_s: float, cf_mhz: float, centre_ppm: float, unit: float
) -> np.ndarray:
    """Unit-amplitude MM signals (n_points, len(names)): each has area `unit` per amplitude 1.

    Names from MM_PEAKS are single Gaussian lines; LCModel names (MM09 ...) are the fitter's
    components (inverse-crime tests). KeyError naming the known components otherwise.
    """
    t = time_axis(n_points, dwell_s)
    out = np.zeros((n_points, len(names)), dtype=np.complex128)
    for k, name in enumerate(names):
        if name in MM_PEAKS:
            ppm, fwhm_ppm = MM_PEAKS[name]
            g = fwhm_ppm * cf_mhz
            f = (ppm - centre_ppm) * cf_mhz
            out[:, k] = unit * np.exp(
                -((np.pi * g * t) ** 2) / (4.0 * np.log(2.0)) + 2j * np.pi * f * t
            )
        elif name in MM_LIPID_LINES and name.startswith("MM"):
            out[:, k] = component_fids([name], n_points, dwell_s, cf_mhz, centre_ppm, unit)[:, 0]
        else:
            raise KeyError(
                f"unknown macromolecule component '{name}'; known: {', '.join(known_components())}"
            )
    return out
