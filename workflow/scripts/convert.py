"""Snakemake entry point: convert one acquisition of a session (params.role: 'svs', the
metabolite data, which must hold the individual transients; or 'mrsref', the water
reference, brought to the metabolite data's dwell time and points). A source may be a list
of DICOM files (one series stored one file per transient); a GE P-file is also the
reference source when it holds the session's water reference.
"""

from fmrstrial.convert import convert_reference, convert_svs
from fmrstrial.smk import logged

with logged(snakemake.log[0]):
    inp, out, params = snakemake.input, snakemake.output, snakemake.params
    labels = {"participant_id": snakemake.wildcards.pid, "session_id": snakemake.wildcards.sid}
    if params.role == "svs":
        summary = convert_svs(
            inp.source, inp.basis, out.nifti, out.summary, params.settings, labels
        )
    else:
        summary = convert_reference(
            inp.source, inp.svs_summary, out.nifti, out.summary, params.settings, labels
        )
    for note in summary["notes"]:
        print(f"note: {note}")
