"""Shared fixtures: small simulated datasets (fixed seeds) built once per test session."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from fmrstrial.simulate import resolve, simulate_trial
from fmrstrial.simulate.params import INVERSE_CRIME, combine

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]

#: A short trial: 2 participants, 1 min baseline, 2 min infusion (about 60 transients).
SMALL = {
    "participants": 2,
    "seed": 7,
    "acquisition": {
        "baseline_min": 1.0,
        "baseline_jitter_min": 0.1,
        "infusion_min": 2.0,
        "multi_coil_fraction": 0.5,
    },
}

#: The same with every nuisance switched off and (practically) no noise: the simulator as the
#: fitter's mirror (GE basis, LCModel-style MM, Voigt lines, no baseline, no habits).
NOISELESS = combine(INVERSE_CRIME, {
    "participants": 2,
    "seed": 11,
    "acquisition": {
        "baseline_min": 0.5,
        "baseline_jitter_min": 0.0,
        "infusion_min": 1.0,
        "multi_coil_fraction": 0.0,
    },
    "signal": {
        "snr_naa": [1e9, 1e9],
        "corrupt_fraction": 0.0,
        "residual_water": [0.0, 0.0],
        "eddy_current_rad": 0.0,
    },
})  # fmt: skip


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under root, keyed by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small") / "ds"
    simulate_trial(out, resolve(SMALL))
    return out


@pytest.fixture(scope="session")
def noiseless_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("noiseless") / "ds"
    simulate_trial(out, resolve(NOISELESS))
    return out


@pytest.fixture()
def dataset_copy(small_dataset, tmp_path) -> Path:
    """A private, writable copy of the small dataset (for breaking it)."""
    dst = tmp_path / "ds"
    shutil.copytree(small_dataset, dst)
    return dst
