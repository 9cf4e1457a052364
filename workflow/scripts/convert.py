"""Snakemake entry point: convert a session's metabolite data (and water reference).

The metabolite data must hold the individual transients (fMRS); the water reference is
brought to the metabolite data's dwell time and points. A source may be a list of DICOM
files (one series stored one file per transient); a GE P-file is also the reference source
when it holds the session's water reference.
"""

import _bootstrap  # noqa: F401

from fmrstrial.convert import convert_acquisition
from fmrstrial.smk import logged


def _source(value):
    return value if isinstance(value, str) else list(value)


with logged(snakemake.log[0]):
    labels = {"participant_id": snakemake.wildcards.pid, "session_id": snakemake.wildcards.sid}
    svs = convert_acquisition(
        _source(snakemake.input["svs_source"]),
        snakemake.output["svs"],
        role="svs",
        settings=snakemake.params.settings,
        basis_path=snakemake.input.basis,
        labels=labels,
        summary_path=snakemake.output["svs_summary"],
        require_transients=getattr(snakemake.params, "require_transients", True),
    )
    for note in svs["notes"]:
        print(f"note: {note}")
    if "mrsref" in snakemake.output.keys():
        ref = convert_acquisition(
            _source(snakemake.input["mrsref_source"]),
            snakemake.output["mrsref"],
            role="mrsref",
            settings=snakemake.params.settings,
            labels=labels,
            summary_path=snakemake.output["mrsref_summary"],
            match=(svs["dwell_s"], svs["n_points"]),
        )
        for note in ref["notes"]:
            print(f"note (water reference): {note}")
