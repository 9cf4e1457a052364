"""Check the dataset before any analysis (one message per problem).

The declared inputs are the layout tables and the spectra, not the phenotype tables: the
phenotype tables are checked here too (read at run time) and again, item by item, by
clinical scoring, so editing a rating re-runs scoring and statistics but not the spectral
chain that depends on this report.
"""


rule validate_dataset:
    input:
        dataset_tables(),
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
