"""`fmrstrial power`: power and sample size of the next trial from a fitted one (or the config)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..figures.style import save_as
from ..io.config import load_section
from .plot import power_curve
from .run import OUTPUT_FILES, compute, load_params, write_outputs
from .settings import resolve


def run_power(settings: dict, models: dict, paths: dict) -> None:
    """Compute everything and write paths[key] for key in run.OUTPUT_FILES plus the figure
    (paths['png'], paths['pdf'])."""
    res = compute(settings, load_params(settings, models))
    write_outputs(res, paths)
    save_as(power_curve(res.table, res.sample_sizes), paths["png"], paths["pdf"])


def output_paths(out_dir, figures_dir=None, stem: str = "power_curve") -> dict[str, Path]:
    """The command line's layout: OUTPUT_FILES in out_dir, <stem>.png/.pdf in figures_dir
    (default out_dir)."""
    figures = Path(figures_dir) if figures_dir else Path(out_dir)
    paths = {key: Path(out_dir) / name for key, name in OUTPUT_FILES.items()}
    return {**paths, "png": figures / f"{stem}.png", "pdf": figures / f"{stem}.pdf"}


def model_paths(settings: dict, stats_dir=None, **explicit) -> dict:
    """Model JSON per test: an explicit path, else <stats_dir>/<power.<test>.model>.json,
    else None (the config's values are used)."""
    out = {}
    for test in ("glx", "madrs"):
        model = settings[test]["model"]
        if explicit.get(test):
            out[test] = explicit[test]
        elif stats_dir and model:
            out[test] = str(Path(stats_dir) / f"{model}.json")
        else:
            out[test] = None
    return out


def run(args: argparse.Namespace) -> int:
    overrides = load_section(args.config, "power")
    if args.n_sim is not None:
        overrides = {**overrides, "n_sim": args.n_sim}
    settings = resolve(overrides)
    models = model_paths(settings, args.stats_dir, glx=args.glx_model, madrs=args.madrs_model)
    run_power(settings, models, output_paths(args.out, args.figures))
    print(f"wrote {Path(args.out) / 'power.tsv'} and {Path(args.out) / 'sample_size.tsv'}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "power",
        help="power and sample size for the next trial from a fitted one",
        description=(
            "Power of the Glx condition x phase and MADRS condition x time tests over a range "
            "of sample sizes (and Glx acquisition designs), by simulation of the analysed "
            "table with the findings' LMM and Satterthwaite F test, with an analytic "
            "cross-check. Effects and variances come from results/stats/<model>.json "
            "(--glx-model, --madrs-model) or from the config's 'power:' section."
        ),
    )
    p.add_argument("--glx-model", help="results/stats/glx_condition_infusion.json (fitted)")
    p.add_argument("--madrs-model", help="results/stats/madrs_condition_by_time.json (fitted)")
    p.add_argument(
        "--stats-dir",
        help="folder of the fitted models (results/stats); reads power.<test>.model + '.json'",
    )
    p.add_argument("--config", help="YAML with a 'power:' section (or the workflow config)")
    p.add_argument("--n-sim", type=int, help="simulated trials per N (overrides the config)")
    p.add_argument("--out", required=True, help="output folder (power.tsv, sample_size.tsv, ...)")
    p.add_argument("--figures", help="folder of power_curve.png/.pdf (default: --out)")
    p.set_defaults(func=run)
