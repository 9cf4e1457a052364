"""Accuracy of `fmrstrial fit` on synthetic demo block spectra and on the real Philips data.

    python tests/benchmarks/bench_fit_accuracy.py [--n 400] [--seed 1]

Sets (truth known, see fmrstrial.fit.synthetic; each fitted with the GE PRESS 35 ms basis):
  inverse crime      spectra made with the fit's own basis, MM and Voigt lineshape
  non-inverse crime  Philips basis (scaled to the same total signal per metabolite), a
                     residual eddy-current phase and asymmetric lineshape, a broad baseline
  ... and its three ingredients one at a time, the Philips basis without per-metabolite
  scaling (one global factor). The inverse-crime set is fitted with MIRROR (the model that
  made it); every other set with the default settings.
For each ratio: bias (mean relative error, with its SE), SD of the relative errors, mean
relative CRLB, SD / CRLB, and coverage of the nominal 90 % interval (+-1.645 CRLB).
Targets: inverse crime Glx/tNAA |bias| <= 2 %, Glu/tNAA <= 3 %, SD within 25 % of the CRLB,
coverage 85-95 %; non-inverse crime Glx/tNAA |bias| <= 5 %.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from fmrstrial.fit import fit_spectrum, prepare_basis, resolve_settings  # noqa: E402

#: Settings that mirror the synthetic spectra (no lipids, the simulator's MM pattern rather
#: than LCModel's ratio priors): the inverse-crime sets only.
MIRROR = {"lipids": [], "ratio_priors": {}}
from fmrstrial.fit.synthetic import demo_model, make_blocks  # noqa: E402
from fmrstrial.io.basis import read_basis  # noqa: E402
from fmrstrial.io.nifti_mrs import read_nifti_mrs  # noqa: E402
from fmrstrial.paths import resource  # noqa: E402

GE = "basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS"
PHILIPS = "basis/lcmodel_press35_3T/3T_PRESS_Philips_35ms_noMM.BASIS"
VENDOR = Path(__file__).resolve().parents[1] / "data" / "vendor" / "philips_sdat_press35"
RATIOS = {
    "Glx/tNAA": (("Glu", "Gln"), ("NAA", "NAAG")),
    "Glu/tNAA": (("Glu",), ("NAA", "NAAG")),
    "Gln/tNAA": (("Gln",), ("NAA", "NAAG")),
    "Glx/tCr": (("Glu", "Gln"), ("Cr", "PCr")),
}


def evaluate(sim, raw, n, seed, settings=None, **kw):
    """Per-ratio statistics over n synthetic blocks."""
    settings = resolve_settings(settings)
    fb = prepare_basis(raw, sim.n_points, sim.dwell_s, sim.cf_mhz, settings)
    blocks = make_blocks(n, seed, sim, **kw)
    err = {k: np.empty(n) for k in RATIOS}
    rel_crlb = {k: np.empty(n) for k in RATIOS}
    n_conv, resid = 0, []
    start = time.perf_counter()
    for i, b in enumerate(blocks):
        r = fit_spectrum(b.fid, sim.dwell_s, sim.cf_mhz, fb, settings)
        n_conv += r.converged
        resid.append(r.residual_ratio)
        for k, (num, den) in RATIOS.items():
            truth = b.ratio(num, den)
            err[k][i] = r.ratios[k].value / truth - 1.0
            rel_crlb[k][i] = r.ratios[k].sd / truth
    elapsed = time.perf_counter() - start
    stats = {}
    for k in RATIOS:
        e, c = err[k], rel_crlb[k]
        sd = e.std(ddof=1)
        stats[k] = {
            "bias": e.mean(),
            "se": sd / np.sqrt(n),
            "sd": sd,
            "crlb": c.mean(),
            "ratio": sd / c.mean(),
            "cover": np.mean(np.abs(e) <= 1.645 * c),
        }
    return stats, n_conv, float(np.median(resid)), elapsed / n


def report(title, n, result):
    stats, n_conv, resid, per_fit = result
    print(
        f"\n{title}: {n} spectra, {n_conv} converged, median residual/noise {resid:.3f}, "
        f"{per_fit * 1000:.0f} ms per fit"
    )
    print(
        f"  {'ratio':9s} {'bias %':>8s} {'(SE)':>6s} {'SD %':>6s} {'CRLB %':>7s} "
        f"{'SD/CRLB':>8s} {'cover90':>8s}"
    )
    for k, s in stats.items():
        print(
            f"  {k:9s} {100 * s['bias']:+8.2f} {100 * s['se']:6.2f} {100 * s['sd']:6.2f} "
            f"{100 * s['crlb']:7.2f} {s['ratio']:8.3f} {100 * s['cover']:7.1f}%"
        )


def check(label, ok):
    print(f"  [{'PASS' if ok else 'FAIL'}] {label}")
    return ok


def real_data():
    """The two Philips in-vivo spectra with the default settings, after Klose ECC."""
    basis = read_basis(resource(PHILIPS))
    print("\nReal data: Philips PRESS TE 35 ms (Osprey example), Klose ECC, default settings")
    with tempfile.TemporaryDirectory() as tmp:
        for sub in ("sub-01", "sub-02"):
            for kind in ("act", "ref"):
                stem = VENDOR / sub / f"{sub}_PRESS_35_{kind}"
                subprocess.run(
                    [sys.executable, "-c", "from spec2nii.spec2nii import main; main()",
                     "philips", "-f", f"{sub}_{kind}", "-o", tmp, f"{stem}.sdat",
                     f"{stem}.spar"],
                    check=True, capture_output=True,
                )  # fmt: skip
            act = read_nifti_mrs(Path(tmp) / f"{sub}_act.nii.gz")
            ref = read_nifti_mrs(Path(tmp) / f"{sub}_ref.nii.gz")
            fid = act.fids * np.exp(-1j * np.angle(ref.fids))
            for label, settings in (("defaults", None),):
                r = fit_spectrum(fid, act.dwell_s, act.cf_mhz, basis, settings, te_ms=35.0)
                tnaa = r.sums["tNAA"].value
                print(
                    f"  {sub} {label:8s}: Glx/tNAA {r.ratios['Glx/tNAA'].value:.3f} "
                    f"({r.ratios['Glx/tNAA'].pct:.1f} %), Glu/tNAA "
                    f"{r.ratios['Glu/tNAA'].value:.3f}, tCr/tNAA {r.sums['tCr'].value / tnaa:.3f},"
                    f" Ins/tNAA {r.amplitude('Ins') / tnaa:.3f}; residual/noise "
                    f"{r.residual_ratio:.3f}; SNR {r.snr:.0f}; FWHM {r.fwhm_hz:.1f} Hz"
                )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=400, help="spectra per main set (>= 200)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="skip the ingredient breakdown")
    args = ap.parse_args()
    sim = demo_model()
    raw = read_basis(resource(GE))
    n = args.n

    inv = evaluate(sim, raw, n, args.seed, MIRROR)
    report("Inverse crime (GE basis, Voigt, no baseline)", n, inv)
    s = inv[0]
    ok = check("Glx/tNAA |bias| <= 2 %", abs(s["Glx/tNAA"]["bias"]) <= 0.02)
    ok &= check("Glu/tNAA |bias| <= 3 %", abs(s["Glu/tNAA"]["bias"]) <= 0.03)
    ok &= check("Glx/tNAA SD within 25 % of mean CRLB", abs(s["Glx/tNAA"]["ratio"] - 1) <= 0.25)
    ok &= check("Glx/tNAA 90 % coverage in 85-95 %", 0.85 <= s["Glx/tNAA"]["cover"] <= 0.95)

    real = evaluate(sim, raw, n, args.seed + 1, realistic=True)
    report("Non-inverse crime (Philips basis, eddy-current/asymmetric line, broad baseline)",
           n, real)  # fmt: skip
    ok &= check("Glx/tNAA |bias| <= 5 %", abs(real[0]["Glx/tNAA"]["bias"]) <= 0.05)

    if not args.quick:
        m = max(200, n // 2)
        for title, kw in (
            ("Only the Philips basis", {"vendor": "Philips"}),
            ("Only the lineshape distortion", {"distort_lineshape": True}),
            ("Only the broad baseline", {"broad_baseline": True}),
            ("Non-inverse crime, Philips basis with one global scale", {"realistic": True,
                                                                       "match_scale": False}),
        ):  # fmt: skip
            report(title, m, evaluate(sim, raw, m, args.seed + 2, **kw))
        report("Inverse crime with the default settings", m,
               evaluate(sim, raw, m, args.seed))  # fmt: skip
    real_data()
    print(f"\noverall: {'all targets met' if ok else 'some targets missed'}")


if __name__ == "__main__":
    main()
