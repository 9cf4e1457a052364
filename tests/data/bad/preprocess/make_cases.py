"""Regenerate this folder's cases: python make_cases.py (from this folder)."""

from pathlib import Path

import numpy as np

from fmrstrial.io.nifti_mrs import MRSData, write_nifti_mrs

HERE = Path(__file__).parent


def main():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((1024, 40)) + 1j * rng.standard_normal((1024, 40))
    data = MRSData(
        fids=noise * 1e-3,
        dwell_s=1 / 1200,
        cf_mhz=127.731,
        dim_tags=("DIM_DYN",),
        header={"EchoTime": 0.035, "RepetitionTime": 3.0, "WaterSuppressed": True},
    )
    write_nifti_mrs(HERE / "all_corrupt.nii.gz", data)


if __name__ == "__main__":
    main()
