"""Unit tests of the fitting engine: derivatives, linear solve, CRLB algebra, starting values,
noise estimate, settings and basis checks."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from fmrstrial.errors import InputError
from fmrstrial.fit import DEFAULTS, DESCRIPTIONS, fit_spectrum, prepare_basis, resolve_settings
from fmrstrial.fit.crlb import linear_estimate, ratio_estimate
from fmrstrial.fit.model import SpectralModel, stack
from fmrstrial.fit.noise import region_noise_sd, tail_noise_sd
from fmrstrial.fit.synthetic import demo_model, make_blocks
from fmrstrial.io.basis import read_basis
from fmrstrial.paths import resource
from fmrstrial.simulate.mrs import voigt
from fmrstrial.spectra import ppm_axis, time_axis, to_spectrum

GE = "basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS"


@pytest.fixture(scope="module")
def sim():
    return demo_model()


@pytest.fixture(scope="module")
def raw_basis():
    return read_basis(resource(GE))


@pytest.fixture(scope="module")
def fit_basis(sim, raw_basis):
    return prepare_basis(raw_basis, sim.n_points, sim.dwell_s, sim.cf_mhz, resolve_settings(MIRROR))


#: The settings that mirror the synthetic spectra of `fmrstrial.fit.synthetic` (LCModel's MM
#: Gaussians with the simulator's amplitudes, no lipids): inverse-crime unit tests only.
MIRROR = {"lipids": [], "ratio_priors": {}, "crch2_correction": False}


def test_settings_have_descriptions_and_validate():
    assert set(DESCRIPTIONS) == set(DEFAULTS)
    for key, text in DESCRIPTIONS.items():  # one sentence each (for the config schema)
        assert isinstance(text, str) and len(re.findall(r"[.!?](\s|$)", text)) == 1, key
    with pytest.raises(InputError, match="fit setting 'ppm_rnage' is unknown"):
        resolve_settings({"ppm_rnage": [0.2, 4.0]}, source="cfg.yaml")
    with pytest.raises(InputError, match="cfg.yaml.*ppm_range"):
        resolve_settings({"ppm_range": [4.2, 0.2]}, source="cfg.yaml")
    with pytest.raises(InputError, match="baseline"):
        resolve_settings({"baseline": "wavelet"})
    with pytest.raises(InputError, match="zero_fill"):
        resolve_settings({"zero_fill": 0})


def test_creatine_ch2_correction_is_a_negative_singlet_fitted_with_the_metabolites(sim, raw_basis):
    fb = prepare_basis(raw_basis, sim.n_points, sim.dwell_s, sim.cf_mhz, resolve_settings())
    k = fb.index("-CrCH2")
    # in the creatine lineshape group (setting singlet_groups), a metabolite-kind component
    assert fb.kinds[k] == "metabolite" and fb.group_of[k] == fb.group_of[fb.index("Cr")]
    spectrum = to_spectrum(
        fb.fids[:, k] * np.exp(-np.pi * 4.0 * time_axis(fb.n_points, fb.dwell_s))
    )
    ppm = ppm_axis(fb.n_points, fb.dwell_s, fb.cf_mhz)
    peak = int(np.argmax(np.abs(spectrum)))
    assert ppm[peak] == pytest.approx(3.93, abs=0.01) and spectrum[peak].real < 0
    # two protons (mm_unit is one proton at unit concentration)
    assert abs(fb.fids[0, k]) == pytest.approx(2 * fb.mm_unit)
    off = resolve_settings({"crch2_correction": False})
    assert "-CrCH2" not in prepare_basis(raw_basis, 1024, 1 / 1200, 127.73, off).names


def test_components_are_in_the_order_of_their_names_with_a_measured_mm(sim, raw_basis):
    """Basis metabolites, -CrCH2, measured MM, parameterised MM/lipids: each column is the
    component its name says (a measured MM once took the -CrCH2 column's place)."""
    settings = resolve_settings({"metabolites": ["NAA", "Cr", "PCr"], "measured_mm": ["Ins"]})
    fb = prepare_basis(raw_basis, sim.n_points, sim.dwell_s, sim.cf_mhz, settings)
    assert fb.names[:5] == ["NAA", "Cr", "PCr", "-CrCH2", "Ins"]
    assert fb.kinds[:5] == ["metabolite"] * 4 + ["macromolecule"]
    grid = raw_basis.subset(["Ins"]).rereferenced(4.65).resampled(sim.dwell_s, sim.n_points)
    np.testing.assert_allclose(fb.fids[:, fb.index("Ins")], grid.fid("Ins"), atol=1e-12)
    assert abs(fb.fids[0, fb.index("-CrCH2")]) == pytest.approx(2 * fb.mm_unit)


def _model(fit_basis, lineshape=True):
    settings = resolve_settings(
        {"groups": {"creatine": ["Cr", "PCr"]}, "lineshape_knot_spacing_ms": 40.0}
        if lineshape
        else {}
    )
    fb = prepare_basis(
        read_basis(resource(GE)),
        fit_basis.n_points,
        fit_basis.dwell_s,
        fit_basis.cf_mhz,
        settings,
    )
    return SpectralModel(fb, settings["ppm_range"], 1, True, 0.04 if lineshape else 0.0, 0.3)


def test_analytic_derivatives_match_finite_differences(fit_basis):
    model = _model(fit_basis)
    lay = model.layout
    rng = np.random.default_rng(3)
    theta = np.zeros(lay.size)
    theta[0], theta[1] = 0.3, -0.05
    for g in range(lay.n_groups):
        theta[lay.shift(g)] = rng.uniform(-2, 2)
        theta[lay.lorentz(g)] = rng.uniform(2, 4)
        theta[lay.gauss(g)] = rng.uniform(3, 5)
    theta[lay.first_lineshape :] = rng.normal(0, 0.05, 2 * lay.n_lineshape)
    c = rng.uniform(0.5, 2.0, len(model.fb.names))

    def signal(th):
        cols, phase = model.columns(th)
        return phase * (cols @ c)

    cols, phase = model.columns(theta)
    analytic = model.derivatives(theta, c, cols, phase)
    for j in range(lay.size):
        step = 1e-6 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        numeric = (signal(up) - signal(down)) / (2 * step)
        scale = max(np.abs(numeric).max(), 1e-3 * np.abs(signal(theta)).max())
        assert np.abs(analytic[:, j] - numeric).max() <= 1e-5 * scale, lay.names(model.fb.groups)[j]


def test_noise_free_fit_recovers_amplitudes_and_parameters(sim, fit_basis):
    names = sim.basis.names
    conc = np.linspace(0.5, 9.0, len(names))
    mm = np.array([3.0, 2.0, 3.0, 1.5, 4.0])
    shift, lor, gauss, phase = 1.3, 3.0, 4.0, np.deg2rad(20.0)
    clean = sim.basis.fids @ conc + sim.mm @ mm
    fid = clean * voigt(sim.t, np.array([lor]), gauss)[:, 0]
    fid = fid * np.exp(1j * (phase + 2 * np.pi * shift * sim.t))
    fid = fid + 1e-9 * np.random.default_rng(0).standard_normal(fid.size)
    r = fit_spectrum(fid, sim.dwell_s, sim.cf_mhz, fit_basis, MIRROR)
    assert r.converged
    np.testing.assert_allclose(r.amplitudes[: len(names)], conc, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(r.amplitudes[len(names) :], mm, rtol=5e-3)
    assert r.params["shift_hz_metabolites"] == pytest.approx(shift, abs=1e-3)
    assert r.params["lorentz_hz_metabolites"] == pytest.approx(lor, abs=1e-3)
    assert r.params["gauss_hz_metabolites"] == pytest.approx(gauss, abs=1e-3)
    assert r.params["phase0_deg"] == pytest.approx(20.0 + 0.0, abs=0.05)
    assert abs(r.params["phase1_deg_per_ppm"]) < 0.01
    assert np.all(r.amplitudes >= 0)


def test_fit_does_not_depend_on_starting_phase_and_shift(sim, fit_basis):
    """Spectra far from preprocessed fit like the aligned one: a phase error alone gives the
    same solution; with a 9 Hz offset as well the fit range follows the offset, but the
    data's grid points sit elsewhere in it, so the amplitudes may move, by much less than
    their CRLBs."""
    block = make_blocks(1, 5, sim)[0]
    aligned = fit_spectrum(block.fid, sim.dwell_s, sim.cf_mhz, fit_basis, MIRROR)
    for deg in (-170.0, 90.0, 150.0):
        rotated = block.fid * np.exp(1j * np.deg2rad(deg))
        r = fit_spectrum(rotated, sim.dwell_s, sim.cf_mhz, fit_basis, MIRROR)
        np.testing.assert_allclose(r.amplitudes, aligned.amplitudes, rtol=1e-4, atol=1e-4)
        turn = (r.params["phase0_deg"] - aligned.params["phase0_deg"] - deg + 180) % 360 - 180
        assert abs(turn) < 1e-3
    moved = block.fid * np.exp(1j * (np.deg2rad(150.0) + 2 * np.pi * 9.0 * sim.t))
    # the same baseline penalty (as for the blocks of a session): the automatic choice is
    # discrete and may pick a neighbouring penalty for the moved spectrum
    r = fit_spectrum(
        moved, sim.dwell_s, sim.cf_mhz, fit_basis, MIRROR,
        baseline_penalty=aligned.baseline_penalty,
    )  # fmt: skip
    assert r.params["shift_hz_metabolites"] - aligned.params["shift_hz_metabolites"] == (
        pytest.approx(9.0, abs=0.1)
    )
    mets = [i for i, k in enumerate(r.kinds) if k == "metabolite"]
    diff = np.abs(r.amplitudes - aligned.amplitudes)[mets]
    # Cr and PCr (anticorrelated, 0.03 ppm apart) may trade within a CRLB; their sum may not
    assert np.all(diff < 1.0 * aligned.amplitude_sd[mets])
    for name in ("tCr", "tNAA", "Glx"):
        assert abs(r.sums[name].value - aligned.sums[name].value) < 0.5 * aligned.sums[name].sd
    glx, glx0 = r.ratios["Glx/tNAA"], aligned.ratios["Glx/tNAA"]
    assert abs(glx.value - glx0.value) < 0.2 * glx0.sd


def test_sum_and_ratio_uncertainty_use_the_covariance():
    c = np.array([4.0, 1.0, 8.0, 2.0])
    cov = np.array(
        [
            [0.04, -0.03, 0.0, 0.0],
            [-0.03, 0.05, 0.0, 0.0],
            [0.0, 0.0, 0.02, -0.01],
            [0.0, 0.0, -0.01, 0.03],
        ]
    )
    w = np.array([1.0, 1.0, 0.0, 0.0])
    est = linear_estimate(c, cov, w)
    assert est.value == 5.0
    assert est.sd == pytest.approx(np.sqrt(0.04 + 0.05 - 0.06))
    num, den = w, np.array([0.0, 0.0, 1.0, 1.0])
    ratio = ratio_estimate(c, cov, num, den)
    assert ratio.value == pytest.approx(0.5)
    # delta method against a Monte Carlo of the same Gaussian
    draws = np.random.default_rng(1).multivariate_normal(c, cov, 200_000)
    mc = draws[:, :2].sum(1) / draws[:, 2:].sum(1)
    assert ratio.sd == pytest.approx(mc.std(), rel=0.03)
    # ignoring the (negative) covariances would overstate the SD
    independent = ratio_estimate(c, np.diag(np.diag(cov)), num, den)
    assert independent.sd > 1.3 * ratio.sd


def test_noise_estimates_on_pure_noise(sim):
    rng = np.random.default_rng(2)
    sigma_t = 0.7
    fid = sigma_t * (rng.standard_normal(4096) + 1j * rng.standard_normal(4096))
    sd, n = region_noise_sd(fid, 1 / 2000.0, 127.73, [[-3.0, -0.5], [8.5, 12.0]])
    assert n > 500
    assert sd == pytest.approx(sigma_t * np.sqrt(4096), rel=0.06)
    assert tail_noise_sd(fid) == pytest.approx(sigma_t * np.sqrt(4096), rel=0.06)
    none, n0 = region_noise_sd(fid, 1 / 2000.0, 127.73, [[30.0, 40.0]])
    assert np.isnan(none) and n0 == 0


def test_noise_estimate_ignores_a_smooth_water_tail():
    """A broad Lorentzian at 4.75 ppm (16 Hz, peak 25 000 x the noise SD; its dispersion tail
    falls as 1/x through both noise regions) leaves the noise SD within 5 %; a quadratic over
    each whole region took part of it for noise (1.36 x here, 2.6 x on a real spectrum)."""
    rng = np.random.default_rng(3)
    n, dwell, cf = 4096, 1 / 2000.0, 127.73
    t = np.arange(n) * dwell
    sigma_t = 0.7
    noise = sigma_t * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    water = (
        50000
        * sigma_t
        * np.sqrt(n)
        * 8
        * np.pi
        * dwell
        * np.exp(2j * np.pi * 0.05 * cf * t - np.pi * 16 * t)
    )
    sd, _ = region_noise_sd(noise + water, dwell, cf, [[-3.0, -0.5], [8.5, 12.0]])
    assert sd == pytest.approx(sigma_t * np.sqrt(n), rel=0.05)


def test_noise_windows_are_never_wider_than_half_a_ppm(tmp_path):
    """Real Siemens SVS (tests/data/vendor/siemens_rda/SVS_30.rda, 1200 Hz): only 8.5-9.2 ppm
    of the noise regions lies in its window. One quadratic over those 0.72 ppm took the
    structure of the residual water there for noise (SD 1394, 1.9 x); cut into windows of at
    most 0.5 ppm the estimate agrees within 10 % with second differences of the same values,
    which cancel any locally linear trend (var(s[k+1] - 2 s[k] + s[k-1]) = 6 var(s[k]))."""
    from fmrstrial.cli import main
    from fmrstrial.io.nifti_mrs import read_nifti_mrs

    src = Path(__file__).parent / "data" / "vendor" / "siemens_rda" / "SVS_30.rda"
    assert main(["convert", str(src), "--out", str(tmp_path / "svs.nii.gz")]) == 0
    data = read_nifti_mrs(tmp_path / "svs.nii.gz")
    fid = data.fids.reshape(data.n_points, -1).mean(axis=1)
    sd, _ = region_noise_sd(fid, data.dwell_s, data.cf_mhz, [[-3.0, -0.5], [8.5, 12.0]])
    ppm = ppm_axis(fid.size, data.dwell_s, data.cf_mhz)
    spec = to_spectrum(fid)[(ppm >= 8.5) & (ppm < ppm[-1] - 0.03 * (ppm[-1] - ppm[0]))]
    d2 = spec[2:] - 2 * spec[1:-1] + spec[:-2]
    second_differences = np.sqrt(np.mean(np.concatenate([d2.real, d2.imag]) ** 2) / 6)
    assert sd == pytest.approx(second_differences, rel=0.10)


def test_crlb_grows_with_noise_and_matches_residual(sim, fit_basis):
    block = make_blocks(1, 8, sim)[0]
    noisy = block.fid + 2 * block.sigma * (
        np.random.default_rng(4).standard_normal(sim.n_points)
        + 1j * np.random.default_rng(5).standard_normal(sim.n_points)
    )
    a = fit_spectrum(block.fid, sim.dwell_s, sim.cf_mhz, fit_basis, MIRROR)
    b = fit_spectrum(noisy, sim.dwell_s, sim.cf_mhz, fit_basis, MIRROR)
    assert b.sums["Glx"].pct > 1.8 * a.sums["Glx"].pct
    # residual-based noise for the CRLB agrees with the independent region estimate
    assert a.crlb_noise_sd == pytest.approx(a.noise_sd, rel=0.15)
    assert a.residual_ratio == pytest.approx(1.0, abs=0.15)


def test_basis_mismatch_errors_name_files_and_problem(sim, raw_basis):
    settings = resolve_settings()
    with pytest.raises(InputError, match=r"data\.nii\.gz.*GE_35ms.*field mismatch"):
        prepare_basis(raw_basis, 1024, 1 / 1200, 123.2, settings, data_file="data.nii.gz")
    with pytest.raises(InputError, match=r"data\.nii\.gz.*echo-time mismatch.*80"):
        prepare_basis(
            raw_basis, 1024, 1 / 1200, 127.73, settings, te_ms=80.0, data_file="data.nii.gz"
        )
    prepare_basis(raw_basis, 1024, 1 / 1200, 127.73, settings, te_ms=38.0)  # within 5 ms
    bad = resolve_settings({"metabolites": ["NAA", "Glu", "Gly"]})
    with pytest.raises(InputError, match=r"GE_35ms_noMM\.BASIS.*Gly.*not in the basis"):
        prepare_basis(raw_basis, 1024, 1 / 1200, 127.73, bad)


def test_fit_options_run(sim, raw_basis):
    """Polynomial baseline, no MM, zero-filling, fixed spline penalty: fits converge and give
    sensible Glx/tNAA (truth known)."""
    block = make_blocks(1, 9, sim)[0]
    truth = block.ratio(("Glu", "Gln"), ("NAA", "NAAG"))
    for over in (
        {"baseline": "polynomial", "baseline_poly_order": 3},
        {"zero_fill": 2},
        {"baseline_penalty": 10.0},
        {"baseline": "none"},
    ):
        r = fit_spectrum(block.fid, sim.dwell_s, sim.cf_mhz, raw_basis, over)
        assert r.converged, over
        assert r.ratios["Glx/tNAA"].value == pytest.approx(truth, rel=0.08), over
    r = fit_spectrum(block.fid, sim.dwell_s, sim.cf_mhz, raw_basis, {"macromolecules": []})
    assert "MM09" not in r.names and r.converged


def test_stack_layout():
    z = np.array([1 + 2j, 3 - 1j])
    np.testing.assert_array_equal(stack(z), [1.0, 3.0, 2.0, -1.0])


def test_bold_linewidth_narrowing_does_not_bias_glx(sim, fit_basis):
    """DESIGN: BOLD narrowing during ketamine (up to 0.35 Hz Lorentzian) biases glutamate by
    about 1 % if linewidths are not handled. Fitting each block's widths removes it."""
    names = sim.basis.names
    conc = np.array([3.0 if n not in ("NAA", "Glu", "Gln", "Cr") else 8.0 for n in names])
    mm = np.array([3.0, 2.0, 3.0, 1.5, 4.0])
    clean = sim.basis.fids @ conc + sim.mm @ mm
    ratios = []
    for lor in (3.0, 2.65):
        fid = clean * voigt(sim.t, np.array([lor]), 4.0)[:, 0]
        r = fit_spectrum(fid + 1e-9, sim.dwell_s, sim.cf_mhz, fit_basis, MIRROR)
        assert r.params["lorentz_hz_metabolites"] == pytest.approx(lor, abs=0.01)
        ratios.append(r.ratios["Glx/tNAA"].value)
    assert ratios[1] == pytest.approx(ratios[0], rel=1e-3)


def test_measured_mm_spectrum_from_the_basis(sim, raw_basis):
    """A macromolecule spectrum stored in the basis set (here the simulator's MM pattern as
    one entry) can replace the parameterised components; it joins the MM lineshape group."""
    from dataclasses import replace

    from fmrstrial.fit.basis_setup import proton_unit
    from fmrstrial.macromolecules import component_fids

    amps = np.array([3.0, 2.0, 3.0, 1.5, 4.0])
    mm = component_fids(
        ["MM09", "MM12", "MM14", "MM17", "MM20"],
        raw_basis.n_points,
        raw_basis.dwell_s,
        raw_basis.cf_mhz,
        raw_basis.centre_ppm,
        proton_unit(raw_basis),
    )
    basis = replace(
        raw_basis,
        names=raw_basis.names + ["MMexp"],
        fids=np.concatenate([raw_basis.fids, (mm @ amps)[:, None]], axis=1),
    )
    settings = {"measured_mm": ["MMexp"], "macromolecules": [], **MIRROR}
    block = make_blocks(1, 12, sim)[0]
    r = fit_spectrum(block.fid, sim.dwell_s, sim.cf_mhz, basis, settings)
    assert r.names[-1] == "MMexp" and r.kinds[-1] == "macromolecule"
    assert r.amplitude("MMexp") == pytest.approx(1.0, rel=0.1)
    truth = block.ratio(("Glu", "Gln"), ("NAA", "NAAG"))
    assert abs(r.ratios["Glx/tNAA"].value - truth) < 3 * r.ratios["Glx/tNAA"].sd
    assert "shift_hz_macromolecules" in r.params


def test_singlet_groups_leave_out_components_not_fitted(sim, raw_basis):
    """NAA+NAAG, Cr+PCr(+-CrCH2) and GPC+PCh get a lineshape group each; a member not being
    fitted (here NAAG and -CrCH2) is left out rather than an error, a component named in
    `groups` goes to that group, and `singlet_groups: false` keeps the two default groups."""

    def groups_of(overrides):
        fb = prepare_basis(
            raw_basis, sim.n_points, sim.dwell_s, sim.cf_mhz, resolve_settings(overrides)
        )
        return {
            g: [n for n, k in zip(fb.names, fb.group_of, strict=True) if fb.groups[k] == g]
            for g in fb.groups
        }

    mets = [m for m in DEFAULTS["metabolites"] if m != "NAAG"]
    groups = groups_of({"metabolites": mets, "crch2_correction": False, "groups": {"x": ["PCh"]}})
    assert groups["NAA"] == ["NAA"] and groups["Cr"] == ["Cr", "PCr"]
    assert groups["Cho"] == ["GPC"] and groups["x"] == ["PCh"]
    assert "Glu" in groups["metabolites"] and "MM09" in groups["macromolecules"]
    assert list(groups_of({"singlet_groups": False})) == ["metabolites", "macromolecules"]


def test_crlb_of_a_broadened_spectrum_accounts_for_the_shaped_noise(sim, fit_basis):
    """Linewidth matching multiplies the FID by exp(-pi w t): the spectral noise falls (here
    to about 0.43 of its SD at w = 1 Hz over 0.85 s) far more than the signal. Told the
    envelope, the fit's CRLB of Glx matches the scatter of Glx over noise draws; without it
    the CRLB is about half the scatter."""
    block = make_blocks(1, 8, sim)[0]
    h = np.exp(-np.pi * 1.0 * time_axis(sim.n_points, sim.dwell_s))
    rng = np.random.default_rng(11)
    glx, crlb = [], []
    for _ in range(30):
        noise = rng.standard_normal(sim.n_points) + 1j * rng.standard_normal(sim.n_points)
        fid = (block.fid + 3 * block.sigma * noise) * h
        r = fit_spectrum(fid, sim.dwell_s, sim.cf_mhz, fit_basis, MIRROR, noise_envelope=h)
        glx.append(r.sums["Glx"].value)
        crlb.append(r.sums["Glx"].sd)
    scatter = float(np.std(glx, ddof=1))
    naive = fit_spectrum(fid, sim.dwell_s, sim.cf_mhz, fit_basis, MIRROR).sums["Glx"]
    assert naive.value == pytest.approx(glx[-1])  # the envelope changes the CRLB only
    assert np.median(crlb) == pytest.approx(scatter, rel=0.3)
    assert naive.sd < 0.7 * np.median(crlb)
    # no envelope, or an envelope of ones: the CRLB of white noise, unchanged
    ones = fit_spectrum(fid, sim.dwell_s, sim.cf_mhz, fit_basis, MIRROR, noise_envelope=h * 0 + 1)
    assert ones.sums["Glx"].sd == naive.sd
