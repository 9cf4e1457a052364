"""DICOM exports stored one file per transient: group files into series, tell metabolite and
water-reference series apart, and order each series by acquisition (InstanceNumber).

A series is identified by SeriesInstanceUID (else SeriesNumber). A series is a water
reference when its header says "no water suppression" (Siemens `ucWaterSat = 0x40`) or when
`reference_pattern` matches its SeriesDescription, ProtocolName or folder/file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .vendor import _protocol, _water_sat

DICOM_SUFFIXES = (".ima", ".dcm")


@dataclass(frozen=True)
class DicomFile:
    path: Path
    series_key: str
    series_number: int | None
    description: str
    instance: int | None
    water_suppressed: bool | None
    manufacturer: str = ""


@dataclass(frozen=True)
class Series:
    """The files of one DICOM series in acquisition order."""

    files: tuple[Path, ...]
    number: int | None
    description: str
    water_suppressed: bool | None
    manufacturer: str = ""

    @property
    def label(self) -> str:
        return f"series {self.number if self.number is not None else '?'} '{self.description}'"

    def is_reference(self, pattern: str) -> bool:
        if self.water_suppressed is False:
            return True
        names = [self.description, *(p.name for p in self.files), self.files[0].parent.name]
        return any(re.search(pattern, n or "") for n in names)


def is_dicom(path: Path) -> bool:
    """A DICOM file by suffix or by its 'DICM' preamble."""
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def read_dicom_file(path: Path) -> DicomFile:
    """Series and instance of one DICOM file (header only). InputError names the file."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as exc:  # pydicom raises many types on corrupt files
        raise InputError(f"DICOM header cannot be read ({exc})", file=str(path)) from exc
    number = ds.get("SeriesNumber")
    instance = ds.get("InstanceNumber")
    uid = ds.get("SeriesInstanceUID")
    description = str(ds.get("SeriesDescription") or ds.get("ProtocolName") or "")
    prot = _protocol(ds)
    return DicomFile(
        path=path,
        series_key=str(uid or number or path.parent),
        series_number=None if number in (None, "") else int(number),
        description=description,
        instance=None if instance in (None, "") else int(instance),
        water_suppressed=_water_sat(prot.get(("sPrepPulses", "ucWaterSat"))),
        manufacturer=str(ds.get("Manufacturer") or ""),
    )


def group_series(paths: list[Path]) -> list[Series]:
    """Series of the given DICOM files, each ordered by InstanceNumber (then file name)."""
    groups: dict[str, list[DicomFile]] = {}
    for p in paths:
        f = read_dicom_file(p)
        groups.setdefault(f.series_key, []).append(f)
    out = []
    for members in groups.values():
        members.sort(key=lambda f: (f.instance is None, f.instance or 0, f.path.name))
        instances = [f.instance for f in members if f.instance is not None]
        if len(set(instances)) != len(instances):
            raise InputError(
                f"series {members[0].series_number} '{members[0].description}' has repeated "
                "InstanceNumbers: expected one file per transient",
                file=str(members[0].path.parent),
            )
        first = members[0]
        out.append(
            Series(
                files=tuple(f.path for f in members),
                number=first.series_number,
                description=first.description,
                water_suppressed=first.water_suppressed,
                manufacturer=first.manufacturer,
            )
        )
    out.sort(key=lambda s: (s.number is None, s.number or 0, s.description))
    return out


def dicom_files_in(folder: Path) -> list[Path]:
    """DICOM files in a folder and its subfolders (hidden files ignored)."""
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".") and is_dicom(p)
    )


def pick_series(series: list[Series], role: str, pattern: str, where: str) -> Series:
    """The series of `role` ('svs' or 'mrsref') among those of a folder."""
    if len(series) == 1:
        return series[0]
    refs = [s for s in series if s.is_reference(pattern)]
    mets = [s for s in series if not s.is_reference(pattern)]
    chosen = refs if role == "mrsref" else mets
    what = "water-reference" if role == "mrsref" else "metabolite (water-suppressed)"
    if len(chosen) != 1:
        listing = "; ".join(f"{s.label} ({len(s.files)} files)" for s in series)
        raise InputError(
            f"expected one {what} series, found {len(chosen)} among: {listing}. Series are "
            "told apart by water suppression (ucWaterSat) and by convert.reference_pattern "
            "in their description or file names",
            file=where,
        )
    return chosen[0]
