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


def tsv_text(df: pd.DataFrame, float_format: str = FLOAT_FORMAT) -> str:
    """A DataFrame as BIDS-style TSV text with fixed float formatting."""
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
