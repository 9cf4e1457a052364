"""The four real spectra copied under tests/data/vendor (licences there), for tests and
benchmarks: Philips SDAT/SPAR PRESS TE 35 ms (sub-01, sub-02) and Siemens RDA PRESS TE 30 ms
(ACC, PCG), fitted, as LCModel did, with the 35 ms basis of their vendor; and the broad
residual water line both add to them."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from fmrstrial.cli import main as cli
from fmrstrial.io.nifti_mrs import MRSData
from fmrstrial.preprocess import preprocess_session
from fmrstrial.spectra import ppm_axis, time_axis, to_spectrum

VENDOR = Path(__file__).parent / "data" / "vendor"
#: Resource path of the 35 ms basis set of a vendor (`.format(vendor)`).
BASIS = "basis/lcmodel_press35_3T/3T_PRESS_{}_35ms_noMM.BASIS"


class RealSpectrum(NamedTuple):
    vendor: str  # 'Philips' or 'Siemens', also the basis set's
    stem: str  # path under VENDOR without the extension
    lcmodel: str  # the spectrum's name in tests/data/lcmodel/summary.tsv


SPECTRA = {
    "sub-01": RealSpectrum("Philips", "philips_sdat_press35/sub-01/sub-01_PRESS_35_act",
                           "sub-01_PRESS_35_act"),
    "sub-02": RealSpectrum("Philips", "philips_sdat_press35/sub-02/sub-02_PRESS_35_act",
                           "sub-02_PRESS_35_act"),
    "ACC": RealSpectrum("Siemens", "siemens_rda_press30/ACC_PRESS", "ACC_PRESS"),
    "PCG": RealSpectrum("Siemens", "siemens_rda_press30/PCG_PRESS", "PCG_PRESS"),
}  # fmt: skip


def convert(name: str, out: Path) -> Path:
    """Convert spectrum `name` with `fmrstrial convert` to the NIfTI-MRS file `out`."""
    spectrum = SPECTRA[name]
    src = VENDOR / spectrum.stem
    files = [f"{src}.sdat", f"{src}.spar"] if spectrum.vendor == "Philips" else [f"{src}.rda"]
    assert cli(["convert", *files, "--out", str(out)]) == 0, f"converting {src} failed"
    return out


def water_line(fid: np.ndarray, dwell_s: float, cf_mhz: float) -> np.ndarray:
    """A broad residual water line (Lorentzian 16 Hz, 0.05 ppm from the data's water, 0.7 rad
    from its phase) of 30 x the mean |fid| of the first 4 points, shape of fid (n,)."""
    t = np.arange(fid.size) * dwell_s
    return 30 * np.abs(fid[:4]).mean() * np.exp(2j * np.pi * 0.05 * cf_mhz * t - t / 0.02 + 0.7j)


def transient_series(fid, dwell, cf, n, snr, rng):
    """A real averaged spectrum `fid` (n_points,) made into n transients: multiplied by
    exp(i (phi_k + 2 pi f_k t)), f_k a 2 Hz sine drift over the series plus 0.3 Hz jitter,
    phi_k 3 degrees of jitter, 3 % motion-corrupted (amplitude 0.3-0.7, frequency jump 4-10
    Hz, phase jump 40-120 degrees, either sign), plus complex white noise at a
    single-transient SNR `snr` (NAA magnitude peak in 1.9-2.1 ppm over the noise SD per
    spectral point). Returns (fids (n_points, n), true frequency offsets (n,) Hz, motion
    mask (n,))."""
    t = time_axis(fid.size, dwell)
    k = np.arange(n)
    freq = 2.0 * np.sin(2 * np.pi * k / n) + rng.normal(0, 0.3, n)
    phase = np.deg2rad(rng.normal(0, 3.0, n))
    amp = np.ones(n)
    motion = np.zeros(n, bool)
    motion[rng.choice(np.arange(2, n), size=max(1, round(0.03 * n)), replace=False)] = True
    m = int(motion.sum())
    sign = rng.choice([-1.0, 1.0], size=(m, 2))
    amp[motion] = rng.uniform(0.3, 0.7, m)
    observed = freq.copy()
    observed[motion] += sign[:, 0] * rng.uniform(4.0, 10.0, m)
    phase[motion] += sign[:, 1] * np.deg2rad(rng.uniform(40.0, 120.0, m))
    fids = fid[:, None] * amp * np.exp(1j * phase + 2j * np.pi * np.outer(t, observed))
    ppm = ppm_axis(fid.size, dwell, cf)
    height = np.abs(to_spectrum(fid))[(ppm > 1.9) & (ppm < 2.1)].max()
    # noise SD per spectral point = noise SD per FID point x sqrt(n_points) (unnormalised FFT)
    sd_point = height / snr / np.sqrt(fid.size)
    noise = rng.standard_normal(fids.shape) + 1j * rng.standard_normal(fids.shape)
    return fids + sd_point / np.sqrt(2) * noise, freq, motion


def alignment_errors(fids, dwell, cf, freq, motion, prior: bool) -> tuple[float, int, int]:
    """Preprocess the transient series `fids` (n_points, n; from `transient_series`, TR 3 s,
    infusion after a third of the series, no water reference, 2-min blocks) with the
    neighbour prior on or off. Returns the
    frequency error (RMS over clean kept transients after removing the common offset, Hz)
    and the motion-corrupted and clean transients excluded."""
    data = MRSData(fids, dwell, cf, dim_tags=("DIM_DYN",))
    tr_s = 3.0
    settings = {"baseline_blocks": 1, "infusion_block_min": 2.0, "tr_s": tr_s,
                "align_neighbour_prior": prior}  # fmt: skip
    infusion_start_s = freq.size * tr_s / 3
    qc = preprocess_session(data, None, infusion_start_s, settings, source="series").transients
    excluded = qc.excluded.to_numpy() != 0
    good = ~motion & ~excluded
    err = qc.freq_offset_hz.to_numpy()[good] - freq[good]
    rms = float(np.sqrt(np.mean((err - err.mean()) ** 2)))
    return rms, int((motion & excluded).sum()), int((~motion & excluded).sum())
