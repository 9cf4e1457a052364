"""NIfTI-MRS I/O and basis-set readers."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from conftest import DATA
from fmrstrial.errors import InputError
from fmrstrial.fit import prepare_basis, resolve_settings
from fmrstrial.io.basis import read_basis, read_basis_info
from fmrstrial.io.nifti_mrs import MRSData, read_nifti_mrs, write_nifti_mrs
from fmrstrial.paths import resource
from fmrstrial.spectra import ppm_axis, to_spectrum

GE_BASIS = "basis/lcmodel_press35_3T/3T_PRESS_GE_35ms_noMM.BASIS"


def _example(n=256, dyn=5):
    rng = np.random.default_rng(0)
    t = np.arange(n) * 5e-4
    fid = np.exp(2j * np.pi * -300.0 * t - 10 * t)
    fids = fid[:, None] + 0.01 * (
        rng.standard_normal((n, dyn)) + 1j * rng.standard_normal((n, dyn))
    )
    return MRSData(
        fids=fids,
        dwell_s=5e-4,
        cf_mhz=123.2,
        dim_tags=("DIM_DYN",),
        header={"EchoTime": 0.035, "dim_5_info": "transients"},
    )


def test_roundtrip_keeps_data_convention_and_header(tmp_path):
    data = _example()
    write_nifti_mrs(tmp_path / "a.nii.gz", data)
    back = read_nifti_mrs(tmp_path / "a.nii.gz")
    assert back.fids.shape == data.fids.shape
    np.testing.assert_allclose(back.fids, data.fids, rtol=1e-6, atol=1e-6)
    assert back.dim_tags == ("DIM_DYN",)
    assert back.header["EchoTime"] == 0.035
    assert back.cf_mhz == pytest.approx(123.2)
    # a resonance written at -300 Hz is found at -300 Hz again (conjugation handled)
    spec = np.abs(to_spectrum(back.fids.mean(axis=1)))
    ppm = ppm_axis(256, 5e-4, 123.2)
    assert ppm[np.argmax(spec)] == pytest.approx(4.65 - 300.0 / 123.2, abs=0.04)


def test_writes_are_deterministic(tmp_path):
    data = _example()
    write_nifti_mrs(tmp_path / "a.nii.gz", data)
    write_nifti_mrs(tmp_path / "b.nii.gz", data)
    digest = [
        hashlib.sha256((tmp_path / f).read_bytes()).hexdigest() for f in ("a.nii.gz", "b.nii.gz")
    ]
    assert digest[0] == digest[1]
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_dropping_a_dimension_drops_its_header_entries(tmp_path):
    data = _example()
    avg = data.with_fids(data.fids.mean(axis=1), ())
    write_nifti_mrs(tmp_path / "avg.nii.gz", avg)
    back = read_nifti_mrs(tmp_path / "avg.nii.gz")
    assert back.fids.ndim == 1 and "dim_5_info" not in back.header


@pytest.mark.parametrize("content", [b"", b"not a nifti at all"])
def test_unreadable_files_name_the_file(tmp_path, content):
    path = tmp_path / "bad.nii.gz"
    path.write_bytes(content)
    with pytest.raises(InputError, match="bad.nii.gz"):
        read_nifti_mrs(path)


@pytest.mark.parametrize("vendor", ["GE", "Philips", "Siemens"])
def test_lcmodel_basis_reads_and_references(vendor):
    basis = read_basis(resource(GE_BASIS.replace("GE", vendor)))
    assert len(basis.names) == 17 and "Glu" in basis.names and "NAAG" in basis.names
    assert basis.fids.shape == (8192, 17)
    assert basis.singlet_ppm("NAA", 2.008) == pytest.approx(2.008, abs=0.002)
    assert basis.singlet_ppm("Cr", 3.027) == pytest.approx(3.027, abs=0.003)
    assert basis.centre_ppm == pytest.approx(4.68, abs=0.01)  # Osprey basis sets


def test_resampling_keeps_shifts_and_amplitudes():
    basis = read_basis(resource(GE_BASIS))
    grid = basis.rereferenced(4.65).resampled(1 / 1200, 1024)
    assert grid.fids.shape == (1024, 17)
    assert grid.singlet_ppm("NAA", 2.008) == pytest.approx(2.008, abs=0.004)
    assert grid.singlet_ppm("Cr", 3.027) == pytest.approx(3.027, abs=0.004)
    # t = 2.5 ms is sample 3 of the new grid and sample 10 of the basis grid: equal to the
    # basis FID restricted to the new bandwidth (+-600 Hz)
    fid = basis.rereferenced(4.65).fid("Cr")
    spec = np.fft.fft(fid)
    band = np.abs(np.fft.fftfreq(fid.size, basis.dwell_s)) < 600.0
    orig = np.fft.ifft(np.where(band, spec, 0))[10]
    assert grid.fid("Cr")[3] == pytest.approx(orig, rel=1e-6)


def test_unknown_echo_time_of_a_basis_is_not_a_mismatch(tmp_path):
    """LCModel basis sets write ECHOT = -1 when the echo time is unknown (e.g. the ISMRM 2016
    fitting challenge's set): read as unknown, so data of any TE can be fitted with it."""
    text = resource(GE_BASIS).read_text(errors="replace")
    unknown = tmp_path / "unknown_te.BASIS"
    unknown.write_text(text.replace("ECHOT = 35.00", "ECHOT = -1.", 1))
    assert read_basis(resource(GE_BASIS)).echo_time_ms == pytest.approx(35.0)
    assert read_basis(unknown).echo_time_ms is None
    assert read_basis_info(unknown).echo_time_ms is None
    settings = resolve_settings()
    prepare_basis(read_basis(unknown), 1024, 1 / 1200, 127.73, settings, te_ms=30.0)
    with pytest.raises(InputError, match="echo-time mismatch"):  # a known TE still counts
        prepare_basis(read_basis(resource(GE_BASIS)), 1024, 1 / 1200, 127.73, settings, 20.0)


def test_basis_for_another_field_is_refused():
    basis = read_basis(resource(GE_BASIS))
    with pytest.raises(InputError, match="field strengths differ"):
        basis.resampled(1 / 1200, 1024, cf_mhz=297.2)


def test_fslmrs_json_basis():
    basis = read_basis(DATA / "basis_fslmrs")
    assert basis.names == ["Cr", "Glu", "NAA"]
    assert basis.cf_mhz == pytest.approx(297.19, abs=0.01)
    assert basis.dwell_s == pytest.approx(1 / 6000)
    # singlets where they belong (the JSON holds the conjugate of our FID convention)
    assert basis.singlet_ppm("NAA", 2.008, window_ppm=0.3) == pytest.approx(2.008, abs=0.02)
    assert basis.singlet_ppm("Cr", 3.027, window_ppm=0.3) == pytest.approx(3.027, abs=0.02)


def test_unknown_basis_format(tmp_path):
    bogus = tmp_path / "basis.txt"
    bogus.write_text("hello")
    with pytest.raises(InputError, match="unknown basis format"):
        read_basis(bogus)
    empty = tmp_path / "x.BASIS"
    empty.write_text("nothing")
    with pytest.raises(InputError, match="no LCModel namelists"):
        read_basis(empty)
