"""Workflow fixtures: run Snakemake as a subprocess (isolated logging), one small build per session.

Every test that reads outputs shares ``built``; a test that changes files works on ``built_copy``.
Each Snakemake call costs seconds of start-up, so calls that several tests inspect are made once:
the HTML report of the build (``report``) and the dry run of the small config (``ci_dry_run``).
"""

import os
import shutil
import subprocess

import pytest

from ..conftest import CONFIG, DATA, NO_DATA
from ..helpers import ROOT, snakemake_command

CI_CONFIG = ROOT / "tests" / "configs" / "ci.yaml"


def snakemake(workdir, *args, configfiles=(CONFIG, CI_CONFIG), check=True, env=None):
    """Run ``snakemake`` on the repository's Snakefile in ``workdir``; return the CompletedProcess.

    Inputs come from the tests' data directory (``NUFOG_DATA_MIRROR`` or the repository's download
    cache). ``args`` come last: give targets before options that take several values (``--forcerun``).
    """
    cmd = snakemake_command(workdir, configfiles, 2, *args)
    environ = {**os.environ, **({"NUFOG_DATA_MIRROR": str(DATA)} if DATA else {}), **(env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=environ, timeout=1800)  # busy shared machines
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def missing_input(proc) -> str | None:
    """The download error of a failed run, if an input was neither in the data directory nor fetchable."""
    for line in (proc.stdout + proc.stderr).splitlines():
        if "could not fetch input" in line:
            return line.strip()
    return None


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The one complete build of the tiny config (tests/configs/ci.yaml); tests only read it."""
    if DATA is None:
        pytest.skip(NO_DATA)
    workdir = tmp_path_factory.mktemp("build")
    proc = snakemake(workdir, check=False)
    if proc.returncode != 0 and (reason := missing_input(proc)) and "NUFOG_DATA_MIRROR" not in os.environ:
        pytest.skip(f"download cache incomplete and no network: {reason}")
    if proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return workdir


@pytest.fixture
def built_copy(built, tmp_path):
    """A private copy of the shared build, file times kept (so Snakemake finds it up to date)."""
    return shutil.copytree(built, tmp_path / "build", symlinks=True)


@pytest.fixture(scope="session")
def report(built):
    """``results/ci/report.html`` of the shared build (``snakemake --report``), made once."""
    snakemake(built, "--report", "results/ci/report.html")
    return built / "results/ci/report.html"


@pytest.fixture(scope="session")
def ci_dry_run(tmp_path_factory):
    """Output of one dry run of the small config in an empty directory: every job it would run,
    with its outputs, logs and benchmarks (``snakemake -n``)."""
    proc = snakemake(tmp_path_factory.mktemp("ci-dry-run"), "-n")
    return proc.stdout + proc.stderr
