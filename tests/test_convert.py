"""Conversion: real vendor files, de-identification, header sanity, broken inputs."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys

import nibabel as nib
import pytest

from conftest import DATA
from fmrstrial.cli import main
from fmrstrial.convert import convert_acquisition
from fmrstrial.convert.deidentify import IDENTIFIER_KEYS, deidentify, find_identifiers
from fmrstrial.errors import InputError
from fmrstrial.io.nifti_mrs import read_nifti_mrs
from fmrstrial.paths import resource
from fmrstrial.steps.conversion_summary import summarise_conversions

VENDOR = DATA / "vendor"
BAD = DATA / "bad" / "convert"
BASIS = "basis/lcmodel_press35_3T/3T_PRESS_{}_35ms_noMM.BASIS"
PHILIPS = VENDOR / "philips_sdat_press35"

# file, paired, role, basis vendor, settings, expected (shape, MHz, dwell s, dim tags)
REAL = [
    (
        PHILIPS / "sub-01/sub-01_PRESS_35_act.sdat",
        None,
        "svs",
        "Philips",
        {},
        ((2048,), 127.750896, 5e-4, ()),
    ),
    (
        PHILIPS / "sub-01/sub-01_PRESS_35_ref.spar",
        None,
        "mrsref",
        None,
        {},
        ((2048,), 127.750896, 5e-4, ()),
    ),
    (
        PHILIPS / "sub-02/sub-02_PRESS_35_act.sdat",
        PHILIPS / "sub-02/sub-02_PRESS_35_act.spar",
        "svs",
        "Philips",
        {},
        ((2048,), 127.75069, 5e-4, ()),
    ),
    (
        PHILIPS / "sub-02/sub-02_PRESS_35_ref.sdat",
        None,
        "mrsref",
        None,
        {},
        ((2048,), 127.75069, 5e-4, ()),
    ),
    (
        VENDOR / "siemens_rda/SVS_30.rda",
        None,
        "svs",
        "Siemens",
        {},
        ((1024,), 123.234655, 8.33e-4, ()),
    ),
    (
        VENDOR / "siemens_dicom/SVS_30.IMA",
        None,
        "svs",
        "Siemens",
        {},
        ((1024,), 123.234655, 8.334e-4, ()),
    ),
    # a phantom: no NAA, so the in-vivo NAA check is switched off
    (
        VENDOR / "siemens_dicom/SVS_XA60.dcm",
        None,
        "svs",
        "Siemens",
        {"naa_check": False},
        ((1024,), 123.255089, 8.334e-4, ()),
    ),
    (
        VENDOR / "nifti_mrs/sub-01_ses-01_SVS-ref.nii.gz",
        None,
        "mrsref",
        None,
        {"field_strength_t": 7.0},
        ((2048, 32), 297.219948, 1.666e-4, ("DIM_COIL",)),
    ),
]


def _convert(tmp_path, case, name="out"):
    source, paired, role, vendor, settings, _ = case
    out = tmp_path / f"{name}.nii.gz"
    summary = convert_acquisition(
        source,
        out,
        paired=paired,
        role=role,
        settings=settings,
        basis_path=resource(BASIS.format(vendor)) if vendor else None,
        labels={"participant_id": "sub-01", "session_id": "ses-1"},
        summary_path=tmp_path / f"{name}.json",
    )
    return out, summary


@pytest.mark.parametrize("case", REAL, ids=[c[0].name for c in REAL])
def test_real_files_convert(tmp_path, case):
    out, summary = _convert(tmp_path, case)
    shape, mhz, dwell, tags = case[5]
    data = read_nifti_mrs(out)
    assert data.fids.shape == shape
    assert data.cf_mhz == pytest.approx(mhz, abs=1e-5)
    assert data.dwell_s == pytest.approx(dwell, rel=1e-3)
    assert data.dim_tags == tags
    assert summary["participant_id"] == "sub-01"  # labels from the dataset, not the header
    if case[2] == "svs" and case[4].get("naa_check", True):
        assert abs(summary["naa_offset_ppm"]) < 0.1


def _raw_header(source, tmp_path):
    """The header spec2nii itself writes (before our de-identification)."""
    sub = {".rda": "rda", ".IMA": "dicom", ".dcm": "dicom"}[source.suffix]
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from spec2nii.spec2nii import main; main()",
            sub,
            str(source),
            "-o",
            str(tmp_path),
            "-f",
            "raw",
        ],
        check=True,
        capture_output=True,
    )
    img = nib.load(tmp_path / "raw.nii.gz")
    return json.loads(img.header.extensions[0].get_content())


@pytest.mark.parametrize("case", REAL, ids=[c[0].name for c in REAL])
def test_converted_headers_carry_no_identifiers(tmp_path, case):
    out, _ = _convert(tmp_path, case)
    raw = gzip.decompress(out.read_bytes())
    img = nib.load(out)
    header = json.loads(img.header.extensions[0].get_content())
    assert find_identifiers(header) == []
    for key in IDENTIFIER_KEYS:
        assert key.encode() not in raw, key
    assert str(case[0].parent).encode() not in raw
    assert case[0].name.encode() not in raw
    assert header["SpectrometerFrequency"] and header["ResonantNucleus"]
    assert "EchoTime" in header and "RepetitionTime" in header


@pytest.mark.parametrize("name", ["siemens_rda/SVS_30.rda", "siemens_dicom/SVS_XA60.dcm"])
def test_siemens_sources_really_had_identifiers(tmp_path, name):
    """Guards the test above: the raw conversion does carry PatientName/PatientDoB."""
    header = _raw_header(VENDOR / name, tmp_path)
    assert "PatientName" in header
    assert "PatientDoB" in header or "PatientSex" in header


def test_conversion_is_deterministic(tmp_path):
    for case in (REAL[0], REAL[4], REAL[7]):
        a, _ = _convert(tmp_path, case, "a")
        b, _ = _convert(tmp_path, case, "b")
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def test_dates_removed_or_shifted():
    header = {
        "AcquisitionDateTime": "2020-03-01T10:11:12",
        "StudyDate": "20200301",
        "EchoTime": 0.03,
        "RepetitionTime": 2.0,
        "ConversionTime": "2026-01-01T00:00:00",
        "user": {"PatientName": "x", "Description": "kept"},
    }
    removed, changes = deidentify(header)
    assert removed == {"EchoTime": 0.03, "RepetitionTime": 2.0, "user": {"Description": "kept"}}
    assert "removed user.PatientName" in changes
    shifted, _ = deidentify(header, date_shift_days=-10)
    assert shifted["AcquisitionDateTime"] == "2020-02-20T10:11:12"
    assert shifted["StudyDate"] == "20200220"
    assert "ConversionTime" not in shifted


def test_field_strength_mismatch(tmp_path):
    with pytest.raises(InputError, match="297.2199 MHz means 6.98 T, expected 3.0 T"):
        convert_acquisition(
            VENDOR / "nifti_mrs/sub-01_ses-01_SVS-ref.nii.gz", tmp_path / "x.nii.gz", role="mrsref"
        )
    assert not (tmp_path / "x.nii.gz").exists()


def test_ppm_reference_correction(tmp_path):
    source = BAD / "ppm_offset_0p169.nii.gz"
    fixed = convert_acquisition(
        source, tmp_path / "f.nii.gz", settings={"ppm_correction": "fixed", "ppm_shift": -0.169}
    )
    assert fixed["naa_offset_ppm"] == pytest.approx(0.169, abs=0.01)  # measured before
    assert fixed["ppm_correction_ppm"] == pytest.approx(-0.169)
    again = convert_acquisition(tmp_path / "f.nii.gz", tmp_path / "g.nii.gz")
    assert abs(again["naa_offset_ppm"]) < 0.01
    auto = convert_acquisition(source, tmp_path / "n.nii.gz", settings={"ppm_correction": "naa"})
    assert auto["ppm_correction_ppm"] == pytest.approx(-0.169, abs=0.01)


BROKEN = [
    ("truncated.sdat", "spec2nii philips could not convert it"),
    ("lonely.spar", "SPAR file without its SDAT data file"),
    ("spectrum.txt", "unsupported file type '.txt'"),
    ("empty.rda", "file is empty"),
    ("header_only.rda", "file truncated: 63 points read"),
    ("acqus.fid", "unsupported file type '.fid'"),
    ("plain_nifti.nii.gz", "no NIfTI-MRS header extension"),
    ("nan_data.nii.gz", "NaN"),
    ("echo_time_80ms.nii.gz", "echo time 80.0 ms differs"),
    (
        "siemens_frequency.nii.gz",
        "shipped for this frequency: basis/lcmodel_press35_3T/3T_PRESS_Siemens_35ms_noMM.BASIS",
    ),
    ("truncated.nii.gz", "file truncated"),
]


@pytest.mark.parametrize(("name", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_input_fails_clearly_and_leaves_nothing(tmp_path, capsys, name, message):
    out = tmp_path / "out" / "x.nii.gz"
    before = (BAD / name).read_bytes()
    code = main(
        [
            "convert",
            str(BAD / name),
            "--out",
            str(out),
            "--basis",
            str(resource(BASIS.format("GE"))),
            "--summary",
            str(tmp_path / "out/x.json"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert name in err and message in err, err
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    assert (BAD / name).read_bytes() == before


def test_summary_flags_inconsistent_sessions(tmp_path):
    rows = []
    for i, te in enumerate((35.0, 35.0, 30.0)):
        row = {
            "participant_id": f"sub-0{1 + i // 2}",
            "session_id": f"ses-{1 + i % 2}",
            "role": "svs",
            "cf_mhz": 127.73,
            "te_ms": te,
            "tr_s": 3.0,
            "dwell_s": 1 / 1200,
            "n_points": 1024,
        }
        path = tmp_path / f"s{i}.json"
        path.write_text(json.dumps(row))
        rows.append(path)
    summarise_conversions(rows[:2], tmp_path / "t.tsv", tmp_path / "d.tsv")
    with pytest.raises(InputError, match=r"svs te_ms differs across the trial: 30 \(sub-02 ses-1"):
        summarise_conversions(rows, tmp_path / "t.tsv", tmp_path / "d.tsv")
    assert "False" in (tmp_path / "d.tsv").read_text()
