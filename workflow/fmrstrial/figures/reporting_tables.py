"""Reporting tables: Table 1 (demographics and baseline scores by sequence), the
participant flow (sessions and blocks kept or excluded, with reasons) and its summary, and
the MRSinMRS checklist table (acquisition, processing and quality of the spectra)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..dataset import SEQUENCES
from ..errors import InputError
from ..fit.settings import describe_model
from ..io.basis import read_basis_info
from ..paths import given_or_shipped
from ..timecourse import qc_limits

BASELINE_SCORES = (
    ("madrs", "total", "MADRS total"),
    ("qids_sr16", "total", "QIDS-SR16 total"),
    ("shaps", "total", "SHAPS (0-14)"),
    ("teps", "anticipatory", "TEPS anticipatory"),
    ("teps", "consummatory", "TEPS consummatory"),
    ("m3vas", "mood", "M3VAS mood"),
)

#: Table 1 cell of a scale whose phenotype table the dataset does not have.
NOT_IN_DATASET = "not available (no phenotype table)"


def _mean_sd(x: pd.Series, digits: int = 1) -> str:
    x = pd.to_numeric(x, errors="coerce").dropna()
    if x.empty:
        return "n/a"
    sd = x.std(ddof=1) if len(x) > 1 else np.nan
    return f"{x.mean():.{digits}f} ({sd:.{digits}f})"


def table1(participants: pd.DataFrame, clinical: pd.DataFrame) -> pd.DataFrame:
    """One row per characteristic, a column per sequence (PN, NP) and one for all.

    Baseline scores are the pre-infusion ratings of period 1 (before any pretreatment of
    the trial). Values: n, mean (SD), or n (%); NOT_IN_DATASET for a scale that was not
    scored (its phenotype table is not in the dataset).
    """
    pre = clinical[(clinical["timepoint"] == "pre") & (clinical["period"].astype(int) == 1)]
    groups = [
        ("PN", participants[participants["sequence"] == "PN"]),
        ("NP", participants[participants["sequence"] == "NP"]),
        ("all", participants),
    ]
    rows = []
    for label, fn in (
        ("participants, n", lambda p, _: str(len(p))),
        (
            "female, n (%)",
            lambda p, _: f"{(p['sex'] == 'F').sum()} ({100 * (p['sex'] == 'F').mean():.0f} %)",
        ),
        ("age, years, mean (SD)", lambda p, _: _mean_sd(p["age"])),
    ):
        rows.append({"characteristic": label, **{g: fn(p, None) for g, p in groups}})
    for scale, sub, label in BASELINE_SCORES:
        s = pre[(pre["scale"] == scale) & (pre["subscale"] == sub)]
        row = {"characteristic": f"{label}, pre-infusion period 1, mean (SD)"}
        for g, p in groups:
            if not (clinical["scale"] == scale).any():
                row[g] = NOT_IN_DATASET
            else:
                row[g] = _mean_sd(s[s["participant_id"].isin(p["participant_id"])]["score"])
        rows.append(row)
    return pd.DataFrame(rows, columns=["characteristic", "PN", "NP", "all"])


def participant_flow(
    participants: pd.DataFrame, sessions: pd.DataFrame, glx: pd.DataFrame, clinical: pd.DataFrame
) -> pd.DataFrame:
    """Per session: blocks acquired/included/excluded (with reasons), whether a baseline and
    an infusion block remain (the session's Glx change needs both) and MADRS available.

    One row per session in the dataset, then one per period a participant has no session for
    (session_id n/a, the condition its sequence implies, the reason).
    """
    rows = []
    madrs = clinical[(clinical["scale"] == "madrs") & (clinical["subscale"] == "total")]
    for p in participants.sort_values("participant_id").itertuples():
        ses = sessions[sessions["participant_id"] == p.participant_id]
        for s in ses.sort_values("session_id").itertuples():
            g = glx[
                (glx["participant_id"] == s.participant_id) & (glx["session_id"] == s.session_id)
            ]
            m = madrs[
                (madrs["participant_id"] == s.participant_id)
                & (madrs["session_id"] == s.session_id)
            ]
            rows.append(_session_row(s, g.sort_values("block"), m))
        for period in sorted({1, 2} - set(ses["period"].astype(int))):
            conditions = SEQUENCES.get(p.sequence)
            rows.append(
                {
                    "participant_id": p.participant_id,
                    "session_id": "n/a",
                    "condition": conditions[period - 1] if conditions else "n/a",
                    "blocks": 0,
                    "blocks_included": 0,
                    "blocks_excluded": 0,
                    "baseline_and_infusion_kept": False,
                    "exclusion_reasons": f"no period-{period} session in the dataset",
                    "madrs_pre": False,
                    "madrs_day1": False,
                }
            )
    return pd.DataFrame(rows)


def _session_row(session, glx: pd.DataFrame, madrs: pd.DataFrame) -> dict:
    """The flow row of one session from its time-course rows and MADRS totals."""
    passed = glx["qc_pass"].astype(str).str.lower().isin(["true", "1"])
    failed = glx.loc[~passed].dropna(subset=["qc_reasons"])
    reasons = _reason_summary(failed["block"], failed["qc_reasons"])
    rated = {
        tp: bool(madrs[madrs["timepoint"] == tp]["score"].notna().any()) for tp in ("pre", "day1")
    }
    return {
        "participant_id": session.participant_id,
        "session_id": session.session_id,
        "condition": session.condition,
        "blocks": len(glx),
        "blocks_included": int(passed.sum()),
        "blocks_excluded": int((~passed).sum()),
        "baseline_and_infusion_kept": {"baseline", "infusion"} <= set(glx.loc[passed, "phase"]),
        "exclusion_reasons": "; ".join(reasons) or ("no spectra" if glx.empty else ""),
        "madrs_pre": rated["pre"],
        "madrs_day1": rated["day1"],
    }


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _reason_summary(blocks: pd.Series, reasons: pd.Series) -> list[str]:
    """The exclusion reasons of a session's blocks, one entry per kind of reason in order of
    first appearance, with the blocks it concerns and its measured values as a range.

    blocks: block numbers; reasons: their `qc_reasons` ('; '-joined, with measured values,
    e.g. 'FWHM 16.1 Hz > 12.8 Hz'). Reasons of one kind differ only in their numbers; a
    number that differs between the blocks is given as 'min to max' (e.g. 'FWHM 16.1 to 16.5
    Hz > 12.8 Hz (blocks 2-6)').
    """
    kinds: dict[str, list[tuple[object, str]]] = {}
    for block, text in zip(blocks, reasons, strict=True):
        for part in dict.fromkeys(p.strip() for p in str(text).split(";") if p.strip()):
            kinds.setdefault(_NUMBER.sub("#", part), []).append((block, part))
    out = []
    for skeleton, found in kinds.items():
        parts = [part for _, part in found]
        values = [_range(list(c)) for c in zip(*map(_NUMBER.findall, parts), strict=True)]
        pieces = skeleton.split("#")
        text = pieces[0] + "".join(v + rest for v, rest in zip(values, pieces[1:], strict=True))
        out.append(f"{text} ({_block_list([b for b, _ in found])})")
    return out


def _block_list(labels: list) -> str:
    """'block 3', 'blocks 2-6' or 'blocks 1, 3, 5-6' (runs of consecutive numbers joined;
    labels that are not numbers are listed as they are)."""
    try:
        numbers = sorted({int(b) for b in labels})
    except (TypeError, ValueError):
        return f"block{'s' * (len(labels) > 1)} {', '.join(map(str, dict.fromkeys(labels)))}"
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    words = [str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs]
    return f"block{'s' * (len(numbers) > 1)} {', '.join(words)}"


def _range(numbers: list[str]) -> str:
    """'a' when every block has the same value, else 'min to max' (as written)."""
    if len(set(numbers)) == 1:
        return numbers[0]
    ordered = sorted(numbers, key=float)
    return f"{ordered[0]} to {ordered[-1]}"


def _counts(values: pd.Series) -> str:
    """One value, or each distinct value with its number of sessions ('1 (10 sessions), ...')."""
    v = pd.to_numeric(values, errors="coerce").dropna().astype(int)
    if v.empty:
        return "n/a"
    counts = v.value_counts().sort_index()
    if len(counts) == 1:
        return str(counts.index[0])
    return ", ".join(f"{k} ({n} session{'s' * (n > 1)})" for k, n in counts.items())


def _coil_words(n_coils: pd.Series) -> str:
    """The coil-combination step as run: only sessions stored with several coils have one."""
    n = pd.to_numeric(n_coils, errors="coerce")
    multi, total = int((n > 1).sum()), len(n)
    if multi == 0:
        return ""
    return (
        "SNR-optimal coil combination (whitened SVD; sensitivities from the water reference "
        "where it has the same coils)" + _in_sessions(multi, total, "stored uncombined")
    )


def _basis_te_words(config: dict, svs: pd.DataFrame) -> str:
    """' (TE x ms; data TE y ms)' when the basis was simulated for another echo time than
    the data's (within the fit's tolerance), else ''."""
    try:
        basis_te = read_basis_info(given_or_shipped(config["basis"])).echo_time_ms
    except (InputError, OSError):
        return ""
    data_te = sorted(set(pd.to_numeric(svs["te_ms"], errors="coerce").dropna().round(2)))
    if basis_te is None or not data_te or data_te == [round(basis_te, 2)]:
        return ""
    return f" (simulated for TE {basis_te:g} ms; data TE {', '.join(f'{t:g}' for t in data_te)} ms)"


def _ecc_words(n_ref: int, n_sessions: int) -> str:
    """The eddy-current step as run: only sessions with a water reference are corrected."""
    if n_ref == 0:
        return "no eddy-current correction (no session has a water reference)"
    return "eddy-current correction with the water reference (Klose)" + _in_sessions(
        n_ref, n_sessions, "that have one"
    )


def _in_sessions(k: int, n: int, which: str) -> str:
    """' in the k of n sessions <which>' for a step some sessions went without, else ''."""
    return "" if k >= n else f" in the {k} of {n} sessions {which}"


def flow_summary(flow: pd.DataFrame) -> pd.DataFrame:
    """Trial-level counts of the participant flow."""
    items = [
        ("participants", flow["participant_id"].nunique()),
        ("sessions", int((flow["session_id"] != "n/a").sum())),
        ("blocks acquired", int(flow["blocks"].sum())),
        ("blocks included", int(flow["blocks_included"].sum())),
        ("blocks excluded", int(flow["blocks_excluded"].sum())),
        (
            "sessions with MADRS before and on day 1",
            int((flow["madrs_pre"] & flow["madrs_day1"]).sum()),
        ),
    ]
    return pd.DataFrame(items, columns=["item", "n"])


def _fmt(values, digits: int = 1) -> str:
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    if v.empty:
        return "n/a"
    if v.nunique() == 1:
        return f"{v.iloc[0]:g}"
    return (
        f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f} "
        f"(range {v.min():.{digits}f} to {v.max():.{digits}f})"
    )


def mrsinmrs(
    acquisition: pd.DataFrame, glx: pd.DataFrame, config: dict, versions: dict
) -> pd.DataFrame:
    """Minimum reporting table (Lin et al. 2021, MRSinMRS) filled from the run.

    acquisition: results/converted/acquisition_parameters.tsv; glx: the time course;
    config: the resolved workflow config; versions: software versions (provenance).
    """
    svs = acquisition[acquisition["role"] == "svs"]
    ref = acquisition[acquisition["role"] == "mrsref"]
    pre, fit = config["preprocess"], config["fit"]
    qc = qc_limits(config["qc"], pre)
    passed = glx[glx["qc_pass"].astype(str).str.lower().isin(["true", "1"])]
    steps = [
        _coil_words(svs["n_coils"]) if pre["coil_combination"] else "",
        _ecc_words(len(ref), len(svs)) if pre["eddy_current_correction"] else "",
        f"spectral registration {pre['align_ppm'][0]}-{pre['align_ppm'][1]} ppm"
        if pre["align"]
        else "",
        f"rejection of corrupt transients (robust z > {pre['reject_z']})" if pre["reject"] else "",
        f"HLSVD water removal {pre['hlsvd_ppm'][0]}-{pre['hlsvd_ppm'][1]} ppm"
        if pre["hlsvd"]
        else "",
        f"block averaging ({pre['baseline_blocks']} baseline, "
        f"{pre['infusion_block_min']:g}-min infusion blocks)",
        "linewidth matching to the broadest block" if pre["linewidth_matching"] else "",
    ]
    rows = [
        ("Hardware", "field strength (T)", _fmt(svs["field_t"], 2)),
        ("Hardware", "manufacturer", ", ".join(sorted(set(svs["manufacturer"].dropna())))),
        ("Hardware", "model", ", ".join(sorted(set(svs["model"].dropna().astype(str)))) or "n/a"),
        ("Hardware", "receive coils (channels stored)", _counts(svs["n_coils"])),
        ("Acquisition", "pulse sequence", ", ".join(sorted(set(svs["sequence"].dropna())))),
        ("Acquisition", "volume of interest", "anterior cingulate cortex (single voxel)"),
        ("Acquisition", "TE / TR (ms / s)", f"{_fmt(svs['te_ms'])} / {_fmt(svs['tr_s'])}"),
        ("Acquisition", "transients per session", _fmt(svs["n_transients"], 0)),
        (
            "Acquisition",
            "spectral width (Hz) / points",
            f"{_fmt(svs['spectral_width_hz'])} / {_fmt(svs['n_points'], 0)}",
        ),
        (
            "Acquisition",
            "water suppression",
            "yes"
            if svs["water_suppressed"].astype(str).str.lower().eq("true").all()
            else "as recorded",
        ),
        (
            "Acquisition",
            "water reference",
            f"{len(ref)} of {len(svs)} sessions, {_fmt(ref['n_transients'], 0)} transients",
        ),
        (
            "Data analysis",
            "software",
            f"fmrstrial {versions.get('fmrstrial', '?')} (Python "
            f"{versions.get('python', '?')}, spec2nii "
            f"{versions.get('spec2nii', '?')})",
        ),
        ("Data analysis", "processing steps", "; ".join(s for s in steps if s)),
        (
            "Data analysis",
            "fitting",
            f"basis {str(config['basis']).rsplit('/', 1)[-1]}{_basis_te_words(config, svs)}; "
            + describe_model(fit.get("settings")),
        ),
        (
            "Data analysis",
            "quantification",
            "ratios to tNAA (NAA+NAAG); Glx = Glu+Gln; CRLBs by propagation",
        ),
        ("Data quality", "NAA SNR (block; max real NAA peak / SD of real noise)", _fmt(glx["snr"])),
        ("Data quality", "NAA FWHM (Hz; block, before linewidth matching)", _fmt(glx["fwhm_hz"])),
        ("Data quality", "Glx CRLB (%)", _fmt(glx["glx_crlb_pct"])),
        (
            "Data quality",
            "exclusion criteria",
            f"Glx CRLB > {qc['max_glx_crlb_pct']:g} %, SNR < "
            f"{qc['min_snr']:g}, FWHM > "
            f"{qc['max_fwhm_hz']:g} Hz, fit residual > "
            f"{qc['max_residual_ratio']:g} x noise and > {qc['max_residual_over_median']:g} x "
            "the session's median block, lipid index (Lip09+Lip13/tNAA) > "
            f"{qc['max_lipid_rise']:g} above the session's median, more than "
            f"{100 * pre['qc_max_excluded_fraction']:g} % of the block's transients excluded, "
            "fit not converged",
        ),
        ("Data quality", "blocks included", f"{len(passed)} of {len(glx)}"),
        (
            "Data quality",
            "NAA offset from 2.01 ppm at conversion (ppm)",
            _fmt(svs["naa_offset_ppm"], 3),
        ),
    ]
    return pd.DataFrame(rows, columns=["section", "item", "value"])
