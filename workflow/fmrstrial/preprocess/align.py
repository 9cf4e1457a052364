"""Frequency and phase alignment of transients (spectral registration to a template).

Each transient x_n(t) is registered to a template T by least squares over a ppm window W
(default 1.8-4.2 ppm), with a frequency correction f (Hz) and a complex amplitude c:

    min_{f, c} sum_{v in W} |P T(v) - c P X_n^f(v)|^2,   X_n^f = FFT(x_n(t) exp(2 pi i f t)),

where P projects out a low-degree complex polynomial over W (a smooth baseline such as the
dispersive tail of residual water then does not pull the fit). For fixed f the best c is a
projection, so f maximises |G_n(f)| with

    G_n(f) = sum_t conj(x_n(t)) T_W(t) exp(-2 pi i f t),   T_W = IFFT(P T restricted to W)

(Parseval; P is an orthogonal projector, so it need only be applied to the template; the
small change of the window energy of the shifted transient is ignored). G_n is evaluated
on a grid of at most 0.5 Hz by a zero-padded FFT over time, then refined by Newton steps
on |G_n|^2 with analytic derivatives, vectorised over transients - no per-transient
optimiser. This is the matched-filter (maximum-likelihood) estimator for a known lineshape
in white noise, which keeps it precise at single-transient SNR; the template is a high-SNR
mean of aligned transients. Only the first `time_s` of each FID enters G_n (later points
hold noise only).

At low SNR the maximum of |G_n| can lie on a noise peak Hz away from the true frequency.
With `neighbours` (a window of transients, in time order) each transient's frequency gets
a prior from its neighbours (`NeighbourPrior`): a Gaussian of SD `NEIGHBOUR_SD_HZ` around
the running median of the neighbours' estimates, mixed with a uniform density over the
search range (probability `JUMP_PROBABILITY`) so that a genuine jump (motion) keeps its
size. The grid search and the Newton steps then maximise the log posterior
|G_n(f)|^2 / V + log prior(f), V = sigma^2 sum |T_W|^2 the variance of G_n for white noise
of variance sigma^2 per point (`noise_power`, from the FID tails). These are the
transient's own estimates (`freq_own_hz`), which rejection uses so that a motion jump is
judged on its own data. The corrections applied are then smoothed over the series
(`drift.smooth_frequencies`): |G_n|^2 / V is the transient's log-likelihood on a 1/16 Hz
grid, the frequencies are a slow drift plus each transient's jitter (a hidden Markov
chain whose drift step and jitter SD are chosen by marginal likelihood), and each
correction is its posterior mean. At high SNR the likelihood is narrow and the estimate
stays the transient's own; at a single-transient SNR near 1 it leans on the neighbours.

Outputs per transient: frequency correction f (Hz), zero-order phase correction
phi = arg G_n(f) (rad), amplitude |G_n(f)| / |G_T(0)| (1 = as large as the template) and
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
    spec = to_spectrum(template)
    inside = window_mask(template.shape[0], dwell_s, cf_mhz, ppm_range)
    out = np.zeros_like(spec)
    out[inside] = _project(spec[inside], baseline_basis(int(inside.sum()), baseline_order))
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


def noise_power(fids: np.ndarray, tw: np.ndarray) -> float:
    """Variance of G_n(f) for white noise, sigma^2 sum |tw|^2: sigma^2 (E|noise|^2 per
    point) from the last quarter of `fids` (n_points, n) after their mean over transients is
    removed (the signal has decayed there; the mean removes what every transient shares),
    `tw` the windowed template over the registered points."""
    n_points, n = fids.shape
    tail = fids[-max(8, n_points // 4) :]
    deviation = tail - tail.mean(axis=1, keepdims=True)
    sigma2 = float(np.mean(np.abs(deviation) ** 2)) * n / max(n - 1, 1)
    return sigma2 * float(np.sum(np.abs(tw) ** 2))


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


def _derivatives(g: np.ndarray, f: np.ndarray, dwell_s: float, w1: np.ndarray, w2: np.ndarray):
    """The first two derivatives of |G_n(f)|^2 (per Hz), each shape (n,)."""
    ge = g * phasors(g.shape[0], -f, dwell_s)
    g0 = ge.sum(axis=0)
    g1 = w1 @ ge
    g2 = w2 @ ge
    d1 = 2.0 * np.real(g0.conj() * g1)
    d2 = 2.0 * np.real(g1.conj() * g1 + g0.conj() * g2)
    return d1, d2


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
) -> Registration:
    """Register every transient of `fids` (n_points, n) to `template` (n_points,).

    Without `init_freq_hz` a coarse search covers |f| <= max_shift_hz; with it (e.g. the
    result of a previous pass) only Newton refinement runs. Frequencies stay within
    +/- max_shift_hz. Without `with_residual` the residual (which needs every corrected
    spectrum) is NaN. `neighbours` >= 3 (transients, in time order) adds the neighbour prior
    and the smoothing over the series (module docstring); `offset_hz` (n,) are corrections
    already applied to `fids`, so that transients are compared on total corrections.
    """
    n_all, n = fids.shape
    m = max(8, min(n_all, int(round(time_s / dwell_s))))
    t = time_axis(m, dwell_s)
    tw_full = window_template(template, dwell_s, cf_mhz, ppm_range, baseline_order)
    tw = tw_full[:m]
    g = fids[:m].conj() * tw[:, None]  # (m, n)
    offset = np.zeros(n) if offset_hz is None else np.asarray(offset_hz, float)
    noise = noise_power(fids, tw) if neighbours >= 3 and n >= 3 else 0.0
    with_prior = noise > 0.0

    if init_freq_hz is None:
        # |G(f)| on a grid of at most COARSE_STEP_HZ: zero-padded FFT of g over time
        n_fft = 1 << int(np.ceil(np.log2(max(m, 1.0 / (dwell_s * COARSE_STEP_HZ)))))
        grid = np.fft.fftfreq(n_fft, dwell_s)
        inside = np.flatnonzero(np.abs(grid) <= max_shift_hz)
        grid = grid[inside]
        dtft = np.fft.fft(g, n=n_fft, axis=0)[inside]  # sum_t g(t) exp(-2 pi i f t)
        f = grid[np.argmax(np.abs(dtft), axis=0)]
        if with_prior:  # the grid's maximum of the posterior, around the plain maxima's trend
            prior = NeighbourPrior.around(offset + f, offset, neighbours, 2 * max_shift_hz)
            posterior = np.abs(dtft) ** 2 / noise + prior.log_density(grid[:, None])
            f = grid[np.argmax(posterior, axis=0)]
    else:
        f = np.asarray(init_freq_hz, float).copy()
    prior = None
    if with_prior:
        prior = NeighbourPrior.around(offset + f, offset, neighbours, 2 * max_shift_hz)

    w1 = -2j * np.pi * t
    w2 = w1**2
    for _ in range(newton_steps):
        d1, d2 = _derivatives(g, f, dwell_s, w1, w2)
        if prior is not None:
            p1, p2 = prior.derivatives(f)
            d1, d2 = d1 / noise + p1, d2 / noise + p2
        ok = d2 < 0  # step only where the objective is locally concave (towards a maximum)
        delta = np.where(ok, -d1 / np.where(ok, d2, -1.0), 0.0)
        step = np.clip(delta, -NEWTON_STEP_HZ, NEWTON_STEP_HZ)
        f = np.clip(f + step, -max_shift_hz, max_shift_hz)
    f_own = f
    if prior is not None:
        _, d2 = _derivatives(g, f, dwell_s, w1, w2)
        fisher_var = np.where(d2 < 0, noise / np.where(d2 < 0, -d2, 1.0), np.inf)
        total = offset + f
        g_total = g * phasors(m, offset, dwell_s)  # G as a function of the total correction
        centre = float(np.median(total))
        grid, ll = likelihood_grid(
            g_total, dwell_s, centre - max_shift_hz, centre + max_shift_hz, noise
        )
        smoothed = smooth_frequencies(grid, ll, total, fisher_var, 2 * max_shift_hz)
        f = np.clip(smoothed - offset, -max_shift_hz, max_shift_hz)
    g0 = (g * phasors(m, -f, dwell_s)).sum(axis=0)
    energy = abs(np.vdot(template[:m], tw))  # G of the template itself at f = 0
    phase = np.angle(g0)
    amplitude = np.abs(g0) / energy

    if not with_residual:
        return Registration(f, phase, amplitude, np.full(f.size, np.nan), f_own)
    inside = window_mask(n_all, dwell_s, cf_mhz, ppm_range)
    q = baseline_basis(int(inside.sum()), baseline_order)
    xs = _project(to_spectrum(apply_corrections(fids, f, phase, dwell_s))[inside], q)
    ts = to_spectrum(tw_full)[inside]
    fitted = amplitude[None, :] * ts[:, None]
    misfit = np.sum(np.abs(xs - fitted) ** 2, axis=0)
    signal = np.maximum(np.sum(np.abs(fitted) ** 2, axis=0), 1e-300)
    return Registration(f, phase, amplitude, misfit / signal, f_own)
