"""Temporal models and contrasts of the dynamic (joint) fit.

The metabolite amplitudes of block j are c_j = sum_p X[j, p] beta_p (one coefficient vector
beta_p per design column p, over the metabolites); macromolecule and lipid amplitudes are
shared by all blocks.

- 'free': X is the identity (n_blocks, n_blocks): one amplitude per block and metabolite.
- 'glm': X from the `dynamic_design` setting (regressor name -> one value per block), or, when
  that is empty, an intercept (1 for every block) and an infusion indicator (1 for the blocks
  whose phase in the block table is 'infusion', else 0), so that 'intercept' is the
  baseline level and 'infusion' the change during infusion.

Non-negativity: the coefficients of a column are bounded below by 0 when they are amplitude
levels, i.e. for a constant positive column (an intercept) or when every block has exactly
one non-zero regressor (indicator / cell-means designs, including 'free'); other columns
(changes, response time courses) are unbounded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

#: Phase labels of the block table (blocks.tsv of preprocessing).
BASELINE, INFUSION = "baseline", "infusion"


@dataclass(frozen=True)
class TemporalModel:
    """Design of the metabolite amplitudes: kind ('free' or 'glm'), column names (p,),
    matrix (n_blocks, p) and which coefficients are bounded below by 0, (p,) bool."""

    kind: str
    names: list[str]
    matrix: np.ndarray
    nonneg: np.ndarray

    @property
    def n_blocks(self) -> int:
        return self.matrix.shape[0]


def read_block_phases(path: str | os.PathLike) -> list[str]:
    """Phase of every block ('baseline', 'infusion', ...) from a block table with a 'phase'
    column (blocks.tsv of preprocessing), in file order."""
    import pandas as pd

    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read the block table: {err}", file=str(path)) from None
    if "phase" not in table.columns:
        raise InputError("the block table has no 'phase' column", file=str(path))
    return [str(p) for p in table["phase"]]


def _nonneg_columns(x: np.ndarray) -> np.ndarray:
    constant = np.all(x == x[:1], axis=0) & (x[0] > 0)
    if np.all(np.count_nonzero(x, axis=1) == 1) and np.all(x >= 0):
        return np.ones(x.shape[1], dtype=bool)
    return constant


def temporal_model(
    settings: dict, n_blocks: int, phases: list[str] | None = None, source: str = "<data>"
) -> TemporalModel:
    """The temporal model for a file of `n_blocks` blocks (see module doc); `phases`: the
    block table's phase per block (needed for the default GLM design). InputError naming the
    setting and `source` for a design that does not fit the file."""
    if settings["dynamic_model"] == "free":
        return TemporalModel(
            "free",
            [f"block{j}" for j in range(n_blocks)],
            np.eye(n_blocks),
            np.ones(n_blocks, dtype=bool),
        )
    design = settings["dynamic_design"]
    if design:
        names = list(design)
        x = np.array([design[n] for n in names], dtype=float).T
        if x.shape[0] != n_blocks:
            raise InputError(
                f"fit setting 'dynamic_design': the regressors have {x.shape[0]} values but "
                f"the data have {n_blocks} blocks (expected one value per block)",
                file=source,
            )
    else:
        if phases is None:
            raise InputError(
                "fit setting 'dynamic_model' is 'glm' with an empty 'dynamic_design', which "
                "needs the block table (blocks.tsv with a 'phase' column); none was found, "
                "so give the design explicitly",
                file=source,
            )
        if len(phases) != n_blocks:
            raise InputError(
                f"the block table lists {len(phases)} blocks but the data have {n_blocks}",
                file=source,
            )
        names = ["intercept", INFUSION]
        x = np.column_stack([np.ones(n_blocks), [float(p == INFUSION) for p in phases]])
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise InputError(
            f"the GLM design (columns {', '.join(names)}) is rank deficient for these "
            f"{n_blocks} blocks: its coefficients cannot be estimated",
            file=source,
        )
    return TemporalModel("glm", names, x, _nonneg_columns(x))


def estimable(tm: TemporalModel, rows: list[int]) -> bool:
    """True when `tm` restricted to the blocks `rows` can be estimated (free: always; GLM:
    the design keeps full column rank)."""
    if tm.kind == "free":
        return True
    x = tm.matrix[rows]
    return np.linalg.matrix_rank(x) == x.shape[1]


def restrict(tm: TemporalModel, rows: list[int], source: str = "<data>") -> TemporalModel:
    """The temporal model for the blocks `rows` only (e.g. without empty blocks); free mode
    keeps the blocks' own numbers in its column names. InputError if a GLM design becomes
    rank deficient."""
    if tm.kind == "free":
        n = len(rows)
        return TemporalModel("free", [tm.names[j] for j in rows], np.eye(n), np.ones(n, bool))
    x = tm.matrix[rows]
    if not estimable(tm, rows):
        raise InputError(
            f"without the empty blocks the GLM design (columns {', '.join(tm.names)}) is rank "
            "deficient: its coefficients cannot be estimated",
            file=source,
        )
    return TemporalModel("glm", tm.names, x, _nonneg_columns(x))


def block_contrasts(
    phases: list[str] | None, n_blocks: int, labels: list[int] | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Contrasts of the per-block values, name -> (weights (n_blocks,), reference weights
    (n_blocks,)); the reference (the baseline level) is the denominator of the relative
    change. With baseline and infusion phases: 'infusion-baseline' (mean of the infusion
    blocks minus mean of the baseline blocks) and 'block<j>-baseline' for every other block;
    otherwise 'block<j>-block<first>'. `labels`: the blocks' numbers in the file (default
    0..n_blocks-1)."""
    labels = list(range(n_blocks)) if labels is None else list(labels)
    out = {}
    if phases is not None and len(phases) == n_blocks:
        base = np.array([p == BASELINE for p in phases], dtype=float)
        inf = np.array([p == INFUSION for p in phases], dtype=float)
        if base.any() and inf.any():
            ref = base / base.sum()
            out["infusion-baseline"] = (inf / inf.sum() - ref, ref)
            for j in np.flatnonzero(base == 0):
                w = -ref.copy()
                w[j] += 1.0
                out[f"block{labels[j]}-baseline"] = (w, ref)
            return out
    ref = np.zeros(n_blocks)
    ref[0] = 1.0
    for j in range(1, n_blocks):
        w = -ref.copy()
        w[j] += 1.0
        out[f"block{labels[j]}-block{labels[0]}"] = (w, ref)
    return out
