"""Power curves, sample sizes for the target powers, and the assumptions behind them.

Outputs (``write_outputs``), all deterministic for the same inputs and settings:

- ``power.tsv``: test, design, n_participants, n_sim, n_failed, rejections, power, ci_low,
  ci_high (95 % Clopper-Pearson Monte-Carlo interval), power_analytic, den_df_median (of the
  simulated analyses), den_df_analytic, effect, participant_sd, row_sd.
- ``sample_size.tsv``: test, design, target_power, n_simulation (smallest N whose simulated
  power, and that of every larger simulated N, reaches the target; found on the grid, then
  refined by simulating every N down to the grid point below; n/a if the grid never reaches
  it), power_at_n, ci_low, ci_high (its MC interval), n_analytic (smallest N >= 4 reaching
  the target by the analytic approximation), power_analytic_at_n.
- ``assumptions.json``: every value used, with its source (file and field, or config key).
- ``summary.txt``: the sample sizes with the assumptions written next to them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io.atomic import write_text
from ..io.tables import write_json, write_tsv
from .analytic import analytic_power
from .design import Scenario, build_template
from .params import PowerParams, from_config, from_model
from .settings import MAX_N, TESTS, scenarios
from .simulate import simulate_power

LABELS = {
    "glx": "Glx/tNAA condition x phase",
    "madrs": "MADRS condition x time",
}


@dataclass
class PowerResults:
    table: pd.DataFrame
    sample_sizes: pd.DataFrame
    params: dict[str, PowerParams]
    settings: dict


def load_params(settings: dict, models: dict[str, str | os.PathLike | None]) -> dict:
    """PowerParams per test: from ``models[test]`` (a model JSON) or from the config."""
    out = {}
    for test in TESTS:
        path = models.get(test)
        sub = settings[test]
        out[test] = from_model(test, path, sub) if path else from_config(test, sub)
    return out


def analytic_n(params: PowerParams, scenario: Scenario, target: float, s: dict, cache: dict):
    """Smallest N >= 4 with analytic power >= target (bisection; None beyond MAX_N)."""

    tpl = build_template(scenario, 4, params.formula, params.term)

    def power(n: int) -> float:
        if n not in cache:
            cache[n] = analytic_power(
                params, tpl, s["alpha"], s["dropout"], _exclusion(s, scenario), n
            )["power"]
        return cache[n]

    if power(4) >= target:
        return 4, power(4)
    if power(MAX_N) < target:
        return None, float("nan")
    lo, hi = 4, MAX_N  # power(lo) < target <= power(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if power(mid) >= target else (mid, hi)
    return hi, power(hi)


def simulated_n(params: PowerParams, scenario: Scenario, target: float, s: dict, sims: dict):
    """Smallest N reaching ``target`` by simulation, to the participant.

    On the grid: the smallest N whose simulated power, and that of every larger grid N,
    reaches the target; then every N between it and the grid point below is simulated too
    (added to ``sims``) and the same rule applied. None if the grid never reaches it.
    """

    def first(ns):
        for k, n in enumerate(ns):
            if all(sims[m].power >= target for m in ns[k:]):
                return n
        return None

    grid = sorted(sims)
    n = first(grid)
    if n is None or n == grid[0]:
        return n
    below = grid[grid.index(n) - 1]
    for m in range(below + 1, n):
        if m not in sims and m >= 4:
            tpl = build_template(scenario, m, params.formula, params.term)
            sims[m] = simulate_power(
                params,
                tpl,
                s["n_sim"],
                s["seed"],
                s["alpha"],
                s["dropout"],
                _exclusion(s, scenario),
            )
    return first([m for m in sorted(sims) if m > below])


def _exclusion(s: dict, scenario: Scenario) -> float:
    return float(s["glx"]["block_exclusion"]) if scenario.test == "glx" else 0.0


def compute(settings: dict, params: dict[str, PowerParams]) -> PowerResults:
    """Simulated and analytic power over the N grid for every test and design."""
    rows, sizes = [], []
    grid = sorted(set(settings["participants"]))
    for test in TESTS:
        par = params[test]
        for sc in scenarios(settings)[test]:
            excl = _exclusion(settings, sc)
            curve = []
            for n in grid:
                tpl = build_template(sc, n, par.formula, par.term)
                sim = simulate_power(
                    par,
                    tpl,
                    settings["n_sim"],
                    settings["seed"],
                    settings["alpha"],
                    settings["dropout"],
                    excl,
                )
                ana = analytic_power(par, tpl, settings["alpha"], settings["dropout"], excl)
                lo, hi = sim.ci()
                curve.append(sim)
                rows.append(
                    {
                        "test": test,
                        "design": sc.label,
                        "baseline_blocks": sc.baseline_blocks if test == "glx" else np.nan,
                        "infusion_blocks": sc.infusion_blocks if test == "glx" else np.nan,
                        "block_min": sc.block_min if test == "glx" else np.nan,
                        "n_participants": n,
                        "n_sim": sim.n_sim,
                        "n_failed": sim.n_failed,
                        "rejections": sim.rejections,
                        "power": sim.power,
                        "ci_low": lo,
                        "ci_high": hi,
                        "power_analytic": ana["power"],
                        "den_df_median": sim.den_df_median,
                        "den_df_analytic": ana["den_df"],
                        "effect": par.effect,
                        "participant_sd": par.participant_sd,
                        "row_sd": par.row_sd(sc.block_min if test == "glx" else None),
                    }
                )
            sims = dict(zip(grid, curve, strict=True))
            cache: dict = {}
            for target in settings["targets"]:
                n_sim_t = simulated_n(par, sc, target, settings, sims)
                n_ana, p_ana = analytic_n(par, sc, target, settings, cache)
                hit = sims.get(n_sim_t)
                lo, hi = hit.ci() if hit is not None else (np.nan, np.nan)
                sizes.append(
                    {
                        "test": test,
                        "design": sc.label,
                        "target_power": target,
                        "n_simulation": n_sim_t if n_sim_t is not None else np.nan,
                        "power_at_n": hit.power if hit is not None else np.nan,
                        "ci_low": lo,
                        "ci_high": hi,
                        "n_analytic": n_ana if n_ana is not None else np.nan,
                        "power_analytic_at_n": p_ana,
                    }
                )
    table = pd.DataFrame(rows)
    sample = pd.DataFrame(sizes)
    for col in ("n_simulation", "n_analytic"):
        sample[col] = sample[col].astype("Int64")
    return PowerResults(table, sample, params, settings)


def assumptions(res: PowerResults) -> dict:
    """Every value the results rest on, with its source."""
    s = res.settings
    out = {
        "method": (
            "simulation of the analysed table (random participant intercept, independent "
            "residuals), each replicate analysed by REML with the type III F test and "
            "Satterthwaite denominator df (as the findings); analytic cross-check: non-central "
            "F with the Satterthwaite df of the expected design"
        ),
        "alpha": s["alpha"],
        "n_sim": s["n_sim"],
        "seed": s["seed"],
        "participants": sorted(set(s["participants"])),
        "design": (
            "two-period crossover, sequences PN/NP balanced (one more PN for odd N); every "
            "participant has both sessions unless dropped out"
        ),
        "dropout": {
            "value": s["dropout"],
            "meaning": "probability that a participant misses the period-2 session",
        },
        "tests": {},
    }
    for test, par in res.params.items():
        entry = {
            "label": LABELS[test],
            "formula": par.formula,
            "term": par.term,
            "coefficient": par.coefficient,
            "effect": par.effect,
            "participant_sd": par.participant_sd,
            "residual_sd": par.residual_sd,
            "other_fixed_effects": {k: v for k, v in par.fixed.items() if k != par.coefficient},
            "sources": par.sources,
        }
        if test == "glx":
            entry.update(
                {
                    "block_noise_sd": par.block_noise_sd,
                    "reference_block_min": par.reference_block_min,
                    "block_exclusion": s["glx"]["block_exclusion"],
                    "row_sd_rule": (
                        "row SD^2 = (residual_sd^2 - block_noise_sd^2) + block_noise_sd^2 x "
                        "reference_block_min / block_min; the effect is the same in every "
                        "infusion block and all blocks of a design have the same length"
                    ),
                    "designs": [sc.label for sc in scenarios(s)["glx"]],
                }
            )
        out["tests"][test] = entry
    return out


def summary_text(res: PowerResults) -> str:
    """Plain-text sample sizes with the assumptions next to them."""
    a = assumptions(res)
    lines = [
        "Sample size for the next trial (fmrstrial power)",
        "",
        f"Alpha {a['alpha']}, {a['n_sim']} simulated trials per N (seed {a['seed']}); "
        f"{a['design']}; dropout (period 2 missed) {a['dropout']['value']:g}.",
        "",
    ]
    for test, entry in a["tests"].items():
        lines.append(f"{entry['label']}: {entry['formula']}, term {entry['term']}")
        lines.append(
            f"  assumed effect {entry['effect']:.6g} ({entry['sources']['effect']}); "
            f"participant SD {entry['participant_sd']:.6g}, residual SD "
            f"{entry['residual_sd']:.6g} ({entry['sources']['residual_sd']})"
        )
        if test == "glx":
            noise = entry["block_noise_sd"]
            lines.append(
                f"  block noise SD {'= residual SD' if noise is None else f'{noise:.6g}'} at "
                f"{entry['reference_block_min']:g} min ({entry['sources']['block_noise_sd']}), "
                f"scaled by sqrt(reference length / block length); blocks excluded at random "
                f"with probability {entry['block_exclusion']:g}"
            )
        sub = res.sample_sizes[res.sample_sizes["test"] == test]
        for row in sub.itertuples():
            n_sim = (
                "not reached in the grid"
                if pd.isna(row.n_simulation)
                else (
                    f"N = {row.n_simulation} (simulated power {row.power_at_n:.3f}, 95 % MC CI "
                    f"{row.ci_low:.3f}-{row.ci_high:.3f})"
                )
            )
            n_ana = "n/a" if pd.isna(row.n_analytic) else f"N = {row.n_analytic}"
            lines.append(
                f"  {row.design}: {100 * row.target_power:.0f} % power: {n_sim}; analytic {n_ana}"
            )
        lines.append("")
    lines.append(
        "An effect taken from the fitted trial itself is an estimate: power computed at it "
        "is optimistic when the estimate is inflated (significant pilots usually are); plan "
        "with the smallest effect worth detecting."
    )
    return "\n".join(lines) + "\n"


#: Files written by `write_outputs` (key -> name in the command line's output folder).
OUTPUT_FILES = {
    "table": "power.tsv",
    "sample_size": "sample_size.tsv",
    "assumptions": "assumptions.json",
    "summary": "summary.txt",
}


def write_outputs(res: PowerResults, paths: dict[str, str | os.PathLike]) -> None:
    """The power table, sample sizes, assumptions and summary to paths[key] (OUTPUT_FILES)."""
    write_tsv(res.table, paths["table"], float_format="%.6g")
    write_tsv(res.sample_sizes, paths["sample_size"], float_format="%.6g")
    write_json(assumptions(res), paths["assumptions"])
    write_text(paths["summary"], summary_text(res))
