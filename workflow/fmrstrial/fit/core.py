"""`fit_spectrum`: fit one spectrum and return amplitudes, CRLBs, ratios and QC measures.

Definitions used in the result (and in the output tables):

- noise_sd: SD of the real part of the spectral noise (``fft(fid)``, no scaling), measured
  in the signal-free `noise_ppm` regions after a quadratic detrend (FID tail if none fits
  in the spectral window).
- residual_sd: root mean square of the real and imaginary parts of data - model over the fit
  range (same units as noise_sd; about noise_sd for a good fit).
- snr: height of the fitted NAA component (real part, phase and baseline removed, zero-filled
  8 times) divided by noise_sd; the simulator's definition of SNR.
- fwhm_hz: full width at half maximum of the fitted metabolite + macromolecule spectrum
  (no baseline, phase removed, zero-filled 8 times) around NAA, between 1.9 and 2.12 ppm.
- Amplitudes are in the units of the basis set (the demo simulator's concentration units for
  the shipped basis sets); macromolecule amplitudes in protons x the same units.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np

from ..blas import single_threaded_blas
from ..errors import InputError
from ..io.basis import Basis
from ..spectra import PPM_CENTRE_1H, frequency_axis, to_spectrum
from ..spectra import fwhm_hz as peak_fwhm_hz
from .basis_setup import METABOLITE_GROUP, MM_GROUP, FitBasis, component_names, prepare_basis
from .crlb import (
    Estimate,
    amplitude_covariance,
    effective_dof,
    fisher_information,
    linear_estimate,
    ratio_estimate,
    shaped_noise_factors,
)
from .model import SpectralModel, cmatvec, stack
from .noise import region_noise_sd, tail_noise_sd
from .settings import resolve_settings
from .solver import (
    VarProProblem,
    baseline_design,
    baseline_effective_dimension,
    build_linear_system,
    build_priors,
    penalty_eigenvalues,
    ratio_prior_rows,
    solve,
)
from .start import Start, coarse_search

_log = logging.getLogger(__name__)

#: Zero-filling factor for the SNR and FWHM measurements on the fitted model.
QC_ZERO_FILL = 8
#: Window (ppm) in which the NAA linewidth is measured.
NAA_WINDOW_PPM = (1.9, 2.12)
#: Baseline effective dimension per ppm of the first-stage fit (before the penalty is chosen).
INITIAL_ED_PER_PPM = 2.0
#: Number of candidate penalties (log-spaced in effective dimension) of the automatic choice.
N_PENALTY_CANDIDATES = 12
#: Half-width (ppm) of the window around the coarse start that bounds the metabolite shift.
SHIFT_WINDOW_PPM = 0.1
#: A first stage whose zero-order phase ends more than this (degrees) from the coarse start's,
#: or whose metabolite shift ends at the edge of its window, went astray: a strong water tail
#: through the fit range that the stiff first baseline cannot follow dragged the metabolites
#: (measured: 216 degrees and the window's edge; fits that went well stay within 11 degrees).
#: It is redone with the baseline flexibility chosen at the start.
ASTRAY_PHASE_DEG = 60.0


@dataclass
class FitResult:
    """Result of one fit.

    names/kinds: components (K); amplitudes, amplitude_sd: (K,) in basis units;
    sums/ratios: name -> Estimate (value and CRLB SD); covariance: (K, K) of the amplitudes;
    params: nonlinear parameters in reporting units (phase0_deg, phase1_deg_per_ppm,
    shift_hz_<group>, lorentz_hz_<group>, gauss_hz_<group>);
    ppm: (n_fit,) fitted points; data, fit, baseline: (n_fit,) complex spectra with the
    fitted phase removed (real part = absorption); components: (n_fit, K) complex, each
    component times its amplitude, phase removed; phase: (n_fit,) complex fitted phase
    factor (data = phase x phase-removed spectrum). A block fitted on a session background
    (`fit_spectrum(background=...)`) has that background in `baseline`, and the session's
    baseline penalty and effective dimension per ppm in `session_baseline_*`; its own
    `baseline_*` describe the block's baseline correction on top of it. fit_range_ppm: the
    fitted range in the data's frame (the configured `ppm_range` moved by the data's
    frequency offset found by the coarse search; as given for a fit on a background).
    """

    names: list[str]
    kinds: list[str]
    amplitudes: np.ndarray
    amplitude_sd: np.ndarray
    covariance: np.ndarray
    sums: dict[str, Estimate]
    ratios: dict[str, Estimate]
    params: dict[str, float]
    converged: bool
    iterations: int
    message: str
    noise_sd: float
    noise_source: str
    residual_sd: float
    crlb_noise_sd: float
    effective_dof: float
    snr: float
    fwhm_hz: float
    ppm: np.ndarray
    data: np.ndarray
    fit: np.ndarray
    baseline: np.ndarray
    components: np.ndarray
    theta: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    baseline_penalty: float = float("nan")
    baseline_ed: float = float("nan")
    baseline_ed_per_ppm: float = float("nan")
    phase: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, complex))
    session_baseline_penalty: float = float("nan")
    session_baseline_ed_per_ppm: float = float("nan")
    fit_range_ppm: tuple[float, float] = (float("nan"), float("nan"))

    def amplitude(self, name: str) -> float:
        """Amplitude of a component or a configured sum."""
        if name in self.sums:
            return self.sums[name].value
        return float(self.amplitudes[self.names.index(name)])

    def crlb_pct(self, name: str) -> float:
        """CRLB of a component or sum as a percentage of its amplitude (inf at zero)."""
        if name in self.sums:
            return self.sums[name].pct
        i = self.names.index(name)
        return Estimate(float(self.amplitudes[i]), float(self.amplitude_sd[i])).pct

    @property
    def residual_ratio(self) -> float:
        """residual_sd / noise_sd."""
        return self.residual_sd / self.noise_sd


def _as_fit_basis(basis, n_points: int, dwell_s: float, cf_mhz: float, settings, te_ms, source):
    if isinstance(basis, FitBasis):
        same = (
            basis.n_points == n_points
            and np.isclose(basis.dwell_s, dwell_s, rtol=1e-9)
            and np.isclose(basis.cf_mhz, cf_mhz, rtol=1e-6)
        )
        if not same:
            raise ValueError("the prepared basis was made for another grid; call prepare_basis")
        if basis.names != component_names(settings):
            raise ValueError("the prepared basis was made with other component settings")
        return basis
    if not isinstance(basis, Basis):
        raise TypeError("basis must be a fmrstrial.io.basis.Basis or a prepared FitBasis")
    return prepare_basis(basis, n_points, dwell_s, cf_mhz, settings, te_ms, source)


def _component_sets(names: list[str], groups: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Weight vectors of the configured sums over the fitted components present."""
    out = {}
    for name, members in groups.items():
        present = [m for m in members if m in names]
        if present:
            w = np.zeros(len(names))
            w[[names.index(m) for m in present]] = 1.0
            out[name] = w
    return out


def _weights(name: str, names: list[str], sums: dict[str, np.ndarray]) -> np.ndarray | None:
    if name in sums:
        return sums[name]
    if name in names:
        w = np.zeros(len(names))
        w[names.index(name)] = 1.0
        return w
    return None


def _qc_measures(model: SpectralModel, theta, c, noise_sd: float) -> tuple[float, float]:
    """(snr, fwhm_hz) of the fitted model (see module doc)."""
    fb = model.fb
    lay = model.layout
    referenced = theta.copy()  # the metabolites' shift removed: NAA where the window expects it
    for g in range(lay.n_groups):
        referenced[lay.shift(g)] -= theta[lay.shift(0)]
    fids = model.component_fids(referenced) * c[None, :]
    nz = QC_ZERO_FILL * fb.n_points
    freq = frequency_axis(nz, fb.dwell_s)
    ppm = PPM_CENTRE_1H + freq / fb.cf_mhz
    snr = float("nan")
    if "NAA" in fb.names:
        naa = to_spectrum(np.pad(fids[:, fb.index("NAA")], (0, nz - fb.n_points))).real
        snr = float(naa.max() / noise_sd)
    total = to_spectrum(np.pad(fids.sum(axis=1), (0, nz - fb.n_points))).real
    lo, hi = np.searchsorted(ppm, NAA_WINDOW_PPM)
    fwhm = peak_fwhm_hz(total, freq, int(lo), int(hi)) if total[lo:hi].max() > 0 else np.nan
    return snr, float(fwhm)


def _noise(fid, dwell_s, cf_mhz, y, settings) -> tuple[float, str]:
    """Noise SD and where it was measured: signal-free region, else FID tail."""
    noise_sd, _ = region_noise_sd(fid, dwell_s, cf_mhz, settings["noise_ppm"])
    if np.isfinite(noise_sd) and noise_sd > 0:
        return noise_sd, "region"
    noise_sd = tail_noise_sd(fid)
    if np.isfinite(noise_sd) and noise_sd > 0:
        return noise_sd, "fid_tail"
    return float(np.abs(y).max()) * 1e-3 + 1e-30, "nominal"


def _solve_staged(problem: VarProProblem, start: Start, settings: dict, window):
    """Nonlinear fit from the coarse start. With extra lineshape groups or a lineshape
    distortion, a first stage with only the default groups and Voigt lines gives the start
    (this keeps extra groups from wandering into e.g. NAA/NAAG swaps). window: bounds (Hz)
    of the metabolite shift (`shift_window`)."""
    model = problem.model
    theta0, n_pre = _initial_theta(model, start, settings), 0
    if model.layout.n_groups > 2 or model.layout.n_lineshape:
        simple = _simple_model(model, settings)
        pre = VarProProblem(simple, problem.system, build_priors(simple, settings, start.shift_hz))
        theta1 = _initial_theta(simple, start, settings)
        res1 = solve(pre, theta1, settings["max_iterations"], window)
        theta0, n_pre = _expand_theta(simple, model, res1.x), int(res1.nfev)
    res = solve(problem, theta0, settings["max_iterations"], window)
    res.nfev += n_pre
    return res


def shift_window(start: Start, cf_mhz: float) -> tuple[float, float]:
    """Bounds (Hz) of the metabolite group's shift in the fine fit: the coarse start
    +- `SHIFT_WINDOW_PPM`. Without them a large residual water tail that the first, stiff
    baseline cannot follow pulled the whole metabolite set by up to a ppm."""
    half = SHIFT_WINDOW_PPM * cf_mhz
    return start.shift_hz - half, start.shift_hz + half


def went_astray(theta: np.ndarray, model: SpectralModel, start: Start, window) -> bool:
    """True when a fit's zero-order phase (theta[0], rad) ended more than `ASTRAY_PHASE_DEG`
    from the coarse start's (modulo a turn) or its metabolite shift within 1 % of an edge of
    `window` (Hz)."""
    shift = theta[model.layout.shift(0)]
    margin = 0.01 * (window[1] - window[0])
    at_edge = shift - window[0] < margin or window[1] - shift < margin
    turned = abs(np.angle(np.exp(1j * (theta[0] - start.phase_rad))))
    return bool(at_edge or turned > np.radians(ASTRAY_PHASE_DEG))


#: Part of the spectral width left out at each edge when the fit range is cut to the data's
#: window (the anti-aliasing filter's roll-off).
WINDOW_EDGE_FRACTION = 0.02
#: The fit range cut to the data's window must still hold NAA (2.01 ppm) and Cr (3.03 ppm).
REQUIRED_PPM = (1.9, 3.1)


def range_inside_window(
    ppm_range, dwell_s: float, cf_mhz: float, source: str
) -> tuple[list[float], bool]:
    """The fit range [low, high] (ppm) cut to the data's spectral window (1 / dwell_s Hz
    around PPM_CENTRE_1H, less `WINDOW_EDGE_FRACTION` at each edge), and whether it was cut
    (e.g. 7 T data sampled at 2 kHz span only 1.3-8.0 ppm). InputError naming
    `fit.ppm_range` when the cut range misses NAA or Cr."""
    half = 0.5 / dwell_s / cf_mhz * (1.0 - 2.0 * WINDOW_EDGE_FRACTION)
    window = (PPM_CENTRE_1H - half, PPM_CENTRE_1H + half)
    lo, hi = max(ppm_range[0], window[0]), min(ppm_range[1], window[1])
    if lo > REQUIRED_PPM[0] or hi < REQUIRED_PPM[1]:
        raise InputError(
            f"fit.ppm_range {ppm_range[0]:g}-{ppm_range[1]:g} ppm: the data's spectral window "
            f"({1.0 / dwell_s:.0f} Hz at {cf_mhz:.1f} MHz) covers only {window[0]:.2f}-"
            f"{window[1]:.2f} ppm, which does not hold {REQUIRED_PPM[0]:g}-{REQUIRED_PPM[1]:g} "
            "ppm (NAA and Cr)",
            file=source,
        )
    return [float(lo), float(hi)], (lo, hi) != tuple(ppm_range)


def spectral_model(fb: FitBasis, settings: dict) -> SpectralModel:
    """The model of `fb` over the settings' `ppm_range` (ppm of the data's frame)."""
    return SpectralModel(
        fb,
        settings["ppm_range"],
        settings["zero_fill"],
        settings["fit_phase1"],
        settings["lineshape_knot_spacing_ms"] / 1000.0,
        settings["lineshape_duration_ms"] / 1000.0,
    )


def _initial_theta(model: SpectralModel, start: Start, settings: dict) -> np.ndarray:
    """Starting theta from the coarse search: every group at the same shift and widths."""
    lay = model.layout
    theta0 = np.zeros(lay.size)
    theta0[0] = start.phase_rad
    for g in range(lay.n_groups):
        theta0[lay.shift(g)] = start.shift_hz
        theta0[lay.lorentz(g)] = max(settings["lorentz_prior_hz"][0], 0.5)
        theta0[lay.gauss(g)] = start.gauss_hz
    return theta0


def _simple_model(model: SpectralModel, settings: dict) -> SpectralModel:
    """The model with only the default groups (metabolites, macromolecules), Voigt lines."""
    fb = model.fb
    kinds = np.array(fb.kinds)
    groups = [METABOLITE_GROUP] + ([MM_GROUP] if (kinds != "metabolite").any() else [])
    simple = replace(fb, groups=groups, group_of=(kinds != "metabolite").astype(int))
    return SpectralModel(
        simple, settings["ppm_range"], settings["zero_fill"], settings["fit_phase1"]
    )


def _expand_theta(simple: SpectralModel, model: SpectralModel, theta1: np.ndarray) -> np.ndarray:
    """Map a solution of `_simple_model` onto the full model's parameters."""
    lay1, lay = simple.layout, model.layout
    theta = np.zeros(lay.size)
    theta[: lay.first_group] = theta1[: lay1.first_group]
    for g, name in enumerate(model.fb.groups):
        if name in simple.fb.groups:
            g1 = simple.fb.groups.index(name)
        else:  # a user group: start from the group its members were in
            members = model.fb.group_of == g
            g1 = int(np.bincount(simple.fb.group_of[members]).argmax())
        for pos1, pos in (
            (lay1.shift(g1), lay.shift(g)),
            (lay1.lorentz(g1), lay.lorentz(g)),
            (lay1.gauss(g1), lay.gauss(g)),
        ):
            theta[pos] = theta1[pos1]
    return theta


def empty_result(fb: FitBasis, settings: dict | None = None, reason: str = "") -> FitResult:
    """The result of a block that was not fitted (e.g. no transient kept): every amplitude,
    ratio and parameter n/a, converged False, `message` the reason. Same names and keys as a
    fitted result, so that tables keep one row per block."""
    settings = resolve_settings(settings)
    k = len(fb.names)
    nan = float("nan")
    params = {"phase0_deg": nan, "phase1_deg_per_ppm": nan}
    for gname in fb.groups:
        params.update({f"shift_hz_{gname}": nan, f"lorentz_hz_{gname}": nan})
        params[f"gauss_hz_{gname}"] = nan
    empty = np.zeros(0, dtype=np.complex128)
    return FitResult(
        names=list(fb.names),
        kinds=list(fb.kinds),
        amplitudes=np.full(k, nan),
        amplitude_sd=np.full(k, nan),
        covariance=np.full((k, k), nan),
        sums={n: Estimate(nan, nan) for n in settings["sums"]},
        ratios={n: Estimate(nan, nan) for n in settings["ratios"]},
        params=params,
        converged=False,
        iterations=0,
        message=reason,
        noise_sd=nan,
        noise_source="n/a",
        residual_sd=nan,
        crlb_noise_sd=nan,
        effective_dof=nan,
        snr=nan,
        fwhm_hz=nan,
        ppm=np.zeros(0),
        data=empty,
        fit=empty,
        baseline=empty,
        components=np.zeros((0, k), dtype=np.complex128),
    )


def fit_spectrum(
    fid: np.ndarray,
    dwell_s: float,
    cf_mhz: float,
    basis: Basis | FitBasis,
    settings: dict | None = None,
    *,
    te_ms: float | None = None,
    source: str = "<data>",
    baseline_penalty: float | None = None,
    averaged_blocks: int = 1,
    background: np.ndarray | None = None,
    group_offsets: dict[str, tuple[float, float, float]] | None = None,
    noise_envelope: np.ndarray | None = None,
) -> FitResult:
    """Fit one FID (n_points,) complex, internal convention, sampled every `dwell_s` s at
    `cf_mhz` MHz, with `basis` (a raw `Basis`, resampled here, or a `FitBasis` already
    prepared for this grid). `settings`: overrides of `DEFAULTS`. `te_ms`: echo time of the
    data, checked against the basis. `baseline_penalty`: a fixed spline penalty (e.g. chosen
    on a session's mean spectrum) instead of the `baseline_penalty` setting.
    `averaged_blocks`: the FID is the mean of this many blocks, and the automatic penalty is
    chosen for the noise of one block (see `select_baseline_penalty`). `background`: a known
    signal (n_fit,) complex in the data's frame (phase not removed), e.g. a session's
    baseline and macromolecules (`fmrstrial.fit.session`), subtracted from the data before
    the fit and reported as part of the baseline; it must lie on the grid of the configured
    `ppm_range`, which is then used as given (without a background the range follows the
    data's frequency offset, see `FitResult.fit_range_ppm`). `group_offsets`: group name ->
    (shift, Lorentzian, Gaussian FWHM) relative to the metabolite group (Hz) at which those
    groups are held (`build_priors`), e.g. a session mean's. `noise_envelope`: (n_points,)
    a time-domain envelope the FID was multiplied by before (e.g. linewidth matching's
    broadening), whose shaping of the noise the CRLBs then account for
    (`crlb.shaped_noise_factors`). Raises InputError for a basis that does not suit.

    Runs with single-threaded OpenBLAS (see `fmrstrial.blas`)."""
    with single_threaded_blas():
        return _fit(
            fid, dwell_s, cf_mhz, basis, settings, te_ms, source, baseline_penalty,
            averaged_blocks, background, group_offsets, noise_envelope,
        )  # fmt: skip


def penalty_for_dimension(
    design: np.ndarray, diff2: np.ndarray, target: float, mu: np.ndarray | None = None
) -> float:
    """Penalty lambda whose baseline effective dimension (one part) is `target`, by
    bisection in log lambda (the dimension falls from n_basis to 2 as lambda grows);
    mu: `penalty_eigenvalues(design, diff2)` when already computed."""
    mu = penalty_eigenvalues(design, diff2) if mu is None else mu
    lo, hi = -12.0, 12.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if np.sum(1.0 / (1.0 + 10.0**mid * mu)) > target:
            lo = mid
        else:
            hi = mid
    return float(10.0 ** (0.5 * (lo + hi)))


def fixed_flexibility_penalty(design: np.ndarray, diff2: np.ndarray, settings: dict):
    """Penalty giving the spline the setting `baseline_flexibility` (effective dimensions
    per ppm over the fit range, clipped as `candidate_penalties` clips), or None when it is
    'auto' or 'trial' (the penalty is then chosen by the criterion on this spectrum: a
    spectrum fitted without its trial's choice is a trial of its own; the workflow replaces
    'trial' by the trial's number, `fmrstrial.fit.trial_baseline.flexibility_setting`)."""
    per_ppm = settings["baseline_flexibility"]
    if per_ppm in ("auto", "trial"):
        return None
    width = settings["ppm_range"][1] - settings["ppm_range"][0]
    return penalty_per_ppm(design, diff2, per_ppm, width)


def penalty_per_ppm(design: np.ndarray, diff2: np.ndarray, per_ppm: float, width: float) -> float:
    """Penalty for `per_ppm` effective dimensions per ppm over a fit range `width` ppm wide,
    clipped to what the spline can take (2.05 to its number of coefficients less 0.5)."""
    target = min(max(per_ppm * width, 2.05), design.shape[1] - 0.5)
    return penalty_for_dimension(design, diff2, target)


def candidate_penalties(design: np.ndarray, diff2: np.ndarray, settings: dict) -> np.ndarray:
    """Penalties for effective dimensions log-spaced over `baseline_ed_per_ppm` (clipped to
    what the spline `design`, `diff2` can take), shape (N_PENALTY_CANDIDATES,)."""
    width = settings["ppm_range"][1] - settings["ppm_range"][0]
    lo, hi = (e * width for e in settings["baseline_ed_per_ppm"])
    lo, hi = max(lo, 2.05), min(hi, design.shape[1] - 0.5)
    targets = np.geomspace(lo, max(hi, lo), N_PENALTY_CANDIDATES)
    mu = penalty_eigenvalues(design, diff2)
    return np.array([penalty_for_dimension(design, diff2, e, mu) for e in targets])


def _data_rss(system, ev) -> float:
    """Whitened residual sum of squares over the data rows (penalty rows excluded)."""
    a_aug = system.augment(stack(ev.phase[:, None] * ev.cols))
    resid = system.y_aug - a_aug @ ev.c
    b = system.baseline_coefs(resid)
    if b.size:
        resid = resid - system.q @ (system.r @ b)
    return float(np.sum(resid[: system.n_data] ** 2))


def select_baseline_penalty(
    model, y, sigma, settings, link, priors, theta, averaged_blocks: int = 1
) -> float:
    """Penalty minimising n log(RSS) + 2 k ED at fixed nonlinear parameters `theta`
    (n: independent data values, ED: effective dimension of the complex baseline, k:
    `baseline_aic_factor`), amplitudes and baseline re-solved for each candidate.

    When y is the mean of `averaged_blocks` blocks with noise SD `sigma`, the criterion is
    evaluated for the noise of one block: RSS (whitened by sigma) + n (averaged_blocks - 1),
    the expected residual of a block with the mean's misfit. The mean determines the
    misfit well, and the flexibility suits blocks that fit their own baseline with this
    penalty (on the mean itself, averaged_blocks = 1, the criterion picks the more flexible
    baseline its higher SNR supports: what a session background held fixed in every block
    is chosen with, `fmrstrial.fit.session.mean_fit`)."""
    design, diff2 = baseline_design(model, settings)
    n = 2 * model.n_fit / model.zero_fill
    extra = 2.0 * model.n_fit * (averaged_blocks - 1)
    best = None
    for lam in candidate_penalties(design, diff2, settings):
        system = build_linear_system(model, y, sigma, settings, link, lam)
        ev = VarProProblem(model, system, priors).evaluate(theta)
        ed = 2.0 * baseline_effective_dimension(design, diff2, lam)
        rss = _data_rss(system, ev) + extra
        score = n * np.log(rss) + 2.0 * settings["baseline_aic_factor"] * ed
        if best is None or score < best[0]:
            best = (score, float(lam))
    return best[1]


def _fit(
    fid, dwell_s, cf_mhz, basis, settings, te_ms, source, baseline_penalty, averaged_blocks,
    background, group_offsets=None, noise_envelope=None,
) -> FitResult:  # fmt: skip
    settings = resolve_settings(settings)
    fid = np.asarray(fid)
    if fid.ndim != 1 or not np.iscomplexobj(fid):
        raise ValueError(f"fid must be a complex vector, got shape {fid.shape}")
    if not np.all(np.isfinite(fid)) or not np.any(fid):
        raise InputError("the spectrum is empty (all zeros) or not finite", file=source)
    fb = _as_fit_basis(basis, fid.size, dwell_s, cf_mhz, settings, te_ms, source)
    model = spectral_model(fb, settings)
    start = coarse_search(model, fid, settings)
    if background is None:
        # The fit range is a chemical-shift range: it follows the data's frequency offset,
        # so that an offset spectrum is fitted over the same signals as a referenced one.
        offset = start.shift_hz / cf_mhz
        wanted = [x + offset for x in settings["ppm_range"]]
        ppm_range, cut = range_inside_window(wanted, dwell_s, cf_mhz, source)
        if cut:
            _log.warning(
                "%s: fit range %.2f-%.2f ppm cut to the data's spectral window: %.2f-%.2f ppm",
                source, *wanted, *ppm_range,
            )  # fmt: skip
        settings = {**settings, "ppm_range": ppm_range}
        model = spectral_model(fb, settings)
        background = np.zeros(model.n_fit, dtype=np.complex128)
    y_data = model.data_spectrum(fid)
    if background.shape != y_data.shape:
        raise ValueError(f"background has shape {background.shape}, the fit range {y_data.shape}")
    y = y_data - background

    noise_sd, noise_source = _noise(fid, dwell_s, cf_mhz, y_data, settings)
    priors = build_priors(model, settings, start.shift_hz, group_offsets)
    window = shift_window(start, cf_mhz)
    design, diff2 = baseline_design(model, settings)
    width = settings["ppm_range"][1] - settings["ppm_range"][0]
    if baseline_penalty is None and settings["baseline_penalty"] != "auto":
        baseline_penalty = float(settings["baseline_penalty"])
    lam = baseline_penalty
    if lam is None and settings["baseline"] == "spline":
        lam = penalty_per_ppm(design, diff2, INITIAL_ED_PER_PPM, width)
    lam = 1.0 if lam is None else lam

    # Stage 1: ratio priors linearised at the unconstrained amplitudes of the start.
    choose_penalty = baseline_penalty is None and settings["baseline"] == "spline"
    # A fixed flexibility replaces the criterion's choice, after the same first stage.
    fixed = fixed_flexibility_penalty(design, diff2, settings) if choose_penalty else None

    def chosen_penalty(link, theta) -> float:
        if fixed is not None:
            return fixed
        return select_baseline_penalty(
            model, y, noise_sd, settings, link, priors, theta, averaged_blocks
        )

    system = build_linear_system(model, y, noise_sd, settings, None, lam)
    theta_init = _initial_theta(model, start, settings)
    c_probe = VarProProblem(model, system, priors).evaluate(theta_init).c
    link = ratio_prior_rows(fb.names, settings["ratio_priors"], c_probe)

    def first_stage(penalty: float):
        system = build_linear_system(model, y, noise_sd, settings, link, penalty)
        problem = VarProProblem(model, system, priors)
        return problem, _solve_staged(problem, start, settings, window)

    problem, res1 = first_stage(lam)
    if choose_penalty and went_astray(res1.x, model, start, window):
        # Redo stage 1 with the flexibility chosen at the start (see ASTRAY_PHASE_DEG).
        _log.warning(
            "%s: first fit stage went astray (a strong water tail?); redone with the baseline "
            "flexibility chosen at the coarse start",
            source,
        )
        nfev = int(res1.nfev)
        problem, res1 = first_stage(chosen_penalty(link, theta_init))
        res1.nfev += nfev

    # Stage 2: priors re-linearised at the stage-1 amplitudes; penalty chosen if automatic.
    c1 = problem.evaluate(res1.x).c
    link = ratio_prior_rows(fb.names, settings["ratio_priors"], c1)
    if choose_penalty:
        lam = chosen_penalty(link, res1.x)
    system = build_linear_system(model, y, noise_sd, settings, link, lam)
    problem = VarProProblem(model, system, priors)
    res = solve(problem, res1.x, settings["max_iterations"], window)
    res.nfev += int(res1.nfev)
    theta = res.x
    ev = problem.evaluate(theta)
    c = ev.c
    a_aug = system.augment(stack(ev.phase[:, None] * ev.cols))
    b = system.baseline_coefs(system.y_aug - a_aug @ c)
    n_fit = model.n_fit
    base_stacked = system.base @ b if b.size else np.zeros(2 * n_fit)
    baseline = base_stacked[:n_fit] + 1j * base_stacked[n_fit:] + background
    metab = ev.phase * cmatvec(ev.cols, c)
    resid = y_data - metab - baseline
    rss = float(np.sum(stack(resid) ** 2))
    residual_sd = float(np.sqrt(rss / (2 * n_fit)))

    fisher = fisher_information(model, system, priors, theta, c)
    edf = effective_dof(fisher)
    dof = max(2 * n_fit - model.zero_fill * edf, 1.0)
    sigma_res = float(np.sqrt(rss / dof))
    if settings["crlb_noise"] == "region" and noise_source == "region":
        crlb_sd = noise_sd
    else:
        crlb_sd = sigma_res
    names = fb.names
    k = len(names)
    if settings["crlb"]:
        cov = amplitude_covariance(fisher, (crlb_sd / noise_sd) ** 2)
        if noise_envelope is not None and np.any(np.asarray(noise_envelope) != 1.0):
            r = shaped_noise_factors(fisher, model, noise_envelope)
            cov = cov * np.outer(r, r)
    else:
        cov = np.full((k, k), np.nan)
    amp_sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))

    sum_w = _component_sets(names, settings["sums"])
    sums = {n: linear_estimate(c, cov, w) for n, w in sum_w.items()}
    ratios = {}
    for rname, (num, den) in settings["ratios"].items():
        wn, wd = _weights(num, names, sum_w), _weights(den, names, sum_w)
        if wn is not None and wd is not None:
            ratios[rname] = ratio_estimate(c, cov, wn, wd)

    params = {"phase0_deg": float(np.rad2deg(theta[0]))}
    lay = model.layout
    params["phase1_deg_per_ppm"] = float(np.rad2deg(theta[1])) if lay.fit_phase1 else 0.0
    for g, gname in enumerate(fb.groups):
        params[f"shift_hz_{gname}"] = float(theta[lay.shift(g)])
        params[f"lorentz_hz_{gname}"] = float(theta[lay.lorentz(g)])
        params[f"gauss_hz_{gname}"] = float(theta[lay.gauss(g)])
    snr, fwhm = _qc_measures(model, theta, c, noise_sd)
    unphase = ev.phase.conj()
    baseline_ed = baseline_effective_dimension(design, diff2, lam)
    return FitResult(
        names=list(names),
        kinds=list(fb.kinds),
        amplitudes=c.copy(),
        amplitude_sd=amp_sd,
        covariance=cov,
        sums=sums,
        ratios=ratios,
        params=params,
        converged=bool(res.status > 0),
        iterations=int(res.nfev),
        message=str(res.message),
        noise_sd=float(noise_sd),
        noise_source=noise_source,
        residual_sd=residual_sd,
        crlb_noise_sd=float(crlb_sd),
        effective_dof=edf,
        snr=snr,
        fwhm_hz=fwhm,
        ppm=model.ppm.copy(),
        data=y_data * unphase,
        fit=(metab + baseline) * unphase,
        baseline=baseline * unphase,
        components=ev.cols * c[None, :],
        theta=theta.copy(),
        baseline_penalty=float(lam) if settings["baseline"] == "spline" else float("nan"),
        baseline_ed=baseline_ed,
        baseline_ed_per_ppm=baseline_ed / width,
        phase=ev.phase.copy(),
        fit_range_ppm=(float(settings["ppm_range"][0]), float(settings["ppm_range"][1])),
    )
