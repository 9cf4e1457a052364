"""Per-session preprocessing into QC'd time-block spectra (one job per session; the water
reference is an input only for sessions that have one)."""


rule preprocess_session:
    input:
        unpack(preprocess_input),
    output:
        **PREPROC_OUTPUTS,
    log:
        "results/logs/preprocess/{pid}_{sid}.log",
    benchmark:
        "results/benchmarks/preprocess/{pid}_{sid}.tsv"
    conda:
        "../../envs/spectra.yaml"
    params:
        settings=config["preprocess"],
    script:
        "../scripts/preprocess.py"
