"""Clinical scale scores from the item-level phenotype tables."""


rule score_clinical:
    input:
        tables=dataset_tables(),
        phenotype=phenotype_tables(present_scales()),
    output:
        long=report(
            "results/tables/clinical.tsv",
            caption="../report/clinical.rst",
            category="Clinical ratings",
        ),
        wide="results/tables/clinical_wide.tsv",
        madrs="results/tables/clinical_madrs.tsv",
        imputation_record="results/tables/clinical_imputation.tsv",
        imputations="results/tables/clinical_mi.tsv",
    log:
        "results/logs/score_clinical.log",
    benchmark:
        "results/benchmarks/score_clinical.tsv"
    conda:
        "../../envs/stats.yaml"
    params:
        dataset=str(DATASET),
        rules=config["clinical"],
    script:
        "../scripts/score_clinical.py"
