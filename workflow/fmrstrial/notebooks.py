"""Execute figure notebooks with papermill, make them reproducible, render them to HTML.

Executed notebooks lose what changes from run to run (papermill's start/end times and
durations, kernel timing metadata) so that the same inputs give identical .ipynb and .html.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .io.atomic import atomic_path, write_text

#: figures written by each notebook (captions in workflow/report/figures/<stem>.rst)
FINDINGS_FIGURES = (
    "glx_timecourse",
    "madrs_prepost",
    "findings_forest",
    "glx_by_sex",
    "selfreport",
)
QUALITY_FIGURES = ("spectrum_fit", "qc_distributions", "frequency_drift")

VOLATILE_CELL_KEYS = ("execution",)
VOLATILE_PAPERMILL_KEYS = ("start_time", "end_time", "duration", "exception", "status")


def plain_python_translator():
    """Papermill's Python parameter translator without its optional black formatting: with
    black installed (e.g. by the test extras) papermill reformats the injected parameters
    cell, so the executed notebook would depend on the environment."""
    from papermill.translators import PythonTranslator

    class PlainPythonTranslator(PythonTranslator):
        @classmethod
        def codify(cls, parameters, comment="Parameters"):
            return super(PythonTranslator, cls).codify(parameters, comment)

    return PlainPythonTranslator


def figure_files(files) -> dict[str, dict[str, str]]:
    """The notebooks' `figures` parameter, {stem: {"png": path, "pdf": path}}, from a list
    of <stem>.png / <stem>.pdf paths (e.g. a rule's declared figure outputs)."""
    out: dict[str, dict[str, str]] = {}
    for f in map(Path, files):
        out.setdefault(f.name.rsplit(".", 1)[0], {})[f.suffix.lstrip(".")] = str(f)
    return out


def normalise(nb: dict) -> dict:
    """Drop run-dependent metadata from an executed notebook (in place; also returned)."""
    meta = nb.get("metadata", {})
    pm = meta.get("papermill", {})
    for key in VOLATILE_PAPERMILL_KEYS:
        pm.pop(key, None)
    pm.pop("input_path", None)
    pm.pop("output_path", None)
    for index, cell in enumerate(nb.get("cells", [])):
        cell["id"] = f"cell-{index:03d}"  # papermill gives its injected cell a random id
        cmeta = cell.get("metadata", {})
        for key in VOLATILE_CELL_KEYS:
            cmeta.pop(key, None)
        cpm = cmeta.get("papermill", {})
        for key in VOLATILE_PAPERMILL_KEYS:
            cpm.pop(key, None)
    return nb


def run_notebook(
    template: str | os.PathLike,
    out_ipynb: str | os.PathLike,
    out_html: str | os.PathLike,
    parameters: dict,
    cwd: str | os.PathLike = ".",
    kernel_name: str = "python3",
) -> None:
    """Execute `template` with `parameters`; write normalised .ipynb and .html atomically."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter
    from papermill.translators import papermill_translators

    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    papermill_translators.register(kernel_name, plain_python_translator())
    with atomic_path(out_ipynb) as tmp:
        papermill.execute_notebook(
            str(template),
            str(tmp),
            parameters=parameters,
            kernel_name=kernel_name,
            cwd=str(cwd),
            progress_bar=False,
            log_output=False,
        )
        nb = json.loads(Path(tmp).read_text(encoding="utf-8"))
        text = json.dumps(normalise(nb), indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        Path(tmp).write_text(text, encoding="utf-8")
    notebook = nbformat.reads(Path(out_ipynb).read_text(encoding="utf-8"), as_version=4)
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    write_text(out_html, html)
