"""Time-course QC reasons for fits that cannot give a ratio."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_timecourse_lipid import SESSION, _files

from fmrstrial.io.tsv import write_tsv
from fmrstrial.timecourse import qc_limits, session_timecourse


def test_a_block_without_tnaa_is_excluded_as_not_estimable(tmp_path):
    """A fit with tNAA = 0 (e.g. a spectrum dominated by an artefact) has no Glx/tNAA: the
    block is excluded with that reason, not with a CRLB of 'nan %'."""
    files = _files(tmp_path, None)
    ratios = pd.read_csv(files.ratios, sep="\t")
    ratios.loc[(ratios.block == 1) & ratios.ratio.str.endswith("/tNAA"), ["value", "crlb_pct"]] = (
        np.nan
    )
    write_tsv(ratios, files.ratios)
    out = session_timecourse(SESSION, files, qc_limits())
    assert out["qc_pass"].tolist() == [True, False, True, True]
    assert out["qc_reasons"].iloc[1] == "Glx/tNAA not estimable (tNAA fitted as 0)"
