"""Helpers shared by the rules: dataset location, session list, paths."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from fmrstrial.convert.discover import session_sources
from fmrstrial.dataset import sessions_table
from fmrstrial.paths import resource
from fmrstrial.simulate.design import participant_label
from fmrstrial.simulate.trial import mrs_paths
from fmrstrial.timecourse import qc_limits
from fmrstrial.clinical.scales import load_scales
from fmrstrial.workflow_plan import dataset_was_simulated
from fmrstrial.workflow_plan import present_scales as _present_scales
from fmrstrial.workflow_plan import simulator_truth_dir

DATASET = Path(config["dataset"])
SIMULATE = config["demo"]["generate_if_missing"] and (
    not DATASET.exists() or dataset_was_simulated(DATASET)
)
#: every scale with a definition in workflow/resources/scales/ (in output order)
SCALES = list(load_scales())
_undefined = [s for s in config["validation"]["required_scales"] if s not in SCALES]
if _undefined:
    raise WorkflowError(
        f"config validation.required_scales: {', '.join(_undefined)} has no definition in "
        f"workflow/resources/scales/ (defined: {', '.join(SCALES)})"
    )


def planned_sessions():
    """(participant_id, session_id) of every session, known before any job runs."""
    if SIMULATE:
        n = config["simulate"]["participants"]
        return [(participant_label(i, n), f"ses-{k}") for i in range(n) for k in (1, 2)]
    if not DATASET.exists():
        raise WorkflowError(
            f"dataset '{DATASET}' does not exist and demo.generate_if_missing is false"
        )
    table = sessions_table(DATASET)
    return list(zip(table.participant_id, table.session_id))


SESSIONS = planned_sessions()
PARTICIPANTS = sorted({pid for pid, _ in SESSIONS})


wildcard_constraints:
    pid="sub-[A-Za-z0-9]+",
    sid="ses-[A-Za-z0-9]+",


def _source_str(value):
    """A source as Snakemake input: a path, or the paths of a DICOM series (a list)."""
    if value is None:
        return None
    return [str(p) for p in value] if isinstance(value, list) else str(value)


def _sources():
    """Raw acquisitions per session: {(pid, sid): {'svs': path, 'mrsref': path or None}}."""
    if SIMULATE:
        return {
            (pid, sid): dict(
                zip(("svs", "mrsref"), map(str, mrs_paths(DATASET, pid, sid)))
            )
            for pid, sid in SESSIONS
        }
    pattern = config["convert"]["reference_pattern"]
    out = {}
    for pid, sid in SESSIONS:
        found = session_sources(DATASET, pid, sid, pattern)
        out[(pid, sid)] = {k: _source_str(v) for k, v in found.items()}
    return out


SOURCES = _sources()


def session_svs(pid, sid):
    """Raw metabolite acquisition of a session."""
    return SOURCES[(pid, sid)]["svs"]


def session_ref(pid, sid):
    """Raw water reference of a session, or None."""
    return SOURCES[(pid, sid)]["mrsref"]


def repository_path():
    """The clone's absolute path when the workflow runs in it (then no result may contain
    it: the privacy scan looks for it), else '' (a run directory elsewhere)."""
    repo = Path(workflow.basedir).resolve()
    return str(repo) if Path.cwd().resolve() == repo else ""


def basis_file():
    """The configured basis set (absolute, or relative to workflow/resources), relative to
    the working directory when it lies inside it, so that no absolute path of the clone
    reaches results/ (e.g. the quality notebook's parameters)."""
    path = Path(config["basis"])
    if not (path.is_absolute() or path.exists()):
        path = resource(config["basis"])
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def convert_input(wildcards, with_reference):
    """Inputs of a conversion job: raw file(s), the validation report, the basis.

    For a session without a water reference, the with-reference rule asks for a file that
    cannot exist, so Snakemake falls back to the metabolite-only rule (see ruleorder).
    """
    src = SOURCES[(wildcards.pid, wildcards.sid)]
    inputs = {
        "svs_source": src["svs"],
        "basis": basis_file(),
        "validated": "results/validation/dataset.json",
    }
    if with_reference:
        inputs["mrsref_source"] = src["mrsref"] or str(
            DATASET / f"no-water-reference-for-{wildcards.pid}-{wildcards.sid}"
        )
    return inputs


def converted(pid, sid, role):
    return f"results/converted/{pid}/{sid}/{pid}_{sid}_{role}.nii.gz"


def conversion_summaries():
    files = []
    for (pid, sid), src in SOURCES.items():
        for role in ("svs", "mrsref"):
            if src[role]:
                files.append(f"results/converted/{pid}/{sid}/{pid}_{sid}_{role}.json")
    return files


def dataset_tables():
    """Tabular files of the dataset that every analysis reads."""
    files = [DATASET / "dataset_description.json", DATASET / "participants.tsv"]
    files += [DATASET / pid / f"{pid}_sessions.tsv" for pid in PARTICIPANTS]
    return [str(f) for f in files]


def present_scales():
    """Defined scales with a phenotype table (all of them for the simulated demo).

    Only these are scored; without phenotype/madrs.tsv validation and scoring stop.
    """
    if SIMULATE:
        return SCALES
    return _present_scales(DATASET, SCALES)


def phenotype_tables(scales=None):
    return [str(DATASET / "phenotype" / f"{s}.tsv") for s in (scales or SCALES)]


def dataset_spectra():
    files = []
    for pid, sid in SESSIONS:
        for src in (session_svs(pid, sid), session_ref(pid, sid)):
            if src:
                files += src if isinstance(src, list) else [src]
    return list(dict.fromkeys(files))


def workflow_files():
    """Files that define the analysis (their checksums go into the manifest)."""
    base = Path(workflow.basedir)
    files = [base / "Snakefile", base / "config" / "config.yaml"]
    files += sorted((base / "config" / "schemas").glob("*.yaml"))
    files += sorted((base / "workflow" / "rules").glob("*.smk"))
    files += sorted((base / "workflow" / "resources" / "scales").glob("*.yaml"))
    return [str(f) for f in files]


def sanitised_config():
    """The resolved config with the dataset given by its folder name only."""
    import copy

    out = copy.deepcopy(config)
    out["dataset"] = DATASET.resolve().name
    return out


PREPROC_OUTPUTS = {
    "blocks": "results/preproc/{pid}/{sid}/blocks.nii.gz",
    "unmatched": "results/preproc/{pid}/{sid}/blocks_unmatched.nii.gz",
    "table": "results/preproc/{pid}/{sid}/blocks.tsv",
    "transients": "results/preproc/{pid}/{sid}/transients_qc.tsv",
    "qc": "results/preproc/{pid}/{sid}/blocks_qc.tsv",
    "qc_json": "results/preproc/{pid}/{sid}/blocks_qc.json",
    "figure": report(
        "results/preproc/{pid}/{sid}/qc.png",
        caption="../report/preprocess_qc.rst",
        category="Preprocessing QC",
        labels={"participant": "{pid}", "session": "{sid}"},
    ),
}


def preprocess_input(wildcards, with_reference):
    """Converted spectra of a session plus the tables that give its infusion start.

    Sessions without a water reference fall back to the metabolite-only rule (as for
    conversion). The conversion summary is an input so that inconsistent acquisitions
    stop the workflow before preprocessing.
    """
    pid, sid = wildcards.pid, wildcards.sid
    inputs = {
        "svs": converted(pid, sid, "svs"),
        "participants": str(DATASET / "participants.tsv"),
        "sessions": str(DATASET / pid / f"{pid}_sessions.tsv"),
        "consistency": "results/converted/acquisition_parameters.tsv",
    }
    if with_reference:
        if SOURCES[(pid, sid)]["mrsref"] is None:
            inputs["mrsref"] = f"results/converted/{pid}/{sid}/no-water-reference"
        else:
            inputs["mrsref"] = converted(pid, sid, "mrsref")
    return inputs


def spectral_model():
    """One line describing the fit model (the findings table's spectral_model column)."""
    from fmrstrial.fit.settings import describe_model

    return describe_model(fit_settings())


def fit_settings():
    """Fit settings: overrides of the package defaults (`fmrstrial.fit.DEFAULTS`), the same
    that `fmrstrial fit --config config/config.yaml` reads."""
    return dict(config["fit"].get("settings", {}))


def truth_dir():
    """derivatives/truth of a dataset our simulator wrote ('' for any other dataset).

    Decided by dataset_description.json (GeneratedBy), never by the folder existing:
    other datasets may have a derivatives/truth folder of their own format.
    """
    if SIMULATE:
        return str(DATASET / "derivatives" / "truth")
    truth = simulator_truth_dir(DATASET)
    return str(truth) if truth else ""


def timecourse_input(wildcards):
    files = {
        "participants": str(DATASET / "participants.tsv"),
        "sessions": dataset_tables()[2:],
        "blocks": [f"results/preproc/{p}/{s}/blocks.tsv" for p, s in SESSIONS],
        "blocks_qc": [f"results/preproc/{p}/{s}/blocks_qc.tsv" for p, s in SESSIONS],
        "ratios": [f"results/fit/{p}/{s}/ratios.tsv" for p, s in SESSIONS],
        "fit_qc": [f"results/fit/{p}/{s}/fit_qc.tsv" for p, s in SESSIONS],
        "ratios_unmatched": [
            f"results/fit_unmatched/{p}/{s}/ratios.tsv" for p, s in SESSIONS
        ],
    }
    if truth_dir():
        files["truth"] = str(DATASET / "derivatives" / "truth" / "effects.json")
    return files


def stats_input(wildcards):
    files = {
        "participants": str(DATASET / "participants.tsv"),
        "glx": "results/tables/glx_timecourse.tsv",
        "glx_unmatched": "results/tables/glx_timecourse_unmatched.tsv",
        "clinical": "results/tables/clinical.tsv",
        "clinical_mi": "results/tables/clinical_mi.tsv",
    }
    if truth_dir():
        files["truth"] = str(DATASET / "derivatives" / "truth" / "effects.json")
    return files


#: figures written by each notebook (captions in workflow/report/figures/<name>.rst)
FINDINGS_FIGURES = (
    "glx_timecourse",
    "madrs_prepost",
    "findings_forest",
    "glx_by_sex",
    "selfreport",
)
QUALITY_FIGURES = ("spectrum_fit", "qc_distributions", "frequency_drift")


def in_report(path, caption, category, labels=None):
    """`report(...)` for use inside functions (a line may not start with the keyword)."""
    mark = report
    return mark(path, caption=caption, category=category, labels=labels)


def figure_outputs(figures):
    """PNG (in the report, with its caption) and PDF of each figure."""
    out = []
    for stem in figures:
        caption = f"../report/figures/{stem}.rst"
        png = f"results/figures/{stem}.png"
        out.append(in_report(png, caption, "Figures", {"figure": stem}))
        out.append(f"results/figures/{stem}.pdf")
    return out


def workflow_file(rel):
    """A file of this workflow's repository (works from any working directory)."""
    return str(Path(workflow.basedir) / rel)


def package_root():
    """Path of the package folder (workflow/) relative to the working directory."""
    import os

    return os.path.relpath(Path(workflow.basedir) / "workflow", Path.cwd())


def final_outputs():
    """Everything `rule all` builds."""
    return [
        "results/validation/dataset.json",
        "results/converted/acquisition_parameters.tsv",
        "results/tables/clinical.tsv",
        "results/tables/glx_timecourse.tsv",
        "results/stats/findings.tsv",
        "results/tables/table1.tsv",
        "results/notebooks/findings.ipynb",
        "results/notebooks/quality.ipynb",
        "results/provenance/manifest.json",
    ]


def all_outputs():
    """final_outputs plus the privacy scan, which reads all of them."""
    return final_outputs() + ["results/provenance/privacy.json"]
