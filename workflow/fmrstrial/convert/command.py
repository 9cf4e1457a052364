"""`fmrstrial convert`: vendor file or NIfTI-MRS to de-identified, checked NIfTI-MRS."""

from __future__ import annotations

import argparse

from ..errors import InputError
from ..io.config import load_section
from .session import DEFAULTS, convert_acquisition


def _settings(path: str | None) -> dict:
    section = load_section(path, "convert")
    unknown = sorted(set(section) - set(DEFAULTS))
    if unknown:
        raise InputError(f"unknown convert key(s): {', '.join(unknown)}", file=path)
    return section


def run(args: argparse.Namespace) -> int:
    settings = _settings(args.config)
    if args.format:
        settings["format"] = args.format
    summary = convert_acquisition(
        args.file,
        args.out,
        paired=args.paired_file,
        role="mrsref" if args.reference else "svs",
        settings=settings,
        basis_path=args.basis,
        summary_path=args.summary,
    )
    offset = summary["naa_offset_ppm"]
    print(
        f"{args.out}: {summary['format']} -> NIfTI-MRS, {summary['n_points']} points, "
        f"{summary['cf_mhz']} MHz, dims {summary['dim_tags'] or 'none'}"
        + ("" if offset is None else f", NAA offset {offset:+.3f} ppm")
    )
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "convert", help="convert raw spectra to de-identified NIfTI-MRS", description=__doc__
    )
    p.add_argument(
        "file", help="vendor file (.dat .rda .ima .dcm .sdat .spar .data .list .7) or NIfTI-MRS"
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
        help="the file is a water reference (no basis or NAA checks)",
    )
    p.add_argument("--basis", help="basis set to check dwell time, points and TE against")
    p.add_argument("--format", help="force a format instead of detecting it")
    p.add_argument("--config", help="YAML with conversion settings (or a 'convert:' section)")
    p.add_argument("--summary", help="write the acquisition summary JSON here")
    p.set_defaults(func=run)
