"""The configuration schema: valid demo config, defaults in sync with the code, documented."""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from jsonschema import Draft202012Validator
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from conftest import REPO
from fmrstrial import config_docs, settings_schema
from fmrstrial.errors import InputError
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
        (lambda c: c["validation"].update(required_scales="madrs"), "madrs"),
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


def test_schema_matches_stats_defaults():
    from fmrstrial.stats import DEFAULTS as STATS

    stats = yaml.safe_load(SCHEMA.read_text())["properties"]["stats"]["properties"]
    assert stats["models"]["default"] == STATS["models"]
    assert stats["ddf"]["default"] == STATS["ddf"]


# --- sections defined once, in the package's schemas (fmrstrial/schemas/*.yaml) -----------


def test_config_schema_holds_the_package_sections_unchanged():
    """config.schema.yaml's preprocess, fit and qc blocks are what config_docs generates."""
    current = SCHEMA.read_text(encoding="utf-8")
    assert config_docs.config_schema_text(current) == current, (
        "config/schemas/config.schema.yaml is out of date: run python -m fmrstrial.config_docs"
    )


def test_config_readme_tables_are_generated_from_the_package_schemas():
    path = REPO / "config" / "README.md"
    current = path.read_text(encoding="utf-8")
    assert config_docs.readme_text(current) == current, (
        "config/README.md is out of date: run python -m fmrstrial.config_docs"
    )


def test_a_stale_readme_or_schema_is_detected():
    readme = (REPO / "config" / "README.md").read_text(encoding="utf-8")
    stale = readme.replace("| `preprocess.reject_z` | `4.0` |", "| `preprocess.reject_z` | `3.0` |")
    assert stale != readme
    assert config_docs.readme_text(stale) == readme
    schema = SCHEMA.read_text(encoding="utf-8")
    stale = schema.replace("default: 12.8\n", "default: 13.0\n", 1)
    assert stale != schema
    assert config_docs.config_schema_text(stale) == schema
    assert config_docs.main(["--root", str(REPO), "--check"]) == 0


@pytest.mark.parametrize("section", settings_schema.SECTIONS)
def test_every_package_setting_has_type_default_and_one_sentence(section):
    schema = settings_schema.section_schema(section)
    Draft202012Validator.check_schema(schema)  # a valid JSON schema
    for key, sub in schema["properties"].items():
        assert "type" in sub or "anyOf" in sub, key
        assert "default" in sub, key
        assert sub["description"].endswith("."), key
    # the defaults are valid settings
    assert settings_schema.resolve(section, None, "x") == settings_schema.defaults(section)


def test_snakemake_fills_the_package_defaults():
    from fmrstrial.preprocess import resolve_settings

    cfg = _config()
    validate(cfg, str(SCHEMA))
    assert cfg["preprocess"] == resolve_settings(cfg["preprocess"])
    assert cfg["preprocess"]["baseline_blocks"] == 1  # from config.yaml
    assert cfg["qc"] == settings_schema.defaults("qc")
    # fit.settings holds only the overrides (the package fills the rest)
    assert cfg["fit"]["settings"] == {}


def test_qc_limits_exist_once_and_reach_the_time_course():
    """The NAA SNR/FWHM limits are preprocess keys; the time course uses the same values."""
    from fmrstrial.timecourse import qc_limits

    props = yaml.safe_load(SCHEMA.read_text())["properties"]
    assert set(props["qc"]["properties"]) == {
        "max_glx_crlb_pct",
        "max_residual_ratio",
        "max_residual_over_median",
        "max_lipid_rise",
    }
    assert {"qc_min_snr", "qc_max_fwhm_hz"} <= set(props["preprocess"]["properties"])
    limits = qc_limits({"max_residual_ratio": 2}, {"qc_min_snr": 5, "qc_max_fwhm_hz": 10})
    assert limits == {
        "max_glx_crlb_pct": 20.0,
        "min_snr": 5.0,
        "max_fwhm_hz": 10.0,
        "max_residual_ratio": 2.0,
        "max_residual_over_median": 1.25,
        "max_lipid_rise": 0.5,
    }
    cfg = _config()
    cfg["qc"] = {"min_snr": 5}
    with pytest.raises(WorkflowError, match="min_snr"):
        validate(cfg, str(SCHEMA))
    with pytest.raises(InputError, match=r"cfg.yaml: qc setting 'min_snr' is unknown"):
        qc_limits({"min_snr": 5}, None, source="cfg.yaml")


@pytest.mark.parametrize(
    ("section", "overrides", "message"),
    [
        (
            "preprocess",
            {"reject_z": 0},
            "preprocess setting 'reject_z': expected a number > 0, got 0",
        ),
        ("preprocess", {"align": "yes"}, "'align': expected true or false, got 'yes'"),
        ("preprocess", {"hlsvd_points": 2.5}, "'hlsvd_points': expected an integer >= 8, got 2.5"),
        (
            "preprocess",
            {"noise_tail_fraction": 0.9},
            "'noise_tail_fraction': expected a number in [0.05, 0.75], got 0.9",
        ),
        (
            "preprocess",
            {"naa_ppm": [2.1]},
            "'naa_ppm': expected a pair [low, high] of numbers with low < high, got [2.1]",
        ),
        ("preprocess", {"naa_ppm": [2.1, 1.9]}, "'naa_ppm': expected low < high, got [2.1, 1.9]"),
        ("preprocess", {"tr_s": -1}, "'tr_s': expected a number > 0 or null, got -1"),
        ("fit", {"baseline_penalty": "big"}, "expected 'auto' or a number > 0, got 'big'"),
        ("fit", {"metabolites": []}, "'metabolites': expected a non-empty list of names"),
        ("fit", {"lorentz_prior_hz": [2.0, -1]}, "'lorentz_prior_hz[1]': expected a number > 0"),
        ("fit", {"noise_ppm": [[-3, -0.5], [12, 8]]}, "'noise_ppm[1]': expected low < high"),
        (
            "fit",
            {"ratio_priors": {"A/B": {"numerator": ["A"], "ratio": 1, "sd": 1}}},
            "'ratio_priors.A/B': expected a mapping with keys numerator, denominator, ratio, sd",
        ),
        ("fit", {"ratios": {"x": ["a"]}}, "'ratios.x': expected a list of 2 names without dup"),
    ],
)
def test_bad_setting_names_file_key_and_expectation(section, overrides, message):
    with pytest.raises(InputError) as err:
        settings_schema.resolve(section, overrides, "my.yaml")
    text = str(err.value)
    assert text.startswith("my.yaml: "), text
    assert message in text, text


def test_every_bad_key_is_reported_at_once():
    with pytest.raises(InputError) as err:
        settings_schema.resolve("preprocess", {"reject_z": -1, "align": 1, "typo": 2}, "my.yaml")
    assert len(err.value.problems) == 3
    assert "'typo' is unknown (known: align, align_baseline_order" in str(err.value)


def test_numbers_are_typed_as_the_schema_says():
    s = settings_schema.resolve("preprocess", {"reject_z": 5, "align_ppm": (2, 4)}, "x")
    assert s["reject_z"] == 5.0 and isinstance(s["reject_z"], float)
    assert s["align_ppm"] == [2.0, 4.0] and all(isinstance(v, float) for v in s["align_ppm"])
    assert isinstance(s["hlsvd_points"], int)


def test_scale_ids_are_not_listed_in_the_config_schema():
    """The scales are the files of workflow/resources/scales/ (common.smk checks
    validation.required_scales against them at startup), never a list in the schema."""
    from fmrstrial.clinical.scales import load_scales

    def enums(node):
        if isinstance(node, dict):
            if "enum" in node:
                yield from node["enum"]
            for value in node.values():
                yield from enums(value)
        elif isinstance(node, list):
            for value in node:
                yield from enums(value)

    scales = set(load_scales())
    assert not scales & set(enums(yaml.safe_load(SCHEMA.read_text())))
    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    assert "SCALES = list(load_scales())" in common


def test_step_commands_read_the_workflow_config_without_their_section(tmp_path):
    from fmrstrial.io.config import load_section
    from fmrstrial.steps.fit import load_settings

    demo = REPO / "config" / "config.yaml"
    assert "fit" not in yaml.safe_load(demo.read_text())
    assert load_settings(str(demo)) == {}  # the fit's defaults, as in the workflow
    assert load_section(demo, "preprocess")["baseline_blocks"] == 1
    own = tmp_path / "fit.yaml"
    own.write_text("baseline_penalty: 5.0\n")
    assert load_settings(str(own)) == {"baseline_penalty": 5.0}
