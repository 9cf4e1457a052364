"""Participant-level true effects shared by the spectra and the clinical ratings.

Random streams are derived from (seed, stream, participant, session) so that each
participant's data do not depend on how many others are simulated or in which order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .design import Participant, Session

STREAM_PARTICIPANT, STREAM_SPECTRA, STREAM_CLINICAL, STREAM_DESIGN = 1, 2, 3, 0
#: session habits chosen for the whole trial; per-session nuisance (baseline, lineshape, ...)
STREAM_HABITS, STREAM_NUISANCE = 4, 5


def rng_for(seed: int, stream: int, *keys: int) -> np.random.Generator:
    """Independent generator for one (stream, participant, session, ...) key."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream, *keys]))


@dataclass(frozen=True)
class ParticipantEffects:
    """True participant-level quantities (multipliers are relative, 1 = population mean)."""

    concentration_factor: dict[str, float]  # metabolite -> multiplier
    responsiveness: float  # standard normal; drives Glx and MADRS responses
    madrs_intercept: float  # MADRS points
    madrs_response_z: float  # standard normal, correlated with responsiveness


def draw_participant_effects(p: Participant, params: dict) -> ParticipantEffects:
    rng = rng_for(params["seed"], STREAM_PARTICIPANT, p.index)
    sig = params["signal"]
    eff = params["effects"]
    cv = sig["between_participant_cv"]
    sd_log = np.sqrt(np.log1p(cv**2))
    names = sorted(sig["concentrations"])
    factors = np.exp(rng.normal(-0.5 * sd_log**2, sd_log, size=len(names)))
    r = float(rng.normal())
    rho = eff["glx_madrs_correlation"]
    z = rho * r + np.sqrt(1.0 - rho**2) * float(rng.normal())
    return ParticipantEffects(
        concentration_factor=dict(zip(names, factors.tolist(), strict=True)),
        responsiveness=r,
        madrs_intercept=float(rng.normal(0.0, eff["madrs_between_sd"])),
        madrs_response_z=float(z),
    )


def attenuation(sex: str, condition: str, params: dict) -> float:
    """Fraction of the ketamine Glx response removed by the pretreatment (0 under placebo)."""
    if condition != "naltrexone":
        return 0.0
    eff = params["effects"]
    return eff["naltrexone_attenuation_male" if sex == "M" else "naltrexone_attenuation_female"]


def glx_response(session: Session, fx: ParticipantEffects | None, params: dict) -> float:
    """Plateau relative increase of Glu during infusion; population value when fx is None."""
    eff = params["effects"]
    base = eff["glx_response_placebo"]
    if fx is not None:
        base *= 1.0 + eff["response_cv"] * fx.responsiveness
    return base * (1.0 - attenuation(session.participant.sex, session.condition, params))


def response_timecourse(t_rel_s: np.ndarray, tau_min: float) -> np.ndarray:
    """Shape of the infusion response: 0 before infusion, 1 - exp(-t/tau) after."""
    t = np.asarray(t_rel_s, dtype=float)
    return np.where(t > 0, -np.expm1(-np.clip(t, 0, None) / (tau_min * 60.0)), 0.0)
