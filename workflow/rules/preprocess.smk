"""Per-session preprocessing into QC'd time-block spectra (one job per session)."""


ruleorder: preprocess_session > preprocess_session_svs_only


rule preprocess_session:
    input:
        unpack(lambda w: preprocess_input(w, with_reference=True)),
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


rule preprocess_session_svs_only:
    input:
        unpack(lambda w: preprocess_input(w, with_reference=False)),
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
