"""Validation of the default fit against data we did not make, with timings.

    python tests/benchmarks/bench_fit_validation.py [--shared SHARED_DIR] [--sims 50] [--repeats 3]

1. Real spectra vs LCModel 6.3 (default settings; shared/reference/lcmodel): Philips PRESS
   TE 35 ms sub-01, sub-02 and Siemens RDA PRESS TE 30 ms ACC, PCG (Siemens 35 ms basis, as
   LCModel had). Each is converted and fitted with the default settings as `fmrstrial
   convert` / `fmrstrial fit` do (no preprocessing, as for LCModel). Printed: Glx/tNAA and
   tNAA/tCr as % difference from LCModel, residual/noise, the chosen baseline effective
   dimension per ppm, and the spread (SD) of Glx/tNAA across the four relative to LCModel's.
2. FSL-MRS simulations with truth (shared/data/fslmrs_sim3T; Philips basis + FSL's MM
   peaks): Glx/tNAA bias and SD of fitted/true - 1, coverage of the 90 % CRLB interval,
   each spectrum fitted alone and all with one baseline flexibility chosen on their mean
   (what `baseline_flexibility: trial` does for a trial's sessions), next to LCModel's bias
   and SD on the same spectra (its lcmodel.tsv).
3. Time per spectrum: median over `repeats` of the wall time of fitting the real spectra
   and the simulations in this process (imports and basis reading excluded), and the
   median wall time of whole processes on one spectrum (start-up included): the workflow's
   fit job (`fmrstrial fit --no-figure`), its figure job (`fmrstrial plot-fit`) and
   `fmrstrial fit` with the figure; LCModel 6.3 needs 2.5-2.7 s per spectrum as a whole
   process.
Reads `--shared` (not part of the repository) and writes only to a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from real_spectra import SPECTRA  # noqa: E402

from fmrstrial.cli import main as cli  # noqa: E402
from fmrstrial.fit import fit_spectrum  # noqa: E402
from fmrstrial.fit.session import blocks_of  # noqa: E402
from fmrstrial.io.basis import read_basis  # noqa: E402
from fmrstrial.io.nifti_mrs import read_nifti_mrs  # noqa: E402

BASIS = "data/basis/lcmodel_press35_3T/3T_PRESS_{}_35ms_noMM.BASIS"
#: LCModel name -> (vendor, path under SHARED_DIR without the extension) of the four real
#: spectra (the same files as tests/data/vendor holds; `real_spectra.SPECTRA`).
REAL = {s.lcmodel: (s.vendor, f"data/vendor/{s.stem}") for s in SPECTRA.values()}


def table(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def ratios(res) -> tuple[float, float]:
    a = res.amplitude
    return a("Glx") / a("tNAA"), a("tNAA") / a("tCr")


def fit_nifti(path: Path, basis, settings: dict | None = None) -> tuple[object, float]:
    data = read_nifti_mrs(path)
    start = time.perf_counter()
    fid = blocks_of(data, str(path))[:, 0]
    res = fit_spectrum(fid, data.dwell_s, data.cf_mhz, basis, settings)
    return res, time.perf_counter() - start


def real_spectra(shared: Path, tmp: Path, repeats: int) -> list[float]:
    ref = {r["name"]: r for r in table(shared / "reference/lcmodel/summary.tsv")}
    print("Real spectra vs LCModel 6.3 (targets |%| <= 10, residual/noise <= 1.3):")
    ours, theirs, times = [], [], []
    for name, (vendor, stem) in REAL.items():
        src = shared / stem
        files = [f"{src}.sdat", f"{src}.spar"] if vendor == "Philips" else [f"{src}.rda"]
        nii = tmp / f"{name}.nii.gz"
        cli(["convert", *files, "--out", str(nii)])
        basis = read_basis(shared / BASIS.format(vendor))
        runs = [fit_nifti(nii, basis) for _ in range(repeats)]
        res = runs[0][0]
        times += [t for _, t in runs]
        glx, naa = ratios(res)
        lc = ref[name]
        ours.append(glx)
        theirs.append(float(lc["glx_tnaa"]))
        print(
            f"  {name:<20} Glx/tNAA {100 * (glx / float(lc['glx_tnaa']) - 1):+6.1f} %  "
            f"tNAA/tCr {100 * (naa / float(lc['tnaa_tcr']) - 1):+6.1f} %  "
            f"residual/noise {res.residual_ratio:4.2f}  "
            f"baseline ED {res.baseline_ed_per_ppm:5.2f}/ppm"
        )
    spread = np.std(ours, ddof=1) / np.std(theirs, ddof=1)
    print(f"  spread of Glx/tNAA: {spread:.2f}x LCModel's (target <= 1.5x)")
    return times


def set_flexibility(files: list[Path], basis) -> float:
    """Baseline flexibility (effective dimensions per ppm) the criterion chooses on the mean
    of the spectra `files`, as `baseline_flexibility: trial` chooses one for a trial."""
    datas = [read_nifti_mrs(f) for f in files]
    mean = np.mean([blocks_of(d, str(f))[:, 0] for d, f in zip(datas, files, strict=True)], 0)
    return fit_spectrum(mean, datas[0].dwell_s, datas[0].cf_mhz, basis).baseline_ed_per_ppm


def simulations(shared: Path, n: int, repeats: int) -> list[float]:
    """FSL-MRS simulations, each fitted alone (a trial of one spectrum: the default), and
    all fitted with the flexibility chosen on their mean (the 50 as one trial)."""
    folder = shared / "data/fslmrs_sim3T"
    truth = table(folder / "truth.tsv")[:n]
    lcm = {r["spectrum"]: r for r in table(folder / "lcmodel.tsv")}
    basis = read_basis(shared / BASIS.format("Philips"))
    flex = set_flexibility([folder / row["file"] for row in truth], basis)
    print(f"\nFSL-MRS simulations ({len(truth)} spectra; targets |bias| <= 3 %, SD <= 4 %, "
          "90 % CRLB coverage 85-95 %):")  # fmt: skip
    times = []
    one = {"baseline_flexibility": flex}
    for label, settings in (
        ("fmrstrial, each spectrum alone", None),
        (f"fmrstrial, one flexibility ({flex:.2f}/ppm, on the mean)", one),
    ):
        err, inside, lc_err = [], [], []
        for k, row in enumerate(truth):
            n_runs = repeats if k < 5 and settings is None else 1
            runs = [fit_nifti(folder / row["file"], basis, settings) for _ in range(n_runs)]
            res = runs[0][0]
            times += [t for _, t in runs] if settings is None else []
            true = float(row["glx_tnaa"])
            est = res.ratios["Glx/tNAA"]
            err.append(est.value / true - 1)
            inside.append(abs(est.value - true) <= 1.645 * est.sd)
            if row["spectrum"] in lcm:
                lc_err.append(float(lcm[row["spectrum"]]["glx_tnaa"]) / true - 1)
        err = 100 * np.array(err)
        print(f"  {label}: Glx/tNAA bias {err.mean():+5.2f} %  SD {err.std(ddof=1):4.2f} %  "
              f"coverage {100 * np.mean(inside):3.0f} %")  # fmt: skip
    lc_err = 100 * np.array(lc_err)
    if lc_err.size:
        print(f"  LCModel: Glx/tNAA bias {lc_err.mean():+5.2f} %  SD {lc_err.std(ddof=1):4.2f} %")
    return times


def whole_process(args: list[str], repeats: int) -> float:
    """Median wall time (s) of `fmrstrial ARGS` as a new process, start-up included."""
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "fmrstrial", *args], check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def processes(nii: Path, basis: Path, tmp: Path, repeats: int) -> dict[str, float]:
    """The workflow's fit job (tables, no figure), its figure job, and the command line's
    default (both in one process)."""
    fit = ["fit", str(nii), "--basis", str(basis), "--out", str(tmp / "proc")]
    return {
        "fit job (`fmrstrial fit --no-figure`, as rule fit_session)": whole_process(
            [*fit, "--no-figure"], repeats
        ),
        "figure job (`fmrstrial plot-fit`, as rule plot_fit)": whole_process(
            ["plot-fit", str(tmp / "proc")], repeats
        ),
        "`fmrstrial fit` with its figure": whole_process(fit, repeats),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[3] / "shared"))
    ap.add_argument("--sims", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    shared = Path(a.shared)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t_real = real_spectra(shared, tmp, a.repeats)
        t_sim = simulations(shared, a.sims, a.repeats)
        procs = processes(
            tmp / "sub-01_PRESS_35_act.nii.gz", shared / BASIS.format("Philips"), tmp, a.repeats
        )
    print("\nTime per spectrum (2048 points; LCModel 6.3: 2.5-2.7 s as a whole process):")
    print(f"  in one process: median {statistics.median(t_real + t_sim):.2f} s")
    for what, wall in procs.items():
        print(f"  {what}: median {wall:.2f} s, LCModel's 2.5-2.7 s / this = "
              f"{2.5 / wall:.1f}-{2.7 / wall:.1f} x")  # fmt: skip


if __name__ == "__main__":
    main()
