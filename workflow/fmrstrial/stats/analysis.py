"""Run every analysis and assemble results/stats/findings.tsv and one JSON per model.

findings.tsv columns (docs/statistics.md): finding_id, outcome, term, statistic, num_df, den_df,
p_value, estimate, ci_low, ci_high, published, truth, ci_covers_truth; then value (the
statistic's value: F, r or rho), se, model, n_obs, n_participants, converged (the REML
optimum was reached; a singular fit is converged and its note names the zero variance),
status, note, spectral_model (for outcomes from the spectra: the fit model that gave them).
`truth` is empty on real data; on simulated data it is the value the analysis would
give without noise (see `models.ols_truth`, `derived`).

Every configured analysis gives at least one row. `status` is `estimated`, or
`not available` when its data are absent (e.g. a self-report scale whose phenotype table
the dataset does not have) or cannot support the model; `note` then gives the reason and
the statistics are n/a.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..clinical.scales import load_scales
from ..errors import InputError
from ..io.tsv import write_json, write_tsv
from ..lmm import DesignError, parse_formula
from . import derived
from .data import StatsInputs, clinical_frame, glx_frame, session_change_frame
from .models import covers, fit_model, fit_pooled, ols_truth, outcome_label

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
    "status",
    "note",
    "spectral_model",
]
#: Model data sets whose outcome comes from the spectral fit.
SPECTRAL_DATA = (
    "glx",
    "glx_unmatched",
    "glx_crlb_strict",
    "glx_other_mode",
    "glx_session_change",
)
ESTIMATED, NOT_AVAILABLE = "estimated", "not available"


def unavailable_row(
    finding_id: str, outcome: str, term: str, statistic: str, model: str, published, reason: str
) -> dict:
    """A findings row for an analysis that could not be run: n/a statistics and the reason."""
    row = {c: np.nan for c in FINDING_COLUMNS}
    row.update(
        {
            "finding_id": finding_id,
            "outcome": outcome,
            "term": term,
            "statistic": statistic,
            "published": published,
            "model": model,
            "n_obs": 0,
            "n_participants": 0,
            "converged": None,
            "status": NOT_AVAILABLE,
            "note": reason,
        }
    )
    return row


def _model_unavailable(model_id: str, spec: dict, reason: str) -> dict:
    return unavailable_row(
        spec["finding_id"],
        outcome_label(spec),
        spec["term"],
        "F",
        model_id,
        spec.get("published", ""),
        reason,
    )


def clinical_absence(spec: dict, inputs: StatsInputs) -> str | None:
    """Why the score a clinical model needs is not available (None when it is).

    A scale or score without a definition (workflow/resources/scales/) is a configuration
    error; a defined scale with no rows in clinical.tsv was not in the dataset.
    """
    scales = load_scales()
    scale, sub = spec["scale"], spec["subscale"]
    if scale not in scales or sub not in scales[scale].scores:
        known = ", ".join(f"{k}: {'/'.join(v.scores)}" for k, v in scales.items())
        raise InputError(
            f"unknown scale/score '{scale}'/'{sub}' (defined: {known})",
            file="config stats.models",
        )
    if inputs.clinical is None:
        return "no clinical table given"
    if not (inputs.clinical["scale"] == scale).any():
        return (
            f"{scale} was not scored: phenotype/{scale}.tsv is not in the dataset "
            "(only MADRS is required)"
        )
    return None


def _frame_for(spec: dict, inputs: StatsInputs, settings: dict):
    """The model's data frame, a list of imputed frames, or the reason (str) it is absent."""
    if spec["data"] == "glx_session_change":
        frame = session_change_frame(inputs)
        return "no glx time course given" if frame is None else frame
    if spec["data"].startswith("glx"):
        frame = glx_frame(inputs, spec["data"], settings["crlb_strict_pct"])
        if frame is None:
            name = spec["data"] if spec["data"] != "glx_crlb_strict" else "glx"
            return f"no {name} time course given"
        return frame
    if spec["data"] != "clinical":
        raise InputError(
            f"unknown data '{spec['data']}' (expected glx, glx_crlb_strict, "
            "glx_unmatched, glx_other_mode, glx_session_change or clinical)",
            file="config stats.models",
        )
    absent = clinical_absence(spec, inputs)
    if absent:
        return absent
    mi = inputs.clinical_mi
    if mi is not None:
        sub = mi[(mi["scale"] == spec["scale"]) & (mi["subscale"] == spec["subscale"])]
        if len(sub):
            return [
                clinical_frame(g, inputs, spec["scale"], spec["subscale"])
                for _, g in sub.groupby("imputation", sort=True)
            ]
    return clinical_frame(inputs.clinical, inputs, spec["scale"], spec["subscale"])


def _period_row(doc: dict, finding: dict, truth: float | None) -> dict:
    """Crossover check: the period term of a main model (`truth`: its noise-free value)."""
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
        "truth": np.nan if truth is None else truth,
        "model": doc["model"],
        "n_obs": doc["n_obs"],
        "n_participants": doc["n_participants"],
        "converged": finding["converged"],
        "status": ESTIMATED,
        "note": finding.get("note", np.nan),
    }


def _association_truth(inputs: StatsInputs, condition: str) -> pd.DataFrame | None:
    if inputs.glx is None or inputs.truth_madrs is None or "true_glx_tnaa" not in inputs.glx:
        return None
    glx = inputs.glx[inputs.glx["qc_pass"].astype(str).str.lower().isin(["true", "1"])]
    g = derived.glx_response(glx, condition, "true_glx_tnaa")
    t = inputs.truth_madrs
    m = t[t["condition"] == condition].set_index("participant_id")["pct_change"]
    return pd.concat([g, m.rename("madrs_response")], axis=1).dropna()


def _derived_rows(inputs: StatsInputs, settings: dict) -> list[dict]:
    """MADRS attenuation and the Glx-MADRS association (n/a rows when data are absent)."""
    boot, att, assoc = settings["bootstrap"], settings["attenuation"], settings["association"]
    att_spec = {"data": "clinical", "scale": att["scale"], "subscale": att["subscale"]}
    absent = clinical_absence(att_spec, inputs)
    rows = []
    if absent:
        rows.append(
            unavailable_row(
                att["finding_id"],
                outcome_label(att_spec),
                "100*(1-change_naltrexone/change_placebo)",
                f"bootstrap (n={boot['n']})",
                "attenuation",
                att["published"],
                f"its data are not available: {absent}",
            )
        )
    else:
        madrs = clinical_frame(inputs.clinical, inputs, att["scale"], att["subscale"])
        rows.append(derived.attenuation_finding(madrs, att, boot))
    if absent or inputs.glx is None:
        reason = absent or "no glx time course given"
        for name in ("pearson_r", "spearman_rho"):
            rows.append(
                unavailable_row(
                    assoc["finding_id"],
                    "glx_response~madrs_pct_change",
                    f"{name} ({assoc['condition']})",
                    name,
                    "association",
                    assoc["published"],
                    f"its data are not available: {reason}",
                )
            )
    else:
        glx = glx_frame(inputs, "glx", settings["crlb_strict_pct"])
        rows += derived.association_findings(
            glx, madrs, assoc, boot, _association_truth(inputs, assoc["condition"])
        )
    for row in rows:
        row.setdefault("status", ESTIMATED)
        row.setdefault("note", np.nan)
    return rows


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


def run_analyses(
    inputs: StatsInputs,
    settings: dict,
    spectral_model: str | None = None,
    other_spectral_model: str | None = None,
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """All findings (DataFrame, FINDING_COLUMNS) and the JSON document of every model;
    `spectral_model` (the fit model's description) fills that column for rows whose outcome
    comes from the spectra, `other_spectral_model` for the rows of the time course from the
    other fit mode (data 'glx_other_mode')."""
    kr = settings["ddf"] == "kenward_roger"
    rows, docs, notes = [], {}, []
    for model_id, spec in settings["models"].items():
        frame = _frame_for(spec, inputs, settings)
        if isinstance(frame, str):
            reason = f"its data are not available: {frame}"
            notes.append(f"{model_id}: skipped, {reason}")
            docs[model_id] = {"model": model_id, "skipped": notes[-1]}
            rows.append(_model_unavailable(model_id, spec, reason))
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
            rows.append(_model_unavailable(model_id, spec, f"not estimable on these data ({exc})"))
            continue
        docs[model_id] = doc
        rows.append({"note": np.nan, **finding, "status": ESTIMATED})
        if model_id in settings["period_checks"] and not isinstance(frame, list):
            truth = ols_truth(frame, spec["formula"], spec["response"], "period")
            rows.append(_period_row(doc, finding, truth))
    rows += _derived_rows(inputs, settings)
    table = pd.DataFrame(rows)
    # the association's truth is the correlation of noise-free responses, which measurement
    # error attenuates: the CI of the noisy correlation does not target it
    table["ci_covers_truth"] = [None if r["model"] == "association" else covers(r) for r in rows]
    described = {"glx_other_mode": other_spectral_model}
    model_of = {
        m: described.get(spec.get("data"), spectral_model)
        for m, spec in settings["models"].items()
        if spec.get("data") in SPECTRAL_DATA
    }
    model_of["association"] = spectral_model
    table["spectral_model"] = [model_of.get(r["model"]) or np.nan for r in rows]
    table = table[FINDING_COLUMNS]
    return table, docs


def write_results(
    table: pd.DataFrame,
    docs: dict[str, dict],
    findings_path: str | os.PathLike,
    model_paths: dict[str, str | os.PathLike],
) -> None:
    """findings.tsv (6 significant digits) and each model's JSON (model_paths: model id ->
    path; every model of `docs` needs one), each written atomically."""
    missing = sorted(set(docs) - set(model_paths))
    if missing:
        raise ValueError(f"no output path for the model(s) {', '.join(missing)}")
    out = table.copy()
    out["ci_covers_truth"] = out["ci_covers_truth"].map({True: "true", False: "false", None: "n/a"})
    out["converged"] = out["converged"].map({True: "true", False: "false"})
    write_tsv(out, findings_path, float_format="%.6g")
    for model_id, doc in docs.items():
        write_json(doc, model_paths[model_id])
