"""Hand-computed scores of the fixture dataset (tests/data/clinical/dataset), every scale.

The expected values below were worked out by hand from the item values in the fixture TSVs;
the arithmetic is written next to each one.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fmrstrial.clinical import load_scales, score_dataset
from fmrstrial.clinical.rules import MissingRule, merge_rules, rule_for
from fmrstrial.clinical.scoring import score_rule
from fmrstrial.errors import InputError

FIXTURE = Path(__file__).parent / "data" / "clinical" / "dataset"


@pytest.fixture(scope="module")
def scores():
    return score_dataset(FIXTURE)


def row(scores, pid, sid, tp, scale, sub):
    sel = scores.long[
        (scores.long.participant_id == pid)
        & (scores.long.session_id == sid)
        & (scores.long.timepoint == tp)
        & (scores.long.scale == scale)
        & (scores.long.subscale == sub)
    ]
    assert len(sel) == 1
    return sel.iloc[0]


def value(scores, *key):
    return row(scores, *key)["score"]


def test_madrs_totals(scores):
    # 4+4+3+3+2+3+3+3+3+2
    assert value(scores, "sub-01", "ses-1", "pre", "madrs", "total") == 30
    # 2+2+1+1+1+1+1+1+0+0
    assert value(scores, "sub-01", "ses-1", "day1", "madrs", "total") == 10


def test_madrs_one_missing_item_is_prorated(scores):
    r = row(scores, "sub-01", "ses-2", "day1", "madrs", "total")
    # item 5 missing; 2+2+2+2+2+2+2+1+1 = 16 over 9 items -> 16 * 10 / 9
    assert r.score == pytest.approx(160 / 9)
    assert (r.imputed, r.n_items_missing) == ("prorated", 1)


def test_madrs_two_missing_items_make_the_score_missing(scores):
    r = row(scores, "sub-02", "ses-1", "day1", "madrs", "total")
    assert math.isnan(r.score) and r.imputed == "none" and r.n_items_missing == 2
    assert r.missing_reason == "2 of 10 items missing (prorating allows at most 1)"


def test_madrs_change_response_remission(scores):
    m = scores.madrs.set_index(["participant_id", "session_id"])
    a = m.loc[("sub-01", "ses-1")]  # 30 -> 10: -20, -66.7 %, response, remission (10 <= 10)
    assert (a.change, a["pct_change"]) == (-20, pytest.approx(-200 / 3))
    assert (a.response, a.remission) == (1, 1)
    b = m.loc[("sub-02", "ses-2")]  # 30 -> 15: exactly 50 % -> response, not remission
    assert (b["pct_change"], b.response, b.remission) == (-50, 1, 0)
    c = m.loc[("sub-01", "ses-2")]  # 32 -> 160/9: -44.4 % -> neither
    assert c["pct_change"] == pytest.approx(100 * (160 / 9 - 32) / 32)
    assert (c.response, c.remission) == (0, 0)
    d = m.loc[("sub-02", "ses-1")]  # day-1 total missing
    assert np.isnan(d.change) and pd.isna(d.response) and pd.isna(d.remission)
    assert d.missing_reason == "day-1 total missing"


def test_qids_max_of_domains(scores):
    # sleep max(1,3,0,2)=3 + sad 2 + appetite/weight max(0,2,1,n/a)=2 + 2+1+0+3+2
    # + psychomotor max(1,2)=2 = 17; the blank item 9 is inside a domain -> no proration
    r = row(scores, "sub-01", "ses-1", "pre", "qids_sr16", "total")
    assert (r.score, r.n_items_missing, r.imputed) == (17, 1, "none")
    # items 7 and 9 left blank as the form instructs: 0 + 1 + max(0, 0) + 0*5 + max(1, 1) = 2
    assert value(scores, "sub-01", "ses-1", "day1", "qids_sr16", "total") == 2


def test_qids_missing_single_item_domain_makes_the_total_missing(scores):
    r = row(scores, "sub-02", "ses-1", "pre", "qids_sr16", "total")
    assert math.isnan(r.score)
    assert r.missing_reason == "1 of 9 domains missing (prorating allows at most 0)"


def test_shaps_mixed_item_directions(scores):
    # raw 1 1 2 4 3 4 2 3 1 2 4 4 1 3; items 1,3,6,8,10,11,13 reversed (5 - raw):
    # recoded 4 1 3 4 3 1 2 2 1 3 1 4 4 3 -> sum 36; recoded >= 3 at items 1,3,4,5,10,12,13,14
    assert value(scores, "sub-01", "ses-1", "pre", "shaps", "total") == 8
    assert value(scores, "sub-01", "ses-1", "pre", "shaps", "continuous") == 36


def test_shaps_prorated(scores):
    # item 1 missing, all other raw 2: reversed items 3,6,8,10,11,13 -> 3, the others 2:
    # continuous 6*3 + 7*2 = 32 over 13 items -> 32*14/13; count 6 -> 6*14/13
    cont = row(scores, "sub-01", "ses-1", "day1", "shaps", "continuous")
    assert cont.score == pytest.approx(32 * 14 / 13) and cont.imputed == "prorated"
    assert value(scores, "sub-01", "ses-1", "day1", "shaps", "total") == pytest.approx(84 / 13)


def test_teps_reverse_item_and_subscales(scores):
    # raw 5 4 6 3 5 4 2 5 3 4 6 5 4 5 6 5 4 6; item 7: 7 - 2 = 5
    # anticipatory 1,3,7,11,12,14,15,16,17,18: 5+6+5+6+5+5+6+5+4+6 = 53
    # consummatory 2,4,5,6,8,9,10,13: 4+3+5+4+5+3+4+4 = 32
    assert value(scores, "sub-01", "ses-1", "pre", "teps", "anticipatory") == 53
    assert value(scores, "sub-01", "ses-1", "pre", "teps", "consummatory") == 32
    assert value(scores, "sub-01", "ses-1", "pre", "teps", "total") == 85


def test_teps_prorated_and_missing(scores):
    # item 3 missing, all 4 (item 7 raw 3 -> 4): anticipatory 9*4 = 36 -> 40; total 68 -> 72
    assert value(scores, "sub-01", "ses-1", "day1", "teps", "anticipatory") == pytest.approx(40)
    assert value(scores, "sub-01", "ses-1", "day1", "teps", "total") == pytest.approx(72)
    # items 1 and 11 missing: 2 of 10 anticipatory items > 1 allowed; consummatory 8*3
    ant = row(scores, "sub-02", "ses-1", "pre", "teps", "anticipatory")
    assert math.isnan(ant.score) and ant.n_items_missing == 2
    assert math.isnan(value(scores, "sub-02", "ses-1", "pre", "teps", "total"))
    assert value(scores, "sub-02", "ses-1", "pre", "teps", "consummatory") == 24


def test_m3vas(scores):
    key = ("sub-01", "ses-1", "pre", "m3vas")
    assert [value(scores, *key, s) for s in ("mood", "anhedonia", "suicidal_ideation")] == [
        72.5,
        60,
        15,
    ]
    assert value(scores, *key, "total") == 147.5
    r = row(scores, "sub-01", "ses-1", "day1", "m3vas", "anhedonia")
    assert math.isnan(r.score) and r.missing_reason == "the item is missing"
    assert value(scores, "sub-01", "ses-1", "day1", "m3vas", "mood") == 30
    assert math.isnan(value(scores, "sub-01", "ses-1", "day1", "m3vas", "total"))


def test_cadss(scores):
    key = ("sub-01", "ses-1", "post", "cadss")
    # items 2 3 1 0 2 1 1 0 0 1 0 2 1 1 0 0 1 0 0 2 0 1 1
    assert value(scores, *key, "depersonalization") == 7  # items 3-7, 20, 21: 1+0+2+1+1+2+0
    assert value(scores, *key, "derealization") == 10  # 1,2,8-13,16-19: 2+3+0+0+1+0+2+1+0+1+0+0
    assert value(scores, *key, "amnesia") == 3  # 14, 15, 22, 23: 1+0+1+1
    assert value(scores, *key, "total") == 20
    assert value(scores, "sub-01", "ses-1", "pre", "cadss", "total") == 0


def test_psi(scores):
    key = ("sub-01", "ses-1", "post", "psi")
    # item i = i mod 4: the 48 items sum to 12 * (1+2+3+0) = 72; only the total is scored
    assert list(load_scales()["psi"].scores) == ["total"]
    assert value(scores, *key, "total") == 72


def test_absent_rows_are_missing_with_reason(scores):
    r = row(scores, "sub-02", "ses-2", "day1", "teps", "consummatory")
    assert math.isnan(r.score) and r.missing_reason == "no row in phenotype/teps.tsv"
    assert r.n_items_missing == 8


def test_wide_table(scores):
    wide = scores.wide
    assert len(wide) == 2 * 2 * 3  # participants x sessions x (pre, post, day1)
    assert list(wide.columns[:6]) == [
        "participant_id",
        "session_id",
        "condition",
        "period",
        "timepoint",
        "madrs_total",
    ]
    one = wide[
        (wide.participant_id == "sub-01")
        & (wide.session_id == "ses-1")
        & (wide.timepoint == "post")
    ].iloc[0]
    assert one.cadss_total == 20 and np.isnan(one.madrs_total)
    assert list(wide.timepoint[:3]) == ["pre", "post", "day1"]


def test_imputation_record(scores):
    rec = scores.imputation_record
    madrs = rec[rec.scale == "madrs"]
    assert list(madrs.outcome) == ["prorated", "score missing"]
    assert list(madrs.items_missing) == ["madrs_05", "madrs_02;madrs_04"]
    qids = rec[(rec.scale == "qids_sr16") & (rec.participant_id == "sub-01")]
    assert set(qids.outcome) == {"scored from the answered items (no imputation needed)"}


def test_rules_from_config_change_the_outcome():
    lenient = score_dataset(FIXTURE, {"missing": {"madrs": {"max_missing_items": 2}}})
    # 3+2+2+2+2+2+2+1 = 16 over 8 answered items -> 20
    assert value(lenient, "sub-02", "ses-1", "day1", "madrs", "total") == pytest.approx(20)
    strict = score_dataset(FIXTURE, {"missing": {"default": {"method": "none"}}})
    assert math.isnan(value(strict, "sub-01", "ses-1", "day1", "shaps", "continuous"))
    # MADRS keeps its own (prorate) rule: scale level wins over the default
    assert value(strict, "sub-01", "ses-2", "day1", "madrs", "total") == pytest.approx(160 / 9)


def test_rule_layers():
    rules = merge_rules(
        {
            "missing": {
                "teps": {
                    "method": "prorate",
                    "max_missing_fraction": 0.2,
                    "scores": {"total": {"method": "none"}},
                }
            }
        }
    )
    assert rule_for(rules, "teps", "anticipatory") == MissingRule("prorate", 0.2, None)
    assert rule_for(rules, "teps", "total").method == "none"
    assert rule_for(rules, "madrs", "total").allowed(10) == 1
    assert rule_for(rules, "cadss", "total").allowed(23) == 2  # floor(2.3)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"missing": {"teps": {"method": "impute"}}}, "missing.teps.method must be one of"),
        ({"missing": {"madrs": {"max_missing_items": -1}}}, "max_missing_items must be an integer"),
        ({"mice": {"m": 0}}, "mice.m must be a positive integer"),
        ({"missingness": {}}, "unknown key"),
    ],
)
def test_bad_rules_are_rejected(bad, message):
    with pytest.raises(InputError, match=message):
        merge_rules(bad)


def test_score_rule_method_none():
    rule = load_scales()["madrs"].scores["total"]
    items = np.array([[1.0] * 9 + [np.nan]])
    out = score_rule(items, rule, MissingRule("none"))
    assert np.isnan(out.score[0])
    assert out.missing_reason[0] == "1 of 10 items missing (missing-item method 'none')"
    out = score_rule(items, rule, MissingRule("prorate", 0.1))
    assert out.score[0] == pytest.approx(10.0)
