"""How the default fit holds on spectra that differ the way another site's spectra do.

    python tests/benchmarks/bench_fit_robustness.py [--shared SHARED_DIR] [--sims 50]
        [--changes none,offset-0.2,...] [--settings '{"shift_search_ppm": 0.1}']

Each change below is applied to the FID of
1. the four real spectra (converted, not preprocessed; Glx/tNAA and tNAA/tCr printed as %
   difference from LCModel 6.3's fit of the spectrum as acquired, and residual/noise), and
2. the FSL-MRS simulations with truth (Glx/tNAA bias and SD of fitted/true - 1, coverage of
   the 90 % CRLB interval, tNAA/tCr bias, spectra whose fit failed or fitted no tNAA).
The real spectra's cells also give the baseline flexibility the fit chose (effective
dimensions per ppm), which the SNR moves.

Changes (names for --changes):
- none: as acquired;
- offset+0.1, offset-0.2: a frequency offset of +0.1 / -0.2 ppm (unreferenced data, drift);
- water: a broad residual water line (Lorentzian 16 Hz, 4.75 ppm, 0.7 rad from the data's
  phase) of 30 x the mean |FID| of the first 4 points: 28-39 x the NAA peak height;
- lipid-inphase, lipid-7deg: a Gaussian lipid line at 1.3 ppm (FWHM 0.15 ppm, LCModel's
  Lip13a shape) of 1.5 x the NAA peak height, in phase with the metabolites (the phase of
  the default fit of the spectrum as acquired, at 1.3 ppm), or 7 degrees from it
  (out-of-voxel lipid need not share the metabolites' phase);
- broader3hz: 3 Hz more Lorentzian width, with white noise added back to the noise level of
  the spectrum as acquired (fresh noise; seed from --seed);
- apodized1hz: the FID multiplied by exp(-pi t) (1 Hz exponential line broadening, no noise
  added back): over these 1.024 s acquisitions the noise SD falls to 0.39 of the spectrum's,
  so this is a spectrum of about 2.5 x the SNR with 1 Hz broader lines;
- half-points: the first half of the FID only (half the acquisition time);
- noise4x: white noise added to 4 x the noise SD (seed from --seed).
`--settings`: fit settings (JSON) instead of the defaults. Reads `--shared` (not part of the
repository) and writes only to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_fit_validation import BASIS, REAL, ratios, table  # noqa: E402
from real_spectra import water_line  # noqa: E402

from fmrstrial.cli import main as cli  # noqa: E402
from fmrstrial.fit import DEFAULTS, fit_spectrum  # noqa: E402
from fmrstrial.fit.noise import region_noise_sd  # noqa: E402
from fmrstrial.fit.session import blocks_of  # noqa: E402
from fmrstrial.io.basis import read_basis  # noqa: E402
from fmrstrial.io.nifti_mrs import read_nifti_mrs  # noqa: E402
from fmrstrial.spectra import ppm_axis, to_spectrum  # noqa: E402

CHANGES = ["none", "offset+0.1", "offset-0.2", "water", "lipid-inphase", "lipid-7deg",
           "broader3hz", "apodized1hz", "half-points", "noise4x"]  # fmt: skip
NOISE_PPM = DEFAULTS["noise_ppm"]  # where the fit measures the noise


def naa_height(fid: np.ndarray, dwell_s: float, cf_mhz: float) -> float:
    """Largest |spectrum| in 1.95-2.05 ppm."""
    spec, ppm = to_spectrum(fid), ppm_axis(fid.size, dwell_s, cf_mhz)
    return float(np.abs(spec[(ppm > 1.95) & (ppm < 2.05)]).max())


def fitted_phase(fid: np.ndarray, dwell_s: float, cf_mhz: float, basis, ppm: float) -> float:
    """Phase (rad) of the default fit of `fid` at `ppm` (zero- and first-order)."""
    res = fit_spectrum(fid, dwell_s, cf_mhz, basis)
    return float(np.angle(res.phase[np.argmin(np.abs(res.ppm - ppm))]))


def white(fid: np.ndarray, sd_spectral: float, rng: np.random.Generator) -> np.ndarray:
    """Complex white noise for `fid` with spectral SD `sd_spectral` per part."""
    return sd_spectral / np.sqrt(fid.size) * (rng.standard_normal(fid.size)
                                              + 1j * rng.standard_normal(fid.size))  # fmt: skip


def change(fid, dwell_s: float, cf_mhz: float, name: str, rng, basis) -> np.ndarray:
    """`fid` (n,) with the change `name` (see module doc)."""
    t = np.arange(fid.size) * dwell_s
    if name == "none":
        return fid
    if name.startswith("offset"):
        return fid * np.exp(2j * np.pi * float(name[6:]) * cf_mhz * t)
    if name == "water":
        return fid + water_line(fid, dwell_s, cf_mhz)
    if name.startswith("lipid"):
        sigma_hz = 0.15 * cf_mhz / (2 * np.sqrt(2 * np.log(2)))
        line = np.exp(2j * np.pi * (1.3 - 4.7) * cf_mhz * t - 2 * (np.pi * sigma_hz * t) ** 2)
        phase = fitted_phase(fid, dwell_s, cf_mhz, basis, 1.3)
        phase += np.deg2rad(7.0) if name == "lipid-7deg" else 0.0
        height = 1.5 * naa_height(fid, dwell_s, cf_mhz) / np.abs(to_spectrum(line)).max()
        return fid + height * line * np.exp(1j * phase)
    if name == "broader3hz":
        before, _ = region_noise_sd(fid, dwell_s, cf_mhz, NOISE_PPM)
        out = fid * np.exp(-np.pi * 3.0 * t)
        after, _ = region_noise_sd(out, dwell_s, cf_mhz, NOISE_PPM)
        return out + white(fid, np.sqrt(max(before**2 - after**2, 0.0)), rng)
    if name == "apodized1hz":
        return fid * np.exp(-np.pi * 1.0 * t)
    if name == "half-points":
        return fid[: fid.size // 2]
    if name == "noise4x":
        sd, _ = region_noise_sd(fid, dwell_s, cf_mhz, NOISE_PPM)
        return fid + white(fid, sd * np.sqrt(15.0), rng)
    raise ValueError(f"unknown change '{name}'; known: {CHANGES}")


SETTINGS: dict = {}  # fit settings of the run (--settings)


def fit_changed(path: Path, basis, name: str, rng):
    """Fit (SETTINGS) of the changed FID of a NIfTI-MRS file; None if it failed."""
    data = read_nifti_mrs(path)
    fid = change(blocks_of(data, str(path))[:, 0], data.dwell_s, data.cf_mhz, name, rng, basis)
    try:
        res = fit_spectrum(fid, data.dwell_s, data.cf_mhz, basis, SETTINGS)
    except Exception as err:  # a failed fit is a result here
        print(f"    {path.name} {name}: fit failed ({err})")
        return None
    return res if res.amplitude("tNAA") > 0 else None


def real_spectra(shared: Path, tmp: Path, changes: list[str], seed: int) -> None:
    ref = {r["name"]: r for r in table(shared / "reference/lcmodel/summary.tsv")}
    print("Real spectra: Glx/tNAA % / tNAA/tCr % from LCModel, residual/noise, baseline ED/ppm")
    print(f"  {'change':14s}" + "".join(f"{n.split('_')[0]:>31s}" for n in REAL))
    files = {}
    for name, (vendor, stem) in REAL.items():
        src = shared / stem
        vendor_files = [f"{src}.sdat", f"{src}.spar"] if vendor == "Philips" else [f"{src}.rda"]
        files[name] = tmp / f"{name}.nii.gz"
        cli(["convert", *vendor_files, "--out", str(files[name])])
    bases = {v: read_basis(shared / BASIS.format(v)) for v in ("Philips", "Siemens")}
    for ch in changes:
        cells = []
        for name, (vendor, _) in REAL.items():
            res = fit_changed(files[name], bases[vendor], ch, np.random.default_rng(seed))
            if res is None:
                cells.append("failed")
                continue
            glx, tnaa = ratios(res)
            lc = ref[name]
            cells.append(f"{100 * (glx / float(lc['glx_tnaa']) - 1):+6.1f} /"
                         f"{100 * (tnaa / float(lc['tnaa_tcr']) - 1):+6.1f} / "
                         f"{res.residual_ratio:4.2f} / {res.baseline_ed_per_ppm:4.1f}")  # fmt: skip
        print(f"  {ch:14s}" + "".join(f"{c:>31s}" for c in cells), flush=True)


def simulations(shared: Path, n: int, changes: list[str], seed: int) -> None:
    folder = shared / "data/fslmrs_sim3T"
    truth = table(folder / "truth.tsv")[:n]
    basis = read_basis(shared / BASIS.format("Philips"))
    print(f"\nFSL-MRS simulations ({len(truth)} spectra, truth): Glx/tNAA bias, SD, 90 % "
          "coverage; tNAA/tCr bias")  # fmt: skip
    for ch in changes:
        err, inside, tnaa_err, failed = [], [], [], 0
        for k, row in enumerate(truth):
            res = fit_changed(folder / row["file"], basis, ch, np.random.default_rng(seed + k))
            if res is None:
                failed += 1
                continue
            est, true = res.ratios["Glx/tNAA"], float(row["glx_tnaa"])
            err.append(est.value / true - 1)
            inside.append(abs(est.value - true) <= 1.645 * est.sd)
            tnaa_err.append(ratios(res)[1] / float(row["tnaa_tcr"]) - 1)
        err, tnaa_err = 100 * np.array(err), 100 * np.array(tnaa_err)
        print(f"  {ch:14s} bias {err.mean():+6.2f} %  SD {err.std(ddof=1):5.2f} %  coverage "
              f"{100 * np.mean(inside):3.0f} %  tNAA/tCr bias {tnaa_err.mean():+6.2f} %  "
              f"failed {failed}", flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = Path(__file__).resolve().parents[3] / "shared"
    ap.add_argument("--shared", type=Path, default=default_shared)
    ap.add_argument("--sims", type=int, default=50)
    ap.add_argument("--changes", default=",".join(CHANGES))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--settings", default="{}", help="fit settings, JSON")
    a = ap.parse_args()
    SETTINGS.update(json.loads(a.settings))
    changes = a.changes.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        real_spectra(a.shared, Path(tmp), changes, a.seed)
    if a.sims:
        simulations(a.shared, a.sims, changes, a.seed)


if __name__ == "__main__":
    main()
