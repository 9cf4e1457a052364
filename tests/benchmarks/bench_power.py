"""Power analysis: agreement with brute force and with the analytic approximation, and speed.

    python tests/benchmarks/bench_power.py [--brute-force 20] [--large 20000] [--repeats 3]

1. Brute force. The 20-trial calibration benchmark (bench_stats_calibration.py: seeds
   1000-1019, the full simulator, MADRS through the real scoring chain, Glx from truth-level
   block time courses with block noise SD 0.024) is re-run here trial by trial (same seeds,
   same code; ``--brute-force 0`` skips it and uses the counts the README reports, 11/20 and
   14/20). The demo's parameters for the power analysis are what those fitted trials show:
   the mean fitted participant and residual SD of each model and the mean true coefficient
   (the findings' ``truth``). The predicted power at N = 26 (table-level simulation with
   ``--large`` trials, and the analytic approximation) is compared with the brute-force
   rejection rate and its 95 % Clopper-Pearson interval.
2. Simulation vs analytic: ``--large`` simulated trials at N = 26 (and with 10 % dropout and
   10 % block exclusion) against the non-central F approximation (target: within 3 points).
3. Speed: 1,000 simulated trials of 26 participants generated and analysed (REML +
   Satterthwaite F), median of ``--repeats`` runs per test (target <= 60 s), against the
   general fit (fmrstrial.lmm.fit_lmm: statsmodels + Newton refinement) on 10 of the same
   trials, extrapolated to 1,000, measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from fmrstrial.lmm import fit_lmm
from fmrstrial.power.analytic import analytic_power
from fmrstrial.power.design import Scenario, build_template, table
from fmrstrial.power.params import from_config
from fmrstrial.power.simulate import clopper_pearson, draw, simulate_power
from fmrstrial.stats.models import factors_for

HERE = Path(__file__).resolve().parent


MODELS = {"glx": "glx_condition_infusion", "madrs": "madrs_condition_by_time"}
#: Rejections at p < 0.05 in the README's calibration run (20 trials, seeds 1000-1019).
README_REJECTIONS = {"glx": 11, "madrs": 14}


def _calibration_module():
    spec = importlib.util.spec_from_file_location("calib", HERE / "bench_stats_calibration.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def brute_force(trials: int, first_seed: int = 1000, noise_sd: float = 0.024) -> dict:
    """Run the calibration chain; per test: p-values, fitted SDs and true coefficients."""
    calib = _calibration_module()
    from fmrstrial.clinical import score_dataset, write_outputs
    from fmrstrial.io.tsv import write_tsv
    from fmrstrial.simulate import resolve as sim_resolve
    from fmrstrial.simulate import simulate_trial
    from fmrstrial.stats import resolve
    from fmrstrial.steps.stats import compute

    settings = resolve({"bootstrap": {"n": 500, "seed": 1}})
    out = {t: {"p": [], "tau": [], "sigma": [], "truth": [], "n_obs": []} for t in MODELS}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(trials):
            seed = first_seed + k
            ds = Path(tmp) / f"trial{k}"
            simulate_trial(ds, sim_resolve({"seed": seed, "acquisition": {"points": 256}}), jobs=2)
            tables = Path(tmp) / f"tables{k}"
            write_outputs(score_dataset(ds), tables)
            write_tsv(
                calib.glx_table(ds, noise_sd, np.random.default_rng(seed)),
                tables / "glx_timecourse.tsv",
            )
            stats_dir = Path(tmp) / f"stats{k}"
            compute(
                ds / "participants.tsv",
                stats_dir,
                settings,
                glx=tables / "glx_timecourse.tsv",
                clinical=tables / "clinical.tsv",
                truth_dir=ds / "derivatives/truth",
            )
            for test, model in MODELS.items():
                doc = json.loads((stats_dir / f"{model}.json").read_text())
                anova = {r["term"]: r for r in doc["fit"]["anova"]["typeIII_satterthwaite"]}
                comps = {c["group"]: c["sd"] for c in doc["fit"]["variance_components"]}
                out[test]["p"].append(anova[doc["term"]]["p"])
                out[test]["tau"].append(comps["participant_id"])
                out[test]["sigma"].append(comps["Residual"])
                out[test]["truth"].append(doc["truth"])
                out[test]["n_obs"].append(doc["n_obs"])
            shutil.rmtree(ds)
            print(f"  brute force trial {k + 1}/{trials} ({time.perf_counter() - start:.0f} s)")
    return out


def demo_params(bf: dict | None) -> dict:
    """Effect and SDs per test: means over the brute-force trials (or those recorded)."""
    if bf is None:
        # means over the 20 calibration trials (seeds 1000-1019), measured by this script
        # with --brute-force 20 (docs/power.md)
        return {
            "glx": {"effect": -0.0213, "participant_sd": 0.1301, "residual_sd": 0.03371},
            "madrs": {"effect": 3.92, "participant_sd": 4.025, "residual_sd": 4.41},
        }
    return {
        t: {
            "effect": float(np.mean(v["truth"])),
            "participant_sd": float(np.mean(v["tau"])),
            "residual_sd": float(np.mean(v["sigma"])),
        }
        for t, v in bf.items()
    }


def speed(par, template, repeats: int) -> tuple[float, float]:
    """(median seconds for 1,000 trials, general fit seconds per trial)."""
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        simulate_power(par, template, 1000, seed=100 + r)
        times.append(time.perf_counter() - t0)
    Y, mask = draw(par, template, 10, np.random.default_rng(7))
    frame = table(template.scenario, template.n_participants)
    response = par.formula.split("~")[0].strip()
    t0 = time.perf_counter()
    for r in range(10):
        df = frame.assign(**{response: Y[r].reshape(-1)})[mask[r].reshape(-1)]
        _ = fit_lmm(df, par.formula, factors=factors_for(par.formula, df)).anova
    general = (time.perf_counter() - t0) / 10
    return statistics.median(times), general


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--brute-force", type=int, default=20, help="calibration trials (0: skip)")
    ap.add_argument("--large", type=int, default=20000, help="simulated trials per comparison")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    bf = brute_force(args.brute_force) if args.brute_force > 0 else None
    params = demo_params(bf)
    scen = {"glx": Scenario("glx", 1, 5, 6.0), "madrs": Scenario("madrs")}

    print("\n1. Brute force (calibration chain) vs predicted power at N = 26")
    for test in ("glx", "madrs"):
        par = from_config(test, params[test])
        tpl = build_template(scen[test], 26, par.formula, par.term)
        sim = simulate_power(par, tpl, args.large, seed=1)
        ana = analytic_power(par, tpl)
        if bf is not None:
            k, n = int(np.sum(np.array(bf[test]["p"]) < 0.05)), len(bf[test]["p"])
            extra = (
                f"; fitted n_obs mean {np.mean(bf[test]['n_obs']):.1f}, participant SD "
                f"{params[test]['participant_sd']:.4g}, residual SD "
                f"{params[test]['residual_sd']:.4g}, true effect {params[test]['effect']:.4g}"
            )
        else:
            k, n, extra = README_REJECTIONS[test], 20, " (README counts)"
        lo, hi = clopper_pearson(k, n)
        inside = lo <= sim.power <= hi and lo <= ana["power"] <= hi
        print(
            f"  {test}: brute force {k}/{n} = {k / n:.2f} (95 % CI {lo:.2f}-{hi:.2f}); "
            f"predicted {sim.power:.3f} (simulation, {args.large} trials) and "
            f"{ana['power']:.3f} (analytic): {'inside' if inside else 'OUTSIDE'} the CI{extra}"
        )

    print("\n2. Table-level simulation vs analytic approximation (N = 26)")
    cases = [(0.0, 0.0), (0.1, 0.1)]
    for test in ("glx", "madrs"):
        par = from_config(test, params[test])
        tpl = build_template(scen[test], 26, par.formula, par.term)
        for dropout, excl in cases:
            sim = simulate_power(par, tpl, args.large, 2, 0.05, dropout, excl)
            ana = analytic_power(par, tpl, 0.05, dropout, excl)
            se = np.sqrt(sim.power * (1 - sim.power) / sim.n_sim)
            diff = 100 * (sim.power - ana["power"])
            print(
                f"  {test} dropout {dropout:g}, block exclusion {excl if test == 'glx' else 0:g}:"
                f" simulation {100 * sim.power:.2f} % (MC SE {100 * se:.2f}), analytic "
                f"{100 * ana['power']:.2f} %, difference {diff:+.2f} points "
                f"({'within' if abs(diff) <= 3 else 'BEYOND'} 3); den df median "
                f"{sim.den_df_median:.1f} vs analytic {ana['den_df']:.1f}"
            )

    print(f"\n3. Speed: 1,000 simulated trials of 26 participants (median of {args.repeats})")
    for test in ("glx", "madrs"):
        par = from_config(test, params[test])
        tpl = build_template(scen[test], 26, par.formula, par.term)
        fast, general = speed(par, tpl, args.repeats)
        print(
            f"  {test} ({scen[test].label}): {fast:.2f} s per 1,000 trials (target 60 s); "
            f"general fit_lmm {general * 1000:.0f} ms per trial = {general * 1000:.0f} s per "
            f"1,000; ratio {fast / (general * 1000):.4f}"
        )


if __name__ == "__main__":
    main()
