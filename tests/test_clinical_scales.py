"""Scale definition files: the contract with the simulator, coding choices, validation."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from fmrstrial.clinical import SCALE_ORDER, load_scales
from fmrstrial.clinical.scales import REQUIRED_KEYS, parse_scale
from fmrstrial.errors import InputError
from fmrstrial.paths import resource


@pytest.fixture(scope="module")
def scales():
    return load_scales()


def test_all_scales_load_in_output_order(scales):
    assert tuple(scales) == SCALE_ORDER


@pytest.mark.parametrize("scale_id", SCALE_ORDER)
def test_yaml_has_every_key_the_simulator_reads(scale_id):
    doc = yaml.safe_load(resource("scales", f"{scale_id}.yaml").read_text())
    assert set(REQUIRED_KEYS) <= set(doc)
    assert doc["id"] == scale_id
    assert len(doc["item_labels"]) == doc["items"]
    assert doc["worse"] in ("high", "low")
    assert "doi" in doc["citation"]
    assert doc["coding"].strip()
    for spec in doc["scores"].values():
        assert spec["rule"] in ("sum", "max_of_groups", "count_at_least", "item")
        assert len(spec["range"]) == 2


def _partition(scale, names):
    items = sorted(i for n in names for i in scale.scores[n].items)
    return items == list(range(1, scale.n_items + 1))


def test_subscale_maps_partition_the_items(scales):
    assert _partition(scales["teps"], ["anticipatory", "consummatory"])
    assert _partition(scales["cadss"], ["depersonalization", "derealization", "amnesia"])
    # PSI subscales are not scored: the published item key could not be verified
    assert list(scales["psi"].scores) == ["total"]


def test_coding_choices(scales):
    assert scales["shaps"].reverse_items == (1, 3, 6, 8, 10, 11, 13)
    assert scales["teps"].reverse_items == (7,)
    assert scales["teps"].scores["anticipatory"].items == (1, 3, 7, 11, 12, 14, 15, 16, 17, 18)
    assert list(scales["m3vas"].scores)[:3] == ["mood", "anhedonia", "suicidal_ideation"]
    assert scales["m3vas"].worse == "high" and scales["teps"].worse == "low"
    assert scales["qids_sr16"].scores["total"].range == (0.0, 27.0)
    assert scales["shaps"].scores["total"].range == (0.0, 14.0)
    assert scales["shaps"].scores["continuous"].range == (14.0, 56.0)
    assert not scales["psi"].verified and not scales["cadss"].verified
    assert scales["madrs"]["worse"] == "high"  # raw YAML access


def test_recode_reverses_only_the_listed_items(scales):
    shaps = scales["shaps"]
    raw = np.ones((1, 14))  # first printed option ticked on every item
    recoded = shaps.recode(raw)[0]
    for i in range(1, 15):
        expected = 4.0 if i in shaps.reverse_items else 1.0
        assert recoded[i - 1] == expected, i
    assert np.isnan(scales["teps"].recode(np.full((1, 18), np.nan))).all()


def _doc(scale_id="madrs"):
    return copy.deepcopy(load_scales()[scale_id].raw)


def test_declared_range_must_match_the_rule():
    doc = _doc()
    doc["scores"]["total"]["range"] = [0, 50]
    with pytest.raises(InputError, match=r"declared range \[0.0, 50.0\] differs .* \[0.0, 60.0\]"):
        parse_scale(doc, "madrs.yaml")


def test_bad_definitions_are_reported_together():
    doc = _doc("qids_sr16")
    doc["worse"] = "up"
    doc["reverse_items"] = [17]
    doc["scores"]["total"]["groups"] = [[1, 2], [3, 4]]
    with pytest.raises(InputError) as err:
        parse_scale(doc, "qids.yaml")
    text = str(err.value)
    assert "'worse' must be 'high' or 'low'" in text
    assert "reverse_items must lie in 1..16" in text
    assert "groups must partition" in text


def test_missing_key_is_named():
    doc = _doc()
    del doc["reverse_items"]
    with pytest.raises(InputError, match="missing required key.*reverse_items"):
        parse_scale(doc, "madrs.yaml")
