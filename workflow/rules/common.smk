# Helpers only: config validation, input look-up, target lists. No rules here.
import os
import re
from pathlib import Path

import nufog
from nufog.config import ConfigError, check_config_files, read_config_file, validate_config
from nufog.inputs import REGISTRY_STAMP, load_manifest
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

def config_files_in_merge_order():
    """The config files Snakemake merged, earliest first: the Snakefile's `configfile:` (when it
    exists in the working directory), then the --configfile ones."""
    cli = [str(f) for f in workflow.config_settings.configfiles]
    return [str(f) for f in workflow.configfiles if str(f) not in cli] + cli


#: Figures are files: script jobs (which inherit this environment) draw without a display.
os.environ.setdefault("MPLBACKEND", "Agg")

try:
    # Snakemake's loader keeps the last of two duplicate keys and drops empty mappings: re-read strictly
    check_config_files(config_files_in_merge_order())
    validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

#: This run's folders (config key `run`, default `paper`): every output goes under results/{run}/,
#: every log under logs/{run}/, so that configs with different run names never overwrite each other.
#: The download cache (data.cache_dir) is shared between runs.
RUN = config["run"]
RESULTS = f"results/{RUN}"
LOGS = f"logs/{RUN}"


def res(path):
    """``path`` in this run's results folder: ``res("fold/{experiment}.parquet")`` is
    ``results/<run>/fold/{experiment}.parquet``. Snakemake wildcards in ``path`` are kept as they are
    (pass a plain string, or an f-string with doubled braces)."""
    return f"{RESULTS}/{path}"


def logs(path):
    """``path`` in this run's log folder, ``logs/<run>/<path>`` (wildcards kept, as in :func:`res`)."""
    return f"{LOGS}/{path}"


def _run_named_outside_paper_config():
    """Config files other than the repository's config.yaml that were merged, and whether one of them
    (or --config) names the run."""
    paper = (Path(workflow.basedir) / "config.yaml").resolve()
    others = [f for f in config_files_in_merge_order() if Path(f).resolve() != paper]
    named = "run" in (workflow.config_settings.config or {}) or any("run" in read_config_file(f) for f in others)
    return others, named


_OTHER_CONFIGS, _RUN_NAMED = _run_named_outside_paper_config()
if RUN == "paper" and _OTHER_CONFIGS and not _RUN_NAMED:
    # a layered config without `run:` inherits `paper`: its results replace the paper's; say so up front
    logger.warning(
        f"nufog: {', '.join(_OTHER_CONFIGS)} sets no `run`, so its results go to {RESULTS}/ and replace "
        "the paper run's; give it its own `run: <name>` to keep them apart"
    )

#: A relative manifest path is relative to the workflow (not the working directory).
MANIFEST_PATH = Path(workflow.basedir) / config["data"]["manifest"]
MANIFEST = load_manifest(MANIFEST_PATH)
CACHE = config["data"]["cache_dir"].rstrip("/")
PROCESSES = ["cevns", "migdal", "electron"]
#: Library version: a params entry, so a new release reruns what it computes.
VERSION = nufog.__version__


def cached(*names):
    """Cache paths of manifest inputs, keyed by input name (for `input: **cached(...)`).

    A registry entry (a data release of many files) gives its stamp file: the release directory
    is its parent.
    """
    unknown = [n for n in names if n not in MANIFEST]
    if unknown:
        raise WorkflowError(f"inputs {unknown} are not in {MANIFEST_PATH}")
    return {
        n: f"{CACHE}/{MANIFEST[n].file}/{REGISTRY_STAMP}" if MANIFEST[n].is_registry else f"{CACHE}/{MANIFEST[n].file}"
        for n in names
    }


def input_sha256(wildcards, input):
    """Expected sha256 of every manifest input of a job (params), checked before the inputs are read."""
    # a registry entry's stamp file is written only after every member passed its sha256
    return {name: MANIFEST[name].sha256 for name in input.keys() if name in MANIFEST and not MANIFEST[name].is_registry}


def solar_inputs():
    """Solar flux files for the configured SSM and 8B shape."""
    shape = config["solar"]["b8_shape"]
    be7 = ("7Be_ground_shape", "7Be_excited_shape") if config["solar"]["be7_shape"] == "broadened" else ()
    return cached("fluxes_b16", "nudistr_b16", "pp", "hep", "13N", "15O", "17F", f"8B_{shape}", *be7)


#: inputs each SM process reads besides the solar files ("all": every process-specific input)
PROCESS_INPUTS = {"cevns": [], "migdal": ["migdal_xe"], "electron": ["xe_binding"], "all": ["migdal_xe", "xe_binding"]}


def rate_inputs(wildcards):
    return {**solar_inputs(), **cached(*PROCESS_INPUTS["all"])}


MODELS = list(config["models"])
EXPERIMENTS = list(config["experiments"])

# longest names first, so that e.g. `xlzd_low` is not read as `xlzd` + `_low`
wildcard_constraints:
    model="|".join(sorted(map(re.escape, MODELS), key=len, reverse=True)),
    experiment="|".join(sorted(map(re.escape, EXPERIMENTS), key=len, reverse=True)),


def counting_experiments():
    """The paper's counting data sets (one bin, an efficiency curve), in config order."""
    return [e for e, c in config["experiments"].items() if c.get("kind", "counting") == "counting"]


def models_using(experiment):
    """{model: its config without the data-set list} for the models that list ``experiment`` (so that adding
    a data set to a model reruns nothing for the others)."""
    return {
        m: {k: v for k, v in cfg.items() if k != "experiments"}
        for m, cfg in config["models"].items()
        if experiment in cfg["experiments"]
    }


def mass_scaled_mem_mb(mb_per_mass):
    """Memory request [MB] of a job whose arrays grow with the number of masses (limits.m_med_MeV.n):
    3000 MB, or ``mb_per_mass`` per mass if more, times the attempt. Measured on the largest data set,
    XENONnT 2026, in the 10^4-mass big scan: its fold job peaked at 13.9 GB, its limit job at 5.8 GB
    (reading the fold one model at a time; 15.5 GB whole)."""
    n_masses = int(config["limits"]["m_med_MeV"]["n"])
    return lambda wc, attempt: attempt * max(3000, int(mb_per_mass * n_masses))


def fold_limit_keys():
    """The ``limits`` keys a fold uses: folding grids, mediator masses, keV_nr -> keV_ee conversion."""
    keys = ("m_med_MeV", "e_nr_keV", "e_ee_keV", "ee_quenching")
    return {k: config["limits"][k] for k in keys if k in config["limits"]}


def fold_inputs(wildcards):
    """Inputs of one data set's fold: solar files and binding energies, plus its efficiency table, the
    Migdal table (data sets that keep electron recoils) or its release files."""
    cfg = config["experiments"][wildcards.experiment]
    if cfg.get("kind") == "coherent_csi":
        return coherent_inputs()
    names = ["xe_binding"]
    if cfg.get("kind", "counting") == "counting":
        if cfg["efficiency"]["kind"] == "table":
            names.append(cfg["efficiency"]["input"])
        if cfg.get("electron_recoils", False):
            names.append("migdal_xe")
    else:
        names += [cfg["release"]] + ([cfg["model"]] if "model" in cfg else [])
    return {**solar_inputs(), **cached(*names)}


#: ``limits`` keys of the limit jobs (an edit elsewhere reruns no limit job); ``toys`` only when used
LIMIT_SETTINGS = {k: config["limits"][k] for k in ("cl", "method", "reference", "cls_mode", "profile")}
if LIMIT_SETTINGS["method"] == "cls" and LIMIT_SETTINGS["cls_mode"] == "toys":
    LIMIT_SETTINGS["toys"] = dict(config["limits"]["toys"])


def _limit_jobs():
    """{name: (data sets, models, label)}: one limit job per data set and per combination."""
    jobs = {}
    for exp, cfg in config["experiments"].items():
        models = list(models_using(exp))
        if models:
            jobs[exp] = ([exp], models, cfg.get("label", exp))
    for comb, cfg in config["combinations"].items():
        models = [m for m, mc in config["models"].items() if set(cfg["datasets"]) <= set(mc["experiments"])]
        if models:
            jobs[comb] = (list(cfg["datasets"]), models, cfg.get("label", comb))
    return jobs


LIMIT_JOBS = _limit_jobs()


def all_limit_files():
    """Every limit curve: data sets, combinations and COHERENT (the exact CsIModel curve unless COHERENT is a
    data set of the core)."""
    xenon = [res(f"limits/{m}_{name}.parquet") for name, (_, models, _) in LIMIT_JOBS.items() for m in models]
    return xenon + ([] if COHERENT_FOLDS else coherent_limit_outputs())


def is_release(name):
    return config["experiments"][name].get("kind", "counting") != "counting"


def paper_limit_files():
    """Limit curves of Fig. 3 (the paper reproduction): data sets and combinations without a release."""
    xenon = [
        res(f"limits/{m}_{name}.parquet")
        for name, (datasets, models, _) in LIMIT_JOBS.items()
        if not any(is_release(d) for d in datasets)
        for m in models
    ]
    return xenon + coherent_limit_outputs()


def all_outputs():
    return [
        *expand(res("rates/xenon_{process}.parquet"), process=PROCESSES),
        res("figures/fig1_sm_rates.pdf"),
        res("figures/fig1_sm_rates.png"),
        res("tables/signal_limits.csv"),
        res("tables/table1.csv"),
        res("tables/table1.md"),
        res("tables/limits_summary.csv"),
        *all_limit_files(),
        *(coherent_limit_outputs() if COHERENT_FOLDS else []),
        res("figures/fig2_spectra.pdf"),
        res("figures/fig3_limits.pdf"),
        res("coherent/sm_fit.json"),
        res("coherent/nsi_scan.parquet"),
        res("coherent/nsi_intervals.csv"),
        res("coherent/nsi_profiles.parquet"),
        res("figures/fig4_coherent_nsi.pdf"),
        res("figures/coherent_projections.pdf"),
        *report_outputs(),
        *hepdata_outputs(),
        *closure_outputs(),
        *fig5_outputs(),
    ]


def reference_limit_inputs():
    """Published limit tables drawn in Fig. 3, keyed by manifest name (so input_sha256 covers them)."""
    return cached(*sorted({ref["input"] for ref in config["figures"]["fig3"]["reference_limits"].values()}))


def coherent_inputs(wildcards=None):
    """The 2021 release files (their cache folder is the CsIAnalysis data_dir)."""
    files = cached(*[n for n in MANIFEST if n.startswith("coherent_")])
    if config["coherent"]["sns_flux_root"]:  # user-supplied file: an input, so a new file reruns
        files["sns_flux_root"] = config["coherent"]["sns_flux_root"]
    return files


COHERENT_DIR = f"{CACHE}/coherent_csi2021"


#: data sets of kind coherent_csi (folded from the CsIModel of the `coherent` section)
COHERENT_FOLDS = [e for e, c in config["experiments"].items() if c.get("kind") == "coherent_csi"]
#: the exact CsIModel limits (coherent_limits): the COHERENT curve, or the cross-check of the core's
#: limits when COHERENT is a data set of the core (results/{run}/limits/{model}_coherent_csi.parquet from its fold)
COHERENT_EXACT_LIMITS = (
    res("coherent/limits_exact_{model}.parquet") if COHERENT_FOLDS else res("limits/{model}_coherent_csi.parquet")
)


def coherent_limit_outputs():
    return [COHERENT_EXACT_LIMITS.format(model=m) for m in config["coherent"]["models"]]


# --- report and publication outputs (workflow/rules/report.smk) -------------------------------------
def closure_tables():
    """Closure-test tables that some rule writes (results/{run}/closure/<name>.csv without wildcards)."""
    names = set()
    for r in workflow.rules:
        for f in r.output:
            m = re.fullmatch(re.escape(res("closure/")) + r"([^/{}]+)\.csv", str(f))
            if m:
                names.add(m.group(1))
    return sorted(names)


def report_outputs():
    """HTML pages of the report: the front-page numbers and every table."""
    pages = ["headline", "tables/signal_limits", "tables/table1", "tables/limits_summary"]
    pages += [f"closure/{name}" for name in closure_tables()]
    return [res(f"report/{page}.html") for page in pages]


def hepdata_outputs():
    """HEPData record: one YAML table per limit curve and the submission.yaml listing them."""
    return [res("hepdata/submission.yaml")] + [
        res(f"hepdata/{Path(p).stem}.yaml") for p in all_limit_files()
    ]


# --- XENONnT 2026 releases: closure (rules/xenonnt.smk) and Fig. 5 (rules/figures.smk) ---
def xenonnt_release_names(kind):
    """Data sets of ``experiments`` with release kind ``kind`` (the closure takes the first)."""
    return [n for n, c in config["experiments"].items() if c.get("kind", "counting") == kind]


def closure_datasets():
    """(S2-only data set, 4-D data set) for the closure, or None when the config lacks one."""
    s2, four_d = xenonnt_release_names("xenonnt_s2only"), xenonnt_release_names("xenonnt_2026")
    return (s2[0], four_d[0]) if s2 and four_d else None


def closure_inputs(wildcards=None):
    s2, four_d = closure_datasets()
    names = [config["experiments"][s2]["release"], config["experiments"][four_d]["release"]]
    names += [config["experiments"][four_d].get("model", "xenonnt_lightwimp_2024")]
    return {
        "fold_s2only": res(f"fold/{s2}.parquet"),
        "fold_four_d": res(f"fold/{four_d}.parquet"),
        **solar_inputs(),
        **cached("xe_binding", *names),
    }


CLOSURE_OUTPUTS = {
    "s2only_cevns": res("closure/xenonnt_s2only_cevns.csv"),
    "s2only_wimp6": res("closure/xenonnt_s2only_wimp6_template.csv"),
    "s2only_wimp_si": res("closure/xenonnt_s2only_wimp_si.csv"),
    "b8": res("closure/xenonnt_2026_b8.csv"),
    "summary": res("closure/xenonnt_closure.json"),
}


def closure_outputs():
    return list(CLOSURE_OUTPUTS.values()) if closure_datasets() else []


def _fig5_files(names, models):
    """Limit files of the curves ``names`` for ``models`` (a model without that curve is skipped)."""
    out = []
    for name in names:
        if name not in LIMIT_JOBS:
            raise WorkflowError(f"figures.fig5: {name!r} is neither a data set with models nor a combination")
        out += [res(f"limits/{m}_{name}.parquet") for m in models if m in LIMIT_JOBS[name][1]]
    return out


def fig5_models():
    """Models with the combined 2026 curve (those that list all of its data sets)."""
    name = config["figures"]["fig5"]["combination"]
    return list(LIMIT_JOBS[name][1]) if name in LIMIT_JOBS else []


def fig5_inputs(wildcards=None):
    fig = config["figures"]["fig5"]
    models = fig5_models()
    coherent = [res(f"limits/{m}_coherent_csi.parquet") for m in models if m in config["coherent"]["models"]]
    return {
        "combined": _fig5_files([fig["combination"]], models),
        "releases": _fig5_files(fig["releases"], models),
        "compare": _fig5_files(fig["compare"], models) + coherent,
    }


def fig5_outputs():
    return [res("figures/fig5_limits_2026.pdf"), res("figures/fig5_limits_2026.png")] if fig5_models() else []


if not fig5_models():  # not an error (config/paper_only.yaml has no 2026 combination), but never silent
    logger.info(
        f"nufog: Fig. 5 is not drawn: its combination {config['figures']['fig5']['combination']!r} "
        "(figures.fig5.combination) has no limit curves in this config"
    )
