"""Run an LCModel 6.3 binary on one FID (benchmarks only; LCModel is not a dependency).

LCModel is public BSD-licensed source (github.com/schorschinho/LCModel); build it with
`gfortran -std=legacy -O3 -o lcmodel LCModel.f` and pass the binary's path. Each fit runs in
a temporary folder: the FID is written as a .RAW file (`$NMID` namelist, one real and one
imaginary value per line), LCModel reads its control namelist on stdin and writes a .table
file, whose concentration section is parsed. Settings are LCModel's defaults (its simulated
MM/lipid components, -CrCH2 correction, spline baseline, priors) except the analysis window
(PPMST 4.0, PPMEND 0.2 ppm), no eddy-current correction and no water scaling, as in the
project's LCModel references of the real spectra. The FID must be in the NIfTI-MRS storage
convention (`MRSData.fids.conj()`: the package holds the conjugate in memory).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

#: A concentration row of the .table: value, %SD, ratio to Cr+PCr, name.
_ROW = re.compile(r"^\s*([-+0-9.E]+)\s+(\d+)%\s+(\S+)\s+(\S+)\s*$")


def _namelist(name: str, values: dict) -> str:
    def fmt(v) -> str:
        if isinstance(v, bool):
            return "T" if v else "F"
        if isinstance(v, str):
            return f"'{v}'"
        return repr(v)

    return f" ${name}\n" + "".join(f" {k}={fmt(v)}\n" for k, v in values.items()) + " $END\n"


def concentrations(table: str) -> dict[str, float]:
    """{name: concentration} of an LCModel .table's concentration section (combinations
    such as 'Glu+Gln' and 'NAA+NAAG' included)."""
    out, inside = {}, False
    for line in table.splitlines():
        if line.startswith("$$"):
            inside = line.startswith("$$CONC")
            continue
        match = _ROW.match(line) if inside else None
        if match:
            out[match.group(4)] = float(match.group(1))
    return out


def fit(
    lcmodel: str,
    fid: np.ndarray,
    dwell_s: float,
    cf_mhz: float,
    basis: str,
    te_ms: float,
    scale: float = 1.0,
) -> dict[str, float]:
    """LCModel's concentrations of `fid` (n,) complex, NIfTI-MRS storage convention,
    multiplied by `scale` first (LCModel prints 3 significant digits outside 0.1-1000:
    `scale_for` brings NAA near 300, as in the project's LCModel references)."""
    fid = np.asarray(fid).ravel() * scale
    with tempfile.TemporaryDirectory(prefix="lcmodel_") as tmp:
        d = Path(tmp)
        (d / "basis.basis").symlink_to(Path(basis).resolve())
        raw = _namelist("SEQPAR", {"ECHOT": float(te_ms), "HZPPPM": float(cf_mhz)})
        raw += _namelist("NMID", {"ID": "fid", "FMTDAT": "(2E16.8)", "VOLUME": 1.0, "TRAMP": 1.0})
        raw += "".join(f"{v.real:16.8E}{v.imag:16.8E}\n" for v in fid)
        (d / "data.raw").write_text(raw)
        control = {
            "KEY": 210387309,
            "NUNFIL": int(fid.size),
            "DELTAT": float(dwell_s),
            "HZPPPM": float(cf_mhz),
            "ECHOT": float(te_ms),
            "FILBAS": "basis.basis",
            "FILRAW": "data.raw",
            "FILPS": "out.ps",
            "LTABLE": 7,
            "FILTAB": "out.table",
            "PPMST": 4.0,
            "PPMEND": 0.2,
            "DOECC": False,
            "DOWS": False,
        }
        run = subprocess.run(
            [lcmodel], input=_namelist("LCMODL", control), cwd=d, capture_output=True, text=True
        )
        table = d / "out.table"
        if not table.exists():
            raise RuntimeError(
                f"LCModel wrote no table (exit {run.returncode}): {run.stderr[-500:]}"
            )
        return concentrations(table.read_text(errors="replace"))


def scale_for(conc: dict[str, float]) -> float:
    """Factor that brings NAA+NAAG near 300 (3 significant digits), from an unscaled fit."""
    tnaa = conc.get("NAA+NAAG", conc.get("NAA", 0.0))
    return float(f"{300.0 / tnaa:.2e}") if tnaa > 0 else 1.0


def glx_tnaa(conc: dict[str, float]) -> float:
    """Glu+Gln over NAA+NAAG from LCModel's combination rows (NaN without NAA)."""
    tnaa = conc.get("NAA+NAAG", np.nan)
    return conc.get("Glu+Gln", np.nan) / tnaa if tnaa else float("nan")
