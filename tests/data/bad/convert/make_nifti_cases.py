"""Regenerate the NIfTI cases of this corpus: python make_nifti_cases.py (from this folder)."""

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np

from fmrstrial.io.nifti_mrs import MRSData, write_nifti_mrs

HERE = Path(__file__).parent


def spectrum(n=512, dwell=1 / 1200, cf=127.731, dyn=4):
    t = np.arange(n) * dwell
    naa = np.exp(2j * np.pi * (2.01 - 4.65) * cf * t - 20 * t)
    return np.repeat(naa[:, None], dyn, axis=1)


def main():
    base = dict(
        dwell_s=1 / 1200,
        cf_mhz=127.731,
        dim_tags=("DIM_DYN",),
        header={"EchoTime": 0.035, "RepetitionTime": 3.0},
    )
    fids = spectrum()
    nan = fids.copy()
    nan[10, 1] = np.nan
    # NaN cannot pass our writer's validation: write it with nibabel directly
    good = MRSData(fids=fids, **base)
    write_nifti_mrs(HERE / "nan_data.nii.gz", good)
    img = nib.load(HERE / "nan_data.nii.gz")
    arr = np.asanyarray(img.dataobj).copy()
    arr[0, 0, 0, 10, 1] = np.nan
    nib.save(nib.Nifti2Image(arr, img.affine, img.header), HERE / "nan_data.nii.gz")
    # plain NIfTI: no NIfTI-MRS header extension
    nib.save(
        nib.Nifti2Image(fids.astype(np.complex64).reshape(1, 1, 1, *fids.shape), np.eye(4)),
        HERE / "plain_nifti.nii.gz",
    )
    # bandwidth 10 kHz: wider than the 4 kHz of the basis set
    wide = MRSData(fids=spectrum(dwell=1e-4), **{**base, "dwell_s": 1e-4})
    write_nifti_mrs(HERE / "wide_bandwidth.nii.gz", wide)
    # echo time 80 ms against a 35 ms basis
    long_te = MRSData(fids=fids, **{**base, "header": {"EchoTime": 0.080}})
    write_nifti_mrs(HERE / "echo_time_80ms.nii.gz", long_te)
    # a Siemens 3 T frequency (123.2 MHz) against the 127.7 MHz GE basis
    siemens = MRSData(fids=spectrum(cf=123.202), **{**base, "cf_mhz": 123.202})
    write_nifti_mrs(HERE / "siemens_frequency.nii.gz", siemens)
    # NAA 0.169 ppm too high (the GE pitfall)
    t = np.arange(512) / 1200
    shifted = fids * np.exp(2j * np.pi * 0.169 * 127.731 * t)[:, None]
    write_nifti_mrs(HERE / "ppm_offset_0p169.nii.gz", MRSData(fids=shifted, **base))
    # gzip cut in the middle of the data
    raw = gzip.decompress((HERE / "echo_time_80ms.nii.gz").read_bytes())
    (HERE / "truncated.nii.gz").write_bytes(gzip.compress(raw[: len(raw) // 2], mtime=0))


if __name__ == "__main__":
    main()
