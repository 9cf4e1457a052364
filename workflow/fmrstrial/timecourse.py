"""The Glx/tNAA block time course (results/tables/glx_timecourse.tsv).

One row per session and block: design (participant, session, condition, period, sex),
timing (block, t_mid_min, phase), the fitted ratios with CRLBs, QC (SNR and FWHM of the
block before linewidth matching, from preprocessing; fit convergence and residual) and the
QC decision with its reasons. On simulated data, the true and expected (population) ratios
of each block are added from the simulator's per-transient truth; truth is read only from a
dataset whose dataset_description.json names our simulator (other datasets may have a
derivatives/truth folder of their own, which is never read).

Blocks are given by their start and end relative to infusion start (minutes, block table of
preprocessing); a transient at time t (s, relative to infusion start) belongs to the block
with t_start_min*60 <= t < t_end_min*60.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import settings_schema
from .io.tsv import read_tsv
from .preprocess.settings import resolve_settings
from .workflow_plan import check_simulator_truth

TRUTH_COLUMNS = {
    "glx_tnaa": "true_glx_tnaa",
    "glu_tnaa": "true_glu_tnaa",
    "expected_glx_tnaa": "expected_glx_tnaa",
    "expected_glu_tnaa": "expected_glu_tnaa",
}


#: Blocks with a known fit residual a session needs before a block's residual is also
#: compared with the session's median (qc.max_residual_over_median).
MIN_BLOCKS_FOR_MEDIAN = 3


def qc_limits(
    qc: Mapping[str, Any] | None = None,
    preprocess: Mapping[str, Any] | None = None,
    source: str = "config",
) -> dict[str, float]:
    """The block exclusion limits of the time course, each from its one config key.

    `qc`: the config's ``qc`` section (max_glx_crlb_pct, %; max_residual_ratio, x noise SD,
    and max_residual_over_median, x the session's median block; max_lipid_rise, lipid index
    above the session median);
    `preprocess`: the ``preprocess`` section, whose NAA limits (qc_min_snr; qc_max_fwhm_hz,
    Hz) preprocessing QC applies to the same blocks. Returns max_glx_crlb_pct, min_snr,
    max_fwhm_hz, max_residual_ratio, max_residual_over_median, max_lipid_rise; InputError
    naming `source` for a bad value.
    """
    limits = settings_schema.resolve("qc", qc, source)
    pre = resolve_settings(preprocess, source)
    return {
        "max_glx_crlb_pct": limits["max_glx_crlb_pct"],
        "min_snr": pre["qc_min_snr"],
        "max_fwhm_hz": pre["qc_max_fwhm_hz"],
        "max_residual_ratio": limits["max_residual_ratio"],
        "max_residual_over_median": limits["max_residual_over_median"],
        "max_lipid_rise": limits["max_lipid_rise"],
    }


COLUMNS = [
    "participant_id",
    "session_id",
    "condition",
    "period",
    "sex",
    "block",
    "t_mid_min",
    "phase",
    "glx_tnaa",
    "glu_tnaa",
    "glx_crlb_pct",
    "snr",
    "fwhm_hz",
    "qc_pass",
    "glu_crlb_pct",
    "gln_tnaa",
    "glx_tcr",
    "t_start_min",
    "t_end_min",
    "n_kept",
    "n_excluded",
    "broadening_hz",
    "residual_noise_ratio",
    "lipid_tnaa",
    "fit_converged",
    "qc_reasons",
]


def block_truth(transients: pd.DataFrame, blocks: pd.DataFrame) -> pd.DataFrame:
    """Mean true and expected ratios of the transients in each block.

    transients: simulator truth (t_rel_infusion_s, glx_tnaa, glu_tnaa, expected_*);
    blocks: block, t_start_min, t_end_min. Returns block + TRUTH_COLUMNS values.
    """
    t = transients["t_rel_infusion_s"].to_numpy(dtype=float)
    rows = []
    for block in blocks.itertuples(index=False):
        inside = (t >= 60.0 * block.t_start_min) & (t < 60.0 * block.t_end_min)
        row = {"block": block.block}
        for src, dst in TRUTH_COLUMNS.items():
            row[dst] = float(transients.loc[inside, src].mean()) if inside.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _ratio(ratios: pd.DataFrame, name: str, column: str) -> np.ndarray:
    return ratios[ratios["ratio"] == name].sort_values("block")[column].to_numpy(dtype=float)


@dataclass(frozen=True)
class SessionFiles:
    """The four tables one session contributes (paths): preprocessing's block table
    (blocks.tsv) and block QC (blocks_qc.tsv), the fit's ratios and fit QC."""

    blocks: str | os.PathLike
    blocks_qc: str | os.PathLike
    ratios: str | os.PathLike
    fit_qc: str | os.PathLike


def session_files(
    sessions: list[tuple[str, str]], **files: list[str]
) -> dict[tuple[str, str], SessionFiles]:
    """{(participant_id, session_id): SessionFiles} from per-table file lists given in the
    order of `sessions` (as a rule declares them: blocks=[...], blocks_qc=[...], ...)."""
    for name, paths in files.items():
        if len(paths) != len(sessions):
            raise ValueError(f"{len(paths)} {name} files for {len(sessions)} sessions")
    return {
        tuple(key): SessionFiles(**{name: paths[i] for name, paths in files.items()})
        for i, key in enumerate(sessions)
    }


def session_timecourse(
    session: dict,
    files: SessionFiles,
    qc: dict,
    truth_transients: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Rows of one session. `session`: participant_id, session_id, condition, period, sex;
    `qc`: the limits of `qc_limits`.

    Fit blocks are numbered from 0 in file order; they are matched to the preprocessing
    blocks by position.
    """
    blocks = read_tsv(files.blocks)
    bqc = read_tsv(files.blocks_qc)
    ratios = read_tsv(files.ratios)
    fqc = read_tsv(files.fit_qc).sort_values("block")
    n = len(blocks)
    if len(fqc) != n:
        raise ValueError(f"{files.fit_qc}: {len(fqc)} fitted blocks but {n} preprocessed blocks")
    out = blocks[
        ["block", "phase", "t_start_min", "t_mid_min", "t_end_min", "n_kept", "n_excluded"]
    ].copy()
    out["glx_tnaa"] = _ratio(ratios, "Glx/tNAA", "value")
    out["glx_crlb_pct"] = _ratio(ratios, "Glx/tNAA", "crlb_pct")
    out["glu_tnaa"] = _ratio(ratios, "Glu/tNAA", "value")
    out["glu_crlb_pct"] = _ratio(ratios, "Glu/tNAA", "crlb_pct")
    out["gln_tnaa"] = _ratio(ratios, "Gln/tNAA", "value")
    out["glx_tcr"] = _ratio(ratios, "Glx/tCr", "value")
    out["snr"] = bqc["snr"].to_numpy(dtype=float)
    out["fwhm_hz"] = bqc["naa_fwhm_unmatched_hz"].to_numpy(dtype=float)
    out["broadening_hz"] = bqc["broadening_hz"].to_numpy(dtype=float)
    out["residual_noise_ratio"] = fqc["residual_noise_ratio"].to_numpy(dtype=float)
    out["fit_converged"] = fqc["converged"].astype(int).to_numpy() == 1
    lipid = fqc["lipid_tnaa"].to_numpy(dtype=float) if "lipid_tnaa" in fqc else np.full(n, np.nan)
    out["lipid_tnaa"] = lipid
    lipid_rise = lipid - (np.nanmedian(lipid) if np.isfinite(lipid).any() else np.nan)
    residual = out["residual_noise_ratio"].to_numpy()
    # the session comparison needs a few blocks; with fewer the absolute limit acts alone
    known = np.isfinite(residual)
    residual_median = np.median(residual[known]) if known.sum() >= MIN_BLOCKS_FOR_MEDIAN else None
    reasons = []
    for k in range(n):
        why = []
        if int(bqc["qc_pass"].iloc[k]) != 1:
            why.append(f"preprocessing: {bqc['qc_fail_reasons'].iloc[k]}")
        if not out["fit_converged"].iloc[k]:
            why.append("fit did not converge")
        if not np.isfinite(out["glx_tnaa"].iloc[k]):
            why.append("Glx/tNAA not estimable (tNAA fitted as 0)")
        elif not out["glx_crlb_pct"].iloc[k] <= qc["max_glx_crlb_pct"]:
            why.append(
                f"Glx CRLB {out['glx_crlb_pct'].iloc[k]:.1f} % > {qc['max_glx_crlb_pct']:g} %"
            )
        if not out["snr"].iloc[k] >= qc["min_snr"]:
            why.append(f"SNR {out['snr'].iloc[k]:.1f} < {qc['min_snr']:g}")
        if not out["fwhm_hz"].iloc[k] <= qc["max_fwhm_hz"]:
            why.append(f"FWHM {out['fwhm_hz'].iloc[k]:.1f} Hz > {qc['max_fwhm_hz']:g} Hz")
        if not np.isfinite(residual[k]):
            why.append("fit residual not known")
        elif residual[k] > qc["max_residual_ratio"]:
            limit = f"fit residual {residual[k]:.2f} x noise > {qc['max_residual_ratio']:g}"
            if residual_median is None:
                why.append(f"{limit} (too few blocks to compare with the session)")
            elif residual[k] > qc["max_residual_over_median"] * residual_median:
                why.append(
                    f"{limit} and > {qc['max_residual_over_median']:g} x the session's median "
                    f"{residual_median:.2f}"
                )
        if lipid_rise[k] > qc["max_lipid_rise"]:  # NaN (no lipid components): not tested
            why.append(
                f"lipid index {lipid[k]:.2f} x tNAA, {lipid_rise[k]:.2f} above the session's "
                f"median > {qc['max_lipid_rise']:g}"
            )
        reasons.append("; ".join(why) if why else "")
    out["qc_reasons"] = [r or np.nan for r in reasons]
    out["qc_pass"] = [not r for r in reasons]
    for key in ("participant_id", "session_id", "condition", "period", "sex"):
        out[key] = session[key]
    if truth_transients is not None:
        truth = block_truth(read_tsv(truth_transients), blocks)
        out = out.merge(truth, on="block", how="left", validate="one_to_one")
    extra = [c for c in out.columns if c not in COLUMNS]
    return out[COLUMNS + extra]


def assemble(
    sessions: pd.DataFrame,
    files: dict[tuple[str, str], SessionFiles],
    qc: dict,
    truth_root: str | None = None,
) -> pd.DataFrame:
    """All sessions' rows, sorted by participant, session and block.

    files: each session's tables (see `session_files`); every session of `sessions` needs
    an entry. truth_root: DATASET/derivatives/truth of a simulated dataset (InputError for
    any other folder), or None for no truth columns.
    """
    if truth_root is not None:
        truth_root = check_simulator_truth(truth_root)
    frames = []
    for s in sessions.sort_values(["participant_id", "session_id"]).to_dict("records"):
        pid, sid = s["participant_id"], s["session_id"]
        truth = None
        if truth_root is not None:
            truth = Path(truth_root) / pid / sid / f"{pid}_{sid}_transients.tsv"
        if (pid, sid) not in files:
            raise ValueError(f"no preprocessing/fit tables were given for {pid} {sid}")
        frames.append(session_timecourse(s, files[(pid, sid)], qc, truth))
    return pd.concat(frames, ignore_index=True)
