"""Design matrices from a data frame and a parsed formula, coded as R's ``model.matrix`` does.

Factors use treatment contrasts (first level = reference; R's default ``contr.treatment``). As in
R, a factor in a term is coded by contrasts when the term with that factor removed is also in the
model (the empty term being the intercept), otherwise by indicators for all its levels. Columns
of an interaction vary the first variable fastest and are named ``a<level>:b<level>``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .formula import Formula, Term

INTERCEPT = "(Intercept)"


class DesignError(ValueError):
    """The data do not fit the formula; carries the offending column (``field``) if any."""

    def __init__(self, message: str, field: str | None = None, row: int | None = None):
        super().__init__(message)
        self.field = field
        self.row = row


@dataclass(frozen=True)
class Variable:
    """A model variable: ``kind`` is 'factor' (with ordered ``levels``) or 'numeric'."""

    name: str
    kind: str
    levels: tuple[str, ...] = ()


@dataclass
class Design:
    """Everything the fit needs, with ``n`` complete rows.

    y: (n,) response; X: (n, p) fixed effects with ``x_names``; ``term_columns`` maps each fixed
    term label to its column indices in X; Z: (n, q) random-effect columns with ``z_names``;
    ``groups``: (n,) integer codes into ``group_levels``; ``nested``: one (n,) array of codes per
    further random intercept (``formula.nested``), each level within one group.
    """

    formula: Formula
    y: np.ndarray
    X: np.ndarray
    x_names: list[str]
    term_columns: dict[str, list[int]]
    Z: np.ndarray
    z_names: list[str]
    groups: np.ndarray
    group_levels: list[str]
    variables: dict[str, Variable]
    frame: pd.DataFrame
    n_rows_input: int
    warnings: list[str] = field(default_factory=list)
    nested: list[np.ndarray] = field(default_factory=list)
    nested_levels: list[list[str]] = field(default_factory=list)

    @property
    def n_obs(self) -> int:
        return len(self.y)


def _level_label(value) -> str:
    """R-like text of a factor level: integral numbers without '.0'."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _observed_levels(col: pd.Series) -> list[str]:
    """Distinct values as level labels, sorted numerically for numeric columns."""
    values = pd.unique(col)
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        values = sorted(values)
    else:
        values = sorted(values, key=str)
    return list(dict.fromkeys(_level_label(v) for v in values))


def resolve_variables(
    frame: pd.DataFrame,
    formula: Formula,
    factors: dict[str, list[str] | None] | None = None,
    ref: dict[str, str] | None = None,
) -> dict[str, Variable]:
    """Decide the kind and levels of each predictor (not the response).

    Names in ``factors``/``ref`` that the formula does not use are ignored.
    ``factors[name]`` forces a factor; a list gives all its levels in order (first = reference),
    None sorts the observed levels. Non-numeric columns are factors anyway. ``ref[name]`` moves
    that level to the front (R's ``relevel``).
    """
    used = formula.variables[1:]
    factors = {k: v for k, v in (factors or {}).items() if k in used}
    ref = {k: v for k, v in (ref or {}).items() if k in used}
    out: dict[str, Variable] = {}
    parts = ([formula.random] if formula.random is not None else []) + list(formula.nested)
    grouping = {v for part in parts for v in part.group_variables}
    for name in used:
        col = frame[name]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if numeric and name not in factors and name not in grouping:
            if name in ref:
                raise DesignError(
                    f"a reference level is given for '{name}' but it is numeric; "
                    "list it as a factor too",
                    field=name,
                )
            out[name] = Variable(name, "numeric")
            continue
        observed = _observed_levels(col)
        levels = factors.get(name)
        if levels is None:
            levels = observed
        else:
            levels = [str(v) for v in levels]
            missing = [v for v in observed if v not in levels]
            extra = [v for v in levels if v not in observed]
            if missing or extra or len(set(levels)) != len(levels):
                raise DesignError(
                    f"levels given for factor '{name}' ({', '.join(levels)}) must list each "
                    f"observed level exactly once (observed: {', '.join(observed)})",
                    field=name,
                )
        if name in ref:
            if str(ref[name]) not in levels:
                raise DesignError(
                    f"reference level '{ref[name]}' does not occur in factor '{name}' "
                    f"(levels: {', '.join(levels)})",
                    field=name,
                )
            levels = [str(ref[name])] + [v for v in levels if v != str(ref[name])]
        if len(levels) < 2:
            what = "grouping factor" if name in grouping else "factor"
            raise DesignError(
                f"{what} '{name}' has only one level ({', '.join(levels)}) in the complete rows; "
                "at least two are needed",
                field=name,
            )
        out[name] = Variable(name, "factor", tuple(levels))
    return out


def _variable_columns(
    frame: pd.DataFrame, var: Variable, contrasts: bool
) -> tuple[np.ndarray, list[str]]:
    """(n, k) columns and names for one variable in one term."""
    if var.kind == "numeric":
        return frame[var.name].to_numpy(dtype=float)[:, None], [var.name]
    labels = frame[var.name].map(_level_label).to_numpy()
    levels = var.levels[1:] if contrasts else var.levels
    cols = np.column_stack([(labels == lev).astype(float) for lev in levels])
    return cols, [f"{var.name}{lev}" for lev in levels]


def term_columns(
    frame: pd.DataFrame,
    term: Term,
    variables: dict[str, Variable],
    coded_by_contrasts: dict[str, bool],
) -> tuple[np.ndarray, list[str]]:
    """(n, k) columns of an interaction term, first variable varying fastest."""
    parts = [_variable_columns(frame, variables[v], coded_by_contrasts.get(v, False)) for v in term]
    n = len(frame)
    cols, names = [], []
    for idx in itertools.product(*[range(len(p[1])) for p in reversed(parts)]):
        idx = idx[::-1]
        col = np.ones(n)
        for part, i in zip(parts, idx, strict=True):
            col = col * part[0][:, i]
        cols.append(col)
        names.append(":".join(part[1][i] for part, i in zip(parts, idx, strict=True)))
    return np.column_stack(cols), names


def model_matrix(
    frame: pd.DataFrame, terms: tuple[Term, ...], intercept: bool, variables: dict[str, Variable]
) -> tuple[np.ndarray, list[str], list[list[int]]]:
    """R-style model matrix: (n, p) array, column names, column indices of each term."""
    term_sets = {frozenset(t) for t in terms}
    cols = [np.ones((len(frame), 1))] if intercept else []
    names = [INTERCEPT] if intercept else []
    per_term = []
    for term in terms:
        coding = {}
        for v in term:
            if variables[v].kind != "factor":
                continue
            margin = frozenset(term) - {v}
            coding[v] = intercept if not margin else margin in term_sets
        block, block_names = term_columns(frame, term, variables, coding)
        start = sum(c.shape[1] for c in cols)
        per_term.append(list(range(start, start + block.shape[1])))
        cols.append(block)
        names += block_names
    X = np.column_stack(cols) if cols else np.zeros((len(frame), 0))
    return X, names, per_term


def full_indicator_matrix(
    frame: pd.DataFrame, terms: tuple[Term, ...], intercept: bool, variables: dict[str, Variable]
) -> tuple[np.ndarray, list[str], list[str]]:
    """Over-parameterised design (every factor by indicators of all levels), as used for SAS
    type III hypotheses: (n, pp) array, column names, term label of each column."""
    cols = [np.ones((len(frame), 1))] if intercept else []
    names = [INTERCEPT] if intercept else []
    owner = [INTERCEPT] if intercept else []
    for term in terms:
        block, block_names = term_columns(frame, term, variables, {})
        cols.append(block)
        names += block_names
        owner += [":".join(term)] * len(block_names)
    return np.column_stack(cols), names, owner


def _dependent_columns(X: np.ndarray, tol: float = 1e-9) -> list[int]:
    """Indices of columns that are linear combinations of earlier ones."""
    dropped, kept = [], []
    scale = np.maximum(np.linalg.norm(X, axis=0), 1e-300)
    Xs = X / scale
    for j in range(X.shape[1]):
        trial = kept + [j]
        if np.linalg.matrix_rank(Xs[:, trial], tol=tol * np.sqrt(X.shape[0])) < len(trial):
            dropped.append(j)
        else:
            kept.append(j)
    return dropped


def build_design(
    data: pd.DataFrame,
    formula: Formula,
    factors: dict[str, list[str] | None] | None = None,
    ref: dict[str, str] | None = None,
) -> Design:
    """Check the data against the formula and build y, X, Z and the grouping codes.

    Rows with a missing value in any used column are dropped (R's ``na.omit``).
    Raises :class:`DesignError` naming the column for every problem found.
    """
    if formula.random is None:
        raise DesignError("the formula needs one random-effect term such as (1 | subject)")
    missing = [v for v in formula.variables if v not in data.columns]
    if missing:
        raise DesignError(
            f"column(s) {', '.join(repr(m) for m in missing)} named in the formula are not in "
            f"the data (columns: {', '.join(map(str, data.columns))})",
            field=missing[0],
        )
    unknown = [v for v in list(factors or {}) + list(ref or {}) if v not in data.columns]
    if unknown:
        raise DesignError(
            f"factor/reference column(s) {', '.join(repr(u) for u in unknown)} are not in the "
            f"data (columns: {', '.join(map(str, data.columns))})",
            field=unknown[0],
        )
    response = formula.response
    ycol = data[response]
    if not pd.api.types.is_numeric_dtype(ycol) or pd.api.types.is_bool_dtype(ycol):
        converted = pd.to_numeric(ycol, errors="coerce")
        bad = ycol.notna() & converted.isna()
        first = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else None
        shown = f"; data row {first + 1} has {ycol.iloc[first]!r}" if first is not None else ""
        raise DesignError(f"response '{response}' must be numeric{shown}", field=response, row=None)
    frame = data[formula.variables].copy()
    n_rows_input = len(frame)
    frame = frame.dropna().reset_index(drop=True)
    warnings = []
    if len(frame) < n_rows_input:
        warnings.append(f"{n_rows_input - len(frame)} row(s) with missing values were dropped")
    if not np.all(np.isfinite(frame[response].to_numpy(dtype=float))):
        raise DesignError(f"response '{response}' has non-finite values", field=response)
    if frame[response].nunique() < 2:
        raise DesignError(f"response '{response}' is constant in the complete rows", field=response)
    variables = resolve_variables(frame, formula, factors, ref)
    X, x_names, per_term = model_matrix(frame, formula.terms, formula.intercept, variables)
    if X.shape[1] == 0:
        raise DesignError("the model has no fixed effects; include at least an intercept")
    dependent = _dependent_columns(X)
    if dependent:
        raise DesignError(
            "the fixed-effect design is rank deficient (empty cells or collinear predictors); "
            f"column(s) {', '.join(x_names[j] for j in dependent)} are linear combinations of "
            "earlier columns"
        )
    rand = formula.random
    Z, z_names, _ = model_matrix(frame, rand.terms, rand.intercept, variables)
    gvals = frame[rand.group].map(_level_label)
    group_levels = list(variables[rand.group].levels)
    groups = pd.Categorical(gvals, categories=group_levels).codes.astype(int)
    nested, nested_levels = _nested_codes(frame, formula, groups, group_levels)
    if len(frame) <= X.shape[1]:
        raise DesignError(
            f"only {len(frame)} complete rows for {X.shape[1]} fixed-effect columns", field=response
        )
    return Design(
        formula=formula,
        y=frame[response].to_numpy(dtype=float),
        X=X,
        x_names=x_names,
        term_columns={":".join(t): cols for t, cols in zip(formula.terms, per_term, strict=True)},
        Z=Z,
        z_names=z_names,
        groups=groups,
        group_levels=group_levels,
        variables=variables,
        frame=frame,
        n_rows_input=n_rows_input,
        warnings=warnings,
        nested=nested,
        nested_levels=nested_levels,
    )


def _nested_codes(
    frame: pd.DataFrame, formula: Formula, groups: np.ndarray, group_levels: list[str]
) -> tuple[list[np.ndarray], list[list[str]]]:
    """Codes (n,) and level labels ('g:h' values joined by ':') of each nested intercept.

    Raises :class:`DesignError` when a level spans two groups of the first term (crossed
    random effects, which this engine does not fit) or when there is one level per group
    (the two variances are not identifiable)."""
    codes, levels = [], []
    for part in formula.nested:
        columns = [frame[v].map(_level_label) for v in part.group_variables]
        labels = [":".join(values) for values in zip(*columns, strict=True)]
        cat = pd.Categorical(labels)
        code = cat.codes.astype(int)
        spans = pd.Series(groups).groupby(code).nunique()
        if (spans > 1).any():
            level = str(cat.categories[int(spans.index[int(np.argmax(spans.to_numpy() > 1))])])
            raise DesignError(
                f"random-effect grouping '{part.group}' is not nested in "
                f"'{formula.random.group}': level '{level}' occurs in more than one "
                f"{formula.random.group} (crossed random effects are not supported)",
                field=part.group_variables[-1],
            )
        if len(cat.categories) == len(group_levels):
            raise DesignError(
                f"random-effect grouping '{part.group}' has one level per "
                f"{formula.random.group} in the complete rows, so its variance cannot be told "
                f"from that of '{formula.random.group}'",
                field=part.group_variables[-1],
            )
        codes.append(code)
        levels.append([str(c) for c in cat.categories])
    return codes, levels
