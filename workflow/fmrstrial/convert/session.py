"""Convert one acquisition and summarise the conversions of a trial.

`convert_acquisition` reads a vendor file (via spec2nii) or NIfTI-MRS, removes identifiers,
checks the header (field strength; for metabolite data also basis compatibility and the NAA
position), optionally corrects the ppm reference, and writes NIfTI-MRS plus a JSON summary
of the acquisition parameters. `summarise_conversions` tabulates those summaries and stops
when parameters differ across sessions beyond the configured limits.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import InputError
from ..io.basis import BasisInfo, read_basis_info
from ..io.nifti_mrs import TRANSIENT_COMPRESSLEVEL, MRSData, write_nifti_mrs
from ..io.tables import write_json, write_tsv
from ..spectra import shift_hz
from .deidentify import deidentify
from .formats import detect, load_source
from .sanity import (
    NAA_PPM,
    acquisition_parameters,
    check_basis,
    check_field,
    compare_sessions,
    naa_position,
)

DEFAULTS = {
    "format": "auto",
    "reference_pattern": "(?i)(ref|water|wref|mrsref)",
    "field_strength_t": 3.0,
    "field_tolerance": 0.05,
    "te_tolerance_ms": 5.0,
    "naa_check": True,
    "naa_tolerance_ppm": 0.1,
    "ppm_correction": "none",
    "ppm_shift": 0.0,
    "date_shift_days": None,
    "consistency": {
        "cf_tolerance_mhz": 0.05,
        "te_tolerance_ms": 1.0,
        "tr_tolerance_s": 0.1,
        "dwell_tolerance_s": 1e-7,
        "points_tolerance": 0,
    },
}


@lru_cache(maxsize=4)
def _basis(path: str) -> BasisInfo:
    return read_basis_info(path)


def convert_acquisition(
    source: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    paired: str | os.PathLike | None = None,
    role: str = "svs",
    settings: dict | None = None,
    basis_path: str | os.PathLike | None = None,
    labels: dict | None = None,
    summary_path: str | os.PathLike | None = None,
) -> dict:
    """Convert one acquisition to de-identified NIfTI-MRS; returns its summary.

    role: 'svs' (metabolite data: basis and NAA checks apply) or 'mrsref' (water reference).
    labels: participant_id/session_id from the dataset (never taken from the header).
    """
    cfg = {**DEFAULTS, **(settings or {})}
    src = detect(source, paired, cfg["format"])
    name = str(src.main)
    data = load_source(src)
    header, changed = deidentify(data.header, cfg["date_shift_days"])
    method = f"fmrstrial {__version__}"
    if src.fmt != "nifti":
        method = f"{header.get('ConversionMethod', 'spec2nii')} via {method}"
    header["ConversionMethod"] = method
    data = MRSData(
        fids=data.fids,
        dwell_s=data.dwell_s,
        cf_mhz=data.cf_mhz,
        nucleus=data.nucleus,
        dim_tags=data.dim_tags,
        header=header,
        affine=data.affine,
    )
    check_field(data, cfg["field_strength_t"], cfg["field_tolerance"], name)
    summary = {
        **(labels or {}),
        "role": role,
        "format": src.fmt,
        **acquisition_parameters(data),
        "naa_ppm": None,
        "naa_offset_ppm": None,
        "ppm_correction_ppm": 0.0,
        "deidentified_keys": len(changed),
    }
    shift = 0.0
    if cfg["ppm_correction"] == "fixed":
        shift = float(cfg["ppm_shift"])
    if role == "svs":
        if basis_path is not None:
            check_basis(data, _basis(str(basis_path)), cfg["te_tolerance_ms"], name)
        measured = naa_position(data)
        if measured is None and cfg["naa_check"]:
            raise InputError(
                "no NAA peak found between 1.8 and 2.3 ppm (not an in-vivo brain "
                "spectrum, or a wrong ppm reference?); set convert.naa_check to "
                "false for phantom data",
                file=name,
            )
        if measured is not None:
            summary["naa_ppm"] = round(measured, 4)
            summary["naa_offset_ppm"] = round(measured - NAA_PPM, 4)
            if cfg["ppm_correction"] == "naa":
                shift = NAA_PPM - measured
        residual = 0.0 if measured is None else measured + shift - NAA_PPM
        if cfg["naa_check"] and abs(residual) > cfg["naa_tolerance_ppm"]:
            raise InputError(
                f"NAA peak found at {measured:.3f} ppm, {measured - NAA_PPM:+.3f} ppm from "
                f"{NAA_PPM} (allowed ± {cfg['naa_tolerance_ppm']} ppm): wrong ppm reference? "
                "Set convert.ppm_correction to 'fixed' (with convert.ppm_shift, e.g. for the "
                "GE 0.169 ppm offset) or 'naa'",
                file=name,
            )
    elif role != "mrsref":
        raise ValueError(f"role must be 'svs' or 'mrsref', not {role!r}")
    if shift:
        data = data.with_fids(shift_hz(data.fids, shift * data.cf_mhz, data.dwell_s))
        summary["ppm_correction_ppm"] = round(shift, 4)
    if not np.all(np.isfinite(data.fids)):
        raise InputError("data contain NaN or infinite samples", file=name)
    write_nifti_mrs(out_path, data, compresslevel=TRANSIENT_COMPRESSLEVEL)
    if summary_path is not None:
        write_json(summary, summary_path)
    return summary


def summarise_conversions(
    summary_files: list[str | os.PathLike],
    out_table: str | os.PathLike,
    out_differences: str | os.PathLike,
    limits: dict | None = None,
) -> None:
    """Tabulate per-acquisition summaries; InputError if parameters differ beyond limits.

    Both tables are written before the check so that the differences can be inspected.
    """
    import pandas as pd

    limits = {**DEFAULTS["consistency"], **(limits or {})}
    rows = [json.loads(Path(f).read_text(encoding="utf-8")) for f in summary_files]
    table = pd.DataFrame(rows)
    if table.empty:
        raise InputError("no converted acquisitions to summarise", file=str(out_table))
    table = table.sort_values(["participant_id", "session_id", "role"], kind="stable")
    differences, problems = compare_sessions(table, limits, source=Path(out_table).name)
    write_tsv(table, out_table)
    write_tsv(differences, out_differences)
    if problems:
        raise InputError(problems)
