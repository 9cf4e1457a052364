"""Recognise vendor spectroscopy files and convert them with spec2nii.

Supported (spec2nii subcommand): Siemens TWIX `.dat` (twix -e image), RDA `.rda` (rda),
Siemens DICOM `.ima/.dcm` (dicom), Philips SDAT/SPAR (philips), Philips DATA/LIST with a SPAR
(philips_dl), Philips DICOM (philips_dcm), GE P-file `P*.7` (ge), and NIfTI-MRS `.nii(.gz)`
(read as is). The format is detected from the file name and contents; `override` forces one.
A folder, or a list of files, is a DICOM export stored one file per transient: its files are
grouped into series (see `series`) and the series of the requested role is converted as one
NIfTI-MRS with the transients on DIM_DYN in InstanceNumber order.
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
from .series import dicom_files_in, group_series, pick_series

FORMATS = ("nifti", "twix", "rda", "dicom", "philips", "philips_dl", "philips_dcm", "ge")


@dataclass(frozen=True)
class SourceFiles:
    """One acquisition: its format, main file and companion file(s) (e.g. SPAR of an SDAT)."""

    fmt: str
    main: Path
    companions: tuple[Path, ...] = ()
    #: the files of a DICOM series stored one file per transient, in acquisition order
    files: tuple[Path, ...] = ()
    series: str | None = None

    @property
    def n_files(self) -> int:
        return len(self.files) or 1 + len(self.companions)

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


def detect_source(
    source: str | Path | list | tuple,
    paired: str | Path | None = None,
    override: str = "auto",
    role: str = "svs",
    reference_pattern: str = r"(?i)(ref|water)",
) -> SourceFiles:
    """Like `detect`, and also a folder or list of DICOM files (one file per transient)."""
    if isinstance(source, (list, tuple)):
        paths = [Path(p) for p in source]
        if not paths:
            raise InputError("no source files given", file=None)
        if len(paths) > 1:
            where = str(paths[0].parent)
            return _series_source(paths, role, reference_pattern, where)
        source = paths[0]
    path = Path(source)
    if path.is_dir():
        files = dicom_files_in(path)
        if not files:
            raise InputError(
                "folder holds no DICOM files: a folder must hold the DICOM/IMA files of a "
                "series stored one file per transient (give other formats as files)",
                file=str(path),
            )
        return _series_source(files, role, reference_pattern, str(path))
    return detect(path, paired, override)


def _series_source(paths: list[Path], role: str, pattern: str, where: str) -> SourceFiles:
    for p in paths:
        if not p.is_file():
            raise InputError("file not found", file=str(p))
        if p.stat().st_size == 0:
            raise InputError("file is empty", file=str(p))
    chosen = pick_series(group_series(paths), role, pattern, where)
    if len(chosen.files) > 1 and "siemens" not in chosen.manufacturer.lower():
        raise InputError(
            f"{chosen.label}: DICOM stored one file per transient is supported for Siemens "
            f"exports only (Manufacturer '{chosen.manufacturer}')",
            file=where,
        )
    return SourceFiles("dicom", chosen.files[0], files=chosen.files, series=chosen.label)


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


def _write_series(src: SourceFiles, out_dir: str) -> None:
    """spec2nii's DICOM reader on the files of one series (its Python API)."""
    from spec2nii.Siemens.dicomfunctions import multi_file_dicom

    images, names = multi_file_dicom(list(src.files), "converted", "DIM_DYN", False)
    for img, name in zip(images, names, strict=True):
        img.save(Path(out_dir) / f"{name}.nii.gz")


def _run_cli(argv: list[str]) -> None:
    from spec2nii.spec2nii import spec2nii as Spec2Nii

    old_argv = sys.argv
    try:
        sys.argv = argv
        Spec2Nii()
    finally:
        sys.argv = old_argv


def run_spec2nii(src: SourceFiles, remove_os: bool = False) -> list[tuple[str, MRSData]]:
    """Convert with spec2nii (in-process): (output name, MRSData) per NIfTI-MRS it writes.

    Names are spec2nii's file names without '.nii.gz' (e.g. 'converted', 'converted_ref').
    remove_os: TWIX only, remove the readout oversampling (spec2nii --remove_os).
    """
    with tempfile.TemporaryDirectory() as tmp:
        args = _spec2nii_args(src)
        if remove_os and src.fmt == "twix":
            args = [args[0], "--remove_os", *args[1:]]
        argv = ["spec2nii", *args, "-o", tmp, "-f", "converted"]
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                if len(src.files) > 1:
                    _write_series(src, tmp)
                else:
                    _run_cli(argv)
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
        outputs = sorted(Path(tmp).glob("*.nii.gz"))
        if not outputs:
            raise InputError(f"spec2nii {src.fmt} wrote no NIfTI-MRS file", file=str(src.main))
        converted = []
        for out in outputs:
            try:
                converted.append((out.name[: -len(".nii.gz")], read_nifti_mrs(out)))
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


#: spec2nii output suffixes of water references, in order of preference (GE P-files:
#: '_ref' for PRESS/MEGA, '_ref_ecc'/'_ecc' for sLASER, then quantification references)
REFERENCE_SUFFIXES = ("_ref", "_ref_ecc", "_ecc", "_quant", "_ref_no_ovs", "_ref_short_te")
_BASE = "converted"


def _suffix(name: str) -> str:
    return name[len(_BASE) :] if name.startswith(_BASE) else name


def embedded_reference(names: list[str]) -> bool:
    """Whether spec2nii wrote a water reference beside the metabolite data (GE P-files)."""
    return any(_suffix(n) in REFERENCE_SUFFIXES for n in names) and "" in map(_suffix, names)


def choose_output(outputs: list[tuple[str, MRSData]], role: str, src: SourceFiles) -> MRSData:
    """The output of `role` among spec2nii's outputs (metabolite: no suffix; reference:
    the first of REFERENCE_SUFFIXES present, else the one output not water-suppressed)."""
    if len(outputs) == 1:
        if role == "mrsref" and src.fmt == "ge" and outputs[0][1].header.get("WaterSuppressed"):
            raise InputError(
                "the P-file holds no embedded water reference (spec2nii wrote only the "
                "water-suppressed data); give the reference P-file, named to match "
                "convert.reference_pattern",
                file=str(src.main),
            )
        return outputs[0][1]
    by_suffix = {_suffix(n): d for n, d in outputs}
    listing = ", ".join(f"{n}.nii.gz" for n, _ in outputs)
    if role == "svs":
        if "" in by_suffix:
            return by_suffix[""]
        raise InputError(
            f"spec2nii {src.fmt} wrote {len(outputs)} data sets ({listing}) and none is "
            "the metabolite data",
            file=str(src.main),
        )
    for suffix in REFERENCE_SUFFIXES:
        if suffix in by_suffix:
            return by_suffix[suffix]
    unsuppressed = [d for _, d in outputs if d.header.get("WaterSuppressed") is False]
    if len(unsuppressed) == 1:
        return unsuppressed[0]
    raise InputError(
        f"expected one water reference among spec2nii's outputs ({listing}), found "
        f"{len(unsuppressed)}",
        file=str(src.main),
    )


def load_source(
    src: SourceFiles, role: str = "svs", remove_os: bool = False
) -> tuple[MRSData, list[str]]:
    """The acquisition of `role` as MRSData, and the names of every output spec2nii wrote
    (empty for NIfTI-MRS, which is read as is)."""
    if src.fmt == "nifti":
        return read_nifti_mrs(src.main), []
    outputs = run_spec2nii(src, remove_os=remove_os)
    data = choose_output(outputs, role, src)
    if src.fmt == "rda":
        expected = _rda_points(src.main)
        if expected is not None and data.n_points != expected:
            raise InputError(
                f"file truncated: {data.n_points} points read, the header announces "
                f"VectorSize {expected}",
                file=str(src.main),
            )
    return data, [n for n, _ in outputs]
