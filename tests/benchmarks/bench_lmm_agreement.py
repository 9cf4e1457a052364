"""Agreement of fmrstrial.lmm with R lme4/lmerTest/pbkrtest on the reference data sets.

    python tests/benchmarks/bench_lmm_agreement.py

For each `tests/data/lmm/NAME.csv` with its `NAME.lmertest.json` (R 4.2.2, lme4 1.1-31,
lmerTest 3.1-3, pbkrtest 0.5.2; see that folder's README) prints the largest relative
difference of the fixed effects, SEs, type III F and p, and variance components, the largest
absolute difference of the Satterthwaite and Kenward-Roger df, and our REML
log-likelihood minus lme4's (positive: our optimum is higher). The pass/fail tolerances are
those of tests/test_lmm_reference.py; this prints the figures the docs quote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from fmrstrial.lmm import fit_lmm

DATA = Path(__file__).resolve().parents[1] / "data" / "lmm"
#: factor columns and reference levels of each R reference (as tests/test_lmm_reference.py)
CASES = {
    "prepost": {"factors": {"period": None}, "ref": {"time": "pre"}},
    "prepost_cell": {"factors": {"period": None}, "ref": {"cell": "A_pre"}},
    "timecourse": {"factors": {"period": None}, "ref": {"condition": "placebo"}},
    "timecourse_slope": {"factors": {"period": None}, "ref": {"condition": "placebo"}},
    "timecourse_session": {"factors": {"period": None}, "ref": {"condition": "placebo"}},
}


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def agreement(name: str) -> dict[str, float]:
    ref = json.loads((DATA / f"{name}.lmertest.json").read_text())
    kr = ref["fixed_effects_kenward_roger"] is not None
    data = pd.read_csv(DATA / f"{name}.csv")
    out = fit_lmm(data, ref["meta"]["formula"], kr=kr, **CASES[name]).to_dict()
    fixed = list(
        zip(out["fixed_effects_satterthwaite"], ref["fixed_effects_satterthwaite"], strict=True)
    )
    kr_rows = list(
        zip(
            out["fixed_effects_kenward_roger"] or [],
            ref["fixed_effects_kenward_roger"] or [],
            strict=True,
        )
    )
    tests = [
        (a, b) for m in ref["anova"] for a, b in zip(out["anova"][m], ref["anova"][m], strict=True)
    ]
    vc = list(zip(out["variance_components"], ref["variance_components"], strict=True))
    return {
        "fixed": max(rel(a["estimate"], b["estimate"]) for a, b in fixed),
        "se": max(rel(a["se"], b["se"]) for a, b in fixed),
        "df": max(abs(a["df"] - b["df"]) for a, b in fixed),
        "kr_df": max((abs(a["df"] - b["df"]) for a, b in kr_rows), default=float("nan")),
        "F": max(rel(a["F"], b["F"]) for a, b in tests),
        "p": max(rel(a["p"], b["p"]) for a, b in tests),
        "vc": max(rel(a["variance"], b["variance"]) for a, b in vc),
        "loglik_gain": out["reml_loglik"] - ref["reml_loglik"],
    }


def main() -> None:
    rows = {name: agreement(name) for name in CASES}
    table = pd.DataFrame(rows).T
    print(table.to_string(float_format=lambda v: f"{v:.1e}"))
    print("\nworst over the sets:")
    print(table.drop(columns="loglik_gain").max().to_string(float_format=lambda v: f"{v:.1e}"))


if __name__ == "__main__":
    main()
