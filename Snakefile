"""fmrstrial: from raw spectra and ratings to every reported finding of the trial."""

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


validate(config, "config/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"


localrules:
    all,
    conversion_summary,


include: "workflow/rules/simulate.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/convert.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/clinical.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/power.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
