"""Within-session change error on sessions built from real spectra: session background vs
every block fitted on its own.

    python tests/benchmarks/bench_session_background.py [--seeds 10] [--noise 3]

For each real spectrum in tests/data/vendor (Philips PRESS TE 35 ms sub-01 and sub-02 with
the Philips basis; Siemens RDA PRESS TE 30 ms ACC and PCG with the Siemens 35 ms basis),
`fmrstrial.fit.real_sessions` builds `--seeds` sessions of six blocks: the real FID, Glu
raised by 0, 3, 6, 9, 9 and 6 % of its fitted amplitude, and fresh noise `--noise` times the
spectrum's own. Each session is fitted with `session_background: true` (default), `false`
(every block its own baseline and macromolecules), `mode: dynamic` (one joint fit) and
`block_baseline_correction: false` ("held": the session's baseline without a per-block
correction), each with the flexibility chosen per session, and on the session background
held at the flexibility chosen on the spectrum itself ("trial", as `baseline_flexibility:
trial` holds a trial's sessions); `--modes` picks some of them.
Printed per spectrum and pooled: mean and SD of the error of the Glx change from block 0
(fitted minus true, percentage points of the baseline's Glx) over all infusion blocks, the
slope of fitted over true change (1 = no attenuation), and the SD ratio of the first two.
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

from fmrstrial.fit.real_sessions import glx_change_errors, real_source  # noqa: E402
from fmrstrial.fit.session import fit_in_mode  # noqa: E402
from fmrstrial.io.basis import read_basis  # noqa: E402
from fmrstrial.io.nifti_mrs import read_nifti_mrs  # noqa: E402
from fmrstrial.paths import resource  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from real_spectra import BASIS, SPECTRA, convert  # noqa: E402

GLU_CHANGE = np.array([0.0, 0.03, 0.06, 0.09, 0.09, 0.06])


MODES = {
    "background": {"mode": "blocks", "session_background": True},
    "own": {"mode": "blocks", "session_background": False},
    "dynamic": {"mode": "dynamic"},
    "held": {"mode": "blocks", "block_baseline_correction": False},
    "trial": {"mode": "blocks"},  # the background held at the spectrum's flexibility (below)
}
PHASES = ["baseline"] + ["infusion"] * (len(GLU_CHANGE) - 1)


def settings_for(source, mode: str) -> dict:
    """Fit settings of `mode`; 'trial' holds the session background's baseline at the
    flexibility the criterion chose on the real spectrum itself (the highest SNR there is,
    as `baseline_flexibility: trial` chooses on a trial's mean spectrum)."""
    if mode == "trial":
        return {"baseline_flexibility": float(source.fit.baseline_ed_per_ppm), **MODES[mode]}
    return {"baseline_flexibility": "auto", **MODES[mode]}


def errors(source, basis, mode: str, seeds: range, noise: float) -> np.ndarray:
    """Fitted minus true Glx change from block 0 (pp of the fitted Glx), infusion blocks."""

    settings = settings_for(source, mode)

    def fit(blocks):
        return fit_in_mode(blocks, basis, settings, phases=PHASES)

    return glx_change_errors(source, GLU_CHANGE, noise, seeds, fit)


def slope(source, errors_pp: np.ndarray, n_seeds: int) -> float:
    """Fitted over true change, least squares through the origin."""
    true = np.tile(source.true_glx_change_pct(GLU_CHANGE)[1:], n_seeds)
    fitted = true + errors_pp
    return float(true @ fitted / (true @ true))


def _sd_ratio(errors_by_mode: dict) -> float:
    """SD of the background's errors over those of every block on its own (nan without both)."""
    if "background" not in errors_by_mode or "own" not in errors_by_mode:
        return float("nan")
    return errors_by_mode["background"].std(ddof=1) / errors_by_mode["own"].std(ddof=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--noise", type=float, default=3.0)
    ap.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    a = ap.parse_args()
    seeds = range(1, a.seeds + 1)
    modes = {m: MODES[m] for m in a.modes}
    pooled = {m: [] for m in modes}
    print(f"{'spectrum':<8} " + "  ".join(f"{m + ': mean / SD / slope':>32}" for m in modes)
          + f" {'SD ratio background/own':>25}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for name, spectrum in SPECTRA.items():
            nii = convert(name, Path(tmp) / f"{name}.nii.gz")
            basis = read_basis(resource(BASIS.format(spectrum.vendor)))
            source = real_source(read_nifti_mrs(nii), basis)
            e = {m: errors(source, basis, m, seeds, a.noise) for m in modes}
            cells = []
            for m in modes:
                pooled[m].append((source, e[m]))
                cells.append(f"{e[m].mean():+14.2f} / {e[m].std(ddof=1):5.2f} / "
                             f"{slope(source, e[m], len(seeds)):5.2f}")  # fmt: skip
            ratio = _sd_ratio(e)
            print(f"{name:<8} " + "  ".join(f"{c:>32}" for c in cells) + f" {ratio:25.2f}")
    cells = []
    for m in modes:
        all_e = np.concatenate([e for _, e in pooled[m]])
        slopes = [slope(src, e, len(seeds)) for src, e in pooled[m]]
        cells.append(f"{all_e.mean():+14.2f} / {all_e.std(ddof=1):5.2f} / "
                     f"{np.median(slopes):5.2f}")  # fmt: skip
    pooled_e = {m: np.concatenate([e for _, e in pooled[m]]) for m in modes}
    print(f"{'pooled':<8} " + "  ".join(f"{c:>32}" for c in cells)
          + f" {_sd_ratio(pooled_e):25.2f}")  # fmt: skip
    print(
        f"({len(seeds)} sessions x 5 infusion blocks per spectrum, noise {a.noise:g} x the "
        "spectrum's own; errors in percentage points of the baseline's Glx; slope: fitted "
        "over true change, pooled row: median of the spectra's)"
    )


if __name__ == "__main__":
    main()
