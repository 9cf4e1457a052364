"""Snakemake entry point: simulate the demo dataset."""

import _bootstrap  # noqa: F401
from fmrstrial.simulate import resolve, simulate_trial
from fmrstrial.smk import logged

with logged(snakemake.log[0]):  # noqa: F821
    params = resolve(snakemake.params.simulate)  # noqa: F821
    summary = simulate_trial(snakemake.params.dataset, params, jobs=snakemake.threads)  # noqa: F821
    print(f"simulated {summary['participants']} participants, {summary['sessions']} sessions, "
          f"{summary['bytes'] / 1e6:.1f} MB")
