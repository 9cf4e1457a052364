"""Benchmark preprocessing on sessions with real-data habits (run on demand, not in pytest).

    python tests/benchmarks/bench_preprocess_habits.py [--participants 3] [--seed 14]

Simulates a short trial (`--participants` x 2 sessions of 2 min baseline + 6 min infusion,
half of them with 4 coils, the simulator's 2 % corrupt transients), then preprocesses every
session twice: as simulated, and perturbed the way real data differ from the simulator (all
draws from one generator seeded with --seed):

- the metabolite FIDs multiplied by exp(i phi), phi uniform in [0, 360) deg (a metabolite
  scan whose zero-order phase is unrelated to the water reference's);
- and by exp(2 pi i f t), f uniform in +/-0.3 ppm (+/-38 Hz at 127.7 MHz);
- the water reference by exp(2 pi i f_ref t), f_ref uniform in +/-0.05 ppm.

Reports, per session and overall: blocks passing QC (share), the per-transient frequency
error against truth (RMS over clean transients after removing the common offset, which is
reported relative to the water reference), the error of the recovered common offset
(change of the mean reported offset minus f - f_ref), and the perturbed session's block
SNR and NAA FWHM relative to the unperturbed session's. A session that stops with an
InputError counts as lost. Blocks use the default settings with 2-min infusion blocks.
Run it against another checkout with PYTHONPATH=<checkout>/workflow to compare.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

SETTINGS = {"baseline_blocks": 1, "infusion_block_min": 2.0, "infusion_window_min": 6.0}


def _rotate(data, phase_deg, shift_hz):
    from fmrstrial.spectra import time_axis

    t = time_axis(data.n_points, data.dwell_s)
    factor = np.exp(1j * np.deg2rad(phase_deg) + 2j * np.pi * shift_hz * t)
    return data.with_fids(data.fids * factor.reshape((-1,) + (1,) * (data.fids.ndim - 1)))


def _session(root: Path, pid: str, sid: str, draw: tuple[float, float, float]) -> dict:
    from fmrstrial.dataset import ref_path, svs_path
    from fmrstrial.errors import InputError
    from fmrstrial.io.nifti_mrs import read_nifti_mrs
    from fmrstrial.io.tsv import read_tsv
    from fmrstrial.preprocess import preprocess_session

    svs = read_nifti_mrs(svs_path(root, pid, sid))
    ref = read_nifti_mrs(ref_path(root, pid, sid))
    base = root / "derivatives" / "truth"
    truth = read_tsv(base / pid / sid / f"{pid}_{sid}_transients.tsv")
    sessions = read_tsv(base / "sessions.tsv")
    row = sessions[(sessions.participant_id == pid) & (sessions.session_id == sid)].iloc[0]
    t0 = float(row.infusion_start_s)
    clean = truth.corrupt.to_numpy() == 0
    phase, shift, ref_shift = draw

    plain = preprocess_session(svs, ref, t0, SETTINGS)
    start = time.perf_counter()
    try:
        moved = preprocess_session(
            _rotate(svs, phase, shift), _rotate(ref, 0.0, ref_shift), t0, SETTINGS
        )
    except InputError as err:
        return {"lost": str(err)}
    seconds = time.perf_counter() - start

    def diff(result):
        return result.transients.freq_offset_hz.to_numpy()[clean] - truth.freq_offset_hz[clean]

    d, d0 = diff(moved), diff(plain)
    q, q0 = moved.qc, plain.qc
    return {
        "lost": None,
        "blocks": len(q),
        "pass": int(q.qc_pass.sum()),
        "pass_plain": int(q0.qc_pass.sum()),
        "freq_rms_hz": float(np.sqrt(np.mean((d - d.mean()) ** 2))),
        "offset_error_hz": float(d.mean() - d0.mean() - (shift - ref_shift)),
        "snr_ratio": (q.snr / q0.snr).to_numpy(),
        "fwhm_ratio": (q.naa_fwhm_unmatched_hz / q0.naa_fwhm_unmatched_hz).to_numpy(),
        "seconds": seconds,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--participants", type=int, default=3)
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()

    from fmrstrial.blas import single_threaded_blas
    from fmrstrial.simulate import resolve, simulate_trial
    from fmrstrial.simulate.params import NO_HABITS, combine

    params = {
        "participants": args.participants,
        "seed": args.seed,
        "acquisition": {
            "baseline_min": 2.0,
            "baseline_jitter_min": 0.0,
            "infusion_min": 6.0,
            "multi_coil_fraction": 0.5,
        },
    }
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp, single_threaded_blas():
        root = Path(tmp) / "ds"
        simulate_trial(root, resolve(combine(NO_HABITS, params)))  # habits added below
        cf = 127.73
        rows = []
        for k in range(args.participants):
            for sid in ("ses-1", "ses-2"):
                pid = f"sub-{k + 1:02d}"
                draw = (
                    float(rng.uniform(0.0, 360.0)),
                    float(rng.uniform(-0.3, 0.3) * cf),
                    float(rng.uniform(-0.05, 0.05) * cf),
                )
                out = _session(root, pid, sid, draw)
                rows.append(out)
                head = (
                    f"{pid} {sid} phase {draw[0]:6.1f} deg, offset {draw[1]:+6.1f} Hz, "
                    f"reference {draw[2]:+5.1f} Hz:"
                )
                if out["lost"]:
                    print(head, "LOST -", out["lost"])
                    continue
                print(
                    head,
                    f"QC pass {out['pass']}/{out['blocks']} (unperturbed {out['pass_plain']}), "
                    f"freq RMS {out['freq_rms_hz']:.3f} Hz, offset error "
                    f"{out['offset_error_hz']:+.3f} Hz, SNR ratio "
                    f"{np.median(out['snr_ratio']):.3f}, FWHM ratio "
                    f"{np.median(out['fwhm_ratio']):.3f}, {out['seconds']:.2f} s",
                )
    kept = [r for r in rows if not r["lost"]]
    n_blocks_plain = sum(r["blocks"] for r in kept)
    print(f"\nsessions: {len(rows)}, lost: {len(rows) - len(kept)}")
    if not kept:
        return
    n_pass = sum(r["pass"] for r in kept)
    n_pass0 = sum(r["pass_plain"] for r in kept)
    rms = np.array([r["freq_rms_hz"] for r in kept])
    off = np.abs([r["offset_error_hz"] for r in kept])
    snr = np.concatenate([r["snr_ratio"] for r in kept])
    fwhm = np.concatenate([r["fwhm_ratio"] for r in kept])
    print(
        f"blocks passing QC: {n_pass}/{n_blocks_plain} = {n_pass / n_blocks_plain:.1%} "
        f"(unperturbed {n_pass0}/{n_blocks_plain})"
    )
    print(f"frequency RMS error per session (Hz): median {np.median(rms):.3f}, max {rms.max():.3f}")
    print(f"|common offset error| (Hz): median {np.median(off):.3f}, max {off.max():.3f}")
    print(
        f"block SNR / unperturbed: median {np.median(snr):.3f}, range "
        f"{np.nanmin(snr):.3f}-{np.nanmax(snr):.3f}"
    )
    print(
        f"block NAA FWHM / unperturbed: median {np.nanmedian(fwhm):.3f}, range "
        f"{np.nanmin(fwhm):.3f}-{np.nanmax(fwhm):.3f}"
    )


if __name__ == "__main__":
    main()
