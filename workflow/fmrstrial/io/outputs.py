"""The output paths of a step as one object (a frozen dataclass per step)."""

from __future__ import annotations

from dataclasses import fields


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
