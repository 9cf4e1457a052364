"""Statistics settings: the analyses behind every finding, with their formulas.

Each model names its data (`glx`: the block time course; `clinical`: one scale/score of the
clinical long table), the response, the formula (lme4 syntax), the
term whose F test and coefficient make the finding, and the published value. Reference
levels: condition placebo, phase baseline, timepoint pre, period 1, sex F, sequence PN, so
the reported coefficient of `condition:phase` is (naltrexone - placebo) x (infusion -
baseline).
"""

from __future__ import annotations

import copy

FACTOR_LEVELS = {
    "condition": ["placebo", "naltrexone"],
    "phase": ["baseline", "infusion"],
    "timepoint": ["pre", "day1"],
    "period": ["1", "2"],
    "sex": ["F", "M"],
    "sequence": ["PN", "NP"],
}

GLX_FORMULA = "{y} ~ condition * phase + period + (1 | participant_id)"
SESSION_INTERCEPT = " + (1 | participant_id:session_id)"
CLINICAL_FORMULA = "score ~ condition * timepoint + period + (1 | participant_id)"

DEFAULTS: dict = {
    "ddf": "satterthwaite",
    "bootstrap": {"n": 2000, "seed": 20240917},
    "crlb_strict_pct": 10.0,
    "models": {
        "glx_condition_infusion": {
            "finding_id": "glx_condition_infusion",
            "data": "glx",
            "response": "glx_tnaa",
            "formula": GLX_FORMULA.format(y="glx_tnaa"),
            "term": "condition:phase",
            "published": "F(1,253)=4.83, P=0.029",
        },
        "glx_sex_moderation": {
            "finding_id": "glx_sex_moderation",
            "data": "glx",
            "response": "glx_tnaa",
            "formula": "glx_tnaa ~ condition * phase * sex + period + (1 | participant_id)",
            "term": "condition:phase:sex",
            "published": "larger in males (direction only)",
        },
        "madrs_condition_by_time": {
            "finding_id": "madrs_condition_by_time",
            "data": "clinical",
            "scale": "madrs",
            "subscale": "total",
            "response": "score",
            "formula": CLINICAL_FORMULA,
            "term": "condition:timepoint",
            "published": "F(1,74)=5.39, P=0.023",
        },
        **{
            f"selfreport_{scale}_{sub}": {
                "finding_id": "selfreport_condition_by_time",
                "data": "clinical",
                "scale": scale,
                "subscale": sub,
                "response": "score",
                "formula": CLINICAL_FORMULA,
                "term": "condition:timepoint",
                "published": "same trend as MADRS (direction only)",
            }
            for scale, sub in (
                ("qids_sr16", "total"),
                ("m3vas", "mood"),
                ("shaps", "total"),
                ("teps", "anticipatory"),
            )
        },
        "sensitivity_glu_tnaa": {
            "finding_id": "sensitivity_glu_tnaa",
            "data": "glx",
            "response": "glu_tnaa",
            "formula": GLX_FORMULA.format(y="glu_tnaa"),
            "term": "condition:phase",
            "published": "not reported",
        },
        "sensitivity_crlb_strict": {
            "finding_id": "sensitivity_crlb_strict",
            "data": "glx_crlb_strict",
            "response": "glx_tnaa",
            "formula": GLX_FORMULA.format(y="glx_tnaa"),
            "term": "condition:phase",
            "published": "not reported",
        },
        "sensitivity_no_linewidth_matching": {
            "finding_id": "sensitivity_no_linewidth_matching",
            "data": "glx_unmatched",
            "response": "glx_tnaa",
            "formula": GLX_FORMULA.format(y="glx_tnaa"),
            "term": "condition:phase",
            "published": "not reported",
        },
        "sensitivity_other_fit_mode": {
            "finding_id": "sensitivity_other_fit_mode",
            "data": "glx_other_mode",
            "response": "glx_tnaa",
            "formula": GLX_FORMULA.format(y="glx_tnaa"),
            "term": "condition:phase",
            "published": "not reported",
        },
        "sensitivity_session_change": {
            "finding_id": "sensitivity_session_change",
            "data": "glx_session_change",
            "response": "glx_change",
            "formula": "glx_change ~ condition + period + (1 | participant_id)",
            "term": "condition",
            "published": "not reported",
        },
        "sensitivity_session_change_sex": {
            "finding_id": "sensitivity_session_change_sex",
            "data": "glx_session_change",
            "response": "glx_change",
            "formula": "glx_change ~ condition * sex + period + (1 | participant_id)",
            "term": "condition:sex",
            "published": "not reported",
        },
        "sensitivity_session_intercept": {
            "finding_id": "sensitivity_session_intercept",
            "data": "glx",
            "response": "glx_tnaa",
            "formula": GLX_FORMULA.format(y="glx_tnaa") + SESSION_INTERCEPT,
            "term": "condition:phase",
            "published": "not reported",
        },
        "sensitivity_session_intercept_sex": {
            "finding_id": "sensitivity_session_intercept_sex",
            "data": "glx",
            "response": "glx_tnaa",
            "formula": "glx_tnaa ~ condition * phase * sex + period + (1 | participant_id)"
            + SESSION_INTERCEPT,
            "term": "condition:phase:sex",
            "published": "not reported",
        },
        "crossover_carryover_glx": {
            "finding_id": "crossover_carryover",
            "data": "glx",
            "response": "glx_tnaa",
            "formula": "glx_tnaa ~ condition * phase + period + sequence + (1 | participant_id)",
            "term": "sequence",
            "published": "not reported",
        },
        "crossover_carryover_madrs": {
            "finding_id": "crossover_carryover",
            "data": "clinical",
            "scale": "madrs",
            "subscale": "total",
            "response": "score",
            "formula": "score ~ condition * timepoint + period + sequence + (1 | participant_id)",
            "term": "sequence",
            "published": "not reported",
        },
    },
    "period_checks": [
        "glx_condition_infusion",
        "sensitivity_session_intercept",
        "madrs_condition_by_time",
    ],
    "attenuation": {
        "finding_id": "madrs_attenuation_pct",
        "scale": "madrs",
        "subscale": "total",
        "published": "about 28 %",
    },
    "association": {
        "finding_id": "glx_madrs_association",
        "condition": "placebo",
        "published": "exploratory",
    },
}


def resolve(overrides: dict | None = None) -> dict:
    """Defaults updated by `overrides` (models replace or add whole model entries)."""
    out = copy.deepcopy(DEFAULTS)
    for key, value in (overrides or {}).items():
        if key == "models":
            out["models"].update(copy.deepcopy(value))
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key].update(copy.deepcopy(value))
        else:
            out[key] = copy.deepcopy(value)
    return out
