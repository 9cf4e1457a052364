"""Parse lme4-style model formulas: ``y ~ a*b + c + (1 + x | g)``.

Supported fixed-effect syntax: ``+``, ``-`` (term removal, ``- 1`` drops the intercept), ``*``
(crossing: ``a*b`` = ``a + b + a:b``), ``:`` (interaction), ``0``/``1`` and parentheses for
grouping (``(a + b):c``). The first random-effect term ``(lhs | g)`` has a single grouping
column; its left side follows the same syntax (intercept implied unless ``0 +`` or ``- 1``),
e.g. ``(1 | g)``, ``(1 + x | g)`` (correlated intercept and slope), ``(x | g)``. Further terms
are random intercepts of groups nested in ``g`` (checked on the data): ``(1 | g:h)``, or
``(1 | g/h)``, which lme4 expands to ``(1 | g) + (1 | g:h)``.

Terms are tuples of variable names ordered by first appearance in the formula, and the fixed
terms are ordered by interaction order as R's ``terms()`` does (``a*b + c`` gives
``a, b, c, a:b``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Term = tuple[str, ...]

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_.][A-Za-z0-9_.]*|`[^`]+`)|(?P<num>\d+)|(?P<op>[~+\-*:|()/]))"
)


class FormulaError(ValueError):
    """The formula text cannot be parsed or uses unsupported syntax."""


@dataclass(frozen=True)
class RandomPart:
    """One random-effect term ``(terms | group)``; ``group`` is 'g' or an interaction 'g:h'."""

    group: str
    intercept: bool
    terms: tuple[Term, ...]

    @property
    def group_variables(self) -> tuple[str, ...]:
        return tuple(self.group.split(":"))

    @property
    def labels(self) -> list[str]:
        return (["1"] if self.intercept else []) + [":".join(t) for t in self.terms]


@dataclass(frozen=True)
class Formula:
    """A parsed mixed-model formula."""

    text: str
    response: str
    intercept: bool
    terms: tuple[Term, ...]
    random: RandomPart | None
    nested: tuple[RandomPart, ...] = ()  # further random intercepts, nested in `random`

    @property
    def term_labels(self) -> list[str]:
        """R-style term labels of the fixed part (without the intercept)."""
        return [":".join(t) for t in self.terms]

    @property
    def variables(self) -> list[str]:
        """All data columns used: response, fixed and random variables, grouping column."""
        out = [self.response]
        parts = list(self.terms)
        if self.random is not None:
            parts += list(self.random.terms)
        for term in parts:
            out += [v for v in term if v not in out]
        for part in ([self.random] if self.random is not None else []) + list(self.nested):
            out += [v for v in part.group_variables if v not in out]
        return out


@dataclass
class _Spec:
    """Intermediate result of parsing a sub-expression: a set of terms and intercept flags."""

    terms: list[frozenset[str]]
    intercept: bool | None = None  # True: '1', False: '0' / '-1', None: not mentioned
    random: list[tuple[_Spec, str]] | None = None


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.order: dict[str, int] = {}

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                char = text[pos:].strip()[:1]
                raise FormulaError(f"unexpected character {char!r} at position {pos}")
            kind = m.lastgroup
            value = m.group(kind)
            if kind == "name" and value.startswith("`"):
                value = value[1:-1]
            tokens.append((kind, value))
            pos = m.end()
        return tokens

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise FormulaError(f"unexpected end of formula, expected {value or 'a term'!r}")
        if value is not None and tok[1] != value:
            raise FormulaError(f"expected {value!r} but found {tok[1]!r}")
        self.pos += 1
        return tok

    def name(self, value: str) -> str:
        self.order.setdefault(value, len(self.order))
        return value

    # expr := ['-'] product (('+' | '-') product)*
    def expr(self, allow_random: bool) -> _Spec:
        spec = _Spec(terms=[], random=[])
        sign = "+"
        if self.peek() == ("op", "-"):
            self.take()
            sign = "-"
        while True:
            part = self.product(allow_random)
            self._combine(spec, part, sign)
            tok = self.peek()
            if tok is None or tok[1] not in "+-":
                return spec
            sign = self.take()[1]

    @staticmethod
    def _combine(spec: _Spec, part: _Spec, sign: str) -> None:
        if part.random:
            if sign == "-":
                raise FormulaError("a random-effect term cannot be removed with '-'")
            spec.random += part.random
        if part.intercept is not None:
            spec.intercept = part.intercept if sign == "+" else not part.intercept
        for term in part.terms:
            if sign == "+" and term not in spec.terms:
                spec.terms.append(term)
            elif sign == "-" and term in spec.terms:
                spec.terms.remove(term)

    # product := atom (('*' | ':') atom)*
    def product(self, allow_random: bool) -> _Spec:
        left = self.atom(allow_random)
        while (tok := self.peek()) is not None and tok[1] in "*:":
            op = self.take()[1]
            right = self.atom(allow_random=False)
            if any(s.random or s.intercept is not None for s in (left, right)):
                raise FormulaError(f"'{op}' can only combine variables, not 0/1 or random terms")
            crossed = [a | b for a in left.terms for b in right.terms]
            terms = (left.terms + right.terms + crossed) if op == "*" else crossed
            left = _Spec(terms=list(dict.fromkeys(terms)), random=[])
        return left

    def _group_name(self) -> str:
        kind, group = self.take()
        if kind != "name":
            raise FormulaError(f"expected a grouping column after '|', found {group!r}")
        return self.name(group)

    def atom(self, allow_random: bool) -> _Spec:
        kind, value = self.take()
        if kind == "name":
            return _Spec(terms=[frozenset([self.name(value)])], random=[])
        if kind == "num":
            if value not in ("0", "1"):
                raise FormulaError(f"only 0 or 1 may appear as numbers in a formula, not {value}")
            return _Spec(terms=[], intercept=value == "1", random=[])
        if value == "(":
            inner = self.expr(allow_random=False)
            if self.peek() == ("op", "|"):
                if not allow_random:
                    raise FormulaError("a random-effect term '( ... | g)' must be a top-level term")
                self.take("|")
                names, separators = [self._group_name()], []
                while self.peek() in (("op", ":"), ("op", "/")):
                    separators.append(self.take()[1])
                    names.append(self._group_name())
                self.take(")")
                if "/" in separators and len(names) > 2:
                    raise FormulaError(
                        "a grouping may be 'g', 'g:h' or 'g/h' (two columns at most for '/')"
                    )
                if "/" in separators:  # lme4: (lhs | g/h) = (lhs | g) + (lhs | g:h)
                    return _Spec(terms=[], random=[(inner, names[0]), (inner, ":".join(names))])
                return _Spec(terms=[], random=[(inner, ":".join(names))])
            self.take(")")
            return inner
        raise FormulaError(f"unexpected {value!r}")


def _ordered(parser: _Parser, terms: list[frozenset[str]]) -> tuple[Term, ...]:
    """Variables within a term by first appearance; terms by interaction order (stable)."""
    tuples = [tuple(sorted(t, key=parser.order.__getitem__)) for t in terms]
    return tuple(sorted(tuples, key=len))


def parse_formula(text: str) -> Formula:
    """Parse ``response ~ fixed terms [+ (re terms | group)]`` into a :class:`Formula`."""
    if not isinstance(text, str) or "~" not in text:
        raise FormulaError(f"formula must look like 'response ~ terms', got {text!r}")
    parser = _Parser(text)
    kind, response = parser.take()
    if kind != "name":
        raise FormulaError(f"the response must be a column name, found {response!r}")
    parser.name(response)
    if parser.peek() != ("op", "~"):
        raise FormulaError("the response must be a single column name followed by '~'")
    parser.take("~")
    spec = parser.expr(allow_random=True)
    if parser.peek() is not None:
        raise FormulaError(f"unexpected {parser.peek()[1]!r} after the end of the formula")
    parts = []
    for inner, group in spec.random:
        re_intercept = inner.intercept is not False
        re_terms = _ordered(parser, inner.terms)
        if not re_intercept and not re_terms:
            raise FormulaError(f"the random-effect term for '{group}' has no effects")
        parts.append(RandomPart(group=group, intercept=re_intercept, terms=re_terms))
    random = parts[0] if parts else None
    if random is not None and ":" in random.group:
        raise FormulaError(
            f"the first random-effect term must group by a single column, not '{random.group}'"
        )
    for part in parts[1:]:
        if part.terms or not part.intercept:
            raise FormulaError(
                f"only random intercepts '(1 | {part.group})' may follow the first random-effect "
                "term; use (1 + x | g) in the first term for correlated effects"
            )
    if len({p.group for p in parts}) < len(parts):
        raise FormulaError("two random-effect terms have the same grouping")
    if any(response in t for t in spec.terms):
        raise FormulaError(f"the response '{response}' also appears among the predictors")
    return Formula(
        text=text,
        response=response,
        intercept=spec.intercept is not False,
        terms=_ordered(parser, spec.terms),
        random=random,
        nested=tuple(parts[1:]),
    )
