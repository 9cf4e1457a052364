"""Provenance manifest and the final privacy scan of results/."""


rule provenance:
    input:
        dataset=dataset_tables()
        + phenotype_tables(present_scales())
        + dataset_spectra(),
        basis=basis_file(),
        workflow=workflow_files(),
    output:
        manifest=report(
            "results/provenance/manifest.json",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        "results/logs/provenance.log",
    conda:
        "../../envs/simulate.yaml"
    params:
        dataset=str(DATASET),
        config=sanitised_config(),
        repo=workflow.basedir,
    script:
        "../scripts/provenance.py"


rule privacy_check:
    input:
        final_outputs(),
    output:
        report="results/provenance/privacy.json",
    log:
        "results/logs/privacy_check.log",
    conda:
        "../../envs/simulate.yaml"
    params:
        results="results",
        dataset=str(DATASET),
        repository=repository_path(),
    script:
        "../scripts/privacy_check.py"
