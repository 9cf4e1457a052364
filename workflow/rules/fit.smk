"""Linear-combination fit of every block, and the trial's Glx/tNAA time course.

Each fit job also fits the blocks before linewidth matching (results/fit_unmatched/), for the
sensitivity analysis without linewidth matching; one process does both to save start-up.
"""


# Dynamic mode (fit.settings.mode: dynamic) reads the block table (phases) and adds
# per-session response estimates and a figure; block mode's inputs and outputs are unchanged.
DYNAMIC_FIT = fit_settings().get("mode") == "dynamic"
DYNAMIC_FIT_INPUTS = (
    {"block_table": "results/preproc/{pid}/{sid}/blocks.tsv"} if DYNAMIC_FIT else {}
)
DYNAMIC_FIT_OUTPUTS = (
    {
        "response": "results/fit/{pid}/{sid}/response.tsv",
        "dynamic_figure": "results/fit/{pid}/{sid}/dynamic.png",
    }
    if DYNAMIC_FIT
    else {}
)


rule fit_session:
    input:
        blocks="results/preproc/{pid}/{sid}/blocks.nii.gz",
        unmatched="results/preproc/{pid}/{sid}/blocks_unmatched.nii.gz",
        basis=basis_file(),
        **DYNAMIC_FIT_INPUTS,
    output:
        fit="results/fit/{pid}/{sid}/fit.tsv",
        ratios="results/fit/{pid}/{sid}/ratios.tsv",
        qc="results/fit/{pid}/{sid}/fit_qc.tsv",
        figure=report(
            "results/fit/{pid}/{sid}/fit.png",
            caption="../report/fit.rst",
            category="Spectral fitting",
            labels={"participant": "{pid}", "session": "{sid}"},
        ),
        unmatched_ratios="results/fit_unmatched/{pid}/{sid}/ratios.tsv",
        unmatched_qc="results/fit_unmatched/{pid}/{sid}/fit_qc.tsv",
        **DYNAMIC_FIT_OUTPUTS,
    log:
        "results/logs/fit/{pid}_{sid}.log",
    benchmark:
        "results/benchmarks/fit/{pid}_{sid}.tsv"
    conda:
        "../../envs/spectra.yaml"
    params:
        settings=fit_settings(),
    script:
        "../scripts/fit.py"


rule glx_timecourse:
    input:
        unpack(timecourse_input),
    output:
        table=report(
            "results/tables/glx_timecourse.tsv",
            caption="../report/glx_timecourse.rst",
            category="Glutamate time course",
        ),
        unmatched="results/tables/glx_timecourse_unmatched.tsv",
    log:
        "results/logs/glx_timecourse.log",
    conda:
        "../../envs/stats.yaml"
    params:
        qc=qc_limits(config["qc"], config["preprocess"]),
        truth=truth_dir(),
    script:
        "../scripts/glx_timecourse.py"
