"""Within-session change error on sessions built from real spectra: session background vs
every block fitted on its own.

    python tests/benchmarks/bench_session_background.py [--seeds 10] [--noise 3]

For each real spectrum in tests/data/vendor (Philips PRESS TE 35 ms sub-01 and sub-02 with
the Philips basis; Siemens RDA PRESS TE 30 ms ACC and PCG with the Siemens 35 ms basis),
`fmrstrial.fit.real_sessions` builds `--seeds` sessions of six blocks: the real FID, Glu
raised by 0, 3, 6, 9, 9 and 6 % of its fitted amplitude, and fresh noise `--noise` times the
spectrum's own. Each session is fitted with `session_background: true` (default) and
`false`; printed per spectrum and pooled: mean and SD of the error of the Glx change from
block 0 (fitted minus true, percentage points of the baseline's Glx) over all infusion
blocks, and its ratio between the two settings. Writes only to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from fmrstrial.cli import main as cli  # noqa: E402
from fmrstrial.fit.real_sessions import real_source, session  # noqa: E402
from fmrstrial.fit.session import fit_data  # noqa: E402
from fmrstrial.io.basis import read_basis  # noqa: E402
from fmrstrial.io.nifti_mrs import read_nifti_mrs  # noqa: E402
from fmrstrial.paths import resource  # noqa: E402

VENDOR = Path(__file__).resolve().parents[1] / "data" / "vendor"
BASIS = "basis/lcmodel_press35_3T/3T_PRESS_{}_35ms_noMM.BASIS"
SPECTRA = {
    "sub-01": ("Philips", "philips_sdat_press35/sub-01/sub-01_PRESS_35_act"),
    "sub-02": ("Philips", "philips_sdat_press35/sub-02/sub-02_PRESS_35_act"),
    "ACC": ("Siemens", "siemens_rda_press30/ACC_PRESS"),
    "PCG": ("Siemens", "siemens_rda_press30/PCG_PRESS"),
}
GLU_CHANGE = np.array([0.0, 0.03, 0.06, 0.09, 0.09, 0.06])


def errors(source, basis, background: bool, seeds: range, noise: float) -> np.ndarray:
    true = source.true_glx_change_pct(GLU_CHANGE)[1:]
    glx0 = source.fit.amplitude("Glx")
    out = []
    for seed in seeds:
        fits = fit_data(session(source, GLU_CHANGE, noise, seed), basis,
                        {"session_background": background})  # fmt: skip
        glx = np.array([r.amplitude("Glx") for _, r in fits])
        out.extend(100 * (glx[1:] - glx[0]) / glx0 - true)
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--noise", type=float, default=3.0)
    a = ap.parse_args()
    seeds = range(1, a.seeds + 1)
    pooled = {True: [], False: []}
    print(f"{'spectrum':<8} {'background: mean / SD (pp)':>28} {'per block: mean / SD (pp)':>27} "
          f"{'SD ratio':>9}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for name, (vendor, stem) in SPECTRA.items():
            src = VENDOR / stem
            files = [f"{src}.sdat", f"{src}.spar"] if vendor == "Philips" else [f"{src}.rda"]
            nii = Path(tmp) / f"{name}.nii.gz"
            cli(["convert", *files, "--out", str(nii)])
            basis = read_basis(resource(BASIS.format(vendor)))
            source = real_source(read_nifti_mrs(nii), basis)
            e = {b: errors(source, basis, b, seeds, a.noise) for b in (True, False)}
            for b in e:
                pooled[b].extend(e[b])
            print(f"{name:<8} {e[True].mean():+14.2f} / {e[True].std(ddof=1):5.2f} "
                  f"{e[False].mean():+17.2f} / {e[False].std(ddof=1):5.2f} "
                  f"{e[True].std(ddof=1) / e[False].std(ddof=1):9.2f}")  # fmt: skip
    t, f = np.array(pooled[True]), np.array(pooled[False])
    print(f"{'pooled':<8} {t.mean():+14.2f} / {t.std(ddof=1):5.2f} {f.mean():+17.2f} / "
          f"{f.std(ddof=1):5.2f} {t.std(ddof=1) / f.std(ddof=1):9.2f}")  # fmt: skip
    print(
        f"({len(seeds)} sessions x 5 infusion blocks per spectrum, noise {a.noise:g} x the "
        "spectrum's own)"
    )


if __name__ == "__main__":
    main()
