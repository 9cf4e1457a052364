"""Synthetic block spectra with known truth, for validating and benchmarking the fit.

A "block" is the average of `n_average` preprocessed transients (the demo's 5-min blocks at
TR 3 s hold about 100): built from the simulator's spectral model (`build_model`: GE PRESS
35 ms basis on the demo grid, 127.73 MHz, 1200 Hz, 1024 points, LCModel-style MM Gaussians)
and the simulator's formulas (Voigt lineshape, MM amplitudes, noise SD = NAA height /
(SNR sqrt(n_points)) per transient, so block noise is that over sqrt(n_average)), with the
residue preprocessing leaves: frequency offset within +-1 Hz, zero-order phase within +-5
degrees, a small residual-water remnant. Concentrations are the simulator's defaults times
a log-normal factor (8 % CV, its between-participant variation).

`realistic=True` avoids the inverse crime: metabolites from another vendor's basis set
(resampled to the same grid, each scaled to the same total signal as the GE metabolite so
that concentration units agree), a lineshape that is not Voigt (a residual eddy-current phase
and an asymmetric two-compartment line) and a broad baseline that the model does not contain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io.basis import read_basis
from ..paths import resource
from ..simulate import resolve
from ..simulate.mrs import SpectralModel as SimModel
from ..simulate.mrs import build_model, fwhm_hz, voigt
from ..simulate.params import INVERSE_CRIME
from ..spectra import PPM_CENTRE_1H, frequency_axis, to_spectrum

#: Other vendors' PRESS 35 ms basis sets shipped with the workflow.
VENDOR_BASIS = "basis/lcmodel_press35_3T/3T_PRESS_{vendor}_35ms_noMM.BASIS"


@dataclass
class Block:
    """One synthetic block spectrum and its truth.

    fid: (n_points,) complex; conc: metabolite -> true amplitude (basis units);
    lorentz_hz, gauss_hz, shift_hz, phase_deg: lineshape and offsets applied;
    snr_single: single-transient NAA SNR; sigma: block noise SD per part (time domain);
    naa_fwhm_hz: FWHM of the noise-free metabolite + MM spectrum at NAA (QC definition).
    """

    fid: np.ndarray
    conc: dict[str, float]
    lorentz_hz: float
    gauss_hz: float
    shift_hz: float
    phase_deg: float
    snr_single: float
    sigma: float
    naa_fwhm_hz: float

    def ratio(self, num: tuple[str, ...], den: tuple[str, ...]) -> float:
        return sum(self.conc[m] for m in num) / sum(self.conc[m] for m in den)


def demo_model() -> SimModel:
    """The simulator's spectral model for the demo acquisition (default parameters)."""
    return build_model(resolve(INVERSE_CRIME))


def vendor_basis_on_grid(sim: SimModel, vendor: str, match_scale: bool = True) -> np.ndarray:
    """Another vendor's metabolites (n_points, n_met) in the order of `sim.basis.names`.

    match_scale: scale each metabolite so its first FID point has the magnitude of the GE
    (simulator) one, i.e. the same total signal (number of protons x concentration); the
    shipped sets differ by about 0.6x overall and a few per cent between metabolites.
    """
    raw = read_basis(resource(VENDOR_BASIS.format(vendor=vendor)))
    grid = (
        raw.subset(sim.basis.names)
        .rereferenced(PPM_CENTRE_1H)
        .resampled(sim.dwell_s, sim.n_points, sim.cf_mhz)
    )
    fids = grid.fids.copy()
    if match_scale:
        fids *= np.abs(sim.basis.fids[0]) / np.abs(fids[0])
    else:
        fids *= np.abs(sim.basis.fids[0]).sum() / np.abs(fids[0]).sum()
    return fids


def _naa_height(sim: SimModel, conc_naa: float, lor: float, gauss: float) -> float:
    n_zf = 8 * sim.n_points
    naa = sim.basis.fid("NAA") * conc_naa * voigt(sim.t, np.array([lor]), gauss)[:, 0]
    return float(to_spectrum(np.pad(naa, (0, n_zf - sim.n_points))).real.max())


def make_blocks(
    n: int,
    seed: int,
    sim: SimModel | None = None,
    *,
    n_average: int = 100,
    realistic: bool = False,
    vendor: str | None = None,
    distort_lineshape: bool | None = None,
    broad_baseline: bool | None = None,
    match_scale: bool = True,
) -> list[Block]:
    """`n` block spectra drawn with a generator seeded by `seed` (see module doc).

    realistic: shorthand for vendor='Philips', distort_lineshape=True, broad_baseline=True;
    each can also be set on its own (vendor None means the simulator's GE basis).
    """
    if realistic:
        vendor = "Philips" if vendor is None else vendor
        distort_lineshape = True if distort_lineshape is None else distort_lineshape
        broad_baseline = True if broad_baseline is None else broad_baseline
    sim = demo_model() if sim is None else sim
    params = resolve(INVERSE_CRIME)
    sig = params["signal"]
    names = sim.basis.names
    rng = np.random.default_rng(seed)
    fids_met = sim.basis.fids if vendor is None else vendor_basis_on_grid(sim, vendor, match_scale)
    mm_amp = np.array([sig["macromolecules"][m] for m in sim.mm_names])
    t = sim.t
    cv = sig["between_participant_cv"]
    sd_log = np.sqrt(np.log1p(cv**2))
    out = []
    for _ in range(n):
        factors = np.exp(rng.normal(-0.5 * sd_log**2, sd_log, len(names)))
        conc = np.array([sig["concentrations"][m] for m in names]) * factors
        lor = rng.uniform(*sig["lorentz_hz"])
        gauss = rng.uniform(*sig["gauss_hz"])
        shift = rng.uniform(-1.0, 1.0)
        phase = np.deg2rad(rng.uniform(-5.0, 5.0))
        snr = rng.uniform(*sig["snr_naa"])
        clean = fids_met @ conc + sim.mm @ mm_amp
        env = voigt(t, np.array([lor]), gauss)[:, 0]
        if distort_lineshape:
            # asymmetric line: a 20 % compartment 1-2 Hz up-field-shifted and broader
            off = rng.uniform(1.0, 2.0)
            env = 0.8 * env + 0.2 * voigt(t, np.array([lor + 1.5]), gauss)[:, 0] * np.exp(
                -2j * np.pi * off * t
            )
            ec = rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 0.15)
            env = env * np.exp(1j * ec * np.exp(-t / rng.uniform(0.03, 0.08)))
        fwhm = _fwhm(sim, clean * env)
        signal = clean * env * np.exp(1j * (phase + 2 * np.pi * shift * t))
        height = _naa_height(sim, conc[names.index("NAA")], lor, gauss)
        sigma = height / (snr * np.sqrt(sim.n_points)) / np.sqrt(n_average)
        # residual-water remnant after HLSVD: up to the NAA height, 6-14 Hz wide
        w = rng.uniform(6.0, 14.0)
        fw = rng.normal(0.0, 0.02) * sim.cf_mhz
        area = 0.5 * rng.uniform(0.0, 1.0) * height * np.pi * w * sim.dwell_s
        signal = signal + area * np.exp(1j * rng.uniform(0, 2 * np.pi)) * np.exp(
            (-np.pi * w + 2j * np.pi * fw) * t
        )
        if broad_baseline:
            signal = signal + _broad_baseline(rng, sim, height)
        noise = sigma * (rng.standard_normal(t.size) + 1j * rng.standard_normal(t.size))
        out.append(
            Block(
                fid=signal + noise,
                conc=dict(zip(names, conc.tolist(), strict=True)),
                lorentz_hz=float(lor),
                gauss_hz=float(gauss),
                shift_hz=float(shift),
                phase_deg=float(np.rad2deg(phase)),
                snr_single=float(snr),
                sigma=float(sigma),
                naa_fwhm_hz=fwhm,
            )
        )
    return out


def _fwhm(sim: SimModel, fid: np.ndarray) -> float:
    """FWHM (Hz) of the largest peak of the real spectrum between 1.9 and 2.12 ppm (NAA),
    zero-filled 8 times, as the simulator's truth and the fit's QC define it."""
    n_zf = 8 * sim.n_points
    spec = to_spectrum(np.pad(fid, (0, n_zf - fid.size))).real
    freq = frequency_axis(n_zf, sim.dwell_s)
    ppm = PPM_CENTRE_1H + freq / sim.cf_mhz
    lo, hi = np.searchsorted(ppm, [1.9, 2.12])
    return fwhm_hz(spec, freq, int(lo), int(hi))


def _broad_baseline(rng: np.random.Generator, sim: SimModel, naa_height: float) -> np.ndarray:
    """Three broad Gaussian humps (FWHM 0.4-1.0 ppm) between 0.5 and 4 ppm, each 2-8 % of
    the NAA height, nearly in absorption (phase within +-20 degrees); FID (n_points,)."""
    t = sim.t
    out = np.zeros(t.size, dtype=np.complex128)
    for _ in range(3):
        ppm = rng.uniform(0.5, 4.0)
        fwhm_hz = rng.uniform(0.4, 1.0) * sim.cf_mhz
        height = rng.uniform(0.02, 0.08) * naa_height
        # FID a exp(-(pi g t)^2 / (4 ln 2)) has absorption height (a / dwell) sqrt(ln2/pi) / g
        amp = height * fwhm_hz * sim.dwell_s / np.sqrt(np.log(2.0) / np.pi)
        env = np.exp(-((np.pi * fwhm_hz * t) ** 2) / (4.0 * np.log(2.0)))
        f = (ppm - PPM_CENTRE_1H) * sim.cf_mhz
        phase = np.deg2rad(rng.uniform(-20.0, 20.0))
        out += amp * env * np.exp(1j * (phase + 2 * np.pi * f * t))
    return out
