"""Snakemake entry point: simulate the demo dataset."""

from fmrstrial.simulate import resolve, simulate_trial
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    params = resolve(snakemake.params.simulate)
    summary = simulate_trial(snakemake.params.dataset, params, jobs=snakemake.threads)
    print(
        f"simulated {summary['participants']} participants, {summary['sessions']} sessions, "
        f"{summary['bytes'] / 1e6:.1f} MB"
    )
