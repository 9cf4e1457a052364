"""Dynamic (joint) fit: Jacobian, recovery on noise-free sessions, equivalence with the
single-spectrum fit for one block, outputs, and configuration errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fmrstrial.cli import main
from fmrstrial.errors import InputError
from fmrstrial.fit import fit_spectrum, prepare_basis, resolve_settings
from fmrstrial.fit.dynamic import JointProblem, fit_dynamic
from fmrstrial.fit.dynamic_design import block_contrasts, temporal_model
from fmrstrial.fit.dynamic_response import response_table
from fmrstrial.fit.dynamic_synthetic import make_session
from fmrstrial.fit.model import SpectralModel
from fmrstrial.fit.results import lipid_tnaa
from fmrstrial.fit.session import fit_data_dynamic
from fmrstrial.fit.solver import _solve_spd, build_priors
from fmrstrial.fit.synthetic import demo_model
from fmrstrial.io.basis import read_basis
from fmrstrial.io.nifti_mrs import MRSData, write_nifti_mrs
from fmrstrial.paths import resource
from fmrstrial.steps.fit import FitOutputs, fit_file

GE = str(resource("basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS"))
PHASES = ["baseline"] + ["infusion"] * 3


@pytest.fixture(scope="module")
def sim():
    return demo_model()


@pytest.fixture(scope="module")
def fb(sim):
    return prepare_basis(read_basis(GE), sim.n_points, sim.dwell_s, sim.cf_mhz, resolve_settings())


def _noise_free(sim, glu_change=0.08):
    """A session without noise, drift or water: only the Glu change and BOLD narrowing."""
    ses = make_session(3, sim, n_blocks=4, n_average=10**12, glu_change=glu_change, drift_hz=0.0)
    return ses


def test_normal_equations_and_jacobian_equal_the_dense_projected_design(sim, fb):
    """The Gram matrix, right-hand side, residual and Kaufman Jacobian built block by block
    equal those of the dense projected design P A (baseline shared by the blocks, ratio
    priors' link rows, per-block lineshape and phase)."""
    n = 4
    ses = make_session(7, sim, n_blocks=n, realistic=True)
    settings = resolve_settings({"mode": "dynamic"})
    tm = temporal_model(settings, n, ["baseline"] + ["infusion"] * (n - 1))
    model = SpectralModel(fb, settings["ppm_range"], 1, True)
    mean = fit_spectrum(ses.fids.mean(axis=1), sim.dwell_s, sim.cf_mhz, fb, settings)
    ys = np.array([model.data_spectrum(ses.fids[:, j]) for j in range(n)])
    priors = build_priors(model, settings, float(mean.theta[model.layout.shift(0)]))
    sigmas = np.array([1.0e3, 1.2e3, 0.9e3, 1.1e3])
    prob = JointProblem(model, ys, sigmas, tm, settings, 5.0, mean.amplitudes, priors)
    assert prob.nb2 > 0 and prob.link.shape[0] > 0  # both low-rank parts are exercised
    rng = np.random.default_rng(3)
    theta = np.concatenate([mean.theta, rng.normal(0.0, 0.05, prob.layout.size - mean.theta.size)])
    _, blocks, (bs, gram), gamma, residual = prob.evaluate(theta)
    a = prob.project(prob._augment(prob.design_rows(blocks), with_link=True))
    np.testing.assert_allclose(gram, a.T @ a, rtol=1e-9, atol=1e-9 * np.abs(a.T @ a).max())
    _, rhs = prob.normal_equations(bs)
    np.testing.assert_allclose(rhs, a.T @ prob.y_proj, rtol=1e-9, atol=1e-9 * np.abs(rhs).max())
    np.testing.assert_allclose(
        residual, prob.y_proj - a @ gamma, atol=1e-9 * np.abs(residual).max()
    )
    d = prob.project(prob._augment(prob.model_jacobian(theta, blocks, gamma), False))
    free = (gamma > 0) | ~np.isfinite(prob.lin_lb)
    a_act = a[:, free]
    dense = d - a_act @ _solve_spd(a_act.T @ a_act, a_act.T @ d)
    jac = -prob.jac(theta)[: prob.n_aug]
    # the free coefficients' Gram matrix is ill-conditioned (per-block MM and lipids next to
    # a flexible baseline; scaled condition number about 1e13), so the correction agrees to
    # about 1e-4 of each column whichever way the Gram matrix is built; a wrong term is O(1)
    scale = np.abs(dense).max(axis=0)
    assert np.all(np.abs(jac - dense).max(axis=0) <= 1e-3 * scale)


def test_joint_jacobian_matches_finite_differences(sim, fb):
    ses = make_session(5, sim, n_blocks=3)
    settings = resolve_settings(
        {"mode": "dynamic", "dynamic_model": "glm", "dynamic_block_phase": True}
    )
    tm = temporal_model(settings, 3, ["baseline", "infusion", "infusion"])
    model = SpectralModel(fb, settings["ppm_range"], 1, True)
    mean = fit_spectrum(ses.fids.mean(axis=1), sim.dwell_s, sim.cf_mhz, fb, settings)
    ys = np.array([model.data_spectrum(ses.fids[:, j]) for j in range(3)])
    priors = build_priors(model, settings, float(mean.theta[model.layout.shift(0)]))
    prob = JointProblem(model, ys, np.full(3, 1e3), tm, settings, 1.0, mean.amplitudes, priors)
    theta = np.concatenate([mean.theta, [0.4, -0.3, 0.2, 0.5, 0.03, -0.02]])
    _, blocks, _, gamma, _ = prob.evaluate(theta)
    analytic = prob.model_jacobian(theta, blocks, gamma)

    def model_minus_data(th):  # whitened model - phase-rotated data, (n_data,)
        prob.evaluate(th)
        return prob.design_rows(prob.block_columns(th)) @ gamma - prob.y_aug[: prob.n_data]

    numeric = np.empty_like(analytic)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = 1e-6 * max(1.0, abs(theta[i]))
        hi, lo = model_minus_data(theta + step), model_minus_data(theta - step)
        numeric[:, i] = (hi - lo) / (2 * step[i])
    scale = np.abs(numeric).max(axis=0)
    assert np.all(np.abs(analytic - numeric).max(axis=0) <= 1e-5 * scale)
    # the per-block parameters only touch their own block's rows
    n2 = 2 * model.n_fit
    for kind in range(3):  # shift, Lorentzian width, phase of the block's data
        col = prob.layout.extra(kind, 1)
        assert np.all(analytic[:n2, col] == 0) and np.all(analytic[2 * n2 :, col] == 0)
        assert np.abs(analytic[n2 : 2 * n2, col]).max() > 0


def test_block_phase_takes_up_a_rotation_of_whole_blocks(sim, fb):
    """Preprocessing phases transients against a template whose Glx differs from theirs, so
    blocks come out rotated as a whole by a phase that follows their Glx; a shared phase reads
    the rotation as Glx (1.1 degrees: +4.8 % here), a per-block phase of the data does not."""
    ses = _noise_free(sim)
    rotation = np.array([0.0, 0.01, -0.01, 0.02])  # rad
    fids = ses.fids * np.exp(1j * rotation)[None, :]
    errors = {}
    for per_block in (False, True):
        settings = resolve_settings(
            {"mode": "dynamic", "ratio_priors": {}, "dynamic_block_phase": per_block}
        )
        dyn = fit_dynamic(
            fids, sim.dwell_s, sim.cf_mhz, fb, settings, temporal_model(settings, 4, PHASES)
        )
        truth = [ses.ratio(j, ("Glu", "Gln"), ("NAA", "NAAG")) for j in range(4)]
        errors[per_block] = [r.ratios["Glx/tNAA"].value / truth[j] - 1 for j, r in dyn.fits]
        phase = np.deg2rad([r.params["phase0_deg"] for _, r in dyn.fits])
    assert max(abs(e) for e in errors[False]) > 0.03
    assert max(abs(e) for e in errors[True]) < 0.005
    assert phase - phase[0] == pytest.approx(rotation, abs=2e-3)


@pytest.mark.parametrize("kind", ["free", "glm"])
def test_noise_free_session_is_recovered(sim, fb, kind):
    ses = _noise_free(sim)
    settings = resolve_settings({"mode": "dynamic", "dynamic_model": kind, "ratio_priors": {}})
    tm = temporal_model(settings, 4, PHASES)
    dyn = fit_dynamic(ses.fids, sim.dwell_s, sim.cf_mhz, fb, settings, tm)
    assert dyn.converged
    for j, r in dyn.fits:
        truth = ses.ratio(j, ("Glu", "Gln"), ("NAA", "NAAG"))
        assert r.ratios["Glx/tNAA"].value == pytest.approx(truth, rel=2e-3)
        glu = r.amplitudes[r.names.index("Glu")]
        assert glu == pytest.approx(ses.conc[j]["Glu"], rel=3e-3)
    # BOLD narrowing of 0.3 Hz in the infusion blocks is found as ell_j
    width = [r.params[f"lorentz_hz_{fb.groups[0]}"] for _, r in dyn.fits]
    assert np.allclose(np.subtract(width[1:], width[0]), -0.3, atol=0.02)
    # and no rotation of any block
    phase = [r.params["phase0_deg"] for _, r in dyn.fits]
    assert np.allclose(phase, phase[0], atol=0.1)  # degrees
    table = response_table(dyn, settings, PHASES)
    row = table[(table.quantity == "Glu") & (table.term == "infusion-baseline")].iloc[0]
    assert row.relative_pct == pytest.approx(8.0, abs=0.2)
    if kind == "glm":
        coef = table[(table.quantity == "Glu") & (table.term == "coef:infusion")].iloc[0]
        assert coef.relative_pct == pytest.approx(8.0, abs=0.2)
        assert coef.estimate == pytest.approx(row.estimate, rel=1e-6)


def test_free_mode_with_one_block_equals_single_fit(sim, fb):
    ses = make_session(11, sim, n_blocks=1)
    settings = resolve_settings({"mode": "dynamic"})
    single = fit_spectrum(ses.fids[:, 0], sim.dwell_s, sim.cf_mhz, fb, settings)
    tm = temporal_model(settings, 1, None)
    dyn = fit_dynamic(ses.fids, sim.dwell_s, sim.cf_mhz, fb, settings, tm, mean_fit=single)
    joint = dyn.fits[0][1]
    for name in ("Glx/tNAA", "Glu/tNAA", "Glx/tCr"):
        assert joint.ratios[name].value == pytest.approx(single.ratios[name].value, rel=2e-3)
        assert joint.ratios[name].sd == pytest.approx(single.ratios[name].sd, rel=0.05)
    assert joint.residual_sd == pytest.approx(single.residual_sd, rel=1e-3)


def test_joint_fit_of_a_noisy_session_is_more_precise_than_blocks(sim, fb):
    """The baseline block's Glx/tNAA CRLB shrinks when lineshape and baseline are shared."""
    ses = make_session(21, sim, n_blocks=4)
    settings = resolve_settings({"mode": "dynamic"})
    mean = fit_spectrum(ses.fids.mean(axis=1), sim.dwell_s, sim.cf_mhz, fb, settings)
    block0 = fit_spectrum(
        ses.fids[:, 0],
        sim.dwell_s,
        sim.cf_mhz,
        fb,
        settings,
        baseline_penalty=mean.baseline_penalty,
    )
    dyn = fit_dynamic(
        ses.fids, sim.dwell_s, sim.cf_mhz, fb, settings, temporal_model(settings, 4), mean_fit=mean
    )
    assert dyn.fits[0][1].ratios["Glx/tNAA"].sd < 0.95 * block0.ratios["Glx/tNAA"].sd
    assert 0.8 < dyn.chi2_per_dof < 1.2


def test_bad_dynamic_settings_are_clear_input_errors():
    with pytest.raises(InputError, match="'mode'.*expected one of"):
        resolve_settings({"mode": "joint"})
    with pytest.raises(InputError, match="'dynamic_model'"):
        resolve_settings({"dynamic_model": "spline"})
    with pytest.raises(InputError, match="dynamic_design.x.*list of numbers"):
        resolve_settings({"dynamic_design": {"x": "abc"}})
    with pytest.raises(InputError, match="different lengths"):
        resolve_settings({"dynamic_design": {"a": [1, 1], "b": [0, 1, 1]}})
    s = resolve_settings(
        {"dynamic_model": "glm", "dynamic_design": {"a": [1, 1, 1], "b": [0, 1, 1]}}
    )
    with pytest.raises(InputError, match="3 values but the data have 6 blocks") as err:
        temporal_model(s, 6, None, source="ses.nii.gz")
    assert "ses.nii.gz" in str(err.value)
    s = resolve_settings({"dynamic_model": "glm", "dynamic_design": {"a": [1, 1], "b": [2, 2]}})
    with pytest.raises(InputError, match="rank deficient"):
        temporal_model(s, 2, None)
    s = resolve_settings({"dynamic_model": "glm"})
    with pytest.raises(InputError, match="needs the block table"):
        temporal_model(s, 6, None)


def test_temporal_models_and_contrasts():
    s = resolve_settings({"dynamic_model": "glm"})
    tm = temporal_model(s, 4, PHASES)
    assert tm.names == ["intercept", "infusion"]
    assert tm.matrix[:, 1].tolist() == [0, 1, 1, 1]
    assert tm.nonneg.tolist() == [True, False]
    cells = resolve_settings({"dynamic_model": "glm", "dynamic_design": {"b": [1, 0], "i": [0, 1]}})
    assert temporal_model(cells, 2).nonneg.tolist() == [True, True]
    free = temporal_model(resolve_settings(), 3)
    assert free.kind == "free" and np.array_equal(free.matrix, np.eye(3))
    c = block_contrasts(PHASES, 4)
    w, ref = c["infusion-baseline"]
    assert np.allclose(w, [-1, 1 / 3, 1 / 3, 1 / 3]) and np.allclose(ref, [1, 0, 0, 0])
    assert set(block_contrasts(None, 3)) == {"block1-block0", "block2-block0"}


def _write(path: Path, sim, fids) -> Path:
    write_nifti_mrs(
        path,
        MRSData(fids=fids, dwell_s=sim.dwell_s, cf_mhz=sim.cf_mhz, dim_tags=("DIM_DYN",),
                header={"EchoTime": 0.035}),
    )  # fmt: skip
    return path


def test_fit_file_dynamic_writes_the_block_tables_and_the_response(sim, tmp_path):
    ses = make_session(7, sim, n_blocks=3)
    src = _write(tmp_path / "blocks.nii.gz", sim, ses.fids)
    table = tmp_path / "blocks.tsv"
    table.write_text("block\tphase\n1\tbaseline\n2\tinfusion\n3\tinfusion\n")
    settings = {"mode": "dynamic", "dynamic_model": "glm"}
    out = tmp_path / "out"
    fits = fit_file(src, GE, FitOutputs.in_folder(out, dynamic=True), settings, table)
    assert [j for j, _ in fits] == [0, 1, 2]
    for name in ("fit.tsv", "ratios.tsv", "fit_qc.tsv", "fit.png", "response.tsv", "dynamic.png"):
        assert (out / name).exists(), name
    ratios = pd.read_csv(out / "ratios.tsv", sep="\t")
    glx = ratios[ratios.ratio == "Glx/tNAA"]["value"].to_numpy()
    assert glx[1] == pytest.approx(glx[2], rel=1e-9)  # GLM: one level for the infusion blocks
    resp = pd.read_csv(out / "response.tsv", sep="\t")
    row = resp[(resp.quantity == "Glx/tNAA") & (resp.term == "infusion-baseline")].iloc[0]
    assert row.estimate == pytest.approx(glx[1] - glx[0], abs=1e-5)  # 6 significant digits
    assert row.se > 0
    assert {"coef:intercept", "coef:infusion"} <= set(resp.term)
    # deterministic, and the CLI flag gives the same tables
    digest = {
        n: hashlib.sha256((out / n).read_bytes()).hexdigest()
        for n in ("response.tsv", "ratios.tsv", "dynamic.png")
    }
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("fit:\n  settings:\n    dynamic_model: glm\n")
    out2 = tmp_path / "out2"
    assert (
        main(
            ["fit", str(src), "--basis", GE, "--out", str(out2), "--config", str(cfg), "--dynamic"]
        )
        == 0
    )
    for n, h in digest.items():
        assert hashlib.sha256((out2 / n).read_bytes()).hexdigest() == h, n


def test_blocks_mode_writes_no_dynamic_outputs(sim, tmp_path):
    ses = make_session(8, sim, n_blocks=2)
    src = _write(tmp_path / "b.nii.gz", sim, ses.fids)
    settings = {"mode": "blocks", "max_iterations": 30}
    fit_file(src, GE, FitOutputs.in_folder(tmp_path / "o", dynamic=True), settings)
    assert not (tmp_path / "o" / "response.tsv").exists()
    assert not (tmp_path / "o" / "dynamic.png").exists()


def test_one_block_is_fitted_on_its_own_in_the_default_dynamic_mode(sim, tmp_path, capsys):
    """A joint fit of one spectrum has nothing to share: the default (dynamic) mode fits a
    one-block file exactly as block mode does, and writes no response table."""
    ses = make_session(8, sim, n_blocks=2)
    src = _write(tmp_path / "one.nii.gz", sim, ses.fids[:, :1])
    tables = {}
    for mode in ("--dynamic", "--blocks"):
        out = tmp_path / mode.strip("-")
        args = ["fit", str(src), "--basis", GE, "--out", str(out), "--no-figure", mode]
        assert main(args) == 0
        note = "one block, fitted on its own" in capsys.readouterr().out
        assert note == (mode == "--dynamic")
        assert not (out / "response.tsv").exists()
        tables[mode] = (out / "ratios.tsv").read_bytes()
    assert tables["--dynamic"] == tables["--blocks"]
    assert resolve_settings()["mode"] == "dynamic"
    with pytest.raises(SystemExit):
        main(["fit", str(src), "--basis", GE, "--out", str(tmp_path), "--dynamic", "--blocks"])


def test_fit_file_with_a_design_of_the_wrong_length_names_the_file(sim, tmp_path):
    ses = make_session(9, sim, n_blocks=3)
    src = _write(tmp_path / "s.nii.gz", sim, ses.fids)
    settings = {"mode": "dynamic", "dynamic_model": "glm", "dynamic_design": {"a": [1, 1]}}
    with pytest.raises(InputError, match=r"s\.nii\.gz.*2 values but the data have 3 blocks"):
        fit_file(src, GE, FitOutputs.in_folder(tmp_path / "o", dynamic=True), settings)
    assert not (tmp_path / "o").exists()


def test_block_table_of_another_length_is_an_input_error(sim, tmp_path):
    ses = make_session(9, sim, n_blocks=2)
    src = _write(tmp_path / "s.nii.gz", sim, ses.fids)
    table = tmp_path / "t.tsv"
    table.write_text("block\tphase\n1\tbaseline\n2\tinfusion\n3\tinfusion\n")
    with pytest.raises(InputError, match="lists 3 blocks but the data have 2"):
        fit_file(
            src,
            GE,
            FitOutputs.in_folder(tmp_path / "o", dynamic=True),
            {"mode": "dynamic"},
            block_table=table,
        )


@pytest.mark.parametrize("baseline", ["shared", "block"])
def test_copies_of_one_spectrum_give_the_single_fit(sim, baseline):
    """J identical blocks: the joint objective is J times the single one (data, baseline
    penalty and ratio priors per block), so the joint fit reproduces the single fit. The
    priors on the shared nonlinear parameters enter the joint objective once, as they
    should, so the equivalence holds when they are weak: the singlet groups, tied to the
    metabolites by tight priors, are left out here."""
    ses = make_session(13, sim, n_blocks=1, realistic=True)
    fids = np.repeat(ses.fids, 3, axis=1)
    settings = resolve_settings(
        {"mode": "dynamic", "dynamic_baseline": baseline, "singlet_groups": False}
    )
    fb = prepare_basis(read_basis(GE), sim.n_points, sim.dwell_s, sim.cf_mhz, settings)
    single = fit_spectrum(fids[:, 0], sim.dwell_s, sim.cf_mhz, fb, settings)
    dyn = fit_dynamic(
        fids, sim.dwell_s, sim.cf_mhz, fb, settings, temporal_model(settings, 3), mean_fit=single
    )
    for _, joint in dyn.fits:
        assert joint.ratios["Glx/tNAA"].value == pytest.approx(
            single.ratios["Glx/tNAA"].value, rel=1e-3
        )
        assert np.allclose(joint.baseline, single.baseline, atol=0.02 * np.abs(single.fit).max())


def test_empty_block_is_reported_not_fitted(sim, tmp_path):
    ses = make_session(17, sim, n_blocks=4)
    fids = ses.fids.copy()
    fids[:, 2] = 0.0  # no transient kept in block 2
    src = _write(tmp_path / "blocks.nii.gz", sim, fids)
    table = tmp_path / "blocks.tsv"
    table.write_text("block\tphase\n1\tbaseline\n2\tinfusion\n3\tinfusion\n4\tinfusion\n")
    out = tmp_path / "out"
    settings = {"mode": "dynamic", "dynamic_model": "glm"}
    fits = fit_file(src, GE, FitOutputs.in_folder(out, dynamic=True), settings, table)
    assert [j for j, _ in fits] == [0, 1, 2, 3]
    assert not fits[2][1].converged and np.isnan(fits[2][1].ratios["Glx/tNAA"].value)
    ratios = pd.read_csv(out / "ratios.tsv", sep="\t", na_values="n/a")
    glx = ratios[ratios.ratio == "Glx/tNAA"].set_index("block")["value"]
    assert np.isnan(glx[2]) and np.isfinite(glx[[0, 1, 3]]).all()
    resp = pd.read_csv(out / "response.tsv", sep="\t")
    assert {"block1-baseline", "block3-baseline"} <= set(resp.term)
    assert "block2-baseline" not in set(resp.term)


def test_crlbs_of_broadened_blocks_account_for_the_shaped_noise(sim, fb):
    """Linewidth matching broadens some blocks (their FIDs multiplied by exp(-pi w t)); told
    the envelopes, the joint fit widens those blocks' CRLBs as the block fit does
    (`crlb.shaped_noise_factors`), leaves the amplitudes unchanged and barely touches the
    block that was not broadened."""
    ses = make_session(21, sim, n_blocks=4)
    h = np.exp(-np.pi * 1.0 * np.arange(sim.n_points) * sim.dwell_s)
    envelopes = [None, h, h, None]
    fids = ses.fids * np.stack([np.ones(sim.n_points), h, h, np.ones(sim.n_points)], axis=1)
    settings = resolve_settings({"mode": "dynamic"})
    mean = fit_spectrum(fids.mean(axis=1), sim.dwell_s, sim.cf_mhz, fb, settings)
    tm = temporal_model(settings, 4)
    plain = fit_dynamic(fids, sim.dwell_s, sim.cf_mhz, fb, settings, tm, mean_fit=mean)
    told = fit_dynamic(
        fids, sim.dwell_s, sim.cf_mhz, fb, settings, tm, mean_fit=mean, noise_envelopes=envelopes
    )
    single = fit_spectrum(fids[:, 1], sim.dwell_s, sim.cf_mhz, fb, settings)
    single_told = fit_spectrum(fids[:, 1], sim.dwell_s, sim.cf_mhz, fb, settings, noise_envelope=h)
    block_factor = single_told.sums["Glx"].sd / single.sums["Glx"].sd
    for j in (1, 2):
        a, b = plain.fits[j][1], told.fits[j][1]
        assert b.sums["Glx"].value == a.sums["Glx"].value
        assert b.sums["Glx"].sd / a.sums["Glx"].sd == pytest.approx(block_factor, rel=0.25)
        assert b.sums["Glx"].sd > 1.3 * a.sums["Glx"].sd
    for j in (0, 3):
        assert told.fits[j][1].sums["Glx"].sd == pytest.approx(
            plain.fits[j][1].sums["Glx"].sd, rel=0.1
        )
    assert np.all(np.diag(told.cov_gamma) >= np.diag(plain.cov_gamma) * (1 - 1e-9))


def _lipid_fid(sim, height: float) -> np.ndarray:
    """Scalp-lipid-like signal (n_points,): broad lines at 1.30, 0.90 and 1.45 ppm."""
    out = np.zeros(sim.t.size, dtype=complex)
    for ppm, width_hz, weight in ((1.30, 22.0, 1.0), (0.90, 18.0, 0.35), (1.45, 30.0, 0.3)):
        freq = (ppm - 4.65) * sim.cf_mhz
        out += weight * np.exp((-np.pi * width_hz + 2j * np.pi * freq) * sim.t)
    return height * out


def test_a_lipid_contaminated_block_is_left_out_of_the_joint_fit(sim, tmp_path):
    """A block whose lipid index rises above the session's median by more than
    dynamic_lipid_outlier is reported with its first-pass values and the reason; the other
    blocks are fitted jointly as if it were empty; null keeps it in."""
    ses = make_session(3, sim, realistic=True)
    fids = ses.fids.copy()
    fids[:, 3] += _lipid_fid(sim, 0.6 * np.abs(fids[:50, 0]).mean())
    settings = {"baseline_flexibility": 10.0}
    data = MRSData(fids, sim.dwell_s, sim.cf_mhz, "1H", ("DIM_DYN",), {"EchoTime": 0.035})
    dyn = fit_data_dynamic(data, read_basis(GE), settings, phases=ses.phases, compare=False)
    assert [j for j, _ in dyn.fits] == [0, 1, 2, 4, 5]
    ((j, left),) = dyn.empty
    assert j == 3 and left.message.startswith("left out of the joint fit: lipid index")
    assert lipid_tnaa(left) > 0.5 + max(lipid_tnaa(r) for _, r in dyn.fits)
    emptied = fids.copy()
    emptied[:, 3] = 0
    data0 = MRSData(emptied, sim.dwell_s, sim.cf_mhz, "1H", ("DIM_DYN",), {"EchoTime": 0.035})
    ref = fit_data_dynamic(data0, read_basis(GE), settings, phases=ses.phases, compare=False)
    glx = [r.ratios["Glx/tNAA"].value for _, r in dyn.fits]
    assert glx == [r.ratios["Glx/tNAA"].value for _, r in ref.fits]
    kept = fit_data_dynamic(
        data, read_basis(GE), {**settings, "dynamic_lipid_outlier": None}, phases=ses.phases,
        compare=False,
    )  # fmt: skip
    assert [j for j, _ in kept.fits] == list(range(6)) and not kept.empty
    # the whole file step: tables for all six blocks, the comparison figure for five
    src = _write(tmp_path / "lip.nii.gz", sim, fids)
    out = FitOutputs.in_folder(tmp_path / "o", dynamic=True)
    fits = fit_file(src, GE, out, settings)
    assert [j for j, _ in fits] == list(range(6))
    assert (tmp_path / "o" / "dynamic.png").stat().st_size > 0
    ratios = pd.read_csv(tmp_path / "o" / "ratios.tsv", sep="\t")
    assert sorted(ratios.block.unique()) == list(range(6))
