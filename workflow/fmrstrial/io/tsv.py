"""Deterministic TSV and JSON writing (BIDS conventions: tab-separated, 'n/a' for missing)."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .atomic import write_text

if TYPE_CHECKING:  # pandas is imported lazily: JSON-only users start faster
    import pandas as pd

FLOAT_FORMAT = "%.8g"


class Rows:
    """A small table without pandas: column names and rows of values (str, int, float)."""

    def __init__(self, columns: list[str], rows: list[tuple | list]):
        self.columns = list(columns)
        self.rows = [tuple(r) for r in rows]

    def cell(self, value: Any, float_format: str) -> str:
        if value is None:
            return "n/a"
        if isinstance(value, bool | np.bool_):
            return str(bool(value))
        if isinstance(value, int | np.integer):
            return str(int(value))
        if isinstance(value, float | np.floating):
            return "n/a" if np.isnan(value) else float_format % float(value)
        return str(value)

    def to_tsv(self, float_format: str) -> str:
        lines = ["\t".join(self.columns)]
        lines += ["\t".join(self.cell(v, float_format) for v in row) for row in self.rows]
        return "\n".join(lines) + "\n"


def tsv_text(df: pd.DataFrame | Rows, float_format: str = FLOAT_FORMAT) -> str:
    """A DataFrame (or `Rows`) as BIDS-style TSV text with fixed float formatting; the two
    give the same text for the same values."""
    if isinstance(df, Rows):
        return df.to_tsv(float_format)
    return df.to_csv(
        sep="\t", index=False, na_rep="n/a", float_format=float_format, lineterminator="\n"
    )


def write_tsv(df: pd.DataFrame, path: str | os.PathLike, float_format: str = FLOAT_FORMAT) -> None:
    """Write a TSV atomically; identical frames give identical bytes."""
    write_text(path, tsv_text(df, float_format))


def read_tsv(path: str | os.PathLike, **kwargs: Any) -> pd.DataFrame:
    """Read a BIDS TSV ('n/a' is missing); identifiers are kept as strings."""
    import pandas as pd

    return pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=False, **kwargs)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def json_text(obj: Any) -> str:
    """Stable JSON text: 2-space indent, keys in insertion order, NaN written as null."""
    return json.dumps(_jsonable(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(obj: Any, path: str | os.PathLike) -> None:
    """Write JSON atomically with stable formatting."""
    write_text(path, json_text(obj))
