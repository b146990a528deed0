"""Workflow fixtures: run Snakemake as a subprocess (isolated logging), one small build per session."""

import os
import subprocess

import pytest

from ..conftest import CONFIG, MIRROR, ROOT
from ..helpers import snakemake_command

CI_CONFIG = ROOT / "tests" / "configs" / "ci.yaml"


def snakemake(workdir, *args, configfiles=(CONFIG, CI_CONFIG), check=True, env=None):
    """Run ``snakemake`` on the repository's Snakefile in ``workdir``; return the CompletedProcess.

    ``args`` come last: give targets before options that take several values (``--forcerun``).
    """
    cmd = snakemake_command(workdir, configfiles, 2, *args)
    environ = {**os.environ, "NUFOG_DATA_MIRROR": str(MIRROR), **(env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=environ, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """A complete build of the tiny config (tests/configs/ci.yaml)."""
    if not MIRROR.is_dir():
        pytest.skip("input mirror not found; set NUFOG_DATA_MIRROR")
    workdir = tmp_path_factory.mktemp("build")
    snakemake(workdir)
    return workdir
