"""Synthetic sessions (several block spectra with known truth) for the dynamic fit.

Built like `fmrstrial.fit.synthetic.make_blocks` (the simulator's spectral model on the demo
grid, its concentrations with the between-participant log-normal factor, Voigt lines, phase
and shift residues, a residual-water remnant; `realistic=True`: Philips basis, non-Voigt
lineshape and a broad baseline), but one draw per session for everything except:
- Glu in the infusion blocks is multiplied by (1 + glu_change) (drawn from
  N(change_mean, change_sd) per session unless given), so Glx/tNAA changes within the session;
- every block has its own frequency offset (session offset + N(0, drift_hz)), its own
  Lorentzian width (infusion blocks narrower by bold_hz: BOLD narrowing) and its own noise.
Block 0 is the baseline block; blocks 1.. are infusion blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..simulate import resolve
from ..simulate.mrs import SpectralModel as SimModel
from ..simulate.mrs import voigt
from ..simulate.params import INVERSE_CRIME
from .dynamic_design import BASELINE, INFUSION
from .synthetic import _broad_baseline, _naa_height, demo_model, vendor_basis_on_grid


@dataclass
class Session:
    """fids (n_points, n_blocks) complex; phases per block; conc: per block metabolite ->
    true amplitude; glu_change: relative Glu change of the infusion blocks."""

    fids: np.ndarray
    phases: list[str]
    conc: list[dict[str, float]]
    glu_change: float

    def ratio(self, j: int, num: tuple[str, ...], den: tuple[str, ...]) -> float:
        c = self.conc[j]
        return sum(c[m] for m in num) / sum(c[m] for m in den)

    def change(self, num: tuple[str, ...], den: tuple[str, ...]) -> float:
        """Mean of the infusion blocks minus the baseline block of the ratio num/den."""
        r = [self.ratio(j, num, den) for j in range(len(self.phases))]
        inf = [v for v, p in zip(r, self.phases, strict=True) if p == INFUSION]
        base = [v for v, p in zip(r, self.phases, strict=True) if p == BASELINE]
        return float(np.mean(inf) - np.mean(base))


def make_session(
    seed: int,
    sim: SimModel | None = None,
    *,
    n_blocks: int = 6,
    n_average: int = 100,
    glu_change: float | None = None,
    change_mean: float = 0.03,
    change_sd: float = 0.03,
    drift_hz: float = 0.3,
    bold_hz: float = 0.3,
    realistic: bool = False,
) -> Session:
    """One synthetic session drawn with a generator seeded by `seed` (see module doc)."""
    sim = demo_model() if sim is None else sim
    sig = resolve(INVERSE_CRIME)["signal"]
    names = sim.basis.names
    rng = np.random.default_rng(seed)
    fids_met = vendor_basis_on_grid(sim, "Philips") if realistic else sim.basis.fids
    mm_amp = np.array([sig["macromolecules"][m] for m in sim.mm_names])
    t = sim.t
    sd_log = np.sqrt(np.log1p(sig["between_participant_cv"] ** 2))
    conc = np.array([sig["concentrations"][m] for m in names]) * np.exp(
        rng.normal(-0.5 * sd_log**2, sd_log, len(names))
    )
    lor = rng.uniform(*sig["lorentz_hz"])
    gauss = rng.uniform(*sig["gauss_hz"])
    shift = rng.uniform(-1.0, 1.0)
    phase = np.deg2rad(rng.uniform(-5.0, 5.0))
    snr = rng.uniform(*sig["snr_naa"])
    if glu_change is None:
        glu_change = float(rng.normal(change_mean, change_sd))
    height = _naa_height(sim, conc[names.index("NAA")], lor, gauss)
    sigma = height / (snr * np.sqrt(sim.n_points)) / np.sqrt(n_average)
    w = rng.uniform(6.0, 14.0)
    fw = rng.normal(0.0, 0.02) * sim.cf_mhz
    area = 0.5 * rng.uniform(0.0, 1.0) * height * np.pi * w * sim.dwell_s
    water = (
        area * np.exp(1j * rng.uniform(0, 2 * np.pi)) * np.exp((-np.pi * w + 2j * np.pi * fw) * t)
    )
    extra = np.ones(t.size, dtype=np.complex128)
    if realistic:
        off = rng.uniform(1.0, 2.0)
        comp2 = voigt(t, np.array([1.5]), 0.0)[:, 0] * np.exp(-2j * np.pi * off * t)
        ec = rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 0.15)
        extra = (0.8 + 0.2 * comp2) * np.exp(1j * ec * np.exp(-t / rng.uniform(0.03, 0.08)))
        water = water + _broad_baseline(rng, sim, height)
    phases = [BASELINE] + [INFUSION] * (n_blocks - 1)
    glu = names.index("Glu")
    fids, concs = np.empty((t.size, n_blocks), dtype=np.complex128), []
    for j, ph in enumerate(phases):
        cj = conc.copy()
        if ph == INFUSION:
            cj[glu] *= 1.0 + glu_change
        lor_j = max(lor - (bold_hz if ph == INFUSION else 0.0), 0.1)
        shift_j = shift + rng.normal(0.0, drift_hz)
        env = voigt(t, np.array([lor_j]), gauss)[:, 0] * extra
        clean = (fids_met @ cj + sim.mm @ mm_amp) * env
        signal = clean * np.exp(1j * (phase + 2 * np.pi * shift_j * t)) + water
        noise = sigma * (rng.standard_normal(t.size) + 1j * rng.standard_normal(t.size))
        fids[:, j] = signal + noise
        concs.append(dict(zip(names, cj.tolist(), strict=True)))
    return Session(fids, phases, concs, float(glu_change))
