"""Frequencies of a transient series smoothed as a hidden Markov chain of the scanner drift.

Each transient n has a matched-filter log-likelihood of its frequency correction F (Hz),
ll_n(F) = |G_n(F)|^2 / V (`align` module: G_n correlates the transient with the template,
V is G_n's variance for white noise), evaluated on a grid of step `GRID_STEP_HZ` over the
search range around the series' median correction. The model behind the smoothing:

    d_n = d_{n-1} + e_n,     e_n ~ (1 - eps) N(0, q^2) + eps U(grid)      (drift, Hz)
    F_n = d_n + j_n,         j_n ~ (1 - p) N(0, tau^2) + p U(grid)        (the transient)

d is the slow drift of the scanner frequency (q: its step from one transient to the next;
eps: a lasting jump, e.g. after the subject moved), j the transient's own deviation
(tau: jitter such as breathing; p: a transient that lies anywhere, e.g. motion during it).
The forward-backward algorithm on the grid gives each d_n's posterior given every
transient, and from it the posterior of F_n, whose mean is the estimate (it minimises the
expected squared error). A likelihood narrower than a few grid steps (high SNR) would be
quantised by the grid, so for a transient whose own estimate has a Fisher SD below
`PRECISE_SD_STEPS` grid steps the likelihood is taken as Gaussian around that estimate and
combined in closed form with what the other transients say about F_n (the cavity
distribution: a Gaussian with the moments of sum_d p(d_n | the others) N(F; d, tau^2)), or
kept as it is in proportion to the outlier probability.

tau and q are chosen per series by maximum marginal likelihood over a small grid
(empirical Bayes), so a still subject at high SNR keeps its own estimates (the likelihood
is narrow) and at a single-transient SNR near 1 the estimate leans on the neighbours as
much as the data's own scatter warrants. The likelihood is the exact profile likelihood
for white noise with a free complex amplitude, so its width is calibrated (real spectra
made into transients at SNR 1.5-10 and registered to their own spectrum: the quantile of
the truth under the likelihood has SD 0.26-0.29, uniform 0.289).

Shapes: ll (K, n) over the grid (K,) and the n transients in time order.
"""

from __future__ import annotations

import numpy as np

from ..spectra import chirp_z

#: Grid step (Hz) of the frequency likelihood.
GRID_STEP_HZ = 0.0625
#: Candidate jitter SDs tau (Hz) and drift steps q (Hz per transient) for the marginal
#: likelihood, searched by hill climbing on their grid.
JITTER_SD_HZ = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2)
DRIFT_STEP_HZ = (0.02, 0.05, 0.1, 0.2, 0.5)
#: Where the hill climbing over (tau, q) starts.
START_JITTER_SD_HZ = 0.3
START_DRIFT_STEP_HZ = 0.1
#: Probability p that a transient lies anywhere in the search range (motion during it).
OUTLIER_PROBABILITY = 0.05
#: Probability eps that the drift jumps anywhere between two transients (lasting motion).
DRIFT_JUMP_PROBABILITY = 0.01
#: A transient's own estimate whose Fisher SD is below this many grid steps is combined
#: with its neighbours in closed form instead of on the grid.
PRECISE_SD_STEPS = 4.0
#: Transients per chunk of the zoom DFT (bounds memory).
CHUNK = 64


def likelihood_grid(
    g: np.ndarray, dwell_s: float, low_hz: float, high_hz: float, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """(grid (K,), ll (K, n)): |G_n(F)|^2 / noise for F = low_hz + k GRID_STEP_HZ up to
    high_hz, G_n(F) = sum_t g(t, n) exp(-2 pi i F t), g (m, n) with t = j dwell_s: a zoomed
    DFT (`spectra.chirp_z`) instead of a zero-padded FFT fine enough for the grid step
    (16384 points for 1200 Hz data)."""
    m, n = g.shape
    k = int(np.floor((high_hz - low_hz) / GRID_STEP_HZ)) + 1
    demod = np.exp(-2j * np.pi * np.mod(low_hz * dwell_s * np.arange(m), 1.0))
    ll = np.empty((k, n))
    for c in range(0, n, CHUNK):
        zoomed = chirp_z(g[:, c : c + CHUNK], -GRID_STEP_HZ * dwell_s, k, pre=demod)
        ll[:, c : c + CHUNK] = np.abs(zoomed) ** 2 / noise
    return low_hz + GRID_STEP_HZ * np.arange(k), ll


def _kernel(sd_hz: float, step_hz: float) -> np.ndarray:
    """Normalised Gaussian of SD sd_hz sampled at step_hz, odd length."""
    half = max(1, int(np.ceil(4.0 * sd_hz / step_hz)))
    x = np.arange(-half, half + 1) * step_hz
    k = np.exp(-0.5 * (x / sd_hz) ** 2)
    return k / k.sum()


class _Columns:
    """The columns of a (K, n), Fourier-transformed once, to be convolved with several
    symmetric kernels of at most `longest` points ('same' size)."""

    def __init__(self, a: np.ndarray, longest: int):
        self.k = a.shape[0]
        self.n_fft = 1 << int(np.ceil(np.log2(self.k + longest - 1)))
        self.spectrum = np.fft.rfft(a, self.n_fft, axis=0)

    def smoothed(self, kernel: np.ndarray) -> np.ndarray:
        """Each column convolved with `kernel` (odd length), shape (K, n)."""
        product = self.spectrum * np.fft.rfft(kernel, self.n_fft)[:, None]
        half = kernel.size // 2
        return np.fft.irfft(product, self.n_fft, axis=0)[half : half + self.k]


def _forward(emission: np.ndarray, kernel: np.ndarray, eps: float):
    """Normalised forward messages (K, n) and the log normalisers (n,). The loop runs over
    rows of transposed (n, K) copies, which are contiguous."""
    k, n = emission.shape
    rows = np.ascontiguousarray(emission.T)
    alpha = np.empty_like(rows)
    c = np.empty(n)
    stay = (1 - eps) * kernel
    a = rows[0] / k
    for i in range(n):
        if i:
            a = (np.convolve(alpha[i - 1], stay, mode="same") + eps / k) * rows[i]
        c[i] = a.sum()
        alpha[i] = a / c[i]
    return alpha.T, np.log(c)


def _backward(emission: np.ndarray, kernel: np.ndarray, eps: float, log_c: np.ndarray):
    """Backward messages (K, n), scaled by the forward normalisers."""
    k, n = emission.shape
    rows = np.ascontiguousarray(emission.T)
    beta = np.ones_like(rows)
    c = np.exp(log_c)
    stay = (1 - eps) * kernel
    for i in range(n - 2, -1, -1):
        b = beta[i + 1] * rows[i + 1]
        beta[i] = (np.convolve(b, stay, mode="same") + eps * b.sum() / k) / c[i + 1]
    return beta.T


def smooth_frequencies(
    grid: np.ndarray,
    ll: np.ndarray,
    own_hz: np.ndarray | None = None,
    own_var_hz2: np.ndarray | None = None,
    span_hz: float | None = None,
) -> np.ndarray:
    """Posterior-mean frequencies (n,) Hz (module docstring) from the log-likelihoods ll (K, n) on
    `grid` (K,) Hz (equally spaced), transients in time order; `own_hz` (n,) each
    transient's own estimate (maximum of ll, off the grid) and `own_var_hz2` (n,) its Fisher
    variance (Hz^2), for the closed-form combination of precise estimates; `span_hz` the
    range (Hz) over which an outlying transient may lie (default: the grid's), which may be
    wider than the grid."""
    step = float(grid[1] - grid[0])
    scale = ll.max(axis=0)
    like = np.exp(ll - scale)  # per-transient scale: cancels in every posterior
    span = span_hz if span_hz is not None else step * like.shape[0]
    uniform = step / span  # weight of one grid point under the outliers' uniform density
    p, eps = OUTLIER_PROBABILITY, DRIFT_JUMP_PROBABILITY
    outlier = p * uniform * like.sum(axis=0)  # E[L(F)] for F uniform over the span
    like_columns = _Columns(like, _kernel(max(JITTER_SD_HZ), step).size)
    emissions: dict[float, np.ndarray] = {}
    runs: dict[tuple[float, float], tuple[float, np.ndarray, np.ndarray]] = {}

    def run(tau: float, q: float) -> float:
        """Log evidence of (tau, q), the forward pass kept for the chosen one."""
        if tau not in emissions:
            smoothed = (1 - p) * like_columns.smoothed(_kernel(tau, step)) + outlier
            emissions[tau] = np.maximum(smoothed, 1e-300)
        if (tau, q) not in runs:
            alpha, log_c = _forward(emissions[tau], _kernel(q, step), eps)
            runs[(tau, q)] = (float(log_c.sum()), alpha, log_c)
        return runs[(tau, q)][0]

    # hill climbing on the candidate grid from its start: move to the best of the (up to
    # four) neighbouring pairs while one has a larger evidence
    def evidence(ij: tuple[int, int]) -> float:
        return run(JITTER_SD_HZ[ij[0]], DRIFT_STEP_HZ[ij[1]])

    here = (JITTER_SD_HZ.index(START_JITTER_SD_HZ), DRIFT_STEP_HZ.index(START_DRIFT_STEP_HZ))
    while True:
        i, j = here
        around = [(i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)]
        around = [(a, b) for a, b in around if a in range(len(JITTER_SD_HZ))
                  and b in range(len(DRIFT_STEP_HZ))]  # fmt: skip
        best = max(around, key=evidence)
        if evidence(best) <= evidence(here):
            break
        here = best
    i, j = here
    tau, q = JITTER_SD_HZ[i], DRIFT_STEP_HZ[j]
    _, alpha, log_c = runs[(tau, q)]
    emission = emissions[tau]
    beta = _backward(emission, _kernel(q, step), eps, log_c)
    drift = alpha * beta
    drift /= drift.sum(axis=0)
    # p(F_n | all) ∝ L(F) [(1 - p) sum_d r(d) N(F; d, tau^2) + p (step / span) sum_d r(d)],
    # r = p(d_n | all) / emission(d_n)
    r = drift / emission
    jitter = _kernel(tau, step)
    posterior = like * (
        (1 - p) * _Columns(r, jitter.size).smoothed(jitter) + p * uniform * r.sum(axis=0)
    )
    posterior = np.maximum(posterior, 0.0)
    posterior /= posterior.sum(axis=0)
    freq = grid @ posterior
    if own_hz is not None and own_var_hz2 is not None:
        precise = own_var_hz2 < (PRECISE_SD_STEPS * step) ** 2
        freq[precise] = _combine(
            r[:, precise], grid, tau, own_hz[precise], own_var_hz2[precise], span
        )
    return freq


def _combine(
    cavity: np.ndarray,
    grid: np.ndarray,
    tau: float,
    own: np.ndarray,
    var: np.ndarray,
    span: float,
) -> np.ndarray:
    """Posterior means of F for Gaussian likelihoods N(own, var) (n,) under the prior
    (1 - p) N(d, tau^2) + p U(span Hz), d distributed as `cavity` (K, n; unnormalised)."""
    weight = cavity / cavity.sum(axis=0)
    centre = grid @ weight
    spread2 = ((grid[:, None] - centre) ** 2 * weight).sum(axis=0) + tau**2
    total = spread2 + var
    combined = (own * spread2 + centre * var) / total
    log_odds = (
        np.log((1 - OUTLIER_PROBABILITY) * span / OUTLIER_PROBABILITY)
        - 0.5 * np.log(2 * np.pi * total)
        - 0.5 * (own - centre) ** 2 / total
    )
    consistent = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -50.0, 50.0)))
    return consistent * combined + (1 - consistent) * own
