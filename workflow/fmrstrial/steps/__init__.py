"""The workflow's steps, one module each, named as the rule (and the `fmrstrial` subcommand)
that runs it: the step's entry function, which takes explicit input and output paths, and
its command-line parser (`add_parser`). The rules' scripts pass Snakemake's input and
output straight to the entry functions; the command line chooses the file names itself.

    simulate            simulate a trial dataset (the demo)
    validate_dataset    check a dataset's layout and tables
    convert             raw spectra to de-identified, checked NIfTI-MRS (per acquisition)
    conversion_summary  acquisition-parameter table and cross-session consistency
    preprocess          one session's transients to QC'd block spectra
    trial_baseline      one baseline flexibility for every session (setting 'trial')
    fit                 linear-combination fit of a session's blocks
    glx_timecourse      the trial's Glx/tNAA block time course
    score_clinical      clinical scale scores
    stats               mixed models and the findings table
    reporting_tables    Table 1, participant flow, MRSinMRS
    provenance          checksums, configuration and versions of a run
    privacy_check       scan of results/ for identifiers and source paths
    power               power and sample size for the next trial
"""
