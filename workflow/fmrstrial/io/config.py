"""Read one section of a YAML configuration file (for the step commands' --config)."""

from __future__ import annotations

import os

import yaml

from ..errors import InputError

#: A top-level key of the workflow's config.yaml that step settings files do not have.
WORKFLOW_CONFIG_KEY = "dataset"


def load_section(path: str | os.PathLike | None, section: str) -> dict:
    """The `section:` mapping of a YAML file, or the whole file when it has no such key.

    Lets every step read either its own small settings file or the workflow's config.yaml.
    The workflow's config (recognised by its `dataset` key) without the section means the
    section's defaults: {}.
    Returns {} for no path; InputError naming the file if it is unreadable or not a mapping.
    """
    if path is None:
        return {}
    name = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
    except OSError as exc:
        raise InputError(f"cannot read config ({exc.strerror})", file=name) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", file=name) from exc
    if not isinstance(doc, dict):
        raise InputError("expected a YAML mapping", file=name)
    if section and section not in doc and WORKFLOW_CONFIG_KEY in doc:
        return {}
    found = doc.get(section, doc)
    if not isinstance(found, dict):
        raise InputError(f"'{section}' must be a mapping", file=name)
    return found
