"""The output paths of a step as one object (a frozen dataclass per step), with the file
names of the command line's one-folder layout (which the rules reuse). Light to import: the
Snakefile reads it at every start."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path


class StepOutputs:
    """Mixin for a step's dataclass of output paths, whose field names are the names of
    the rule's outputs."""

    @classmethod
    def from_mapping(cls, paths, prefix: str = ""):
        """The fields found in `paths` (a mapping or Snakemake's output) as `prefix + name`
        (fields without a default must be there)."""
        keys = set(paths.keys())
        return cls(
            **{f.name: paths[prefix + f.name] for f in fields(cls) if prefix + f.name in keys}
        )


@dataclass(frozen=True)
class FitOutputs(StepOutputs):
    """Paths of the files one fit writes. The names are those of the fit rule's outputs.
    The figure is drawn by the command line (the workflow draws it in a job of its own, rule
    plot_fit, from the curves, ratio and QC tables); the dynamic-mode files are optional
    (None: not written)."""

    fit: str | os.PathLike
    fit_sidecar: str | os.PathLike
    ratios: str | os.PathLike
    ratios_sidecar: str | os.PathLike
    qc: str | os.PathLike
    qc_sidecar: str | os.PathLike
    curves: str | os.PathLike
    curves_sidecar: str | os.PathLike
    figure: str | os.PathLike | None = None
    response: str | os.PathLike | None = None
    response_sidecar: str | os.PathLike | None = None
    dynamic_figure: str | os.PathLike | None = None

    @classmethod
    def in_folder(
        cls, folder: str | os.PathLike, dynamic: bool = False, figure: bool = True
    ) -> FitOutputs:
        """The command line's layout: fit.tsv, fit.json, ratios.tsv, ratios.json,
        fit_qc.tsv, fit_qc.json, fit_curves.tsv, fit_curves.json, fit.png (unless not
        `figure`) (+ response.tsv, response.json, dynamic.png)."""
        d = Path(folder)
        extra = {}
        if dynamic:
            extra = dict(
                response=d / "response.tsv",
                response_sidecar=d / "response.json",
                dynamic_figure=d / "dynamic.png",
            )
        return cls(
            fit=d / "fit.tsv",
            fit_sidecar=d / "fit.json",
            ratios=d / "ratios.tsv",
            ratios_sidecar=d / "ratios.json",
            qc=d / "fit_qc.tsv",
            qc_sidecar=d / "fit_qc.json",
            curves=d / "fit_curves.tsv",
            curves_sidecar=d / "fit_curves.json",
            figure=d / "fit.png" if figure else None,
            **extra,
        )


@dataclass(frozen=True)
class PreprocessOutputs(StepOutputs):
    """Paths of the files one session's preprocessing writes (names as in the rule)."""

    blocks: str | os.PathLike
    unmatched: str | os.PathLike
    table: str | os.PathLike
    transients: str | os.PathLike
    qc: str | os.PathLike
    qc_json: str | os.PathLike
    figure: str | os.PathLike

    @classmethod
    def in_folder(cls, folder: str | os.PathLike) -> PreprocessOutputs:
        """The command line's layout (file names in the module docstring)."""
        d = Path(folder)
        return cls(
            blocks=d / "blocks.nii.gz",
            unmatched=d / "blocks_unmatched.nii.gz",
            table=d / "blocks.tsv",
            transients=d / "transients_qc.tsv",
            qc=d / "blocks_qc.tsv",
            qc_json=d / "blocks_qc.json",
            figure=d / "qc.png",
        )
