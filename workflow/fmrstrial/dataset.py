"""Dataset layout: discovery of participants/sessions and validation of a trial dataset.

`validate_dataset` checks everything the workflow relies on before any work starts and
reports one message per problem, naming the file (and row/column where there is one).
Rows are 1-based data rows (the header is not counted); messages also give the file line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from .clinical.scales import load_scales
from .errors import InputError, Problem, row_problem
from .io.tsv import read_tsv

CONDITIONS = ("placebo", "naltrexone")
SEQUENCES = {"PN": ("placebo", "naltrexone"), "NP": ("naltrexone", "placebo")}
SEXES = ("F", "M")
TIMEPOINTS = ("pre", "post", "day1")
PARTICIPANT_RE = re.compile(r"^sub-[A-Za-z0-9]+$")
SESSION_RE = re.compile(r"^ses-[A-Za-z0-9]+$")
PHENOTYPE_KEYS = ("participant_id", "session_id", "timepoint")
SVS_GLOB = "*_svs.nii*"
REF_GLOB = "*_mrsref.nii*"


@dataclass(frozen=True)
class SessionInfo:
    participant_id: str
    session_id: str
    condition: str
    period: int
    infusion_start_s: float
    sex: str
    sequence: str


@dataclass
class Validation:
    """Outcome of a dataset check: problems (fatal) and notes (documented partial cases)."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sessions: list[SessionInfo] = field(default_factory=list)

    def add(self, file, message, row=None, column=None):
        if row is not None:
            self.problems.append(row_problem(str(file), row, message, column))
        else:
            self.problems.append(Problem(str(file), message, None, column))


def _one_file(root: Path, pid: str, sid: str, pattern: str, what: str) -> Path | None:
    """The session's one file matching `pattern` in its mrs/ folder (None if there is none);
    InputError naming the files when there are several (e.g. two runs of a restarted scan),
    rather than analysing one of them silently."""
    folder = Path(root) / pid / sid / "mrs"
    hits = sorted(folder.glob(pattern))
    if len(hits) > 1:
        raise InputError(
            f"expected at most one {what} for {pid} {sid}, found {len(hits)}: "
            f"{', '.join(h.name for h in hits)}. Keep one file per session: merge the runs "
            "along DIM_DYN (e.g. FSL-MRS 'mrs_tools merge --dim DIM_DYN --files ...'; transients "
            "are timed one TR apart from the first, so only runs without a gap can be merged), "
            "or move the file that is not to be analysed out of the dataset",
            file=str(folder),
        )
    return hits[0] if hits else None


def svs_path(root: Path, pid: str, sid: str) -> Path | None:
    """The session's metabolite NIfTI-MRS (None if there is none; InputError if several)."""
    return _one_file(root, pid, sid, SVS_GLOB, "metabolite NIfTI-MRS (*_svs.nii.gz)")


def ref_path(root: Path, pid: str, sid: str) -> Path | None:
    """The session's water-reference NIfTI-MRS (None if there is none; InputError if several)."""
    return _one_file(root, pid, sid, REF_GLOB, "water-reference NIfTI-MRS (*_mrsref.nii.gz)")


def _read_table(v: Validation, path: Path, required: tuple[str, ...]) -> pd.DataFrame | None:
    if not path.is_file():
        v.add(path, "required file is missing")
        return None
    try:
        df = read_tsv(path, dtype=str)
    except Exception as exc:  # pandas raises several parser errors
        v.add(path, f"not a readable tab-separated table ({exc})")
        return None
    missing = [c for c in required if c not in df.columns]
    for c in missing:
        v.add(
            path, f"required column is missing (expected columns: {', '.join(required)})", column=c
        )
    return None if missing else df


def _check_values(v, path, df, column, allowed=None, pattern=None, numeric=None):
    for i, value in enumerate(df[column].tolist()):
        row = i + 1
        if pd.isna(value) or value == "":
            v.add(path, "value is missing", row, column)
        elif allowed is not None and value not in allowed:
            v.add(
                path,
                f"'{value}' is not allowed (expected one of: {', '.join(allowed)})",
                row,
                column,
            )
        elif pattern is not None and not pattern.match(value):
            v.add(path, f"'{value}' does not match {pattern.pattern}", row, column)
        elif numeric is not None:
            try:
                x = float(value)
            except ValueError:
                v.add(path, f"'{value}' is not a number", row, column)
                continue
            lo, hi = numeric
            if not (lo <= x <= hi) or not np.isfinite(x):
                v.add(path, f"{value} is outside [{lo}, {hi}]", row, column)


def _check_duplicates(v, path, df, keys):
    dup = df.duplicated(subset=list(keys), keep="first")
    for i in np.flatnonzero(dup.to_numpy()):
        v.add(
            path,
            f"duplicate row for {'/'.join(df.iloc[i][list(keys)].astype(str))}",
            i + 1,
            keys[0],
        )


def _check_mrs(v: Validation, path: Path, metabolite: bool) -> None:
    """Readable NIfTI-MRS with the header extension; metabolite data keep every transient."""
    name = str(path)
    try:
        img = nib.load(path)
        codes = [e.get_code() for e in img.header.extensions]
    except Exception as exc:
        v.add(name, f"not a readable NIfTI file ({exc})")
        return
    if 44 not in codes:
        v.add(name, "no NIfTI-MRS header extension (code 44): not NIfTI-MRS")
        return
    try:
        ext = json.loads(img.header.extensions[codes.index(44)].get_content())
    except (ValueError, UnicodeDecodeError) as exc:
        v.add(name, f"NIfTI-MRS header extension is not valid JSON ({exc})")
        return
    for key in ("SpectrometerFrequency", "ResonantNucleus"):
        if key not in ext:
            v.add(name, f"header extension lacks required key {key}")
    shape = img.shape
    if len(shape) < 4 or shape[:3] != (1, 1, 1):
        v.add(name, f"shape {shape} is not single-voxel NIfTI-MRS (1, 1, 1, points, ...)")
        return
    if metabolite:
        tags = [ext.get(f"dim_{d}") for d in range(5, 5 + len(shape) - 4)]
        if "DIM_DYN" not in tags or shape[4 + tags.index("DIM_DYN")] < 2:
            v.add(
                name,
                "metabolite data must keep every transient along DIM_DYN "
                f"(dimension tags found: {tags or 'none'})",
            )
    try:
        data = np.asanyarray(img.dataobj)
    except Exception as exc:
        v.add(name, f"data cannot be read, file truncated? ({exc})")
        return
    if not np.iscomplexobj(data):
        v.add(name, f"data are {data.dtype}, NIfTI-MRS requires complex samples")
    elif not np.all(np.isfinite(data)):
        v.add(name, "data contain NaN or infinite samples")


def validate_dataset(
    root: str | Path, required_scales: tuple[str, ...] = ("madrs",), check_spectra: bool = True
) -> Validation:
    """Check a trial dataset; returns problems and the session list (see module docstring)."""
    root = Path(root)
    v = Validation()
    if not root.is_dir():
        v.add(root, "dataset directory does not exist")
        return v
    desc = root / "dataset_description.json"
    if not desc.is_file():
        v.add(desc, "required file is missing (BIDS dataset_description.json)")
    else:
        try:
            d = json.loads(desc.read_text(encoding="utf-8"))
            for key in ("Name", "BIDSVersion"):
                if key not in d:
                    v.add(desc, f"required key '{key}' is missing")
        except ValueError as exc:
            v.add(desc, f"not valid JSON ({exc})")
    ppath = root / "participants.tsv"
    parts = _read_table(v, ppath, ("participant_id", "sex", "age", "sequence"))
    if parts is None:
        return v
    _check_values(v, ppath, parts, "participant_id", pattern=PARTICIPANT_RE)
    _check_values(v, ppath, parts, "sex", allowed=SEXES)
    _check_values(v, ppath, parts, "age", numeric=(0, 120))
    _check_values(v, ppath, parts, "sequence", allowed=tuple(SEQUENCES))
    _check_duplicates(v, ppath, parts, ("participant_id",))
    known: dict[str, set[str]] = {}
    for _, prow in parts.iterrows():
        pid = prow["participant_id"]
        if not isinstance(pid, str) or not PARTICIPANT_RE.match(pid) or pid in known:
            continue
        known[pid] = set()
        _check_participant(v, root, pid, prow, known, check_spectra)
    for sub in sorted(p.name for p in root.glob("sub-*") if p.is_dir()):
        if sub not in known:
            v.add(root / sub, f"folder {sub} has no row in participants.tsv")
    _check_phenotype(v, root, known, required_scales)
    return v


def _check_participant(v, root, pid, prow, known, check_spectra):
    spath = root / pid / f"{pid}_sessions.tsv"
    ses = _read_table(v, spath, ("session_id", "condition", "period", "infusion_start_s"))
    if ses is None:
        return
    # sessions named in the table are known even if another of their fields is wrong, so
    # that a single mistake does not cascade into "unknown session" messages elsewhere
    known[pid].update(x for x in ses["session_id"] if isinstance(x, str) and SESSION_RE.match(x))
    n_before = len(v.problems)
    _check_values(v, spath, ses, "session_id", pattern=SESSION_RE)
    _check_values(v, spath, ses, "condition", allowed=CONDITIONS)
    _check_values(v, spath, ses, "period", allowed=("1", "2"))
    _check_values(v, spath, ses, "infusion_start_s", numeric=(0, 86400))
    _check_duplicates(v, spath, ses, ("session_id",))
    if len(v.problems) > n_before:
        return
    if len(ses) == 0 or len(ses) > 2:
        v.add(spath, f"expected two sessions (or one, a partial case), found {len(ses)}")
        return
    if len(ses) == 1:
        v.notes.append(
            f"{pid}: one session only ({ses.iloc[0]['session_id']}); kept as a partial case"
        )
    if ses["condition"].nunique() != len(ses):
        v.add(spath, "both sessions have the same condition", column="condition")
    if ses["period"].nunique() != len(ses):
        v.add(spath, "both sessions have the same period", column="period")
    seq = prow["sequence"]
    for j, srow in ses.iterrows():
        sid = srow["session_id"]
        period = int(srow["period"])
        if seq in SEQUENCES and SEQUENCES[seq][period - 1] != srow["condition"]:
            v.add(
                spath,
                f"condition '{srow['condition']}' in period {period} contradicts "
                f"sequence {seq} of {pid} in participants.tsv",
                j + 1,
                "condition",
            )
            continue
        try:
            svs = svs_path(root, pid, sid)
            ref = ref_path(root, pid, sid)
        except InputError as exc:
            v.problems.extend(exc.problems)
            continue
        vendor = root / "sourcedata" / pid / sid / "mrs"
        if svs is None and not (vendor.is_dir() and any(vendor.iterdir())):
            v.add(
                root / pid / sid / "mrs",
                f"no metabolite spectra for {pid} {sid} "
                f"(expected {pid}_{sid}_*_svs.nii.gz or vendor files in sourcedata/)",
            )
        elif svs is not None and check_spectra:
            _check_mrs(v, svs, metabolite=True)
            if ref is not None:
                _check_mrs(v, ref, metabolite=False)
        if svs is not None and ref is None:
            v.notes.append(
                f"{pid} {sid}: no water reference (*_mrsref.nii.gz): eddy-current correction "
                "and reference-based coil weights are skipped; phasing and referencing use the "
                "metabolite signal"
            )
        v.sessions.append(
            SessionInfo(
                pid,
                sid,
                srow["condition"],
                period,
                float(srow["infusion_start_s"]),
                prow["sex"],
                seq,
            )
        )


def _check_phenotype(v, root, known, required_scales):
    """Required tables exist; tables of defined scales are well formed; others are noted.

    A table without a scale definition (workflow/resources/scales/) is not analysed and
    not checked: datasets may hold other phenotype tables.
    """
    pheno = root / "phenotype"
    present = {p.stem for p in pheno.glob("*.tsv")} if pheno.is_dir() else set()
    defined = load_scales()
    for scale in required_scales:
        if scale not in present:
            v.add(pheno / f"{scale}.tsv", "required phenotype table is missing")
    for scale in sorted(present):
        path = pheno / f"{scale}.tsv"
        if scale not in defined:
            v.notes.append(
                f"phenotype/{scale}.tsv: no scale definition in workflow/resources/scales/, "
                "not analysed"
            )
            continue
        df = _read_table(v, path, PHENOTYPE_KEYS)
        if df is None:
            continue
        items = [c for c in df.columns if c not in PHENOTYPE_KEYS]
        if not items or not all(re.fullmatch(rf"{re.escape(scale)}_\d\d", c) for c in items):
            bad = [c for c in items if not re.fullmatch(rf"{re.escape(scale)}_\d\d", c)]
            v.add(
                path,
                f"item columns must be named {scale}_01 .. {scale}_NN "
                f"(unexpected: {', '.join(bad) or 'no item columns'})",
            )
        _check_values(v, path, df, "timepoint", allowed=TIMEPOINTS)
        _check_duplicates(v, path, df, PHENOTYPE_KEYS)
        for i, row in df.iterrows():
            pid, sid = row["participant_id"], row["session_id"]
            if pid not in known:
                v.add(
                    path,
                    f"unknown participant '{pid}' (not in participants.tsv)",
                    i + 1,
                    "participant_id",
                )
            elif sid not in known[pid]:
                v.add(path, f"unknown session '{sid}' for {pid}", i + 1, "session_id")


def sessions_table(root: str | Path) -> pd.DataFrame:
    """All sessions (participant_id, session_id, condition, period, sex, sequence, ...).

    Reads only the TSVs (no spectra); raises InputError listing every problem.
    """
    v = validate_dataset(root, required_scales=(), check_spectra=False)
    if v.problems:
        raise InputError(v.problems)
    return pd.DataFrame([s.__dict__ for s in v.sessions])


def infusion_start_s(sessions_tsv: str | Path, session_id: str) -> float:
    """Infusion start (s after the first transient) of one session, from the participant's
    <pid>_sessions.tsv; InputError naming the file when the session or value is missing."""
    v = Validation()
    table = _read_table(v, Path(sessions_tsv), ("session_id", "infusion_start_s"))
    if table is None:
        raise InputError(v.problems)
    rows = table[table["session_id"] == session_id]
    if len(rows) != 1:
        raise InputError(
            f"{sessions_tsv}: expected one row for session_id {session_id}, found {len(rows)}"
        )
    try:
        return float(rows["infusion_start_s"].iloc[0])
    except ValueError:
        raise InputError(
            f"{sessions_tsv}: infusion_start_s of {session_id} must be a number of seconds"
        ) from None
