"""`Rows` (the fit tables' pandas-free writer) gives the same TSV text as pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmrstrial.io.tsv import Rows, tsv_text


def test_rows_text_equals_pandas_text():
    columns = ["block", "metabolite", "amplitude", "crlb_pct", "converged"]
    rows = [
        (0, "NAA", 12.3456789, float("nan"), 1),
        (1, "Glx", np.float64(1e-7), np.inf, 0),
        (2, "MM09", 0.0, 3.0, 1),
    ]
    frame = pd.DataFrame(rows, columns=columns)
    for fmt in ("%.6g", "%.8g"):
        assert tsv_text(Rows(columns, rows), fmt) == tsv_text(frame, fmt)
