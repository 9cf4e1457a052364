"""The executed notebooks must not depend on the environment: papermill formats its injected
parameters cell with black when black is installed (the test extras bring it, the README's
run command does not); the workflow's translator never does."""

from __future__ import annotations

import pytest

from fmrstrial.notebooks import FINDINGS_FIGURES, figure_files, plain_python_translator

PARAMETERS = {
    "glx_timecourse": "results/tables/glx_timecourse.tsv",
    "figures": figure_files(
        f"results/figures/{s}.{e}" for s in FINDINGS_FIGURES for e in "pdf png".split()
    ),
    "simulated": True,
}


def test_parameters_cell_is_the_plain_translation():
    text = plain_python_translator().codify(PARAMETERS)
    lines = text.splitlines()
    assert lines[0] == "# Parameters"
    figures = next(line for line in lines if line.startswith("figures = "))
    assert figures.endswith("}}") and "\\n" not in figures  # one line, as without black
    assert 'glx_timecourse = "results/tables/glx_timecourse.tsv"' in lines


def test_black_would_have_changed_it():
    """Guards the test above: with black importable, papermill's own translator reformats."""
    pytest.importorskip("black")
    from papermill.translators import PythonTranslator

    assert PythonTranslator.codify(PARAMETERS) != plain_python_translator().codify(PARAMETERS)
