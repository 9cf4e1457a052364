"""Output tables of a fitted file: fit.tsv, ratios.tsv, fit_qc.tsv and their JSON sidecars.

All tables have one block per DIM_DYN index (0 = first; a file without DIM_DYN is block 0).
Floats are written with a fixed format (`FLOAT_FORMAT`), missing or infinite values as
'n/a', so identical fits give identical bytes.
"""

from __future__ import annotations

import numpy as np

from ..io.tsv import Rows
from .core import NAA_WINDOW_PPM, FitResult

FLOAT_FORMAT = "%.6g"

FIT_COLUMNS = {
    "block": {"Description": "Index of the spectrum along DIM_DYN (0 = first)."},
    "metabolite": {
        "Description": "Fitted component (metabolite, macromolecule MM*, lipid Lip*, LCModel's "
        "creatine CH2 correction -CrCH2) or sum (Glx = Glu+Gln, tNAA = NAA+NAAG, tCr = Cr+PCr, "
        "tCho = GPC+PCh)."
    },
    "amplitude": {
        "Description": "Fitted amplitude in the units of the basis set (not corrected for "
        "relaxation or water); macromolecules in protons x the same units.",
        "Units": "basis units",
    },
    "crlb_sd": {
        "Description": "Cramér-Rao lower bound (SD) of the amplitude from the Fisher "
        "information of the full model (amplitudes, phases, shifts, widths, baseline) at "
        "the solution; sums use the covariance.",
        "Units": "basis units",
    },
    "crlb_pct": {
        "Description": "crlb_sd as a percentage of the amplitude; n/a when the amplitude is 0.",
        "Units": "%",
    },
}

RATIO_COLUMNS = {
    "block": FIT_COLUMNS["block"],
    "ratio": {"Description": "Ratio of amplitudes or sums, e.g. Glx/tNAA."},
    "value": {"Description": "Ratio of the fitted amplitudes.", "Units": "1"},
    "crlb_sd": {
        "Description": "SD of the ratio by the delta method with the full amplitude "
        "covariance (numerator and denominator are not assumed independent).",
        "Units": "1",
    },
    "crlb_pct": {"Description": "crlb_sd as a percentage of the ratio.", "Units": "%"},
}

QC_BASE_COLUMNS = {
    "block": FIT_COLUMNS["block"],
    "residual_sd": {
        "Description": "Root mean square of the real and imaginary parts of data - fit over "
        "the fitted range (spectrum = fft(fid), no scaling).",
        "Units": "signal units",
    },
    "noise_sd": {
        "Description": "SD of the real part of the spectral noise in the signal-free ranges "
        "(setting noise_ppm, quadratic detrend), or from the FID tail when none is in the "
        "spectral window (see noise_source).",
        "Units": "signal units",
    },
    "residual_noise_ratio": {"Description": "residual_sd / noise_sd (1 for a perfect fit)."},
    "snr": {
        "Description": "SNR: height of the fitted NAA component (real part, phase and "
        "baseline removed, zero-filled 8 times) divided by noise_sd.",
    },
    "fwhm_hz": {
        "Description": "Full width at half maximum of the fitted metabolite + macromolecule "
        "spectrum (phase and baseline removed, zero-filled 8 times) at the largest peak "
        f"between {NAA_WINDOW_PPM[0]} and {NAA_WINDOW_PPM[1]} ppm (NAA).",
        "Units": "Hz",
    },
    "lipid_tnaa": {
        "Description": "Scalp-lipid index: summed amplitudes of the Lip09, Lip13a and Lip13b "
        "components over the tNAA amplitude (n/a when the model has no lipid components); "
        "the time course flags blocks whose index rises above the session's median.",
    },
    "converged": {"Description": "1 if the nonlinear fit met its tolerance, else 0."},
    "iterations": {"Description": "Number of model evaluations of the nonlinear fit."},
    "noise_source": {"Description": "Where noise_sd was measured: region or fid_tail."},
    "crlb_noise_sd": {
        "Description": "Noise SD used for the CRLBs (setting crlb_noise: the residual "
        "corrected for the fitted degrees of freedom, or noise_sd).",
        "Units": "signal units",
    },
    "effective_dof": {"Description": "Fitted degrees of freedom of the penalised model."},
    "baseline_penalty": {
        "Description": "Weight lambda of the spline baseline's second-difference penalty "
        "(data units), chosen by the modified AIC when baseline_penalty is auto. On a session "
        "background (session_background_ed_per_ppm given) it is the block's baseline "
        "correction's; otherwise the session mean's, the same for every block of a file."
    },
    "baseline_ed": {
        "Description": "Effective dimension of that baseline (one of its real and imaginary "
        "parts): tr((B'B + lambda D'D)^-1 B'B)."
    },
    "baseline_ed_per_ppm": {
        "Description": "baseline_ed per ppm of the fit range.",
        "Units": "1/ppm",
    },
    "session_baseline_penalty": {
        "Description": "Penalty of the session's baseline, chosen on the mean of the blocks "
        "and held for every block: the session background's (held with the macromolecules) "
        "in block mode, the shared baseline's in dynamic mode (n/a: the block was fitted on "
        "its own)."
    },
    "session_baseline_ed_per_ppm": {
        "Description": "Effective dimension per ppm of the session background's baseline.",
        "Units": "1/ppm",
    },
    "phase0_deg": {
        "Description": "Zero-order phase at the centre of the fit range.",
        "Units": "degree",
    },
    "phase1_deg_per_ppm": {
        "Description": "First-order phase about the centre of the fit range.",
        "Units": "degree/ppm",
    },
}


def _pct(value: float, sd: float) -> float:
    if value == 0 or not np.isfinite(sd):
        return float("nan")
    return 100.0 * sd / abs(value)


def fit_table(fits: list[tuple[int, FitResult]]) -> Rows:
    """Long table: one row per block and component, then the configured sums."""
    rows = []
    for block, r in fits:
        for i, name in enumerate(r.names):
            amp, sd = float(r.amplitudes[i]), float(r.amplitude_sd[i])
            rows.append((block, name, amp, sd, _pct(amp, sd)))
        for name, est in r.sums.items():
            rows.append((block, name, est.value, est.sd, _pct(est.value, est.sd)))
    return Rows(list(FIT_COLUMNS), rows)


def ratio_table(fits: list[tuple[int, FitResult]]) -> Rows:
    """One row per block and configured ratio."""
    rows = [
        (block, name, est.value, est.sd, _pct(est.value, est.sd))
        for block, r in fits
        for name, est in r.ratios.items()
    ]
    return Rows(list(RATIO_COLUMNS), rows)


def qc_columns(fits: list[tuple[int, FitResult]]) -> dict[str, dict]:
    """Column descriptions of fit_qc.tsv, including the per-group parameters."""
    cols = dict(QC_BASE_COLUMNS)
    if fits:
        for key in fits[0][1].params:
            if key in cols:
                continue
            kind, _, group = key.partition("_hz_")
            what = {
                "shift": "Frequency shift",
                "lorentz": "Lorentzian FWHM broadening",
                "gauss": "Gaussian FWHM broadening",
            }.get(kind, kind)
            cols[key] = {"Description": f"{what} of lineshape group '{group}'.", "Units": "Hz"}
    return cols


#: Lipid components at 0.9 and 1.3 ppm (LCModel's names), summed in the lipid index.
LIPID_COMPONENTS = ("Lip09", "Lip13a", "Lip13b")


def lipid_tnaa(r: FitResult) -> float:
    """Summed Lip09 + Lip13a + Lip13b amplitude over the tNAA amplitude (NaN without them)."""
    present = [n for n in LIPID_COMPONENTS if n in r.names]
    if not present or "tNAA" not in r.sums:
        return float("nan")
    lipid = sum(float(r.amplitudes[r.names.index(n)]) for n in present)
    tnaa = r.sums["tNAA"].value
    return lipid / tnaa if tnaa > 0 else float("nan")


def qc_table(fits: list[tuple[int, FitResult]]) -> Rows:
    """One row per block: fit quality, SNR, linewidth, convergence, nonlinear parameters."""
    rows = []
    for block, r in fits:
        row = {
            "block": block,
            "residual_sd": r.residual_sd,
            "noise_sd": r.noise_sd,
            "residual_noise_ratio": r.residual_ratio,
            "snr": r.snr,
            "fwhm_hz": r.fwhm_hz,
            "lipid_tnaa": lipid_tnaa(r),
            "converged": int(r.converged),
            "iterations": r.iterations,
            "noise_source": r.noise_source,
            "crlb_noise_sd": r.crlb_noise_sd,
            "effective_dof": r.effective_dof,
            "baseline_penalty": r.baseline_penalty,
            "baseline_ed": r.baseline_ed,
            "baseline_ed_per_ppm": r.baseline_ed_per_ppm,
            "session_baseline_penalty": r.session_baseline_penalty,
            "session_baseline_ed_per_ppm": r.session_baseline_ed_per_ppm,
        }
        row.update(r.params)
        rows.append(row)
    columns = list(qc_columns(fits))
    return Rows(columns, [tuple(row.get(c) for c in columns) for row in rows])


#: Components whose fitted curves fit_curves.tsv holds (those the fit figure draws).
CURVE_COMPONENTS = ("NAA", "Glu", "Gln")

CURVE_COLUMNS = {
    "block": FIT_COLUMNS["block"],
    "ppm": {"Description": "Chemical shift of the fitted point.", "Units": "ppm"},
    "data": {
        "Description": "Real part of the data spectrum with the fitted zero- and first-order "
        "phase removed (absorption), spectrum = fft(fid) without scaling.",
        "Units": "signal units",
    },
    "fit": {"Description": "Real part of the fitted spectrum (model incl. baseline).",
            "Units": "signal units"},
    "baseline": {
        "Description": "Real part of the fitted baseline (for a block fitted on the session "
        "background, that background plus the block's correction).",
        "Units": "signal units",
    },
    **{
        name: {"Description": f"Real part of the fitted {name} component (times its "
               "amplitude); n/a when the basis has no such component.",
               "Units": "signal units"}
        for name in CURVE_COMPONENTS
    },
}  # fmt: skip


def shown_blocks(fits: list[tuple[int, FitResult]]) -> list[tuple[int, FitResult]]:
    """The blocks the fit figure and curves show: the first and the last fitted block."""
    fitted = [f for f in fits if f[1].ppm.size] or fits[:1]
    return fitted[:1] if len(fitted) == 1 else [fitted[0], fitted[-1]]


def curve_table(fits: list[tuple[int, FitResult]]) -> Rows:
    """Fitted curves (as LCModel's COORD file) of the shown blocks: one row per block and
    fitted point, in the order of the fitted points."""
    rows = []
    for block, r in shown_blocks(fits):
        columns = [r.data.real, r.fit.real, r.baseline.real]
        for name in CURVE_COMPONENTS:
            if name in r.names:
                columns.append(r.components[:, r.names.index(name)].real)
            else:
                columns.append(np.full(r.ppm.size, np.nan))
        for i in range(r.ppm.size):
            rows.append((block, float(r.ppm[i]), *(float(c[i]) for c in columns)))
    return Rows(list(CURVE_COLUMNS), rows)
