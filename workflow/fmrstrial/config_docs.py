"""Copy the package's settings schemas into the workflow's config schema and config README.

The sections ``preprocess``, ``fit.settings`` and ``qc`` are defined once, in
``fmrstrial/schemas/<section>.yaml``. Snakemake validates config.yaml against
``config/schemas/config.schema.yaml`` and fills in defaults there; a ``$ref`` to the package
files validates but does not fill defaults (a referenced schema with its own ``$schema`` is
validated by jsonschema's plain validator, not Snakemake's default-filling one: see
python-jsonschema/jsonschema#1341; without ``$schema`` Snakemake cannot load it), so the
sections are copied in, and the key tables of ``config/README.md`` are generated the same way.

    python -m fmrstrial.config_docs          # rewrite the generated parts in place
    python -m fmrstrial.config_docs --check  # exit 1 if they are out of date

tests/test_config.py fails when either file differs from what this module generates.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import yaml

from . import settings_schema
from .settings_schema import describe

CONFIG_SCHEMA = Path("config") / "schemas" / "config.schema.yaml"
CONFIG_README = Path("config") / "README.md"
PACKAGE_SCHEMAS = "workflow/fmrstrial/schemas"

FIT_NOTE = (
    " Only overrides are given here: keys left out take the package defaults "
    "(config/README.md), which are therefore not repeated in this schema."
)
_FIT_SECTION = {
    "type": "object",
    "default": {},
    "additionalProperties": False,
    "description": "linear-combination fitting of every block (one model for real and "
    "simulated data)",
}


class _Dumper(yaml.SafeDumper):
    """Block-style YAML without anchors; lists of scalars (or of scalar lists) inline."""

    def ignore_aliases(self, data):
        return True


def _flow(items: list) -> bool:
    def scalar(x):
        return not isinstance(x, dict | list)

    return all(scalar(x) or (isinstance(x, list) and all(map(scalar, x))) for x in items)


_Dumper.add_representer(
    list,
    lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_flow(data)),
)


def _section(section: str, with_defaults: bool = True) -> dict:
    """The package schema of `section` as an object schema for config.schema.yaml."""
    schema = settings_schema.section_schema(section)
    props = schema["properties"]
    if not with_defaults:
        for sub in props.values():
            sub.pop("default")
    return {
        "type": "object",
        "default": {},
        "additionalProperties": False,
        "description": schema["description"] + ("" if with_defaults else FIT_NOTE),
        "properties": props,
    }


def schema_blocks() -> dict[str, dict]:
    """Top-level config keys whose schema comes from the package: key -> schema."""
    fit = copy.deepcopy(_FIT_SECTION)
    fit["properties"] = {"settings": _section("fit", with_defaults=False)}
    return {
        "preprocess": _section("preprocess"),
        "fit": fit,
        "qc": _section("qc"),
        "power": _section("power"),
    }


def _yaml_block(key: str, schema: dict, source: str) -> str:
    text = yaml.dump(schema, Dumper=_Dumper, sort_keys=False, width=96, allow_unicode=True)
    lines = [
        f"  {key}:\n",
        f"    # generated from {PACKAGE_SCHEMAS}/{source}.yaml by `python -m "
        "fmrstrial.config_docs`: edit that file, not this block\n",
    ]
    return "".join(lines + [f"    {line}\n" for line in text.splitlines()])


def config_schema_text(current: str) -> str:
    """`current` (config.schema.yaml) with the package sections replaced by fresh copies."""
    lines = current.splitlines(keepends=True)
    for key, schema in schema_blocks().items():
        start = lines.index(f"  {key}:\n")
        end = next(
            (k for k in range(start + 1, len(lines)) if re.match(r"^(  )?\S", lines[k])), len(lines)
        )
        source = "fit" if key == "fit" else key
        lines[start:end] = [_yaml_block(key, schema, source)]
    return "".join(lines)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def readme_table(section: str) -> str:
    """Markdown table (key, default, allowed values, meaning) of one package section."""
    prefix = "fit.settings" if section == "fit" else section
    rows = ["| key | default | allowed | meaning |", "|---|---|---|---|"]
    if section == "fit":
        rows.append(
            "| `fit.settings` | `{}` | a mapping | the fit settings that differ from the defaults "
            "below (`fmrstrial fit --config config/config.yaml` reads the same keys) |"
        )
    rows += _rows(prefix, settings_schema.section_schema(section)["properties"])
    return "\n".join(rows) + "\n"


def _rows(prefix: str, props: dict) -> list[str]:
    rows = []
    for key, sub in props.items():
        if "properties" in sub:  # a mapping with its own keys: one row, then one per key
            rows.append(f"| `{prefix}.{key}` | | a mapping | {_cell(sub['description'])} |")
            rows += _rows(f"{prefix}.{key}", sub["properties"])
            continue
        default = json.dumps(sub["default"], ensure_ascii=False)
        rows.append(
            f"| `{prefix}.{key}` | `{default}` | {_cell(describe(sub))} | "
            f"{_cell(sub['description'])} |"
        )
    return rows


def _markers(section: str) -> tuple[str, str]:
    return (
        f"<!-- generated from {PACKAGE_SCHEMAS}/{section}.yaml by "
        "`python -m fmrstrial.config_docs`: edit that file, not this table -->\n",
        f"<!-- end of generated table: {section} -->\n",
    )


def readme_text(current: str) -> str:
    """`current` (config/README.md) with every generated table replaced by a fresh one."""
    for section in settings_schema.SECTIONS:
        begin, end = _markers(section)
        i, j = current.find(begin), current.find(end)
        if i < 0 or j < i:
            raise ValueError(f"{CONFIG_README}: markers of the '{section}' table not found")
        current = current[: i + len(begin)] + readme_table(section) + current[j:]
    return current


def _targets(root: Path) -> list[tuple[Path, str]]:
    schema, readme = root / CONFIG_SCHEMA, root / CONFIG_README
    return [
        (schema, config_schema_text(schema.read_text(encoding="utf-8"))),
        (readme, readme_text(readme.read_text(encoding="utf-8"))),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fmrstrial.config_docs", description=__doc__)
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    stale = []
    for path, text in _targets(Path(args.root)):
        if path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{path}: {'out of date' if args.check else 'regenerated'}", file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
