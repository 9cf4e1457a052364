"""Parameterised macromolecule and lipid components for short-TE 1H spectra.

Each component is a sum of Gaussian lines (position ppm, FWHM ppm, relative amplitude) at the
positions LCModel uses for its MM09 ... MM20 and Lip09 ... Lip20 model signals (Provencher,
LCModel & LCMgui user's manual, section 11.7, "simulated macromolecule and lipid spectra").
Lip13a and Lip13b are LCModel's broad and narrow 1.28 ppm lipid lines (its default set);
Lip13 is the older two-line lipid component kept for the demo simulator's lipid contamination.
'-CrCH2' is LCModel's negative creatine-CH2 singlet (its CHSIMU entry, 3.93 ppm, -2 protons,
no width of its own): fitted in the metabolites' lineshape, it lets the fit follow a CH2 line
that water suppression or saturation has weakened relative to the basis.
Amplitudes are in protons relative to the other lines of the same component; the absolute
scale is set by the caller (`unit_amplitude`).
"""

from __future__ import annotations

import numpy as np

from .spectra import time_axis

#: component -> list of (ppm, FWHM ppm, relative amplitude)
MM_LIPID_LINES: dict[str, list[tuple[float, float, float]]] = {
    "MM09": [(0.91, 0.14, 3.0)],
    "MM12": [(1.21, 0.15, 2.0)],
    "MM14": [(1.43, 0.17, 2.0)],
    "MM17": [(1.67, 0.15, 2.0)],
    "MM20": [(2.08, 0.15, 1.33), (2.25, 0.20, 0.33), (1.95, 0.15, 0.33), (3.00, 0.20, 0.40)],
    "Lip09": [(0.89, 0.14, 3.0)],
    "Lip13": [(1.28, 0.15, 2.0), (1.28, 0.89, 2.0)],
    "Lip13a": [(1.28, 0.15, 2.0)],
    "Lip13b": [(1.28, 0.089, 2.0)],
    "Lip20": [(2.04, 0.15, 1.33), (2.25, 0.15, 0.67), (2.80, 0.20, 0.87)],
    "-CrCH2": [(3.93, 0.0, -2.0)],
}

MACROMOLECULES = ("MM09", "MM12", "MM14", "MM17", "MM20")
LIPIDS = ("Lip09", "Lip13", "Lip13a", "Lip13b", "Lip20")
#: The creatine CH2 correction, fitted with the metabolites (`fit.settings.crch2_correction`).
CRCH2 = "-CrCH2"


def component_fids(
    names: tuple[str, ...] | list[str],
    n_points: int,
    dwell_s: float,
    cf_mhz: float,
    centre_ppm: float,
    unit_amplitude: float = 1.0,
) -> np.ndarray:
    """Time-domain signals of MM/lipid components, shape (n_points, len(names)).

    Each line contributes ``unit_amplitude * relative_amplitude`` at t = 0 (its spectral area).
    """
    t = time_axis(n_points, dwell_s)
    out = np.zeros((n_points, len(names)), dtype=np.complex128)
    for k, name in enumerate(names):
        try:
            lines = MM_LIPID_LINES[name]
        except KeyError:
            raise KeyError(
                f"unknown macromolecule/lipid component '{name}'; known: {sorted(MM_LIPID_LINES)}"
            ) from None
        for ppm, fwhm_ppm, amp in lines:
            f = (ppm - centre_ppm) * cf_mhz
            g = fwhm_ppm * cf_mhz
            envelope = np.exp(-((np.pi * g * t) ** 2) / (4.0 * np.log(2.0)))
            out[:, k] += unit_amplitude * amp * envelope * np.exp(2j * np.pi * f * t)
    return out
