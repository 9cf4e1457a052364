"""Recognise vendor spectroscopy files and convert them with spec2nii.

Supported (spec2nii subcommand): Siemens TWIX `.dat` (twix -e image), RDA `.rda` (rda),
Siemens DICOM `.ima/.dcm` (dicom), Philips SDAT/SPAR (philips), Philips DATA/LIST with a SPAR
(philips_dl), Philips DICOM (philips_dcm), GE P-file `P*.7` (ge), and NIfTI-MRS `.nii(.gz)`
(read as is). The format is detected from the file name and contents; `override` forces one.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..io.nifti_mrs import MRSData, read_nifti_mrs

FORMATS = ("nifti", "twix", "rda", "dicom", "philips", "philips_dl", "philips_dcm", "ge")


@dataclass(frozen=True)
class SourceFiles:
    """One acquisition: its format, main file and companion file(s) (e.g. SPAR of an SDAT)."""

    fmt: str
    main: Path
    companions: tuple[Path, ...] = ()

    @property
    def name(self) -> str:
        return self.main.name


def _sibling(path: Path, suffixes: tuple[str, ...]) -> Path | None:
    for s in suffixes:
        cand = path.with_suffix(s)
        if cand.is_file():
            return cand
    return None


def _is_dicom(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def _dicom_manufacturer(path: Path) -> str:
    try:
        import pydicom

        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Manufacturer"])
        return str(getattr(ds, "Manufacturer", ""))
    except Exception as exc:  # pydicom raises many types on corrupt files
        raise InputError(f"DICOM header cannot be read ({exc})", file=str(path)) from exc


def detect(
    path: str | Path, paired: str | Path | None = None, override: str = "auto"
) -> SourceFiles:
    """Identify the format of `path` (and its companion). InputError names the file."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError("file not found", file=name)
    if path.stat().st_size == 0:
        raise InputError("file is empty", file=name)
    if override not in ("auto", *FORMATS):
        raise InputError(
            f"unknown format override '{override}' (expected auto or one of {', '.join(FORMATS)})",
            file=name,
        )
    lower = path.name.lower()
    suffix = path.suffix.lower()
    fmt = override
    if fmt == "auto":
        if lower.endswith((".nii", ".nii.gz")):
            fmt = "nifti"
        elif suffix in (".sdat", ".spar"):
            fmt = "philips"
        elif suffix in (".data", ".list"):
            fmt = "philips_dl"
        elif suffix == ".rda":
            fmt = "rda"
        elif suffix == ".dat":
            fmt = "twix"
        elif suffix == ".7":
            fmt = "ge"
        elif suffix in (".dcm", ".ima") or _is_dicom(path):
            maker = _dicom_manufacturer(path).lower()
            fmt = "philips_dcm" if "philips" in maker else "dicom"
        else:
            raise InputError(
                f"unsupported file type '{path.suffix or path.name}' (supported: NIfTI-MRS "
                ".nii.gz, Siemens .dat/.rda/.ima/.dcm, Philips .sdat+.spar/.data+.list/DICOM, "
                "GE P-file .7)",
                file=name,
            )
    companions: tuple[Path, ...] = ()
    pair = Path(paired) if paired else None
    if fmt == "philips":
        sdat = path if suffix == ".sdat" else (pair or _sibling(path, (".sdat", ".SDAT")))
        spar = path if suffix == ".spar" else (pair or _sibling(path, (".spar", ".SPAR")))
        if sdat is None or not Path(sdat).is_file():
            raise InputError("SPAR file without its SDAT data file", file=name)
        if spar is None or not Path(spar).is_file():
            raise InputError("SDAT data file without its SPAR header", file=name)
        path, companions = Path(sdat), (Path(spar),)
    elif fmt == "philips_dl":
        data = path if suffix == ".data" else _sibling(path, (".data", ".DATA"))
        lst = path if suffix == ".list" else _sibling(path, (".list", ".LIST"))
        aux = pair or _sibling(path, (".spar", ".SPAR"))
        if data is None or lst is None:
            raise InputError(
                "DATA/LIST pair incomplete (both .data and .list are needed)", file=name
            )
        if aux is None:
            raise InputError(
                "DATA/LIST needs an auxiliary .SPAR or DICOM file (PAIRED_FILE)", file=name
            )
        path, companions = data, (lst, Path(aux))
    for c in companions:
        if c.stat().st_size == 0:
            raise InputError("companion file is empty", file=str(c))
    return SourceFiles(fmt, path, companions)


def _spec2nii_args(src: SourceFiles) -> list[str]:
    main = str(src.main)
    rest = [str(c) for c in src.companions]
    return {
        "twix": ["twix", "-e", "image", main],
        "rda": ["rda", main],
        "dicom": ["dicom", main],
        "philips": ["philips", main, *rest],
        "philips_dl": ["philips_dl", main, *rest],
        "philips_dcm": ["philips_dcm", main],
        "ge": ["ge", main],
    }[src.fmt]


def run_spec2nii(src: SourceFiles) -> list[MRSData]:
    """Convert with spec2nii (in-process); one MRSData per NIfTI-MRS file it writes."""
    from spec2nii.spec2nii import spec2nii as Spec2Nii

    with tempfile.TemporaryDirectory() as tmp:
        argv = ["spec2nii", *_spec2nii_args(src), "-o", tmp, "-f", "converted"]
        old_argv = sys.argv
        buf = io.StringIO()
        try:
            sys.argv = argv
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                Spec2Nii()
        except SystemExit as exc:
            if exc.code:
                raise InputError(
                    f"spec2nii {src.fmt} rejected the file: {buf.getvalue().strip()[-300:]}",
                    file=str(src.main),
                ) from exc
        except Exception as exc:  # spec2nii raises many types on corrupt input
            raise InputError(
                f"spec2nii {src.fmt} could not convert it, file damaged or not "
                f"{src.fmt}? ({type(exc).__name__}: {exc})",
                file=str(src.main),
            ) from exc
        finally:
            sys.argv = old_argv
        outputs = sorted(Path(tmp).glob("*.nii.gz"))
        if not outputs:
            raise InputError(f"spec2nii {src.fmt} wrote no NIfTI-MRS file", file=str(src.main))
        converted = []
        for out in outputs:
            try:
                converted.append(read_nifti_mrs(out))
            except InputError as exc:
                raise InputError(
                    f"spec2nii output is not valid NIfTI-MRS: {exc.problems[0].message}",
                    file=str(src.main),
                ) from exc
        return converted


def _rda_points(path: Path) -> int | None:
    """Points per spectrum announced in an RDA header (VectorSize), if any."""
    with open(path, "rb") as fh:
        head = fh.read(65536).split(b">>> End of header <<<")[0]
    for line in head.decode("latin-1").splitlines():
        if line.strip().startswith("VectorSize:"):
            return int(line.split(":", 1)[1])
    return None


def load_source(src: SourceFiles) -> MRSData:
    """The acquisition as MRSData: NIfTI-MRS read as is, vendor files through spec2nii."""
    if src.fmt == "nifti":
        return read_nifti_mrs(src.main)
    data = run_spec2nii(src)[0]
    if src.fmt == "rda":
        expected = _rda_points(src.main)
        if expected is not None and data.n_points != expected:
            raise InputError(
                f"file truncated: {data.n_points} points read, the header announces "
                f"VectorSize {expected}",
                file=str(src.main),
            )
    return data
