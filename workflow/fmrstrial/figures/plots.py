"""Figures of the trial's findings. Each function takes tables and returns a Figure.

Sizes are in inches (FIGSIZE); conditions keep their colours everywhere (style.py).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt

from .style import CONDITION_COLOURS, NEUTRAL, PUBLISHED_COLOUR, TRUTH_COLOUR, apply
from .style import HIGHLIGHT as HIGHLIGHT_COLOUR

CONDITIONS = ("placebo", "naltrexone")
FIGSIZE = {
    "glx_timecourse": (6.5, 3.6),
    "madrs_prepost": (6.5, 3.6),
    "forest": (7.0, 6.5),
    "glx_by_sex": (6.5, 3.2),
    "selfreport": (7.0, 5.0),
}


def _sem(x: pd.Series) -> float:
    x = x.dropna()
    return float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else np.nan


def _passing(glx: pd.DataFrame) -> pd.DataFrame:
    return glx[glx["qc_pass"].astype(str).str.lower().isin(["true", "1"])]


def glx_timecourse(glx: pd.DataFrame, response: str = "glx_tnaa") -> plt.Figure:
    """Mean ± SEM per block and condition, faint session traces, infusion start marked."""
    apply()
    glx = _passing(glx)
    fig, ax = plt.subplots(figsize=FIGSIZE["glx_timecourse"], layout="constrained")
    for cond in CONDITIONS:
        g = glx[glx["condition"] == cond]
        colour = CONDITION_COLOURS[cond]
        for _, s in g.groupby(["participant_id", "session_id"]):
            s = s.sort_values("t_mid_min")
            ax.plot(s["t_mid_min"], s[response], color=colour, alpha=0.12, lw=0.7)
        stats = (
            g.groupby("block")
            .agg(t=("t_mid_min", "mean"), mean=(response, "mean"), sem=(response, _sem))
            .sort_values("t")
        )
        ax.errorbar(
            stats["t"],
            stats["mean"],
            yerr=stats["sem"],
            color=colour,
            lw=2,
            marker="o",
            ms=4,
            capsize=2,
            label=f"{cond} (mean ± SEM)",
        )
    ax.axvline(0.0, color=NEUTRAL, ls="--", lw=1)
    ax.annotate(
        "infusion start",
        xy=(0.0, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(3, -10),
        textcoords="offset points",
        fontsize=8,
        color=NEUTRAL,
    )
    ax.set_xlabel("Time from infusion start (min)")
    ax.set_ylabel("Glx/tNAA" if response == "glx_tnaa" else response)
    ax.legend(loc="lower right", frameon=False)
    return fig


def madrs_prepost(madrs: pd.DataFrame, attenuation: pd.Series | None = None) -> plt.Figure:
    """MADRS before and on day 1 per condition, with per-participant lines.

    madrs: rows of clinical.tsv for MADRS total (participant_id, condition, timepoint, score);
    attenuation: the madrs_attenuation_pct finding row (estimate, ci_low, ci_high).
    """
    apply()
    fig, axes = plt.subplots(
        1, 2, figsize=FIGSIZE["madrs_prepost"], sharey=True, layout="constrained"
    )
    for ax, cond in zip(axes, CONDITIONS, strict=True):
        d = madrs[(madrs["condition"] == cond) & madrs["timepoint"].isin(["pre", "day1"])]
        wide = d.pivot_table(index="participant_id", columns="timepoint", values="score")
        colour = CONDITION_COLOURS[cond]
        for _, row in wide.iterrows():
            ax.plot([0, 1], [row.get("pre"), row.get("day1")], color=colour, alpha=0.25, lw=0.8)
        means = [wide["pre"].mean(), wide["day1"].mean()]
        sems = [_sem(wide["pre"]), _sem(wide["day1"])]
        ax.errorbar([0, 1], means, yerr=sems, color=colour, lw=2.5, marker="o", capsize=3)
        ax.set_xticks([0, 1], ["pre-infusion", "day 1"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(f"{cond}: change {means[1] - means[0]:+.1f} points")
    axes[0].set_ylabel("MADRS total (points)")
    if attenuation is not None:
        fig.suptitle(
            f"Day-1 reduction {attenuation['estimate']:.0f} % smaller after "
            f"naltrexone (95 % CI {attenuation['ci_low']:.0f} to "
            f"{attenuation['ci_high']:.0f} %)",
            fontsize=9,
        )
    return fig


def _published_number(text: str) -> float | None:
    """The number in 'about 28 %' (None for F statistics and directions)."""
    if not isinstance(text, str) or "F(" in text:
        return None
    m = re.search(r"(-?\d+(?:\.\d+)?)\s*%", text)
    return float(m.group(1)) if m else None


def forest(findings: pd.DataFrame) -> plt.Figure:
    """One row per finding in its own units: estimate and 95 % CI, truth, published value."""
    apply()
    rows = findings.dropna(subset=["estimate"]).reset_index(drop=True)
    n = len(rows)
    if n == 0:
        fig, ax = plt.subplots(figsize=(FIGSIZE["forest"][0], 2.0), layout="constrained")
        _not_available(ax, "Findings", "no finding could be estimated on these data")
        return fig
    models = rows["model"].astype(str) if "model" in rows else pd.Series("", index=rows.index)
    second = rows["term"].where(models == "association", rows["outcome"]).astype(str)
    labels = rows["finding_id"].astype(str) + "\n" + second
    # rows alike but for their model (e.g. crossover_period of two models) name it
    labels = labels.where(~labels.duplicated(keep=False), labels + "\n(" + models + ")")
    fig, axes = plt.subplots(
        n,
        1,
        figsize=(FIGSIZE["forest"][0], max(2.0, 0.42 * n + 0.8)),
        layout="constrained",
        squeeze=False,
    )
    for ax, (_, r), label in zip(axes[:, 0], rows.iterrows(), labels, strict=True):
        ax.errorbar(
            [r["estimate"]],
            [0],
            xerr=[[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]],
            fmt="o",
            color="black",
            ms=4,
            capsize=2,
            lw=1.2,
        )
        values = [r["ci_low"], r["ci_high"], r["estimate"], 0.0]
        if pd.notna(r.get("truth")):
            ax.plot([r["truth"]], [0], marker="D", color=TRUTH_COLOUR, ms=5, ls="none")
            values.append(r["truth"])
        pub = _published_number(r.get("published"))
        if pub is not None:
            ax.plot([pub], [0], marker="^", color=PUBLISHED_COLOUR, ms=6, ls="none")
            values.append(pub)
        lo, hi = np.nanmin(values), np.nanmax(values)
        pad = 0.15 * (hi - lo or 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        ax.axvline(0.0, color=NEUTRAL, lw=0.6, ls=":")
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="x", labelsize=7, pad=1)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
        ax.text(
            1.01,
            0.5,
            str(r.get("published", "")),
            transform=ax.transAxes,
            fontsize=6.5,
            va="center",
            ha="left",
            color=PUBLISHED_COLOUR,
            wrap=True,
        )
    handles = [
        plt.Line2D([], [], marker="o", color="black", ls="none", label="estimate, 95 % CI"),
        plt.Line2D(
            [], [], marker="D", color=TRUTH_COLOUR, ls="none", label="true value (simulated data)"
        ),
        plt.Line2D([], [], marker="^", color=PUBLISHED_COLOUR, ls="none", label="published value"),
    ]
    if "truth" not in rows or rows["truth"].isna().all():
        del handles[1]  # real data: no true values to show
    fig.legend(
        handles=handles, loc="outside lower center", ncol=len(handles), frameon=False, fontsize=7
    )
    return fig


def glx_by_sex(glx: pd.DataFrame, response: str = "glx_tnaa") -> plt.Figure:
    """Glx/tNAA response (infusion minus baseline mean) per participant, by sex and condition."""
    apply()
    glx = _passing(glx)
    means = glx.groupby(["participant_id", "sex", "condition", "phase"])[response].mean()
    resp = (
        (means.xs("infusion", level="phase") - means.xs("baseline", level="phase"))
        .rename("response")
        .reset_index()
    )
    fig, axes = plt.subplots(1, 2, figsize=FIGSIZE["glx_by_sex"], sharey=True, layout="constrained")
    for ax, sex in zip(axes, ("F", "M"), strict=True):
        d = resp[resp["sex"] == sex]
        for k, cond in enumerate(CONDITIONS):
            v = d[d["condition"] == cond]["response"]
            x = np.full(len(v), k) + np.linspace(-0.12, 0.12, len(v)) if len(v) else []
            ax.plot(x, v, "o", color=CONDITION_COLOURS[cond], alpha=0.45, ms=3.5)
            ax.errorbar(
                [k + 0.3],
                [v.mean()],
                yerr=[_sem(v)],
                fmt="s",
                color=CONDITION_COLOURS[cond],
                ms=6,
                capsize=3,
            )
        ax.axhline(0.0, color=NEUTRAL, lw=0.6, ls=":")
        ax.set_xticks([0, 1], list(CONDITIONS))
        ax.set_xlim(-0.5, 1.6)
        ax.set_title({"F": "female", "M": "male"}[sex] + f" (n = {d['participant_id'].nunique()})")
    axes[0].set_ylabel("Glx/tNAA change during infusion")
    return fig


SELFREPORT = (
    ("qids_sr16", "total", "QIDS-SR16 total"),
    ("m3vas", "mood", "M3VAS mood (0-100)"),
    ("shaps", "total", "SHAPS (0-14)"),
    ("teps", "anticipatory", "TEPS anticipatory"),
)


def _not_available(ax, label: str, reason: str) -> None:
    """An empty panel that says why there is nothing to show."""
    ax.text(
        0.5,
        0.5,
        f"{label}\nnot available\n({reason})",
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=8,
        color=NEUTRAL,
        wrap=True,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def selfreport(clinical: pd.DataFrame) -> plt.Figure:
    """Self-report scales before and on day 1, mean ± SEM by condition.

    A scale with no scores in `clinical` (its phenotype table is not in the dataset) gets a
    panel saying it is not available.
    """
    apply()
    fig, axes = plt.subplots(2, 2, figsize=FIGSIZE["selfreport"], layout="constrained")
    legend_ax = None
    for ax, (scale, sub, label) in zip(axes.ravel(), SELFREPORT, strict=True):
        d = clinical[(clinical["scale"] == scale) & (clinical["subscale"] == sub)]
        if d["score"].notna().sum() == 0:
            scored = (clinical["scale"] == scale).any()
            why = "no scores" if scored else f"phenotype/{scale}.tsv not in the dataset"
            _not_available(ax, label, why)
            continue
        legend_ax = legend_ax or ax
        for k, cond in enumerate(CONDITIONS):
            g = d[d["condition"] == cond].groupby("timepoint")["score"]
            means = [g.mean().get(t, np.nan) for t in ("pre", "day1")]
            sems = [
                _sem(d[(d["condition"] == cond) & (d["timepoint"] == t)]["score"])
                for t in ("pre", "day1")
            ]
            ax.errorbar(
                np.array([0, 1]) + 0.05 * (2 * k - 1),
                means,
                yerr=sems,
                marker="o",
                capsize=3,
                color=CONDITION_COLOURS[cond],
                label=cond,
            )
        ax.set_xticks([0, 1], ["pre-infusion", "day 1"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_ylabel(label)
    if legend_ax is not None:
        legend_ax.legend(frameon=False)
    return fig


FIGSIZE.update(
    {"spectrum_fit": (6.5, 5.0), "qc_distributions": (7.0, 2.6), "frequency_drift": (6.5, 3.2)}
)


def spectrum_fit(result, title: str = "") -> plt.Figure:
    """One block's spectrum: data, fit, baseline, residual and Glu/Gln/NAA components.

    result: a fmrstrial.fit FitResult (spectra with the fitted phase removed).
    """
    apply()
    fig, ax = plt.subplots(figsize=FIGSIZE["spectrum_fit"], layout="constrained")
    ppm = result.ppm
    data, fit, base = result.data.real, result.fit.real, result.baseline.real
    scale = float(np.max(np.abs(fit))) or 1.0
    ax.plot(ppm, data, color="black", lw=0.8, label="data")
    ax.plot(ppm, fit, color=CONDITION_COLOURS["naltrexone"], lw=1.2, label="fit")
    ax.plot(ppm, base, color=NEUTRAL, lw=1.0, ls="--", label="baseline")
    top = max(float(np.max(data)), float(np.max(fit)))
    ax.plot(ppm, data - fit + top + 0.2 * scale, color="0.45", lw=0.7, label="residual (offset)")
    low = min(float(np.min(data)), float(np.min(base)))
    colours = {"NAA": TRUTH_COLOUR, "Glu": CONDITION_COLOURS["placebo"], "Gln": PUBLISHED_COLOUR}
    for k, name in enumerate(("NAA", "Glu", "Gln")):
        if name in result.names:
            comp = result.components[:, result.names.index(name)].real
            ax.plot(
                ppm,
                comp + low - (0.45 * k + 0.45) * scale,
                color=colours[name],
                lw=1.0,
                label=f"{name} (offset)",
            )
    ax.set_xlim(float(ppm.max()), float(ppm.min()))
    ax.set_xlabel("Chemical shift (ppm)")
    ax.set_ylabel("Signal (a.u., real part)")
    ax.set_yticks([])
    glx = result.ratios.get("Glx/tNAA")
    if glx is not None:
        title += f"  Glx/tNAA {glx.value:.3f} ± {glx.sd:.3f} (CRLB)"
    ax.set_title(title.strip())
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncol=2)
    return fig


def qc_distributions(glx: pd.DataFrame, qc: dict) -> plt.Figure:
    """Histograms of block SNR, NAA FWHM and Glx CRLB with the exclusion thresholds."""
    apply()
    fig, axes = plt.subplots(1, 3, figsize=FIGSIZE["qc_distributions"], layout="constrained")
    spec = (
        ("snr", "NAA SNR (block)", qc["min_snr"], "min"),
        ("fwhm_hz", "NAA FWHM (Hz)", qc["max_fwhm_hz"], "max"),
        ("glx_crlb_pct", "Glx CRLB (%)", qc["max_glx_crlb_pct"], "max"),
    )
    for ax, (col, label, limit, kind) in zip(axes, spec, strict=True):
        values = pd.to_numeric(glx[col], errors="coerce").dropna()
        ax.hist(values, bins=25, color=NEUTRAL, alpha=0.8)
        ax.axvline(limit, color=HIGHLIGHT_COLOUR, lw=1.5, ls="--")
        ax.annotate(
            f"{kind} {limit:g}",
            xy=(limit, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -10),
            textcoords="offset points",
            fontsize=7,
            color=HIGHLIGHT_COLOUR,
        )
        ax.set_xlabel(label)
    axes[0].set_ylabel("Blocks")
    return fig


def frequency_drift(transients: pd.DataFrame) -> plt.Figure:
    """Frequency offset of every transient against time from infusion start, all sessions.

    transients: concatenated transients_qc.tsv tables with participant_id, session_id,
    condition, time_s (relative to infusion start), freq_offset_hz, excluded.
    """
    apply()
    fig, ax = plt.subplots(figsize=FIGSIZE["frequency_drift"], layout="constrained")
    for (_, _, cond), s in transients.groupby(["participant_id", "session_id", "condition"]):
        kept = s[s["excluded"].astype(int) == 0]
        ax.plot(
            kept["time_s"] / 60.0,
            kept["freq_offset_hz"] - kept["freq_offset_hz"].iloc[0],
            color=CONDITION_COLOURS[cond],
            alpha=0.25,
            lw=0.6,
        )
    ax.axvline(0.0, color=NEUTRAL, ls="--", lw=1)
    ax.set_xlabel("Time from infusion start (min)")
    ax.set_ylabel("Frequency offset from first transient (Hz)")
    handles = [plt.Line2D([], [], color=CONDITION_COLOURS[c], label=c) for c in CONDITIONS]
    ax.legend(handles=handles, frameon=False, loc="lower left")
    return fig
