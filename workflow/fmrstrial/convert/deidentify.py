"""Remove patient, operator, site and source-path identifiers from NIfTI-MRS headers.

Removed everywhere in the header extension (also inside nested user-defined entries):
the keys in `IDENTIFIER_KEYS`, the source file path (OriginalFile) and acquisition dates
and times. With `date_shift_days` set, dates/times are shifted by that many days instead
of removed. The conversion time stamped by spec2nii is dropped so that converting the same
input twice gives identical bytes. What the analysis needs is kept (SpectrometerFrequency,
ResonantNucleus, EchoTime, RepetitionTime, dimension tags, vendor and model).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

IDENTIFIER_KEYS = (
    "PatientName",
    "PatientID",
    "PatientDoB",
    "PatientBirthDate",
    "PatientSex",
    "PatientWeight",
    "PatientAge",
    "PatientSize",
    "PatientAddress",
    "DeviceSerialNumber",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "OperatorsName",
    "PerformingPhysicianName",
    "ReferringPhysicianName",
    "RequestingPhysician",
    "AccessionNumber",
    "StudyID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "FrameOfReferenceUID",
    "OriginalFile",
    "ConversionTime",
)

_DATE_KEY = re.compile(
    r"(?i)(date|datetime|^acquisitiontime$|^studytime$|^seriestime$|"
    r"^contenttime$|^instancecreationtime$)"
)
_KEEP_TIME_KEYS = {"EchoTime", "RepetitionTime", "InversionTime", "MixingTime"}
_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%Y%m%d%H%M%S.%f",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
)


def _shift(value: Any, days: int) -> Any:
    text = str(value)
    for fmt in _FORMATS:
        try:
            when = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return (when + dt.timedelta(days=days)).strftime(fmt)
    return None  # unparseable: removed


def _is_date_key(key: str) -> bool:
    return key not in _KEEP_TIME_KEYS and bool(_DATE_KEY.search(key))


def deidentify(header: dict, date_shift_days: int | None = None) -> tuple[dict, list[str]]:
    """A de-identified copy of a header-extension dict and the list of removed/shifted keys."""
    changed: list[str] = []

    def clean(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                where = f"{path}.{key}" if path else key
                if key in IDENTIFIER_KEYS:
                    changed.append(f"removed {where}")
                    continue
                if _is_date_key(key):
                    shifted = (
                        _shift(value, date_shift_days) if date_shift_days is not None else None
                    )
                    if shifted is None:
                        changed.append(f"removed {where}")
                        continue
                    changed.append(f"shifted {where}")
                    out[key] = shifted
                    continue
                out[key] = clean(value, where)
            return out
        if isinstance(node, list):
            return [clean(v, path) for v in node]
        return node

    return clean(header, ""), changed


def find_identifiers(header: Any, path: str = "") -> list[str]:
    """Paths of identifier or date keys still present in a header (empty when clean)."""
    found = []
    if isinstance(header, dict):
        for key, value in header.items():
            where = f"{path}.{key}" if path else key
            if key in IDENTIFIER_KEYS or _is_date_key(key):
                found.append(where)
            found += find_identifiers(value, where)
    elif isinstance(header, list):
        for v in header:
            found += find_identifiers(v, path)
    return found
