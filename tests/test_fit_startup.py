"""Pieces that keep a fit job's start-up short: the numpy B-spline design (no
scipy.interpolate import), the CLI that loads only the chosen step's module, and a fit step
without scipy.optimize, matplotlib or pandas."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from scipy.interpolate import BSpline

from conftest import REPO
from fmrstrial.cli import COMMANDS, build_parser
from fmrstrial.fit.bspline import design_matrix


@pytest.mark.parametrize(
    "knots",
    [
        np.r_[[0.2] * 3, np.linspace(0.2, 4.0, 39), [4.0] * 3],  # clamped baseline knots
        np.r_[[0.0] * 3, np.linspace(0.0, 0.3, 8), [0.3] * 3],  # lineshape knots
        np.array([0.0, 0.5, 1.0, 1.7, 2.0, 3.1, 3.5, 4.0]),  # unclamped, uneven
    ],
)
def test_design_matrix_equals_scipy(knots):
    x = np.linspace(knots[3], knots[-4], 501)
    expected = BSpline.design_matrix(x, knots, 3).toarray()
    np.testing.assert_allclose(design_matrix(x, knots, 3), expected, atol=1e-12)


def test_design_matrix_rejects_points_outside():
    with pytest.raises(ValueError, match="outside"):
        design_matrix(np.array([5.0]), np.r_[[0.0] * 4, [1.0] * 4], 3)


def test_cli_names_every_step_module_once():
    steps = {f"fmrstrial.steps.{p.stem}" for p in (REPO / "workflow/fmrstrial/steps").glob("*.py")}
    steps.discard("fmrstrial.steps.__init__")
    assert len(COMMANDS) == len(set(COMMANDS.values()))
    assert steps == set(COMMANDS.values()) - {"fmrstrial.lmm.command"}
    for name, module in COMMANDS.items():
        sub = build_parser([name])._subparsers._group_actions[0]
        assert list(sub.choices) == [name], module


def test_every_rule_script_runs_a_step_the_cli_has():
    """The CLI covers the DAG: each rule's script calls a fmrstrial.steps module (the
    notebooks' rules run notebooks, which the CLI does not)."""
    for script in sorted((REPO / "workflow/scripts").glob("*.py")):
        text = script.read_text()
        used = re.findall(r"^from (fmrstrial\.steps\.\w+) import", text, flags=re.M)
        if script.name == "run_notebook.py":
            assert not used
            continue
        assert len(used) == 1 and used[0] in COMMANDS.values(), script.name


def test_fit_command_does_not_import_other_steps():
    """Nor scipy.optimize (numpy solvers), matplotlib (the figure is its own job) or pandas."""
    code = (
        "import sys; from fmrstrial.cli import build_parser; build_parser(['fit']);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('spec2nii', 'statsmodels', 'scipy', 'matplotlib', 'pandas') and m.count('.') < 2))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = eval(out.stdout)  # noqa: S307 - our own printed list
    assert "spec2nii" not in loaded and "statsmodels" not in loaded
    assert "scipy.interpolate" not in loaded and "scipy.optimize" not in loaded
    assert "matplotlib" not in loaded and "pandas" not in loaded
