"""How a session's Glx/tNAA level moves with its SNR, on sessions built from real spectra:
the flexibility chosen per session against one flexibility for the trial.

    python tests/benchmarks/bench_level_vs_snr.py [--seeds 6] [--noise 3 6 12]

For each real spectrum in tests/data/vendor (Philips PRESS TE 35 ms sub-01 and sub-02 with
the Philips basis; Siemens RDA PRESS TE 30 ms ACC and PCG with the Siemens 35 ms basis),
`fmrstrial.fit.real_sessions` builds `--seeds` sessions of six blocks per noise factor: the
real FID (no Glu change) and fresh noise `--noise` times the spectrum's own. Every session is
fitted twice: `baseline_flexibility: auto` (the session background's flexibility chosen on
the session's mean, so on its SNR) and held at the flexibility the criterion chooses on the
spectrum itself (the highest SNR there is, as `baseline_flexibility: trial` chooses on a
trial's mean spectrum). Printed per spectrum and noise factor: the mean over sessions of the
session's mean Glx/tNAA as % from the spectrum's own fit, the SD of that % over sessions, and
the mean chosen flexibility; then, over spectra and noise factors, the mean |level shift|.
Writes only to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from fmrstrial.fit.real_sessions import real_source, session  # noqa: E402
from fmrstrial.fit.session import fit_data  # noqa: E402
from fmrstrial.io.basis import read_basis  # noqa: E402
from fmrstrial.io.nifti_mrs import read_nifti_mrs  # noqa: E402
from fmrstrial.paths import resource  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from real_spectra import BASIS, SPECTRA, convert  # noqa: E402

N_BLOCKS = 6


def session_level(blocks, basis, settings) -> tuple[float, float]:
    """Mean Glx/tNAA over the session's blocks, and the session background's flexibility."""
    fits = fit_data(blocks, basis, settings)
    level = float(np.mean([r.ratios["Glx/tNAA"].value for _, r in fits]))
    return level, fits[0][1].session_baseline_ed_per_ppm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--noise", type=float, nargs="+", default=[3.0, 6.0, 12.0])
    ap.add_argument("--spectra", nargs="+", default=list(SPECTRA))
    a = ap.parse_args()
    shifts = {"per session": [], "one for the trial": []}
    with tempfile.TemporaryDirectory() as d:
        for name in a.spectra:
            basis = read_basis(resource(BASIS.format(SPECTRA[name].vendor)))
            source = real_source(read_nifti_mrs(convert(name, Path(d) / f"{name}.nii.gz")), basis)
            own = source.fit.ratios["Glx/tNAA"].value
            held = {"baseline_flexibility": float(source.fit.baseline_ed_per_ppm)}
            print(f"{name}: Glx/tNAA {own:.3f} at {held['baseline_flexibility']:.2f}/ppm alone")
            for noise in a.noise:
                for label, settings in (("per session", {"baseline_flexibility": "auto"}),
                                        ("one for the trial", held)):  # fmt: skip
                    runs = [
                        session_level(
                            session(source, np.zeros(N_BLOCKS), noise, seed), basis, settings
                        )  # fmt: skip
                        for seed in range(1, a.seeds + 1)
                    ]
                    pct = 100 * (np.array([lv for lv, _ in runs]) / own - 1)
                    shifts[label].append(abs(pct.mean()))
                    print(f"  noise x{noise:<4g} {label:<17} level {pct.mean():+6.1f} % "
                          f"(SD {pct.std(ddof=1):4.1f} %)  flexibility "
                          f"{np.mean([e for _, e in runs]):5.2f}/ppm", flush=True)  # fmt: skip
    for label, values in shifts.items():
        print(f"mean |level shift| with the flexibility {label}: {np.mean(values):.1f} %")


if __name__ == "__main__":
    main()
