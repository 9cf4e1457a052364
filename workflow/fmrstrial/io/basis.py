"""Basis sets: LCModel `.BASIS` and FSL-MRS JSON readers, re-referencing and resampling.

A `Basis` holds one time-domain signal per metabolite in the internal convention of
`fmrstrial.spectra`, shape (n_points, n_metabolites), with its dwell time (s), spectrometer
frequency (MHz) and the chemical shift of its centre frequency (ppm).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..spectra import PPM_CENTRE_1H, chirp_z, ppm_axis, to_spectrum

#: Known singlets used to find the chemical-shift reference of a basis set, ppm
#: (Govindaraju, Young & Maudsley 2000, NMR Biomed 13:129).
REFERENCE_SINGLETS = {"NAA": 2.008, "Cr": 3.027, "PCr": 3.029}
#: File suffixes (lower case) of LCModel basis files.
LCMODEL_SUFFIXES = (".basis", ".bas")


@dataclass
class Basis:
    """Metabolite basis spectra.

    fids: complex, shape (n_points, n_metabolites); dwell_s in s; cf_mhz in MHz;
    centre_ppm: chemical shift of the receiver (zero) frequency, ppm.
    """

    names: list[str]
    fids: np.ndarray
    dwell_s: float
    cf_mhz: float
    centre_ppm: float = PPM_CENTRE_1H
    echo_time_ms: float | None = None
    source: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        return self.fids.shape[0]

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"{self.source}: basis has no metabolite '{name}'") from None

    def fid(self, name: str) -> np.ndarray:
        """Time-domain signal of one metabolite, shape (n_points,)."""
        return self.fids[:, self.index(name)]

    def subset(self, names: list[str]) -> Basis:
        """The basis restricted to `names`, in that order (KeyError naming a missing one)."""
        idx = [self.index(n) for n in names]
        return replace(self, names=list(names), fids=self.fids[:, idx].copy())

    def rereferenced(self, centre_ppm: float) -> Basis:
        """The same resonances expressed relative to a receiver centre at `centre_ppm`."""
        shift_hz = (self.centre_ppm - centre_ppm) * self.cf_mhz
        t = np.arange(self.n_points) * self.dwell_s
        fids = self.fids * np.exp(2j * np.pi * shift_hz * t)[:, None]
        return replace(self, fids=fids, centre_ppm=centre_ppm)

    def resampled(self, dwell_s: float, n_points: int, cf_mhz: float | None = None) -> Basis:
        """Basis evaluated on another time grid (and field, within 1 %).

        Band-limited (trigonometric) interpolation of each FID: frequency components outside
        the new bandwidth are dropped, times past the basis duration are zero. A different
        spectrometer frequency rescales chemical-shift offsets (J couplings are kept in ppm
        units, which is accurate for a field change below 1 %).
        """
        cf_mhz = self.cf_mhz if cf_mhz is None else cf_mhz
        ratio = cf_mhz / self.cf_mhz
        if abs(ratio - 1.0) > 0.01:
            raise InputError(
                f"basis is for {self.cf_mhz:.3f} MHz but the data are at {cf_mhz:.3f} MHz "
                "(field strengths differ by more than 1 %); use a basis set for this field",
                file=self.source or "<basis>",
            )
        fids = _resample_fids(self.fids, self.dwell_s, dwell_s * ratio, n_points)
        return replace(self, fids=fids, dwell_s=dwell_s, cf_mhz=cf_mhz)

    def singlet_ppm(self, name: str, expected_ppm: float, window_ppm: float = 0.15) -> float:
        """Measured chemical shift of a singlet near `expected_ppm` (parabolic peak), ppm."""
        spec = np.abs(to_spectrum(self.fid(name)))
        ppm = ppm_axis(self.n_points, self.dwell_s, self.cf_mhz, self.centre_ppm)
        inside = np.flatnonzero(np.abs(ppm - expected_ppm) <= window_ppm)
        i = inside[np.argmax(spec[inside])]
        y0, y1, y2 = spec[i - 1], spec[i], spec[i + 1]
        denom = y0 - 2 * y1 + y2
        frac = 0.5 * (y0 - y2) / denom if denom != 0 else 0.0
        step = ppm[1] - ppm[0]
        return float(ppm[i] + frac * step)

    def auto_referenced(self) -> Basis:
        """Re-reference so that the NAA (or Cr/PCr) singlet sits at its literature shift."""
        for name, ppm in REFERENCE_SINGLETS.items():
            if name in self.names:
                offset = self.singlet_ppm(name, ppm) - ppm
                return replace(self, centre_ppm=self.centre_ppm - offset)
        return self


def _resample_fids(fids: np.ndarray, dwell_in: float, dwell_out: float, n_out: int) -> np.ndarray:
    """Trigonometric interpolation of FIDs (n_in, k) onto n_out samples at dwell_out.

    The FID at t_j = j dwell_out is sum_p X_p w^(j p) over the kept DFT bins p (w =
    exp(2 pi i a), a = dwell_out / (n_in dwell_in)): a chirp z-transform (`chirp_z`).
    """
    n_in = fids.shape[0]
    bins = np.rint(np.fft.fftfreq(n_in) * n_in).astype(np.int64)
    keep = np.abs(bins / (n_in * dwell_in)) < 0.5 / dwell_out
    order = np.argsort(bins[keep])
    first_bin = int(bins[keep][order][0])
    spec = np.fft.fft(fids, axis=0)[keep][order]  # (n_bins, k), bins first_bin, first_bin + 1, ...
    t_out = np.arange(n_out) * dwell_out
    n_valid = int(np.count_nonzero(t_out < n_in * dwell_in - 0.5 * dwell_in))
    a = dwell_out / (n_in * dwell_in)
    j = np.arange(n_valid)
    offset = np.exp(2j * np.pi * np.mod(a * j * first_bin, 1.0))  # w^(j first_bin)
    out = np.zeros((n_out, fids.shape[1]), dtype=np.complex128)
    out[:n_valid] = chirp_z(spec, a, n_valid, post=offset) / n_in
    return out


# ----------------------------------------------------------------------------- LCModel


_NAMELIST = re.compile(r"\$(\w+)(.*?)\$END", re.S | re.I)
_ASSIGN = re.compile(r"(\w+)\s*=\s*('(?:[^']*)'|[^,\n]+)")


def _parse_namelist(body: str) -> dict:
    out = {}
    for key, value in _ASSIGN.findall(body):
        value = value.strip().rstrip(",").strip()
        if value.startswith("'"):
            out[key.upper()] = value.strip("'")
        else:
            try:
                out[key.upper()] = float(value.replace("D", "E").replace("d", "e"))
            except ValueError:
                out[key.upper()] = value
    return out


def read_lcmodel_basis(path: str | os.PathLike) -> Basis:
    """Read an LCModel `.BASIS` file (namelist headers, frequency-domain data).

    Each metabolite's spectrum is stored as NDATAB complex pairs after its ``$BASIS``
    namelist; the FID is the conjugated inverse FFT (verified against the NAA/Cr singlets).
    The receiver centre is found from the NAA (or Cr) singlet (`Basis.auto_referenced`).
    """
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read basis file ({exc})", file=name) from exc
    matches = list(_NAMELIST.finditer(text))
    if not matches:
        raise InputError("no LCModel namelists ($SEQPAR/$BASIS1/$BASIS) found", file=name)
    head: dict = {}
    names: list[str] = []
    spectra: list[np.ndarray] = []
    for k, m in enumerate(matches):
        group = m.group(1).upper()
        values = _parse_namelist(m.group(2))
        if group != "BASIS":
            head.update(values)
            continue
        ndata = int(head.get("NDATAB", 0))
        if ndata <= 0:
            raise InputError("$BASIS1 lacks NDATAB (number of points)", file=name)
        end = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        tokens = text[m.end() : end].split()
        try:
            numbers = np.array([float(x) for x in tokens[: 2 * ndata]])
        except ValueError as exc:
            raise InputError(
                f"non-numeric data for metabolite {values.get('METABO', '?')} ({exc})", file=name
            ) from exc
        if numbers.size != 2 * ndata:
            raise InputError(
                f"metabolite {values.get('METABO', '?')} has {numbers.size // 2} points, "
                f"expected NDATAB={ndata}",
                file=name,
            )
        names.append(str(values.get("METABO", values.get("ID", f"met{len(names)}"))))
        spectra.append(numbers[0::2] + 1j * numbers[1::2])
    if not names:
        raise InputError("no $BASIS metabolite blocks found", file=name)
    for key in ("BADELT", "HZPPPM"):
        if key not in head:
            raise InputError(f"header lacks {key}", file=name)
    fids = np.fft.ifft(np.array(spectra).T, axis=0).conj()
    basis = Basis(
        names=names,
        fids=fids,
        dwell_s=float(head["BADELT"]),
        cf_mhz=float(head["HZPPPM"]),
        centre_ppm=PPM_CENTRE_1H,
        echo_time_ms=echo_time_ms(head.get("ECHOT")),
        source=name,
        meta={k: v for k, v in head.items() if k in ("IDBASI", "SEQ", "FWHMBA", "ECHOT")},
    )
    return basis.auto_referenced()


# ----------------------------------------------------------------------------- FSL-MRS


def read_fslmrs_basis(directory: str | os.PathLike, only: list[Path] | None = None) -> Basis:
    """Read an FSL-MRS basis directory (one JSON per metabolite, FIDs in FSL convention)."""
    directory = Path(directory)
    files = only if only is not None else sorted(directory.glob("*.json"))
    if not files:
        raise InputError("no *.json basis files in directory", file=str(directory))
    names, fids, dwell, cf, te = [], [], None, None, None
    for f in files:
        try:
            doc = json.loads(f.read_text())
            b = doc["basis"]
            # FSL-MRS stores basis FIDs in its (NIfTI-MRS) convention, the complex conjugate
            # of the one used in memory (fmrstrial.spectra): without it NAA sits at 7.29 ppm
            fid = np.asarray(b["basis_re"], float) - 1j * np.asarray(b["basis_im"], float)
            d, c = float(b["basis_dwell"]), float(b["basis_centre"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"not an FSL-MRS basis JSON (needs basis.basis_re/basis_im/basis_dwell/"
                f"basis_centre): {exc}",
                file=str(f),
            ) from exc
        if dwell is not None and (abs(d - dwell) > 1e-12 or fid.size != fids[0].size):
            raise InputError("dwell time or length differs from the other basis files", file=str(f))
        dwell, cf = d, c
        te = echo_time_ms(doc.get("meta", {}).get("TE")) or te
        names.append(str(b.get("basis_name", f.stem)))
        fids.append(fid)
    return Basis(
        names=names,
        fids=np.array(fids).T,
        dwell_s=dwell,
        cf_mhz=cf,
        centre_ppm=PPM_CENTRE_1H,
        echo_time_ms=te,
        source=str(directory),
    )


def echo_time_ms(value) -> float | None:
    """A basis header's echo time, ms, or None when absent or not positive (LCModel basis
    sets write ECHOT = -1 for an unknown echo time)."""
    try:
        te = float(value)
    except (TypeError, ValueError):
        return None
    return te if te > 0 else None


@dataclass(frozen=True)
class BasisInfo:
    """What a basis set says about its acquisition, read without its spectra."""

    dwell_s: float
    n_points: int
    cf_mhz: float
    echo_time_ms: float | None
    source: str


def read_basis_info(path: str | os.PathLike) -> BasisInfo:
    """Dwell time, points, frequency and TE of a basis set (fast: headers only)."""
    path = Path(path)
    if path.is_dir():
        first = sorted(path.glob("*.json"))
        if not first:
            raise InputError("no *.json basis files in directory", file=str(path))
        b = read_fslmrs_basis_file(first[0])
        return BasisInfo(b.dwell_s, b.n_points, b.cf_mhz, b.echo_time_ms, str(path))
    if path.suffix.lower() not in LCMODEL_SUFFIXES:
        return _info(read_basis(path))
    try:
        with open(path, errors="replace") as fh:
            head = fh.read(8192)
    except OSError as exc:
        raise InputError(f"cannot read basis file ({exc})", file=str(path)) from exc
    values: dict = {}
    for m in _NAMELIST.finditer(head):
        if m.group(1).upper() == "BASIS":
            break
        values.update(_parse_namelist(m.group(2)))
    try:
        return BasisInfo(
            float(values["BADELT"]),
            int(values["NDATAB"]),
            float(values["HZPPPM"]),
            echo_time_ms(values.get("ECHOT")),
            str(path),
        )
    except KeyError as exc:
        raise InputError(f"LCModel basis header lacks {exc.args[0]}", file=str(path)) from None


def _info(b: Basis) -> BasisInfo:
    return BasisInfo(b.dwell_s, b.n_points, b.cf_mhz, b.echo_time_ms, b.source)


def read_fslmrs_basis_file(path: Path) -> Basis:
    """One FSL-MRS basis JSON as a one-metabolite Basis."""
    return read_fslmrs_basis(path.parent, only=[path])


def basis_sets_in(folder: str | os.PathLike) -> list[Path]:
    """Basis sets under `folder` that `read_basis` reads: LCModel files (`LCMODEL_SUFFIXES`)
    and FSL-MRS JSON directories, sorted."""

    def is_basis(p: Path) -> bool:
        if p.is_dir():
            return any(p.glob("*.json"))
        return p.suffix.lower() in LCMODEL_SUFFIXES

    return sorted(p for p in Path(folder).rglob("*") if is_basis(p))


def read_basis(path: str | os.PathLike) -> Basis:
    """Read a basis set: an LCModel `.BASIS` file or an FSL-MRS JSON directory."""
    path = Path(path)
    if path.is_dir():
        return read_fslmrs_basis(path)
    if path.suffix.lower() in LCMODEL_SUFFIXES:
        return read_lcmodel_basis(path)
    if not path.exists():
        raise InputError("basis set not found", file=str(path))
    raise InputError(
        "unknown basis format (expected an LCModel .BASIS file or an FSL-MRS JSON directory)",
        file=str(path),
    )
