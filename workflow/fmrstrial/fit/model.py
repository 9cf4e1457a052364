"""The frequency-domain linear-combination model and its derivatives.

For nonlinear parameters theta and amplitudes c >= 0 the model spectrum over the fit range is

    M(nu) = exp(i (phi0 + phi1 (ppm - pivot))) * sum_k c_k S_k(nu; theta) + baseline(nu)
    S_k = FFT_nz[ F_k(t) exp(-pi L_g t - (pi G_g t)^2 / (4 ln 2) + 2 pi i d_g t) ]

with F_k the component FIDs (`FitBasis`), g the lineshape group of component k, d_g the
group's frequency shift (Hz), L_g and G_g its Lorentzian and Gaussian FWHM broadening (Hz),
FFT_nz the FFT after zero-filling to nz = zero_fill * n_points samples (no apodisation: the
Voigt broadening is part of the model, so the data are fitted as acquired), phi0 the
zero-order phase (rad) at the pivot and phi1 the first-order phase (rad/ppm). The baseline
is complex with real coefficients for its real and imaginary parts (cubic B-splines with a
second-difference penalty, Legendre polynomials, or none), and is not phased.

Real and imaginary parts are stacked into real vectors of length 2 * n_fit.
Parameter vector theta: [phi0, (phi1,) d_0, L_0, G_0, d_1, L_1, G_1, ...].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre

from ..spectra import PPM_CENTRE_1H, to_spectrum
from .basis_setup import FitBasis
from .bspline import design_matrix

GAUSS_K = np.pi**2 / (4.0 * np.log(2.0))


@dataclass(frozen=True)
class ParamLayout:
    """Positions of the nonlinear parameters in theta."""

    n_groups: int
    fit_phase1: bool
    n_lineshape: int = 0

    @property
    def size(self) -> int:
        return 1 + int(self.fit_phase1) + 3 * self.n_groups + 2 * self.n_lineshape

    @property
    def first_lineshape(self) -> int:
        """Index of the first log-amplitude distortion coefficient (then the phase ones)."""
        return 1 + int(self.fit_phase1) + 3 * self.n_groups

    @property
    def first_group(self) -> int:
        return 1 + int(self.fit_phase1)

    def shift(self, g: int) -> int:
        return self.first_group + 3 * g

    def lorentz(self, g: int) -> int:
        return self.first_group + 3 * g + 1

    def gauss(self, g: int) -> int:
        return self.first_group + 3 * g + 2

    def names(self, groups: list[str]) -> list[str]:
        out = ["phase0"] + (["phase1"] if self.fit_phase1 else [])
        for g in groups:
            out += [f"shift_{g}", f"lorentz_{g}", f"gauss_{g}"]
        out += [f"lineshape_amp_{j}" for j in range(self.n_lineshape)]
        out += [f"lineshape_phase_{j}" for j in range(self.n_lineshape)]
        return out


def lineshape_basis(t: np.ndarray, spacing_s: float, duration_s: float) -> np.ndarray:
    """Smooth time functions (n_points, m) for the lineshape distortion: clamped cubic
    B-splines on [0, duration] with knots `spacing_s` apart, without the one that is non-zero
    at t = 0 (so the distortion leaves the first FID point, hence the amplitudes, alone) and
    held at their end value after `duration`."""
    n_int = max(1, int(round(duration_s / spacing_s)))
    inner = np.linspace(0.0, duration_s, n_int + 1)
    knots = np.concatenate([[0.0] * 3, inner, [duration_s] * 3])
    design = design_matrix(np.clip(t, 0.0, duration_s), knots, 3)
    return design[:, 1:]


def spline_baseline(ppm: np.ndarray, lo: float, hi: float, spacing: float):
    """Cubic B-spline design (n, n_basis) on [lo, hi] with knots about `spacing` ppm apart,
    and its second-difference penalty matrix (n_basis - 2, n_basis)."""
    n_int = max(1, int(round((hi - lo) / spacing)))
    inner = np.linspace(lo, hi, n_int + 1)
    knots = np.concatenate([[lo] * 3, inner, [hi] * 3])
    x = np.clip(ppm, lo, hi)
    design = design_matrix(x, knots, 3)
    n_basis = design.shape[1]
    diff2 = np.diff(np.eye(n_basis), n=2, axis=0)
    return design, diff2


def polynomial_baseline(ppm: np.ndarray, lo: float, hi: float, order: int) -> np.ndarray:
    """Legendre polynomials of degree 0..order on [lo, hi], shape (n, order + 1)."""
    x = 2.0 * (ppm - lo) / (hi - lo) - 1.0
    return legendre.legvander(x, order)


class SpectralModel:
    """Model spectra, columns and derivatives for one data grid and component set.

    fb: the components; ppm_range: fit range (ppm); zero_fill: integer factor;
    fit_phase1: whether phi1 is a parameter. Attributes: t (n_points,) s; ppm (n_fit,) of the
    fitted points in increasing order of frequency; rel_ppm = ppm - pivot.
    """

    def __init__(
        self,
        fb: FitBasis,
        ppm_range,
        zero_fill: int = 1,
        fit_phase1: bool = True,
        lineshape_spacing_s: float = 0.0,
        lineshape_duration_s: float = 0.0,
    ):
        self.fb = fb
        self.n = fb.n_points
        self.nz = self.n * int(zero_fill)
        self.zero_fill = int(zero_fill)
        self.t = np.arange(self.n) * fb.dwell_s
        self.t2 = self.t**2
        freq = np.fft.fftfreq(self.nz, fb.dwell_s)  # unshifted FFT order
        ppm_all = PPM_CENTRE_1H + freq / fb.cf_mhz
        lo, hi = ppm_range
        order = np.argsort(freq, kind="stable")
        sel = order[(ppm_all[order] >= lo) & (ppm_all[order] <= hi)]
        if sel.size < 16:
            raise ValueError(f"fit range {lo}-{hi} ppm holds only {sel.size} spectral points")
        self.fft_index = sel  # positions in the unshifted FFT output
        self.ppm = ppm_all[sel]
        self.pivot_ppm = 0.5 * (lo + hi)
        self.rel_ppm = self.ppm - self.pivot_ppm
        if lineshape_spacing_s > 0 and lineshape_duration_s > 0:
            self.ls_basis = lineshape_basis(self.t, lineshape_spacing_s, lineshape_duration_s)
        else:
            self.ls_basis = np.zeros((self.n, 0))
        self.layout = ParamLayout(len(fb.groups), fit_phase1, self.ls_basis.shape[1])
        self.group_of = fb.group_of
        self.members = [np.flatnonzero(fb.group_of == g) for g in range(len(fb.groups))]
        #: baseline designs by setting, filled by `solver.baseline_design`
        self.baseline_designs: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def n_fit(self) -> int:
        return self.ppm.size

    # ------------------------------------------------------------------ data
    def data_spectrum(self, fid: np.ndarray) -> np.ndarray:
        """Fitted part of the data spectrum (n_fit,) complex; fid shape (n_points,)."""
        return np.fft.fft(fid, n=self.nz)[self.fft_index]

    # ------------------------------------------------------------------ model
    def phase(self, theta: np.ndarray) -> np.ndarray:
        """Phase factor exp(i(phi0 + phi1 * rel_ppm)), shape (n_fit,)."""
        phi1 = theta[1] if self.layout.fit_phase1 else 0.0
        return np.exp(1j * (theta[0] + phi1 * self.rel_ppm))

    def envelopes(self, theta: np.ndarray) -> np.ndarray:
        """Per-group time-domain lineshape and shift, shape (n_points, n_groups)."""
        lay = self.layout
        out = np.empty((self.n, lay.n_groups), dtype=np.complex128)
        for g in range(lay.n_groups):
            d, lor, gau = theta[lay.shift(g)], theta[lay.lorentz(g)], theta[lay.gauss(g)]
            out[:, g] = np.exp(
                (-np.pi * lor + 2j * np.pi * d) * self.t - GAUSS_K * gau * gau * self.t2
            )
        if lay.n_lineshape:
            out *= self.distortion(theta)[:, None]
        return out

    def distortion(self, theta: np.ndarray) -> np.ndarray:
        """Shared lineshape distortion exp(sum_j (a_j + i p_j) B_j(t)), shape (n_points,)."""
        lay = self.layout
        m, j0 = lay.n_lineshape, lay.first_lineshape
        if not m:
            return np.ones(self.n, dtype=np.complex128)
        coef = theta[j0 : j0 + m] + 1j * theta[j0 + m : j0 + 2 * m]
        return np.exp(self.ls_basis @ coef.real + 1j * (self.ls_basis @ coef.imag))

    def component_fids(self, theta: np.ndarray) -> np.ndarray:
        """Broadened, shifted component FIDs (n_points, K) (no phase)."""
        return self.fb.fids * self.envelopes(theta)[:, self.group_of]

    def columns(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unphased component spectra (n_fit, K) and the phase factor (n_fit,)."""
        spec = np.fft.fft(self.component_fids(theta), n=self.nz, axis=0)[self.fft_index]
        return spec, self.phase(theta)

    def derivatives(
        self, theta: np.ndarray, c: np.ndarray, cols: np.ndarray, phase: np.ndarray
    ) -> np.ndarray:
        """d(phased metabolite model)/d theta at amplitudes c, shape (n_fit, n_theta) complex.

        cols, phase: output of `columns(theta)`.
        """
        lay = self.layout
        out = np.empty((self.n_fit, lay.size), dtype=np.complex128)
        signal = phase * cmatvec(cols, c)
        out[:, 0] = 1j * signal
        if lay.fit_phase1:
            out[:, 1] = 1j * self.rel_ppm * signal
        env = self.envelopes(theta)
        m = lay.n_lineshape
        u = np.empty((self.n, 3 * lay.n_groups + 2 * m), dtype=np.complex128)
        total = np.zeros(self.n, dtype=np.complex128)
        for g, idx in enumerate(self.members):
            ug = cmatvec(self.fb.fids[:, idx], c[idx]) * env[:, g]
            total += ug
            gau = theta[lay.gauss(g)]
            u[:, 3 * g] = 2j * np.pi * self.t * ug
            u[:, 3 * g + 1] = -np.pi * self.t * ug
            u[:, 3 * g + 2] = -2.0 * GAUSS_K * gau * self.t2 * ug
        if m:
            j0 = 3 * lay.n_groups
            u[:, j0 : j0 + m] = self.ls_basis * total[:, None]
            u[:, j0 + m :] = 1j * self.ls_basis * total[:, None]
        spec = np.fft.fft(u, n=self.nz, axis=0)[self.fft_index]
        out[:, lay.first_group :] = phase[:, None] * spec
        return out

    def full_spectrum(self, fid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whole spectrum (nz,) of a FID after zero-filling and its ppm axis (nz,)."""
        spec = to_spectrum(np.pad(fid, (0, self.nz - fid.size)))
        ppm = PPM_CENTRE_1H + np.fft.fftshift(np.fft.fftfreq(self.nz, self.fb.dwell_s)) / (
            self.fb.cf_mhz
        )
        return spec, ppm


def cmatvec(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Complex matrix (n, k) times real vector/matrix (k, ...) via two real products.

    Complex BLAS (zgemv) can be slower by orders of magnitude when the BLAS is multi-threaded
    on a busy machine; the real products are not.
    """
    return a.real @ x + 1j * (a.imag @ x)


def stack(z: np.ndarray) -> np.ndarray:
    """Complex (n, ...) -> real (2n, ...): real parts above imaginary parts."""
    return np.concatenate([z.real, z.imag], axis=0)
