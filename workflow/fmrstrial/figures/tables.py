"""Reporting tables: Table 1 (demographics and baseline scores by sequence)."""

from __future__ import annotations

import numpy as np
import pandas as pd

BASELINE_SCORES = (
    ("madrs", "total", "MADRS total"),
    ("qids_sr16", "total", "QIDS-SR16 total"),
    ("shaps", "total", "SHAPS (0-14)"),
    ("teps", "anticipatory", "TEPS anticipatory"),
    ("teps", "consummatory", "TEPS consummatory"),
    ("m3vas", "mood", "M3VAS mood"),
)


def _mean_sd(x: pd.Series, digits: int = 1) -> str:
    x = pd.to_numeric(x, errors="coerce").dropna()
    if x.empty:
        return "n/a"
    sd = x.std(ddof=1) if len(x) > 1 else np.nan
    return f"{x.mean():.{digits}f} ({sd:.{digits}f})" + ("" if len(x) else "")


def table1(participants: pd.DataFrame, clinical: pd.DataFrame) -> pd.DataFrame:
    """One row per characteristic, a column per sequence (PN, NP) and one for all.

    Baseline scores are the pre-infusion ratings of period 1 (before any pretreatment of
    the trial). Values: n, mean (SD), or n (%).
    """
    pre = clinical[(clinical["timepoint"] == "pre") & (clinical["period"].astype(int) == 1)]
    groups = [
        ("PN", participants[participants["sequence"] == "PN"]),
        ("NP", participants[participants["sequence"] == "NP"]),
        ("all", participants),
    ]
    rows = []
    for label, fn in (
        ("participants, n", lambda p, _: str(len(p))),
        (
            "female, n (%)",
            lambda p, _: f"{(p['sex'] == 'F').sum()} ({100 * (p['sex'] == 'F').mean():.0f} %)",
        ),
        ("age, years, mean (SD)", lambda p, _: _mean_sd(p["age"])),
    ):
        rows.append({"characteristic": label, **{g: fn(p, None) for g, p in groups}})
    for scale, sub, label in BASELINE_SCORES:
        s = pre[(pre["scale"] == scale) & (pre["subscale"] == sub)]
        row = {"characteristic": f"{label}, pre-infusion period 1, mean (SD)"}
        for g, p in groups:
            row[g] = _mean_sd(s[s["participant_id"].isin(p["participant_id"])]["score"])
        rows.append(row)
    return pd.DataFrame(rows, columns=["characteristic", "PN", "NP", "all"])
