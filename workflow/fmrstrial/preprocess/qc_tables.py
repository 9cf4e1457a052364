"""Output tables of the preprocessing step and their column descriptions.

- blocks.tsv: one row per block, in the order of DIM_DYN of blocks.nii.gz;
- transients_qc.tsv: one row per input transient;
- blocks_qc.tsv: one row per block, with the BIDS-style sidecar blocks_qc.json.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import __version__
from ..io.nifti_mrs import LINEWIDTH_MATCHING_KEY, MRSData
from .blocks import Block
from .locate import PHASE_AGREEMENT_DEG

#: Columns of blocks_qc.tsv, in order.
QC_COLUMNS = [
    "block",
    "phase",
    "t_mid_min",
    "n_kept",
    "n_excluded",
    "excluded_fraction",
    "snr",
    "naa_fwhm_hz",
    "naa_fwhm_unmatched_hz",
    "broadening_hz",
    "water_fwhm_hz",
    "freq_mean_hz",
    "freq_sd_hz",
    "session_freq_drift_hz",
    "qc_pass",
    "qc_fail_reasons",
]


def block_table(blocks: list[Block], n_total: np.ndarray, n_kept: np.ndarray) -> pd.DataFrame:
    """blocks.tsv: times (min from infusion start) and transient counts of each block."""
    return pd.DataFrame(
        {
            "block": [b.number for b in blocks],
            "phase": [b.phase for b in blocks],
            "t_start_min": [b.start_s / 60.0 for b in blocks],
            "t_mid_min": [b.mid_s / 60.0 for b in blocks],
            "t_end_min": [b.end_s / 60.0 for b in blocks],
            "n_transients": n_total,
            "n_kept": n_kept,
            "n_excluded": n_total - n_kept,
        }
    )


def transient_table(
    t_rel_s: np.ndarray,
    freq_hz: np.ndarray,
    phase_deg: np.ndarray,
    registration,
    rejection,
    blocks: list[Block],
    member: np.ndarray,
    sliding: bool,
) -> pd.DataFrame:
    """transients_qc.tsv: per-transient time, frequency, phase, metrics and exclusion.

    `block` is the consecutive block holding the transient (n/a outside blocks and for
    sliding windows, where a transient lies in several).
    """
    block_of = np.full(t_rel_s.size, np.nan)
    if not sliding:
        for b, m in zip(blocks, member, strict=True):
            block_of[m] = b.number
    return pd.DataFrame(
        {
            "transient": np.arange(t_rel_s.size),
            "time_s": t_rel_s,
            "block": pd.array(block_of, dtype="Int64"),
            "freq_offset_hz": freq_hz,
            "phase_deg": phase_deg,
            "amplitude": registration.amplitude,
            "residual": registration.residual,
            "freq_jump_hz": rejection.freq_jump_hz,
            "phase_jump_deg": rejection.phase_jump_deg,
            "excluded": rejection.excluded.astype(int),
            "exclusion_reason": [r if r else None for r in rejection.reasons],
        }
    )


def linewidth_matching_header(widths_hz, lineshape: str) -> dict:
    """The header entry recording each block's broadening (Hz, DIM_DYN order)."""
    return {
        "Value": {
            "broadening_hz": [float(w) for w in widths_hz],
            "lineshape": lineshape,
        },
        "Description": "line broadening applied to each block (DIM_DYN order) by linewidth "
        "matching to the session's broadest usable block: FWHM in Hz of a Lorentzian "
        "exp(-pi w t) or Gaussian envelope multiplied into the FID",
    }


def blocks_mrs(
    svs: MRSData,
    fids: np.ndarray,
    steps: list[str],
    n_blocks: int,
    matching: dict | None = None,
) -> MRSData:
    """The block spectra as NIfTI-MRS data (DIM_DYN = block), header from `svs`; `matching`:
    the `linewidth_matching_header` entry, when the blocks were broadened."""
    header = {k: v for k, v in svs.header.items() if not k.startswith("dim_")}
    header.pop(LINEWIDTH_MATCHING_KEY, None)
    if matching is not None:
        header[LINEWIDTH_MATCHING_KEY] = matching
    header["dim_5_info"] = "time blocks relative to infusion start, in the order of blocks.tsv"
    header["ProcessingApplied"] = list(header.get("ProcessingApplied", [])) + [
        {
            "Program": "fmrstrial preprocess",
            "Version": __version__,
            "Method": "; ".join(steps),
            "Details": f"{n_blocks} blocks; settings and session values in blocks_qc.json",
        }
    ]
    return MRSData(
        fids=fids,
        dwell_s=svs.dwell_s,
        cf_mhz=svs.cf_mhz,
        nucleus=svs.nucleus,
        dim_tags=("DIM_DYN",),
        header=header,
        affine=None if svs.affine is None else svs.affine.copy(),
    )


def qc_sidecar(s: dict, session: dict) -> dict:
    """blocks_qc.json: description of every blocks_qc.tsv column, session values, settings."""
    naa = f"{s['naa_ppm'][0]}-{s['naa_ppm'][1]} ppm"
    return {
        "block": {"Description": "block number (position in the session's block grid)"},
        "phase": {
            "Description": "time window",
            "Levels": {"baseline": "before infusion start", "infusion": "after infusion start"},
        },
        "t_mid_min": {"Description": "block midpoint relative to infusion start", "Units": "min"},
        "n_kept": {"Description": "transients averaged into the block"},
        "n_excluded": {"Description": "transients of the block excluded as corrupt"},
        "excluded_fraction": {"Description": "n_excluded / (n_kept + n_excluded)"},
        "snr": {
            "Description": (
                "NAA signal-to-noise ratio of the block before linewidth matching: height of "
                "the NAA line alone divided by the standard deviation of the real part of the "
                "spectral noise. The NAA line is fitted to the spectrum (no apodisation, "
                "zero-filled 2x) within +/-0.15 ppm of the largest magnitude point in "
                f"{naa}: one Voigt line (free complex amplitude, frequency, Lorentzian and "
                "Gaussian widths) plus a complex quadratic background that takes up the "
                "macromolecule hump and the tails of neighbouring lines. Height = absorption "
                "maximum of the fitted line (background excluded), on the scale of the real "
                "part of the unscaled spectrum; the free complex amplitude makes it the same "
                "for a spectrum of any zero-order phase. Noise SD = sqrt(n_points * v), "
                "where v is the variance of the real part of the last "
                f"{s['noise_tail_fraction']:.0%} of the block FID (signal decayed; median "
                "over 8 segments of that tail). Matching broadening would raise it by "
                "smoothing the noise, so it is measured before"
            )
        },
        "naa_fwhm_hz": {
            "Description": (
                "full width at half maximum of the NAA line of the output block spectrum: "
                "FWHM of the fitted Voigt line of the NAA fit described under snr (the "
                "background excluded; independent of the zero-order phase)"
            ),
            "Units": "Hz",
        },
        "naa_fwhm_unmatched_hz": {
            "Description": "as naa_fwhm_hz, before linewidth matching",
            "Units": "Hz",
        },
        "broadening_hz": {
            "Description": f"{s['linewidth_lineshape']} line broadening applied to the block "
            "to match the NAA FWHM of the broadest usable block (FWHM of the broadening "
            "function; 0 = none)",
            "Units": "Hz",
        },
        "water_fwhm_hz": {
            "Description": "FWHM of the water peak of the mean, coil-combined water reference "
            "(real part after eddy-current correction, else magnitude; n/a without a "
            "reference); one value per session",
            "Units": "Hz",
        },
        "freq_mean_hz": {
            "Description": "mean frequency offset of the block's kept transients "
            "(see transients_qc.tsv)",
            "Units": "Hz",
        },
        "freq_sd_hz": {
            "Description": "standard deviation of the frequency offsets of the "
            "block's kept transients",
            "Units": "Hz",
        },
        "session_freq_drift_hz": {
            "Description": "linear frequency drift over the session: slope of a line fitted "
            "to the frequency offsets of the kept transients in blocks times the time they "
            "span",
            "Units": "Hz",
        },
        "qc_pass": {
            "Description": f"1 when the block passes every QC threshold (snr >= "
            f"{s['qc_min_snr']}, naa_fwhm_unmatched_hz <= {s['qc_max_fwhm_hz']} Hz, "
            f"excluded_fraction <= {s['qc_max_excluded_fraction']}, at least one transient); "
            "failing blocks are kept and flagged",
            "Levels": {"1": "pass", "0": "fail"},
        },
        "qc_fail_reasons": {
            "Description": "comma-separated failed checks (snr, fwhm, "
            "excluded_fraction, no_transients); n/a when passing"
        },
        "PreprocessingSession": session,
        "PreprocessingSessionNotes": {
            "coarse_frequency_correction_hz": "common frequency correction (Hz) found by "
            "registering the session mean to an NAA/Cr/Cho singlet template over "
            f"+/-{s['reference_max_offset_ppm']} ppm, before alignment",
            "metabolite_phase_deg": "zero-order phase (deg) of the metabolite signal in the "
            "frame after eddy-current correction: height-weighted circular mean of the "
            "phases of the fitted NAA and Cr singlets of the session mean",
            "phase_source": "what phased the output: the water reference (Klose) when "
            f"metabolite_phase_deg lies within {PHASE_AGREEMENT_DEG:g} deg of it, else the NAA/Cr "
            "singlets",
        },
        "PreprocessingSettings": s,
    }


TRANSIENT_COLUMNS = {
    "transient": "index of the transient along DIM_DYN of the input (0-based)",
    "time_s": "acquisition time relative to infusion start (s; start of its TR)",
    "block": "consecutive block holding the transient (n/a: none, or sliding windows)",
    "freq_offset_hz": "frequency offset of the transient (Hz): fitted NAA position minus "
    "reference_ppm, relative to the water reference frequency when eddy-current correction "
    "used one (Klose correction puts water at 4.65 ppm), else in the frame of the data; "
    "minus the correction applied, which align_neighbour_prior (on) smooths over the series "
    "as a drift plus each transient's jitter",
    "phase_deg": "zero-order phase of the transient (deg) in the frame after eddy-current "
    "correction (relative to the water reference's phase when there is one): minus the "
    "total zero-order correction applied (see PreprocessingSession.phase_source in "
    "blocks_qc.json for what phased the output)",
    "amplitude": "registration amplitude relative to the session template",
    "residual": "registration misfit energy relative to the fitted signal energy",
    "freq_jump_hz": "the transient's own frequency offset estimate (before smoothing over the "
    "series) minus its running median (Hz), as the rejection rule judges it",
    "phase_jump_deg": "phase minus its running median (deg)",
    "excluded": "1 when excluded as corrupt",
    "exclusion_reason": "comma-separated rules that excluded it (residual, amplitude, "
    "frequency_jump, phase_jump)",
}
