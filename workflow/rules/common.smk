"""Helpers shared by the rules: dataset location, session list, paths."""

import os
from pathlib import Path

from fmrstrial.convert.discover import session_sources
from fmrstrial.dataset import sessions_table
from fmrstrial.io.outputs import FitOutputs, PreprocessOutputs
from fmrstrial.notebooks import FINDINGS_FIGURES, QUALITY_FIGURES, figure_files
from fmrstrial.paths import given_or_shipped
from fmrstrial.provenance import sanitised_config, workflow_files
from fmrstrial.settings_schema import resolve
from fmrstrial.simulate.design import participant_label
from fmrstrial.simulate.trial import mrs_paths
from fmrstrial.timecourse import qc_limits
from fmrstrial.clinical.scales import load_scales
from fmrstrial.workflow_plan import dataset_is_workflow_demo
from fmrstrial.workflow_plan import present_scales as _present_scales
from fmrstrial.workflow_plan import simulator_truth_dir

#: read by envs/install-fmrstrial.sh, which installs this clone's package into each per-rule
#: conda environment (--sdm conda)
os.environ.update(FMRSTRIAL_REPOSITORY=str(Path(workflow.basedir).resolve()))

DATASET = Path(config["dataset"])
SIMULATE = config["demo"]["generate_if_missing"] and (
    not DATASET.exists() or dataset_is_workflow_demo(DATASET)
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
    path = given_or_shipped(config["basis"])
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def convert_input(wildcards):
    """Inputs of the metabolite data's conversion: raw file(s), validation report, basis."""
    return {
        "source": session_svs(wildcards.pid, wildcards.sid),
        "basis": basis_file(),
        "validated": "results/validation/dataset.json",
    }


def reference_input(wildcards):
    """Inputs of the water reference's conversion: its raw file(s), the validation report
    and the converted metabolite data's summary (dwell time and points to match)."""
    source = session_ref(wildcards.pid, wildcards.sid)
    if source is None:
        raise WorkflowError(f"{wildcards.pid} {wildcards.sid} has no water reference")
    return {
        "source": source,
        "svs_summary": converted(wildcards.pid, wildcards.sid, "svs", ".json"),
        "validated": "results/validation/dataset.json",
    }


def converted(pid, sid, role, suffix=".nii.gz"):
    """A converted file of a session: role 'svs' or 'mrsref'; suffix .nii.gz or .json."""
    return f"results/converted/{pid}/{sid}/{pid}_{sid}_{role}{suffix}"


def conversion_summaries():
    files = []
    for (pid, sid), src in SOURCES.items():
        for role in ("svs", "mrsref"):
            if src[role]:
                files.append(converted(pid, sid, role, ".json"))
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


def output_names(outputs):
    """{name: path} of a step's output dataclass (fields that are None left out)."""
    return {k: str(v) for k, v in vars(outputs).items() if v is not None}


PREPROC_OUTPUTS = output_names(
    PreprocessOutputs.in_folder("results/preproc/{pid}/{sid}")
)
PREPROC_OUTPUTS["figure"] = report(
    PREPROC_OUTPUTS["figure"],
    caption="../report/preprocess_qc.rst",
    category="Preprocessing QC",
    labels={"participant": "{pid}", "session": "{sid}"},
)


def preprocess_input(wildcards):
    """Converted spectra of a session (the water reference only when the session has one)
    and the session table that gives its infusion start.

    The conversion summary is an input so that inconsistent acquisitions stop the workflow
    before preprocessing.
    """
    pid, sid = wildcards.pid, wildcards.sid
    inputs = {
        "svs": converted(pid, sid, "svs"),
        "sessions": str(DATASET / pid / f"{pid}_sessions.tsv"),
        "consistency": "results/converted/acquisition_parameters.tsv",
    }
    if session_ref(pid, sid) is not None:
        inputs["mrsref"] = converted(pid, sid, "mrsref")
    return inputs


def spectral_model(settings=None):
    """One line describing the fit model (the findings table's spectral_model column)."""
    from fmrstrial.fit.settings import describe_model

    return describe_model(fit_settings() if settings is None else settings)


def fit_settings():
    """Fit settings: overrides of the package defaults (`fmrstrial.fit.DEFAULTS`), the same
    that `fmrstrial fit --config config/config.yaml` reads."""
    return dict(config["fit"].get("settings", {}))


def dynamic_fit():
    """True when the fit settings (with the package defaults) choose the joint (dynamic)
    fit of a session's blocks."""
    return resolve("fit", fit_settings(), "config fit.settings")["mode"] == "dynamic"


def other_fit_mode():
    """Fit mode of the sensitivity analysis (the one fit.settings.mode does not choose), or
    '' when stats.other_fit_mode is off."""
    if not config["stats"]["other_fit_mode"]:
        return ""
    return "blocks" if dynamic_fit() else "dynamic"


def other_fit_settings():
    """The fit settings with the other mode."""
    return {**fit_settings(), "mode": other_fit_mode()}


TRIAL_BASELINE = "results/fit/trial_baseline.tsv"


def trial_baseline():
    """True when every session is fitted with one baseline flexibility, chosen on the
    trial's mean spectrum (fit setting baseline_flexibility: trial; rule trial_baseline).
    """
    return (
        resolve("fit", fit_settings(), "config fit.settings")["baseline_flexibility"]
        == "trial"
    )


def trial_baseline_input(wildcards):
    """Inputs of the trial's baseline choice: every session's linewidth-matched blocks and
    their preprocessing QC (lists in SESSIONS order), and the basis."""
    return {
        "blocks": per_session(PREPROC_OUTPUTS["blocks"]),
        "blocks_qc": per_session(PREPROC_OUTPUTS["qc"]),
        "basis": basis_file(),
    }


def fit_inputs(wildcards, unmatched, dynamic):
    """Inputs of a fit job: the linewidth-matched block spectra (and, with `unmatched`, those
    before matching), the basis, in dynamic mode the block table (phases), and with a
    trial-wide baseline the trial's choice."""
    session = {"pid": wildcards.pid, "sid": wildcards.sid}
    files = {"blocks": PREPROC_OUTPUTS["blocks"].format(**session)}
    if unmatched:
        files["unmatched"] = PREPROC_OUTPUTS["unmatched"].format(**session)
    if dynamic:
        files["block_table"] = PREPROC_OUTPUTS["table"].format(**session)
    if trial_baseline():
        files["trial_baseline"] = TRIAL_BASELINE
    return {**files, "basis": basis_file()}


def fit_input(wildcards):
    """The main fit: both block files, in the configured mode."""
    return fit_inputs(wildcards, unmatched=True, dynamic=dynamic_fit())


def other_fit_input(wildcards):
    """The fit-mode sensitivity: linewidth-matched blocks, in the other mode."""
    return fit_inputs(wildcards, unmatched=False, dynamic=other_fit_mode() == "dynamic")


def fit_outputs(folder, prefix="", dynamic=False):
    """Files of one fit job (names as fmrstrial.steps.fit.FitOutputs, with `prefix`): the
    tables and their JSON sidecars; with `dynamic` also the response table (+ sidecar) and
    figure. The fit figure is rule plot_fit's."""
    out = output_names(FitOutputs.in_folder(folder, dynamic=dynamic, figure=False))
    return {prefix + k: v for k, v in out.items()}


def fit_folders():
    """Result folders (under results/) of every fit of a session: the main fit, the fit
    before linewidth matching and, when configured, the other fit mode."""
    folders = ["fit", "fit_unmatched"]
    if other_fit_mode():
        folders.append(f"fit_{other_fit_mode()}")
    return folders


def fit_figure_tables(folder):
    """Tables of one fit that rule plot_fit draws from (names as FitOutputs)."""
    out = FitOutputs.in_folder(folder)
    return {"curves": str(out.curves), "ratios": str(out.ratios), "qc": str(out.qc)}


def fit_figure(folder):
    """The figure rule plot_fit draws for one fit folder (name as FitOutputs)."""
    return str(FitOutputs.in_folder(folder).figure)


def fit_figures():
    """fit.png of every fit of every session (rule plot_fit)."""
    return [
        fit_figure(f"results/{folder}/{pid}/{sid}")
        for folder in fit_folders()
        for pid, sid in SESSIONS
    ]


def truth_dir():
    """derivatives/truth of a dataset our simulator wrote ('' for any other dataset).

    Decided by dataset_description.json (GeneratedBy), never by the folder existing:
    other datasets may have a derivatives/truth folder of their own format.
    """
    if SIMULATE:
        return str(DATASET / "derivatives" / "truth")
    truth = simulator_truth_dir(DATASET)
    return str(truth) if truth else ""


def per_session(pattern):
    """`pattern` (with {pid} and {sid}) for every session, in SESSIONS order."""
    return [pattern.format(pid=p, sid=s) for p, s in SESSIONS]


def timecourse_input(wildcards):
    """Per-session tables (lists in SESSIONS order) of both time courses."""
    files = {
        "participants": str(DATASET / "participants.tsv"),
        "sessions": dataset_tables()[2:],
        "blocks": per_session(PREPROC_OUTPUTS["table"]),
        "blocks_qc": per_session(PREPROC_OUTPUTS["qc"]),
        "ratios": per_session("results/fit/{pid}/{sid}/ratios.tsv"),
        "fit_qc": per_session("results/fit/{pid}/{sid}/fit_qc.tsv"),
        "ratios_unmatched": per_session("results/fit_unmatched/{pid}/{sid}/ratios.tsv"),
        "fit_qc_unmatched": per_session("results/fit_unmatched/{pid}/{sid}/fit_qc.tsv"),
    }
    if other_fit_mode():
        files["ratios_other_mode"] = per_session(f"{other_fit_folder()}/ratios.tsv")
        files["fit_qc_other_mode"] = per_session(f"{other_fit_folder()}/fit_qc.tsv")
    if truth_dir():
        files["truth"] = str(DATASET / "derivatives" / "truth" / "effects.json")
    return files


def other_fit_folder():
    """Per-session folder pattern of the other fit mode's results."""
    return f"results/fit_{other_fit_mode()}/{{pid}}/{{sid}}"


def other_timecourse_output():
    """The time course from the other fit mode (none when that analysis is off)."""
    mode = other_fit_mode()
    return {"other_mode": f"results/tables/glx_timecourse_{mode}.tsv"} if mode else {}


def stats_input(wildcards):
    files = {
        "participants": str(DATASET / "participants.tsv"),
        "glx": "results/tables/glx_timecourse.tsv",
        "glx_unmatched": "results/tables/glx_timecourse_unmatched.tsv",
        "clinical": "results/tables/clinical.tsv",
        "clinical_mi": "results/tables/clinical_mi.tsv",
    }
    files.update({f"glx_{k}": v for k, v in other_timecourse_output().items()})
    if truth_dir():
        files["truth"] = str(DATASET / "derivatives" / "truth" / "effects.json")
    return files


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


def by_session(files):
    """{"<pid> <sid>": path} of a per-session file list given in SESSIONS order."""
    return {f"{p} {s}": str(f) for (p, s), f in zip(SESSIONS, files, strict=True)}


def workflow_file(rel):
    """A file of this workflow's repository (works from any working directory)."""
    return str(Path(workflow.basedir) / rel)


def final_outputs():
    """Everything `rule all` builds."""
    return [
        "results/validation/dataset.json",
        "results/converted/acquisition_parameters.tsv",
        "results/tables/clinical.tsv",
        "results/tables/glx_timecourse.tsv",
        *fit_figures(),
        "results/stats/findings.tsv",
        "results/tables/table1.tsv",
        "results/notebooks/findings.ipynb",
        "results/notebooks/quality.ipynb",
        "results/provenance/manifest.json",
    ]


def all_outputs():
    """final_outputs plus the privacy scan, which reads all of them."""
    return final_outputs() + ["results/provenance/privacy.json"]
