"""Partial data are kept where the mixed model allows, with the reasons in the flow table:
a participant with one session, a session with no usable blocks, a missing day-1 MADRS."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from stats_fixtures import truth_timecourse

from fmrstrial.clinical import score_dataset, write_outputs
from fmrstrial.dataset import sessions_table, validate_dataset
from fmrstrial.figures.reporting_tables import flow_summary, mrsinmrs, participant_flow
from fmrstrial.io.tsv import read_tsv, write_tsv
from fmrstrial.simulate import resolve, simulate_trial
from fmrstrial.stats import resolve as stats_resolve
from fmrstrial.steps.reporting_tables import workflow_settings
from fmrstrial.steps.stats import compute

#: One metabolite acquisition's row of acquisition_parameters.tsv.
SVS_ROW = {
    "role": "svs",
    "field_t": 3.0,
    "manufacturer": "Philips",
    "model": "Achieva",
    "n_coils": 8,
    "sequence": "PRESS",
    "te_ms": 35.0,
    "tr_s": 2.0,
    "n_transients": 256,
    "spectral_width_hz": 2000.0,
    "n_points": 2048,
    "water_suppressed": "true",
    "naa_offset_ppm": 0.0,
}

TRIAL = {
    "participants": 12,
    "seed": 21,
    "acquisition": {"baseline_min": 2.0, "baseline_jitter_min": 0.0, "infusion_min": 8.0},
}


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    root = tmp_path_factory.mktemp("partial")
    ds = root / "ds"
    simulate_trial(ds, resolve(TRIAL))
    # sub-02 keeps only its first session
    shutil.rmtree(ds / "sub-02" / "ses-2")
    ses = read_tsv(ds / "sub-02" / "sub-02_sessions.tsv", dtype=str)
    write_tsv(ses[ses.session_id == "ses-1"], ds / "sub-02" / "sub-02_sessions.tsv")
    for table in (ds / "phenotype").glob("*.tsv"):
        t = read_tsv(table, dtype=str)
        write_tsv(t[~((t.participant_id == "sub-02") & (t.session_id == "ses-2"))], table)
    # sub-04 ses-1 has no day-1 MADRS
    madrs = read_tsv(ds / "phenotype/madrs.tsv", dtype=str)
    drop = (
        (madrs.participant_id == "sub-04")
        & (madrs.session_id == "ses-1")
        & (madrs.timepoint == "day1")
    )
    write_tsv(madrs[~drop], ds / "phenotype/madrs.tsv")
    tables = root / "tables"
    write_outputs(score_dataset(ds), tables)
    glx = truth_timecourse(ds, noise_sd=0.03, seed=2, baseline_min=2.0, infusion_min=8.0)
    glx = glx[~((glx.participant_id == "sub-02") & (glx.session_id == "ses-2"))].copy()
    # every block of sub-03 ses-1 fails QC
    bad = (glx.participant_id == "sub-03") & (glx.session_id == "ses-1")
    glx.loc[bad, "qc_pass"] = False
    glx.loc[bad, "qc_reasons"] = "SNR 12.0 < 20"
    write_tsv(glx, tables / "glx_timecourse.tsv")
    compute(
        ds / "participants.tsv",
        root / "stats",
        stats_resolve({"bootstrap": {"n": 200}}),
        glx=tables / "glx_timecourse.tsv",
        clinical=tables / "clinical.tsv",
        truth_dir=ds / "derivatives/truth",
    )
    return ds, tables, root / "stats", glx


def test_one_session_participant_is_a_noted_partial_case(partial):
    ds = partial[0]
    v = validate_dataset(ds, check_spectra=False)
    assert v.problems == []
    assert any("sub-02: one session only" in n for n in v.notes)


def test_models_keep_what_they_can(partial):
    _, tables, stats, glx = partial
    f = read_tsv(stats / "findings.tsv").set_index(["finding_id", "outcome"])
    main = f.loc[("glx_condition_infusion", "glx_tnaa")]
    assert main.n_obs == int(glx.qc_pass.sum())  # failing blocks left out, others kept
    assert main.n_participants == 12  # sub-03 still has its other session
    madrs = f.loc[("madrs_condition_by_time", "madrs_total")]
    assert madrs.n_obs == 4 * 12 - 2 - 1  # sub-02 ses-2 absent, sub-04 day 1 missing
    assert str(madrs.converged).lower() == "true"
    att = f.loc[("madrs_attenuation_pct", "madrs_total")]
    assert att.n_participants == 12 - 2  # needs both conditions at both timepoints


def test_flow_table_gives_reasons(partial):
    ds, tables, _, glx = partial
    flow = participant_flow(
        read_tsv(ds / "participants.tsv"),
        sessions_table(ds),
        glx,
        read_tsv(tables / "clinical.tsv"),
    )
    sub02 = flow[flow.participant_id == "sub-02"]
    assert list(sub02.session_id) == ["ses-1", "n/a"]  # the absent session has its own row
    assert sub02.exclusion_reasons.iloc[1] == "no period-2 session in the dataset"
    assert sub02.condition.iloc[1] != sub02.condition.iloc[0]
    sub03 = flow[(flow.participant_id == "sub-03") & (flow.session_id == "ses-1")].iloc[0]
    assert sub03.blocks_included == 0 and not sub03.baseline_and_infusion_kept
    assert sub03.exclusion_reasons.startswith("SNR 12.0 < 20 (blocks ")  # one reason, once
    sub04 = flow[(flow.participant_id == "sub-04") & (flow.session_id == "ses-1")].iloc[0]
    assert sub04.madrs_pre and not sub04.madrs_day1
    summary = flow_summary(flow).set_index("item")["n"]
    assert summary["sessions"] == 23
    assert summary["sessions with MADRS before and on day 1"] == 22


def test_flow_counts_blocks_per_kind_of_reason(partial):
    """Reasons carry each block's measured value: blocks failing the same rule are listed
    together, with the blocks they concern and their values as a range."""
    ds, tables, _, glx = partial
    glx = glx.copy()
    bad = glx.index[(glx.participant_id == "sub-03") & (glx.session_id == "ses-1")]
    snr = [12.0, 9.5, 14.25][: len(bad)] + [12.0] * max(0, len(bad) - 3)
    glx["block"] = glx["block"].astype(object)
    glx.loc[bad, "block"] = list(range(1, len(bad) + 1))
    glx.loc[bad, "qc_reasons"] = [
        f"preprocessing: snr; SNR {x:.1f} < 20" + ("; fit did not converge" if k == 0 else "")
        for k, x in enumerate(snr)
    ]
    flow = participant_flow(
        read_tsv(ds / "participants.tsv"),
        sessions_table(ds),
        glx,
        read_tsv(tables / "clinical.tsv"),
    )
    row = flow[(flow.participant_id == "sub-03") & (flow.session_id == "ses-1")].iloc[0]
    n = len(bad)
    assert row.exclusion_reasons == (
        f"preprocessing: snr (blocks 1-{n}); SNR 9.5 to 14.2 < 20 (blocks 1-{n}); "
        "fit did not converge (block 1)"
    )


def test_mrsinmrs_says_which_sessions_had_eddy_current_correction(partial):
    """Only sessions with a water reference are eddy-current corrected, and only sessions
    stored with several coils are coil-combined: the processing steps say how many, instead
    of implying all of them."""
    glx = partial[3].assign(snr=30.0, fwhm_hz=6.0)
    svs = SVS_ROW
    acquisition = pd.DataFrame([svs] * 3 + [{**svs, "role": "mrsref", "n_transients": 16}] * 2)
    config = workflow_settings(None, "basis.json")
    table = mrsinmrs(acquisition, glx, config, {"fmrstrial": "x"}).set_index("item")["value"]
    steps = table["processing steps"]
    assert "with the water reference (Klose) in the 2 of 3 sessions that have one" in steps
    every = mrsinmrs(acquisition.iloc[[0, 3]], glx, config, {}).set_index("item")["value"]
    assert "(Klose);" in every["processing steps"]
    none = mrsinmrs(acquisition.iloc[:3], glx, config, {}).set_index("item")["value"]
    steps = none["processing steps"]
    assert "no eddy-current correction (no session has a water reference)" in steps
    # coil combination only where the data were stored uncombined
    assert "in the 3 of 3 sessions" not in steps and "SNR-optimal coil combination" in steps
    assert table["receive coils (channels stored)"] == "8"
    mixed = acquisition.assign(n_coils=[8, 1, 1, 8, 1])
    mixed = mrsinmrs(mixed, glx, config, {}).set_index("item")["value"]
    assert mixed["receive coils (channels stored)"] == "1 (2 sessions), 8 (1 session)"
    assert (
        "coil combination (whitened SVD; sensitivities from the water reference where it "
        "has the same coils) in the 1 of 3 sessions stored uncombined" in mixed["processing steps"]
    )
    single = mrsinmrs(acquisition.assign(n_coils=1), glx, config, {}).set_index("item")["value"]
    assert "coil combination" not in single["processing steps"]


def test_mrsinmrs_fitting_row_names_the_model_and_an_echo_time_difference(partial):
    """The fitting row is the model the run used (here block mode), and a basis
    simulated for another TE than the data's (within the fit's 5 ms tolerance) is said."""
    glx = partial[3].assign(snr=30.0, fwhm_hz=6.0)
    acquisition = pd.DataFrame([{**SVS_ROW, "te_ms": 30.0}] * 2)
    basis = "basis/lcmodel_press35_3T/3T_PRESS_Siemens_35ms_noMM.BASIS"
    config = workflow_settings(None, basis)
    config["fit"] = {"settings": {"mode": "blocks"}}
    fitting = mrsinmrs(acquisition, glx, config, {}).set_index("item")["value"]["fitting"]
    assert fitting.startswith(
        "basis 3T_PRESS_Siemens_35ms_noMM.BASIS (simulated for TE 35 ms; data TE 30 ms); "
    )
    assert "fitted block by block" in fitting
    same = mrsinmrs(acquisition.assign(te_ms=35.0), glx, workflow_settings(None, basis), {})
    fitting = same.set_index("item")["value"]["fitting"]
    assert "simulated for TE" not in fitting
    assert "all blocks of a session fitted jointly (dynamic" in fitting  # the default
