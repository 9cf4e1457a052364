"""Header sanity checks: field strength, basis compatibility, NAA position, consistency.

NAA position: all transients (and coils, phase-aligned on their first points) are averaged;
the NAA singlet is the largest local maximum of the magnitude spectrum (zero-filled 4x)
between 1.5 and 2.6 ppm (at least 0.02 ppm inside the window; a window holding only the
rising tail of another peak has none), refined by a parabola; its offset
from 2.01 ppm is reported per session. The wide window finds NAA under frequency offsets of
up to +-0.5 ppm; preprocessing corrects such offsets.

Timing: echo time within 5-500 ms and shorter than TR, TR positive; an implausible echo time
is replaced by a plausible one from another header field when the vendor header has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError, Problem
from ..io.basis import BasisInfo, basis_sets_in, read_basis_info
from ..io.nifti_mrs import MRSData
from ..paths import resources_dir
from ..spectra import PPM_CENTRE_1H, ppm_axis, to_spectrum

if TYPE_CHECKING:
    import pandas as pd

NAA_PPM = 2.01
#: window searched for the NAA singlet, ppm
NAA_WINDOW_PPM = (1.5, 2.6)
#: plausible echo times, ms
TE_RANGE_MS = (5.0, 500.0)


def average_spectrum_fid(data: MRSData) -> np.ndarray:
    """One FID, shape (n_points,): coils phase-aligned and summed, everything else averaged."""
    fids = data.fids
    coil = data.axis("DIM_COIL")
    if coil is not None:
        moved = np.moveaxis(fids, coil, -1)
        ref = moved[:4].mean(axis=tuple(range(moved.ndim - 1)))  # (n_coils,)
        weights = np.conj(ref) / (np.abs(ref).sum() or 1.0)
        fids = (moved * weights).sum(axis=-1)
    return fids.reshape(fids.shape[0], -1).mean(axis=1)


def naa_position(data: MRSData, zero_fill: int = 4) -> float | None:
    """Measured chemical shift of the NAA singlet, ppm, or None when the window holds no
    NAA-like peak (see module docstring)."""
    fid = average_spectrum_fid(data)
    n = fid.size * zero_fill
    spec = np.abs(to_spectrum(np.pad(fid, (0, n - fid.size))))
    ppm = ppm_axis(n, data.dwell_s, data.cf_mhz)
    lo, hi = NAA_WINDOW_PPM
    idx = np.flatnonzero((ppm > lo) & (ppm < hi))
    inner = idx[(ppm[idx] - lo >= 0.02) & (hi - ppm[idx] >= 0.02)]
    peaks = [i for i in inner if spec[i] > spec[i - 1] and spec[i] >= spec[i + 1]]
    if not peaks:
        return None
    i = max(peaks, key=lambda j: spec[j])
    y0, y1, y2 = spec[i - 1], spec[i], spec[i + 1]
    denom = y0 - 2 * y1 + y2
    frac = 0.5 * (y0 - y2) / denom if denom else 0.0
    return float(ppm[i] + frac * (ppm[1] - ppm[0]))


def check_timing(data: MRSData, alt_te_ms: float | None, alt_field: str | None, name: str):
    """Echo and repetition times plausible, spectral width consistent with the dwell time.

    Returns (header, corrections): a header copy whose implausible EchoTime is replaced by
    `alt_te_ms` (from the vendor header field `alt_field`) when that one is plausible, and
    the corrections made as text. InputError names the file and field otherwise.
    """
    header = dict(data.header)
    corrections: list[str] = []
    tr = header.get("RepetitionTime")
    if tr is not None and not float(tr) > 0:
        raise InputError(f"RepetitionTime {tr} s: expected a positive value", file=name)
    tr_ms = None if tr is None else 1000.0 * float(tr)

    def plausible(te_ms: float) -> bool:
        ok = TE_RANGE_MS[0] <= te_ms <= TE_RANGE_MS[1]
        return ok and (tr_ms is None or te_ms < tr_ms)

    te = header.get("EchoTime")
    if te is not None and not plausible(1000.0 * float(te)):
        te_ms = 1000.0 * float(te)
        if alt_te_ms is not None and plausible(alt_te_ms):
            header["EchoTime"] = alt_te_ms / 1000.0
            corrections.append(
                f"EchoTime {te_ms:.2f} ms (converter) replaced by {alt_te_ms:g} ms ({alt_field})"
            )
        else:
            raise InputError(
                f"EchoTime {te_ms:.2f} ms is implausible (expected {TE_RANGE_MS[0]:g}-"
                f"{TE_RANGE_MS[1]:g} ms and shorter than RepetitionTime "
                f"{'unknown' if tr_ms is None else f'{tr_ms:g} ms'}); no other header "
                "field gives a plausible echo time",
                file=name,
            )
    sw = header.get("SpectralWidth")
    if sw is not None and abs(float(sw) * data.dwell_s - 1.0) > 0.005:
        raise InputError(
            f"SpectralWidth {float(sw):g} Hz disagrees with the dwell time "
            f"{data.dwell_s * 1e6:.3f} us ({1.0 / data.dwell_s:.1f} Hz)",
            file=name,
        )
    return header, corrections


def check_field(data: MRSData, expected_t: float, tolerance: float, name: str) -> None:
    """Spectrometer frequency must match the configured field strength (relative tolerance)."""
    field = data.field_t
    if abs(field / expected_t - 1.0) > tolerance:
        raise InputError(
            f"SpectrometerFrequency {data.cf_mhz:.4f} MHz means {field:.2f} T, "
            f"expected {expected_t} T (± {100 * tolerance:.0f} %)",
            file=name,
        )


#: Chemical-shift range (ppm) a basis set must cover to be resampled to any data grid.
METABOLITE_RANGE_PPM = (0.0, 4.7)


def shipped_bases_for(cf_mhz: float) -> list[str]:
    """Basis sets shipped in workflow/resources/basis (paths relative to workflow/resources,
    as the config's `basis` takes them) simulated within 1 % of `cf_mhz` (MHz)."""
    root = resources_dir()
    return [
        path.relative_to(root).as_posix()
        for path in basis_sets_in(root / "basis")
        if abs(cf_mhz / read_basis_info(path).cf_mhz - 1.0) <= 0.01
    ]


def check_basis(data: MRSData, basis: BasisInfo, te_tolerance_ms: float, name: str) -> None:
    """Dwell time, points, field and TE must allow fitting with `basis`."""
    problems = []
    # A basis narrower than the data is resampled (band-limited): only the metabolite range
    # must lie inside the basis set's spectral window.
    half_ppm = 0.5 / basis.dwell_s / basis.cf_mhz
    lo, hi = PPM_CENTRE_1H - half_ppm, PPM_CENTRE_1H + half_ppm
    if lo > METABOLITE_RANGE_PPM[0] or hi < METABOLITE_RANGE_PPM[1]:
        problems.append(
            f"the basis set's spectral window ({lo:.2f} to {hi:.2f} ppm, "
            f"{1.0 / basis.dwell_s:.0f} Hz) does not cover {METABOLITE_RANGE_PPM[0]:g} to "
            f"{METABOLITE_RANGE_PPM[1]:g} ppm, the range fitted"
        )
    duration, basis_duration = data.n_points * data.dwell_s, basis.n_points * basis.dwell_s
    if duration > basis_duration * 1.005:
        problems.append(
            f"acquisition of {data.n_points} points lasts {duration:.3f} s, longer "
            f"than the basis set's {basis_duration:.3f} s"
        )
    if abs(data.cf_mhz / basis.cf_mhz - 1.0) > 0.01:
        shipped = shipped_bases_for(data.cf_mhz)
        problems.append(
            f"spectrometer frequency {data.cf_mhz:.3f} MHz differs from the basis "
            f"set's {basis.cf_mhz:.3f} MHz by more than 1 % (multiplets are field-specific): "
            "set `basis` in the config (or `--basis`) to a set simulated for this frequency; "
            + (
                f"shipped for this frequency: {', '.join(shipped)}"
                if shipped
                else "none is shipped for it (simulate one, e.g. with FSL-MRS or spant)"
            )
        )
    te = data.header.get("EchoTime")
    if te is not None and basis.echo_time_ms is not None:
        if abs(1000.0 * float(te) - basis.echo_time_ms) > te_tolerance_ms:
            problems.append(
                f"echo time {1000.0 * float(te):.1f} ms differs from the basis set's "
                f"{basis.echo_time_ms:.1f} ms by more than {te_tolerance_ms} ms"
            )
    if problems:
        where = f"{name} (basis {basis.source.rsplit('/', 1)[-1]})"
        raise InputError([Problem(where, p) for p in problems])


def acquisition_parameters(data: MRSData) -> dict:
    """Acquisition parameters that analysis and reporting need (no identifiers)."""
    h = data.header
    shape = dict(zip(data.dim_tags, data.fids.shape[1:], strict=True))
    return {
        "manufacturer": h.get("Manufacturer"),
        "model": h.get("ManufacturersModelName"),
        "software": h.get("SoftwareVersions"),
        "sequence": h.get("SequenceName"),
        "nucleus": data.nucleus,
        "cf_mhz": round(data.cf_mhz, 6),
        "field_t": round(data.field_t, 4),
        "dwell_s": data.dwell_s,
        "spectral_width_hz": round(1.0 / data.dwell_s, 3),
        "n_points": data.n_points,
        "te_ms": None if h.get("EchoTime") is None else round(1000.0 * float(h["EchoTime"]), 3),
        "tr_s": h.get("RepetitionTime"),
        "n_transients": shape.get("DIM_DYN", 1),
        "n_coils": shape.get("DIM_COIL", 1),
        "dim_tags": ",".join(data.dim_tags),
        "water_suppressed": h.get("WaterSuppressed"),
    }


def stored_transients(data: MRSData) -> int:
    """Number of FIDs stored per coil: product of every non-coil higher dimension."""
    sizes = zip(data.dim_tags, data.fids.shape[1:], strict=True)
    return int(np.prod([s for t, s in sizes if t != "DIM_COIL"]))


#: parameters compared across sessions, with the config key of their tolerance
COMPARED = {
    "cf_mhz": "cf_tolerance_mhz",
    "te_ms": "te_tolerance_ms",
    "tr_s": "tr_tolerance_s",
    "dwell_s": "dwell_tolerance_s",
    "n_points": "points_tolerance",
}


def compare_sessions(
    table: pd.DataFrame, limits: dict, source: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Differences of acquisition parameters within participants and across the trial.

    Returns one row per (scope, parameter) with the range found and the allowed tolerance,
    and a problem for each range beyond its tolerance.
    """
    import pandas as pd

    rows, problems = [], []
    scopes = []
    for role, by_role in table.groupby("role", sort=True):
        scopes.append(("trial", role, "all", by_role))
        scopes += [
            ("participant", role, pid, t) for pid, t in by_role.groupby("participant_id", sort=True)
        ]
    for scope, role, label, t in scopes:
        for param, key in COMPARED.items():
            values = pd.to_numeric(t[param], errors="coerce").dropna()
            if values.empty:
                continue
            spread = float(values.max() - values.min())
            tol = float(limits[key])
            ok = spread <= tol + 1e-12
            rows.append(
                {
                    "scope": scope,
                    "role": role,
                    "group": label,
                    "parameter": param,
                    "min": float(values.min()),
                    "max": float(values.max()),
                    "range": spread,
                    "tolerance": tol,
                    "within_tolerance": ok,
                }
            )
            if not ok:
                where = t.loc[values.index]
                lo = where.loc[values.idxmin()]
                hi = where.loc[values.idxmax()]
                problems.append(
                    Problem(
                        source,
                        (
                            f"{role} {param} differs across "
                            f"{'the trial' if scope == 'trial' else label}: "
                            f"{values.min():g} ({lo.participant_id} {lo.session_id} {lo.role}) vs "
                            f"{values.max():g} ({hi.participant_id} {hi.session_id} {hi.role}); "
                            f"allowed range {tol:g} (convert.consistency.{key})"
                        ),
                    )
                )
    return pd.DataFrame(rows), problems
