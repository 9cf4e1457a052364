"""Simulated single-voxel fMRS transients built from a real basis set.

Signal model of transient n (internal FID convention of `fmrstrial.spectra`):

    s_n(t) = a_n [sum_m c_nm B_m(t) + k M(t)] V_n(t) D(t) R(t) E(t) exp(i(phi_n + 2 pi df_n t))
             + a_n Z(t) E(t) exp(i(phi_n + 2 pi df_n t)) + l_n L(t) (...) + W_n(t) + noise

with B the basis (by default the Philips PRESS 35 ms set, not the GE set the default fit
uses) resampled to the acquisition grid; M a literature macromolecule spectrum of nine
Gaussian peaks (`simulate.macromolecules`, not the fitter's MM Gaussians) scaled by k per
session; V_n a Voigt envelope whose Lorentzian width narrows during infusion (BOLD); D a
session-specific lineshape distortion (the main line plus satellites shifted by 1-3 Hz, i.e.
an asymmetric, non-Voigt line shared by every component, water included); R a residual
eddy-current phase of the metabolite scan only (not removed by the water reference); E an
eddy-current phase shared with the water reference; Z a smooth baseline (a few very broad
complex Gaussians across 0-4.5 ppm, a session-specific fraction of the NAA height); df_n a
slowly drifting frequency with jitter; phi_n a phase with jitter; L lipids (Lip09 + Lip13)
in motion-corrupted or lipid-contaminated transients; W_n residual water. Session habits
(`habits.py`) add a metabolite phase unrelated to the reference, large offsets and drift,
motion bursts, lipid contamination, a broadened and a low-SNR session. Several-coil
sessions get complex coil sensitivities and correlated noise, scaled so that the optimally
combined single-transient SNR equals the drawn SNR.

SNR definition used by the simulator: height of the noise-free NAA component (real part,
zero phase, session lineshape) divided by the SD of the real part of the spectrum noise
(FFT without scaling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io.basis import Basis, read_basis
from ..macromolecules import component_fids
from ..paths import given_or_shipped
from ..spectra import PPM_CENTRE_1H, frequency_axis, fwhm_hz, ppm_axis, time_axis, to_spectrum
from .design import Session
from .effects import (
    STREAM_NUISANCE,
    STREAM_SPECTRA,
    ParticipantEffects,
    glx_response,
    response_timecourse,
    rng_for,
)
from .habits import SessionHabits, motion_bursts
from .macromolecules import mm_fids

GLX_METABOLITES = ("Glu", "Gln")
ZERO_FILL = 8
#: Lorentzian widths at which the true NAA FWHM is computed per session (then interpolated).
FWHM_GRID = 17


@dataclass
class SpectralModel:
    """Everything needed to synthesise spectra on the acquisition grid.

    basis: metabolites on the grid (n_points, n_met), centre 4.65 ppm;
    mm: macromolecule signals (n_points, n_mm) per unit amplitude;
    lipids: Lip09 + Lip13 signal (n_points,) per unit amplitude.
    """

    basis: Basis
    mm_names: list[str]
    mm: np.ndarray
    lipids: np.ndarray
    t: np.ndarray

    @property
    def dwell_s(self) -> float:
        return self.basis.dwell_s

    @property
    def cf_mhz(self) -> float:
        return self.basis.cf_mhz

    @property
    def n_points(self) -> int:
        return self.basis.n_points


def build_model(params: dict) -> SpectralModel:
    """Read and resample the basis and build MM/lipid signals for the acquisition grid.

    The basis (any LCModel .BASIS at the field of the acquisition, e.g. 4000 Hz / 8192
    points) is re-referenced to 4.65 ppm and resampled by band-limited interpolation to the
    acquisition's dwell time and number of points (`Basis.resampled`).
    """
    acq, sig = params["acquisition"], params["signal"]
    raw = read_basis(given_or_shipped(acq["basis"]))
    names = list(sig["concentrations"])
    dwell = 1.0 / acq["spectral_width_hz"]
    basis = raw.subset(names).rereferenced(PPM_CENTRE_1H).resampled(dwell, acq["points"])
    # amplitude of one proton at 1 mM: Cr has 5 observable protons (3.03 + 3.92 ppm singlets)
    unit = float(np.abs(raw.fid("Cr")[1])) / 5.0
    mm_names = list(sig["macromolecules"])
    mm = mm_fids(mm_names, acq["points"], dwell, basis.cf_mhz, PPM_CENTRE_1H, unit)
    lip = component_fids(
        ["Lip09", "Lip13"], acq["points"], dwell, basis.cf_mhz, PPM_CENTRE_1H, unit
    ).sum(axis=1)
    return SpectralModel(basis, mm_names, mm, lip, time_axis(acq["points"], dwell))


def voigt(t: np.ndarray, lorentz_hz: np.ndarray, gauss_hz: float) -> np.ndarray:
    """Voigt envelopes, shape (n_points, n) for n Lorentzian widths (Hz)."""
    lor = np.exp(-np.pi * np.outer(t, lorentz_hz))
    return lor * np.exp(-((np.pi * gauss_hz * t) ** 2) / (4.0 * np.log(2.0)))[:, None]


@dataclass
class Lineshape:
    """Session lineshape distortion (multiplies the Voigt envelope), all shape (n_points,).

    satellites: (weight, shift Hz) pairs; distortion = (1 + sum w e^{2 pi i d t}) / (1 + sum w),
    shared by metabolites, MM and the water reference; residual: exp(i A e^{-t/tau}), an
    eddy-current phase of the metabolite scan only.
    """

    satellites: list[tuple[float, float]]
    residual_rad: float
    residual_tau_s: float
    distortion: np.ndarray
    residual: np.ndarray

    @property
    def metabolite(self) -> np.ndarray:
        return self.distortion * self.residual


def draw_lineshape(rng: np.random.Generator, t: np.ndarray, sig: dict) -> Lineshape:
    sats = []
    for _ in range(sig["lineshape_satellites"]):
        w = rng.uniform(*sig["lineshape_satellite_weight"])
        d = rng.choice([-1.0, 1.0]) * rng.uniform(*sig["lineshape_satellite_shift_hz"])
        sats.append((float(w), float(d)))
    dist = np.ones(t.size, complex)
    for w, d in sats:
        dist = dist + w * np.exp(2j * np.pi * d * t)
    dist /= 1.0 + sum(w for w, _ in sats)
    amp = rng.uniform(-1.0, 1.0) * sig["residual_eddy_current_rad"]
    tau = rng.uniform(0.02, 0.08)
    return Lineshape(sats, float(amp), float(tau), dist, np.exp(1j * amp * np.exp(-t / tau)))


def draw_baseline(
    rng: np.random.Generator, model: SpectralModel, sig: dict, naa_height: float
) -> tuple[np.ndarray, list[tuple[float, float, float, float]], float]:
    """Smooth complex baseline FID (n_points,), its components and its relative size.

    `baseline_components` complex Gaussians at 0.2-4.4 ppm, FWHM in baseline_fwhm_ppm, random
    phase and weight; scaled so that the largest modulus of the baseline spectrum between
    0 and 4.5 ppm is a fraction (drawn from baseline_amplitude) of the NAA height.
    Components: (ppm, FWHM ppm, amplitude relative to the largest, phase deg).
    """
    t = model.t
    lo, hi = sig["baseline_amplitude"]
    k = sig["baseline_components"]
    if hi <= 0 or k == 0:
        return np.zeros(t.size, complex), [], 0.0
    comps = []
    fid = np.zeros(t.size, complex)
    for _ in range(k):
        ppm = rng.uniform(0.2, 4.4)
        fwhm = rng.uniform(*sig["baseline_fwhm_ppm"])
        a = rng.uniform(0.3, 1.0)
        ph = rng.uniform(0.0, 2 * np.pi)
        g = fwhm * model.cf_mhz
        f = (ppm - PPM_CENTRE_1H) * model.cf_mhz
        fid += a * np.exp(
            -((np.pi * g * t) ** 2) / (4.0 * np.log(2.0)) + 1j * (ph + 2 * np.pi * f * t)
        )
        comps.append((ppm, fwhm, a, np.rad2deg(ph)))
    n_zf = ZERO_FILL * model.n_points
    spec = to_spectrum(np.pad(fid, (0, n_zf - t.size)))
    ppm_ax = ppm_axis(n_zf, model.dwell_s, model.cf_mhz)
    peak = float(np.abs(spec[(ppm_ax >= 0.0) & (ppm_ax <= 4.5)]).max())
    rel = rng.uniform(lo, hi)
    amax = max(c[2] for c in comps)
    comps = [(round(p, 4), round(w, 4), round(a / amax, 4), round(d, 2)) for p, w, a, d in comps]
    return fid * (rel * naa_height / peak), comps, float(rel)


@dataclass
class SessionData:
    """One simulated session: metabolite transients, water reference and truth.

    fids: (n_points, n_transients) or (n_points, n_coils, n_transients)
    water: (n_points, n_water) or (n_points, n_coils, n_water)
    truth: one row per transient; session_truth: scalar session parameters.
    """

    fids: np.ndarray
    water: np.ndarray
    truth: pd.DataFrame
    session_truth: dict


def simulate_session(
    session: Session,
    fx: ParticipantEffects,
    model: SpectralModel,
    params: dict,
    habits: SessionHabits | None = None,
) -> SessionData:
    """Simulate every transient of one session (deterministic given seed and session)."""
    habits = habits or SessionHabits()
    p = session.participant
    rng = rng_for(params["seed"], STREAM_SPECTRA, p.index, session.index)
    nrng = rng_for(params["seed"], STREAM_NUISANCE, p.index, session.index)
    acq, sig, eff, hab = (
        params["acquisition"],
        params["signal"],
        params["effects"],
        params["habits"],
    )
    t = model.t
    n_tr = session.n_transients
    names = model.basis.names
    tr = acq["tr_s"]

    # --- concentrations per transient
    cv = sig["between_session_cv"]
    sd_log = np.sqrt(np.log1p(cv**2))
    period_factor = 1.0 + (eff["period2_glx"] if session.period == 2 else 0.0)
    base = np.array(
        [
            sig["concentrations"][m]
            * fx.concentration_factor[m]
            * float(np.exp(rng.normal(-0.5 * sd_log**2, sd_log)))
            * (period_factor if m in GLX_METABOLITES else 1.0)
            for m in names
        ]
    )
    times = np.arange(n_tr) * tr
    t_rel = times - session.infusion_start_s
    shape = response_timecourse(t_rel, eff["response_tau_min"])
    resp = glx_response(session, fx, params)
    resp_pop = glx_response(session, None, params)
    gain = np.ones((n_tr, len(names)))
    for m, factor in (("Glu", 1.0), ("Gln", eff["gln_response_factor"])):
        gain[:, names.index(m)] = 1.0 + factor * resp * shape
    conc = base[None, :] * gain  # (n_tr, n_met)

    # --- lineshape: Lorentzian narrows during infusion (BOLD), Gaussian fixed, distortion
    lor0 = rng.uniform(*sig["lorentz_hz"])
    gauss = rng.uniform(*sig["gauss_hz"])
    ls = draw_lineshape(nrng, t, sig)

    # --- frequency drift/jitter and phase (water reference: f0_water, phi0)
    f0 = rng.uniform(-3.0, 3.0)
    rate = rng.uniform(*sig["drift_hz_per_min"])
    walk = np.cumsum(rng.normal(0.0, sig["drift_walk_hz"], n_tr))
    jitter = rng.normal(0.0, sig["frequency_jitter_hz"], n_tr)
    phi0 = np.deg2rad(rng.uniform(*sig["phase_offset_deg"]))
    phase_jitter = np.deg2rad(rng.normal(0.0, sig["phase_jitter_deg"], n_tr))
    # habit parameters are drawn whatever the habits, so that one habit changes nothing else
    u_water = nrng.uniform(-1.0, 1.0) * hab["water_offset_ppm"] * model.cf_mhz
    u_offset = nrng.choice([-1.0, 1.0]) * nrng.uniform(*hab["large_offset_hz"])
    u_rate = nrng.choice([-1.0, 1.0]) * nrng.uniform(*hab["large_drift_hz_per_min"])
    u_phase = nrng.uniform(0.0, 2 * np.pi)
    u_lor = nrng.uniform(*hab["broadened_lorentz_hz"])
    u_snr = nrng.uniform(*hab["low_snr_naa"])
    f0_water = f0
    if habits.large_offset:
        f0_water, f0 = u_water, u_water + u_offset
    if habits.large_drift:
        rate = u_rate
    dphi = u_phase if habits.phase_unrelated else 0.0
    if habits.broadened:
        lor0 = u_lor
    lor = lor0 - sig["bold_narrowing_hz"] * response_timecourse(t_rel, sig["bold_tau_min"])
    dfreq = f0 + rate * times / 60.0 + walk + jitter
    phase = phi0 + dphi + phase_jitter

    # --- corrupt transients: scattered motion spikes
    n_bad = int(round(sig["corrupt_fraction"] * n_tr))
    bad = np.zeros(n_tr, bool)
    bad[rng.choice(np.arange(2, n_tr), size=n_bad, replace=False)] = True
    reason = np.where(bad, "motion", "").astype(object)
    amp = np.ones(n_tr)
    extra_lor = np.zeros(n_tr)
    lipid = np.zeros(n_tr)
    k = int(bad.sum())
    sign = rng.choice([-1.0, 1.0], size=(k, 2))
    amp[bad] = rng.uniform(0.3, 0.7, k)
    phase[bad] += sign[:, 0] * np.deg2rad(rng.uniform(40.0, 120.0, k))
    dfreq_obs = dfreq.copy()
    dfreq_obs[bad] += sign[:, 1] * rng.uniform(4.0, 10.0, k)
    extra_lor[bad] = rng.uniform(3.0, 8.0, k)
    lipid[bad] = rng.uniform(20.0, 60.0, k)

    # --- habits: motion bursts (runs of corrupted transients, then a lasting small step)
    bursts = []
    if habits.motion:
        bursts = motion_bursts(nrng, n_tr, hab["motion_bursts"], hab["motion_burst_transients"])
        for first, last in bursts:
            run = slice(first, last + 1)
            m = last + 1 - first
            bad[run] = True
            reason[run] = "motion_burst"
            amp[run] = nrng.uniform(0.2, 0.8, m)
            phase[run] += nrng.choice([-1.0, 1.0], m) * np.deg2rad(nrng.uniform(30.0, 180.0, m))
            dfreq_obs[run] += nrng.choice([-1.0, 1.0], m) * nrng.uniform(3.0, 15.0, m)
            extra_lor[run] = nrng.uniform(2.0, 10.0, m)
            lipid[run] = nrng.uniform(0.0, 40.0, m)
            step_f = nrng.choice([-1.0, 1.0]) * nrng.uniform(0.5, 2.0)
            step_p = nrng.choice([-1.0, 1.0]) * np.deg2rad(nrng.uniform(5.0, 20.0))
            dfreq_obs[last + 1 :] += step_f
            dfreq[last + 1 :] += step_f
            phase[last + 1 :] += step_p
    lipid_period = (np.nan, np.nan)
    if habits.lipid:
        size = int(round(nrng.uniform(*hab["lipid_min"]) * 60.0 / tr))
        size = min(size, n_tr - 2)
        first = int(nrng.integers(2, n_tr - size + 1))
        run = slice(first, first + size)
        level = nrng.uniform(*hab["lipid_amplitude"])
        lipid[run] += level * np.exp(nrng.normal(0.0, 0.7, size))
        fresh = ~bad[run]
        reason[run] = np.where(fresh, "lipid", reason[run])
        bad[run] = True
        lipid_period = (float(times[first]), float(times[first + size - 1]))

    # --- eddy currents (same for metabolite and water acquisitions)
    ec = sig["eddy_current_rad"] * rng.uniform(0.5, 1.5)
    ec_phase = np.exp(1j * ec * np.exp(-t / sig["eddy_current_tau_s"]))

    # --- SNR reference: height of the noise-free NAA component in a baseline transient
    n_zf = ZERO_FILL * model.n_points
    freq = frequency_axis(n_zf, model.dwell_s)
    env0 = voigt(t, np.array([lor0]), gauss)[:, 0] * ls.metabolite
    naa = model.basis.fid("NAA") * base[names.index("NAA")]
    spec_naa = to_spectrum(np.pad(naa * env0, (0, n_zf - t.size)))
    naa_height = float(spec_naa.real.max())
    snr = rng.uniform(*sig["snr_naa"])
    if habits.low_snr:
        snr = u_snr
    sigma = naa_height / (snr * np.sqrt(model.n_points))

    # --- noise-free metabolite + MM signal, baseline, lipids
    cv_mm = sig["mm_scale_cv"]
    sd_mm = np.sqrt(np.log1p(cv_mm**2))
    mm_scale = float(np.exp(nrng.normal(-0.5 * sd_mm**2, sd_mm))) if cv_mm > 0 else 1.0
    mm_amp = np.array([sig["macromolecules"][m] for m in model.mm_names]) * mm_scale
    mm_sig = model.mm @ mm_amp
    baseline, baseline_comps, baseline_rel = draw_baseline(nrng, model, sig, naa_height)
    clean = model.basis.fids @ conc.T + mm_sig[:, None]  # (n_pts, n_tr)
    env = voigt(t, lor + extra_lor, gauss) * ls.metabolite[:, None]
    clean = clean * env + baseline[:, None]
    clean = clean * amp[None, :] + model.lipids[:, None] * lipid[None, :] * env
    rot = np.exp(1j * (phase[None, :] + 2 * np.pi * np.outer(t, dfreq_obs)))
    signal = clean * rot * ec_phase[:, None]

    # --- residual water: two Lorentzians near 4.65 ppm following the frequency drift
    water_height = rng.uniform(*sig["residual_water"]) * naa_height
    wat = np.zeros((model.n_points, n_tr), complex)
    for _ in range(2):
        w = rng.uniform(6.0, 14.0)
        fw = rng.normal(0.0, 0.02) * model.cf_mhz
        area = 0.5 * water_height * np.pi * w * model.dwell_s
        comp = area * np.exp(1j * rng.uniform(0, 2 * np.pi)) * np.exp(-np.pi * w * t)
        fluct = np.exp(rng.normal(0.0, 0.1, n_tr))
        wat += comp[:, None] * np.exp(2j * np.pi * np.outer(t, fw + dfreq_obs)) * fluct[None, :]
    signal = signal + wat * ec_phase[:, None]

    # --- water reference (unsuppressed, acquired before the series, no drift)
    n_w = acq["water_ref_transients"]
    lw = lor0 + sig["water_extra_lorentz_hz"]
    water_area = (
        sig["water_amplitude"] * float(np.abs(model.basis.fid("NAA")[1])) * base[names.index("NAA")]
    )
    water_env = voigt(t, np.array([lw]), gauss)[:, 0] * ls.distortion
    water_rot = np.exp(1j * (phi0 + 2 * np.pi * f0_water * t)) * ec_phase
    water_fid = (water_area + model.basis.fids @ base) * water_env * water_rot
    water_clean = np.repeat(water_fid[:, None], n_w, axis=1)

    # --- coils and noise
    if session.n_coils > 1:
        fids, water = _coil_data(
            rng,
            signal,
            water_clean,
            sigma,
            session.n_coils,
            params["acquisition"]["coil_noise_correlation"],
        )
    else:
        fids = signal + sigma * _cnoise(rng, signal.shape)
        water = water_clean + sigma * _cnoise(rng, water_clean.shape)

    # --- truth table
    idx = {m: names.index(m) for m in names}
    glx = conc[:, idx["Glu"]] + conc[:, idx["Gln"]]
    tnaa = conc[:, idx["NAA"]] + conc[:, idx["NAAG"]]
    pop = np.array([sig["concentrations"][m] for m in names])
    pop_glu = pop[idx["Glu"]] * period_factor * (1.0 + resp_pop * shape)
    pop_gln = (
        pop[idx["Gln"]] * period_factor * (1.0 + eff["gln_response_factor"] * resp_pop * shape)
    )
    pop_tnaa = pop[idx["NAA"]] + pop[idx["NAAG"]]
    met = model.basis.fids @ base
    fwhm = _naa_fwhm(model, met + mm_sig, lor, gauss, ls.metabolite, n_zf, freq, baseline)
    naa_only = model.basis.fid("NAA") * base[idx["NAA"]]
    fwhm_singlet = _naa_fwhm(model, naa_only, lor, gauss, ls.metabolite, n_zf, freq)
    truth = pd.DataFrame(
        {
            "participant_id": p.participant_id,
            "session_id": session.session_id,
            "transient": np.arange(n_tr),
            "time_s": times,
            "t_rel_infusion_s": t_rel,
            "phase": np.where(t_rel < 0, "baseline", "infusion"),
            **{f"conc_{m}": conc[:, idx[m]] for m in names},
            "glx_tnaa": glx / tnaa,
            "glu_tnaa": conc[:, idx["Glu"]] / tnaa,
            "expected_glx_tnaa": (pop_glu + pop_gln) / pop_tnaa,
            "expected_glu_tnaa": pop_glu / pop_tnaa,
            "lorentz_hz": lor,
            "gauss_hz": gauss,
            "naa_fwhm_hz": fwhm,
            "naa_singlet_fwhm_hz": fwhm_singlet,
            "freq_offset_hz": dfreq_obs,
            "phase_deg": np.rad2deg(np.angle(np.exp(1j * phase))),
            "amplitude": amp,
            "lipid_amplitude": lipid,
            "corrupt": bad.astype(int),
            "corrupt_reason": reason.astype(str),
        }
    )
    session_truth = {
        "participant_id": p.participant_id,
        "session_id": session.session_id,
        "condition": session.condition,
        "period": session.period,
        "sex": p.sex,
        "n_transients": n_tr,
        "n_coils": session.n_coils,
        "infusion_start_s": session.infusion_start_s,
        **habits.flags(),
        "snr_naa_single": snr,
        "noise_sd": sigma,
        "lorentz_hz": lor0,
        "gauss_hz": gauss,
        "naa_fwhm_hz": fwhm[0],
        "naa_singlet_fwhm_hz": fwhm_singlet[0],
        "water_fwhm_hz": _fwhm_of(water_area * water_env, n_zf, freq),
        "eddy_current_rad": ec,
        "freq_offset0_hz": f0,
        "water_freq_offset_hz": f0_water,
        "drift_hz_per_min": rate,
        "phase0_deg": float(np.rad2deg(np.angle(np.exp(1j * (phi0 + dphi))))),
        "water_phase_deg": float(np.rad2deg(phi0)),
        "metabolite_phase_offset_deg": float(np.rad2deg(dphi)),
        "lineshape_satellites": ";".join(f"{w:.4f}@{d:+.3f}Hz" for w, d in ls.satellites),
        "residual_eddy_current_rad": ls.residual_rad,
        "residual_eddy_current_tau_s": ls.residual_tau_s,
        "baseline_rel_naa_height": baseline_rel,
        "baseline_components": ";".join(
            f"{p_}ppm/{w}ppm/{a}/{d}deg" for p_, w, a, d in baseline_comps
        ),
        "mm_scale": mm_scale,
        "motion_bursts": ";".join(f"{a}-{b}" for a, b in bursts),
        "lipid_start_s": lipid_period[0],
        "lipid_end_s": lipid_period[1],
        "glx_response": resp,
        "glx_response_expected": resp_pop,
        "n_corrupt": int(bad.sum()),
        **{f"conc_{m}": base[idx[m]] for m in names},
        **{f"mm_{m}": float(a) for m, a in zip(model.mm_names, mm_amp, strict=True)},
    }
    return SessionData(fids=fids, water=water, truth=truth, session_truth=session_truth)


def _cnoise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _coil_data(rng, signal, water, sigma, n_coils, rho):
    """Apply coil sensitivities and correlated noise; optimal-combination SNR preserved."""
    sens = rng.uniform(0.3, 1.0, n_coils) * np.exp(1j * rng.uniform(0, 2 * np.pi, n_coils))
    scale = rng.uniform(0.8, 1.2, n_coils)
    corr = (1 - rho) * np.eye(n_coils) + rho * np.ones((n_coils, n_coils))
    psi = corr * np.outer(scale, scale)
    gain = float(np.real(sens.conj() @ np.linalg.solve(psi, sens)))
    chol = np.linalg.cholesky(psi * gain)

    def apply(clean):
        n_pts, n = clean.shape
        noise = sigma * _cnoise(rng, (n_pts, n, n_coils)) @ chol.T
        out = clean[:, None, :] * sens[None, :, None] + noise.transpose(0, 2, 1)
        return out

    return apply(signal), apply(water)


def _fwhm_of(fid: np.ndarray, n_zf: int, freq: np.ndarray) -> float:
    spec = to_spectrum(np.pad(fid, (0, n_zf - fid.size))).real
    return fwhm_hz(spec, freq, 0, spec.size)


def _naa_fwhm(
    model: SpectralModel,
    clean: np.ndarray,
    lor: np.ndarray,
    gauss: float,
    distortion: np.ndarray,
    n_zf,
    freq,
    baseline: np.ndarray | None = None,
) -> np.ndarray:
    """FWHM (Hz) of the NAA peak of the noise-free spectrum `clean` (+ `baseline`).

    Measured as QC measures it on data: width at half the peak height (above zero) of the
    real spectrum between 1.9 and 2.12 ppm, for each Lorentzian width in `lor`, with the
    session's lineshape distortion. The transient truth has it for metabolites + MM +
    baseline (`naa_fwhm_hz`: the apparent width that a height-above-zero measure gives on
    perfect data) and for the NAA singlet alone (`naa_singlet_fwhm_hz`: the line's own width,
    what a measure that models the background under NAA should give).
    """
    ppm = ppm_axis(n_zf, model.dwell_s, model.cf_mhz)
    lo, hi = np.searchsorted(ppm, [1.9, 2.12])
    # the FWHM is smooth in the Lorentzian width: evaluate it on a grid spanning the session's
    # widths (BOLD narrowing) and interpolate (error far below 0.01 Hz)
    span = float(np.ptp(lor))
    grid = np.linspace(lor.min(), lor.max(), FWHM_GRID) if span > 1e-6 else lor[:1]
    env = voigt(model.t, grid, gauss) * distortion[:, None]
    padded = np.zeros((n_zf, grid.size), complex)
    padded[: model.n_points] = clean[:, None] * env
    if baseline is not None:
        padded[: model.n_points] += baseline[:, None]
    spec = to_spectrum(padded).real
    widths = np.array([fwhm_hz(spec[:, j], freq, lo, hi) for j in range(grid.size)])
    return np.interp(lor, grid, widths) if grid.size > 1 else np.full(lor.shape, widths[0])
