"""Fault injection at the workflow level (issue 11, section 4): config files are read strictly before
any job runs, and the advice printed for a corrupt cache actually rebuilds what the failure removed."""

import os
import sys
from pathlib import Path

import pytest

from nufog.__main__ import main
from nufog.config import ConfigError, read_config_file

from ..conftest import CONFIG, ROOT
from .conftest import CI_CONFIG, run_snakemake, snakemake

pytestmark = pytest.mark.workflow
PROCESSES = ("cevns", "migdal", "electron")


def dry_run(workdir, *files, configfiles=None):
    proc = snakemake(workdir, "-n", configfiles=configfiles or (CONFIG, CI_CONFIG, *files), check=False)
    return proc.returncode, proc.stdout + proc.stderr


BAD_FILES = [
    ("limits:\n  cl: 0.9\n  cl: 0.95\n", "user.yaml, line 3: duplicate key 'cl' (first given on line 2)"),
    ("limits:\n  m_med_MeV: {}\n", "user.yaml, line 2: 'limits.m_med_MeV' is an empty mapping"),
    ("limits:\n  cl: .nan\n", "config key 'limits.cl': nan is not allowed: numbers must be finite"),
    ("limits:\n  e_nr_keV: {min: 0.05, max: 9.2, n: 100}\n", "config key 'limits.e_nr_keV' (0.05-9.2 keV_nr)"),
    ("limits:\n  m_med_MeV: {min: 0.01, max: 1.0e+4, n: 1000000}\n", "key 'limits.m_med_MeV.n' (1000000)"),
]


@pytest.mark.parametrize("text, message", BAD_FILES)
def test_bad_config_file_message(tmp_path, capsys, text, message):
    """The message of the check common.smk runs on the files given with --configfile (the same
    functions as `nufog check-config`: check_config_files, then validate_config)."""
    user = tmp_path / "user.yaml"
    user.write_text(text)
    assert main(["check-config", str(CONFIG), str(CI_CONFIG), str(user)]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [BAD_FILES[0]])  # strict reading; schema and cross-key: test_workflow.py
def test_bad_config_file_stops_before_any_job(tmp_path, text, message):
    user = tmp_path / "user.yaml"
    user.write_text(text)
    code, out = dry_run(tmp_path / "work", user)
    assert code != 0 and message in out
    assert "Job stats" not in out


BROKEN_CONFIG_YAML = [
    ("limits:\n  cl: [0.9\n", "config file config.yaml, line 3, column 1: YAML syntax error"),
    ("", "config file config.yaml is empty"),
    ("limits:\n  cl: 0.9\n  cl: 0.95\n", "config file config.yaml, line 3: duplicate key 'cl'"),
]


@pytest.mark.parametrize("text, message", BROKEN_CONFIG_YAML)
def test_broken_config_yaml_message_names_file_and_line(tmp_path, monkeypatch, text, message):
    """The message of workflow/rules/preflight.smk's strict read of config.yaml in the workdir."""
    monkeypatch.chdir(tmp_path)
    Path("config.yaml").write_text(text)
    with pytest.raises(ConfigError) as exc:
        read_config_file("config.yaml")
    assert message in str(exc.value)


@pytest.mark.parametrize("text, message", [BROKEN_CONFIG_YAML[0]])
def test_broken_config_yaml_in_workdir_names_file_and_line(tmp_path, text, message):
    """`snakemake` without --configfile loads config.yaml with the Snakefile's `configfile:`
    directive; workflow/rules/preflight.smk reads it strictly first (end to end, one case)."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "config.yaml").write_text(text)
    proc = run_snakemake(
        [
            *(sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")),
            *("--directory", str(work), "--cores", "1", "-n"),
        ],
        env=dict(os.environ),
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and message in out


def test_syntax_error_in_a_configfile_option_is_caught_by_snakemake_first(tmp_path, capsys):
    """Files given with --configfile are parsed by Snakemake's command line before any workflow
    code runs; its message names neither file nor line (Snakemake 9.27). With --verbose its traceback
    shows the YAML parser's error, which does, and so do `nufog run` (tests/unit/test_cli.py) and
    `nufog check-config`: the README points to them. If Snakemake ever names the file, drop this test."""
    user = tmp_path / "user.yaml"
    user.write_text("limits:\n  cl: [0.9\n")
    code, out = dry_run(tmp_path / "work", user)
    assert code != 0 and "not valid JSON or YAML" in out
    assert str(user) not in out
    verbose = snakemake(tmp_path / "work", "-n", "--verbose", configfiles=(CONFIG, CI_CONFIG, user), check=False)
    assert f'in "{user}", line 2, column 7' in verbose.stdout + verbose.stderr
    assert main(["check-config", str(CONFIG), str(user)]) == 1
    assert "user.yaml, line 3, column 1: YAML syntax error" in capsys.readouterr().err


def test_following_the_corrupt_cache_advice_rebuilds(built, built_copy):
    """A corrupt cached input is reported and never used: the jobs reading it fail and Snakemake
    removes their outputs. A plain rerun then finds the final output up to date ("Nothing to be
    done") although intermediates are missing, so the message tells the user to delete the file and
    rerun with --forcerun RULE; doing so rebuilds the same bytes. (On a copy of the shared build.)"""
    target = "results/ci/figures/fig1_sm_rates.pdf"
    cached = built_copy / "resources/downloads/solar/pp_shape.csv"
    good = cached.read_bytes()
    cached.write_bytes(good[: len(good) // 2])  # truncated

    failed = snakemake(built_copy, target, "--forcerun", "tabulate_rates", check=False)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "cached input 'pp' at" in out and "is corrupt" in out and "delete it and rerun" in out
    advice = f"rm {cached.relative_to(built_copy)} && snakemake <your options and targets> --forcerun tabulate_rates"
    assert advice in out
    for process in PROCESSES:  # nothing made from the bad file
        assert not (built_copy / f"results/ci/rates/xenon_{process}.parquet").exists()

    cached.unlink()  # the advice, step 1
    plain = snakemake(built_copy, target, "-n")
    assert "Nothing to be done" in plain.stdout + plain.stderr  # why the advice needs --forcerun
    snakemake(built_copy, target, "--forcerun", "tabulate_rates")  # the advice, step 2
    assert cached.read_bytes() == good
    for process in PROCESSES:
        rates = f"results/ci/rates/xenon_{process}.parquet"
        assert (built_copy / rates).read_bytes() == (built / rates).read_bytes(), rates
