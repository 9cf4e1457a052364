"""Facts that vendor headers state and spec2nii's NIfTI-MRS output does not carry.

`vendor_facts` reads, for each format, what conversion needs to judge the data:

- `averages`: transients the scanner averaged into each stored FID (RDA NumberOfAverages,
  Siemens CSA NumberOfAverages, enhanced-DICOM MR Averages Sequence, Philips SPAR averages);
- `protocol_averages`: averages the protocol announces (Siemens `lAverages`);
- `water_suppressed`: False only where a header says so positively (Siemens protocol
  `sPrepPulses.ucWaterSat = 0x40`, "none"); other values are not trusted (CMRR sequences
  suppress water through their own WIP parameters and leave `ucWaterSat` unchanged), so None;
- `echo_time_ms` and `echo_time_field`: the echo time from a header field other than the one
  spec2nii used (CSA EchoTime, enhanced-DICOM EffectiveEchoTime, RDA TE, SPAR echo_time);
- `points`: points per FID the scanner reconstructs (after removing readout oversampling);
- `oversampling`: TWIX readout oversampling factor still present in the raw data;
- `series`: DICOM series number and description.
Missing fields are None. Nothing here modifies the source files.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

#: Siemens `sPrepPulses.ucWaterSat` value meaning "no water suppression"
SIEMENS_WATER_SAT_NONE = 0x40
#: SOP class of (enhanced) MR Spectroscopy Storage, as Siemens XA writes it
MR_SPECTROSCOPY_STORAGE = "1.2.840.10008.5.1.4.1.1.4.2"


@dataclass(frozen=True)
class VendorFacts:
    averages: int | None = None
    protocol_averages: int | None = None
    water_suppressed: bool | None = None
    echo_time_ms: float | None = None
    echo_time_field: str | None = None
    points: int | None = None
    oversampling: float | None = None
    series: str | None = None


def _int(value) -> int | None:
    try:
        return int(round(float(value)))
    except (TypeError, ValueError):
        return None


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text_fields(path: Path, sep: str, stop: bytes | None = None) -> dict[str, str]:
    """`key<sep>value` lines of a text header (RDA, SPAR); keys as written."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if stop is not None:
        head = head.split(stop)[0]
    fields = {}
    for line in head.decode("latin-1").splitlines():
        if line.lstrip().startswith("!") or sep not in line:
            continue
        key, value = line.split(sep, 1)
        fields.setdefault(key.strip(), value.strip())
    return fields


def _rda(path: Path) -> VendorFacts:
    f = _text_fields(path, ":", b">>> End of header <<<")
    return VendorFacts(
        averages=_int(f.get("NumberOfAverages")),
        echo_time_ms=_float(f.get("TE")),
        echo_time_field="RDA TE" if f.get("TE") else None,
        points=_int(f.get("VectorSize")),
    )


def _spar(path: Path) -> VendorFacts:
    f = _text_fields(path, ":")
    return VendorFacts(
        averages=_int(f.get("averages")),
        echo_time_ms=_float(f.get("echo_time")),
        echo_time_field="SPAR echo_time" if f.get("echo_time") else None,
        points=_int(f.get("samples")),
    )


def _protocol(ds) -> dict:
    """The Siemens MrPhoenixProtocol of a classic DICOM file as {(key, ...): value}."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import nibabel.nicom.csareader as csar
        from mapvbvd.read_twix_hdr import parse_buffer

    try:
        csa = csar.get_csa_header(ds, csa_type="series")
        return parse_buffer(csa["tags"]["MrPhoenixProtocol"]["items"][0])
    except Exception:  # no or unreadable series CSA header: no protocol facts
        return {}


def _water_sat(value) -> bool | None:
    """False for Siemens `ucWaterSat` 0x40 ("none"), else None (not trusted, see above)."""
    try:
        code = int(value, 0) if isinstance(value, str) else _int(value)
    except ValueError:
        code = _int(value)
    return False if code == SIEMENS_WATER_SAT_NONE else None


def _dicom(path: Path) -> VendorFacts:
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    series = f"{ds.get('SeriesNumber', '?')} '{ds.get('SeriesDescription', '')}'"
    if str(ds.get("SOPClassUID", "")) == MR_SPECTROSCOPY_STORAGE:  # enhanced (XA) DICOM
        averages = None
        for el in ds.iterall():
            if el.keyword == "NumberOfAverages":
                averages = _int(el.value)
        te = None
        for el in ds.iterall():
            if el.keyword == "EffectiveEchoTime":
                te = _float(el.value)
        return VendorFacts(
            averages=averages,
            echo_time_ms=te,
            echo_time_field="EffectiveEchoTime" if te is not None else None,
            points=_int(ds.get("DataPointColumns")),
            series=series,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import nibabel.nicom.csareader as csar
    try:
        tags = csar.get_csa_header(ds, csa_type="image")["tags"]
    except Exception:
        tags = {}

    def csa(key):
        items = tags.get(key, {}).get("items") or [None]
        return items[0]

    prot = _protocol(ds)
    te = _float(csa("EchoTime"))
    return VendorFacts(
        averages=_int(csa("NumberOfAverages")),
        protocol_averages=_int(prot.get(("lAverages",))),
        water_suppressed=_water_sat(prot.get(("sPrepPulses", "ucWaterSat"))),
        echo_time_ms=te,
        echo_time_field="CSA EchoTime" if te is not None else None,
        points=_int(csa("DataPointColumns")),
        series=series,
    )


def _twix(path: Path) -> VendorFacts:
    import contextlib
    import io

    import mapvbvd

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        twix = mapvbvd.mapVBVD(str(path), quiet=True)
    if isinstance(twix, list):  # VD/VE/XA multi-raid files: the last one is the measurement
        twix = twix[-1]
    yaps, meas = twix["hdr"]["MeasYaps"], twix["hdr"]["Meas"]
    te_us = yaps.get(("alTE", "0"))
    return VendorFacts(
        protocol_averages=_int(yaps.get(("lAverages",), 1)),
        water_suppressed=_water_sat(yaps.get(("sPrepPulses", "ucWaterSat"))),
        echo_time_ms=None if te_us is None else float(te_us) / 1000.0,
        echo_time_field="alTE[0]" if te_us is not None else None,
        points=_int(yaps.get(("sSpecPara", "lVectorSize"))),
        oversampling=_float(meas.get("flReadoutOSFactor") or meas.get("ReadoutOSFactor")),
    )


def vendor_facts(fmt: str, main: Path, companions: tuple[Path, ...] = ()) -> VendorFacts:
    """Header facts of one vendor file (empty facts for formats without any)."""
    try:
        if fmt == "rda":
            return _rda(main)
        if fmt == "philips":
            return _spar(companions[0])
        if fmt == "dicom":
            return _dicom(main)
        if fmt == "twix":
            return _twix(main)
    except (OSError, ValueError, KeyError, AttributeError):
        return VendorFacts()  # spec2nii reports unreadable files itself
    return VendorFacts()
