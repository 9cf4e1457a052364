"""Unit tests of the preprocessing building blocks on synthetic signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from fmrstrial.errors import InputError
from fmrstrial.preprocess import (
    DEFAULTS,
    DESCRIPTIONS,
    align,
    coils,
    drift,
    eddy,
    hlsvd,
    linewidth,
    qc,
    reject,
    resolve_settings,
)
from fmrstrial.preprocess.blocks import define_blocks, membership
from fmrstrial.spectra import (
    PPM_CENTRE_1H,
    broadening_envelope,
    frequency_axis,
    time_axis,
    to_spectrum,
)

DWELL = 1.0 / 1200.0
CF = 127.73
N = 1024
T = time_axis(N, DWELL)


def lorentzian(ppm: float, fwhm_hz: float, amp: complex = 1.0, half: bool = False):
    """FID of one Lorentzian line at `ppm` (internal convention). With `half`, the first
    point is halved so that the DFT is a Lorentzian without a constant offset."""
    f = (ppm - PPM_CENTRE_1H) * CF
    fid = amp * np.exp(2j * np.pi * f * T - np.pi * fwhm_hz * T)
    if half:
        fid[0] *= 0.5
    return fid


def metabolites(half: bool = False) -> np.ndarray:
    """A few singlets spread over 1.8-4.2 ppm (NAA, Cr, Cho, Cr CH2, mI-like)."""
    lines = [(2.008, 1.0), (3.027, 0.8), (3.21, 0.6), (3.92, 0.7), (3.56, 0.4), (2.35, 0.3)]
    return sum(lorentzian(p, 5.0, a, half) for p, a in lines)


def cnoise(rng, shape, sd):
    return sd * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


# --- settings -----------------------------------------------------------------------------


def test_every_setting_has_one_sentence_description():
    assert set(DESCRIPTIONS) == set(DEFAULTS)
    for key, text in DESCRIPTIONS.items():
        assert text.endswith(".") and text.count(". ") == 0, key


def test_settings_reject_unknown_key_and_bad_values():
    with pytest.raises(InputError, match="cfg.yaml.*'align_ppm_typo' is unknown"):
        resolve_settings({"align_ppm_typo": [1, 2]}, source="cfg.yaml")
    with pytest.raises(InputError, match="hlsvd_ppm.*low < high"):
        resolve_settings({"hlsvd_ppm": [5.2, 4.2]})
    with pytest.raises(InputError, match="linewidth_lineshape"):
        resolve_settings({"linewidth_lineshape": "voigt"})
    with pytest.raises(InputError, match="baseline_blocks"):
        resolve_settings({"baseline_blocks": 0})
    assert resolve_settings({"reject_z": 5})["reject_z"] == 5


# --- blocks -------------------------------------------------------------------------------


def test_default_blocks_two_baseline_six_infusion():
    t = np.arange(760) * 3.0 - 480.0
    blocks = define_blocks(t, resolve_settings())
    assert [b.number for b in blocks] == list(range(1, 9))
    assert [b.phase for b in blocks] == ["baseline"] * 2 + ["infusion"] * 6
    assert blocks[0].start_s == -480.0 and blocks[1].start_s == -240.0 and blocks[1].end_s == 0
    assert [b.start_s for b in blocks[2:]] == [0, 300, 600, 900, 1200, 1500]
    member = membership(t, blocks)
    assert member.sum(axis=0).max() == 1  # consecutive blocks do not overlap
    assert member.sum(axis=1).tolist() == [80, 80] + [100] * 6


def test_sliding_windows_do_not_straddle_infusion_start():
    t = np.arange(700) * 3.0 - 450.0
    s = resolve_settings({"sliding_window": True, "sliding_width_min": 4.0})
    blocks = define_blocks(t, s)
    assert all(b.end_s <= 0 or b.start_s >= 0 for b in blocks)
    # 4-min windows, except that a window the acquisition ended in (at 1650 s) ends there
    assert all(abs(b.end_s - min(b.start_s + 240.0, 1650.0)) < 1e-9 for b in blocks)
    assert max(b.end_s for b in blocks) == 1650.0
    base = [b for b in blocks if b.phase == "baseline"]
    assert base[-1].end_s == 0.0 and base[0].start_s >= -450.0
    assert max(b.end_s for b in blocks) <= 1800.0


def test_blocks_outside_the_acquisition_are_left_out():
    t = np.arange(300) * 3.0 - 180.0  # acquisition ends 12 min after infusion start
    blocks = define_blocks(t, resolve_settings())
    assert [b.number for b in blocks] == [1, 2, 3, 4, 5]
    # the block the acquisition ended in (10-15 min) reports the 2 min it holds
    assert (blocks[-1].start_s, blocks[-1].end_s, blocks[-1].mid_s) == (600.0, 720.0, 660.0)
    assert membership(t, blocks)[-1].sum() == 40


# --- quality measures ---------------------------------------------------------------------


@pytest.mark.parametrize("width", [3.0, 6.5, 11.0])
def test_fwhm_of_a_lorentzian(width):
    h, w, ppm = qc.peak_measures(lorentzian(2.008, width, half=True), DWELL, CF, (1.9, 2.1))
    assert w == pytest.approx(width, abs=0.02)
    assert ppm == pytest.approx(2.008, abs=0.002)


def test_spectral_noise_sd_and_tail_estimate():
    rng = np.random.default_rng(0)
    fid = lorentzian(2.0, 5.0, 50.0) + cnoise(rng, N, 0.1)
    var_r = qc.tail_noise_var_real(fid, 0.5)
    assert var_r == pytest.approx(0.01, rel=0.1)
    spec_sd = np.std(to_spectrum(cnoise(rng, (N, 400), 0.1)).real)
    assert qc.spectral_noise_sd(0.01, np.ones(N)) == pytest.approx(spec_sd, rel=0.02)


# --- eddy currents ------------------------------------------------------------------------


def test_klose_correction_removes_eddy_phase_and_water_offset():
    ec = np.exp(1j * 0.3 * np.exp(-T / 0.05))
    offset, phi = 2.3, 0.7
    rot = np.exp(1j * (phi + 2 * np.pi * offset * T))
    ref = lorentzian(PPM_CENTRE_1H, 6.0, 1000.0) * ec * rot
    clean = metabolites()
    corrected = eddy.correct(clean * ec * rot, eddy.klose_factor(ref))
    assert np.allclose(corrected, clean, atol=1e-12)
    # the magnitude peak is pulled a little by the eddy-current phase
    assert eddy.water_frequency_hz(ref, DWELL, CF) == pytest.approx(offset, abs=0.3)
    assert eddy.water_frequency_hz(ref / ec, DWELL, CF) == pytest.approx(offset, abs=0.02)


# --- alignment ----------------------------------------------------------------------------


def test_registration_recovers_frequency_and_phase():
    rng = np.random.default_rng(1)
    n = 300
    true_f = rng.uniform(-6, 6, n)
    true_p = rng.uniform(-1.0, 1.0, n)
    template = metabolites()
    fids = align.apply_corrections(
        np.repeat(template[:, None], n, axis=1), -true_f, -true_p, DWELL
    ) + cnoise(rng, (N, n), 0.02)
    reg = align.register(fids, template, DWELL, CF)
    assert np.sqrt(np.mean((reg.freq_hz - true_f) ** 2)) < 0.05
    assert np.sqrt(np.mean(np.angle(np.exp(1j * (reg.phase_rad - true_p))) ** 2)) < 0.02
    assert np.allclose(reg.amplitude, 1.0, atol=0.02)


def test_baseline_projection_ignores_a_fluctuating_water_tail():
    """Residual water whose amplitude changes between transients biases plain registration;
    projecting a smooth baseline out of the window removes the bias."""
    rng = np.random.default_rng(2)
    n = 200
    true_f = rng.uniform(-3, 3, n)
    template = metabolites()
    water = lorentzian(4.68, 12.0, 60.0)
    amp = rng.uniform(0.5, 1.5, n) * np.exp(1j * rng.uniform(-0.5, 0.5, n))
    fids = align.apply_corrections(
        template[:, None] + water[:, None] * amp[None, :], -true_f, np.zeros(n), DWELL
    ) + cnoise(rng, (N, n), 0.02)
    errors = {}
    for order in (-1, 2):
        reg = align.register(fids, template + water, DWELL, CF, baseline_order=order)
        errors[order] = np.sqrt(np.mean((reg.freq_hz - true_f) ** 2))
    assert errors[2] < 0.25  # measured 0.17
    assert errors[-1] > 3 * errors[2]  # measured 0.70 (20 Hz with the plain correlation)


def gaussian_line(ppm: float, fwhm_hz: float, amp: float) -> np.ndarray:
    f = (ppm - PPM_CENTRE_1H) * CF
    return amp * np.exp(2j * np.pi * f * T - (np.pi * fwhm_hz * T) ** 2 / (4 * np.log(2)))


def window_edge_series(rng, n: int, noise_sd: float):
    """The singlets of `metabolites` plus a broad macromolecule-like hump (Gaussian, 40 Hz)
    at the lower edge of the registration window (1.85 ppm), shifted by known frequencies;
    returns (template, fids (N, n), true corrections (n,) Hz)."""
    template = metabolites() + gaussian_line(1.85, 40.0, 5.0)
    true_f = rng.normal(0.0, 1.5, n)
    fids = align.apply_corrections(
        np.repeat(template[:, None], n, axis=1), -true_f, np.zeros(n), DWELL
    )
    return template, fids + cnoise(rng, (N, n), noise_sd), true_f


def test_registration_with_signal_outside_the_window_is_unbiased():
    """A shift carries broad signal across the window's edges; the plain correlation with the
    windowed template then peaks away from the true frequency (here by 0.2 Hz; by 1 Hz on
    the simulator's blocks). Moving the whole template against a window fixed on the data
    (`with_energy`, the default) does not."""
    template, fids, true_f = window_edge_series(np.random.default_rng(3), 50, 0.0)
    errors = {}
    for energy in (True, False):
        reg = align.register(fids, template, DWELL, CF, with_energy=energy)
        errors[energy] = np.abs(reg.freq_hz - true_f)
    assert errors[True].max() < 0.01
    assert np.median(errors[False]) > 0.1  # the former estimator's bias


def test_registration_precision_reaches_the_cramer_rao_bound():
    """At a single-transient SNR where the estimate is linear in the noise, the scatter of
    the frequency equals its Cramer-Rao bound (`frequency_crlb_hz`); the plain correlation's
    is larger."""
    noise_sd = 0.6
    template, fids, true_f = window_edge_series(np.random.default_rng(4), 400, noise_sd)
    bound = align.frequency_crlb_hz(template, noise_sd, DWELL, CF)
    sd = {}
    for energy in (True, False):
        reg = align.register(fids, template, DWELL, CF, with_energy=energy)
        sd[energy] = np.std(reg.freq_hz - true_f)
    assert sd[True] == pytest.approx(bound, rel=0.12)
    assert sd[False] > 1.08 * sd[True]


def test_window_energy_grid_matches_the_direct_energy():
    """The strided-FFT grid of the window energy equals the energy of each shifted FID
    computed directly (FFT, window, baseline projected out), and the template's table
    (`TemplateEnergy`) gives its derivatives."""
    rng = np.random.default_rng(6)
    template, fids, _ = window_edge_series(rng, 4, 0.3)
    inside = align.window_mask(N, DWELL, CF, (1.8, 4.2))
    q = align.baseline_basis(int(inside.sum()), 2)
    grid, energy = align.window_energy_grid(fids, DWELL, inside, q, N, -3.0, 3.0, 0.25)
    assert grid[1] - grid[0] <= 0.25
    for k in (0, len(grid) // 3, len(grid) - 1):
        shifted = fids * np.exp(2j * np.pi * grid[k] * T)[:, None]
        seg = to_spectrum(shifted)[inside]
        seg = seg - q @ (q.conj().T @ seg)
        assert np.allclose(energy[k], np.sum(np.abs(seg) ** 2, axis=0) / N, rtol=1e-10)

    def direct(f):  # the template moved by a correction f
        seg = to_spectrum(template * np.exp(-2j * np.pi * f * T))[inside]
        return np.sum(np.abs(seg - q @ (q.conj().T @ seg)) ** 2) / N

    table = align.TemplateEnergy(template, DWELL, inside, q, N, 5.0)
    h = 0.05
    for f in (-1.3, 0.2, 2.7):
        e0, e1, e2 = table.at(np.array([f]))
        assert e0[0] == pytest.approx(direct(f), rel=1e-6)
        assert e1[0] == pytest.approx((direct(f + h) - direct(f - h)) / (2 * h), rel=1e-2)
        d2 = (direct(f + h) - 2 * direct(f) + direct(f - h)) / h**2
        assert e2[0] == pytest.approx(d2, rel=0.05, abs=1e-3 * abs(e1[0]))


def drifting_transients(rng, n: int, noise_sd: float, template: np.ndarray):
    """n transients of `template` whose frequency drifts slowly (2 Hz sine over the session)
    with 0.2 Hz jitter; returns (fids (N, n), true corrections (n,) Hz)."""
    k = np.arange(n)
    true_f = 2.0 * np.sin(2 * np.pi * k / n) + rng.normal(0, 0.2, n)
    clean = align.apply_corrections(
        np.repeat(template[:, None], n, axis=1), -true_f, np.zeros(n), DWELL
    )
    return clean + cnoise(rng, (N, n), noise_sd), true_f


def test_neighbour_prior_keeps_low_snr_transients_off_noise_peaks():
    """At a single-transient SNR near 1 each transient's own maximum of |G| often lies on a
    noise peak Hz away; the neighbours' prior and the smoothing over the series keep the error
    near the jitter."""
    rng = np.random.default_rng(12)
    fids, true_f = drifting_transients(rng, 400, 1.4, metabolites())
    rms = {}
    for name, kw in {"own": {}, "neighbours": {"neighbours": 15}}.items():
        reg = align.register(fids, metabolites(), DWELL, CF, **kw)
        rms[name] = np.sqrt(np.mean((reg.freq_hz - true_f) ** 2))
    assert rms["own"] > 0.7  # noise peaks (measured 0.88)
    assert rms["neighbours"] < 0.3  # measured 0.24 (0.32 with the former pooling)


def test_neighbour_prior_keeps_a_motion_jump_for_rejection():
    """Five transients whose frequency jumps by 8 Hz, at a single-transient SNR where the
    jump's peak is only some tens of log-likelihood units high, keep their own estimates
    (the prior's uniform part caps its penalty; a Gaussian prior alone moved them by up to
    3.5 Hz), so that rejection sees the jump."""
    rng = np.random.default_rng(5)
    fids, true_f = drifting_transients(rng, 300, 1.0, metabolites())
    jumped = np.arange(150, 155)
    true_f[jumped] += 8.0
    fids[:, jumped] = align.apply_corrections(
        np.repeat(metabolites()[:, None], jumped.size, axis=1),
        -true_f[jumped],
        np.zeros(jumped.size),
        DWELL,
    ) + cnoise(rng, (N, jumped.size), 1.0)
    reg = align.register(fids, metabolites(), DWELL, CF, neighbours=15)
    assert np.abs(reg.freq_hz[jumped] - true_f[jumped]).max() < 1.0  # the correction too
    assert np.abs(reg.freq_own_hz[jumped] - true_f[jumped]).max() < 1.0  # measured 0.80
    rej = reject.reject(
        reg.freq_own_hz, np.rad2deg(reg.phase_rad), reg.amplitude, reg.residual, DEFAULTS
    )
    assert rej.excluded[jumped].all()
    assert rej.excluded.sum() <= jumped.size + 0.03 * fids.shape[1]


def gaussian_loglik(centres: np.ndarray, sd_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(grid (K,), ll (K, n)): Gaussian log-likelihoods of SD sd_hz around `centres` (Hz)."""
    grid = np.arange(-20.0, 20.0001, 0.1)
    return grid, -0.5 * ((grid[:, None] - centres[None, :]) / sd_hz) ** 2


def drift_and_jitter(rng, n: int = 300, jitter_hz: float = 0.3):
    """A slow drift (2 Hz sine over the series) plus jitter, Hz, shape (n,)."""
    return 2.0 * np.sin(2 * np.pi * np.arange(n) / n) + rng.normal(0, jitter_hz, n)


def test_smoothing_leaves_precise_estimates_alone():
    """Likelihoods far narrower than the jitter (and than the grid step) keep each
    transient's own estimate."""
    rng = np.random.default_rng(6)
    truth = drift_and_jitter(rng)
    own = truth + rng.normal(0, 0.02, truth.size)
    out = drift.smooth_frequencies(*gaussian_loglik(own, 0.02), own, np.full(own.size, 4e-4))
    assert np.abs(out - own).max() < 0.01


def test_smoothing_leans_on_the_neighbours_as_the_data_warrant():
    """With likelihoods of SD 1 Hz (a single-transient SNR near 2) the posterior means are
    far closer to the truth than the transients' own estimates."""
    rng = np.random.default_rng(7)
    truth = drift_and_jitter(rng)
    own = truth + rng.normal(0, 1.0, truth.size)
    out = drift.smooth_frequencies(*gaussian_loglik(own, 1.0), own, np.ones(own.size))
    rms = np.sqrt(np.mean((out - truth) ** 2))
    assert np.sqrt(np.mean((own - truth) ** 2)) > 0.9
    assert rms < 0.45  # measured 0.35; the jitter alone is 0.3


def test_smoothing_keeps_a_precise_outlier():
    """A transient whose own likelihood is sharp and 8 Hz away (motion) keeps its estimate
    instead of being drawn to the drift; its neighbours are not pulled towards it."""
    rng = np.random.default_rng(8)
    truth = drift_and_jitter(rng)
    own = truth + rng.normal(0, 0.5, truth.size)
    grid, ll = gaussian_loglik(own, 0.5)
    ll[:, 150] = -0.5 * ((grid - (truth[150] + 8.0)) / 0.1) ** 2
    own[150] = truth[150] + 8.0
    var = np.full(own.size, 0.25)
    var[150] = 0.01
    out = drift.smooth_frequencies(grid, ll, own, var)
    assert abs(out[150] - truth[150] - 8.0) < 0.05
    assert np.abs(out[[148, 149, 151, 152]] - truth[[148, 149, 151, 152]]).max() < 1.0


# --- rejection ----------------------------------------------------------------------------


def test_rejection_rule_flags_outliers_with_reasons():
    rng = np.random.default_rng(3)
    n = 400
    freq = 0.002 * np.arange(n) + rng.normal(0, 0.3, n)
    phase = rng.normal(0, 3, n)
    amp = rng.normal(1, 0.03, n)
    res = rng.normal(1, 0.05, n)
    freq[50] += 5.0
    phase[100] += 60.0
    amp[150] = 0.5
    res[200] = 2.0
    out = reject.reject(freq, phase, amp, res, resolve_settings())
    planted = [50, 100, 150, 200]
    assert out.excluded[planted].all()
    assert np.delete(out.excluded, planted).mean() < 0.01  # Gaussian scatter: |z| > 4 is rare
    assert "frequency_jump" in out.reasons[50] and "phase_jump" in out.reasons[100]
    assert out.reasons[150] == "amplitude" and out.reasons[200] == "residual"
    off = reject.reject(freq, phase, amp, res, resolve_settings({"reject": False}))
    assert not off.excluded.any()


def test_slow_change_between_phases_is_not_corruption_at_high_snr():
    """At high SNR (small MAD) a baseline phase whose amplitude and residual differ slightly
    from the infusion's (BOLD narrowing: -3 % amplitude, +25 % residual) must not be
    rejected as a whole; motion bursts (one at the very start) are still caught."""
    rng = np.random.default_rng(5)
    n, n_base = 760, 160
    freq, phase = rng.normal(0, 0.05, n), rng.normal(0, 0.5, n)
    amp = 1.0 + rng.normal(0, 0.001, n)
    res = 0.0015 + rng.normal(0, 0.0001, n)
    amp[:n_base] -= 0.03
    res[:n_base] += 0.0004
    bursts = np.r_[0:30, 400:440]
    amp[bursts] = 0.5
    res[bursts] = 0.1
    out = reject.reject(freq, phase, amp, res, resolve_settings())
    assert out.excluded[bursts].all()
    assert np.delete(out.excluded, bursts).mean() < 0.01
    whole = resolve_settings({"reject_trend_window": n})
    session_wide = reject.reject(freq, phase, amp, res, whole)
    assert session_wide.excluded[30:n_base].all()  # the old rule: the whole baseline phase


def test_two_bursts_close_together_do_not_pull_the_trend():
    """Bursts of 25 and 30 transients 27 apart fill more than half of a 101-transient window
    around the clean transients between them; the trend leaves flagged transients out, so
    those clean transients are kept (a burst with jumps, a burst with amplitude/residual only)."""
    rng = np.random.default_rng(6)
    n = 760
    freq, phase = rng.normal(0, 0.2, n), rng.normal(0, 2.0, n)
    amp, res = 1.0 + rng.normal(0, 0.02, n), 0.01 + rng.normal(0, 0.001, n)
    first, second = np.arange(236, 261), np.arange(288, 318)
    freq[first] += rng.choice([-1, 1], first.size) * rng.uniform(4, 10, first.size)
    amp[first], res[first] = 0.3, 0.1
    amp[second], res[second] = 0.4, 0.08
    out = reject.reject(freq, phase, amp, res, resolve_settings())
    bursts = np.r_[first, second]
    assert out.excluded[bursts].all()
    assert not out.excluded[261:288].any()
    assert np.delete(out.excluded, bursts).mean() < 0.01


def test_trend_inside_keeps_the_window_inside_the_series():
    x = np.r_[np.full(4, 5.0), np.zeros(30)]
    # the first window is x[0:11] (four 5s, median 0); padding with x[0] would make it 5
    assert np.all(reject.trend_inside(x, 11) == 0.0)
    assert np.all(reject.running_median(x, 11)[:2] == 5.0)
    assert np.array_equal(reject.trend_inside(x[:5], 11), np.full(5, 5.0))


def test_absolute_jump_limits_catch_sessions_full_of_jumps():
    """When every transient jumps, the MAD is inflated and z-scores see nothing; the
    absolute limits still exclude most of them."""
    rng = np.random.default_rng(4)
    n = 200
    freq = rng.choice([-1, 1], n) * rng.uniform(4, 10, n)
    phase = rng.choice([-1, 1], n) * rng.uniform(40, 120, n)
    args = (freq, phase, np.ones(n), np.ones(n))
    out = reject.reject(*args, resolve_settings())
    assert out.excluded.mean() > 0.8
    no_limits = resolve_settings({"reject_max_freq_jump_hz": 1e3, "reject_max_phase_jump_deg": 1e3})
    assert reject.reject(*args, no_limits).excluded.mean() < 0.2


# --- residual water -----------------------------------------------------------------------


def test_hlsvd_removes_water_and_keeps_metabolites():
    rng = np.random.default_rng(5)
    metab = metabolites()
    water = lorentzian(4.66, 9.0, 40.0) + lorentzian(4.61, 14.0, 15.0 * np.exp(1j))
    fid = metab + water + cnoise(rng, N, 0.01)
    poles = hlsvd.water_poles(fid, DWELL, CF, (4.2, 5.2), 30, 512)
    cleaned, removed = hlsvd.remove(fid, poles)
    ppm = PPM_CENTRE_1H + frequency_axis(N, DWELL) / CF
    band = (ppm > 4.4) & (ppm < 4.9)
    before = np.sum(np.abs(to_spectrum(fid - metab)[band]) ** 2)
    after = np.sum(np.abs(to_spectrum(cleaned - metab)[band]) ** 2)
    assert after < before / 100
    naa_before = qc.peak_measures(metab, DWELL, CF, (1.9, 2.1))[0]
    naa_after = qc.peak_measures(cleaned, DWELL, CF, (1.9, 2.1))[0]
    assert naa_after == pytest.approx(naa_before, rel=0.01)
    assert np.allclose(cleaned + removed, fid)


def test_hlsvd_per_transient_amplitudes():
    """Poles from the mean; each transient's own water amplitude is removed."""
    rng = np.random.default_rng(6)
    n = 50
    scale = rng.uniform(0.5, 1.5, n) * np.exp(1j * rng.uniform(-1, 1, n))
    water = lorentzian(4.66, 9.0, 40.0)
    fids = metabolites()[:, None] + water[:, None] * scale[None, :] + cnoise(rng, (N, n), 0.01)
    poles = hlsvd.water_poles(fids.mean(axis=1), DWELL, CF, (4.2, 5.2), 30, 512)
    cleaned, _ = hlsvd.remove(fids, poles)
    resid = cleaned - metabolites()[:, None]
    assert np.max(np.abs(resid[:50])) < 0.2  # water amplitude 40 at t = 0


# --- coils --------------------------------------------------------------------------------


def _coil_efficiency(w, sens, psi):
    """SNR of the combination w relative to the optimum (1 = optimal)."""
    num = abs(np.vdot(w, sens)) ** 2
    den = np.real(w.conj() @ psi @ w) * np.real(sens.conj() @ np.linalg.solve(psi, sens))
    return float(np.sqrt(num / den))


@pytest.mark.parametrize("use_reference", [False, True])
def test_coil_combination_is_snr_optimal(use_reference):
    rng = np.random.default_rng(7)
    nc, n = 4, 64
    sens = rng.uniform(0.2, 1.0, nc) * np.exp(1j * rng.uniform(0, 2 * np.pi, nc))
    scale = np.array([0.6, 1.0, 1.4, 0.8])
    psi = (0.7 * np.eye(nc) + 0.3) * np.outer(scale, scale)
    chol = np.linalg.cholesky(psi)
    signal = metabolites() + lorentzian(4.68, 8.0, 20.0)
    noise = cnoise(rng, (N, n, nc), 0.05 / np.sqrt(2)) @ chol.T
    x = signal[:, None, None] * sens[None, :, None] + noise.transpose(0, 2, 1)
    est = coils.noise_covariance(x, 0.5)
    assert np.allclose(est, 0.05**2 * psi, rtol=0.1, atol=0.05**2 * 0.05)
    if use_reference:
        ref = (lorentzian(PPM_CENTRE_1H, 6.0, 500.0)[:, None] * sens[None, :])[:, :, None]
        mean = (ref + cnoise(rng, ref.shape, 0.05)).mean(axis=2)
    else:
        mean = x.mean(axis=2)
    w = coils.combination_weights(coils.sensitivity_profile(mean, est), est)
    assert _coil_efficiency(w, sens, psi) > 0.99
    assert _coil_efficiency(np.ones(nc), sens, psi) < 0.9  # the check can fail
    y = coils.combine(x, w, 1)
    strongest = int(np.argmax(np.abs(sens)))
    gain = np.vdot(signal[:64], y[:64].mean(axis=1)) / np.vdot(signal[:64], signal[:64])
    assert gain == pytest.approx(sens[strongest], rel=0.02)


# --- linewidth ----------------------------------------------------------------------------


@pytest.mark.parametrize("lineshape", ["lorentzian", "gaussian"])
def test_broadening_reaches_target_fwhm(lineshape):
    fid = metabolites(half=True)
    target = 7.3
    w = linewidth.broadening_for(fid, DWELL, CF, (1.9, 2.1), target, lineshape)
    env = broadening_envelope(N, DWELL, w, lineshape)
    # the NAA FWHM as QC defines it (fitted line, the other lines' tails as background)
    fwhm = qc.naa_measures(fid * env, DWELL, CF, (1.9, 2.1)).fwhm_hz
    assert fwhm == pytest.approx(target, abs=1e-3)
    if lineshape == "lorentzian":  # Lorentzian widths add on a single Lorentzian line
        single = lorentzian(2.008, 5.0, half=True)
        w1 = linewidth.broadening_for(single, DWELL, CF, (1.9, 2.1), target, lineshape)
        assert w1 == pytest.approx(target - 5.0, abs=0.02)
    assert linewidth.broadening_for(fid, DWELL, CF, (1.9, 2.1), 4.0, lineshape) == 0.0


def test_match_blocks_equalises_and_skips_unusable():
    fids = np.stack([lorentzian(2.008, w, half=True) for w in (5.0, 5.4, 6.0, 9.0)], axis=1)
    fwhm = np.array([5.0, 5.4, 6.0, 9.0])
    usable = np.array([True, True, True, False])
    out, widths = linewidth.match_blocks(fids, fwhm, usable, DWELL, CF, (1.9, 2.1), "lorentzian")
    measured = [qc.peak_measures(out[:, j], DWELL, CF, (1.9, 2.1))[1] for j in range(4)]
    assert np.ptp(measured[:3]) < 0.01 and measured[3] == pytest.approx(9.0, abs=0.02)
    assert widths == pytest.approx([1.0, 0.6, 0.0, 0.0], abs=0.02)


def test_blas_is_single_threaded_inside_and_restored_after():
    from fmrstrial.blas import _loaded_openblas, single_threaded_blas

    libs = _loaded_openblas()
    before = [get() for get, _ in libs]
    with single_threaded_blas():
        assert all(get() == 1 for get, _ in libs)
    assert [get() for get, _ in libs] == before
