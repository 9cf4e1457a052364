"""Figures and reporting tables of the trial (used by the notebooks in workflow/notebooks, the
reporting-tables step and the power figures)."""
