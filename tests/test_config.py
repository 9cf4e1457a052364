"""The configuration schema: valid demo config, defaults in sync with the code, documented."""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from conftest import REPO
from fmrstrial.simulate.params import DEFAULTS

SCHEMA = REPO / "config" / "schemas" / "config.schema.yaml"


def _config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def _keys(node, path=""):
    for key, sub in node.get("properties", {}).items():
        here = f"{path}.{key}" if path else key
        yield here, sub
        yield from _keys(sub, here)


def test_demo_config_is_valid_and_defaults_are_filled():
    cfg = _config()
    validate(cfg, str(SCHEMA))
    assert cfg["simulate"]["signal"] == DEFAULTS["signal"]
    assert cfg["demo"]["generate_if_missing"] is True


def test_schema_defaults_equal_simulator_defaults():
    schema = yaml.safe_load(SCHEMA.read_text())
    sim = schema["properties"]["simulate"]["properties"]
    assert {k: v["default"] for k, v in sim.items()} == DEFAULTS


def test_every_key_is_described_in_schema_and_readme():
    schema = yaml.safe_load(SCHEMA.read_text())
    readme = (REPO / "config" / "README.md").read_text()
    for path, sub in _keys(schema):
        assert sub.get("description"), path
        # fit.settings are overrides of the package defaults: no schema default
        assert "default" in sub or path.startswith("fit.settings."), path
        assert f"`{path}`" in readme or path.count(".") == 0 and path in readme, path


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda c: c.update(datset="x"), "datset"),
        (lambda c: c["simulate"].update(participants="many"), "many"),
        (lambda c: c["simulate"].update(signal={"snr_naa": [10]}), "snr_naa|10"),
        (lambda c: c["validation"].update(required_scales=["hamd"]), "hamd"),
    ],
)
def test_bad_config_is_rejected(edit, pattern):
    cfg = copy.deepcopy(_config())
    edit(cfg)
    with pytest.raises(WorkflowError, match=re.compile(pattern)):
        validate(cfg, str(SCHEMA))


def test_schema_defaults_equal_conversion_defaults():
    from fmrstrial.convert import DEFAULTS as CONVERT

    conv = yaml.safe_load(SCHEMA.read_text())["properties"]["convert"]["properties"]
    found = {k: v["default"] for k, v in conv.items() if k != "consistency"}
    found["consistency"] = {k: v["default"] for k, v in conv["consistency"]["properties"].items()}
    assert found == CONVERT


def test_schema_defaults_equal_clinical_defaults():
    from fmrstrial.clinical.rules import DEFAULT_RULES

    clin = yaml.safe_load(SCHEMA.read_text())["properties"]["clinical"]["properties"]
    assert clin["missing"]["default"] == DEFAULT_RULES["missing"]
    assert {k: v["default"] for k, v in clin["mice"]["properties"].items()} == DEFAULT_RULES["mice"]


def test_schema_matches_preprocess_fit_qc_and_stats_defaults():
    from fmrstrial.fit import DEFAULTS as FIT
    from fmrstrial.preprocess import DEFAULTS as PRE
    from fmrstrial.stats import DEFAULTS as STATS
    from fmrstrial.timecourse import QC_DEFAULTS

    props = yaml.safe_load(SCHEMA.read_text())["properties"]
    assert {k: v["default"] for k, v in props["preprocess"]["properties"].items()} == PRE
    assert set(props["fit"]["properties"]["settings"]["properties"]) == set(FIT)
    assert {k: v["default"] for k, v in props["qc"]["properties"].items()} == QC_DEFAULTS
    stats = props["stats"]["properties"]
    assert stats["models"]["default"] == STATS["models"]
    assert stats["ddf"]["default"] == STATS["ddf"]
