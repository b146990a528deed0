"""Shared fixtures: where the input files are, and the physics objects built from them.

Inputs come from ``$NUFOG_DATA_MIRROR`` if set, else from the download cache of a build in this
repository (``resources/downloads``, same relative paths); a test whose file is in neither is
skipped with the reason, never errored.
"""

import os
from pathlib import Path

import pytest
import yaml

from .helpers import ROOT

os.environ.setdefault("MPLBACKEND", "Agg")  # figures are files; set before anything imports pyplot
# One BLAS thread (set before numpy is imported): the background builds of the workflow tests use the
# other cores, and a second thread only spins beside them (the unit tests alone: 50 s -> 42 s CPU).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

MANIFEST = ROOT / "resources" / "inputs.yaml"
CONFIG = ROOT / "config.yaml"
CACHE = ROOT / "resources" / "downloads"


def _data_dir() -> Path | None:
    if os.environ.get("NUFOG_DATA_MIRROR"):
        return Path(os.environ["NUFOG_DATA_MIRROR"]).resolve()
    return CACHE if CACHE.is_dir() else None


#: Directory with the inputs under their manifest paths (the mirror or the download cache), or None.
DATA = _data_dir()
#: ``DATA``, or a folder that does not exist (module-level skip conditions test ``.is_dir()`` on it)
DATA_OR_MISSING = DATA if DATA is not None else ROOT / "resources" / "no-input-data"
NO_DATA = "input data not found: set NUFOG_DATA_MIRROR or run `uv run snakemake --cores 2` (fills resources/downloads)"


def data_path(relative: str) -> Path:
    """``DATA / relative`` if that file or folder exists; otherwise skip the test with the reason."""
    path = DATA / relative if DATA is not None else None
    if path is None or not path.exists():
        pytest.skip(f"{relative}: {NO_DATA}")
    return path


def with_value(config, path, value):
    """A deep copy of ``config`` with the key at ``path`` (a tuple of keys) set to ``value``."""
    import copy

    c = copy.deepcopy(config)
    node = c
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return c


def mirror_file(name: str) -> Path:
    """Path of a manifest input in the data directory (skips the test if it is not there).

    A registry entry (a data release of many files) gives its directory.
    """
    entries = yaml.safe_load(MANIFEST.read_text())["inputs"]
    return data_path(entries[name]["file"])


@pytest.fixture(scope="session")
def paper_config():
    from nufog.config import load_config

    return load_config(CONFIG)


@pytest.fixture(scope="session")
def solar_files():
    names = [
        "fluxes_b16",
        "nudistr_b16",
        "pp",
        "hep",
        "13N",
        "15O",
        "17F",
        "8B_bahcall1996",
        "8B_winter2006",
        "7Be_ground_shape",
        "7Be_excited_shape",
    ]
    return {n: mirror_file(n) for n in names}


@pytest.fixture(scope="session")
def fluxes(solar_files):
    from nufog.solar import load_solar_fluxes

    return load_solar_fluxes(solar_files)


@pytest.fixture(scope="session")
def xenon(paper_config):
    from nufog.rates import xenon_target

    return xenon_target(paper_config["xenon"]["isotopes"])
