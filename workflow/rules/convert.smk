"""Raw spectra (NIfTI-MRS or vendor files) to de-identified, checked NIfTI-MRS.

One job converts a session's metabolite data; another its water reference, requested only
for sessions that have one (the reference is brought to the metabolite data's dwell time
and points, read from the metabolite conversion's summary).
"""


rule convert_svs:
    input:
        unpack(convert_input),
    output:
        nifti="results/converted/{pid}/{sid}/{pid}_{sid}_svs.nii.gz",
        summary="results/converted/{pid}/{sid}/{pid}_{sid}_svs.json",
    log:
        "results/logs/convert/{pid}_{sid}_svs.log",
    benchmark:
        "results/benchmarks/convert/{pid}_{sid}_svs.tsv"
    conda:
        "../../envs/convert.yaml"
    params:
        settings=config["convert"],
        role="svs",
    script:
        "../scripts/convert.py"


rule convert_reference:
    input:
        unpack(reference_input),
    output:
        nifti="results/converted/{pid}/{sid}/{pid}_{sid}_mrsref.nii.gz",
        summary="results/converted/{pid}/{sid}/{pid}_{sid}_mrsref.json",
    log:
        "results/logs/convert/{pid}_{sid}_mrsref.log",
    benchmark:
        "results/benchmarks/convert/{pid}_{sid}_mrsref.tsv"
    conda:
        "../../envs/convert.yaml"
    params:
        settings=config["convert"],
        role="mrsref",
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
