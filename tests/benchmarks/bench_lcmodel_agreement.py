"""Our default fit against LCModel 6.3 on any real spectra, LCModel run here.

    python tests/benchmarks/bench_lcmodel_agreement.py --lcmodel PATH --basis BASIS --te MS
        SPECTRUM [SPECTRUM ...]

For spectra that have no stored LCModel fit (`bench_fit_validation.py` reads the stored
ones): each SPECTRUM (a vendor file `fmrstrial convert` reads, with its .SPAR beside an
.SDAT, or a NIfTI-MRS file) is converted, averaged over its transients and fitted with the
default settings by `fmrstrial fit` (a whole process, as a user runs it) and by an LCModel
binary with its default settings (`lcmodel_runner`; build it as that module says) with the
same basis set. `--te`: the data's echo time given to LCModel (it uses it only to choose
its ratio priors). Printed per spectrum: Glx/tNAA and tNAA/tCr from both fitters, ours as %
difference from LCModel, our residual/noise and chosen baseline flexibility (effective
dimensions per ppm), then the spread (SD) of Glx/tNAA across the spectra relative to
LCModel's. With `--repeats N` (default 3) both whole processes are timed N times per
spectrum in the same run (`fmrstrial fit --no-figure`, the workflow's fit job, start-up
included; one LCModel run at its final scale): medians and LCModel's over ours. Writes only
to a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lcmodel_runner  # noqa: E402

from fmrstrial.io.nifti_mrs import read_nifti_mrs  # noqa: E402

FMRSTRIAL = Path(sys.executable).with_name("fmrstrial")


def as_nifti(spectrum: Path, folder: Path) -> Path:
    """`spectrum` converted to NIfTI-MRS in `folder` (NIfTI-MRS files are used as they are)."""
    if spectrum.name.endswith((".nii", ".nii.gz")):
        return spectrum
    files = [spectrum]
    if spectrum.suffix.lower() == ".sdat":
        spar = spectrum.parent.glob(spectrum.stem + ".*")
        files += [p for p in spar if p.suffix.lower() == ".spar"]
    out = folder / (spectrum.stem + ".nii.gz")
    subprocess.run([FMRSTRIAL, "convert", *files, "--out", out], check=True, capture_output=True)
    return out


def median_wall(run, repeats: int) -> float:
    """Median wall time (s) of `repeats` calls of `run()`."""
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def ours(
    nifti: Path, basis: str, folder: Path, repeats: int = 1
) -> tuple[float, float, dict[str, str], float]:
    """Glx/tNAA, tNAA/tCr and the QC row of `fmrstrial fit` with the default settings, and
    the median wall time of the whole process (s)."""
    out = folder / (nifti.name + ".fit")
    command = [FMRSTRIAL, "fit", nifti, "--basis", basis, "--out", out, "--no-figure"]
    wall = median_wall(lambda: subprocess.run(command, check=True, capture_output=True), repeats)
    with open(out / "ratios.tsv") as fh:
        glx_tnaa = next(
            float(r["value"])
            for r in csv.DictReader(fh, delimiter="\t")
            if r["ratio"] == "Glx/tNAA"
        )
    with open(out / "fit.tsv") as fh:
        amp = {r["metabolite"]: float(r["amplitude"]) for r in csv.DictReader(fh, delimiter="\t")}
    with open(out / "fit_qc.tsv") as fh:
        qc = next(csv.DictReader(fh, delimiter="\t"))
    return glx_tnaa, amp["tNAA"] / amp["tCr"], qc, wall


def lcmodel(
    binary: str, nifti: Path, basis: str, te_ms: float, repeats: int = 1
) -> tuple[float, float, float]:
    """Glx/tNAA and tNAA/tCr of LCModel's default fit of the transients' mean, and the
    median wall time (s) of one LCModel process at the final scale."""
    data = read_nifti_mrs(nifti)
    fid = data.fids.reshape(data.n_points, -1).mean(axis=1).conj()  # NIfTI-MRS convention
    args = (data.dwell_s, data.cf_mhz, basis, te_ms)
    scale = lcmodel_runner.scale_for(lcmodel_runner.fit(binary, fid, *args))
    conc = lcmodel_runner.fit(binary, fid, *args, scale)
    wall = median_wall(lambda: lcmodel_runner.fit(binary, fid, *args, scale), repeats)
    return lcmodel_runner.glx_tnaa(conc), conc["NAA+NAAG"] / conc["Cr+PCr"], wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lcmodel", required=True, help="LCModel binary")
    ap.add_argument("--basis", required=True, help="LCModel .BASIS file (both fitters use it)")
    ap.add_argument("--te", type=float, required=True, help="echo time of the data, ms")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each fitter")
    ap.add_argument("spectra", nargs="+", type=Path)
    a = ap.parse_args()
    print(
        "spectrum | Glx/tNAA ours / LCModel (%) | tNAA/tCr ours / LCModel (%) | "
        "residual/noise | ED/ppm | wall s ours / LCModel (LCModel / ours)"
    )
    glx_ours, glx_lcm, speedups = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for spectrum in a.spectra:
            nifti = as_nifti(spectrum, Path(tmp))
            g, t, qc, wall = ours(nifti, a.basis, Path(tmp), a.repeats)
            lg, lt, lwall = lcmodel(a.lcmodel, nifti, a.basis, a.te, a.repeats)
            glx_ours.append(g)
            glx_lcm.append(lg)
            speedups.append(lwall / wall)
            print(
                f"{spectrum.name} | {g:.3f} / {lg:.3f} ({100 * (g / lg - 1):+.1f}) | "
                f"{t:.3f} / {lt:.3f} ({100 * (t / lt - 1):+.1f}) | "
                f"{float(qc['residual_noise_ratio']):.2f} | "
                f"{float(qc['baseline_ed_per_ppm']):.1f} | "
                f"{wall:.2f} / {lwall:.2f} ({lwall / wall:.1f} x)",
                flush=True,
            )
    if len(glx_ours) > 2:
        ratio = statistics.stdev(glx_ours) / statistics.stdev(glx_lcm)
        print(f"spread of Glx/tNAA: {ratio:.2f} x LCModel's")
    print(
        f"one spectrum as a whole process: LCModel takes {statistics.median(speedups):.1f} x "
        f"our fit job's time (median over spectra of medians of {a.repeats} runs)"
    )


if __name__ == "__main__":
    main()
