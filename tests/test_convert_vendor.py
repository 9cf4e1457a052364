"""Real scanner exports (issue 15) and drift-sized NAA offsets (issue 14): GE P-files with an
embedded reference, DICOM stored one file per transient, averaged files, implausible echo
times, oversampled TWIX water references."""

from __future__ import annotations

import gzip
import json
import lzma
import re
import shutil
from dataclasses import replace

import nibabel as nib
import numpy as np
import pytest

from conftest import DATA
from fmrstrial.cli import main
from fmrstrial.convert import convert_acquisition
from fmrstrial.convert import formats as formats_module
from fmrstrial.convert.discover import session_sources
from fmrstrial.convert.formats import detect, load_source
from fmrstrial.errors import InputError
from fmrstrial.io.nifti_mrs import MRSData, read_nifti_mrs, write_nifti_mrs
from fmrstrial.spectra import shift_hz
from fmrstrial.steps.conversion_summary import summarise_conversions

VENDOR = DATA / "vendor"
MEGA = VENDOR / "siemens_ima_megapress"
MEGA_MET = MEGA / "sub-01_mega-press-68"
MEGA_REF = MEGA / "sub-01_mega-press-68-ref"
VB17 = VENDOR / "siemens_dicom_vb17_slaser"
SEVEN_T = {"field_strength_t": 7.0, "naa_check": False}


def _header(path):
    return json.loads(nib.load(path).header.extensions[0].get_content())


def _unxz(path, tmp_path):
    out = tmp_path / path.name[: -len(".xz")]
    out.write_bytes(lzma.decompress(path.read_bytes()))
    return out


# --- 1. GE P-file: metabolite data and the embedded water reference -------------------------


@pytest.fixture
def pfile(tmp_path, monkeypatch):
    """A P-file whose spec2nii conversion gives two outputs, shaped like spec2nii's GE
    reader writes them ('' water-suppressed, '_ref' unsuppressed), built from a real
    NIfTI-MRS water reference (no redistributable P-file exists)."""
    real = read_nifti_mrs(VENDOR / "nifti_mrs/sub-01_ses-01_SVS-ref.nii.gz")
    water = real.fids[:, :4]
    met = MRSData(
        fids=np.repeat(water[:, :, None] * 0.01, 3, axis=2),
        dwell_s=real.dwell_s,
        cf_mhz=real.cf_mhz,
        dim_tags=("DIM_COIL", "DIM_DYN"),
        header={"EchoTime": 0.035, "RepetitionTime": 2.0, "WaterSuppressed": True},
    )
    ref = MRSData(
        fids=np.repeat(water[:, :, None], 2, axis=2),
        dwell_s=real.dwell_s,
        cf_mhz=real.cf_mhz,
        dim_tags=("DIM_COIL", "DIM_DYN"),
        header={"EchoTime": 0.035, "RepetitionTime": 2.0, "WaterSuppressed": False},
    )
    calls = []

    def fake_spec2nii(src, remove_os=False):
        calls.append(src.fmt)
        return [("converted", met), ("converted_ref", ref)]

    monkeypatch.setattr(formats_module, "run_spec2nii", fake_spec2nii)
    path = tmp_path / "raw" / "P12345.7"
    path.parent.mkdir()
    path.write_bytes(b"GE P-file stand-in")
    return path, met, ref, calls


def _config(tmp_path, text="field_strength_t: 7.0\nnaa_check: false\n"):
    cfg = tmp_path / "convert.yaml"
    cfg.write_text(text)
    return str(cfg)


def test_ge_pfile_cli_writes_the_embedded_reference(tmp_path, pfile):
    path, met, ref, calls = pfile
    out = tmp_path / "out" / "sub-01_ses-1_svs.nii.gz"
    code = main(["convert", str(path), "--out", str(out), "--config", _config(tmp_path)])
    assert code == 0 and calls == ["ge", "ge"]
    svs = read_nifti_mrs(out)
    written = read_nifti_mrs(tmp_path / "out" / "sub-01_ses-1_mrsref.nii.gz")
    assert np.allclose(svs.fids, met.fids, atol=1e-6)
    assert np.allclose(written.fids, ref.fids, atol=1e-4)
    assert written.header["WaterSuppressed"] is False


def test_ge_pfile_reference_flag_takes_the_reference(tmp_path, pfile):
    path, _, ref, _ = pfile
    out = tmp_path / "ref.nii.gz"
    code = main(
        ["convert", str(path), "--reference", "--out", str(out), "--config", _config(tmp_path)]
    )
    assert code == 0
    assert read_nifti_mrs(out).header["WaterSuppressed"] is False
    assert np.allclose(read_nifti_mrs(out).fids, ref.fids, atol=1e-4)


def test_reference_refuses_water_suppressed_data(tmp_path, pfile, capsys):
    _, met, _, _ = pfile
    suppressed = tmp_path / "suppressed.nii.gz"
    write_nifti_mrs(suppressed, met)
    out = tmp_path / "out" / "ref.nii.gz"
    code = main(
        [
            "convert",
            str(suppressed),
            "--reference",
            "--out",
            str(out),
            "--config",
            _config(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "suppressed.nii.gz" in err and "water-suppressed" in err, err
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_ge_pfile_without_embedded_reference(tmp_path, pfile, monkeypatch, capsys):
    path, met, _, _ = pfile
    monkeypatch.setattr(
        formats_module, "run_spec2nii", lambda src, remove_os=False: [("converted", met)]
    )
    out = tmp_path / "out" / "x_svs.nii.gz"
    assert main(["convert", str(path), "--out", str(out), "--config", _config(tmp_path)]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["x_svs.nii.gz"]  # no reference
    code = main(
        [
            "convert",
            str(path),
            "--reference",
            "--out",
            str(tmp_path / "out" / "r.nii.gz"),
            "--config",
            _config(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "P12345.7: the P-file holds no embedded water reference" in err, err


def test_ge_pfile_is_the_sessions_reference_in_the_workflow(tmp_path):
    mrs = tmp_path / "sourcedata" / "sub-01" / "ses-1" / "mrs"
    mrs.mkdir(parents=True)
    (mrs / "P12345.7").write_bytes(b"x")
    found = session_sources(tmp_path, "sub-01", "ses-1")
    assert found == {"svs": mrs / "P12345.7", "mrsref": mrs / "P12345.7"}
    (mrs / "P12346_water.7").write_bytes(b"x")  # a separate reference wins
    assert session_sources(tmp_path, "sub-01", "ses-1")["mrsref"] == mrs / "P12346_water.7"


# --- 2. one file per transient -------------------------------------------------------------


def test_folder_converts_to_one_file_with_transients_in_instance_order(tmp_path):
    folder = tmp_path / "series"
    folder.mkdir()
    files = sorted(MEGA_MET.iterdir())  # instance 1, 2
    # file names sort in the opposite order of the instance numbers
    shutil.copy(files[0], folder / "b.IMA")
    shutil.copy(files[1], folder / "a.IMA")
    out = tmp_path / "out.nii.gz"
    summary = convert_acquisition(folder, out, settings={"naa_check": False})
    data = read_nifti_mrs(out)
    assert data.dim_tags == ("DIM_DYN",) and data.fids.shape == (2048, 2)
    assert summary["n_files"] == 2 and summary["n_transients"] == 2
    for k, f in enumerate(files):
        single, _ = load_source(detect(f))
        assert np.allclose(data.fids[:, k], single.fids, atol=1e-6)
    assert not np.allclose(data.fids[:, 0], data.fids[:, 1])
    raw = gzip.decompress(out.read_bytes())
    for text in (b"PatientName", b"GABA_COMP", b"OriginalFile", b"Purdue"):
        assert text not in raw, text


def test_cli_converts_a_folder_and_tells_series_apart(tmp_path, capsys):
    out = tmp_path / "met.nii.gz"
    ref = tmp_path / "ref.nii.gz"
    cfg = _config(tmp_path, "naa_check: false\n")
    assert main(["convert", str(MEGA), "--out", str(out), "--config", cfg]) == 0
    assert main(["convert", str(MEGA), "--reference", "--out", str(ref), "--config", cfg]) == 0
    capsys.readouterr()
    assert read_nifti_mrs(out).fids.shape == (2048, 2)  # the two metabolite transients
    assert _header(ref)["ProtocolName"].endswith("_ref")
    assert read_nifti_mrs(ref).fids.shape == (2048,)


def test_one_file_of_a_multi_file_series_is_not_silent(tmp_path, capsys):
    one = sorted(MEGA_MET.iterdir())[0]
    out = tmp_path / "out" / "x.nii.gz"
    code = main(["convert", str(one), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert one.name in err and "series 20" in err and "1 transient" in err, err
    assert "fmrstrial convert" in err and str(MEGA_MET) in err
    assert not out.parent.exists()


def _edited_copies(tmp_path, edit):
    """Copies of the two metabolite transients with their headers edited by `edit(ds)`."""
    import pydicom

    folder = tmp_path / "edited"
    folder.mkdir()
    for f in sorted(MEGA_MET.iterdir()):
        ds = pydicom.dcmread(f)
        edit(ds)
        ds.save_as(folder / f.name)
    return sorted(folder.iterdir())


def test_one_file_of_a_series_without_protocol_is_not_silent(tmp_path, capsys, monkeypatch):
    """As XA enhanced DICOM, whose header has no Siemens protocol announcing the averages."""
    from fmrstrial.convert import acquisition as session

    real = session.vendor_facts
    monkeypatch.setattr(
        session, "vendor_facts", lambda *a: replace(real(*a), protocol_averages=None)
    )
    one = sorted(MEGA_MET.iterdir())[0]
    code = main(["convert", str(one), "--out", str(tmp_path / "x.nii.gz")])
    err = capsys.readouterr().err
    assert code == 2 and "1 transient of series 20" in err and "2 files of it" in err, err
    assert "protocol" not in err


def test_multi_file_series_of_other_vendors_is_refused(tmp_path):
    files = _edited_copies(tmp_path, lambda ds: setattr(ds, "Manufacturer", "Philips"))
    with pytest.raises(InputError, match="Siemens exports only"):
        convert_acquisition(files[0].parent, tmp_path / "x.nii.gz")


def test_sourcedata_series_are_grouped(tmp_path):
    mrs = tmp_path / "sourcedata" / "sub-01" / "ses-1" / "mrs"
    mrs.mkdir(parents=True)
    for f in [*MEGA_MET.iterdir(), *MEGA_REF.iterdir()]:
        shutil.copy(f, mrs / f.name)
    found = session_sources(tmp_path, "sub-01", "ses-1", r"(?i)(ref|water)")
    assert found["svs"] == [mrs / f.name for f in sorted(MEGA_MET.iterdir())]
    assert found["mrsref"] == mrs / next(MEGA_REF.iterdir()).name


# --- 3. averaged files ---------------------------------------------------------------------

AVERAGED = [
    (VENDOR / "siemens_rda_press30/ACC_PRESS.rda", {}, 32),
    (VENDOR / "philips_sdat_press35/sub-01/sub-01_PRESS_35_act.sdat", {}, 64),
    (VENDOR / "siemens_dicom/SVS_30.IMA", {}, 64),
    (VENDOR / "siemens_xa60_dicom_averaged/31_svs_se", SEVEN_T, 64),
]


@pytest.mark.parametrize(("source", "settings", "n"), AVERAGED, ids=[a[0].name for a in AVERAGED])
def test_averaged_files_convert_standalone_and_are_marked(tmp_path, source, settings, n):
    out = tmp_path / "avg.nii.gz"
    summary = convert_acquisition(source, out, settings=settings)
    assert summary["averaged"] == "yes"
    assert _header(out)["Averaged"]["Value"] is True
    assert _header(out)["Averaged"]["NumberOfAverages"] == n


@pytest.mark.parametrize(("source", "settings", "n"), AVERAGED, ids=[a[0].name for a in AVERAGED])
def test_averaged_files_stop_the_session_conversion(tmp_path, source, settings, n):
    out = tmp_path / "out" / "x.nii.gz"
    with pytest.raises(InputError) as err:
        convert_acquisition(source, out, settings=settings, require_transients=True)
    message = str(err.value.format())
    assert source.name in message and "individual transients" in message
    assert f"averaged over {n} transients" in message
    assert not out.parent.exists()


def test_cli_require_transients_flag(tmp_path, capsys):
    rda = VENDOR / "siemens_rda_press30/ACC_PRESS.rda"
    out = tmp_path / "acc.nii.gz"
    assert main(["convert", str(rda), "--out", str(out)]) == 0
    assert "averaged data" in capsys.readouterr().err
    code = main(["convert", str(rda), "--out", str(tmp_path / "b.nii.gz"), "--require-transients"])
    assert code == 2 and "individual transients" in capsys.readouterr().err


# --- 4. implausible headers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "te"),
    [("spinal_cord_sLASER_shortTE_WS.dcm", 19.96), ("spinal_cord_sLASER_shortTE_noWS.dcm", 90.0)],
)
def test_vb17_echo_time_is_corrected_from_csa(tmp_path, name, te):
    out = tmp_path / "vb.nii.gz"
    role = "svs" if name.endswith("_WS.dcm") else "mrsref"
    summary = convert_acquisition(VB17 / name, out, role=role, settings=SEVEN_T)
    assert summary["te_ms"] == pytest.approx(te)
    assert _header(out)["EchoTime"] == pytest.approx(te / 1000)
    assert "replaced by" in summary["corrections"] and "CSA EchoTime" in summary["corrections"]
    assert "ConversionCorrections" in _header(out)


def test_implausible_echo_time_without_other_field_stops(tmp_path):
    data = read_nifti_mrs(DATA / "bad/convert/ppm_offset_0p169.nii.gz")
    bad = tmp_path / "te.nii.gz"
    write_nifti_mrs(bad, MRSData(**{**data.__dict__, "header": {**data.header, "EchoTime": 4.2}}))
    with pytest.raises(InputError, match=r"te.nii.gz: EchoTime 4200.00 ms is implausible"):
        convert_acquisition(bad, tmp_path / "o.nii.gz")
    bad_tr = tmp_path / "tr.nii.gz"
    write_nifti_mrs(
        bad_tr, MRSData(**{**data.__dict__, "header": {**data.header, "RepetitionTime": 0.0}})
    )
    with pytest.raises(InputError, match=r"tr.nii.gz: RepetitionTime 0.0 s: expected a positive"):
        convert_acquisition(bad_tr, tmp_path / "o.nii.gz")


# --- 5. TWIX water references --------------------------------------------------------------


def test_twix_slaser_reference_matches_its_metabolite_dicom(tmp_path):
    twix = _unxz(
        VENDOR / "siemens_twix_vb17_slaser_wref/spinal_cord_sLASER_longTE_noWS.dat.xz", tmp_path
    )
    met = convert_acquisition(
        VB17 / "spinal_cord_sLASER_shortTE_WS.dcm", tmp_path / "m.nii.gz", settings=SEVEN_T
    )
    ref = convert_acquisition(
        twix,
        tmp_path / "r.nii.gz",
        role="mrsref",
        settings=SEVEN_T,
        match=(met["dwell_s"], met["n_points"]),
    )
    data = read_nifti_mrs(tmp_path / "r.nii.gz")
    assert (met["n_points"], met["dwell_s"]) == (4096, pytest.approx(2e-4))
    assert data.fids.shape == (4096, 8, 2) and data.dwell_s == pytest.approx(met["dwell_s"])
    assert data.dim_tags == ("DIM_COIL", "DIM_DYN")
    assert "oversampling x2 removed" in ref["corrections"] and "4112 to 4096" in ref["corrections"]
    assert ref["averaged"] == "no" and ref["n_transients"] == 2
    assert _header(tmp_path / "r.nii.gz")["SpectralWidth"] == pytest.approx(5000.0)


def test_oversampled_reference_is_decimated_to_the_metabolite_readout(tmp_path):
    """The session step: a 10 kHz reference (spec2nii without oversampling removal) is
    brought to 4096 points at 5 kHz, agreeing with spec2nii's own removal."""
    twix = _unxz(
        VENDOR / "siemens_twix_vb17_slaser_wref/spinal_cord_sLASER_longTE_noWS.dat.xz", tmp_path
    )
    raw, _ = load_source(detect(twix), "mrsref", remove_os=False)
    removed, _ = load_source(detect(twix), "mrsref", remove_os=True)
    assert raw.fids.shape[0] == 8224 and raw.dwell_s == pytest.approx(1e-4)
    oversampled = tmp_path / "os.nii.gz"
    write_nifti_mrs(oversampled, raw)
    ref = convert_acquisition(
        oversampled, tmp_path / "r.nii.gz", role="mrsref", settings=SEVEN_T, match=(2e-4, 4096)
    )
    out = read_nifti_mrs(tmp_path / "r.nii.gz")
    assert out.fids.shape == (4096, 8, 2) and out.dwell_s == pytest.approx(2e-4)
    assert "4112 to 4096" in ref["corrections"]
    a, b = out.fids[:4000, 0, 0], removed.fids[:4000, 0, 0]
    assert abs(np.vdot(a, b)) / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.999


def test_twix_steam_reference(tmp_path):
    twix = _unxz(
        VENDOR / "siemens_twix_vb17_steam_wref/meas_MID311_STEAM_wref1_FID115674.dat.xz", tmp_path
    )
    ref = convert_acquisition(twix, tmp_path / "r.nii.gz", role="mrsref", settings=SEVEN_T)
    data = read_nifti_mrs(tmp_path / "r.nii.gz")
    assert data.fids.shape == (2048, 32, 2)  # sSpecPara.lVectorSize 2048, 32 coils, 2 averages
    assert 1 / data.dwell_s == pytest.approx(6002.4, abs=1)
    assert ref["te_ms"] == pytest.approx(11.0) and ref["averaged"] == "no"


# --- issue 14: drift-sized NAA offsets are reported, gross errors stop ---------------------


def _shifted(tmp_path, ppm):
    """The 0.169-ppm test spectrum moved so that NAA sits `ppm` from 2.01 ppm."""
    data = read_nifti_mrs(DATA / "bad/convert/ppm_offset_0p169.nii.gz")
    fids = shift_hz(data.fids, (ppm - 0.169) * data.cf_mhz, data.dwell_s)
    path = tmp_path / f"offset_{ppm:+.2f}.nii.gz"
    write_nifti_mrs(path, data.with_fids(fids))
    return path


@pytest.mark.parametrize("offset", [-0.3, 0.169, 0.3])
def test_drift_sized_naa_offsets_are_reported_not_fatal(tmp_path, offset):
    summary = convert_acquisition(
        _shifted(tmp_path, offset), tmp_path / "o.nii.gz", summary_path=tmp_path / "o.json"
    )
    assert summary["naa_offset_ppm"] == pytest.approx(offset, abs=0.01)
    assert json.loads((tmp_path / "o.json").read_text())["naa_offset_ppm"] == pytest.approx(
        offset, abs=0.01
    )
    assert any("offset" in n for n in summary["notes"])


@pytest.mark.parametrize("offset", [-0.3, 0.3])
def test_real_spectrum_with_drift_sized_offset_converts(tmp_path, offset):
    """A real in-vivo spectrum (Siemens RDA, NAA at 1.979 ppm) moved by +-0.3 ppm."""
    data, _ = load_source(detect(VENDOR / "siemens_rda_press30/ACC_PRESS.rda"))
    path = tmp_path / "moved.nii.gz"
    write_nifti_mrs(path, data.with_fids(shift_hz(data.fids, offset * data.cf_mhz, data.dwell_s)))
    summary = convert_acquisition(path, tmp_path / "o.nii.gz")
    assert summary["naa_offset_ppm"] == pytest.approx(-0.031 + offset, abs=0.005)


@pytest.mark.parametrize(
    ("offset", "message"),
    [(0.55, "NAA peak found at 2.56"), (0.65, "no NAA-like peak found between 1.5 and 2.6 ppm")],
)
def test_gross_naa_offset_stops(tmp_path, offset, message):
    path = _shifted(tmp_path, offset)
    with pytest.raises(InputError, match=re.escape(f"{path.name}: {message}")):
        convert_acquisition(path, tmp_path / "out" / "o.nii.gz")
    assert not (tmp_path / "out").exists()


# --- acquisition table ---------------------------------------------------------------------


def test_acquisition_table_has_averaged_files_and_corrections(tmp_path):
    summaries = []
    for i, (source, role, settings) in enumerate(
        [
            (VB17 / "spinal_cord_sLASER_shortTE_WS.dcm", "svs", SEVEN_T),
            (
                MEGA_MET,
                "svs",
                {"naa_check": False, "field_strength_t": 7.0, "field_tolerance": 0.7},
            ),
        ]
    ):
        path = tmp_path / f"s{i}.json"
        convert_acquisition(
            source,
            tmp_path / f"s{i}.nii.gz",
            role=role,
            settings=settings,
            labels={"participant_id": f"sub-0{i + 1}", "session_id": "ses-1"},
            summary_path=path,
        )
        summaries.append(path)
    table, diffs = tmp_path / "t.tsv", tmp_path / "d.tsv"
    with pytest.raises(InputError):  # 7 T vs 3 T: flagged, tables written before
        summarise_conversions(summaries, table, diffs)
    import pandas as pd

    t = pd.read_csv(table, sep="\t")
    assert list(t["averaged"]) == ["yes", "no"]
    assert list(t["n_files"]) == [1, 2]
    assert "CSA EchoTime" in t["corrections"][0] and t["corrections"][1] == "none"
