"""Convert one acquisition and summarise the conversions of a trial.

`convert_acquisition` reads a vendor file (via spec2nii), a DICOM series stored one file per
transient, or NIfTI-MRS; removes identifiers; checks the header (field strength, plausible
TE/TR, spectral width; for metabolite data also basis compatibility and the NAA position,
reporting drift-sized offsets), corrects what another header field allows (e.g. a wrong
echo time) and marks averaged data; optionally corrects the ppm reference; and writes
NIfTI-MRS plus a JSON summary of the acquisition parameters. `summarise_conversions`
tabulates those summaries and stops when parameters differ across sessions beyond the
configured limits.
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
from .formats import detect_source, embedded_reference, load_source
from .readout import match_readout
from .sanity import (
    NAA_PPM,
    NAA_WINDOW_PPM,
    acquisition_parameters,
    check_basis,
    check_field,
    check_timing,
    compare_sessions,
    naa_position,
    stored_transients,
)
from .vendor import VendorFacts, vendor_facts

#: NIfTI-MRS header keys (user-defined) written at conversion
AVERAGED_KEY = "Averaged"
CORRECTIONS_KEY = "ConversionCorrections"
#: NAA offsets beyond this (ppm) are reported as a note
NAA_REPORT_PPM = 0.1

DEFAULTS = {
    "format": "auto",
    "reference_pattern": "(?i)(ref|water|wref|mrsref)",
    "field_strength_t": 3.0,
    "field_tolerance": 0.05,
    "te_tolerance_ms": 5.0,
    "naa_check": True,
    "naa_tolerance_ppm": 0.5,
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


def _display_name(src) -> str:
    if len(src.files) > 1:
        return f"{src.main.parent} ({src.series}, {len(src.files)} files)"
    return str(src.main)


def _with_header(data: MRSData, header: dict) -> MRSData:
    return MRSData(
        fids=data.fids,
        dwell_s=data.dwell_s,
        cf_mhz=data.cf_mhz,
        nucleus=data.nucleus,
        dim_tags=data.dim_tags,
        header=header,
        affine=data.affine,
    )


def _load(src, role: str, facts: VendorFacts, name: str) -> tuple[MRSData, list[str], list[str]]:
    """The data of `role`, spec2nii's output names, and the readout corrections made."""
    remove_os = src.fmt == "twix" and (facts.oversampling or 1.0) > 1.0
    data, outputs = load_source(src, role, remove_os=remove_os)
    corrections = []
    if remove_os:
        corrections.append(f"readout oversampling x{facts.oversampling:g} removed (spec2nii)")
        if facts.points and data.n_points > facts.points:
            data, notes = match_readout(data, data.dwell_s, facts.points, name)
            corrections += notes
    elif facts.points is not None and data.n_points != facts.points:
        raise InputError(
            f"{data.n_points} points read, the vendor header announces {facts.points} "
            "(file truncated or inconsistent)",
            file=name,
        )
    if role == "mrsref" and data.header.get("WaterSuppressed") is True:
        raise InputError(
            "the header says the data are water-suppressed (WaterSuppressed = true): "
            "expected an unsuppressed water reference",
            file=name,
        )
    return data, outputs, corrections


def _averaging(data: MRSData, facts: VendorFacts) -> tuple[bool, int | None]:
    """(averaged, transients averaged per stored FID) from the vendor or NIfTI-MRS header."""
    flag = data.header.get(AVERAGED_KEY)
    if isinstance(flag, dict) and "Value" in flag:
        return bool(flag["Value"]), flag.get("NumberOfAverages")
    if facts.averages is not None and facts.averages > 1 and stored_transients(data) == 1:
        return True, facts.averages
    return False, None


def _series_siblings(src) -> int:
    """Files of the same DICOM series as a single converted file, in its folder."""
    from .series import dicom_files_in, read_dicom_file

    own = read_dicom_file(src.main).series_key
    siblings = [p for p in dicom_files_in(src.main.parent) if p.parent == src.main.parent]
    return sum(1 for p in siblings if read_dicom_file(p).series_key == own)


def _transient_checks(data, facts, src, role, require, name) -> list[str]:
    """Notes on single-transient files of larger series; InputError where fMRS cannot work."""
    notes = []
    series = src.series or (f"series {facts.series}" if facts.series else "its series")
    n_stored = stored_transients(data)
    announced = facts.protocol_averages
    single_file = src.fmt == "dicom" and len(src.files) <= 1
    if single_file and n_stored == 1 and (facts.averages or 1) == 1:
        n_series = _series_siblings(src)
        protocol = f"; the protocol announces {announced} averages" if announced else ""
        if n_series > 1:
            raise InputError(
                f"this file holds 1 transient of {series}, stored one file per transient "
                f"({n_series} files of it in its folder{protocol}): convert the folder to keep "
                f"every transient, e.g. fmrstrial convert {src.main.parent}",
                file=name,
            )
        if (announced or 1) > 1:
            notes.append(
                f"{series}: this file holds 1 transient of the {announced} "
                "averages the protocol announces; the other files of its series are missing"
            )
    elif len(src.files) > 1 and announced and len(src.files) < announced:
        notes.append(
            f"{src.series}: {len(src.files)} files (transients) found, the protocol announces "
            f"{announced} averages"
        )
    if require and role == "svs" and n_stored <= 1:
        raise InputError(
            "holds a single spectrum"
            + (f" averaged over {facts.averages} transients" if (facts.averages or 1) > 1 else "")
            + ": functional MRS needs the individual transients (export every transient, "
            "e.g. TWIX .dat, DICOM one file per transient, or Philips DATA/LIST)",
            file=name,
        )
    return notes


def _check_naa(data: MRSData, cfg: dict, shift: float, summary: dict, notes: list, name: str):
    """Measure NAA (summary naa_ppm, naa_offset_ppm), note drift-sized offsets, stop on gross
    ones; returns the ppm shift to apply (`shift`, or the NAA-based correction)."""
    measured = naa_position(data)
    lo, hi = NAA_WINDOW_PPM
    if measured is None:
        if cfg["naa_check"]:
            raise InputError(
                f"no NAA-like peak found between {lo} and {hi} ppm (not an in-vivo brain "
                "spectrum, or a grossly wrong ppm reference?); set convert.naa_check to "
                "false for phantom data",
                file=name,
            )
        return shift
    summary["naa_ppm"] = round(measured, 4)
    summary["naa_offset_ppm"] = round(measured - NAA_PPM, 4)
    if cfg["ppm_correction"] == "naa":
        shift = NAA_PPM - measured
    residual = measured + shift - NAA_PPM
    if cfg["naa_check"] and abs(residual) > cfg["naa_tolerance_ppm"]:
        raise InputError(
            f"NAA peak found at {measured:.3f} ppm, {measured - NAA_PPM:+.3f} ppm from "
            f"{NAA_PPM} (allowed ± {cfg['naa_tolerance_ppm']} ppm; drift-sized offsets are "
            "corrected in preprocessing): wrong ppm reference? Set "
            "convert.ppm_correction to 'fixed' (with convert.ppm_shift, e.g. for the "
            "GE 0.169 ppm offset) or 'naa'",
            file=name,
        )
    if abs(residual) > NAA_REPORT_PPM:
        notes.append(
            f"NAA at {measured:.3f} ppm ({measured - NAA_PPM:+.3f} ppm): a frequency "
            "offset that preprocessing corrects"
        )
    return shift


def convert_acquisition(
    source: str | os.PathLike | list,
    out_path: str | os.PathLike,
    *,
    paired: str | os.PathLike | None = None,
    role: str = "svs",
    settings: dict | None = None,
    basis_path: str | os.PathLike | None = None,
    labels: dict | None = None,
    summary_path: str | os.PathLike | None = None,
    require_transients: bool = False,
    match: tuple[float, int] | None = None,
) -> dict:
    """Convert one acquisition to de-identified NIfTI-MRS; returns its summary.

    source: a file, or a folder / list of DICOM files stored one file per transient.
    role: 'svs' (metabolite data: basis and NAA checks apply) or 'mrsref' (water reference;
    from a GE P-file, its embedded reference).
    labels: participant_id/session_id from the dataset (never taken from the header).
    require_transients: stop when metabolite data hold a single (averaged) spectrum.
    match: (dwell s, points) of the session's metabolite data; a water reference is brought
    to them (e.g. readout oversampling removed).
    The summary's 'notes' and 'embedded_reference' are returned but not written to JSON.
    """
    if role not in ("svs", "mrsref"):
        raise ValueError(f"role must be 'svs' or 'mrsref', not {role!r}")
    cfg = {**DEFAULTS, **(settings or {})}
    src = detect_source(source, paired, cfg["format"], role, cfg["reference_pattern"])
    name = _display_name(src)
    facts = vendor_facts(src.fmt, src.main, src.companions)
    data, outputs, corrections = _load(src, role, facts, name)
    header, changed = deidentify(data.header, cfg["date_shift_days"])
    method = f"fmrstrial {__version__}"
    if src.fmt != "nifti":
        method = f"{header.get('ConversionMethod', 'spec2nii')} via {method}"
    header["ConversionMethod"] = method
    data = _with_header(data, header)
    check_field(data, cfg["field_strength_t"], cfg["field_tolerance"], name)
    header, fixed = check_timing(data, facts.echo_time_ms, facts.echo_time_field, name)
    corrections += fixed
    if role == "mrsref" and match is not None:
        data, notes = match_readout(data, match[0], match[1], name)
        corrections += notes
        header = {**header, **{k: v for k, v in data.header.items() if k == "SpectralWidth"}}
    notes = _transient_checks(data, facts, src, role, require_transients, name)
    averaged, n_averages = _averaging(data, facts)
    if averaged:
        header[AVERAGED_KEY] = {
            "Value": True,
            "NumberOfAverages": n_averages,
            "Description": "the file holds the scanner's average of NumberOfAverages "
            "transients, not the transients (fMRS preprocessing needs the transients)",
        }
        notes.append(
            f"averaged data: one spectrum, the average of {n_averages or 'several'} transients"
        )
    if corrections:
        header[CORRECTIONS_KEY] = {
            "Value": corrections,
            "Description": "header and readout corrections made at conversion (fmrstrial)",
        }
    data = _with_header(data, header)
    summary = {
        **(labels or {}),
        "role": role,
        "format": src.fmt,
        **acquisition_parameters(data),
        "naa_ppm": None,
        "naa_offset_ppm": None,
        "ppm_correction_ppm": 0.0,
        "deidentified_keys": len(changed),
        "averaged": "yes" if averaged else "no",
        "n_files": src.n_files,
        "corrections": "; ".join(corrections) if corrections else "none",
    }
    shift = float(cfg["ppm_shift"]) if cfg["ppm_correction"] == "fixed" else 0.0
    if role == "svs":
        if basis_path is not None:
            check_basis(data, _basis(str(basis_path)), cfg["te_tolerance_ms"], name)
        shift = _check_naa(data, cfg, shift, summary, notes, name)
    if shift:
        data = data.with_fids(shift_hz(data.fids, shift * data.cf_mhz, data.dwell_s))
        summary["ppm_correction_ppm"] = round(shift, 4)
    if not np.all(np.isfinite(data.fids)):
        raise InputError("data contain NaN or infinite samples", file=name)
    write_nifti_mrs(out_path, data, compresslevel=TRANSIENT_COMPRESSLEVEL)
    if summary_path is not None:
        write_json(summary, summary_path)
    return {
        **summary,
        "notes": notes,
        "embedded_reference": role == "svs" and embedded_reference(outputs),
    }


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


def _source_arg(source):
    """A file path, or the files of a one-file-per-transient series (any sequence)."""
    return source if isinstance(source, str | os.PathLike) else [str(p) for p in source]


def convert_svs(source, basis_path, out_path, summary_path, settings=None, labels=None) -> dict:
    """The workflow's metabolite conversion: individual transients required (fMRS), NAA and
    basis checks; writes `out_path` (NIfTI-MRS) and `summary_path` (JSON); returns the
    summary with its notes."""
    return convert_acquisition(
        _source_arg(source),
        out_path,
        role="svs",
        settings=settings,
        basis_path=basis_path,
        labels=labels,
        summary_path=summary_path,
        require_transients=True,
    )


def convert_reference(
    source, svs_summary, out_path, summary_path, settings=None, labels=None
) -> dict:
    """The workflow's water-reference conversion, brought to the dwell time (s) and points
    of the session's converted metabolite data (read from its summary JSON `svs_summary`)."""
    svs = json.loads(Path(svs_summary).read_text(encoding="utf-8"))
    return convert_acquisition(
        _source_arg(source),
        out_path,
        role="mrsref",
        settings=settings,
        labels=labels,
        summary_path=summary_path,
        match=(float(svs["dwell_s"]), int(svs["n_points"])),
    )
