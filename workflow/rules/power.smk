"""Optional target `snakemake power`: power and sample size for the next trial (not in `all`).

Reads the fitted model JSON named by power.<test>.model (none: the config's values)."""


rule power:
    input:
        unpack(
            lambda wildcards: {
                test: f"results/stats/{config['power'][test]['model']}.json"
                for test in ("glx", "madrs")
                if config["power"][test]["model"]
            }
        ),
    output:
        table="results/power/power.tsv",
        sample_size=report(
            "results/power/sample_size.tsv",
            caption="../report/power_sample_size.rst",
            category="Planning",
        ),
        assumptions="results/power/assumptions.json",
        summary="results/power/summary.txt",
        png=report(
            "results/figures/power_curve.png",
            caption="../report/figures/power_curve.rst",
            category="Planning",
            labels={"figure": "power_curve"},
        ),
        pdf="results/figures/power_curve.pdf",
    log:
        "results/logs/power.log",
    benchmark:
        "results/benchmarks/power.tsv"
    conda:
        "../../envs/power.yaml"
    params:
        settings=config["power"],
    script:
        "../scripts/power.py"
