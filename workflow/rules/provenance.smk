"""Provenance manifest and the final privacy scan of results/."""


rule provenance:
    input:
        dataset=dataset_tables()
        + phenotype_tables(present_scales())
        + dataset_spectra(),
        basis=basis_file(),
        workflow=workflow_files(workflow.basedir),
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
        dataset=lambda wildcards, input: str(Path(input.dataset[0]).parent),
        config=sanitised_config(config, DATASET),
        repo=lambda wildcards, input: str(Path(input.workflow[0]).parent),
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
        results=lambda wildcards, output: str(Path(output.report).parent.parent),
        dataset=str(DATASET),
        repository=repository_path(),
    script:
        "../scripts/privacy_check.py"
