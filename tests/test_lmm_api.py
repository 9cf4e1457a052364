"""Python API of fmrstrial.lmm: contrasts, F tests, diagnostics (singular / non-converged)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from fmrstrial.lmm import LMMResult, fit_lmm, optimize
from fmrstrial.lmm.optimize import FitError

DATA = Path(__file__).parent / "data" / "lmm"


@pytest.fixture(scope="module")
def prepost() -> LMMResult:
    df = pd.read_csv(DATA / "prepost.csv")
    return fit_lmm(df, "value ~ condition*time + (1|subject)", ref={"time": "pre"}, kr=True)


def _simulated(seed: int, sd_subject: float, slope_sd: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(12):
        b0, b1 = rng.normal(0, sd_subject), rng.normal(0, slope_sd)
        for c in ("A", "B"):
            for t in ("pre", "post"):
                x = rng.normal()
                y = 1.0 + 0.5 * (c == "B") + b0 + (0.3 + b1) * x + rng.normal()
                rows.append({"subject": f"s{s:02d}", "condition": c, "time": t, "x": x, "y": y})
    return pd.DataFrame(rows)


def test_tables_have_the_documented_columns(prepost):
    assert list(prepost.fixed.columns) == ["estimate", "se", "df", "t", "p", "ci_low", "ci_high"]
    assert list(prepost.fixed.index) == [
        "(Intercept)", "conditionB", "timepost", "conditionB:timepost",
    ]  # fmt: skip
    assert list(prepost.anova.columns[:5]) == ["term", "num_df", "den_df", "F", "p"]
    assert list(prepost.anova.term) == ["condition", "time", "condition:time"]
    assert prepost.fixed_kr is not None and prepost.anova_kr is not None
    assert prepost.converged and not prepost.singular and prepost.optimizer in optimize.OPTIMIZERS


def test_ci_uses_t_quantile_with_satterthwaite_df(prepost):
    row = prepost.fixed.loc["timepost"]
    half = stats.t.ppf(0.975, row.df) * row.se
    assert row.ci_low == pytest.approx(row.estimate - half)
    assert row.ci_high == pytest.approx(row.estimate + half)


def test_contrast_of_a_linear_combination(prepost):
    weights = {"conditionB": 1.0, "conditionB:timepost": 1.0}  # B - A at post
    c = prepost.contrast(weights)
    vec = np.array([0, 1, 0, 1.0])
    C = prepost.vcov.to_numpy()
    assert c["estimate"] == pytest.approx(vec @ prepost.beta.to_numpy())
    assert c["se"] == pytest.approx(np.sqrt(vec @ C @ vec))
    assert c["df"] == pytest.approx(prepost.contrast(vec)["df"])
    # a combination of two coefficients has df between that of its parts
    dfs = prepost.fixed.loc[["conditionB", "conditionB:timepost"], "df"]
    assert 0.9 * dfs.min() < c["df"] < 1.1 * dfs.max()
    c_kr = prepost.contrast(weights, kr=True)
    assert c_kr["estimate"] == pytest.approx(c["estimate"])
    assert c_kr["se"] > c["se"]  # KR inflates the variance here
    with pytest.raises(KeyError, match="unknown coefficient"):
        prepost.contrast({"conditionC": 1.0})
    with pytest.raises(ValueError, match="4 entries"):
        prepost.contrast([1.0, 0.0])


def test_one_row_f_test_is_the_squared_t_test(prepost):
    vec = np.array([0, 0, 1, 0.5])
    t = prepost.contrast(vec)
    f = prepost.ftest(vec[None, :])
    assert f["F"] == pytest.approx(t["t"] ** 2)
    assert f["den_df"] == pytest.approx(t["df"])
    assert f["p"] == pytest.approx(t["p"])
    f_kr = prepost.ftest(vec[None, :], kr=True)
    assert f_kr["scaling"] == pytest.approx(1.0)  # exactly 1 for one-df hypotheses
    assert f_kr["F"] == pytest.approx(prepost.contrast(vec, kr=True)["t"] ** 2)


def test_multi_df_f_test_ignores_redundant_rows(prepost):
    L = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 1, 1, 0.0]])
    full = prepost.ftest(L[:2])
    redundant = prepost.ftest(L)
    assert redundant["num_df"] == full["num_df"] == 2
    assert redundant["F"] == pytest.approx(full["F"])
    assert redundant["den_df"] == pytest.approx(full["den_df"])
    kr_full, kr_red = prepost.ftest(L[:2], kr=True), prepost.ftest(L, kr=True)
    assert kr_red["F"] == pytest.approx(kr_full["F"]) and kr_red["num_df"] == 2


def test_likelihood_agrees_with_statsmodels_and_is_not_worse(prepost):
    d = prepost.design
    sm_fit = sm.MixedLM(d.y, d.X, groups=d.groups, exog_re=d.Z).fit(reml=True, method="lbfgs")
    assert prepost.reml_loglik == pytest.approx(sm_fit.llf, abs=1e-6)
    assert prepost.reml_loglik >= sm_fit.llf - 1e-9


def test_singular_fit_is_flagged():
    res = fit_lmm(_simulated(1, sd_subject=0.0), "y ~ condition*time + (1|subject)", kr=True)
    assert res.singular
    assert res.converged
    assert res.cov_re.iloc[0, 0] < 1e-8 * res.sigma2
    assert any("singular" in w for w in res.warnings)
    out = res.to_dict()
    assert out["convergence"]["singular"] is True
    assert any("singular" in w for w in out["meta"]["warnings"])
    # lmerTest on the boundary: no information from the zero variance, df = n - p
    assert res.fixed.df.to_numpy() == pytest.approx(res.design.n_obs - 4, abs=1e-6)


def test_random_slope_with_numeric_covariate():
    res = fit_lmm(
        _simulated(3, sd_subject=1.0, slope_sd=0.7), "y ~ condition + x + (1 + x|subject)"
    )
    assert res.converged and not res.singular
    vc = res.variance_components
    assert list(vc.var1) == ["(Intercept)", "x", "(Intercept)", None]
    assert list(vc.var2)[:3] == [None, None, "x"]
    assert -1 < vc.sd[2] < 1  # correlation
    assert list(res.to_dict()["theta"]) == ["subject.(Intercept)", "subject.x.(Intercept)",
                                            "subject.x"]  # fmt: skip


def test_non_converged_fit_is_reported_not_hidden(monkeypatch):
    # Powell stops early on this random-slope model; without the Newton refinement nothing
    # reaches the criterion, so the best attempt must come back flagged as not converged.
    monkeypatch.setattr(optimize, "MAX_NEWTON", 0)
    df = pd.read_csv(DATA / "timecourse_slope.csv")
    res = fit_lmm(
        df, "value ~ condition*phase + period + (1 + phase|subject)",
        factors={"period": None}, ref={"condition": "placebo"}, optimizers=("powell",),
    )  # fmt: skip
    assert not res.converged
    assert any("failed to converge" in w for w in res.warnings)
    conv = res.to_dict()["convergence"]
    assert conv["converged"] is False
    assert conv["newton_decrement"] > optimize.DECREMENT_TOL
    assert [a["method"] for a in conv["attempts"]] == ["powell"]
    assert conv["attempts"][0]["accepted"] is False


def test_optimiser_sequence_moves_on_after_a_failure(monkeypatch):
    real = optimize._statsmodels_fit

    def failing_powell(data, method):
        if method == "powell":
            raise np.linalg.LinAlgError("Singular matrix")
        return real(data, method)

    monkeypatch.setattr(optimize, "_statsmodels_fit", failing_powell)
    df = pd.read_csv(DATA / "prepost.csv")
    res = fit_lmm(df, "value ~ condition*time + (1|subject)", optimizers=("powell", "lbfgs"))
    attempts = res.to_dict()["convergence"]["attempts"]
    assert [a["method"] for a in attempts] == ["powell", "lbfgs"]
    assert [a["accepted"] for a in attempts] == [False, True]
    assert attempts[0]["messages"] == ["failed: Singular matrix"]
    assert res.converged and res.optimizer == "lbfgs"


def test_to_dict_is_json_ready_and_deterministic(prepost):
    df = pd.read_csv(DATA / "prepost.csv")
    again = fit_lmm(df, "value ~ condition*time + (1|subject)", ref={"time": "pre"}, kr=True)
    text = json.dumps(prepost.to_dict(), allow_nan=False)
    assert text == json.dumps(again.to_dict(), allow_nan=False)
    out = json.loads(text)
    for key in (
        "meta",
        "convergence",
        "fixed_effects_satterthwaite",
        "fixed_effects_kenward_roger",
        "anova",
        "variance_components",
        "reml_loglik",
    ):
        assert key in out  # fmt: skip
    assert set(out["anova"]) == {"typeIII_satterthwaite", "typeIII_kenward_roger"}
    assert out["meta"]["reference_levels"] == {"condition": "A", "time": "pre"}


def test_all_optimisers_failing_raises_fit_error(monkeypatch):
    def always_fails(data, method):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(optimize, "_statsmodels_fit", always_fails)
    with pytest.raises(FitError, match="lbfgs: failed: Singular matrix"):
        fit_lmm(_simulated(2, 1.0), "y ~ condition + (1|subject)")


def test_nested_intercept_on_the_boundary_matches_lmertest():
    """A session intercept whose REML variance is 0 (lme4 reports a singular fit): the F tests
    are lmerTest's (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3 on this file: theta 0 and 1.4496186,
    den df 366.080, 366.082, 366.010, 366.127, F 9.8313312, 66.433221, 1.6083277, 13.011894,
    REML log-likelihood 596.620376), i.e. those of the model without it."""
    df = pd.read_csv(DATA / "timecourse.csv")
    formula = "value ~ condition*phase + period + (1|subject) + (1|subject:condition)"
    res = fit_lmm(df, formula, factors={"period": None}, ref={"condition": "placebo"})
    assert res.singular and res.converged
    assert res.nested_variances["subject:condition"] < 1e-10 * res.sigma2
    assert res.reml_loglik == pytest.approx(596.62037563663, abs=1e-6)
    a = res.anova.set_index("term")
    ddf = [366.080365329, 366.082371511, 366.010463531, 366.126941378]
    F = [9.83133115454, 66.43322081974, 1.60832768127, 13.01189407621]
    assert a.den_df.to_numpy() == pytest.approx(ddf, abs=1e-2)
    assert a.F.to_numpy() == pytest.approx(F, rel=1e-6)
    assert res.to_dict()["theta"]["subject.(Intercept)"] == pytest.approx(1.44961860437, rel=1e-5)


def test_crossed_grouping_is_refused_naming_the_level():
    df = pd.read_csv(DATA / "prepost.csv")
    with pytest.raises(ValueError, match=r"'time' is not nested in 'subject': level '\w+'"):
        fit_lmm(df, "value ~ condition + (1|subject) + (1|time)")


def test_nested_grouping_with_one_level_per_group_is_refused():
    """One session per subject: the session and subject variances cannot be told apart."""
    df = pd.read_csv(DATA / "timecourse_session.csv")
    even = df.subject.str[-2:].astype(int) % 2 == 0
    one = df[(df.condition == "placebo") == even]
    with pytest.raises(ValueError, match="one level per subject in the complete rows"):
        fit_lmm(one, "value ~ phase + (1|subject) + (1|subject:condition)")
