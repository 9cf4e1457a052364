"""Preprocessing of one fMRS session: from every transient to QC'd time-block spectra.

Order of operations (`preprocess_session`):

1. coil combination (`coils`): SNR-optimal weights from the water reference or by whitened
   SVD of the metabolite data; noise covariance from the FID tails;
2. eddy-current correction with the mean water reference (`eddy`, Klose), which also
   moves the spectrum by the reference's own frequency offset;
3. coarse referencing (`locate`): the session mean is registered to an NAA/Cr/Cho singlet
   template over +/- `reference_max_offset_ppm`, and the common frequency and phase
   correction is applied to every transient (so that offsets of tenths of a ppm and any
   zero-order phase of the metabolite scan are found before anything looks for NAA in a
   narrow window, and before the HLSVD water band is cut);
4. alignment, first pass (`align`): every transient registered to the session template
   (mean of aligned, non-outlying transients), refined `align_iterations` times; with
   `align_neighbour_prior` each frequency has a prior from the neighbouring transients and
   the corrections are smoothed over the series as a drift plus jitter (`align.register`,
   `drift`);
5. residual water removal (`hlsvd`): poles from the aligned session mean, amplitudes per
   transient, water-band components subtracted from each transient. This comes between
   two alignment passes because the water's dispersive tails fluctuate from transient to
   transient and would otherwise disturb registration and rejection;
6. alignment, final pass on water-free transients; the output is referenced so that the
   fitted NAA singlet of the session mean (`singlet`) lies at `reference_ppm`, and phased
   on the metabolite signal: the zero-order phase of the fitted NAA and Cr singlets
   (height-weighted circular mean). After eddy-current correction the water reference's
   phase is kept when this metabolite phase lies within `locate.PHASE_AGREEMENT_DEG` of
   it (singlet fits carry a bias of several degrees from overlapping lines and
   first-order phase; a reference sharing the scan's phase is exact); otherwise the
   metabolite phase replaces it;
7. rejection of corrupt transients (`reject`), on each transient's own (unsmoothed)
   frequency estimate;
8. averaging of the kept transients into time blocks (`blocks`);
9. linewidth matching of the blocks (`linewidth`);
10. QC of every block (`qc`: NAA SNR and FWHM from a fit of the NAA singlet plus a local
    background, independent of the phase).

All steps are vectorised over transients; a 760-transient demo session takes about 0.5 s
of computation on one core (plus reading, writing and the QC figure, about 0.3 s more).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..blas import single_threaded_blas
from ..errors import InputError
from ..io.nifti_mrs import MRSData
from ..spectra import PPM_CENTRE_1H, ppm_axis
from . import coils, eddy, hlsvd, linewidth, locate, qc, qc_tables
from .align import Registration, apply_corrections, register
from .blocks import define_blocks, membership
from .reject import reject, wrap_deg
from .settings import resolve_settings
from .singlet import fit_singlet

#: The NAA peak of the session mean must rise this many noise SDs above the ends of the
#: search window, else there are no usable transients.
MIN_SESSION_SNR = 5.0
_SUPPORTED = ("DIM_COIL", "DIM_DYN")


@dataclass
class PreprocessResult:
    """Everything `preprocess_session` produces for one session.

    blocks: block spectra, fids (n_points, n_blocks), DIM_DYN = block (linewidth matched
    when enabled); block_table: one row per block (blocks.tsv); transients: one row per
    input transient (transients_qc.tsv); qc: one row per block (blocks_qc.tsv);
    qc_sidecar: column descriptions and session-level values (blocks_qc.json);
    unmatched: block FIDs before linewidth matching (n_points, n_blocks); session:
    session-level values (as in the sidecar) plus per-transient total corrections
    total_freq_hz / total_phase_rad (n_transients,) and coil_weights (n_coils,) or None.
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
    rej = reject(reg.freq_own_hz, np.rad2deg(reg.phase_rad), reg.amplitude, reg.residual, s)
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
        neighbours=s["reject_window"] if s["align_neighbour_prior"] else 0,
    )


def _iterate(
    x: np.ndarray, s: dict, kw: dict, coarse: bool, offset: np.ndarray | None = None
) -> Registration:
    """Register x (n_points, n) to its own mean, refining the template `align_iterations`
    times (template = mean of the aligned transients the rejection rule keeps). `offset`
    (n,): corrections already applied to x."""
    n_iter = s["align_iterations"]
    init = None if coarse else np.zeros(x.shape[1])
    last = n_iter == 0
    reg = register(x, x.mean(axis=1), init_freq_hz=init, with_residual=last, offset_hz=offset, **kw)
    for k in range(n_iter):
        keep = _keep_for_template(reg, s)
        template = apply_corrections(
            x[:, keep], reg.freq_hz[keep], reg.phase_rad[keep], kw["dwell_s"]
        ).mean(axis=1)
        last = k == n_iter - 1
        reg = register(
            x, template, init_freq_hz=reg.freq_own_hz, with_residual=last, offset_hz=offset,
            **kw,
        )  # fmt: skip
    return reg


def _align_and_clean(x: np.ndarray, s: dict, dwell: float, cf: float):
    """Steps 3-5: returns (corrected FIDs, registration with total corrections, poles)."""
    n = x.shape[1]
    kw = _registration_kw(s, dwell, cf)
    poles = None
    if n < 2:
        zero = np.zeros(n)
        reg = Registration(zero, zero.copy(), np.ones(n), np.zeros(n), zero.copy())
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
        offset = reg.freq_hz if s["align"] else None
        fine = _iterate(aligned, s, kw, coarse=not s["align"], offset=offset)
        if s["align"]:
            aligned = apply_corrections(aligned, fine.freq_hz, fine.phase_rad, dwell)
            reg = Registration(
                reg.freq_hz + fine.freq_hz,
                reg.phase_rad + fine.phase_rad,
                fine.amplitude,
                fine.residual,
                reg.freq_hz + fine.freq_own_hz,
            )
        else:
            reg = fine
    return aligned, reg, poles


def _poles(fid: np.ndarray, s: dict, dwell: float, cf: float) -> hlsvd.Poles:
    return hlsvd.water_poles(
        fid, dwell, cf, tuple(s["hlsvd_ppm"]), s["hlsvd_components"], s["hlsvd_points"]
    )


#: Window (ppm, relative to the fitted NAA position) searched for the Cr singlet.
CR_SEARCH_PPM = (0.94, 1.09)
#: Half width (ppm) of the Cr fit window (narrower than NAA's: Cho lies 0.17 ppm away).
CR_HALF_WIDTH_PPM = 0.1


def _reference(mean_fid, s, dwell, cf, source: str):
    """Fine referencing and phasing of the (coarsely referenced, aligned) session mean.

    Returns (frequency correction Hz, phase correction rad, NAA prominence SNR): the shift
    puts the fitted NAA singlet (`singlet.fit_singlet`) at reference_ppm; the phase is
    minus the height-weighted circular mean of the fitted NAA and Cr singlets' phases (NAA
    alone when Cr is not found).
    """
    spec = qc.zero_filled_spectrum(mean_fid)
    n = spec.size
    ppm = ppm_axis(n, dwell, cf)
    lo, hi = s["reference_search_ppm"]
    inside = np.flatnonzero((ppm >= lo) & (ppm <= hi))
    # a peak must rise above both ends of the window (not a tail of something else);
    # on the magnitude, so that it does not depend on the phase
    mag = np.abs(spec)
    prominence = float(mag[inside].max() - mag[inside[[0, -1]]].max())
    noise = qc.spectral_noise_sd(
        qc.tail_noise_var_real(mean_fid, s["noise_tail_fraction"]), np.ones(mean_fid.shape[0])
    )
    snr = prominence / noise
    naa = fit_singlet(mean_fid, dwell, cf, (lo, hi))
    if not (snr >= MIN_SESSION_SNR and naa.ok):
        raise InputError(
            f"no usable transients: the session mean shows no NAA peak between {lo} and {hi} "
            f"ppm (peak prominence / noise SD {snr:.1f} < {MIN_SESSION_SNR}) after a search "
            f"for the NAA/Cr/Cho pattern over +/-{s['reference_max_offset_ppm']} ppm; if the "
            "data hold NAA further off, widen preprocess.reference_max_offset_ppm (and "
            "preprocess.reference_search_ppm)",
            file=source,
        )
    shift = (s["reference_ppm"] - PPM_CENTRE_1H) * cf - naa.freq_hz
    cr = fit_singlet(
        mean_fid, dwell, cf, tuple(naa.ppm + np.array(CR_SEARCH_PPM)), CR_HALF_WIDTH_PPM
    )
    mean = naa.height * np.exp(1j * naa.phase_rad)
    if cr.ok and cr.height / noise >= MIN_SESSION_SNR:
        mean += cr.height * np.exp(1j * cr.phase_rad)
    return float(shift), -float(np.angle(mean)), float(snr)


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
    Linear algebra runs single-threaded (`fmrstrial.blas.single_threaded_blas`).
    """
    with single_threaded_blas():
        return _preprocess(svs, ref, infusion_start_s, settings, source, ref_source)


def _preprocess(svs, ref, infusion_start_s, settings, source, ref_source) -> PreprocessResult:
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
    ecc = r is not None and s["eddy_current_correction"]
    water_hz, water_fwhm = float("nan"), float("nan")
    if r is not None:
        ref_mean = r.mean(axis=1)
        water_hz = eddy.water_frequency_hz(ref_mean, dwell, cf)
        if ecc:
            factor = eddy.klose_factor(ref_mean)
            x = eddy.correct(x, factor)
            ref_mean = eddy.correct(ref_mean, factor)
        water_fwhm = qc.water_fwhm(ref_mean, dwell, cf, phased=ecc)

    # 2b: coarse frequency and phase from the metabolite signal (NAA/Cr/Cho pattern)
    coarse_f, coarse_p, _ = locate.coarse_offset(
        x.mean(axis=1), dwell, cf, s["reference_ppm"], s["reference_max_offset_ppm"],
        s["align_time_s"],
    )  # fmt: skip
    x = apply_corrections(x, np.full(n_tr, coarse_f), np.full(n_tr, coarse_p), dwell)

    # 3-5: alignment and water removal
    aligned, reg, poles = _align_and_clean(x, s, dwell, cf)
    pre = reject(reg.freq_own_hz, np.rad2deg(reg.phase_rad), reg.amplitude, reg.residual, s)
    keep = ~pre.excluded if (~pre.excluded).any() else np.ones(n_tr, bool)
    shift, phase, session_snr = _reference(
        aligned[:, keep].mean(axis=1), s, dwell, cf, source=source
    )
    # phase of the metabolite signal relative to the frame after ECC (the water reference's
    # phase when there is one); the reference's phase is kept only when it agrees
    metabolite_phase = float(wrap_deg(np.rad2deg(-(coarse_p + phase))))
    phase_source = "NAA/Cr singlets"
    if ecc and abs(metabolite_phase) <= locate.PHASE_AGREEMENT_DEG:
        phase = -coarse_p
        phase_source = "water reference (Klose), confirmed by the NAA/Cr singlets"
    aligned = apply_corrections(aligned, np.full(n_tr, shift), np.full(n_tr, phase), dwell)
    common_f, common_p = coarse_f + shift, coarse_p + phase
    total_f = reg.freq_hz + common_f if s["align"] else np.full(n_tr, common_f)
    total_p = reg.phase_rad + common_p if s["align"] else np.full(n_tr, common_p)
    # offsets in the frame of the data after ECC (relative to the water reference when
    # there is one): exactly what the corrections removed, with no estimate added back
    freq_offset = -(reg.freq_hz + common_f)
    phase_deg = wrap_deg(np.rad2deg(-(reg.phase_rad + common_p)))

    # 6: rejection (on the final registration, each transient's own frequency estimate)
    rej = reject(-(reg.freq_own_hz + common_f), phase_deg, reg.amplitude, reg.residual, s)

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
    naa = tuple(s["naa_ppm"])
    _, fwhm0, snr, fits = qc.block_measures(block_fids, dwell, cf, naa, s["noise_tail_fraction"])
    out_fids, widths = block_fids, np.zeros(len(blocks))
    if s["linewidth_matching"]:
        usable = (n_kept > 0) & np.isfinite(fwhm0) & (fwhm0 <= s["qc_max_fwhm_hz"])
        out_fids, widths = linewidth.match_blocks(
            block_fids, fwhm0, usable, dwell, cf, naa, s["linewidth_lineshape"], fits
        )
    n_total = member.sum(axis=1)
    in_blocks = member.any(axis=0) & ~rej.excluded
    drift = qc.linear_drift_hz(t_rel[in_blocks], freq_offset[in_blocks])
    empty = n_kept == 0
    table = pd.DataFrame(
        {
            "block": [b.number for b in blocks],
            "phase": [b.phase for b in blocks],
            "t_mid_min": [b.mid_s / 60.0 for b in blocks],
            "n_kept": n_kept,
            "n_excluded": n_total - n_kept,
            "excluded_fraction": (n_total - n_kept) / np.maximum(n_total, 1),
            "snr": np.where(empty, np.nan, snr),
            "naa_fwhm_hz": [
                np.nan if e else qc.naa_measures(out_fids[:, j], dwell, cf, naa).fwhm_hz
                for j, e in enumerate(empty)
            ],
            "naa_fwhm_unmatched_hz": np.where(empty, np.nan, fwhm0),
            "broadening_hz": widths,
            "water_fwhm_hz": water_fwhm,
            "freq_mean_hz": [_masked(freq_offset, k, np.mean) for k in kept],
            "freq_sd_hz": [_masked(freq_offset, k, np.std) for k in kept],
            "session_freq_drift_hz": drift,
        }
    )
    table["qc_pass"], table["qc_fail_reasons"] = qc.qc_flags(table, s)

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
        "session_mean_naa_prominence_snr": session_snr,
        "coarse_frequency_correction_hz": float(coarse_f),
        "metabolite_phase_deg": metabolite_phase,
        "phase_source": phase_source,
        "hlsvd_water_components": 0 if poles is None else int(poles.water.sum()),
        "freq_drift_hz": drift,
    }
    smoothed = (
        ", frequencies smoothed over the series as drift plus jitter"
        if s["align_neighbour_prior"]
        else ""
    )
    steps = [
        info["coil_combination"] != "none" and f"coil combination ({info['coil_combination']})",
        ecc and "eddy-current correction with the water reference (Klose)",
        s["align"] and f"frequency and phase alignment (spectral registration{smoothed})",
        poles is not None and "HLSVD residual water removal",
        f"frequency referencing (fitted NAA at {s['reference_ppm']} ppm after an NAA/Cr/Cho "
        f"search over +/-{s['reference_max_offset_ppm']} ppm) and zero-order phasing "
        f"({phase_source})",
        s["reject"] and "rejection of corrupt transients",
        "averaging into time blocks",
        s["linewidth_matching"] and f"{s['linewidth_lineshape']} linewidth matching",
    ]
    sidecar = qc_tables.qc_sidecar(s, session)
    sidecar["transients_qc.tsv"] = qc_tables.TRANSIENT_COLUMNS
    return PreprocessResult(
        blocks=qc_tables.blocks_mrs(
            svs,
            out_fids,
            [x for x in steps if x],
            len(blocks),
            qc_tables.linewidth_matching_header(widths, s["linewidth_lineshape"])
            if s["linewidth_matching"]
            else None,
        ),
        block_table=qc_tables.block_table(blocks, n_total, n_kept),
        transients=qc_tables.transient_table(
            t_rel, freq_offset, phase_deg, reg, rej, blocks, member, s["sliding_window"]
        ),
        qc=table[qc_tables.QC_COLUMNS],
        qc_sidecar=sidecar,
        unmatched=block_fids,
        session=session
        | {
            "total_freq_hz": total_f,
            "total_phase_rad": total_p,
            "coil_weights": info.get("coil_weights"),
        },
    )


def _masked(values: np.ndarray, mask: np.ndarray, fn) -> float:
    return float(fn(values[mask])) if mask.any() else float("nan")
