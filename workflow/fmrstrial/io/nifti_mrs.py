"""Read and write NIfTI-MRS (single voxel) with deterministic bytes.

Files follow the NIfTI-MRS standard (v0.x): NIfTI-2, complex data of shape
(1, 1, 1, n_points, dim5, dim6, dim7), dwell time in pixdim[4], a JSON header extension
(code 44) holding SpectrometerFrequency, ResonantNucleus, dimension tags and metadata.
In memory, `MRSData.fids` holds the conjugate of the stored samples so that it follows the
convention of `fmrstrial.spectra` (shape (n_points, *higher_dims)).
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
from nifti_mrs import validator

from ..errors import InputError
from .atomic import atomic_path

NIFTI_MRS_INTENT = "mrs_v0_9"
#: 1H gyromagnetic ratio / 2 pi, MHz/T
GAMMA_1H_MHZ_PER_T = 42.577478518
HEADER_EXTENSION_CODE = 44
_DIM_KEYS = ("dim_5", "dim_6", "dim_7")
_DIM_EXTRA = re.compile(r"dim_[5-7]_(info|header)$")


@dataclass
class MRSData:
    """A single-voxel MRS data set.

    fids: complex array, shape (n_points, *higher) with higher dims tagged by `dim_tags`
    dwell_s: dwell time, s; cf_mhz: spectrometer frequency, MHz.
    header: every other header-extension field (JSON-serialisable).
    """

    fids: np.ndarray
    dwell_s: float
    cf_mhz: float
    nucleus: str = "1H"
    dim_tags: tuple[str, ...] = ()
    header: dict = field(default_factory=dict)
    affine: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.fids.ndim - 1 != len(self.dim_tags):
            raise ValueError(
                f"fids has {self.fids.ndim - 1} higher dimensions but {len(self.dim_tags)} tags"
            )

    @property
    def n_points(self) -> int:
        return self.fids.shape[0]

    @property
    def field_t(self) -> float:
        """Static field strength implied by the 1H frequency, T."""
        return self.cf_mhz / GAMMA_1H_MHZ_PER_T

    def axis(self, tag: str) -> int | None:
        """Array axis of a dimension tag (e.g. 'DIM_DYN'), or None if absent."""
        return 1 + self.dim_tags.index(tag) if tag in self.dim_tags else None

    def with_fids(self, fids: np.ndarray, dim_tags: tuple[str, ...] | None = None) -> MRSData:
        """A copy carrying new data (and optionally new tags); header copied."""
        return MRSData(
            fids=fids,
            dwell_s=self.dwell_s,
            cf_mhz=self.cf_mhz,
            nucleus=self.nucleus,
            dim_tags=self.dim_tags if dim_tags is None else tuple(dim_tags),
            header=copy.deepcopy(self.header)
            if dim_tags is None
            else {k: v for k, v in self.header.items() if not _DIM_EXTRA.match(k)},
            affine=None if self.affine is None else self.affine.copy(),
        )


def _hdr_ext_dict(data: MRSData) -> dict:
    ext: dict = {
        "SpectrometerFrequency": [float(data.cf_mhz)],
        "ResonantNucleus": [data.nucleus],
    }
    for key, tag in zip(_DIM_KEYS, data.dim_tags, strict=False):
        ext[key] = tag
    for key, value in data.header.items():
        if key in ext or key in _DIM_KEYS:
            continue
        match = _DIM_EXTRA.match(key)
        if match and int(key[4]) - 4 > len(data.dim_tags):
            continue
        ext[key] = value
    return ext


#: User-defined header key in which preprocessing records each block's linewidth-matching
#: broadening ({"Value": {"broadening_hz": [...], "lineshape": ...}, "Description": ...});
#: the fit reads it to account for the noise the broadening shapes.
LINEWIDTH_MATCHING_KEY = "LinewidthMatching"


#: gzip level for transient-level data: noise barely compresses (about 6 %) and level 1
#: costs about 0.5 s per demo session, so such files are stored uncompressed inside gzip.
TRANSIENT_COMPRESSLEVEL = 0


def write_nifti_mrs(path: str | os.PathLike, data: MRSData, compresslevel: int = 1) -> None:
    """Write `data` to `path` (.nii.gz) atomically; identical inputs give identical bytes.

    compresslevel: gzip level 0-9 (see TRANSIENT_COMPRESSLEVEL).
    """
    if data.fids.ndim > 4:
        raise ValueError("NIfTI-MRS allows at most three higher dimensions")
    stored = np.ascontiguousarray(data.fids.conj().astype(np.complex64))
    stored = stored.reshape((1, 1, 1) + stored.shape)
    affine = data.affine if data.affine is not None else np.diag([10000.0] * 3 + [1.0])
    img = nib.Nifti2Image(stored, affine=affine)
    hdr = img.header
    hdr.set_qform(affine, code=2)
    hdr.set_sform(affine, code=2)
    hdr["pixdim"][4] = data.dwell_s
    hdr.set_xyzt_units(xyz="mm", t="sec")
    hdr["intent_name"] = NIFTI_MRS_INTENT.encode()
    text = json.dumps(_hdr_ext_dict(data), allow_nan=False)
    validator.validate_hdr_ext(text, stored.shape)
    validator.validate_spectralwidth(text, data.dwell_s)
    hdr.extensions.append(nib.nifti1.Nifti1Extension(HEADER_EXTENSION_CODE, text.encode()))
    with atomic_path(path) as tmp:
        previous = nib.openers.Opener.default_compresslevel
        nib.openers.Opener.default_compresslevel = compresslevel
        try:
            nib.save(img, tmp)
        finally:
            nib.openers.Opener.default_compresslevel = previous


def read_nifti_mrs(path: str | os.PathLike) -> MRSData:
    """Read and validate a NIfTI-MRS file; InputError naming the file if it is not valid."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError("file not found (expected a NIfTI-MRS .nii.gz)", file=name)
    if path.stat().st_size == 0:
        raise InputError("file is empty (expected a NIfTI-MRS .nii.gz)", file=name)
    try:
        img = nib.load(path)
    except Exception as exc:  # nibabel raises many types for corrupt files
        raise InputError(f"not a readable NIfTI file ({exc})", file=name) from exc
    hdr = img.header
    codes = [ext.get_code() for ext in hdr.extensions]
    if HEADER_EXTENSION_CODE not in codes:
        raise InputError(
            "NIfTI file has no NIfTI-MRS header extension (code 44); convert it with spec2nii",
            file=name,
        )
    text = hdr.extensions[codes.index(HEADER_EXTENSION_CODE)].get_content()
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        raw = np.asanyarray(img.dataobj)
    except Exception as exc:
        detail = " ".join(str(exc).split())
        raise InputError(f"data could not be read, file truncated? ({detail})", file=name) from exc
    try:
        validator.validate_nifti_data(raw)
        validator.validate_nifti_header(hdr)
        validator.validate_hdr_ext(text, raw.shape)
        validator.validate_spectralwidth(text, float(hdr["pixdim"][4]))
    except Exception as exc:
        raise InputError(f"invalid NIfTI-MRS: {exc}", file=name) from exc
    if raw.shape[:3] != (1, 1, 1):
        raise InputError(f"spatial shape {raw.shape[:3]} is not single-voxel (1, 1, 1)", file=name)
    fids = np.asarray(raw[0, 0, 0], dtype=np.complex128).conj()
    if not np.all(np.isfinite(fids)):
        raise InputError("data contain NaN or infinite samples", file=name)
    ext = json.loads(text)
    tags = tuple(ext.pop(k) for k in _DIM_KEYS[: fids.ndim - 1] if k in ext)
    if len(tags) < fids.ndim - 1:
        tags = tags + tuple("DIM_USER_0" for _ in range(fids.ndim - 1 - len(tags)))
    for k in _DIM_KEYS:
        ext.pop(k, None)
    cf = float(ext.pop("SpectrometerFrequency")[0])
    nucleus = str(ext.pop("ResonantNucleus")[0])
    return MRSData(
        fids=fids,
        dwell_s=float(hdr["pixdim"][4]),
        cf_mhz=cf,
        nucleus=nucleus,
        dim_tags=tags,
        header=ext,
        affine=np.asarray(img.affine, dtype=float),
    )
