"""Check the dataset before any analysis (one message per problem)."""


rule validate_dataset:
    input:
        dataset_tables(),
        phenotype_tables(config["validation"]["required_scales"]),
        dataset_spectra(),
    output:
        report="results/validation/dataset.json",
    params:
        dataset=str(DATASET),
        required_scales=config["validation"]["required_scales"],
    log:
        "results/logs/validate_dataset.log",
    conda:
        "../../envs/simulate.yaml"
    script:
        "../scripts/validate_dataset.py"
