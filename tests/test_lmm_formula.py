"""Formula parsing and R-style design matrices of fmrstrial.lmm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmrstrial.lmm.design import DesignError, build_design
from fmrstrial.lmm.formula import FormulaError, parse_formula


@pytest.mark.parametrize(
    ("text", "labels", "intercept"),
    [
        ("value ~ condition*time + (1|subject)", ["condition", "time", "condition:time"], True),
        (
            "value ~ condition*phase + period + (1 + phase|subject)",
            ["condition", "phase", "period", "condition:phase"],
            True,
        ),
        ("y ~ a*b*c - a:b:c + (1|g)", ["a", "b", "c", "a:b", "a:c", "b:c"], True),
        ("y ~ (a + b):c - 1 + (1|g)", ["a:c", "b:c"], False),
        ("y ~ 0 + a + (1|g)", ["a"], False),
        ("y ~ b:a + a + (1|g)", ["a", "b:a"], True),
        ("y ~ 1 + (1|g)", [], True),
        ("y ~ `odd name` + (1|g)", ["odd name"], True),
    ],
)
def test_fixed_terms_in_r_order(text, labels, intercept):
    f = parse_formula(text)
    assert f.term_labels == labels
    assert f.intercept is intercept


@pytest.mark.parametrize(
    ("text", "intercept", "labels"),
    [
        ("y ~ x + (1|g)", True, []),
        ("y ~ x + (1 + x|g)", True, ["x"]),
        ("y ~ x + (x|g)", True, ["x"]),
        ("y ~ x + (0 + x|g)", False, ["x"]),
        ("y ~ x + (x - 1|g)", False, ["x"]),
        ("y ~ x + (1 + x + z|g)", True, ["x", "z"]),
    ],
)
def test_random_part(text, intercept, labels):
    rand = parse_formula(text).random
    assert rand.group == "g"
    assert rand.intercept is intercept
    assert [":".join(t) for t in rand.terms] == labels


def test_variables_in_order_of_appearance():
    f = parse_formula("value ~ condition*time + period + (1 + time|subject)")
    assert f.response == "value"
    assert f.variables == ["value", "condition", "time", "period", "subject"]


def test_nested_intercepts_and_lme4_slash_expansion():
    a = parse_formula("y ~ a + (1 | g) + (1 | g:h)")
    b = parse_formula("y ~ a + (1 | g/h)")
    assert (a.random, a.nested) == (b.random, b.nested)
    assert a.random.group == "g" and [p.group for p in a.nested] == ["g:h"]
    assert a.nested[0].group_variables == ("g", "h")
    assert a.variables == b.variables == ["y", "a", "g", "h"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("y ~ a + (1|g:h)", "must group by a single column"),
        ("y ~ a + (1|g) + (a|g:h)", "only random intercepts"),
        ("y ~ a + (1 + a|g/h)", "only random intercepts"),
        ("y ~ a + (1|g) + (1|g)", "same grouping"),
        ("y ~ a + (1|g/h/k)", "two columns at most"),
        ("y ~ a*(1|g)", "top-level"),
        ("y ~ a + 2", "only 0 or 1"),
        ("y ~ a +", "unexpected end"),
        ("y a", "response ~ terms"),
        ("y ~ a $ b", "unexpected character '$'"),
        ("y + z ~ a", "single column name"),
        ("y ~ y + (1|g)", "also appears among the predictors"),
        ("y ~ a + (0|g)", "has no effects"),
        ("y ~ a + (1|g) )", "after the end"),
    ],
)
def test_formula_errors(text, fragment):
    with pytest.raises(FormulaError, match=None) as exc:
        parse_formula(text)
    assert fragment in str(exc.value)


def _frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(6):
        for a in ("x", "y", "z"):
            for b in ("lo", "mid", "hi"):
                rows.append({"g": f"s{s}", "a": a, "b": b, "n": rng.normal(), "y": rng.normal()})
    return pd.DataFrame(rows)


def test_treatment_coding_and_interaction_column_order():
    d = build_design(_frame(), parse_formula("y ~ a*b + (1|g)"))
    # levels sorted (hi, lo, mid), first variable varies fastest in the interaction
    assert d.x_names == [
        "(Intercept)", "ay", "az", "blo", "bmid",
        "ay:blo", "az:blo", "ay:bmid", "az:bmid",
    ]  # fmt: skip
    assert d.term_columns == {"a": [1, 2], "b": [3, 4], "a:b": [5, 6, 7, 8]}
    row = d.frame.index[(d.frame.a == "z") & (d.frame.b == "mid")][0]
    np.testing.assert_array_equal(d.X[row], [1, 0, 1, 0, 1, 0, 0, 0, 1])


def test_reference_levels_and_explicit_level_order():
    d = build_design(
        _frame(), parse_formula("y ~ a + b + (1|g)"),
        factors={"b": ["lo", "mid", "hi"]}, ref={"a": "z"},
    )  # fmt: skip
    assert d.x_names == ["(Intercept)", "ax", "ay", "bmid", "bhi"]
    assert d.variables["a"].levels == ("z", "x", "y")


def test_indicator_coding_when_margin_is_absent():
    # R: in 'n:a' without a main effect for a, a is coded by all its levels
    d = build_design(_frame(), parse_formula("y ~ n:a + (1|g)"))
    assert d.x_names == ["(Intercept)", "n:ax", "n:ay", "n:az"]
    d0 = build_design(_frame(), parse_formula("y ~ 0 + a + (1|g)"))
    assert d0.x_names == ["ax", "ay", "az"]


def test_numeric_column_as_factor_sorts_numerically():
    df = _frame().assign(period=np.tile([1, 2, 10], 18))
    d = build_design(df, parse_formula("y ~ period + (1|g)"), factors={"period": None})
    assert d.x_names == ["(Intercept)", "period2", "period10"]
    d_num = build_design(df, parse_formula("y ~ period + (1|g)"))
    assert d_num.x_names == ["(Intercept)", "period"]


def test_random_slope_design_and_groups():
    d = build_design(_frame(), parse_formula("y ~ b + (1 + b|g)"), ref={"b": "lo"})
    assert d.z_names == ["(Intercept)", "bhi", "bmid"]
    assert d.group_levels == [f"s{s}" for s in range(6)]
    assert np.bincount(d.groups).tolist() == [9] * 6


def test_missing_values_are_dropped_with_a_warning():
    df = _frame()
    df.loc[[0, 5], "y"] = np.nan
    d = build_design(df, parse_formula("y ~ a + (1|g)"))
    assert d.n_obs == len(df) - 2 and d.n_rows_input == len(df)
    assert d.warnings == ["2 row(s) with missing values were dropped"]


@pytest.mark.parametrize(
    ("formula", "kwargs", "edit", "field", "fragment"),
    [
        ("y ~ a + nope + (1|g)", {}, None, "nope", "not in the data"),
        ("y ~ a + (1|g)", {}, lambda df: df.assign(y="text"), "y", "must be numeric"),
        ("y ~ a + (1|g)", {}, lambda df: df.assign(a="x"), "a", "only one level"),
        ("y ~ a + (1|g)", {}, lambda df: df.assign(g="s0"), "g", "only one level"),
        ("y ~ a + (1|g)", {"ref": {"a": "w"}}, None, "a", "reference level 'w' does not occur"),
        ("y ~ a + (1|g)", {"factors": {"a": ["x", "y"]}}, None, "a", "exactly once"),
        ("y ~ a + (1|g)", {"factors": {"zz": None}}, None, "zz", "not in the data"),
        ("y ~ n + (1|g)", {"ref": {"n": "1"}}, None, "n", "is numeric"),
        ("y ~ a", {}, None, None, "random-effect term"),
        ("y ~ a + (1|g)", {}, lambda df: df.assign(y=2.0), "y", "is constant"),
        ("y ~ a + b + a:b + (1|g)", {}, lambda df: df[~((df.a == "x") & (df.b == "lo"))],
         None, "rank deficient"),
    ],
)  # fmt: skip
def test_design_errors_name_the_column(formula, kwargs, edit, field, fragment):
    df = _frame()
    if edit is not None:
        df = edit(df)
    with pytest.raises(DesignError) as exc:
        build_design(df, parse_formula(formula), **kwargs)
    assert fragment in str(exc.value)
    assert exc.value.field == field


def test_non_numeric_response_error_shows_the_offending_value():
    df = _frame().astype({"y": object})
    df.loc[4, "y"] = "n.d."
    with pytest.raises(DesignError, match=r"row 5 has 'n.d.'"):
        build_design(df, parse_formula("y ~ a + (1|g)"))
