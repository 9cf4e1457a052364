"""Simulate the embedded demo dataset when it is absent (never touches real data)."""

if SIMULATE:

    rule simulate_demo:
        output:
            dataset_tables(),
            phenotype_tables(),
            dataset_spectra(),
            str(DATASET / "derivatives" / "truth" / "effects.json"),
        params:
            dataset=str(DATASET),
            simulate=config["simulate"],
        log:
            "results/logs/simulate_demo.log",
        benchmark:
            "results/benchmarks/simulate_demo.tsv"
        threads: 2
        conda:
            "../../envs/simulate.yaml"
        script:
            "../scripts/simulate_demo.py"
