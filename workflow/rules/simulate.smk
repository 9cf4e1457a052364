"""Simulate the embedded demo dataset when it is absent (never touches real data)."""

if SIMULATE:

    rule simulate_demo:
        output:
            dataset_tables(),
            phenotype_tables(),
            dataset_spectra(),
            str(DATASET / "derivatives" / "truth" / "effects.json"),
        log:
            "results/logs/simulate_demo.log",
        benchmark:
            "results/benchmarks/simulate_demo.tsv"
        conda:
            "../../envs/simulate.yaml"
        threads: 2
        params:
            dataset=lambda wildcards, output: str(Path(output[0]).parent),
            simulate=config["simulate"],
        script:
            "../scripts/simulate_demo.py"
