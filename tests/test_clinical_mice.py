"""Multiple imputation (seeded MICE), Rubin's rules, and byte-identical outputs."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fmrstrial.clinical import OUTPUT_FILES, rubin_pool, score_dataset, write_outputs
from fmrstrial.clinical.mice import impute
from fmrstrial.clinical.rules import MiceSettings
from fmrstrial.steps import score_clinical as command

FIXTURE = Path(__file__).parent / "data" / "clinical" / "dataset"
SETTINGS = MiceSettings(m=4, seed=11, iterations=5, donors=5)
MICE_RULES = {"missing": {"teps": {"method": "mice"}}, "mice": {"m": 4, "seed": 5, "iterations": 4}}


def correlated_items(n=60, p=6, seed=0, missing=0.15):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    items = np.clip(np.round(3.5 + 1.2 * latent[:, None] + rng.normal(0, 0.6, (n, p))), 1, 6)
    holes = items.copy()
    holes[rng.random((n, p)) < missing] = np.nan
    return items, holes


def test_impute_is_reproducible_and_seed_dependent():
    _, holes = correlated_items()
    a = impute(holes, None, SETTINGS)
    b = impute(holes, None, SETTINGS)
    assert len(a) == SETTINGS.m
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    other = impute(holes, None, MiceSettings(m=4, seed=12, iterations=5, donors=5))
    assert not all(np.array_equal(x, y) for x, y in zip(a, other, strict=True))
    assert not np.array_equal(a[0], a[1])  # imputations differ from each other


def test_impute_keeps_observed_values_and_draws_from_them():
    _, holes = correlated_items()
    miss = np.isnan(holes)
    for filled in impute(holes, np.zeros((len(holes), 1)), SETTINGS):
        assert not np.isnan(filled).any()
        assert np.array_equal(filled[~miss], holes[~miss])
        for j in range(holes.shape[1]):
            assert set(filled[miss[:, j], j]) <= set(holes[~miss[:, j], j])


def test_impute_recovers_a_strong_relationship():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 10, 80).astype(float)
    data = np.column_stack([x, x, x + rng.integers(0, 2, 80)])  # column 1 equals column 0
    holes = data.copy()
    holes[::7, 1] = np.nan
    filled = impute(holes, None, MiceSettings(m=3, seed=1, iterations=5, donors=1))
    for f in filled:
        assert np.mean(np.abs(f[::7, 1] - data[::7, 1])) < 0.5


def test_rubin_pool_by_hand():
    est, var, df = rubin_pool([1.0, 2.0, 3.0], [0.5, 0.5, 0.5], df_complete=10)
    # qbar = 2, W = 0.5, B = 1, T = W + (1 + 1/3) B = 11/6, lambda = (4/3)/(11/6) = 8/11
    # nu_old = 2 / (8/11)^2 = 121/32; nu_obs = 11/13 * 10 * 3/11 = 30/13
    # df = 1 / (32/121 + 13/30) = 3630/2533
    assert est == 2 and var == pytest.approx(11 / 6) and df == pytest.approx(3630 / 2533)
    pooled = rubin_pool([1.0, 2.0, 3.0], [0.5, 0.5, 0.5])
    assert pooled.df == pytest.approx(121 / 32) and pooled.lambda_ == pytest.approx(8 / 11)
    assert (pooled.within, pooled.between, pooled.m) == (0.5, 1.0, 3)


def test_rubin_pool_edge_cases_and_vectors():
    same = rubin_pool([2.0, 2.0], [0.3, 0.5])
    assert same.variance == pytest.approx(0.4) and same.df == np.inf
    assert rubin_pool([2.0, 2.0], [0.3, 0.5], df_complete=20).df == pytest.approx(21 / 23 * 20)
    vec = rubin_pool(np.array([[1.0, 5.0], [3.0, 5.0]]), np.ones((2, 2)))
    assert np.allclose(vec.estimate, [2.0, 5.0]) and np.allclose(vec.variance, [4.0, 1.0])
    with pytest.raises(ValueError):
        rubin_pool([1.0], [1.0])


def larger_dataset(tmp_path: Path, n: int = 16) -> Path:
    """The fixture with n participants and a complete-ish TEPS table with holes at pre."""
    ds = Path(shutil.copytree(FIXTURE, tmp_path / "ds"))
    rng = np.random.default_rng(2024)
    pids = [f"sub-{i:02d}" for i in range(1, n + 1)]
    pd.DataFrame({"participant_id": pids, "sex": "F", "age": 40, "sequence": "PN"}).to_csv(
        ds / "participants.tsv", sep="\t", index=False
    )
    rows = []
    for k, pid in enumerate(pids):
        (ds / pid).mkdir(exist_ok=True)
        first = "placebo" if k % 2 else "naltrexone"
        second = "naltrexone" if k % 2 else "placebo"
        (ds / pid / f"{pid}_sessions.tsv").write_text(
            "session_id\tcondition\tperiod\tinfusion_start_s\n"
            f"ses-1\t{first}\t1\t1200\nses-2\t{second}\t2\t1200\n"
        )
        level = rng.normal()
        for ses in ("ses-1", "ses-2"):
            for tp in ("pre", "day1"):
                items = np.clip(np.round(3.5 + level + rng.normal(0, 0.8, 18)), 1, 6)
                items[6] = 7 - items[6]  # raw coding of the reversed item 7
                cells = [str(int(v)) for v in items]
                if tp == "pre" and rng.random() < 0.4:
                    for j in rng.choice([0, 2, 10, 13, 14], size=2, replace=False):
                        cells[j] = "n/a"
                rows.append([pid, ses, tp, *cells])
    cols = ["participant_id", "session_id", "timepoint"] + [f"teps_{i:02d}" for i in range(1, 19)]
    pd.DataFrame(rows, columns=cols).to_csv(ds / "phenotype" / "teps.tsv", sep="\t", index=False)
    return ds


def test_mice_scores_m_completed_tables(tmp_path):
    ds = larger_dataset(tmp_path)
    s = score_dataset(ds, MICE_RULES)
    assert len(s.imputations) == 4
    teps = s.long[s.long.scale == "teps"]
    imputed = teps[teps.imputed == "mice"]
    assert len(imputed) > 0 and not imputed.score.isna().any()
    assert set(imputed.subscale) == {"anticipatory", "total"}
    stacked = pd.concat(s.imputations)
    per = stacked[stacked.scale == "teps"].pivot_table(
        index=["participant_id", "session_id", "timepoint", "subscale"],
        columns="imputation",
        values="score",
    )
    main = teps.set_index(["participant_id", "session_id", "timepoint", "subscale"]).score
    main = main.dropna().loc[per.index]
    assert np.allclose(per.mean(axis=1), main)  # main table = mean over imputations
    varies = per.loc[imputed.set_index(per.index.names).index].std(axis=1)
    assert (varies > 0).any()
    complete = teps[(teps.imputed == "none") & teps.score.notna()]
    key = complete.set_index(per.index.names).index
    assert (per.loc[key].std(axis=1) == 0).all()
    rec = s.imputation_record
    assert set(rec[rec.scale == "teps"].outcome) == {"multiply imputed (m=4)"}
    # other scales are repeated unchanged in every completed table
    madrs = stacked[(stacked.scale == "madrs")].groupby("imputation").score.sum()
    assert madrs.nunique() == 1


def test_outputs_are_byte_identical_across_runs(tmp_path):
    ds = larger_dataset(tmp_path)
    cfg = tmp_path / "rules.yaml"
    cfg.write_text("clinical:\n  missing:\n    teps: {method: mice}\n  mice: {m: 3, seed: 9}\n")
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert command.run(argparse.Namespace(dataset=ds, out=out, config=cfg)) == 0
        digests.append({name: (out / name).read_bytes() for name in OUTPUT_FILES.values()})
    assert digests[0] == digests[1]
    mi = (tmp_path / "a" / "clinical_mi.tsv").read_text().splitlines()
    assert mi[0].startswith("imputation\tparticipant_id") and mi[-1].startswith("3\t")
    long = (tmp_path / "a" / "clinical.tsv").read_text().splitlines()
    assert long[1].split("\t")[:8] == [
        "sub-01",
        "ses-1",
        "naltrexone",
        "1",
        "pre",
        "madrs",
        "total",
        "30.0000",
    ]


def test_write_outputs_without_mice(tmp_path):
    paths = write_outputs(score_dataset(FIXTURE), tmp_path / "tables")
    assert sorted(p.name for p in paths.values()) == sorted(OUTPUT_FILES.values())
    assert paths["imputations"].read_text().count("\n") == 1  # header only
    madrs = paths["madrs"].read_text().splitlines()
    assert madrs[3] == (
        "sub-02\tses-1\tnaltrexone\t1\t38.0000\tn/a\tn/a\tn/a\tn/a\tn/a\tday-1 total missing"
    )
