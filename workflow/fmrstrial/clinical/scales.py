"""Scale definitions: item ranges, reverse-keyed items and score rules from YAML resources.

Each file ``workflow/resources/scales/<id>.yaml`` describes one rating scale (see the README
next to the files). Rules are applied to RECODED items, i.e. after reversing the items listed
in ``reverse_items`` (recoded = item_min + item_max - raw).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..errors import InputError, Problem
from ..paths import resource

#: Timepoints in chronological order (labels used in phenotype files).
TIMEPOINTS = ("pre", "post", "day1")

#: Order in which scales appear in every output table.
SCALE_ORDER = ("madrs", "qids_sr16", "shaps", "teps", "m3vas", "cadss", "psi")

RULES = ("sum", "max_of_groups", "count_at_least", "item")
REQUIRED_KEYS = (
    "id",
    "name",
    "citation",
    "timepoints",
    "items",
    "item_min",
    "item_max",
    "integer",
    "worse",
    "reverse_items",
    "item_labels",
    "scores",
)


@dataclass(frozen=True)
class ScoreRule:
    """How one score (total or subscale) is computed from recoded items.

    items: 1-based item numbers used; groups: for ``max_of_groups`` (each a tuple of items);
    threshold: for ``count_at_least``; range: theoretical (min, max) of the score.
    """

    name: str
    rule: str
    items: tuple[int, ...]
    range: tuple[float, float]
    groups: tuple[tuple[int, ...], ...] = ()
    threshold: float | None = None
    worse: str = "high"

    @property
    def units(self) -> tuple[tuple[int, ...], ...]:
        """The units that missing-data rules count: groups for max_of_groups, else items."""
        if self.rule == "max_of_groups":
            return self.groups
        return tuple((i,) for i in self.items)


@dataclass(frozen=True)
class Scale:
    """One rating scale. ``scale["key"]`` gives the raw YAML value of any key."""

    id: str
    name: str
    citation: str
    timepoints: tuple[str, ...]
    n_items: int
    item_min: float
    item_max: float
    integer: bool
    worse: str
    reverse_items: tuple[int, ...]
    item_labels: tuple[str, ...]
    scores: dict[str, ScoreRule]
    verified: bool = True
    source: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def __getitem__(self, key: str):
        return self.raw[key]

    @property
    def columns(self) -> list[str]:
        """Item column names in the phenotype file: ``<id>_01`` .. ``<id>_NN``."""
        return [item_column(self.id, i) for i in range(1, self.n_items + 1)]

    def recode(self, raw: np.ndarray) -> np.ndarray:
        """Recode raw items (array ..., n_items; NaN = missing): reverse the reverse_items."""
        out = np.array(raw, dtype=float, copy=True)
        for i in self.reverse_items:
            out[..., i - 1] = self.item_min + self.item_max - out[..., i - 1]
        return out


def item_column(scale_id: str, item: int) -> str:
    """Column name of one item, with a two-digit item number (``madrs_01``)."""
    return f"{scale_id}_{item:02d}"


def _items(value, n_items: int) -> tuple[int, ...]:
    if value == "all":
        return tuple(range(1, n_items + 1))
    return tuple(int(v) for v in value)


def _theoretical_range(rule: ScoreRule, lo: float, hi: float) -> tuple[float, float]:
    if rule.rule == "sum":
        return len(rule.items) * lo, len(rule.items) * hi
    if rule.rule == "max_of_groups":
        return len(rule.groups) * lo, len(rule.groups) * hi
    if rule.rule == "count_at_least":
        return 0.0, float(len(rule.items))
    return lo, hi


def _parse_rule(
    name: str, spec, scale: dict, where: str, problems: list[Problem]
) -> ScoreRule | None:
    n = int(scale["items"])
    bad = len(problems)
    if not isinstance(spec, Mapping):
        problems.append(Problem(where, f"score '{name}' must be a mapping"))
        return None
    kind = spec.get("rule")
    if kind not in RULES:
        problems.append(Problem(where, f"score '{name}': rule must be one of {', '.join(RULES)}"))
        return None
    try:
        items = _items(spec.get("items", "all"), n)
        groups = tuple(tuple(int(i) for i in g) for g in spec.get("groups", ()))
        lo_hi = tuple(float(v) for v in spec["range"])
    except (KeyError, TypeError, ValueError) as exc:
        problems.append(Problem(where, f"score '{name}': malformed items/groups/range ({exc})"))
        return None
    used = set(items) | {i for g in groups for i in g}
    if not used or min(used) < 1 or max(used) > n:
        problems.append(Problem(where, f"score '{name}': item numbers must lie in 1..{n}"))
    if kind == "max_of_groups":
        flat = [i for g in groups for i in g]
        if not groups or sorted(flat) != sorted(items) or len(set(flat)) != len(flat):
            problems.append(
                Problem(where, f"score '{name}': groups must partition the score's items")
            )
    if kind == "count_at_least" and "threshold" not in spec:
        problems.append(Problem(where, f"score '{name}': count_at_least needs a threshold"))
    if kind == "item" and len(items) != 1:
        problems.append(Problem(where, f"score '{name}': rule 'item' takes exactly one item"))
    if len(lo_hi) != 2:
        problems.append(Problem(where, f"score '{name}': range must be [min, max]"))
    if len(problems) > bad:
        return None
    rule = ScoreRule(
        name=name,
        rule=kind,
        items=items,
        range=lo_hi,
        groups=groups,
        threshold=float(spec["threshold"]) if "threshold" in spec else None,
        worse=str(spec.get("worse", scale.get("worse", "high"))),
    )
    expected = _theoretical_range(rule, float(scale["item_min"]), float(scale["item_max"]))
    if tuple(expected) != tuple(lo_hi):
        problems.append(
            Problem(
                where,
                f"score '{name}': declared range {list(lo_hi)} differs from the range "
                f"{list(expected)} implied by its rule and the item range",
            )
        )
        return None
    return rule


def parse_scale(doc: dict, source: str = "<scale>") -> Scale:
    """Validate one scale definition (a parsed YAML mapping); InputError listing problems."""
    problems: list[Problem] = []
    if not isinstance(doc, Mapping):
        raise InputError("scale definition must be a YAML mapping", file=source)
    missing = [k for k in REQUIRED_KEYS if k not in doc]
    if missing:
        raise InputError(f"missing required key(s): {', '.join(missing)}", file=source)
    n = doc["items"]
    if not isinstance(n, int) or n < 1:
        raise InputError("'items' must be a positive integer (number of items)", file=source)
    if not doc["item_min"] < doc["item_max"]:
        problems.append(Problem(source, "item_min must be smaller than item_max"))
    if doc["worse"] not in ("high", "low"):
        problems.append(Problem(source, "'worse' must be 'high' or 'low'"))
    if len(doc["item_labels"]) != n:
        problems.append(
            Problem(source, f"item_labels has {len(doc['item_labels'])} entries, expected {n}")
        )
    if any(not 1 <= int(i) <= n for i in doc["reverse_items"]):
        problems.append(Problem(source, f"reverse_items must lie in 1..{n}"))
    bad_tp = [t for t in doc["timepoints"] if t not in TIMEPOINTS]
    if bad_tp or not doc["timepoints"]:
        problems.append(Problem(source, f"timepoints must be a non-empty subset of {TIMEPOINTS}"))
    scores = {}
    if not isinstance(doc["scores"], Mapping) or not doc["scores"]:
        problems.append(Problem(source, "'scores' must be a non-empty mapping"))
    else:
        for name, spec in doc["scores"].items():
            rule = _parse_rule(str(name), spec, doc, source, problems)
            if rule is not None:
                scores[str(name)] = rule
    if problems:
        raise InputError(problems)
    return Scale(
        id=str(doc["id"]),
        name=str(doc["name"]),
        citation=str(doc["citation"]),
        timepoints=tuple(t for t in TIMEPOINTS if t in doc["timepoints"]),
        n_items=n,
        item_min=float(doc["item_min"]),
        item_max=float(doc["item_max"]),
        integer=bool(doc["integer"]),
        worse=str(doc["worse"]),
        reverse_items=tuple(sorted(int(i) for i in doc["reverse_items"])),
        item_labels=tuple(str(s) for s in doc["item_labels"]),
        scores=scores,
        verified=bool(doc.get("verified", True)),
        source=source,
        raw=dict(doc),
    )


def _order_key(scale_id: str) -> tuple[int, str]:
    pos = SCALE_ORDER.index(scale_id) if scale_id in SCALE_ORDER else len(SCALE_ORDER)
    return pos, scale_id


def load_scales(directory: str | os.PathLike | None = None) -> dict[str, Scale]:
    """All scale definitions, keyed by id, in output order (madrs, qids_sr16, ...).

    ``directory`` defaults to the shipped ``workflow/resources/scales``.
    """
    directory = Path(directory) if directory is not None else resource("scales")
    scales: dict[str, Scale] = {}
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            scale = parse_scale(doc, source=str(path))
        except yaml.YAMLError as exc:
            problems.append(Problem(str(path), f"not valid YAML ({exc})"))
            continue
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if scale.id != path.stem:
            problems.append(Problem(str(path), f"id '{scale.id}' differs from the file name"))
            continue
        scales[scale.id] = scale
    if problems:
        raise InputError(problems)
    if not scales:
        raise InputError("no scale definitions (*.yaml) found", file=str(directory))
    return {k: scales[k] for k in sorted(scales, key=_order_key)}
