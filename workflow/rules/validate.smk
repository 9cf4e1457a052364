"""Check the dataset before any analysis (one message per problem)."""


rule validate_dataset:
    input:
        dataset_tables(),
        phenotype_tables(config["validation"]["required_scales"]),
        dataset_spectra(),
    output:
        report="results/validation/dataset.json",
    log:
        "results/logs/validate_dataset.log",
    conda:
        "../../envs/simulate.yaml"
    params:
        dataset=lambda wildcards, input: str(Path(input[0]).parent),
        required_scales=config["validation"]["required_scales"],
    script:
        "../scripts/validate_dataset.py"
