"""Simulated single-voxel fMRS transients built from a real basis set.

Signal model of transient n (internal FID convention of `fmrstrial.spectra`):

    s_n(t) = [sum_m c_nm B_m(t) + sum_k a_k M_k(t)] V_n(t) E(t) exp(i(phi_n + 2 pi df_n t))
             + W_n(t) + noise

with B the basis resampled to the acquisition grid, M Gaussian macromolecule lines, V_n a
Voigt envelope whose Lorentzian width narrows during infusion (BOLD), E an eddy-current phase
exp(i A exp(-t/tau)), df_n a slowly drifting frequency offset with jitter, phi_n a phase
with jitter, W_n residual water. A few transients are motion-corrupted (amplitude loss,
phase/frequency jumps, broadening, lipid contamination). Several-coil sessions get complex
coil sensitivities and correlated noise, scaled so that the optimally combined single-
transient SNR equals the drawn SNR.

SNR definition used by the simulator: height of the noise-free NAA component (real part,
zero phase) divided by the SD of the real part of the spectrum noise (FFT without scaling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io.basis import Basis, read_basis
from ..macromolecules import component_fids
from ..paths import resource
from ..spectra import PPM_CENTRE_1H, frequency_axis, fwhm_hz, ppm_axis, time_axis, to_spectrum
from .design import Session
from .effects import (
    STREAM_SPECTRA,
    ParticipantEffects,
    glx_response,
    response_timecourse,
    rng_for,
)

GLX_METABOLITES = ("Glu", "Gln")
ZERO_FILL = 8


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


def basis_path(spec: str):
    """A basis given as a path, or relative to the shipped resources."""
    from pathlib import Path

    p = Path(spec)
    return p if p.is_absolute() or p.exists() else resource(spec)


def build_model(params: dict) -> SpectralModel:
    """Read and resample the basis and build MM/lipid signals for the acquisition grid."""
    acq, sig = params["acquisition"], params["signal"]
    raw = read_basis(basis_path(acq["basis"]))
    names = list(sig["concentrations"])
    dwell = 1.0 / acq["spectral_width_hz"]
    basis = raw.subset(names).rereferenced(PPM_CENTRE_1H).resampled(dwell, acq["points"])
    # amplitude of one proton at 1 mM: Cr has 5 observable protons (3.03 + 3.92 ppm singlets)
    unit = float(np.abs(raw.fid("Cr")[1])) / 5.0
    mm_names = list(sig["macromolecules"])
    mm = component_fids(mm_names, acq["points"], dwell, basis.cf_mhz, PPM_CENTRE_1H, unit)
    lip = component_fids(
        ["Lip09", "Lip13"], acq["points"], dwell, basis.cf_mhz, PPM_CENTRE_1H, unit
    ).sum(axis=1)
    return SpectralModel(basis, mm_names, mm, lip, time_axis(acq["points"], dwell))


def voigt(t: np.ndarray, lorentz_hz: np.ndarray, gauss_hz: float) -> np.ndarray:
    """Voigt envelopes, shape (n_points, n) for n Lorentzian widths (Hz)."""
    lor = np.exp(-np.pi * np.outer(t, lorentz_hz))
    return lor * np.exp(-((np.pi * gauss_hz * t) ** 2) / (4.0 * np.log(2.0)))[:, None]


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
    session: Session, fx: ParticipantEffects, model: SpectralModel, params: dict
) -> SessionData:
    """Simulate every transient of one session (deterministic given seed and session)."""
    p = session.participant
    rng = rng_for(params["seed"], STREAM_SPECTRA, p.index, session.index)
    acq, sig, eff = params["acquisition"], params["signal"], params["effects"]
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

    # --- lineshape: Lorentzian narrows during infusion (BOLD), Gaussian fixed
    lor0 = rng.uniform(*sig["lorentz_hz"])
    gauss = rng.uniform(*sig["gauss_hz"])
    lor = lor0 - sig["bold_narrowing_hz"] * response_timecourse(t_rel, sig["bold_tau_min"])

    # --- frequency drift/jitter and phase
    f0 = rng.uniform(-3.0, 3.0)
    rate = rng.uniform(*sig["drift_hz_per_min"])
    walk = np.cumsum(rng.normal(0.0, sig["drift_walk_hz"], n_tr))
    dfreq = f0 + rate * times / 60.0 + walk + rng.normal(0.0, sig["frequency_jitter_hz"], n_tr)
    phi0 = np.deg2rad(rng.uniform(*sig["phase_offset_deg"]))
    phase = phi0 + np.deg2rad(rng.normal(0.0, sig["phase_jitter_deg"], n_tr))

    # --- corrupt transients (motion)
    n_bad = int(round(sig["corrupt_fraction"] * n_tr))
    bad = np.zeros(n_tr, bool)
    bad[rng.choice(np.arange(2, n_tr), size=n_bad, replace=False)] = True
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

    # --- eddy currents (same for metabolite and water acquisitions)
    ec = sig["eddy_current_rad"] * rng.uniform(0.5, 1.5)
    ec_phase = np.exp(1j * ec * np.exp(-t / sig["eddy_current_tau_s"]))

    # --- noise-free metabolite + MM signal
    mm_amp = np.array([sig["macromolecules"][m] for m in model.mm_names])
    clean = model.basis.fids @ conc.T + (model.mm @ mm_amp)[:, None]  # (n_pts, n_tr)
    clean = clean * amp[None, :] + model.lipids[:, None] * lipid[None, :]
    env = voigt(t, lor + extra_lor, gauss)
    rot = np.exp(1j * (phase[None, :] + 2 * np.pi * np.outer(t, dfreq_obs)))
    signal = clean * env * rot * ec_phase[:, None]

    # --- SNR reference: height of the noise-free NAA component in a baseline transient
    n_zf = ZERO_FILL * model.n_points
    freq = frequency_axis(n_zf, model.dwell_s)
    naa = model.basis.fid("NAA") * base[names.index("NAA")]
    spec_naa = to_spectrum(
        np.pad(naa * voigt(t, np.array([lor0]), gauss)[:, 0], (0, n_zf - t.size))
    )
    naa_height = float(spec_naa.real.max())
    snr = rng.uniform(*sig["snr_naa"])
    sigma = naa_height / (snr * np.sqrt(model.n_points))

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
    water_fid = (
        water_area
        * voigt(t, np.array([lw]), gauss)[:, 0]
        * np.exp(1j * (phi0 + 2 * np.pi * f0 * t))
        * ec_phase
    )
    water_fid = water_fid + (model.basis.fids @ base) * voigt(t, np.array([lw]), gauss)[:, 0] * (
        np.exp(1j * (phi0 + 2 * np.pi * f0 * t)) * ec_phase
    )
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
    fwhm = _naa_fwhm(model, model.basis.fids @ base + model.mm @ mm_amp, lor, gauss, n_zf, freq)
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
            "freq_offset_hz": dfreq_obs,
            "phase_deg": np.rad2deg(np.angle(np.exp(1j * phase))),
            "corrupt": bad.astype(int),
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
        "snr_naa_single": snr,
        "noise_sd": sigma,
        "lorentz_hz": lor0,
        "gauss_hz": gauss,
        "naa_fwhm_hz": fwhm[0],
        "water_fwhm_hz": _fwhm_of(water_area * voigt(t, np.array([lw]), gauss)[:, 0], n_zf, freq),
        "eddy_current_rad": ec,
        "freq_offset0_hz": f0,
        "drift_hz_per_min": rate,
        "phase0_deg": float(np.rad2deg(phi0)),
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
    model: SpectralModel, clean: np.ndarray, lor: np.ndarray, gauss: float, n_zf, freq
) -> np.ndarray:
    """FWHM (Hz) of the NAA peak of the noise-free metabolite + MM spectrum `clean`.

    Measured as QC measures it on data: width at half the peak height (above zero) of the
    real spectrum between 1.9 and 2.12 ppm, for each Lorentzian width in `lor`.
    """
    ppm = ppm_axis(n_zf, model.dwell_s, model.cf_mhz)
    lo, hi = np.searchsorted(ppm, [1.9, 2.12])
    naa = clean
    unique, inverse = np.unique(np.round(lor, 4), return_inverse=True)
    env = voigt(model.t, unique, gauss)
    padded = np.zeros((n_zf, unique.size), complex)
    padded[: model.n_points] = naa[:, None] * env
    spec = to_spectrum(padded).real
    widths = np.array([fwhm_hz(spec[:, j], freq, lo, hi) for j in range(unique.size)])
    return widths[inverse]
