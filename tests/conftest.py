"""Shared fixtures: where the input mirror is, and the physics objects built from it."""

import os
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("NUFOG_DATA_MIRROR", ROOT.parent / "shared" / "data")).resolve()
MANIFEST = ROOT / "resources" / "inputs.yaml"
CONFIG = ROOT / "config.yaml"


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
    """Path of a manifest input inside the mirror (skips the test if the mirror is absent).

    A registry entry (a data release of many files) gives its directory.
    """
    entries = yaml.safe_load(MANIFEST.read_text())["inputs"]
    path = MIRROR / entries[name]["file"]
    if not (path.is_dir() if entries[name].get("registry") else path.is_file()):
        pytest.skip(f"input mirror not found ({path}); set NUFOG_DATA_MIRROR")
    return path


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
