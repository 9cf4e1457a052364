"""Figures and reporting tables of the trial (used by the notebooks in workflow/notebooks)."""
