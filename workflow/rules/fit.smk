"""Linear-combination fit of every block, and the trial's Glx/tNAA time course.

With the fit setting baseline_flexibility: trial, one job first chooses the baseline
flexibility on the mean of every QC-passing block of the trial
(results/fit/trial_baseline.tsv), and every fit job uses it. Each fit job also fits the
blocks before linewidth matching (results/fit_unmatched/), for the sensitivity analysis
without linewidth matching; one process does both to save start-up.
A fit's figure is a job of its own (plot_fit), so that fit jobs do not import matplotlib.
"""

if trial_baseline():

    rule trial_baseline:
        input:
            unpack(trial_baseline_input),
        output:
            table=report(
                TRIAL_BASELINE,
                caption="../report/trial_baseline.rst",
                category="Spectral fitting",
            ),
            sidecar=TRIAL_BASELINE.replace(".tsv", ".json"),
        log:
            "results/logs/fit/trial_baseline.log",
        conda:
            "../../envs/spectra.yaml"
        params:
            settings=fit_settings(),
        script:
            "../scripts/trial_baseline.py"


rule fit_session:
    input:
        unpack(fit_input),
    output:
        **fit_outputs("results/fit/{pid}/{sid}", dynamic=dynamic_fit()),
        **fit_outputs("results/fit_unmatched/{pid}/{sid}", prefix="unmatched_"),
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


if other_fit_mode():

    rule fit_session_other_mode:
        input:
            unpack(other_fit_input),
        output:
            **fit_outputs(other_fit_folder(), dynamic=other_fit_mode() == "dynamic"),
        log:
            "results/logs/fit_other_mode/{pid}_{sid}.log",
        benchmark:
            "results/benchmarks/fit_other_mode/{pid}_{sid}.tsv"
        conda:
            "../../envs/spectra.yaml"
        params:
            settings=other_fit_settings(),
        script:
            "../scripts/fit.py"


rule plot_fit:
    input:
        **fit_figure_tables("results/fit/{pid}/{sid}"),
    output:
        figure=report(
            fit_figure("results/fit/{pid}/{sid}"),
            caption="../report/fit.rst",
            category="Spectral fitting",
            labels={"participant": "{pid}", "session": "{sid}"},
        ),
    log:
        "results/logs/plot_fit/{pid}_{sid}.log",
    conda:
        "../../envs/figures.yaml"
    params:
        title="{pid} {sid}",
    script:
        "../scripts/plot_fit.py"


use rule plot_fit as plot_fit_sensitivity with:
    input:
        **fit_figure_tables("results/{folder}/{pid}/{sid}"),
    output:
        figure=fit_figure("results/{folder}/{pid}/{sid}"),
    log:
        "results/logs/plot_fit/{folder}_{pid}_{sid}.log",
    wildcard_constraints:
        folder="|".join(fit_folders()[1:]),
    params:
        title="{pid} {sid} ({folder})",


rule glx_timecourse:
    input:
        unpack(timecourse_input),
    output:
        **other_timecourse_output(),
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
        dataset=lambda wildcards, input: str(Path(input.participants).parent),
        sessions=SESSIONS,
        qc=qc_limits(config["qc"], config["preprocess"]),
        truth=truth_dir(),
    script:
        "../scripts/glx_timecourse.py"
