"""Raw spectra (NIfTI-MRS or vendor files) to de-identified, checked NIfTI-MRS.

One job per session converts the metabolite data and, where the session has one, the water
reference (convert_session); sessions without a reference use convert_session_svs_only.
"""


ruleorder: convert_session > convert_session_svs_only


rule convert_session:
    input:
        unpack(lambda w: convert_input(w, with_reference=True)),
    output:
        svs="results/converted/{pid}/{sid}/{pid}_{sid}_svs.nii.gz",
        svs_summary="results/converted/{pid}/{sid}/{pid}_{sid}_svs.json",
        mrsref="results/converted/{pid}/{sid}/{pid}_{sid}_mrsref.nii.gz",
        mrsref_summary="results/converted/{pid}/{sid}/{pid}_{sid}_mrsref.json",
    log:
        "results/logs/convert/{pid}_{sid}.log",
    benchmark:
        "results/benchmarks/convert/{pid}_{sid}.tsv"
    conda:
        "../../envs/convert.yaml"
    params:
        settings=config["convert"],
        require_transients=True,
    script:
        "../scripts/convert.py"


rule convert_session_svs_only:
    input:
        unpack(lambda w: convert_input(w, with_reference=False)),
    output:
        svs="results/converted/{pid}/{sid}/{pid}_{sid}_svs.nii.gz",
        svs_summary="results/converted/{pid}/{sid}/{pid}_{sid}_svs.json",
    log:
        "results/logs/convert/{pid}_{sid}.log",
    benchmark:
        "results/benchmarks/convert/{pid}_{sid}.tsv"
    conda:
        "../../envs/convert.yaml"
    params:
        settings=config["convert"],
        require_transients=True,
    script:
        "../scripts/convert.py"


rule conversion_summary:
    input:
        summaries=conversion_summaries(),
    output:
        table="results/converted/acquisition_parameters.tsv",
        differences="results/converted/acquisition_differences.tsv",
    log:
        "results/logs/convert/conversion_summary.log",
    conda:
        "../../envs/convert.yaml"
    params:
        limits=config["convert"]["consistency"],
    script:
        "../scripts/conversion_summary.py"
