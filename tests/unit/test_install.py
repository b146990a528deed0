"""A non-editable install works on its own: the wheel carries the config schema (package data)."""

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from ..conftest import CONFIG
from ..helpers import ROOT


def run(*args, **kwargs):
    proc = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc.stdout


def _setuptools_version() -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in importlib.metadata.version("setuptools").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return ()


def test_wheel_installed_elsewhere_validates_config(tmp_path):
    # build in this environment (fast, offline: no isolated build environment to create)
    if importlib.util.find_spec("pip") is None or _setuptools_version() < (77,):
        pytest.skip("building the wheel needs pip and setuptools>=77 (the [test] extra has them)")
    # build from a copy of the sources, so the checkout stays clean (no build/ or egg-info)
    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    run("-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", tmp_path / "dist", source)
    (wheel,) = (tmp_path / "dist").glob("nufog-*.whl")
    run("-m", "pip", "install", "--no-deps", "--quiet", "--target", tmp_path / "site", wheel)
    shutil.rmtree(source)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # the target directory comes before site-packages (and before any editable install of the repo)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    where = run("-c", "import nufog.config as c; print(c.__file__); print(c.SCHEMA_PATH)", cwd=elsewhere, env=env)
    assert all(line.startswith(str(tmp_path / "site")) for line in where.split()), where
    out = run("-m", "nufog", "check-config", CONFIG, cwd=elsewhere, env=env)
    assert out.strip() == f"{CONFIG}: valid"


def test_environment_yml_lists_the_pyproject_dependencies():
    """environment.yml (conda) stays in step with pyproject.toml: core, workflow and test packages."""
    import re
    import tomllib

    import yaml

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["workflow"] + extras["test"]
    names = {re.split(r"[\[<>=~! ]", spec, maxsplit=1)[0].lower() for spec in wanted}
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    pip = [spec for entry in conda if isinstance(entry, dict) for spec in entry.get("pip", [])]
    specs = [spec for spec in conda if isinstance(spec, str)] + pip  # conda-forge packages, then pip-only ones
    listed = {re.split(r"[<>=~! ]", spec, maxsplit=1)[0].lower() for spec in specs}
    assert names <= listed, f"missing from environment.yml: {sorted(names - listed)}"
