"""Mixed models behind every finding, and the findings table."""


rule stats:
    input:
        unpack(stats_input),
    output:
        findings=report(
            "results/stats/findings.tsv",
            caption="../report/findings.rst",
            category="Findings",
        ),
        models=expand(
            "results/stats/{model}.json", model=list(config["stats"]["models"])
        ),
    log:
        "results/logs/stats.log",
    benchmark:
        "results/benchmarks/stats.tsv"
    conda:
        "../../envs/stats.yaml"
    params:
        settings=config["stats"],
        models=list(config["stats"]["models"]),
        spectral_model=spectral_model(),
        other_spectral_model=(
            spectral_model(other_fit_settings()) if other_fit_mode() else ""
        ),
        truth=truth_dir(),
    script:
        "../scripts/stats.py"
