# Helpers only: config validation, input look-up, target lists. No rules here.
import re
from pathlib import Path

import nufog
from nufog.config import ConfigError, validate_config
from nufog.inputs import load_manifest, resolve_mirror
from snakemake.exceptions import WorkflowError

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
    return cached("fluxes_b16", "nudistr_b16", "pp", "hep", "13N", "15O", "17F", f"8B_{shape}")


def rate_inputs(wildcards):
    extra = {"cevns": (), "migdal": ("migdal_xe",), "electron": ("xe_binding",)}[wildcards.process]
    return {**solar_inputs(), **cached(*extra)}


def all_outputs():
    return [
        *expand("results/rates/xenon_{process}.parquet", process=PROCESSES),
        "results/figures/fig1_sm_rates.pdf",
        "results/figures/fig1_sm_rates.png",
    ]
