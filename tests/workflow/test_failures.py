"""Failure handling: corrupt or missing inputs are reported and never used (bad configs:\ntest_workflow.py)."""

import pytest

from ..conftest import CONFIG
from .conftest import snakemake

pytestmark = pytest.mark.workflow


def test_corrupt_cached_input_is_reported_not_used(built_copy):
    cached = built_copy / "resources/downloads/solar/pp_shape.csv"
    good = cached.read_bytes()
    cached.write_bytes(good[: len(good) // 2])  # truncated
    proc = snakemake(built_copy, "results/ci/rates/xenon_cevns.parquet", "--forcerun", "tabulate_rates", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "cached input 'pp' at" in out and "is corrupt" in out and "delete it and rerun" in out
    assert not (built_copy / "results/ci/rates/xenon_cevns.parquet").exists()  # nothing made from the bad file


def test_missing_mirror_file_names_the_input(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    proc = snakemake(
        tmp_path / "work",
        "resources/downloads/solar/pp_shape.csv",
        check=False,
        env={"NUFOG_DATA_MIRROR": str(mirror)},
        configfiles=(CONFIG,),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "could not fetch input 'pp'" in out and "NUFOG_DATA_MIRROR" in out
    assert not (tmp_path / "work/resources/downloads/solar/pp_shape.csv").exists()
