"""Fault injection at the workflow level (issue 11, section 4): config files are read strictly before
any job runs, and the advice printed for a corrupt cache actually rebuilds what the failure removed."""

import shutil
import subprocess
import sys

import pytest

from ..conftest import CONFIG, DATA_OR_MISSING, ROOT
from .conftest import CI_CONFIG, snakemake

pytestmark = pytest.mark.workflow


def dry_run(workdir, *files, configfiles=None):
    proc = snakemake(workdir, "-n", configfiles=configfiles or (CONFIG, CI_CONFIG, *files), check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "text, message",
    [
        ("limits:\n  cl: 0.9\n  cl: 0.95\n", "user.yaml, line 3: duplicate key 'cl' (first given on line 2)"),
        ("limits:\n  m_med_MeV: {}\n", "user.yaml, line 2: 'limits.m_med_MeV' is an empty mapping"),
        ("limits:\n  cl: .nan\n", "config key 'limits.cl': nan is not allowed: numbers must be finite"),
        ("limits:\n  e_nr_keV: {min: 0.05, max: 9.2, n: 100}\n", "config key 'limits.e_nr_keV' (0.05-9.2 keV_nr)"),
        ("limits:\n  m_med_MeV: {min: 0.01, max: 1.0e+4, n: 1000000}\n", "key 'limits.m_med_MeV.n' (1000000)"),
    ],
)
def test_bad_config_file_stops_before_any_job(tmp_path, text, message):
    user = tmp_path / "user.yaml"
    user.write_text(text)
    code, out = dry_run(tmp_path / "work", user)
    assert code != 0 and message in out
    assert "Job stats" not in out


@pytest.mark.parametrize(
    "text, message",
    [
        ("limits:\n  cl: [0.9\n", "config file config.yaml, line 3, column 1: YAML syntax error"),
        ("", "config file config.yaml is empty"),
        ("limits:\n  cl: 0.9\n  cl: 0.95\n", "config file config.yaml, line 3: duplicate key 'cl'"),
    ],
)
def test_broken_config_yaml_in_workdir_names_file_and_line(tmp_path, text, message):
    """`snakemake` without --configfile loads config.yaml with the Snakefile's `configfile:`
    directive; workflow/rules/preflight.smk reads it strictly first."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "config.yaml").write_text(text)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")),
            *("--directory", str(work), "--cores", "1", "-n"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and message in out


def test_syntax_error_in_a_configfile_option_is_caught_by_snakemake_first(tmp_path):
    """Files given with --configfile are parsed by Snakemake's command line before any workflow
    code runs; its message names neither file nor line (Snakemake 9.27). `nufog check-config`
    does: the README points there. If Snakemake ever names the file, drop this test."""
    user = tmp_path / "user.yaml"
    user.write_text("limits:\n  cl: [0.9\n")
    code, out = dry_run(tmp_path / "work", user)
    assert code != 0 and "not valid JSON or YAML" in out
    check = subprocess.run(
        [sys.executable, "-m", "nufog", "check-config", str(CONFIG), str(user)], capture_output=True, text=True
    )
    assert check.returncode == 1 and "user.yaml, line 3, column 1: YAML syntax error" in check.stderr


def test_following_the_corrupt_cache_advice_rebuilds(tmp_path):
    """A corrupt cached input fails the jobs reading it; Snakemake removes their outputs. A plain
    rerun then finds the final output up to date ("Nothing to be done") although intermediates are
    missing, so the message tells the user to delete the file and rerun with --forcerun RULE."""
    if not DATA_OR_MISSING.is_dir():
        pytest.skip("input mirror not found; set NUFOG_DATA_MIRROR")
    target = "results/ci/figures/fig1_sm_rates.pdf"
    snakemake(tmp_path, target)
    cached = tmp_path / "resources/downloads/solar/pp_shape.csv"
    good = cached.read_bytes()
    cached.write_bytes(good[: len(good) // 2])

    failed = snakemake(tmp_path, target, "--forcerun", "tabulate_rates", check=False)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    advice = f"rm {cached.relative_to(tmp_path)} && snakemake <your options and targets> --forcerun tabulate_rates"
    assert advice in out
    assert not (tmp_path / "results/ci/rates/xenon_cevns.parquet").exists()

    cached.unlink()  # the advice, step 1
    plain = snakemake(tmp_path, target, "-n")
    assert "Nothing to be done" in plain.stdout + plain.stderr  # why the advice needs --forcerun
    snakemake(tmp_path, target, "--forcerun", "tabulate_rates")  # the advice, step 2
    assert cached.read_bytes() == good
    for process in ("cevns", "migdal", "electron"):
        assert (tmp_path / f"results/ci/rates/xenon_{process}.parquet").is_file()
    shutil.rmtree(tmp_path / "results", ignore_errors=True)
