"""The statistics stage on a simulated trial (truth-based time course, scored ratings)."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from stats_fixtures import truth_timecourse

from fmrstrial.clinical import score_dataset, write_outputs
from fmrstrial.errors import InputError
from fmrstrial.io.tsv import read_tsv, write_tsv
from fmrstrial.simulate import resolve as sim_resolve
from fmrstrial.simulate import simulate_trial
from fmrstrial.stats import resolve
from fmrstrial.steps.stats import compute

TRIAL = {
    "participants": 16,
    "seed": 3,
    "acquisition": {"baseline_min": 2.0, "baseline_jitter_min": 0.0, "infusion_min": 8.0},
}


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    root = tmp_path_factory.mktemp("stats")
    ds = root / "ds"
    simulate_trial(ds, sim_resolve(TRIAL))
    tables = root / "tables"
    write_outputs(score_dataset(ds), tables)
    glx = truth_timecourse(ds, noise_sd=0.04, seed=5, baseline_min=2.0, infusion_min=8.0)
    write_tsv(glx, tables / "glx_timecourse.tsv")
    return ds, tables


def _run(trial, out, settings=None, **extra):
    ds, tables = trial
    compute(
        ds / "participants.tsv",
        out,
        settings or resolve(),
        glx=tables / "glx_timecourse.tsv",
        clinical=tables / "clinical.tsv",
        clinical_mi=tables / "clinical_mi.tsv",
        truth_dir=ds / "derivatives/truth",
        **extra,
    )
    return read_tsv(out / "findings.tsv")


def test_every_design_finding_is_reported(trial, tmp_path):
    f = _run(trial, tmp_path)
    for fid in (
        "glx_condition_infusion",
        "madrs_condition_by_time",
        "madrs_attenuation_pct",
        "glx_sex_moderation",
        "selfreport_condition_by_time",
        "glx_madrs_association",
        "crossover_period",
        "crossover_carryover",
        "sensitivity_glu_tnaa",
        "sensitivity_crlb_strict",
    ):
        assert fid in set(f.finding_id), fid
    assert (f.finding_id == "selfreport_condition_by_time").sum() == 4
    assert (tmp_path / "glx_condition_infusion.json").is_file()
    skipped = (tmp_path / "sensitivity_no_linewidth_matching.json").read_text()
    assert "skipped" in skipped  # no unmatched time course given


def test_truth_and_coverage(trial, tmp_path):
    f = _run(trial, tmp_path).set_index(["finding_id", "outcome"])
    madrs = f.loc[("madrs_condition_by_time", "madrs_total")]
    assert madrs.truth == pytest.approx(14.0 * 0.28)
    assert madrs.term == "conditionnaltrexone:timepointday1"
    att = f.loc[("madrs_attenuation_pct", "madrs_total")]
    assert att.truth == pytest.approx(28.0)
    glx = f.loc[("glx_condition_infusion", "glx_tnaa")]
    assert glx.truth < 0  # naltrexone attenuates the rise
    assert glx.term == "conditionnaltrexone:phaseinfusion"
    # with little noise the estimate is close to the truth and the CI covers it
    assert glx.estimate == pytest.approx(glx.truth, abs=3 * (glx.ci_high - glx.ci_low) / 3.92)
    assert str(glx.ci_covers_truth) in ("True", "true")
    sex = f.loc[("glx_sex_moderation", "glx_tnaa")]
    assert sex.truth < 0  # larger attenuation in males
    period = f.loc[("crossover_period", "glx_tnaa")]
    assert list(period.model) == ["glx_condition_infusion", "sensitivity_session_intercept"]
    assert (period.num_df == 1).all()
    # with a session intercept the period term is judged between sessions, not blocks
    assert period.den_df.iloc[1] < period.den_df.iloc[0] / 2


def test_findings_are_deterministic(trial, tmp_path):
    _run(trial, tmp_path / "a")
    _run(trial, tmp_path / "b")
    for name in ("findings.tsv", "glx_condition_infusion.json", "madrs_condition_by_time.json"):
        a = hashlib.sha256((tmp_path / "a" / name).read_bytes()).hexdigest()
        b = hashlib.sha256((tmp_path / "b" / name).read_bytes()).hexdigest()
        assert a == b, name


def test_formula_with_unknown_column_is_a_clear_error(trial, tmp_path):
    settings = resolve(
        {
            "models": {
                "glx_condition_infusion": {
                    **resolve()["models"]["glx_condition_infusion"],
                    "formula": "glx_tnaa ~ condition * phase + scanner + (1 | participant_id)",
                }
            }
        }
    )
    with pytest.raises(InputError, match="scanner"):
        _run(trial, tmp_path, settings)
    assert not (tmp_path / "findings.tsv").exists()


def test_multiple_imputation_is_pooled(trial, tmp_path):
    ds, tables = trial
    rules = {"missing": {"teps": {"method": "mice"}}, "mice": {"m": 5}}
    mi_tables = tmp_path / "mi"
    write_outputs(score_dataset(ds, rules), mi_tables)
    mi = read_tsv(mi_tables / "clinical_mi.tsv")
    assert len(mi) > 0
    compute(
        ds / "participants.tsv",
        tmp_path / "out",
        resolve(),
        glx=tables / "glx_timecourse.tsv",
        clinical=mi_tables / "clinical.tsv",
        clinical_mi=mi_tables / "clinical_mi.tsv",
        truth_dir=ds / "derivatives/truth",
    )
    f = read_tsv(tmp_path / "out/findings.tsv")
    teps = f[f.outcome == "teps_anticipatory"].iloc[0]
    assert teps.statistic == "F (Rubin, m=5)"
    assert pd.notna(teps.den_df) and teps.den_df > 0


def test_findings_state_the_spectral_model(trial, tmp_path):
    from fmrstrial.fit.settings import describe_model

    text = describe_model({})
    assert "LCModel ratio priors" in text and "chosen on the trial's mean spectrum" in text
    assert "-CrCH2 correction" in text
    f = _run(trial, tmp_path, spectral_model=text).set_index(["finding_id", "outcome"])
    assert f.loc[("glx_condition_infusion", "glx_tnaa"), "spectral_model"] == text
    assert f.loc[("sensitivity_glu_tnaa", "glu_tnaa"), "spectral_model"] == text
    assert f.loc[("madrs_condition_by_time", "madrs_total"), "spectral_model"] != text  # n/a
    assert "settings changed: baseline_penalty" in describe_model({"baseline_penalty": 5.0})
    assert "flexibility chosen per session" in describe_model({"baseline_flexibility": "auto"})


def test_other_fit_mode_is_a_sensitivity_row_with_its_own_model(trial, tmp_path):
    from fmrstrial.fit.settings import describe_model

    ds, tables = trial
    blocks, dynamic = describe_model({"mode": "blocks"}), describe_model({})  # dynamic: default
    assert "fitted block by block" in blocks and "fitted jointly (dynamic, free model)" in dynamic
    # without the other mode's table the row says why it is missing
    f = _run(trial, tmp_path / "a", spectral_model=blocks).set_index("finding_id")
    row = f.loc["sensitivity_other_fit_mode"]
    assert row.status != "estimated" and "no glx_other_mode time course given" in row.note
    # the other mode's time course (here: a perturbed copy) gives its own estimate and model
    other = read_tsv(tables / "glx_timecourse.tsv")
    other["glx_tnaa"] = other["glx_tnaa"] * 1.1
    write_tsv(other, tmp_path / "other.tsv")
    f = _run(
        trial,
        tmp_path / "b",
        spectral_model=blocks,
        glx_other_mode=tmp_path / "other.tsv",
        other_spectral_model=dynamic,
    ).set_index("finding_id")
    main, sens = f.loc["glx_condition_infusion"], f.loc["sensitivity_other_fit_mode"]
    assert sens.status == "estimated" and sens.spectral_model == dynamic
    assert main.spectral_model == blocks
    assert sens.estimate == pytest.approx(1.1 * main.estimate, rel=1e-4)  # 6 digits
