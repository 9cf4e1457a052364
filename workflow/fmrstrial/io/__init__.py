"""Readers and writers: NIfTI-MRS, basis sets, tables; atomic output."""
