"""fMRS-like sessions built from one real spectrum, with a known Glu change, for validation.

Every block of such a session is the real FID (its real baseline, macromolecules, lineshape
and residual water, identical in every block) plus `changes[k]` times the Glu component that
the default fit finds in it (the basis Glu with the spectrum's own fitted lineshape, shift
and zero-order phase) plus independent complex white noise `noise_factor` times the
spectrum's own noise SD. The true change of Glx from block 0 is then known exactly, in units
of the fitted Glx, while nothing in the spectrum comes from our simulator. Used by
tests/test_fit_session_background.py and tests/benchmarks/bench_session_background.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ..io.basis import Basis
from ..io.nifti_mrs import MRSData
from .basis_setup import prepare_basis
from .core import FitResult, fit_spectrum, spectral_model
from .settings import resolve_settings


@dataclass
class RealSource:
    """A real spectrum and its default fit: data (one block), fit, and the fitted Glu
    component as an FID (n_points,) complex in the data's frame and units."""

    data: MRSData
    fit: FitResult
    glu_fid: np.ndarray

    @property
    def fid(self) -> np.ndarray:
        return self.data.fids.reshape(self.data.n_points)

    def true_glx_change_pct(self, changes: np.ndarray) -> np.ndarray:
        """True change of Glx from block 0, % of the fitted Glx, per block (n_blocks,)."""
        glu, glx = self.fit.amplitude("Glu"), self.fit.amplitude("Glx")
        return 100.0 * (np.asarray(changes) - changes[0]) * glu / glx


def real_source(data: MRSData, basis: Basis) -> RealSource:
    """Fit `data` (a single spectrum) with the default settings and extract its Glu."""
    if data.fids.size != data.n_points:
        raise ValueError(f"expected a single spectrum, got shape {data.fids.shape}")
    settings = resolve_settings()
    fid = data.fids.reshape(data.n_points)
    fb = prepare_basis(basis, data.n_points, data.dwell_s, data.cf_mhz, settings)
    fit = fit_spectrum(fid, data.dwell_s, data.cf_mhz, fb, settings)
    i = fb.names.index("Glu")
    fitted = spectral_model(fb, settings).component_fids(fit.theta)[:, i]
    glu = fitted * fit.amplitudes[i] * np.exp(1j * fit.theta[0])
    return RealSource(data, fit, glu)


def session(source: RealSource, changes: np.ndarray, noise_factor: float, seed: int) -> MRSData:
    """Blocks (n_points, n_blocks) tagged DIM_DYN: the real FID, Glu raised by `changes`
    (fractions of the fitted Glu, one per block), fresh noise (`noise_factor` x the
    spectrum's noise SD) from numpy's default_rng(seed)."""
    rng = np.random.default_rng(seed)
    fid = source.fid
    sd = noise_factor * source.fit.noise_sd / np.sqrt(fid.size)  # spectral SD -> FID's
    blocks = [
        fid
        + change * source.glu_fid
        + sd * (rng.standard_normal(fid.size) + 1j * rng.standard_normal(fid.size)) / np.sqrt(2)
        for change in changes
    ]
    d = source.data
    return MRSData(
        np.stack(blocks, axis=1), d.dwell_s, d.cf_mhz, d.nucleus, ("DIM_DYN",), dict(d.header)
    )


def glx_change_errors(
    source: RealSource,
    changes: np.ndarray,
    noise_factor: float,
    seeds: Iterable[int],
    fit_session: Callable[[MRSData], list[tuple[int, FitResult]]],
) -> np.ndarray:
    """Fitted minus true change of Glx from block 0, percentage points of the spectrum's
    fitted Glx, for every later block of the `session` of each seed, fitted by
    `fit_session` (blocks -> [(block, FitResult)]); shape (len(seeds) x (n_blocks - 1),)."""
    true = source.true_glx_change_pct(changes)[1:]
    glx0 = source.fit.amplitude("Glx")
    errors = []
    for seed in seeds:
        fits = fit_session(session(source, changes, noise_factor, seed))
        glx = np.array([r.amplitude("Glx") for _, r in fits])
        errors.extend(100 * (glx[1:] - glx[0]) / glx0 - true)
    return np.array(errors)
