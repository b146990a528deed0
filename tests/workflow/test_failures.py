"""Failure handling: a missing input is reported and nothing is made without it (a corrupt cached
input: test_faults_workflow.py; bad configs: test_workflow.py and test_faults_workflow.py)."""

import pytest

from ..conftest import CONFIG
from .conftest import snakemake

pytestmark = pytest.mark.workflow


def test_missing_mirror_file_names_the_input(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    once = tmp_path / "once.yaml"  # one URL attempt: the back-off between retries (1 s, 2 s) only waits
    once.write_text("data: {retries: 1}\n")
    proc = snakemake(
        tmp_path / "work",
        "resources/downloads/solar/pp_shape.csv",
        check=False,
        env={"NUFOG_DATA_MIRROR": str(mirror)},
        configfiles=(CONFIG, once),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "could not fetch input 'pp'" in out and "NUFOG_DATA_MIRROR" in out
    assert not (tmp_path / "work/resources/downloads/solar/pp_shape.csv").exists()
