"""Preprocessing of one fMRS session: from every transient to QC'd time-block spectra.

Order of operations (`preprocess_session`):

1. coil combination (`coils`): SNR-optimal weights from the water reference or by whitened
   SVD of the metabolite data; noise covariance from the FID tails;
2. eddy-current correction and phasing with the mean water reference (`eddy`, Klose);
3. alignment, first pass (`align`): every transient registered to the session template
   (mean of aligned, non-outlying transients), refined `align_iterations` times;
4. residual water removal (`hlsvd`): poles from the aligned session mean, amplitudes per
   transient, water-band components subtracted from each transient. This comes between
   two alignment passes because the water's dispersive tails fluctuate from transient to
   transient and would otherwise disturb registration and rejection;
5. alignment, final pass on water-free transients; the output is referenced so that the
   NAA peak of the session mean lies at `reference_ppm` and, without a water reference,
   phased so that the NAA peak is absorptive;
6. rejection of corrupt transients (`reject`);
7. averaging of the kept transients into time blocks (`blocks`);
8. linewidth matching of the blocks (`linewidth`);
9. QC of every block (`qc`).

All steps are vectorised over transients; a 760-transient session takes well under a
second of computation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import InputError
from ..io.nifti_mrs import MRSData
from ..spectra import PPM_CENTRE_1H, frequency_axis, ppm_axis
from . import coils, eddy, hlsvd
from .align import Registration, apply_corrections, register
from .blocks import Block, define_blocks, membership
from .linewidth import broadening_for, envelope
from .qc import (
    peak_fwhm,
    peak_measures,
    spectral_noise_sd,
    tail_noise_var_real,
    zero_filled_spectrum,
)
from .reject import Rejection, reject, wrap_deg
from .settings import resolve_settings

#: The session mean must show NAA at least this SNR, else there are no usable transients.
MIN_SESSION_SNR = 5.0
_SUPPORTED = ("DIM_COIL", "DIM_DYN")


@dataclass
class PreprocessResult:
    """Everything `preprocess_session` produces for one session.

    blocks: block spectra, fids (n_points, n_blocks), DIM_DYN = block (linewidth matched
    when enabled); block_table: one row per block (blocks.tsv); transients: one row per
    input transient (transients_qc.tsv); qc: one row per block (blocks_qc.tsv);
    qc_sidecar: column descriptions and session-level values (blocks_qc.json);
    unmatched: block FIDs before linewidth matching (n_points, n_blocks), for plots.
    """

    blocks: MRSData
    block_table: pd.DataFrame
    transients: pd.DataFrame
    qc: pd.DataFrame
    qc_sidecar: dict
    unmatched: np.ndarray
    session: dict = field(default_factory=dict)


def _as_coil_dyn(data: MRSData, source: str) -> np.ndarray:
    """Data as (n_points, n_coils, n_transients); InputError for other dimensions."""
    fids = data.fids
    tags = list(data.dim_tags)
    for tag in list(tags):
        if tag not in _SUPPORTED:
            axis = 1 + tags.index(tag)
            if fids.shape[axis] != 1:
                raise InputError(
                    f"dimension {tag} of size {fids.shape[axis]} is not supported by "
                    "preprocessing (expected DIM_COIL and/or DIM_DYN)",
                    file=source,
                )
            fids = np.take(fids, 0, axis=axis)
            tags.remove(tag)
    if "DIM_COIL" not in tags:
        fids = fids[:, None, ...]
        tags.insert(0, "DIM_COIL")
    if "DIM_DYN" not in tags:
        fids = fids[..., None]
        tags.append("DIM_DYN")
    order = [0, 1 + tags.index("DIM_COIL"), 1 + tags.index("DIM_DYN")]
    return np.transpose(fids, order)


def _check_pair(svs: MRSData, ref: MRSData, ref_source: str) -> None:
    if ref.n_points != svs.n_points:
        raise InputError(
            f"water reference has {ref.n_points} points, metabolite data {svs.n_points}",
            file=ref_source,
        )
    if not np.isclose(ref.dwell_s, svs.dwell_s, rtol=1e-4):
        raise InputError(
            f"water reference dwell time {ref.dwell_s} s differs from the metabolite data's "
            f"{svs.dwell_s} s",
            file=ref_source,
        )
    if not np.isclose(ref.cf_mhz, svs.cf_mhz, rtol=1e-4):
        raise InputError(
            f"water reference frequency {ref.cf_mhz} MHz differs from the metabolite data's "
            f"{svs.cf_mhz} MHz",
            file=ref_source,
        )


def _combine_coils(x, r, s, source, ref_source):
    """Coil-combine metabolite (n_points, C, n) and reference data; returns (x, r, info)."""
    tail = s["noise_tail_fraction"]
    info: dict = {"n_coils": int(x.shape[1]), "coil_combination": "none"}
    if x.shape[1] > 1:
        psi = coils.noise_covariance(x, tail)
        method = s["coil_combination"]
        same = r is not None and r.shape[1] == x.shape[1]
        if method == "auto":
            method = "water" if same else "svd"
        if method == "water" and not same:
            raise InputError(
                "coil_combination 'water' needs a water reference with the same coils",
                file=ref_source if r is not None else source,
            )
        mean = (r if method == "water" else x).mean(axis=2)
        weights = coils.combination_weights(coils.sensitivity_profile(mean, psi), psi)
        x = coils.combine(x, weights, 1)
        info.update(coil_combination=method, coil_weights=weights)
        if same:
            r = coils.combine(r, weights, 1)
    else:
        x = x[:, 0, :]
    if r is not None and r.ndim == 3:
        if r.shape[1] > 1:  # reference with coils, metabolite data without
            psi_r = coils.noise_covariance(r, tail)
            w_r = coils.combination_weights(coils.sensitivity_profile(r.mean(axis=2), psi_r), psi_r)
            r = coils.combine(r, w_r, 1)
        else:
            r = r[:, 0, :]
    return x, r, info


def _keep_for_template(reg: Registration, s: dict) -> np.ndarray:
    rej = reject(reg.freq_hz, np.rad2deg(reg.phase_rad), reg.amplitude, reg.residual, s)
    keep = ~rej.excluded
    return keep if keep.any() else np.ones_like(keep)


def _registration_kw(s: dict, dwell: float, cf: float) -> dict:
    return dict(
        dwell_s=dwell,
        cf_mhz=cf,
        ppm_range=tuple(s["align_ppm"]),
        baseline_order=s["align_baseline_order"],
        max_shift_hz=s["align_max_shift_hz"],
        time_s=s["align_time_s"],
    )


def _iterate(x: np.ndarray, s: dict, kw: dict, coarse: bool) -> Registration:
    """Register x (n_points, n) to its own mean, refining the template."""
    reg = register(x, x.mean(axis=1), init_freq_hz=None if coarse else np.zeros(x.shape[1]), **kw)
    for _ in range(s["align_iterations"]):
        keep = _keep_for_template(reg, s)
        template = apply_corrections(
            x[:, keep], reg.freq_hz[keep], reg.phase_rad[keep], kw["dwell_s"]
        ).mean(axis=1)
        reg = register(x, template, init_freq_hz=reg.freq_hz, **kw)
    return reg


def _align_and_clean(x: np.ndarray, s: dict, dwell: float, cf: float):
    """Steps 3-5: returns (corrected FIDs, registration with total corrections, poles)."""
    n = x.shape[1]
    kw = _registration_kw(s, dwell, cf)
    poles = None
    if n < 2:
        zero = np.zeros(n)
        reg = Registration(zero, zero.copy(), np.ones(n), np.zeros(n))
        if s["hlsvd"]:
            poles = _poles(x.mean(axis=1), s, dwell, cf)
            x, _ = hlsvd.remove(x, poles)
        return x, reg, poles
    reg = _iterate(x, s, kw, coarse=True)
    aligned = apply_corrections(x, reg.freq_hz, reg.phase_rad, dwell) if s["align"] else x
    if s["hlsvd"]:
        keep = _keep_for_template(reg, s)
        poles = _poles(aligned[:, keep].mean(axis=1), s, dwell, cf)
        aligned, _ = hlsvd.remove(aligned, poles)
        fine = _iterate(aligned, s, kw, coarse=not s["align"])
        if s["align"]:
            aligned = apply_corrections(aligned, fine.freq_hz, fine.phase_rad, dwell)
            reg = Registration(
                reg.freq_hz + fine.freq_hz,
                reg.phase_rad + fine.phase_rad,
                fine.amplitude,
                fine.residual,
            )
        else:
            reg = fine
    return aligned, reg, poles


def _poles(fid: np.ndarray, s: dict, dwell: float, cf: float) -> hlsvd.Poles:
    return hlsvd.water_poles(
        fid, dwell, cf, tuple(s["hlsvd_ppm"]), s["hlsvd_components"], s["hlsvd_points"]
    )


def _reference(mean_fid, s, dwell, cf, phase_it: bool, source: str):
    """Frequency shift (Hz) and phase (rad) that put NAA at reference_ppm, absorptive."""
    spec = zero_filled_spectrum(mean_fid)
    n = spec.size
    ppm = ppm_axis(n, dwell, cf)
    freq = frequency_axis(n, dwell)
    lo, hi = s["reference_search_ppm"]
    inside = (ppm >= lo) & (ppm <= hi)
    # locate NAA on the magnitude (phase independent), refine by a parabola
    mag = np.abs(spec)
    i = int(np.flatnonzero(inside)[np.argmax(mag[inside])])
    a, b, c = mag[i - 1], mag[i], mag[i + 1]
    denom = a - 2 * b + c
    delta = 0.5 * (a - c) / denom if denom != 0 else 0.0
    peak_hz = freq[i] + delta * (freq[1] - freq[0])
    shift = (s["reference_ppm"] - PPM_CENTRE_1H) * cf - peak_hz
    phase = -float(np.angle(spec[i])) if phase_it else 0.0
    var_r = tail_noise_var_real(mean_fid, s["noise_tail_fraction"])
    snr = float(b / spectral_noise_sd(var_r, np.ones(mean_fid.shape[0])))
    if not snr >= MIN_SESSION_SNR:
        raise InputError(
            f"no usable transients: the session mean shows no NAA peak between {lo} and {hi} "
            f"ppm (SNR {snr:.1f} < {MIN_SESSION_SNR})",
            file=source,
        )
    return float(shift), phase, snr


def transient_times(svs: MRSData, n: int, infusion_start_s: float, s: dict, source: str):
    """Acquisition time of each transient relative to infusion start, s, shape (n,)."""
    tr = s["tr_s"] if s["tr_s"] is not None else svs.header.get("RepetitionTime")
    if tr is None:
        if n > 1:
            raise InputError(
                "RepetitionTime is missing from the NIfTI-MRS header; set the preprocess "
                "setting tr_s",
                file=source,
            )
        tr = 0.0
    return np.arange(n) * float(tr) - float(infusion_start_s)


def preprocess_session(
    svs: MRSData,
    ref: MRSData | None,
    infusion_start_s: float,
    settings: dict | None = None,
    source: str = "metabolite data",
    ref_source: str = "water reference",
) -> PreprocessResult:
    """Preprocess one session (see the module docstring for the steps).

    svs: metabolite data, fids (n_points[, n_coils][, n_transients]) with DIM_COIL/DIM_DYN;
    ref: unsuppressed water reference or None; infusion_start_s: infusion start, s after
    the first transient; settings: overrides of `settings.DEFAULTS`; source/ref_source:
    names used in error messages. Raises InputError when nothing usable remains.
    """
    s = resolve_settings(settings)
    dwell, cf = svs.dwell_s, svs.cf_mhz
    if svs.nucleus != "1H":
        raise InputError(f"nucleus {svs.nucleus} is not supported (1H only)", file=source)
    x = _as_coil_dyn(svs, source)
    r = None
    if ref is not None:
        _check_pair(svs, ref, ref_source)
        r = _as_coil_dyn(ref, ref_source)
    n_points, _, n_tr = x.shape
    t_rel = transient_times(svs, n_tr, infusion_start_s, s, source)

    # 1-2: coils, eddy currents
    x, r, info = _combine_coils(x, r, s, source, ref_source)
    water_hz, water_phase, water_fwhm = 0.0, 0.0, float("nan")
    ecc = r is not None and s["eddy_current_correction"]
    if r is not None:
        ref_mean = r.mean(axis=1)
        water_hz = eddy.water_frequency_hz(ref_mean, dwell, cf)
        if ecc:
            factor = eddy.klose_factor(ref_mean)
            x = eddy.correct(x, factor)
            water_phase = float(np.angle(ref_mean[0]))
            ref_mean = eddy.correct(ref_mean, factor)
        water_fwhm = _water_fwhm(ref_mean, dwell, cf, ecc)
    else:
        water_hz = 0.0
    if not ecc:
        water_hz = 0.0  # frequencies are then reported in the frame of the data

    # 3-5: alignment and water removal
    aligned, reg, poles = _align_and_clean(x, s, dwell, cf)
    pre = reject(reg.freq_hz, np.rad2deg(reg.phase_rad), reg.amplitude, reg.residual, s)
    keep = ~pre.excluded if (~pre.excluded).any() else np.ones(n_tr, bool)
    shift, phase, session_snr = _reference(
        aligned[:, keep].mean(axis=1), s, dwell, cf, phase_it=not ecc, source=source
    )
    aligned = apply_corrections(aligned, np.full(n_tr, shift), np.full(n_tr, phase), dwell)
    total_f = reg.freq_hz + shift if s["align"] else np.full(n_tr, shift)
    total_p = reg.phase_rad + phase if s["align"] else np.full(n_tr, phase)
    freq_offset = water_hz - (reg.freq_hz + shift)
    phase_deg = wrap_deg(np.rad2deg(water_phase - (reg.phase_rad + phase)))

    # 6: rejection (on the final registration)
    rej = reject(freq_offset, phase_deg, reg.amplitude, reg.residual, s)

    # 7: blocks
    blocks = define_blocks(t_rel, s)
    if not blocks:
        raise InputError(
            "no usable transients: no transient lies in a configured time block "
            f"(transients span {t_rel.min() / 60:.1f} to {t_rel.max() / 60:.1f} min from "
            "infusion start)",
            file=source,
        )
    member = membership(t_rel, blocks)
    kept = member & ~rej.excluded[None, :]
    n_kept = kept.sum(axis=1)
    if not n_kept.any():
        raise InputError(
            f"no usable transients: all {int(member.any(axis=0).sum())} transients in the "
            "time blocks were excluded as corrupt",
            file=source,
        )
    block_fids = np.zeros((n_points, len(blocks)), complex)
    for j in range(len(blocks)):
        if n_kept[j]:
            block_fids[:, j] = aligned[:, kept[j]].mean(axis=1)

    # 8-9: linewidth matching and QC
    out_fids, qc = _match_and_qc(block_fids, n_kept, member.sum(axis=1), s, dwell, cf)
    qc.insert(0, "block", [b.number for b in blocks])
    qc.insert(1, "phase", [b.phase for b in blocks])
    qc.insert(2, "t_mid_min", [b.mid_s / 60.0 for b in blocks])
    qc["water_fwhm_hz"] = water_fwhm
    in_blocks = member.any(axis=0) & ~rej.excluded
    drift = _drift(t_rel[in_blocks], freq_offset[in_blocks])
    qc["freq_mean_hz"] = [_masked(freq_offset, k, np.mean) for k in kept]
    qc["freq_sd_hz"] = [_masked(freq_offset, k, np.std) for k in kept]
    qc["session_freq_drift_hz"] = drift
    _qc_flags(qc, s)
    qc = qc[_QC_ORDER]

    transients = _transient_table(t_rel, freq_offset, phase_deg, reg, rej, blocks, member, s)
    block_table = pd.DataFrame(
        {
            "block": [b.number for b in blocks],
            "phase": [b.phase for b in blocks],
            "t_start_min": [b.start_s / 60.0 for b in blocks],
            "t_mid_min": [b.mid_s / 60.0 for b in blocks],
            "t_end_min": [b.end_s / 60.0 for b in blocks],
            "n_transients": member.sum(axis=1),
            "n_kept": n_kept,
            "n_excluded": member.sum(axis=1) - n_kept,
        }
    )
    session = {
        "n_transients": int(n_tr),
        "n_excluded": int(rej.excluded.sum()),
        "n_points": int(n_points),
        "dwell_s": float(dwell),
        "spectrometer_frequency_mhz": float(cf),
        "infusion_start_s": float(infusion_start_s),
        "n_coils": info["n_coils"],
        "coil_combination": info["coil_combination"],
        "eddy_current_correction": bool(ecc),
        "water_reference": r is not None,
        "water_frequency_hz": float(water_hz),
        "water_fwhm_hz": water_fwhm,
        "session_mean_naa_snr": session_snr,
        "hlsvd_water_components": 0 if poles is None else int(poles.water.sum()),
        "freq_drift_hz": drift,
    }
    blocks_data = _blocks_mrs(svs, out_fids, blocks, s)
    return PreprocessResult(
        blocks=blocks_data,
        block_table=block_table,
        transients=transients,
        qc=qc,
        qc_sidecar=qc_sidecar(s, session),
        unmatched=block_fids,
        session=session | {"total_freq_hz": total_f, "total_phase_rad": total_p},
    )


def _masked(values: np.ndarray, mask: np.ndarray, fn) -> float:
    return float(fn(values[mask])) if mask.any() else float("nan")


def _drift(t_s: np.ndarray, freq: np.ndarray) -> float:
    """Linear frequency drift over the session, Hz: fitted slope x time span."""
    if t_s.size < 2 or np.ptp(t_s) == 0:
        return 0.0
    slope = np.polyfit(t_s, freq, 1)[0]
    return float(slope * np.ptp(t_s))


def _water_fwhm(ref_mean: np.ndarray, dwell: float, cf: float, phased: bool) -> float:
    """FWHM (Hz) of the water peak of the mean reference (magnitude if not phased)."""
    spec = zero_filled_spectrum(ref_mean)
    n = spec.size
    ppm = ppm_axis(n, dwell, cf)
    inside = np.abs(ppm - PPM_CENTRE_1H) <= 0.5
    values = spec.real if phased else np.abs(spec)
    return peak_fwhm(values, frequency_axis(n, dwell), inside)[1]


def _match_and_qc(block_fids, n_kept, n_total, s, dwell, cf):
    """Linewidth matching (step 8) and per-block measures (step 9)."""
    n_points, nb = block_fids.shape
    naa = tuple(s["naa_ppm"])
    var_r = np.array(
        [tail_noise_var_real(block_fids[:, j], s["noise_tail_fraction"]) for j in range(nb)]
    )
    measures = [peak_measures(block_fids[:, j], dwell, cf, naa) for j in range(nb)]
    fwhm0 = np.array([m[1] for m in measures])
    usable = (n_kept > 0) & np.isfinite(fwhm0) & (fwhm0 <= s["qc_max_fwhm_hz"])
    widths = np.zeros(nb)
    out = block_fids.copy()
    if s["linewidth_matching"] and usable.sum() > 1:
        target = float(np.max(fwhm0[usable]))
        for j in np.flatnonzero(usable):
            widths[j] = broadening_for(
                block_fids[:, j], dwell, cf, naa, target, s["linewidth_lineshape"]
            )
        widths[~np.isfinite(widths)] = 0.0
        for j in range(nb):
            out[:, j] = block_fids[:, j] * envelope(
                n_points, dwell, widths[j], s["linewidth_lineshape"]
            )
    fwhm = [peak_measures(out[:, j], dwell, cf, naa)[1] for j in range(nb)]
    noise = np.array([spectral_noise_sd(v, np.ones(n_points)) for v in var_r])
    heights = np.array([m[0] for m in measures])
    snr = np.where(noise > 0, heights / np.where(noise > 0, noise, 1.0), np.nan)
    n_excl = n_total - n_kept
    qc = pd.DataFrame(
        {
            "n_kept": n_kept,
            "n_excluded": n_excl,
            "excluded_fraction": n_excl / np.maximum(n_total, 1),
            "snr": snr,
            "naa_fwhm_hz": fwhm,
            "naa_fwhm_unmatched_hz": fwhm0,
            "broadening_hz": widths,
        }
    )
    zero = n_kept == 0
    qc.loc[zero, ["snr", "naa_fwhm_hz", "naa_fwhm_unmatched_hz"]] = np.nan
    return out, qc


def _qc_flags(qc: pd.DataFrame, s: dict) -> None:
    reasons = []
    for row in qc.itertuples():
        why = []
        if row.n_kept == 0:
            why.append("no_transients")
        else:
            if not row.snr >= s["qc_min_snr"]:
                why.append("snr")
            if not row.naa_fwhm_unmatched_hz <= s["qc_max_fwhm_hz"]:
                why.append("fwhm")
        if row.excluded_fraction > s["qc_max_excluded_fraction"]:
            why.append("excluded_fraction")
        reasons.append(",".join(why))
    qc["qc_pass"] = [0 if r else 1 for r in reasons]
    qc["qc_fail_reasons"] = [r if r else None for r in reasons]


_QC_ORDER = [
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


def _transient_table(t_rel, freq, phase_deg, reg, rej: Rejection, blocks, member, s):
    block_of = np.full(t_rel.size, np.nan)
    if not s["sliding_window"]:
        for b, m in zip(blocks, member, strict=True):
            block_of[m] = b.number
    return pd.DataFrame(
        {
            "transient": np.arange(t_rel.size),
            "time_s": t_rel,
            "block": pd.array(block_of, dtype="Int64"),
            "freq_offset_hz": freq,
            "phase_deg": phase_deg,
            "amplitude": reg.amplitude,
            "residual": reg.residual,
            "freq_jump_hz": rej.freq_jump_hz,
            "phase_jump_deg": rej.phase_jump_deg,
            "excluded": rej.excluded.astype(int),
            "exclusion_reason": [r if r else None for r in rej.reasons],
        }
    )


def _blocks_mrs(svs: MRSData, fids: np.ndarray, blocks: list[Block], s: dict) -> MRSData:
    header = {k: v for k, v in svs.header.items() if not k.startswith("dim_")}
    header["dim_5_info"] = (
        "time blocks relative to infusion start, in the order of blocks.tsv "
        "(mean of kept transients" + (", linewidth matched)" if s["linewidth_matching"] else ")")
    )
    steps = [
        "coil combination",
        "eddy-current correction (water reference)",
        "frequency/phase alignment",
        "HLSVD water removal",
        "transient rejection",
        "block averaging",
        "linewidth matching",
    ]
    header["ProcessingApplied"] = list(header.get("ProcessingApplied", [])) + [
        {
            "Program": "fmrstrial preprocess",
            "Version": __version__,
            "Method": "; ".join(steps),
            "Details": f"{len(blocks)} blocks; settings in blocks_qc.json",
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
    """BIDS-style description of every blocks_qc.tsv column, plus session values."""
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
                "NAA signal-to-noise ratio of the block before linewidth matching: maximum of "
                f"the real part of the phased, water-removed spectrum between {naa} (no "
                "apodisation, zero-filled 8x) divided by the standard deviation of the real "
                "part of the spectral noise, sqrt(n_points * v), where v is the variance of "
                f"the real part of the last {s['noise_tail_fraction']:.0%} of the block FID "
                "(signal decayed; median over 8 segments of that tail). Matching broadening "
                "would raise it by smoothing the noise, so it is measured before"
            )
        },
        "naa_fwhm_hz": {
            "Description": (
                "full width at half maximum of the NAA peak of the output block spectrum: "
                f"width at half the height (above zero) of the largest real peak in {naa}, "
                "zero-filled 8x, linear interpolation between points"
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
            "Description": "FWHM of the water peak of the mean, coil-combined, eddy-current "
            "corrected water reference (real part; n/a without a reference); one value per "
            "session",
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
            "to the kept transients' frequency offsets times the time they span",
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
        "PreprocessingSettings": s,
    }
