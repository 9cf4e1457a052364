"""Find a session's raw acquisitions: NIfTI-MRS in the subject folder or vendor files in
`sourcedata/`. Water references are recognised by the dataset's `_mrsref` suffix or, for
vendor files, by `reference_pattern` in the file name. DICOM files (in `mrs/` or its
subfolders) are grouped into series; a series stored one file per transient is one
acquisition (a list of files), told apart from a reference series by water suppression or
`reference_pattern` in its description/file names. A GE P-file without a separate reference
is also the session's reference (spec2nii writes the water frames it holds as `_ref`)."""

from __future__ import annotations

import re
from pathlib import Path

from ..dataset import ref_path, svs_path
from ..errors import InputError
from .series import group_series, is_dicom

#: suffixes that are companions, not acquisitions of their own
_COMPANIONS = {".spar", ".list"}
_VENDOR = {".dat", ".rda", ".ima", ".dcm", ".sdat", ".spar", ".data", ".list", ".7"}


Source = Path | list[Path]


def _acquisitions(folder: Path, pattern: re.Pattern) -> list[tuple[Source, bool]]:
    """(acquisition, is_reference) of a sourcedata folder; DICOM series grouped."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    dicoms = sorted(
        p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".") and is_dicom(p)
    )
    found: list[tuple[Source, bool]] = []
    for p in files:
        if p in dicoms:
            continue
        suffix = p.suffix.lower()
        if suffix in _COMPANIONS:
            # a SPAR/LIST whose data file is missing is still an acquisition (reported later)
            if not any(q.stem == p.stem and q.suffix.lower() in (".sdat", ".data") for q in files):
                found.append((p, bool(pattern.search(p.name))))
            continue
        if suffix in _VENDOR or p.name.lower().endswith((".nii", ".nii.gz")):
            found.append((p, bool(pattern.search(p.name))))
    for series in group_series(dicoms) if dicoms else []:
        source = list(series.files) if len(series.files) > 1 else series.files[0]
        found.append((source, series.is_reference(pattern.pattern)))
    return found


def _name(source: Source) -> str:
    if isinstance(source, list):
        return f"{source[0].parent.name}/ ({len(source)} DICOM files of one series)"
    return source.name


def session_sources(
    root: str | Path, pid: str, sid: str, reference_pattern: str = r"(?i)(ref|water)"
) -> dict[str, Source | None]:
    """{'svs': source, 'mrsref': source or None} for one session (InputError if ambiguous);
    a source is a file or the list of files of a DICOM series."""
    root = Path(root)
    svs = svs_path(root, pid, sid)
    if svs is not None:
        return {"svs": svs, "mrsref": ref_path(root, pid, sid)}
    folder = root / "sourcedata" / pid / sid / "mrs"
    if not folder.is_dir():
        raise InputError(
            f"no spectra for {pid} {sid}: neither {pid}/{sid}/mrs/*_svs.nii.gz nor "
            "vendor files in sourcedata/",
            file=str(folder),
        )
    pattern = re.compile(reference_pattern)
    found = _acquisitions(folder, pattern)
    refs = [p for p, is_ref in found if is_ref]
    mets = [p for p, is_ref in found if not is_ref]
    if len(mets) != 1:
        raise InputError(
            f"expected one metabolite acquisition, found {len(mets)}: "
            f"{', '.join(_name(p) for p in mets) or 'none'}",
            file=str(folder),
        )
    if len(refs) > 1:
        raise InputError(
            f"expected at most one water reference, found {len(refs)}: "
            f"{', '.join(_name(p) for p in refs)}",
            file=str(folder),
        )
    svs = mets[0]
    if not refs and isinstance(svs, Path) and svs.suffix.lower() == ".7":
        refs = [svs]  # the P-file's embedded water reference
    return {"svs": svs, "mrsref": refs[0] if refs else None}
