"""Scan outputs for patient identifiers and for absolute paths of the source data.

Every file under a results folder is read (gzip-compressed files decompressed, NIfTI header
extensions included as they are stored inline); a finding is an identifier key (see
`convert.deidentify.IDENTIFIER_KEYS`) used as a JSON/header key or table column, or the
text of a forbidden path (e.g. the dataset's absolute location).
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

from .convert.deidentify import IDENTIFIER_KEYS

_KEYS = re.compile(
    rb'["\t\n](' + b"|".join(re.escape(k.encode()) for k in IDENTIFIER_KEYS) + rb')["\t\n:]'
)
SKIP_PARTS = {"logs", ".snakemake"}
NIFTI2_HEADER = 540


def _nifti_header(path: Path) -> bytes:
    """Header and extensions of a NIfTI-2 file (everything before the voxel data)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(NIFTI2_HEADER)
        if len(head) < NIFTI2_HEADER or int.from_bytes(head[:4], "little") != NIFTI2_HEADER:
            return head + fh.read()  # not NIfTI-2: scan all of it
        vox_offset = int.from_bytes(head[168:176], "little")
        return head + fh.read(max(0, vox_offset - NIFTI2_HEADER))


def _content(path: Path) -> bytes:
    """Bytes that could hold text: NIfTI headers/extensions, other files (decompressed)."""
    if path.name.endswith((".nii", ".nii.gz")):
        try:
            return _nifti_header(path)
        except (OSError, EOFError):
            return path.read_bytes()
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError):
            return raw
    return raw


def scan(results: str | os.PathLike, forbidden: list[str], skip: tuple[str, ...] = ()) -> list[str]:
    """Findings ('file: what'); empty when the folder is clean. `skip`: relative paths."""
    results = Path(results)
    needles = [f.encode() for f in forbidden if f]
    found = []
    for path in sorted(p for p in results.rglob("*") if p.is_file()):
        rel = path.relative_to(results)
        if SKIP_PARTS & set(rel.parts) or str(rel) in skip:
            continue
        data = _content(path)
        for key in sorted({m.group(1).decode() for m in _KEYS.finditer(data)}):
            found.append(f"{rel}: identifier key {key}")
        for needle in needles:
            if needle in data:
                found.append(f"{rel}: contains the path {needle.decode()}")
    return found
