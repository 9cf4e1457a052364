"""Frequency and phase alignment of transients (spectral registration to a template).

Each transient x_n(t) is registered to a template T by least squares over a ppm window W
(default 1.8-4.2 ppm) of the transient's own spectrum, with a frequency correction f (Hz)
and a complex amplitude c: the template moves, the window stays on the data,

    min_{f, c} sum_{v in W} |P X_n(v) - c P T^f(v)|^2,   T^f = FFT(T(t) exp(-2 pi i f t)),

where P projects out a low-degree complex polynomial over W (a smooth baseline such as the
dispersive tail of residual water then does not pull the fit). For fixed f the best c is a
projection, so f maximises the profile log-likelihood |G_n(f)|^2 / (sigma^2 E(f)) with

    G_n(f) = sum_t conj(x_W,n(t)) T(t) exp(-2 pi i f t),   x_W,n = IFFT(P X_n restricted to W),
    E(f) = ||P T^f||^2 over W (/ n_points; `TemplateEnergy`),

sigma^2 the noise variance per time-domain point (Parseval; G_n's variance is
sigma^2 E(f)). The whole template moves, so the signal that a shift carries across the
window's edges (macromolecules below 1.8 ppm, the 3.9-4.2 ppm region) is part of the model,
and E(f), which depends on the template only, is tabulated once. Before 2026-12-03 the
window sat on the template and the transient moved, normalised as if E were constant
(|G|^2 with T_W = IFFT(P T restricted to W)): on our simulator's blocks, whose broad
background reaches across 1.8 ppm, that biased every estimate by about 1 Hz and made it
about twice as noisy as its Cramer-Rao bound (`frequency_crlb_hz`) at their SNR; a
moving window on the data (the exact least squares with a window energy of the
transient) removed the bias but added the noise that enters at its edges at very low SNR.
Locating NAA against a synthetic singlet template (`locate`) keeps the plain correlation
(`with_energy=False`): there the template does not describe the other signals.

The objective is evaluated on a grid of at most 0.5 Hz (G_n by a zero-padded FFT over
time), then refined by Newton steps with analytic derivatives, vectorised over transients -
no per-transient optimiser. The template is a high-SNR mean of aligned transients. Only
the first `time_s` of the template enters G_n and E (later points hold noise only).

At low SNR the maximum of |G_n| can lie on a noise peak Hz away from the true frequency.
With `neighbours` (a window of transients, in time order) each transient's frequency gets
a prior from its neighbours (`NeighbourPrior`): a Gaussian of SD `NEIGHBOUR_SD_HZ` around
the running median of the neighbours' estimates, mixed with a uniform density over the
search range (probability `JUMP_PROBABILITY`) so that a genuine jump (motion) keeps its
size. The grid search and the Newton steps then maximise the log posterior
|G_n(f)|^2 / (sigma^2 E(f)) + log prior(f) (sigma^2 from the FID tails,
`noise_variance`). These are the transient's own estimates (`freq_own_hz`), which
rejection uses so that a motion jump is judged on its own data. The corrections applied
are then smoothed over the series (`drift.smooth_frequencies`): the same log-likelihood on
a 1/16 Hz grid, the frequencies a slow drift plus each transient's jitter (a hidden Markov
chain whose drift step and jitter SD are chosen by marginal likelihood), and each
correction its posterior mean. At high SNR the likelihood is narrow and the estimate stays
the transient's own; at a single-transient SNR near 1 it leans on the neighbours.

Outputs per transient: frequency correction f (Hz), zero-order phase correction
phi = arg G_n(f) (rad), amplitude |G_n(f)| / E(f) (1 = as large as the template) and
residual ||P X_W - a P T_W||^2 / ||a P T_W||^2 (misfit energy relative to signal energy).

Conventions: FIDs have the time axis first, shape (n_points, n_transients); a correction
(f, phi) is applied as x(t) exp(i (phi + 2 pi f t)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spectra import ppm_axis, time_axis, to_fid, to_spectrum
from .drift import likelihood_grid, smooth_frequencies
from .reject import running_median

#: Largest grid step (Hz) of the coarse frequency search (a power-of-two FFT grid).
COARSE_STEP_HZ = 0.5
#: Largest change of the frequency (Hz) in one Newton step.
NEWTON_STEP_HZ = 0.25
#: Prior SD (Hz) of a transient's frequency around its neighbours' running median: wider
#: than the transient-to-transient jitter of a still subject (tenths of a Hz), so that the
#: prior only decides between peaks of similar height.
NEIGHBOUR_SD_HZ = 1.0
#: Prior probability that a transient's frequency lies anywhere in the search range (a jump).
JUMP_PROBABILITY = 0.05
#: Transients per batch in the window-energy FFTs (bounds the memory).
ENERGY_CHUNK = 64


@dataclass
class Registration:
    """Per-transient results of `register`, each of shape (n_transients,).

    freq_hz: frequency correction (Hz); phase_rad: zero-order phase correction (rad);
    amplitude: fitted amplitude relative to the template; residual: window misfit energy
    relative to the fitted signal energy (baseline projected out); freq_own_hz: the
    transient's own frequency estimate, before smoothing over the series (Hz).
    """

    freq_hz: np.ndarray
    phase_rad: np.ndarray
    amplitude: np.ndarray
    residual: np.ndarray
    freq_own_hz: np.ndarray


def window_mask(
    n_points: int, dwell_s: float, cf_mhz: float, ppm_range: tuple[float, float]
) -> np.ndarray:
    """Boolean mask of the spectral points inside the ppm window, shape (n_points,)."""
    ppm = ppm_axis(n_points, dwell_s, cf_mhz)
    lo, hi = sorted(ppm_range)
    return (ppm >= lo) & (ppm <= hi)


def baseline_basis(n_window: int, order: int) -> np.ndarray | None:
    """Orthonormal basis (n_window, order + 1) of polynomials over the window, or None."""
    if order < 0:
        return None
    u = np.linspace(-1.0, 1.0, n_window)
    q, _ = np.linalg.qr(np.vander(u, order + 1, increasing=True))
    return q


def _project(seg: np.ndarray, q: np.ndarray | None) -> np.ndarray:
    return seg if q is None else seg - q @ (q.conj().T @ seg)


def window_template(
    template: np.ndarray,
    dwell_s: float,
    cf_mhz: float,
    ppm_range: tuple[float, float],
    baseline_order: int = -1,
) -> np.ndarray:
    """T_W: the template FID restricted to the ppm window, baseline projected out, (n_points,)."""
    inside = window_mask(template.shape[0], dwell_s, cf_mhz, ppm_range)
    q = baseline_basis(int(inside.sum()), baseline_order)
    return windowed_fids(template[:, None], inside, q)[:, 0]


def windowed_fids(fids: np.ndarray, inside: np.ndarray, q) -> np.ndarray:
    """FIDs (n_points, c) restricted to the window `inside` of their spectra, the window's
    polynomial basis `q` projected out, back in the time domain, (n_points, c)."""
    out = np.zeros(fids.shape, dtype=complex)
    out[inside] = _project(to_spectrum(fids)[inside], q)
    return to_fid(out)


def phasors(n_points: int, freq_hz: np.ndarray, dwell_s: float) -> np.ndarray:
    """exp(2 pi i f_n k dwell) for k < n_points, shape (n_points, n).

    Computed as the product of a coarse and a fine table (k = 64 a + b), which needs
    about 64 + n_points / 64 complex exponentials per transient instead of n_points.
    """
    f = np.asarray(freq_hz, float)
    fine = np.exp(2j * np.pi * np.outer(np.arange(64) * dwell_s, f))  # (64, n)
    n_coarse = -(-n_points // 64)
    coarse = np.exp(2j * np.pi * np.outer(np.arange(n_coarse) * 64 * dwell_s, f))
    return (coarse[:, None, :] * fine[None, :, :]).reshape(n_coarse * 64, f.size)[:n_points]


def noise_variance(fids: np.ndarray) -> float:
    """sigma^2, E|noise|^2 per time-domain point, from the last quarter of `fids`
    (n_points, n) after their mean over transients is removed (the signal has decayed
    there; the mean removes what every transient shares)."""
    n_points, n = fids.shape
    tail = fids[-max(8, n_points // 4) :]
    deviation = tail - tail.mean(axis=1, keepdims=True)
    return float(np.mean(np.abs(deviation) ** 2)) * n / max(n - 1, 1)


def _window_spectra(y: np.ndarray, n_points: int, inside: np.ndarray, q) -> np.ndarray:
    """P W FFT(y) for y (m, c) zero-filled to n_points: (window points, c)."""
    spec = np.fft.fftshift(np.fft.fft(y, n_points, axis=0), axes=0)
    return _project(spec[inside], q)


def window_energy_grid(
    x: np.ndarray,
    dwell_s: float,
    inside: np.ndarray,
    q,
    n_points: int,
    low_hz: float,
    high_hz: float,
    step_hz: float,
) -> tuple[np.ndarray, np.ndarray]:
    """E_n(F) = ||P W FFT(x_n(t) exp(2 pi i F t))||^2 / n_points for x (m, n) zero-filled to
    n_points (`inside`: the window, `q`: its polynomial basis; time-domain units), on a grid
    covering [low_hz, high_hz] with a step of at most `step_hz`: (grid (K,), E (K, n)).

    The shifted transient's spectrum at window bin k is its DTFT at nu_k - F; zero-filled
    L-fold, the FFT gives the DTFT at steps delta = bin / L, so for F a multiple of delta
    every value is an entry of one FFT per transient (no FFT per grid point).
    """
    m, n = x.shape
    bin_hz = 1.0 / (n_points * dwell_s)
    fold = max(1, int(np.ceil(bin_hz / step_hz - 1e-9)))
    delta = bin_hz / fold
    j = np.arange(int(np.floor(low_hz / delta)), int(np.ceil(high_hz / delta)) + 1)
    signed_bin = np.fft.fftshift(np.fft.fftfreq(n_points, 1.0 / n_points)).round().astype(int)
    size = n_points * fold
    index = np.mod(signed_bin[inside][None, :] * fold - j[:, None], size)  # (K, window)
    energy = np.empty((j.size, n))
    for c in range(0, n, ENERGY_CHUNK):
        fine = np.fft.fft(x[:, c : c + ENERGY_CHUNK], size, axis=0)
        vals = fine[index]  # (K, window, c)
        e = np.sum(np.abs(vals) ** 2, axis=1)
        if q is not None:
            e -= np.sum(np.abs(np.einsum("wp,kwc->kpc", q.conj(), vals)) ** 2, axis=1)
        energy[:, c : c + ENERGY_CHUNK] = e
    return j * delta, energy / n_points


def interpolate_rows(grid: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Rows of `values` (K, c) on the equally spaced `grid` (K >= 2,) linearly interpolated
    at the points `at` (K2,), clamped at the ends: (K2, c)."""
    pos = np.clip((np.asarray(at, float) - grid[0]) / (grid[1] - grid[0]), 0.0, grid.size - 1.0)
    lo = np.minimum(np.floor(pos).astype(int), grid.size - 2)
    frac = (pos - lo)[:, None]
    return values[lo] * (1 - frac) + values[lo + 1] * frac


def frequency_crlb_hz(
    template: np.ndarray,
    noise_sd: float,
    dwell_s: float,
    cf_mhz: float,
    ppm_range: tuple[float, float] = (1.8, 4.2),
    baseline_order: int = 2,
) -> float:
    """Cramer-Rao bound (Hz) of one transient's frequency from the window of its spectrum:
    `template` (n_points,) the noise-free transient, `noise_sd` the SD of each real and
    imaginary time-domain noise value. The model is the window's points of the shifted
    spectrum, baseline projected out, m(f) = P W FFT(template(t) exp(2 pi i f t)), with a
    free complex amplitude: 1 / sqrt(2 |dm/df less its part along m|^2 / v), v = 2 n
    noise_sd^2 the complex noise variance per spectral point. The whole FID enters
    (`register` uses its first `time_s`), so the bound is, if anything, low."""
    n = template.shape[0]
    inside = window_mask(n, dwell_s, cf_mhz, ppm_range)
    q = baseline_basis(int(inside.sum()), baseline_order)
    m0 = _window_spectra(template[:, None], n, inside, q)[:, 0]
    w = 2j * np.pi * time_axis(n, dwell_s)
    dm = _window_spectra((w * template)[:, None], n, inside, q)[:, 0]
    dm -= m0 * (np.vdot(m0, dm) / np.vdot(m0, m0))
    return float(1.0 / np.sqrt(2 * np.sum(np.abs(dm) ** 2) / (2 * n * noise_sd**2)))


@dataclass
class NeighbourPrior:
    """Prior of each transient's frequency correction (Hz): a Gaussian of SD `sd_hz`
    around `centre` (n,), mixed with a uniform density over `span_hz` of weight `jump`."""

    centre: np.ndarray
    span_hz: float
    sd_hz: float = NEIGHBOUR_SD_HZ
    jump: float = JUMP_PROBABILITY

    @classmethod
    def around(cls, total_hz: np.ndarray, offset_hz: np.ndarray, window: int, span_hz: float):
        """Centred on the running median over `window` transients of the total corrections
        `total_hz` (n,), expressed relative to `offset_hz` (corrections already applied)."""
        return cls(running_median(total_hz, window) - offset_hz, span_hz)

    def _gauss(self, z: np.ndarray) -> np.ndarray:
        return (1 - self.jump) * np.exp(-0.5 * z**2) / (self.sd_hz * np.sqrt(2 * np.pi))

    def log_density(self, f: np.ndarray) -> np.ndarray:
        """log prior of f (Hz), shape (k, n) for a grid (k, 1) or (n,) for one value each."""
        return np.log(self._gauss((f - self.centre) / self.sd_hz) + self.jump / self.span_hz)

    def derivatives(self, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and (Gaussian part's) second derivative of the log prior at f (n,), 1/Hz
        and 1/Hz^2; weighted by the Gaussian's share, so a jump is not pulled back."""
        z = (f - self.centre) / self.sd_hz
        gauss = self._gauss(z)
        share = gauss / (gauss + self.jump / self.span_hz)
        return -share * z / self.sd_hz, -share / self.sd_hz**2


def apply_corrections(
    fids: np.ndarray, freq_hz: np.ndarray, phase_rad: np.ndarray, dwell_s: float
) -> np.ndarray:
    """fids (n_points, n) multiplied by exp(i(phi_n + 2 pi f_n t))."""
    return fids * phasors(fids.shape[0], freq_hz, dwell_s) * np.exp(1j * phase_rad)[None, :]


def _power_derivatives(g: np.ndarray, f: np.ndarray, dwell_s: float, w1, w2):
    """|G_n(f)|^2 and its first two derivatives (per Hz), each shape (n,)."""
    ge = g * phasors(g.shape[0], -f, dwell_s)
    g0 = ge.sum(axis=0)
    g1 = w1 @ ge
    g2 = w2 @ ge
    power = np.abs(g0) ** 2
    d1 = 2.0 * np.real(g0.conj() * g1)
    d2 = 2.0 * np.real(g1.conj() * g1 + g0.conj() * g2)
    return power, d1, d2


class TemplateEnergy:
    """Window energy E(f) of the template shifted by a correction f, ||P W FFT(T(t)
    exp(-2 pi i f t))||^2 / n_points (time-domain units): the variance of G_n(f) per unit
    noise variance when the data's window is fixed and the template moves
    (`register`). Tabulated once per registration on a grid of `STEP_HZ` over +/- `span_hz`
    (`window_energy_grid`, one column), with its first two derivatives by differences;
    values at any f by linear interpolation, clamped at the ends."""

    STEP_HZ = 0.05

    def __init__(self, template_m, dwell_s, inside, q, n_points, span_hz):
        grid, e = window_energy_grid(template_m[:, None], dwell_s, inside, q, n_points,
                                     -span_hz, span_hz, self.STEP_HZ)  # fmt: skip
        step = grid[1] - grid[0]
        e = np.maximum(e[:, 0], 1e-100)  # an empty window (no signal) would give 0 / 0
        e1 = np.gradient(e, step)
        self.grid = grid
        self.table = np.stack([e, e1, np.gradient(e1, step)], axis=1)  # (K, 3)

    def value(self, f: np.ndarray) -> np.ndarray:
        """E at corrections f (any shape)."""
        flat = -np.ravel(f)
        return interpolate_rows(self.grid, self.table[:, :1], flat)[:, 0].reshape(np.shape(f))

    def at(self, f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """E, dE/df, d2E/df2 at corrections f (any shape); the table holds the template
        shifted by +F, a correction f shifts it by -f."""
        v = interpolate_rows(self.grid, self.table, -np.ravel(f)).reshape(*np.shape(f), 3)
        return v[..., 0], -v[..., 1], v[..., 2]


def register(
    fids: np.ndarray,
    template: np.ndarray,
    dwell_s: float,
    cf_mhz: float,
    ppm_range: tuple[float, float] = (1.8, 4.2),
    baseline_order: int = 2,
    max_shift_hz: float = 20.0,
    time_s: float = 0.4,
    init_freq_hz: np.ndarray | None = None,
    newton_steps: int = 4,
    with_residual: bool = True,
    neighbours: int = 0,
    offset_hz: np.ndarray | None = None,
    with_energy: bool = True,
) -> Registration:
    """Register every transient of `fids` (n_points, n) to `template` (n_points,).

    Without `init_freq_hz` a coarse search covers |f| <= max_shift_hz; with it (e.g. the
    result of a previous pass) only Newton refinement runs. Frequencies stay within
    +/- max_shift_hz. Without `with_residual` the residual (which needs every corrected
    spectrum) is NaN. `neighbours` >= 3 (transients, in time order) adds the neighbour prior
    and the smoothing over the series (module docstring); `offset_hz` (n,) are corrections
    already applied to `fids`, so that transients are compared on total corrections.
    `with_energy` (default): the window is fixed on the data and the whole template moves,
    normalised by its window energy (module docstring); False: the plain correlation with
    the windowed template (for a template that describes only part of the window's
    signals, as in `locate`).
    """
    n_all, n = fids.shape
    m = max(8, min(n_all, int(round(time_s / dwell_s))))
    t = time_axis(m, dwell_s)
    tw_full = window_template(template, dwell_s, cf_mhz, ppm_range, baseline_order)
    in_window = window_mask(n_all, dwell_s, cf_mhz, ppm_range)
    q = baseline_basis(int(in_window.sum()), baseline_order)
    offset = np.zeros(n) if offset_hz is None else np.asarray(offset_hz, float)
    if with_energy:
        g = windowed_fids(fids, in_window, q)[:m].conj() * template[:m, None]  # (m, n)
        spread = float(np.ptp(offset)) if n else 0.0
        table = TemplateEnergy(template[:m], dwell_s, in_window, q, n_all,
                               2 * max_shift_hz + spread + 1.0)  # fmt: skip
        energy, energy_value = table.at, table.value
    else:
        g = fids[:m].conj() * tw_full[:m, None]
        s_m = float(np.sum(np.abs(tw_full[:m]) ** 2))

        def energy_value(f):
            return np.full(np.shape(f), s_m)

        def energy(f):
            return energy_value(f), np.zeros(np.shape(f)), np.zeros(np.shape(f))

    sigma2 = noise_variance(fids) if neighbours >= 3 and n >= 3 else 0.0
    with_prior = sigma2 > 0.0

    if init_freq_hz is None:
        # |G(f)|^2 / E(f) on a grid of at most COARSE_STEP_HZ: zero-padded FFT of g over time
        n_fft = 1 << int(np.ceil(np.log2(max(m, 1.0 / (dwell_s * COARSE_STEP_HZ)))))
        grid = np.fft.fftfreq(n_fft, dwell_s)
        searched = np.flatnonzero(np.abs(grid) <= max_shift_hz)
        grid = grid[searched]
        dtft = np.fft.fft(g, n=n_fft, axis=0)[searched]  # sum_t g(t) exp(-2 pi i f t)
        objective = np.abs(dtft) ** 2 / energy_value(grid)[:, None]
        f = grid[np.argmax(objective, axis=0)]
        if with_prior:  # the grid's maximum of the posterior, around the plain maxima's trend
            prior = NeighbourPrior.around(offset + f, offset, neighbours, 2 * max_shift_hz)
            posterior = objective / sigma2 + prior.log_density(grid[:, None])
            f = grid[np.argmax(posterior, axis=0)]
    else:
        f = np.asarray(init_freq_hz, float).copy()
    prior = None
    if with_prior:
        prior = NeighbourPrior.around(offset + f, offset, neighbours, 2 * max_shift_hz)

    w1 = -2j * np.pi * t
    w2 = w1**2

    def derivatives(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First two derivatives of |G_n(f)|^2 / E(f)."""
        p0, p1, p2 = _power_derivatives(g, f, dwell_s, w1, w2)
        e0, e1, e2 = energy(f)
        d1 = (p1 * e0 - p0 * e1) / e0**2
        d2 = (p2 * e0 - p0 * e2) / e0**2 - 2.0 * e1 * d1 / e0
        return d1, d2

    for _ in range(newton_steps):
        d1, d2 = derivatives(f)
        if prior is not None:
            p1, p2 = prior.derivatives(f)
            d1, d2 = d1 / sigma2 + p1, d2 / sigma2 + p2
        ok = d2 < 0  # step only where the objective is locally concave (towards a maximum)
        delta = np.where(ok, -d1 / np.where(ok, d2, -1.0), 0.0)
        step = np.clip(delta, -NEWTON_STEP_HZ, NEWTON_STEP_HZ)
        f = np.clip(f + step, -max_shift_hz, max_shift_hz)
    f_own = f
    if prior is not None:
        _, d2 = derivatives(f)
        fisher_var = np.where(d2 < 0, sigma2 / np.where(d2 < 0, -d2, 1.0), np.inf)
        total = offset + f
        g_total = g * phasors(m, offset, dwell_s)  # G as a function of the total correction
        centre = float(np.median(total))
        grid, ll = likelihood_grid(
            g_total, dwell_s, centre - max_shift_hz, centre + max_shift_hz, sigma2
        )
        ll /= energy_value(grid[:, None] - offset[None, :])  # E at the correction of `fids`
        smoothed = smooth_frequencies(grid, ll, total, fisher_var, 2 * max_shift_hz)
        f = np.clip(smoothed - offset, -max_shift_hz, max_shift_hz)
    g0 = (g * phasors(m, -f, dwell_s)).sum(axis=0)
    phase = np.angle(g0)
    amplitude = np.abs(g0) / energy_value(f)  # 1 for the template itself

    if not with_residual:
        return Registration(f, phase, amplitude, np.full(f.size, np.nan), f_own)
    xs = _project(to_spectrum(apply_corrections(fids, f, phase, dwell_s))[in_window], q)
    ts = to_spectrum(tw_full)[in_window]
    fitted = amplitude[None, :] * ts[:, None]
    misfit = np.sum(np.abs(xs - fitted) ** 2, axis=0)
    signal = np.maximum(np.sum(np.abs(fitted) ** 2, axis=0), 1e-300)
    return Registration(f, phase, amplitude, misfit / signal, f_own)
