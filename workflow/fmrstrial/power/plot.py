"""Power-curve figure: simulated power (95 % Monte-Carlo CI) and the analytic curve vs N."""

from __future__ import annotations

import pandas as pd
from matplotlib import pyplot as plt

from ..figures.style import HIGHLIGHT, NEUTRAL, TRUTH_COLOUR, apply

#: Design colours (Okabe-Ito, avoiding the condition colours blue and vermillion).
DESIGN_COLOURS = [NEUTRAL, HIGHLIGHT, TRUTH_COLOUR, "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
TITLES = {"glx": "Glx/tNAA: condition x phase", "madrs": "MADRS: condition x time"}


def power_curve(table: pd.DataFrame, sample_sizes: pd.DataFrame) -> plt.Figure:
    """One panel per test; one colour per design; dotted lines at the target powers."""
    apply()
    tests = list(dict.fromkeys(table["test"]))
    fig, axes = plt.subplots(
        1, len(tests), figsize=(3.4 * len(tests), 4.2), layout="constrained", squeeze=False
    )
    for ax, test in zip(axes[0], tests, strict=True):
        sub = table[table["test"] == test]
        for k, (design, g) in enumerate(sub.groupby("design", sort=False)):
            colour = DESIGN_COLOURS[k % len(DESIGN_COLOURS)]
            g = g.sort_values("n_participants")
            ax.plot(g["n_participants"], 100 * g["power_analytic"], color=colour, lw=1.2)
            ax.errorbar(
                g["n_participants"],
                100 * g["power"],
                yerr=[100 * (g["power"] - g["ci_low"]), 100 * (g["ci_high"] - g["power"])],
                fmt="o",
                ms=3,
                color=colour,
                capsize=1.5,
                lw=0.8,
                label=design,
            )
        for target in sorted(set(sample_sizes["target_power"])):
            ax.axhline(100 * target, color=NEUTRAL, lw=0.7, ls=":")
        ax.set_ylim(0, 100)
        ax.set_xlabel("participants (N)")
        ax.set_ylabel("power (%)")
        ax.set_title(TITLES.get(test, test))
        title = "blocks per session (baseline + infusion) x length" if test == "glx" else None
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False, title=title)
    fig.suptitle(
        "points: simulation (95 % Monte-Carlo CI); lines: analytic; dotted: target powers",
        fontsize=8,
        color=NEUTRAL,
    )
    return fig
