"""Item-level clinical ratings for the simulated trial.

Scores are drawn first (the construct), then items are built so that the published scoring
rule gives back exactly that score: integer allocation with item bounds for sums, domain
values then items for QIDS max-of-domain sums, a chosen number of anhedonic items for the
SHAPS count. Reverse-keyed items are written in their raw (as-ticked) coding. The truth
therefore holds the score without any scoring code, and scoring the complete items must
reproduce it exactly.

Scale structure (items, bounds, reverse items, score rules) comes from
`workflow/resources/scales/<scale>.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import yaml

from ..paths import resource
from .design import Session
from .effects import STREAM_CLINICAL, ParticipantEffects, rng_for

SCALES = ("madrs", "qids_sr16", "shaps", "teps", "m3vas", "cadss", "psi")

#: Score-level parameters of the self-report and post-infusion scales (score units).
#: mean before pretreatment, between-participant SD, residual SD, mean change pre -> day 1
#: under placebo (signed; scaled per session by that session's MADRS reduction) and, for
#: the scales rated at the end of infusion, the mean change pre -> post.
SCALE_DEFAULTS = {
    "qids_sr16": {"total": {"mean": 16.0, "between_sd": 3.0, "residual_sd": 2.5, "change": -6.0}},
    "shaps": {"total": {"mean": 7.0, "between_sd": 2.5, "residual_sd": 2.0, "change": -3.0}},
    "teps": {
        "anticipatory": {"mean": 34.0, "between_sd": 6.0, "residual_sd": 4.0, "change": 4.0},
        "consummatory": {"mean": 30.0, "between_sd": 5.0, "residual_sd": 4.0, "change": 3.0},
    },
    "m3vas": {
        "mood": {"mean": 62.0, "between_sd": 12.0, "residual_sd": 10.0, "change": -25.0},
        "anhedonia": {"mean": 60.0, "between_sd": 12.0, "residual_sd": 10.0, "change": -20.0},
        "suicidal_ideation": {
            "mean": 28.0,
            "between_sd": 15.0,
            "residual_sd": 10.0,
            "change": -12.0,
        },
    },
    "cadss": {
        "total": {
            "mean": 2.0,
            "between_sd": 2.0,
            "residual_sd": 3.0,
            "change": 0.0,
            "post_change": 14.0,
        }
    },
    "psi": {
        "total": {
            "mean": 8.0,
            "between_sd": 4.0,
            "residual_sd": 4.0,
            "change": 0.0,
            "post_change": 16.0,
        }
    },
}


def load_scale_definitions() -> dict[str, dict]:
    """Scale definitions from the shipped YAML files, keyed by scale id."""
    out = {}
    for scale in SCALES:
        with open(resource("scales", f"{scale}.yaml"), encoding="utf-8") as fh:
            out[scale] = yaml.safe_load(fh)
    return out


def item_numbers(spec, n_items: int) -> list[int]:
    """1-based item numbers of a score definition ('all' or a list)."""
    return list(range(1, n_items + 1)) if spec in (None, "all") else [int(i) for i in spec]


def allocate(
    total: int, lo: np.ndarray, hi: np.ndarray, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Integers x with lo <= x <= hi and sum(x) == total (total clipped to what is possible)."""
    lo = np.asarray(lo, int)
    hi = np.asarray(hi, int)
    total = int(np.clip(total, lo.sum(), hi.sum()))
    x = lo.copy()
    while (rest := total - int(x.sum())) > 0:
        room = hi - x
        w = weights * (room > 0)
        draw = rng.multinomial(rest, w / w.sum())
        x += np.minimum(draw, room)
    return x


@dataclass
class Rating:
    """One questionnaire/interview: raw items (n/a as NaN) and the true scores."""

    items: np.ndarray  # raw item values, float with NaN for missing
    scores: dict[str, float]


def build_items(defn: dict, targets: dict[str, float], rng: np.random.Generator) -> Rating:
    """Items whose recoded values give the target scores under the scale's own rules."""
    n = int(defn["items"])
    lo_v, hi_v = defn["item_min"], defn["item_max"]
    integer = bool(defn.get("integer", True))
    recoded = np.full(n, np.nan)
    scores: dict[str, float] = {}
    weights = rng.gamma(4.0, 1.0, n)
    for name, target in targets.items():
        rule = defn["scores"][name]
        items = item_numbers(rule.get("items"), n)
        idx = np.array(items) - 1
        kind = rule["rule"]
        if kind == "sum":
            vals = allocate(
                int(round(target)),
                np.full(idx.size, lo_v),
                np.full(idx.size, hi_v),
                weights[idx],
                rng,
            )
            recoded[idx] = vals
            scores[name] = float(vals.sum())
        elif kind == "item":
            value = float(np.clip(round(target) if integer else round(2 * target) / 2, lo_v, hi_v))
            recoded[idx[0]] = value
            scores[name] = value
        elif kind == "max_of_groups":
            groups = [np.array(g) - 1 for g in rule["groups"]]
            grouped = {i for g in groups for i in g}
            singles = [np.array([i]) for i in idx if i not in grouped]
            domains = groups + singles
            dvals = allocate(
                int(round(target)),
                np.full(len(domains), lo_v),
                np.full(len(domains), hi_v),
                rng.gamma(4.0, 1.0, len(domains)),
                rng,
            )
            for d, v in zip(domains, dvals, strict=True):
                recoded[d] = rng.integers(lo_v, v + 1, size=d.size)
                recoded[d[rng.integers(d.size)]] = v
            scores[name] = float(dvals.sum())
        elif kind == "count_at_least":
            thr = rule["threshold"]
            k = int(np.clip(round(target), 0, idx.size))
            chosen = rng.permutation(idx)[:k]
            recoded[idx] = rng.integers(lo_v, thr, size=idx.size)
            recoded[chosen] = rng.integers(thr, hi_v + 1, size=k)
            scores[name] = float(k)
        else:
            raise ValueError(f"{defn['id']}: cannot simulate score rule '{kind}'")
    untouched = np.isnan(recoded)
    recoded[untouched] = rng.integers(lo_v, hi_v + 1, size=int(untouched.sum()))
    for name, rule in defn["scores"].items():
        if name not in scores and rule["rule"] == "sum":
            scores[name] = float(recoded[np.array(item_numbers(rule.get("items"), n)) - 1].sum())
    raw = recoded.copy()
    rev = np.array(defn.get("reverse_items") or [], int) - 1
    raw[rev] = lo_v + hi_v - recoded[rev]
    return Rating(items=raw, scores=scores)


def madrs_targets(
    session: Session, fx: ParticipantEffects, params: dict, rng: np.random.Generator
) -> dict[str, tuple[float, float, float]]:
    """MADRS total per timepoint: (value, expected value, reduction ratio to placebo mean)."""
    eff = params["effects"]
    period = eff["madrs_period2"] if session.period == 2 else 0.0
    pre_exp = eff["madrs_pre_mean"] + period
    att = eff["madrs_attenuation"] if session.condition == "naltrexone" else 0.0
    red_exp = eff["madrs_reduction_placebo"] * (1.0 - att)
    red = red_exp * (1.0 + eff["madrs_reduction_cv"] * fx.madrs_response_z)
    pre = pre_exp + fx.madrs_intercept + rng.normal(0.0, eff["madrs_residual_sd"])
    day1 = pre_exp + fx.madrs_intercept - red + rng.normal(0.0, eff["madrs_residual_sd"])
    ratio = red / eff["madrs_reduction_placebo"]
    noise_free = pre_exp + fx.madrs_intercept
    return {
        "pre": (pre, pre_exp, ratio),
        "day1": (day1, pre_exp - red_exp, ratio),
        "noise_free": (noise_free, noise_free - red, red),
    }


def simulate_ratings(
    sessions: list[Session],
    effects: dict[str, ParticipantEffects],
    params: dict,
    definitions: dict[str, dict],
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame]:
    """Item tables per scale (the phenotype layout of docs/input-data.md), a long truth table
    of scores and the noise-free MADRS course per session (pre, day 1, reduction, % change)."""
    rows: dict[str, list] = {s: [] for s in SCALES}
    truth = []
    madrs_course = []
    miss = params["missing"]
    scale_params = params["clinical"]
    for ses in sessions:
        p = ses.participant
        fx = effects[p.participant_id]
        rng = rng_for(params["seed"], STREAM_CLINICAL, p.index, ses.index)
        madrs = madrs_targets(ses, fx, params, rng)
        pre_nf, day1_nf, red_nf = madrs["noise_free"]
        madrs_course.append(
            {
                "participant_id": p.participant_id,
                "session_id": ses.session_id,
                "condition": ses.condition,
                "period": ses.period,
                "madrs_pre": pre_nf,
                "madrs_day1": day1_nf,
                "reduction": red_nf,
                "pct_change": -100.0 * red_nf / pre_nf,
            }
        )
        severity = fx.madrs_intercept / max(params["effects"]["madrs_between_sd"], 1e-9)
        for scale in SCALES:
            defn = definitions[scale]
            for tp in defn["timepoints"]:
                if scale == "madrs":
                    value, expected, _ = madrs[tp]
                    targets = {"total": value}
                    expected_scores = {"total": expected}
                else:
                    ratio = madrs["day1"][2]
                    targets, expected_scores = {}, {}
                    for name, sp in scale_params[scale].items():
                        post = sp.get("post_change", 0.0) if tp == "post" else 0.0
                        shift = sp["change"] * (ratio if tp == "day1" else 0.0) + post
                        exp_shift = post + sp["change"] * (
                            (1 - params["effects"]["madrs_attenuation"])
                            if (tp == "day1" and ses.condition == "naltrexone")
                            else (1.0 if tp == "day1" else 0.0)
                        )
                        targets[name] = (
                            sp["mean"]
                            + sp["between_sd"] * severity
                            + shift
                            + rng.normal(0.0, sp["residual_sd"])
                        )
                        expected_scores[name] = sp["mean"] + exp_shift
                rating = build_items(defn, targets, rng)
                items = rating.items.copy()
                n_missing = _apply_missing(scale, tp, defn, items, miss, rng)
                rows[scale].append([p.participant_id, ses.session_id, tp, *items])
                for name, score in rating.scores.items():
                    truth.append(
                        {
                            "participant_id": p.participant_id,
                            "session_id": ses.session_id,
                            "condition": ses.condition,
                            "period": ses.period,
                            "timepoint": tp,
                            "scale": scale,
                            "subscale": name,
                            "score": score,
                            "expected_score": expected_scores.get(name, np.nan),
                            "n_items_missing": n_missing,
                        }
                    )
    tables = {}
    for scale in SCALES:
        n = int(definitions[scale]["items"])
        cols = ["participant_id", "session_id", "timepoint"] + [
            f"{scale}_{i:02d}" for i in range(1, n + 1)
        ]
        df = pd.DataFrame(rows[scale], columns=cols)
        item_cols = cols[3:]
        df[item_cols] = df[item_cols].astype(
            "Float64" if not definitions[scale].get("integer", True) else "Int64"
        )
        tables[scale] = df
    return tables, pd.DataFrame(truth), pd.DataFrame(madrs_course)


def _apply_missing(
    scale: str, tp: str, defn: dict, items: np.ndarray, miss: dict, rng: np.random.Generator
) -> int:
    """Blank items in place: sporadic item non-response, and TEPS anticipatory at pre."""
    n = items.size
    drop = rng.random(n) < miss["item_fraction"]
    if scale == "teps" and tp == "pre" and rng.random() < miss["teps_anticipatory_pre_fraction"]:
        ant = np.array(item_numbers(defn["scores"]["anticipatory"].get("items"), n)) - 1
        k = int(rng.integers(1, 4))
        drop[rng.permutation(ant)[:k]] = True
    items[drop] = np.nan
    return int(drop.sum())
