"""Clinical scoring: every rating scale scored by its published rules.

Public API::

    load_scales()                       -> {scale_id: Scale}   (workflow/resources/scales/*.yaml)
    score_dataset(dataset_dir, rules)   -> ClinicalScores      (long, wide, madrs, record, MI)
    write_tables(scores, paths)         (clinical*.tsv, each to its path)
    write_outputs(scores, out_dir)      -> {name: path}        (the same into one folder)
    rubin_pool(estimates, variances)    -> PooledEstimate      (Rubin's rules, Barnard-Rubin df)

The command ``fmrstrial score DATASET --out DIR [--config YAML]`` runs the same steps.
"""

from .core import ClinicalScores, score_dataset
from .rubin import PooledEstimate, rubin_pool
from .rules import DEFAULT_RULES, merge_rules
from .scales import SCALE_ORDER, TIMEPOINTS, Scale, ScoreRule, load_scales
from .tables import OUTPUT_FILES, write_outputs, write_tables

__all__ = [
    "DEFAULT_RULES",
    "OUTPUT_FILES",
    "SCALE_ORDER",
    "TIMEPOINTS",
    "ClinicalScores",
    "PooledEstimate",
    "Scale",
    "ScoreRule",
    "load_scales",
    "merge_rules",
    "rubin_pool",
    "score_dataset",
    "write_outputs",
    "write_tables",
]
