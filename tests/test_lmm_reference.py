"""fmrstrial.lmm against R 4.2.2 lme4 1.1-31 / lmerTest 3.1-3 / pbkrtest 0.5.2 (tests/data/lmm).

`timecourse_session` has a second, nested random intercept (one per session within subject),
made by `tests/data/lmm/nested_reference.R`.

Tolerances (from the task): fixed effects and SEs 1e-4 relative, Satterthwaite and KR df 1e-2
absolute, F and p 1e-3 relative, variance components 1e-4 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fmrstrial.lmm import fit_lmm
from fmrstrial.lmm.design import build_design
from fmrstrial.lmm.formula import parse_formula
from fmrstrial.lmm.model import assemble
from fmrstrial.lmm.optimize import FitOutcome
from fmrstrial.lmm.reml import REMLProblem

DATA = Path(__file__).parent / "data" / "lmm"

#: Factor columns and reference levels used for each R reference (see the coefficient names).
CASES = {
    "prepost": {"factors": {"period": None}, "ref": {"time": "pre"}},
    "prepost_cell": {"factors": {"period": None}, "ref": {"cell": "A_pre"}},
    "timecourse": {"factors": {"period": None}, "ref": {"condition": "placebo"}},
    "timecourse_slope": {"factors": {"period": None}, "ref": {"condition": "placebo"}},
    "timecourse_session": {"factors": {"period": None}, "ref": {"condition": "placebo"}},
}

REL_FIXED = 1e-4
ABS_DF = 1e-2
REL_TEST = 1e-3
REL_VC = 1e-4


def rel(a, b) -> float:
    return abs(a - b) / abs(b)


def load_reference(name: str) -> dict:
    return json.loads((DATA / f"{name}.lmertest.json").read_text())


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    """(name, reference JSON, our result as JSON dict, LMMResult), one fit per data set."""
    name = request.param
    ref = load_reference(name)
    df = pd.read_csv(DATA / f"{name}.csv")
    kr = ref["fixed_effects_kenward_roger"] is not None
    res = fit_lmm(df, ref["meta"]["formula"], kr=kr, **CASES[name])
    return name, ref, res.to_dict(), res


def test_reference_files_are_complete():
    assert sorted(p.stem.split(".")[0] for p in DATA.glob("*.lmertest.json")) == sorted(CASES)
    for name in CASES:
        assert (DATA / f"{name}.csv").is_file()


def test_fit_converged_not_singular(case):
    _, ref, out, res = case
    assert res.converged and not res.singular
    assert out["meta"]["n_obs"] == ref["meta"]["n_obs"]
    assert out["meta"]["n_groups"] == ref["meta"]["n_groups"]
    assert out["meta"]["warnings"] == []
    assert out["df_loglik"] == ref["df_loglik"]


def test_reml_loglik(case):
    _, ref, out, _ = case
    # Ours may only be better (higher) than lme4's optimum, and by very little.
    assert out["reml_loglik"] == pytest.approx(ref["reml_loglik"], abs=1e-6)
    assert out["reml_loglik"] >= ref["reml_loglik"] - 1e-9


def test_fixed_effects_satterthwaite(case):
    _, ref, out, _ = case
    ours, theirs = out["fixed_effects_satterthwaite"], ref["fixed_effects_satterthwaite"]
    assert [r["term"] for r in ours] == [r["term"] for r in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert rel(a["estimate"], b["estimate"]) < REL_FIXED, a["term"]
        assert rel(a["se"], b["se"]) < REL_FIXED, a["term"]
        assert rel(a["t"], b["t"]) < REL_FIXED, a["term"]
        assert abs(a["df"] - b["df"]) < ABS_DF, a["term"]
        assert rel(a["p"], b["p"]) < REL_TEST, a["term"]


def test_fixed_effects_kenward_roger(case):
    _, ref, out, _ = case
    theirs = ref["fixed_effects_kenward_roger"]
    if theirs is None:
        assert out["fixed_effects_kenward_roger"] is None
        return
    ours = out["fixed_effects_kenward_roger"]
    assert [r["term"] for r in ours] == [r["term"] for r in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert rel(a["estimate"], b["estimate"]) < REL_FIXED, a["term"]
        assert rel(a["se_adj"], b["se_adj"]) < REL_FIXED, a["term"]
        assert abs(a["df"] - b["df"]) < ABS_DF, a["term"]
        assert rel(a["p"], b["p"]) < REL_TEST, a["term"]


def test_anova_type3(case):
    _, ref, out, _ = case
    assert set(out["anova"]) == set(ref["anova"])
    for method, theirs in ref["anova"].items():
        ours = out["anova"][method]
        assert [r["term"] for r in ours] == [r["term"] for r in theirs]
        for a, b in zip(ours, theirs, strict=True):
            assert a["num_df"] == b["num_df"], (method, a["term"])
            assert abs(a["den_df"] - b["den_df"]) < ABS_DF, (method, a["term"])
            assert rel(a["F"], b["F"]) < REL_TEST, (method, a["term"])
            assert rel(a["p"], b["p"]) < REL_TEST, (method, a["term"])
            assert rel(a["sum_sq"], b["sum_sq"]) < REL_TEST, (method, a["term"])


def test_type3_hypotheses_match_lmertest(case):
    _, ref, out, _ = case
    assert list(out["type3_hypotheses"]) == list(ref["type3_hypotheses"])
    for term, hyp in ref["type3_hypotheses"].items():
        assert out["type3_hypotheses"][term]["columns"] == hyp["columns"]
        np.testing.assert_allclose(out["type3_hypotheses"][term]["L"], hyp["L"], atol=1e-10)


def test_variance_components(case):
    _, ref, out, _ = case
    ours, theirs = out["variance_components"], ref["variance_components"]
    key = lambda r: (r["group"], r["var1"], r["var2"])  # noqa: E731
    assert [key(r) for r in ours] == [key(r) for r in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert rel(a["variance"], b["variance"]) < REL_VC, key(a)
        assert rel(a["sd"], b["sd"]) < REL_VC, key(a)
    for name, value in ref["theta"].items():
        assert rel(out["theta"][name], value) < REL_VC, name


def test_vcov_beta(case):
    _, ref, out, _ = case
    assert out["vcov_beta"]["names"] == ref["vcov_beta"]["names"]
    ours, theirs = np.array(out["vcov_beta"]["matrix"]), np.array(ref["vcov_beta"]["matrix"])
    scale = np.sqrt(np.outer(np.diag(theirs), np.diag(theirs)))
    assert np.max(np.abs(ours - theirs) / scale) < REL_FIXED


def test_contrast_reproduces_fixed_table(case):
    _, _, _, res = case
    for j, name in enumerate(res.names):
        c = res.contrast({name: 1.0})
        row = res.fixed.loc[name]
        assert c["estimate"] == pytest.approx(row.estimate, rel=1e-12)
        assert c["se"] == pytest.approx(row.se, rel=1e-12)
        assert c["df"] == pytest.approx(row.df, rel=1e-12)
        assert res.contrast(np.eye(len(res.names))[j])["p"] == pytest.approx(row.p, rel=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_inference_at_lme4_estimate(name):
    """At lme4's own variance parameters our analytic derivatives reproduce lmerTest's
    numDeriv Hessian and Jacobian (tight tolerances: this isolates the inference code)."""
    ref = load_reference(name)
    design = build_design(
        pd.read_csv(DATA / f"{name}.csv"), parse_formula(ref["meta"]["formula"]), **CASES[name]
    )
    vc = ref["variance_components"]
    group = design.formula.random.group
    q = len(design.z_names)
    G = np.zeros((q, q))
    for r in (r for r in vc if r["group"] == group):
        i = design.z_names.index(r["var1"])
        j = i if r["var2"] is None else design.z_names.index(r["var2"])
        G[i, j] = G[j, i] = r["variance"]
    by_group = {r["group"]: r["variance"] for r in vc}
    taus = [by_group[p.group] for p in design.formula.nested]
    prob = REMLProblem(design.y, design.X, design.Z, design.groups, design.nested)
    state = prob.evaluate(prob.phi(G, by_group["Residual"], taus))
    outcome = FitOutcome(state, True, False, "reference", [], np.array([]))
    res = assemble(design, outcome, kr=ref["fixed_effects_kenward_roger"] is not None)
    out = res.to_dict()
    assert out["reml_loglik"] == pytest.approx(ref["reml_loglik"], abs=1e-8)
    internals, theirs = out["lmertest_internals"], ref["lmertest_internals"]
    # lme4 orders the variance parameters by term (most levels first): compare by name
    order = [internals["vcov_varpar"]["names"].index(n) for n in theirs["vcov_varpar"]["names"]]
    ours_vcov = np.array(internals["vcov_varpar"]["matrix"])[np.ix_(order, order)]
    np.testing.assert_allclose(ours_vcov, theirs["vcov_varpar"]["matrix"], rtol=1e-6, atol=0)
    for par, jac in theirs["jacobian_vcov_beta"].items():
        ours = np.array(internals["jacobian_vcov_beta"][par]["matrix"])
        np.testing.assert_allclose(ours, jac["matrix"], rtol=1e-6, atol=1e-8 * np.abs(ours).max())
    for a, b in zip(
        out["fixed_effects_satterthwaite"], ref["fixed_effects_satterthwaite"], strict=True
    ):
        assert a["df"] == pytest.approx(b["df"], abs=1e-6)
    for method, theirs_tab in ref["anova"].items():
        for a, b in zip(out["anova"][method], theirs_tab, strict=True):
            assert a["den_df"] == pytest.approx(b["den_df"], abs=1e-6)
            assert a["F"] == pytest.approx(b["F"], rel=1e-6)
