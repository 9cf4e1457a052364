"""Within-session change of Glx/tNAA: our fit against LCModel 6.3 on the same blocks.

    python tests/benchmarks/bench_lcmodel_change.py [--lcmodel PATH]
        [--results results --basis B.BASIS --te 35] [--real-seeds 10] [--noise 3]

LCModel needs a binary (`lcmodel_runner.py` says how to build it); it fits every block on its
own with its default settings (`lcmodel_runner`). Without --lcmodel only our fits are run
(the sessions are deterministic, so LCModel's figures of an earlier run still apply).

- With --results (a finished run on simulated data, e.g. the demo): every block of
  results/preproc/*/*/blocks.nii.gz is fitted by LCModel with --basis (the basis the run's
  fit used; the demo's is GE's) and the change errors of glx_timecourse.tsv (ours) and of
  the same table with LCModel's Glx/tNAA are printed as `bench_change_error.py` prints them.
- With --real-seeds N (default 10; 0 skips): sessions built from the four real spectra
  (`fmrstrial.fit.real_sessions`: the real FID, Glu raised by 0-9 % of its fitted amplitude,
  fresh noise --noise times the spectrum's own per block, seeds 1..N), fitted by us in both
  modes (dynamic, the default: one joint fit; blocks: every block on the session background)
  and by LCModel; error of the change of Glx/tNAA from block 0 against the true change, in
  percentage points of the spectrum's fitted Glx/tNAA.

Writes only to temporary folders.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lcmodel_runner  # noqa: E402
from bench_change_error import change_errors  # noqa: E402
from real_spectra import BASIS, SPECTRA, convert  # noqa: E402

from fmrstrial.fit.real_sessions import real_source, session  # noqa: E402
from fmrstrial.fit.session import fit_in_mode  # noqa: E402
from fmrstrial.io.basis import read_basis  # noqa: E402
from fmrstrial.io.nifti_mrs import read_nifti_mrs  # noqa: E402
from fmrstrial.paths import resource  # noqa: E402

GLU_CHANGE = np.array([0.0, 0.03, 0.06, 0.09, 0.09, 0.06])


class LCModel:
    """LCModel on the blocks of one series, with one scale factor for the series."""

    def __init__(self, binary: str, basis: str, te_ms: float):
        self.binary, self.basis, self.te_ms = binary, basis, te_ms

    def glx_tnaa(self, blocks) -> np.ndarray:
        """Glx/tNAA of every block of `blocks` (MRSData, DIM_DYN last), shape (n_blocks,)."""
        fids = blocks.fids.reshape(blocks.n_points, -1).conj()  # NIfTI-MRS convention
        args = (blocks.dwell_s, blocks.cf_mhz, self.basis, self.te_ms)
        first = lcmodel_runner.fit(self.binary, fids[:, 0], *args)
        scale = lcmodel_runner.scale_for(first)
        return np.array(
            [
                lcmodel_runner.glx_tnaa(lcmodel_runner.fit(self.binary, f, *args, scale))
                for f in fids.T
            ]
        )


def run_blocks(lc: LCModel, results: Path) -> None:
    """LCModel on every preprocessed block of a finished run; change errors of both."""
    tc = pd.read_csv(results / "tables" / "glx_timecourse.tsv", sep="\t", na_values="n/a")
    ours = tc.copy()
    for (pid, sid), rows in tc.groupby(["participant_id", "session_id"]):
        blocks = read_nifti_mrs(results / "preproc" / pid / sid / "blocks.nii.gz")
        values = lc.glx_tnaa(blocks)
        tc.loc[rows.index, "glx_tnaa"] = values[rows["block"].to_numpy() - 1]
        print(f"  {pid} {sid}: LCModel fitted {values.size} blocks", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"ours": Path(tmp) / "ours.tsv", "LCModel": Path(tmp) / "lcmodel.tsv"}
        ours.to_csv(paths["ours"], sep="\t", index=False, na_rep="n/a")
        tc.to_csv(paths["LCModel"], sep="\t", index=False, na_rep="n/a")
        for qc_only in (False, True):
            r = {k: change_errors(str(p), qc_only) for k, p in paths.items()}
            which = "blocks passing QC" if qc_only else "all fitted blocks"
            sd = {k: v["block_error_sd"] for k, v in r.items()}
            print(
                f"{results} ({which}, {r['ours']['sessions']} sessions): change error SD ours "
                f"{sd['ours']:.2f} pp, LCModel {sd['LCModel']:.2f} pp, ratio "
                f"{sd['ours'] / sd['LCModel']:.2f}"
            )


def glx_tnaa_ours(blocks, basis, mode: str) -> np.ndarray:
    """Our Glx/tNAA of every block of `blocks` with the default settings in `mode`."""
    fits = fit_in_mode(blocks, basis, {"mode": mode})
    return np.array([r.amplitude("Glx") / r.amplitude("tNAA") for _, r in fits])


def run_real(binary: str | None, seeds: range, noise: float) -> None:
    """Sessions built from the four real spectra, fitted by us (both modes) and LCModel."""
    fitters = ["dynamic", "blocks"] + (["LCModel"] if binary else [])
    errors = {k: [] for k in fitters}
    print("spectrum | change error SD (pp): " + " / ".join(fitters))
    with tempfile.TemporaryDirectory() as tmp:
        for name, spectrum in SPECTRA.items():
            path = resource(BASIS.format(spectrum.vendor))
            basis = read_basis(path)
            data = read_nifti_mrs(convert(name, Path(tmp) / f"{name}.nii.gz"))
            source = real_source(data, basis)
            te_ms = 1000 * float(data.header.get("EchoTime", 0.035))
            lc = LCModel(binary, str(path), te_ms) if binary else None
            tnaa = source.fit.amplitude("tNAA")
            ref = source.fit.amplitude("Glx") / tnaa
            true = 100 * (GLU_CHANGE - GLU_CHANGE[0]) * source.fit.amplitude("Glu") / tnaa / ref
            own = {k: [] for k in fitters}
            for seed in seeds:
                blocks = session(source, GLU_CHANGE, noise, seed)
                for k in fitters:
                    v = lc.glx_tnaa(blocks) if k == "LCModel" else glx_tnaa_ours(blocks, basis, k)
                    own[k].extend(100 * (v[1:] - v[0]) / ref - true[1:])
            for k in own:
                errors[k].extend(own[k])
            sds = " / ".join(f"{np.std(own[k], ddof=1):.2f}" for k in fitters)
            print(f"{name:<8} | {sds}", flush=True)
    sd = {k: np.std(v, ddof=1) for k, v in errors.items()}
    ratios = (
        "".join(f"; {k} / LCModel {sd[k] / sd['LCModel']:.2f}" for k in fitters[:2])
        if binary
        else ""
    )
    print(
        f"pooled   | {' / '.join(f'{sd[k]:.2f}' for k in fitters)} ({len(seeds)} sessions x 5 "
        f"infusion blocks per spectrum, noise {noise:g} x the spectrum's own{ratios})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lcmodel", help="path of an LCModel 6.3 binary (none: ours only)")
    ap.add_argument("--results", type=Path, help="a finished run on simulated data")
    ap.add_argument("--basis", help="LCModel .BASIS the run's fit used (with --results)")
    ap.add_argument("--te", type=float, default=35.0, help="echo time (ms) given to LCModel")
    ap.add_argument("--real-seeds", type=int, default=10)
    ap.add_argument("--noise", type=float, default=3.0)
    a = ap.parse_args()
    if a.results is not None:
        if a.basis is None or a.lcmodel is None:
            ap.error("--results needs --basis and --lcmodel")
        run_blocks(LCModel(a.lcmodel, a.basis, a.te), a.results)
    if a.real_seeds:
        run_real(a.lcmodel, range(1, a.real_seeds + 1), a.noise)


if __name__ == "__main__":
    main()
