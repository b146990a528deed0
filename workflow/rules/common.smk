# Helpers only: config validation, input look-up, target lists. No rules here.
import os
import re
from pathlib import Path

import nufog
from nufog.config import ConfigError, validate_config
from nufog.inputs import load_manifest, resolve_mirror
from snakemake.exceptions import WorkflowError

#: Figures are files: script jobs (which inherit this environment) draw without a display.
os.environ.setdefault("MPLBACKEND", "Agg")

try:
    validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

#: A relative manifest path is relative to the workflow (not the working directory).
MANIFEST_PATH = Path(workflow.basedir) / config["data"]["manifest"]
MANIFEST = load_manifest(MANIFEST_PATH)
CACHE = config["data"]["cache_dir"].rstrip("/")
MIRROR = resolve_mirror(config["data"]["mirror"])
PROCESSES = ["cevns", "migdal", "electron"]
#: Library version: a params entry, so a new release reruns what it computes.
VERSION = nufog.__version__


def cached(*names):
    """Cache paths of manifest inputs, keyed by input name (for `input: **cached(...)`)."""
    unknown = [n for n in names if n not in MANIFEST]
    if unknown:
        raise WorkflowError(f"inputs {unknown} are not in {MANIFEST_PATH}")
    return {n: f"{CACHE}/{MANIFEST[n].file}" for n in names}


def input_sha256(wildcards, input):
    """Expected sha256 of every manifest input of a job (params), checked before the inputs are read."""
    return {name: MANIFEST[name].sha256 for name in input.keys() if name in MANIFEST}


def solar_inputs():
    """Solar flux files for the configured SSM and 8B shape."""
    shape = config["solar"]["b8_shape"]
    be7 = ("7Be_ground_shape", "7Be_excited_shape") if config["solar"]["be7_shape"] == "broadened" else ()
    return cached("fluxes_b16", "nudistr_b16", "pp", "hep", "13N", "15O", "17F", f"8B_{shape}", *be7)


def rate_inputs(wildcards):
    extra = {"cevns": (), "migdal": ("migdal_xe",), "electron": ("xe_binding",)}[wildcards.process]
    return {**solar_inputs(), **cached(*extra)}


MODELS = list(config["models"])
EXPERIMENTS = list(config["experiments"])
#: every (model, experiment) pair the config asks for
PAIRS = [(m, e) for m in MODELS for e in config["models"][m]["experiments"]]

# longest names first, so that e.g. `xlzd_low` is not read as `xlzd` + `_low`
wildcard_constraints:
    model="|".join(sorted(map(re.escape, MODELS), key=len, reverse=True)),
    experiment="|".join(sorted(map(re.escape, EXPERIMENTS), key=len, reverse=True)),


def analysis_inputs(wildcards=None):
    """Everything the xenon analysis reads: solar files, binding energies, efficiency tables."""
    tables = sorted(
        {e["efficiency"]["input"] for e in config["experiments"].values() if e["efficiency"]["kind"] == "table"}
    )
    return {**solar_inputs(), **cached("xe_binding", *tables)}


def analysis_params():
    """Config sections of the xenon analysis (their hash goes into the provenance)."""
    keys = ("solar", "xenon", "experiments", "models", "hadronic", "limits", "benchmarks")
    return {k: config[k] for k in keys if k in config}


def pair_outputs(pattern):
    return [pattern.format(model=m, experiment=e) for m, e in PAIRS]


def all_outputs():
    return [
        *expand("results/rates/xenon_{process}.parquet", process=PROCESSES),
        "results/figures/fig1_sm_rates.pdf",
        "results/figures/fig1_sm_rates.png",
        "results/tables/signal_limits.csv",
        "results/tables/table1.csv",
        "results/tables/table1.md",
        "results/tables/limits_summary.csv",
        *pair_outputs("results/limits/{model}_{experiment}.parquet"),
        *pair_outputs("results/scans/{model}_{experiment}.parquet"),
        "results/figures/fig2_spectra.pdf",
        "results/figures/fig3_limits.pdf",
        "results/coherent/sm_fit.json",
        "results/coherent/nsi_scan.parquet",
        "results/figures/fig4_coherent_nsi.pdf",
        "results/figures/coherent_projections.pdf",
        *coherent_limit_outputs(),
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


def coherent_limit_outputs():
    return [f"results/limits/{m}_coherent_csi.parquet" for m in config["coherent"]["models"]]
