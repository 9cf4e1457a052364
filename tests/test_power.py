"""Power analysis: fast LMM = the findings' LMM, simulation vs analytic, errors, outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from fmrstrial.cli import main
from fmrstrial.errors import InputError
from fmrstrial.io.tsv import write_json
from fmrstrial.lmm import fit_lmm
from fmrstrial.power import resolve
from fmrstrial.power.analytic import analytic_power
from fmrstrial.power.design import Scenario, build_template, table
from fmrstrial.power.fastlmm import f_tests, fit_replicates, grouped_stats
from fmrstrial.power.params import PowerParams, from_config, from_model
from fmrstrial.power.run import compute
from fmrstrial.power.simulate import analyse, clopper_pearson, draw, simulate_power
from fmrstrial.stats.models import factors_for, fit_model
from fmrstrial.stats.settings import DEFAULTS as STATS
from fmrstrial.steps.power import output_paths, run_power

MADRS = {"effect": 3.92, "participant_sd": 4.0, "residual_sd": 4.3}
GLX = {"effect": -0.021, "participant_sd": 0.05, "residual_sd": 0.03, "block_noise_sd": 0.024}


def _params(test: str, **changes) -> PowerParams:
    par = from_config(test, {**(MADRS if test == "madrs" else GLX)})
    for key, value in changes.items():
        setattr(par, key, value)
    if "effect" in changes:
        par.fixed[par.coefficient] = changes["effect"]
    return par


def _template(test: str, n: int, **scenario):
    par = _params(test)
    return build_template(Scenario(test, **scenario), n, par.formula, par.term)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """results/stats-style JSONs written by the statistics step on planned tables."""
    out = tmp_path_factory.mktemp("stats")
    rng = np.random.default_rng(11)
    for test, model, resp in (
        ("glx", "glx_condition_infusion", "glx_tnaa"),
        ("madrs", "madrs_condition_by_time", "score"),
    ):
        par = _params(test)
        tpl = build_template(Scenario(test), 20, par.formula, par.term)
        Y, _ = draw(par, tpl, 1, rng)
        df = table(Scenario(test), 20)
        df[resp] = Y[0].reshape(-1) + (1.0 if test == "glx" else 30.0)
        doc, _ = fit_model(model, STATS["models"][model], df, kr=False)
        write_json(doc, out / f"{model}.json")
    return out


# -- the fast REML / Satterthwaite path is the findings' LMM ----------------------------------
def test_fast_fit_equals_fit_lmm_with_missing_rows():
    par = _params("glx")
    sc = Scenario("glx", 1, 3, 6.0)
    tpl = build_template(sc, 10, par.formula, par.term)
    rng = np.random.default_rng(3)
    Y, mask = draw(par, tpl, 4, rng, dropout=0.2, block_exclusion=0.15)
    st = grouped_stats(tpl.X, Y, mask)
    fits = fit_replicates(st)
    res = f_tests(fits, tpl.L)
    frame = table(sc, 10)
    L2 = np.zeros((2, len(tpl.x_names)))  # a two-row hypothesis: Fai-Cornelius path
    L2[0, tpl.x_names.index("conditionnaltrexone")] = 1.0
    L2[1, tpl.x_names.index("conditionnaltrexone:phaseinfusion")] = 1.0
    res2 = f_tests(fits, L2)
    for r in range(4):
        df = frame.assign(glx_tnaa=Y[r].reshape(-1))[mask[r].reshape(-1)]
        ref = fit_lmm(df, par.formula, factors=factors_for(par.formula, df))
        row = ref.anova.set_index("term").loc["condition:phase"]
        assert res["F"][r] == pytest.approx(row["F"], rel=1e-5)
        assert res["den_df"][r] == pytest.approx(row["den_df"], rel=1e-5)
        assert res["p"][r] == pytest.approx(row["p"], rel=1e-4)
        assert fits.sigma[r] == pytest.approx(np.sqrt(ref.sigma2), rel=1e-6)
        np.testing.assert_allclose(fits.beta[r], ref.beta.to_numpy(), rtol=1e-6, atol=1e-9)
        ref2 = ref.ftest(L2)
        assert res2["F"][r] == pytest.approx(ref2["F"], rel=1e-5)
        assert res2["den_df"][r] == pytest.approx(ref2["den_df"], rel=1e-5)


def test_template_matches_the_findings_model():
    tpl = _template("madrs", 6)
    assert tpl.x_names == [
        "(Intercept)",
        "conditionnaltrexone",
        "timepointday1",
        "period2",
        "conditionnaltrexone:timepointday1",
    ]
    np.testing.assert_allclose(tpl.L, [[0, 0, 0, 0, 1]], atol=1e-12)
    assert tpl.X.shape == (6, 4, 5)
    # sequences alternate: participant 0 PN (placebo first), participant 1 NP
    assert list(tpl.X[0, :, 1]) == [0, 0, 1, 1] and list(tpl.X[1, :, 1]) == [1, 1, 0, 0]


# -- simulation: type I error, agreement with the analytic approximation, monotonicity ------
def test_power_at_effect_zero_is_alpha():
    par = _params("madrs", effect=0.0)
    # N = 4: den_df about 9, so a test ignoring the small df would reject about 8 % of trials
    sim = simulate_power(par, _template("madrs", 4), 400, seed=5, alpha=0.05)
    lo, hi = clopper_pearson(sim.rejections, sim.n_sim, 0.95)
    assert lo <= 0.05 <= hi, (sim.rejections, lo, hi)
    assert sim.n_failed == 0


@pytest.mark.parametrize(
    ("test", "n", "dropout", "exclusion"),
    [("madrs", 12, 0.2, 0.0), ("glx", 8, 0.1, 0.1)],
)
def test_simulation_agrees_with_analytic(test, n, dropout, exclusion):
    par = _params(test)
    tpl = _template(test, n, **({"infusion_blocks": 3} if test == "glx" else {}))
    sim = simulate_power(par, tpl, 400, 9, 0.05, dropout, exclusion)
    ana = analytic_power(par, tpl, 0.05, dropout, exclusion)
    se = np.sqrt(ana["power"] * (1 - ana["power"]) / sim.n_sim)
    assert abs(sim.power - ana["power"]) < 3 * se + 0.01, (sim.power, ana["power"])
    assert sim.den_df_median == pytest.approx(ana["den_df"], rel=0.05)


def test_power_increases_with_n_and_effect():
    par = _params("madrs")
    tpl = _template("madrs", 4)
    curve = [analytic_power(par, tpl, n_participants=n)["power"] for n in range(4, 41, 2)]
    assert np.all(np.diff(curve) > 0)
    small = simulate_power(par, _template("madrs", 6), 300, 1)
    large = simulate_power(par, _template("madrs", 30), 300, 1)
    lo_small, hi_small = small.ci()
    lo_large, _ = large.ci()
    assert hi_small < lo_large
    bigger = _params("madrs", effect=6.0)
    assert analytic_power(bigger, tpl, n_participants=20)["power"] > curve[8]


def test_block_noise_scales_with_block_length():
    par = _params("glx")
    other2 = 0.03**2 - 0.024**2
    assert par.row_sd(6.0) == pytest.approx(0.03)
    assert par.row_sd(1.5) == pytest.approx(np.sqrt(other2 + 4 * 0.024**2))
    whole = _params("glx", block_noise_sd=None)
    assert whole.row_sd(24.0) == pytest.approx(0.015)
    # longer blocks -> less noise -> more power
    short = analytic_power(par, _template("glx", 20, block_min=3.0))["power"]
    long = analytic_power(par, _template("glx", 20, block_min=12.0))["power"]
    assert long > short


def test_dropout_costs_power_and_everything_is_estimable():
    par = _params("glx")
    tpl = _template("glx", 6, infusion_blocks=2)
    full = analytic_power(par, tpl)["power"]
    assert analytic_power(par, tpl, dropout=0.3, block_exclusion=0.2)["power"] < full
    Y, mask = draw(par, tpl, 50, np.random.default_rng(2), dropout=0.9, block_exclusion=0.5)
    res = analyse(tpl, Y, mask, 0.05)
    assert res["ok"].any()
    assert np.all(np.isnan(res["F"][~res["ok"]]))


# -- inputs ---------------------------------------------------------------------------------
def test_params_from_model_json(models):
    par = from_model("madrs", models / "madrs_condition_by_time.json", {})
    doc = json.loads((models / "madrs_condition_by_time.json").read_text())
    comps = {c["group"]: c["sd"] for c in doc["fit"]["variance_components"]}
    assert par.residual_sd == pytest.approx(comps["Residual"])
    assert par.participant_sd == pytest.approx(comps["participant_id"])
    assert par.effect == par.fixed["conditionnaltrexone:timepointday1"]
    assert "madrs_condition_by_time.json" in par.sources["effect"]
    over = from_model("madrs", models / "madrs_condition_by_time.json", {"effect": 2.5})
    assert over.effect == 2.5 and over.sources["effect"] == "config power.madrs.effect"


def test_model_json_without_variance_components(models, tmp_path):
    doc = json.loads((models / "glx_condition_infusion.json").read_text())
    del doc["fit"]["variance_components"]
    bad = tmp_path / "glx_condition_infusion.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"glx_condition_infusion\.json.*fit\.variance_comp"):
        from_model("glx", bad, {})


def test_effect_of_zero_is_rejected(models, tmp_path):
    with pytest.raises(InputError, match=r"power\.madrs\.effect.*non-zero"):
        resolve({"madrs": {"effect": 0}})
    with pytest.raises(InputError, match=r"config power.*power\.madrs\.effect"):
        from_config("madrs", {**MADRS, "effect": 0.0})
    doc = json.loads((models / "madrs_condition_by_time.json").read_text())
    for rec in doc["fit"]["fixed_effects_satterthwaite"]:
        if rec["term"] == "conditionnaltrexone:timepointday1":
            rec["estimate"] = 0.0
    bad = tmp_path / "madrs.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"madrs\.json.*fixed_effects.*non-zero"):
        from_model("madrs", bad, {})


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"participants": [3, 10]}, r"power\.participants.*>= 4.*3"),
        ({"n_sim": 5}, r"power\.n_sim"),
        ({"dropout": 1.0}, r"power\.dropout"),
        ({"glx": {"designs": [{"baseline_blocks": 0}]}}, r"designs\[0\]\.baseline_blocks"),
        ({"madrs": {"residual_sd": -1}}, r"power\.madrs\.residual_sd"),
        ({"glx": {"block_size": 3}}, r"power\.glx\.block_size.*unknown"),
    ],
)
def test_bad_settings_name_the_field(overrides, pattern):
    with pytest.raises(InputError, match=pattern):
        resolve(overrides)


def test_other_bad_inputs(models, tmp_path):
    with pytest.raises(InputError, match=r"missing\.json.*not found"):
        from_model("glx", tmp_path / "missing.json", {})
    skipped = tmp_path / "skipped.json"
    skipped.write_text(json.dumps({"model": "x", "skipped": "one sex only"}))
    with pytest.raises(InputError, match="not fitted: one sex only"):
        from_model("glx", skipped, {})
    with pytest.raises(InputError, match=r"power\.glx\.block_noise_sd.*at most the residual"):
        from_model("glx", models / "glx_condition_infusion.json", {"block_noise_sd": 1.0})
    with pytest.raises(InputError, match=r"power\.madrs\.participant_sd, power\.madrs\.resid"):
        from_config("madrs", {"effect": 1.0})


# -- outputs --------------------------------------------------------------------------------
def _small_settings(**extra):
    return resolve(
        {
            "n_sim": 40,
            "participants": [6, 10],
            "glx": {"designs": [{"baseline_blocks": 1, "infusion_blocks": 2, "block_min": 6.0}]},
            **extra,
        }
    )


def test_outputs_are_deterministic(models, tmp_path):
    settings = _small_settings(dropout=0.1)
    paths = {
        t: models / f"{m}.json"
        for t, m in (("glx", "glx_condition_infusion"), ("madrs", "madrs_condition_by_time"))
    }
    for run in ("a", "b"):
        run_power(settings, paths, output_paths(tmp_path / run))
    for name in (
        "power.tsv",
        "sample_size.tsv",
        "assumptions.json",
        "summary.txt",
        "power_curve.png",
        "power_curve.pdf",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    text = (tmp_path / "a" / "summary.txt").read_text()
    assert "80 % power" in text and "90 % power" in text and "dropout" in text
    res = compute(settings, {"glx": _params("glx"), "madrs": _params("madrs")})
    assert list(res.table["n_participants"]) == [6, 10, 6, 10]
    assert (res.table["ci_low"] <= res.table["power"]).all()
    assert (res.table["power"] <= res.table["ci_high"]).all()


def test_cli_from_config_and_error_exit(tmp_path, capsys):
    cfg = tmp_path / "config.yaml"
    power = {
        "n_sim": 20,
        "participants": [6],
        "glx": {"model": None, **GLX, "designs": [{"infusion_blocks": 2}]},
        "madrs": {"model": None, **MADRS},
    }
    cfg.write_text(yaml.safe_dump({"power": power}))
    assert main(["power", "--config", str(cfg), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "power_curve.png").is_file()
    power["participants"] = [2]
    cfg.write_text(yaml.safe_dump({"power": power}))
    assert main(["power", "--config", str(cfg), "--out", str(tmp_path / "bad")]) == 2
    assert "power.participants" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_nested_random_intercepts_are_refused_by_the_power_analysis():
    from fmrstrial.power.design import check_formula

    formula = "glx_tnaa ~ condition * phase + period + (1 | participant_id)"
    assert check_formula(formula, "condition:phase", "glx") == "participant_id"
    with pytest.raises(ValueError, match="one random intercept per participant"):
        check_formula(formula + " + (1 | participant_id:session_id)", "condition:phase", "glx")
