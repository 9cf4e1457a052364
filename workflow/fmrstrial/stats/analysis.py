"""Run every analysis and assemble results/stats/findings.tsv and one JSON per model.

findings.tsv columns (DESIGN): finding_id, outcome, term, statistic, num_df, den_df,
p_value, estimate, ci_low, ci_high, published, truth, ci_covers_truth; then value (the
statistic's value: F, r or rho), se, model, n_obs, n_participants, converged.
`truth` is empty on real data; on simulated data it is the value the analysis would give
without noise (see `models.ols_truth`, `derived`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.tables import write_json, write_tsv
from ..lmm import DesignError, parse_formula
from . import derived
from .data import StatsInputs, clinical_frame, glx_frame
from .models import covers, fit_model, fit_pooled

FINDING_COLUMNS = [
    "finding_id",
    "outcome",
    "term",
    "statistic",
    "num_df",
    "den_df",
    "p_value",
    "estimate",
    "ci_low",
    "ci_high",
    "published",
    "truth",
    "ci_covers_truth",
    "value",
    "se",
    "model",
    "n_obs",
    "n_participants",
    "converged",
]


def _frame_for(spec: dict, inputs: StatsInputs, settings: dict):
    """The model's data frame, a list of imputed frames, or None when the data are absent."""
    if spec["data"].startswith("glx"):
        return glx_frame(inputs, spec["data"], settings["crlb_strict_pct"])
    if spec["data"] != "clinical":
        raise InputError(
            f"unknown data '{spec['data']}' (expected glx, glx_crlb_strict, "
            "glx_unmatched or clinical)",
            file="config stats.models",
        )
    if inputs.clinical is None:
        return None
    mi = inputs.clinical_mi
    if mi is not None:
        sub = mi[(mi["scale"] == spec["scale"]) & (mi["subscale"] == spec["subscale"])]
        if len(sub):
            return [
                clinical_frame(g, inputs, spec["scale"], spec["subscale"])
                for _, g in sub.groupby("imputation", sort=True)
            ]
    return clinical_frame(inputs.clinical, inputs, spec["scale"], spec["subscale"])


def _period_row(doc: dict, finding: dict) -> dict:
    """Crossover check: the period term of a main model."""
    fit = doc["fit"]
    anova = {r["term"]: r for r in fit["anova"]["typeIII_satterthwaite"]}
    rec = anova["period"]
    coef = next(r for r in fit["fixed_effects_satterthwaite"] if r["term"] == "period2")
    return {
        "finding_id": "crossover_period",
        "outcome": finding["outcome"],
        "term": "period2",
        "statistic": "F",
        "value": rec["F"],
        "num_df": rec["num_df"],
        "den_df": rec["den_df"],
        "p_value": rec["p"],
        "estimate": coef["estimate"],
        "se": coef["se"],
        "ci_low": coef.get("ci_low", np.nan),
        "ci_high": coef.get("ci_high", np.nan),
        "published": "not reported",
        "truth": np.nan,
        "model": doc["model"],
        "n_obs": doc["n_obs"],
        "n_participants": doc["n_participants"],
        "converged": finding["converged"],
    }


def _association_truth(inputs: StatsInputs, condition: str) -> pd.DataFrame | None:
    if inputs.glx is None or inputs.truth_madrs is None or "true_glx_tnaa" not in inputs.glx:
        return None
    glx = inputs.glx[inputs.glx["qc_pass"].astype(str).str.lower().isin(["true", "1"])]
    g = derived.glx_response(glx, condition, "true_glx_tnaa")
    t = inputs.truth_madrs
    m = t[t["condition"] == condition].set_index("participant_id")["pct_change"]
    return pd.concat([g, m.rename("madrs_response")], axis=1).dropna()


def _check_columns(model_id: str, spec: dict, frame: pd.DataFrame) -> None:
    """A formula naming a column the data do not have is a configuration error."""
    missing = [v for v in parse_formula(spec["formula"]).variables if v not in frame.columns]
    if missing:
        raise InputError(
            f"model {model_id}: formula names column(s) {', '.join(repr(m) for m in missing)} that "
            f"the {spec['data']} data do not have (columns: "
            f"{', '.join(map(str, frame.columns))})",
            file="config stats.models",
        )


def run_analyses(inputs: StatsInputs, settings: dict) -> tuple[pd.DataFrame, dict[str, dict]]:
    """All findings (DataFrame, FINDING_COLUMNS) and the JSON document of every model."""
    kr = settings["ddf"] == "kenward_roger"
    rows, docs, notes = [], {}, []
    for model_id, spec in settings["models"].items():
        frame = _frame_for(spec, inputs, settings)
        if frame is None:
            notes.append(f"{model_id}: skipped, its data ({spec['data']}) are not available")
            docs[model_id] = {"model": model_id, "skipped": notes[-1]}
            continue
        _check_columns(model_id, spec, frame[0] if isinstance(frame, list) else frame)
        try:
            if isinstance(frame, list):
                doc, finding = fit_pooled(model_id, spec, frame, kr)
            else:
                doc, finding = fit_model(model_id, spec, frame, kr)
        except DesignError as exc:
            # e.g. one sex only: the data cannot support this model; say so, go on
            notes.append(f"{model_id}: not estimable on these data ({exc})")
            docs[model_id] = {"model": model_id, "skipped": notes[-1]}
            continue
        docs[model_id] = doc
        rows.append(finding)
        if model_id in settings["period_checks"] and not isinstance(frame, list):
            rows.append(_period_row(doc, finding))
    boot = settings["bootstrap"]
    if inputs.clinical is not None:
        att = settings["attenuation"]
        madrs = clinical_frame(inputs.clinical, inputs, att["scale"], att["subscale"])
        rows.append(derived.attenuation_finding(madrs, att, boot))
        if inputs.glx is not None:
            assoc = settings["association"]
            glx = glx_frame(inputs, "glx", settings["crlb_strict_pct"])
            rows += derived.association_findings(
                glx, madrs, assoc, boot, _association_truth(inputs, assoc["condition"])
            )
    table = pd.DataFrame(rows)
    # the association's truth is the correlation of noise-free responses, which measurement
    # error attenuates: the CI of the noisy correlation does not target it
    table["ci_covers_truth"] = [None if r["model"] == "association" else covers(r) for r in rows]
    table = table[FINDING_COLUMNS]
    return table, docs


def write_results(
    table: pd.DataFrame,
    docs: dict[str, dict],
    findings_path: str | os.PathLike,
    model_dir: str | os.PathLike,
) -> None:
    """findings.tsv (6 significant digits) and <model>.json files, each written atomically."""
    out = table.copy()
    out["ci_covers_truth"] = out["ci_covers_truth"].map({True: "true", False: "false", None: "n/a"})
    out["converged"] = out["converged"].map({True: "true", False: "false"})
    write_tsv(out, findings_path, float_format="%.6g")
    for model_id, doc in docs.items():
        write_json(doc, Path(model_dir) / f"{model_id}.json")
