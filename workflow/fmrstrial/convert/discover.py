"""Find a session's raw acquisitions: NIfTI-MRS in the subject folder or vendor files in
`sourcedata/`. Water references are recognised by the dataset's `_mrsref` suffix or, for
vendor files, by `reference_pattern` in the file name."""

from __future__ import annotations

import re
from pathlib import Path

from ..dataset import ref_path, svs_path
from ..errors import InputError

#: suffixes that are companions, not acquisitions of their own
_COMPANIONS = {".spar", ".list"}
_VENDOR = {".dat", ".rda", ".ima", ".dcm", ".sdat", ".spar", ".data", ".list", ".7"}


def _acquisitions(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    mains = []
    for p in files:
        suffix = p.suffix.lower()
        if suffix in _COMPANIONS:
            # a SPAR/LIST whose data file is missing is still an acquisition (reported later)
            if not any(q.stem == p.stem and q.suffix.lower() in (".sdat", ".data") for q in files):
                mains.append(p)
            continue
        if suffix in _VENDOR or p.name.lower().endswith((".nii", ".nii.gz")):
            mains.append(p)
    return mains


def session_sources(
    root: str | Path, pid: str, sid: str, reference_pattern: str = r"(?i)(ref|water)"
) -> dict[str, Path | None]:
    """{'svs': file, 'mrsref': file or None} for one session (InputError if ambiguous)."""
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
    found = _acquisitions(folder)
    refs = [p for p in found if pattern.search(p.name)]
    mets = [p for p in found if not pattern.search(p.name)]
    if len(mets) != 1:
        raise InputError(
            f"expected one metabolite acquisition, found {len(mets)}: "
            f"{', '.join(p.name for p in mets) or 'none'}",
            file=str(folder),
        )
    if len(refs) > 1:
        raise InputError(
            f"expected at most one water reference, found {len(refs)}: "
            f"{', '.join(p.name for p in refs)}",
            file=str(folder),
        )
    return {"svs": mets[0], "mrsref": refs[0] if refs else None}
