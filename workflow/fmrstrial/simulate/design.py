"""Trial design of the simulated study: participants, sequences, sessions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONDITIONS_BY_SEQUENCE = {"PN": ("placebo", "naltrexone"), "NP": ("naltrexone", "placebo")}


@dataclass(frozen=True)
class Participant:
    index: int
    participant_id: str
    sex: str  # "F" | "M"
    age: int
    sequence: str  # "PN" | "NP"


@dataclass(frozen=True)
class Session:
    participant: Participant
    index: int  # 0-based
    session_id: str  # "ses-1"
    condition: str  # placebo | naltrexone
    period: int  # 1 | 2
    infusion_start_s: float  # from the first transient, s
    n_transients: int
    n_coils: int


def participant_label(index: int, n: int) -> str:
    """BIDS label 'sub-01' ... zero-padded to at least two digits."""
    width = max(2, len(str(n)))
    return f"sub-{index + 1:0{width}d}"


def make_participants(params: dict, rng: np.random.Generator) -> list[Participant]:
    """Participants with balanced sequences (PN/NP), random sex and truncated-normal age."""
    n = params["participants"]
    d = params["design"]
    sequences = np.array(["PN", "NP"] * math.ceil(n / 2))[:n]
    rng.shuffle(sequences)
    sex = np.where(rng.random(n) < d["female_fraction"], "F", "M")
    ages = []
    for _ in range(n):
        while True:
            a = rng.normal(d["age_mean"], d["age_sd"])
            if d["age_min"] <= a <= d["age_max"]:
                ages.append(int(round(a)))
                break
    return [
        Participant(i, participant_label(i, n), str(sex[i]), ages[i], str(sequences[i]))
        for i in range(n)
    ]


def make_sessions(
    participants: list[Participant], params: dict, rng: np.random.Generator
) -> list[Session]:
    """Two sessions per participant; a share of sessions is recorded with several coils."""
    acq = params["acquisition"]
    tr = acq["tr_s"]
    n_sessions = 2 * len(participants)
    n_multi = int(round(acq["multi_coil_fraction"] * n_sessions))
    multi = set(rng.choice(n_sessions, size=n_multi, replace=False).tolist()) if n_multi else set()
    sessions = []
    for p in participants:
        for k in range(2):
            jitter = rng.uniform(-1.0, 1.0) * acq["baseline_jitter_min"]
            start = round((acq["baseline_min"] + jitter) * 60.0, 1)
            n_tr = math.ceil((start + acq["infusion_min"] * 60.0) / tr)
            flat = 2 * p.index + k
            sessions.append(
                Session(
                    participant=p,
                    index=k,
                    session_id=f"ses-{k + 1}",
                    condition=CONDITIONS_BY_SEQUENCE[p.sequence][k],
                    period=k + 1,
                    infusion_start_s=start,
                    n_transients=n_tr,
                    n_coils=acq["coils"] if flat in multi else 1,
                )
            )
    return sessions
