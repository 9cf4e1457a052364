"""`fmrstrial convert`: vendor file, DICOM folder or NIfTI-MRS to de-identified, checked
NIfTI-MRS. A GE P-file's embedded water reference is written beside the metabolite data."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..convert.acquisition import DEFAULTS, convert_acquisition
from ..errors import InputError
from ..io.config import load_section
from ..io.nifti_mrs import read_nifti_mrs


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


def _settings(path: str | None) -> dict:
    section = load_section(path, "convert")
    unknown = sorted(set(section) - set(DEFAULTS))
    if unknown:
        raise InputError(f"unknown convert key(s): {', '.join(unknown)}", file=path)
    return section


def reference_path(out: str | Path, suffix: str = ".nii.gz") -> Path:
    """Where the embedded reference goes: X_svs.nii.gz -> X_mrsref.nii.gz, else X_mrsref."""
    out = Path(out)
    stem = out.name[: -len(".nii.gz")] if out.name.endswith(".nii.gz") else out.stem
    if suffix != ".nii.gz":
        stem = out.name[: -len(suffix)] if out.name.endswith(suffix) else out.stem
    base = stem[: -len("_svs")] if stem.endswith("_svs") else stem
    return out.with_name(f"{base}_mrsref{suffix}")


def _report(out, summary) -> None:
    offset = summary["naa_offset_ppm"]
    print(
        f"{out}: {summary['format']} -> NIfTI-MRS, {summary['n_points']} points, "
        f"{summary['cf_mhz']} MHz, dims {summary['dim_tags'] or 'none'}"
        + ("" if offset is None else f", NAA offset {offset:+.3f} ppm")
    )
    if summary["corrections"] != "none":
        print(f"  corrected: {summary['corrections']}")
    for note in summary["notes"]:
        print(f"  note: {note}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    settings = _settings(args.config)
    if args.format:
        settings["format"] = args.format
    source = args.file
    match = None
    if args.match:
        target = read_nifti_mrs(args.match)
        match = (target.dwell_s, target.n_points)
    common = dict(paired=args.paired_file, settings=settings, basis_path=args.basis)
    summary = convert_acquisition(
        source,
        args.out,
        role="mrsref" if args.reference else "svs",
        summary_path=args.summary,
        require_transients=args.require_transients,
        match=match if args.reference else None,
        **common,
    )
    _report(args.out, summary)
    if summary["embedded_reference"] and not args.no_reference_out:
        ref_out = args.reference_out or reference_path(args.out)
        ref_summary = args.summary and reference_path(args.summary, ".json")
        try:
            ref = convert_acquisition(
                source,
                ref_out,
                role="mrsref",
                summary_path=ref_summary,
                match=(summary["dwell_s"], summary["n_points"]),
                **common,
            )
        except InputError:
            for written in (args.out, args.summary):  # nothing half-written
                if written:
                    Path(written).unlink(missing_ok=True)
            raise
        print("  embedded water reference:", file=sys.stderr)
        _report(ref_out, ref)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "convert", help="convert raw spectra to de-identified NIfTI-MRS", description=__doc__
    )
    p.add_argument(
        "file",
        help="vendor file (.dat .rda .ima .dcm .sdat .spar .data .list .7), NIfTI-MRS, or a "
        "folder of DICOM files stored one file per transient",
    )
    p.add_argument(
        "paired_file",
        nargs="?",
        default=None,
        help="companion file (e.g. the SPAR of an SDAT); found beside FILE if omitted",
    )
    p.add_argument("--out", required=True, help="output .nii.gz")
    p.add_argument(
        "--reference",
        action="store_true",
        help="convert the water reference (no basis or NAA checks); refuses data whose "
        "header says water-suppressed; from a GE P-file, its embedded reference",
    )
    p.add_argument(
        "--reference-out",
        help="where a GE P-file's embedded water reference goes "
        "(default: OUT with _svs replaced by, or followed by, _mrsref)",
    )
    p.add_argument(
        "--no-reference-out",
        action="store_true",
        help="do not write a P-file's embedded water reference",
    )
    p.add_argument(
        "--match",
        help="with --reference: converted metabolite NIfTI-MRS whose dwell time and points "
        "the reference is brought to (e.g. removes readout oversampling)",
    )
    p.add_argument(
        "--require-transients",
        action="store_true",
        help="stop if the metabolite data hold one (averaged) spectrum instead of the "
        "individual transients (the workflow passes it: fMRS needs transients)",
    )
    p.add_argument("--basis", help="basis set to check dwell time, points and TE against")
    p.add_argument("--format", help="force a format instead of detecting it")
    p.add_argument("--config", help="YAML with conversion settings (or a 'convert:' section)")
    p.add_argument("--summary", help="write the acquisition summary JSON here")
    p.set_defaults(func=run)
