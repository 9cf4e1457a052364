"""Reporting tables and the figure notebooks (papermill), rendered to HTML."""


rule reporting_tables:
    input:
        tables=dataset_tables(),
        clinical="results/tables/clinical.tsv",
        glx="results/tables/glx_timecourse.tsv",
        acquisition="results/converted/acquisition_parameters.tsv",
        manifest="results/provenance/manifest.json",
    output:
        table1=report(
            "results/tables/table1.tsv",
            caption="../report/table1.rst",
            category="Tables",
        ),
        flow=report(
            "results/tables/participant_flow.tsv",
            caption="../report/participant_flow.rst",
            category="Tables",
        ),
        flow_summary="results/tables/participant_flow_summary.tsv",
        mrsinmrs=report(
            "results/tables/mrsinmrs.tsv",
            caption="../report/mrsinmrs.rst",
            category="Tables",
        ),
    log:
        "results/logs/reporting_tables.log",
    conda:
        "../../envs/stats.yaml"
    params:
        dataset=lambda wildcards, input: str(Path(input.tables[0]).parent),
        config=config,
    script:
        "../scripts/reporting_tables.py"


rule notebook_findings:
    input:
        notebook=workflow_file("workflow/notebooks/findings.ipynb"),
        glx="results/tables/glx_timecourse.tsv",
        clinical="results/tables/clinical.tsv",
        findings="results/stats/findings.tsv",
    output:
        notebook="results/notebooks/findings.ipynb",
        html=report(
            "results/notebooks/findings.html",
            caption="../report/notebook_findings.rst",
            category="Notebooks",
        ),
        figures=figure_outputs(FINDINGS_FIGURES),
    log:
        "results/logs/notebook_findings.log",
    conda:
        "../../envs/figures.yaml"
    params:
        parameters=lambda wildcards, input, output: {
            "glx_timecourse": input.glx,
            "clinical": input.clinical,
            "findings": input.findings,
            "figures": figure_files(output.figures),
            "simulated": bool(truth_dir()),
        },
    script:
        "../scripts/run_notebook.py"


rule notebook_quality:
    input:
        notebook=workflow_file("workflow/notebooks/quality.ipynb"),
        glx="results/tables/glx_timecourse.tsv",
        transients=per_session(PREPROC_OUTPUTS["transients"]),
        blocks=per_session(PREPROC_OUTPUTS["blocks"]),
        basis=basis_file(),
        table1="results/tables/table1.tsv",
        flow="results/tables/participant_flow.tsv",
        flow_summary="results/tables/participant_flow_summary.tsv",
        mrsinmrs="results/tables/mrsinmrs.tsv",
    output:
        notebook="results/notebooks/quality.ipynb",
        html=report(
            "results/notebooks/quality.html",
            caption="../report/notebook_quality.rst",
            category="Notebooks",
        ),
        figures=figure_outputs(QUALITY_FIGURES),
    log:
        "results/logs/notebook_quality.log",
    conda:
        "../../envs/figures.yaml"
    params:
        parameters=lambda wildcards, input, output: {
            "glx_timecourse": input.glx,
            "blocks": by_session(input.blocks),
            "transients": by_session(input.transients),
            "basis": input.basis,
            "fit_settings": fit_settings(),
            "qc": qc_limits(config["qc"], config["preprocess"]),
            "table1": input.table1,
            "flow_summary": input.flow_summary,
            "flow": input.flow,
            "mrsinmrs": input.mrsinmrs,
            "figures": figure_files(output.figures),
            "simulated": bool(truth_dir()),
        },
    script:
        "../scripts/run_notebook.py"
