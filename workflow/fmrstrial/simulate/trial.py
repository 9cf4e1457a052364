"""Write a complete simulated trial in the (BIDS / MRS-BIDS) input layout of docs/input-data.md.

DIR/
  dataset_description.json, participants.tsv/.json, sessions.json
  sub-XX/sub-XX_sessions.tsv
  sub-XX/ses-Y/mrs/sub-XX_ses-Y_task-ketamine_svs.nii.gz   every transient (DIM_DYN[, DIM_COIL])
  sub-XX/ses-Y/mrs/sub-XX_ses-Y_mrsref.nii.gz               unsuppressed water reference
  phenotype/<scale>.tsv/.json
  derivatives/truth/...                                      true values (see README there)
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..io.atomic import atomic_dir
from ..io.nifti_mrs import TRANSIENT_COMPRESSLEVEL, MRSData, write_nifti_mrs
from ..io.tsv import write_json, write_tsv
from ..spectra import PPM_CENTRE_1H
from ..workflow_plan import WORKFLOW_DEMO_MARK
from .clinical import SCALES, load_scale_definitions, simulate_ratings
from .design import Participant, Session, make_participants, make_sessions
from .effects import STREAM_DESIGN, draw_participant_effects, rng_for
from .habits import assign_habits
from .mrs import build_model, simulate_session

TASK = "ketamine"
_MODEL_CACHE: dict = {}


def mrs_paths(root: Path, pid: str, sid: str) -> tuple[Path, Path]:
    """Metabolite and water-reference NIfTI-MRS paths of one session."""
    d = root / pid / sid / "mrs"
    return d / f"{pid}_{sid}_task-{TASK}_svs.nii.gz", d / f"{pid}_{sid}_mrsref.nii.gz"


def _header(params: dict, water_suppressed: bool) -> dict:
    acq = params["acquisition"]
    return {
        "EchoTime": acq["te_ms"] / 1000.0,
        "RepetitionTime": acq["tr_s"],
        "Manufacturer": "fmrstrial simulator",
        "SequenceName": "PRESS",
        "WaterSuppressed": water_suppressed,
        "ConversionMethod": f"fmrstrial {__version__} simulate",
    }


def _to_mrs(
    fids: np.ndarray, multi_coil: bool, model, params: dict, suppressed: bool, what: str
) -> MRSData:
    tags = ("DIM_COIL", "DIM_DYN") if multi_coil else ("DIM_DYN",)
    header = _header(params, suppressed)
    if multi_coil:
        header["dim_5_info"] = "receive coils (uncombined)"
        header["dim_6_info"] = what
    else:
        header["dim_5_info"] = what
    return MRSData(
        fids=fids,
        dwell_s=model.dwell_s,
        cf_mhz=model.cf_mhz,
        nucleus="1H",
        dim_tags=tags,
        header=header,
    )


def _simulate_and_write(args):
    session, fx, habits, params, root = args
    key = repr(params["acquisition"]) + repr(params["signal"])
    if key not in _MODEL_CACHE:
        _MODEL_CACHE.clear()
        _MODEL_CACHE[key] = build_model(params)
    model = _MODEL_CACHE[key]
    data = simulate_session(session, fx, model, params, habits)
    pid, sid = session.participant.participant_id, session.session_id
    svs, ref = mrs_paths(Path(root), pid, sid)
    multi = session.n_coils > 1
    write_nifti_mrs(
        svs,
        _to_mrs(
            data.fids,
            multi,
            model,
            params,
            True,
            f"transients, TR {params['acquisition']['tr_s']} s",
        ),
        compresslevel=TRANSIENT_COMPRESSLEVEL,
    )
    write_nifti_mrs(
        ref, _to_mrs(data.water, multi, model, params, False, "water reference transients")
    )
    truth_dir = Path(root) / "derivatives" / "truth" / pid / sid
    write_tsv(data.truth, truth_dir / f"{pid}_{sid}_transients.tsv")
    blocks = block_truth(data.truth, data.session_truth, params)
    return data.session_truth, blocks


def block_truth(transients: pd.DataFrame, session: dict, params: dict) -> pd.DataFrame:
    """Corruption per block of the trial protocol: one baseline block (every pre-infusion
    transient) and infusion blocks of `acquisition.block_min` over `infusion_min` (the last
    one shorter if they do not divide).

    expected_fail names why the block is expected to fail QC: excluded_fraction (more than
    the default `qc_max_excluded_fraction` of its transients motion-corrupted), lipid (as
    many lipid-contaminated: needs a QC that looks at 0.9-1.3 ppm), fwhm (broadened
    session), snr (low-SNR session); empty when none.
    """
    from ..preprocess.settings import DEFAULTS as QC

    acq = params["acquisition"]
    t = transients.t_rel_infusion_s.to_numpy() / 60.0
    edges = [(float(t.min()), 0.0, "baseline")]
    step, total = acq["block_min"], acq["infusion_min"]
    n_inf = int(np.ceil(total / step - 1e-9))
    edges += [(k * step, min((k + 1) * step, total), "infusion") for k in range(n_inf)]
    rows = []
    for k, (lo, hi, phase) in enumerate(edges):
        inside = (t >= lo) & (t < hi) if phase == "infusion" else t < 0
        sub = transients[inside]
        frac = float(sub.corrupt.mean()) if len(sub) else float("nan")
        reasons = sorted({r for r in sub.corrupt_reason if isinstance(r, str) and r})
        limit = QC["qc_max_excluded_fraction"]
        fail = []
        if (sub.corrupt_reason.isin(["motion", "motion_burst"])).mean() > limit:
            fail.append("excluded_fraction")
        if (sub.corrupt_reason == "lipid").mean() > limit:
            fail.append("lipid")
        if session["habit_broadened"]:
            fail.append("fwhm")
        if session["habit_low_snr"]:
            fail.append("snr")
        rows.append(
            {
                "participant_id": session["participant_id"],
                "session_id": session["session_id"],
                "block": k,
                "phase": phase,
                "t_start_min": round(lo, 4),
                "t_end_min": round(hi, 4),
                "n_transients": int(len(sub)),
                "n_corrupt": int(sub.corrupt.sum()),
                "corrupt_fraction": frac,
                "corrupt_reasons": ",".join(reasons),
                "expected_fail": ",".join(fail),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class TrialDraw:
    """The trial's design drawn from its seed: participants, their sessions, each
    participant's effects (by participant_id) and each session's habits."""

    participants: list[Participant]
    sessions: list[Session]
    effects: dict
    habits: dict

    def session_inputs(self, session: Session) -> tuple:
        """(participant effects, habits) that `simulate_session` takes for `session`."""
        p = session.participant
        return self.effects[p.participant_id], self.habits[(p.index, session.index)]


def draw_trial(params: dict) -> TrialDraw:
    """Participants, sessions, effects and habits of the trial, from params["seed"]."""
    rng = rng_for(params["seed"], STREAM_DESIGN)
    participants = make_participants(params, rng)
    sessions = make_sessions(participants, params, rng)
    effects = {p.participant_id: draw_participant_effects(p, params) for p in participants}
    return TrialDraw(participants, sessions, effects, assign_habits(sessions, params))


def simulate_trial(
    out_dir: str | os.PathLike, params: dict, jobs: int = 1, workflow_demo: bool = False
) -> dict:
    """Simulate the whole trial into `out_dir` (replaced atomically). Returns a summary.

    `workflow_demo`: the workflow's demo rule is writing it (recorded in GeneratedBy, so that
    the workflow may regenerate it; a dataset from `fmrstrial simulate` is only read)."""
    out_dir = Path(out_dir)
    trial = draw_trial(params)
    participants, sessions, effects = trial.participants, trial.sessions, trial.effects
    definitions = load_scale_definitions()
    with atomic_dir(out_dir) as root:
        _write_layout(root, participants, sessions, params, workflow_demo)
        work = [(s, *trial.session_inputs(s), params, str(root)) for s in sessions]
        if jobs > 1:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                results = list(pool.map(_simulate_and_write, work))
        else:
            results = [_simulate_and_write(w) for w in work]
        session_truth = [r[0] for r in results]
        write_tsv(
            pd.concat([r[1] for r in results], ignore_index=True),
            root / "derivatives" / "truth" / "blocks.tsv",
        )
        tables, scores, madrs_course = simulate_ratings(sessions, effects, params, definitions)
        _write_phenotype(root, tables, definitions)
        _write_truth(root, participants, effects, session_truth, scores, madrs_course, params)
    return {
        "participants": len(participants),
        "sessions": len(sessions),
        "bytes": sum(f.stat().st_size for f in out_dir.rglob("*") if f.is_file()),
    }


def _write_layout(
    root: Path, participants, sessions: list[Session], params: dict, workflow_demo: bool
) -> None:
    write_json(
        {
            "Name": "fmrstrial simulated trial: ketamine after placebo or naltrexone, 1H-fMRS",
            "BIDSVersion": "1.10.0",
            "DatasetType": "raw",
            "License": "CC0",
            "GeneratedBy": [
                {
                    "Name": "fmrstrial",
                    "Version": __version__,
                    "Description": f"trial simulator, seed {params['seed']}"
                    + (WORKFLOW_DEMO_MARK if workflow_demo else ""),
                }
            ],
            "HowToAcknowledge": "Simulated data: results on it are not a reproduction of the "
            "published trial.",
        },
        root / "dataset_description.json",
    )
    write_tsv(
        pd.DataFrame(
            [
                {
                    "participant_id": p.participant_id,
                    "sex": p.sex,
                    "age": p.age,
                    "sequence": p.sequence,
                }
                for p in participants
            ]
        ),
        root / "participants.tsv",
    )
    write_json(
        {
            "sex": {"Description": "sex", "Levels": {"F": "female", "M": "male"}},
            "age": {"Description": "age at enrolment", "Units": "year"},
            "sequence": {
                "Description": "order of pretreatments",
                "Levels": {
                    "PN": "placebo in period 1, naltrexone in period 2",
                    "NP": "naltrexone in period 1, placebo in period 2",
                },
            },
        },
        root / "participants.json",
    )
    write_json(
        {
            "condition": {
                "Description": "oral pretreatment before ketamine 0.5 mg/kg IV",
                "Levels": {"placebo": "oral placebo", "naltrexone": "naltrexone 50 mg"},
            },
            "period": {"Description": "crossover period (1 or 2)"},
            "infusion_start_s": {
                "Description": "start of the ketamine infusion, counted from the "
                "first metabolite transient",
                "Units": "s",
            },
        },
        root / "sessions.json",
    )
    for p in participants:
        rows = [
            {
                "session_id": s.session_id,
                "condition": s.condition,
                "period": s.period,
                "infusion_start_s": s.infusion_start_s,
            }
            for s in sessions
            if s.participant is p
        ]
        write_tsv(pd.DataFrame(rows), root / p.participant_id / f"{p.participant_id}_sessions.tsv")


def _write_phenotype(root: Path, tables: dict[str, pd.DataFrame], definitions: dict) -> None:
    for scale in SCALES:
        defn = definitions[scale]
        write_tsv(tables[scale], root / "phenotype" / f"{scale}.tsv")
        sidecar = {
            "MeasurementToolMetadata": {"Description": f"{defn['name']}. {defn['citation']}"},
            "timepoint": {
                "Description": "when the rating was made",
                "Levels": {
                    "pre": "before pretreatment",
                    "post": "end of infusion",
                    "day1": "24 h after infusion",
                },
            },
        }
        labels = defn.get("item_labels") or []
        for i in range(1, int(defn["items"]) + 1):
            entry = {
                "Description": labels[i - 1] if i <= len(labels) else f"item {i}",
                "Minimum": defn["item_min"],
                "Maximum": defn["item_max"],
            }
            if i in (defn.get("reverse_items") or []):
                entry["Description"] += " (reverse-keyed; raw coding as ticked)"
            sidecar[f"{scale}_{i:02d}"] = entry
        write_json(sidecar, root / "phenotype" / f"{scale}.json")


def _write_truth(
    root: Path, participants, effects, session_truth, scores, madrs_course, params
) -> None:
    truth = root / "derivatives" / "truth"
    write_json(
        {
            "Name": "fmrstrial simulation truth",
            "BIDSVersion": "1.10.0",
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "fmrstrial", "Version": __version__}],
        },
        truth / "dataset_description.json",
    )
    write_tsv(pd.DataFrame(session_truth), truth / "sessions.tsv")
    prow = []
    for p in participants:
        fx = effects[p.participant_id]
        prow.append(
            {
                "participant_id": p.participant_id,
                "sex": p.sex,
                "responsiveness": fx.responsiveness,
                "madrs_intercept": fx.madrs_intercept,
                "madrs_response_z": fx.madrs_response_z,
                **{f"factor_{m}": v for m, v in fx.concentration_factor.items()},
            }
        )
    write_tsv(pd.DataFrame(prow), truth / "participants.tsv")
    write_tsv(scores, truth / "clinical_scores.tsv")
    write_tsv(madrs_course, truth / "madrs_sessions.tsv")
    eff = params["effects"]
    conc = params["signal"]["concentrations"]
    glx_tnaa = (conc["Glu"] + conc["Gln"]) / (conc["NAA"] + conc["NAAG"])
    madrs_red_nal = eff["madrs_reduction_placebo"] * (1 - eff["madrs_attenuation"])
    write_json(
        {
            "description": "Population (true) effects of the simulated trial. Findings on this "
            "dataset are compared with these, never with the publication.",
            "reference_ppm": PPM_CENTRE_1H,
            "glx_tnaa_population_baseline": glx_tnaa,
            "glx_relative_response_placebo": eff["glx_response_placebo"],
            "glx_relative_response_naltrexone_male": eff["glx_response_placebo"]
            * (1 - eff["naltrexone_attenuation_male"]),
            "glx_relative_response_naltrexone_female": eff["glx_response_placebo"]
            * (1 - eff["naltrexone_attenuation_female"]),
            "response_tau_min": eff["response_tau_min"],
            "madrs_reduction_placebo": eff["madrs_reduction_placebo"],
            "madrs_reduction_naltrexone": madrs_red_nal,
            "madrs_condition_by_time": eff["madrs_reduction_placebo"] - madrs_red_nal,
            "madrs_attenuation_pct": 100.0 * eff["madrs_attenuation"],
            "glx_madrs_correlation_latent": eff["glx_madrs_correlation"],
            "notes": {
                "nuisance": "Glx/tNAA truth is the ratio of metabolite concentrations; the "
                "macromolecule background, baseline, lineshape distortion, lipids and residual "
                "water are nuisance signals (their parameters are in sessions.tsv). Spectra "
                "are built from the basis set in parameters.acquisition.basis.",
                "habits": "sessions.tsv habit_* flags the session habits (see docs/simulator.md); "
                "transient tables mark corrupted transients (corrupt, corrupt_reason: motion, "
                "motion_burst, lipid); blocks.tsv gives the corrupted fraction per block of the "
                "trial protocol and the habit expected to fail it at the default QC.",
                "expected columns": "transient tables carry expected_glx_tnaa/expected_glu_tnaa: "
                "the population value (no participant or session variation, "
                "no noise) for that participant's sex, condition, period and "
                "time; fitting an analysis model to block averages of these "
                "gives the true value of its coefficients.",
            },
            "parameters": params,
        },
        truth / "effects.json",
    )
