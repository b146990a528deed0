"""The nufog command line."""

import os
import subprocess
import sys
from importlib.metadata import version

import pandas as pd
import pytest

from nufog import io
from nufog.__main__ import _configfiles, main

from ..conftest import CONFIG


def test_info_prints_units_and_provenance(tmp_path, capsys):
    path = tmp_path / "t.parquet"
    io.write_table(
        pd.DataFrame({"m_med_MeV": [1.0]}),
        path,
        {"m_med_MeV": "MeV"},
        io.provenance({"cl": 0.9}, {"fluxes_b16": "a" * 64}),
    )
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "m_med_MeV" in out and "[MeV]" in out and io.config_hash({"cl": 0.9}) in out and "a" * 64 in out


def test_check_config(tmp_path, capsys):
    assert main(["check-config", str(CONFIG)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("solar:\n  ssm: B23\n")
    assert main(["check-config", str(CONFIG), str(bad)]) == 1
    assert "'solar.ssm'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "method, expected",
    [
        ("wilks", "2.011"),  # paper Eqs. 20-22: 2 [s - n ln(1 + s/b)] = 2.706
        ("cls", "2.964"),  # exact Poisson CLs: P(N <= 1 | s + b) / P(N <= 1 | b) = 0.1
        ("feldman_cousins", "2.415"),  # unified interval [0, 2.415] (FC Table IV: b = 2.0 -> 2.53, b = 2.5 -> 2.33)
    ],
)
def test_upper_limit_calculator_pandax_s1s2(capsys, method, expected):
    assert main(["upper-limit", "--observed", "1", "--background", "2.16", "--method", method]) == 0
    out = capsys.readouterr().out
    assert f"upper limit on the signal: {expected} events at 0.9 CL" in out


def test_upper_limit_calculator_toys_match_exact_cls(capsys):
    """Toy CLs (seeded) agrees with the exact one-bin CLs within its Monte-Carlo error."""
    assert main(["upper-limit", "--observed", "1", "--background", "2.16", "--method", "cls", "--toys", "1000"]) == 0
    out = capsys.readouterr().out
    value, err = (float(x) for x in out.split("signal: ")[1].split(" (MC)")[0].split(" +- "))
    assert abs(value - 2.964) < 3 * err + 0.01 and err < 0.2


def test_upper_limit_calculator_rejects_bad_input(capsys):
    assert main(["upper-limit", "--observed", "1", "--background", "0", "--method", "wilks"]) == 2
    assert main(["upper-limit", "--observed", "1", "--background", "2", "--method", "wilks", "--toys", "200"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("nufog: ") for line in err)


def test_upper_limit_calculator_feldman_cousins_with_a_background_uncertainty(capsys):
    """--sigma-b with feldman_cousins: the asymptotic construction (profiled background). sigma_b -> 0 gives
    the asymptotic interval of the known background: 1.53 events for n = 1, b = 3 (exact: 1.88)."""
    assert (
        main(
            [
                "upper-limit",
                "--observed",
                "1",
                "--background",
                "3",
                "--sigma-b",
                "0.0003",
                "--method",
                "feldman_cousins",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "asymptotic" in out and "1.53" in out
    assert (
        main(["upper-limit", "--observed", "1", "--background", "3", "--sigma-b", "1", "--method", "feldman_cousins"])
        == 0
    )
    wider = float(capsys.readouterr().out.split("signal: ")[1].split()[0])
    assert 1.55 < wider < 2.5  # a background uncertainty widens the interval


@pytest.mark.parametrize(
    "args, files",
    [
        (["--cores", "2", "--configfile", "a.yaml", "b.yaml", "-n"], ["a.yaml", "b.yaml"]),
        (["--configfile=a.yaml", "b.yaml", "--configfiles", "c.yaml"], ["a.yaml", "c.yaml"]),
        (["-n", "all", "--config", "run=x"], []),
    ],
)
def test_run_finds_the_configfile_options(args, files):
    assert _configfiles(args) == files


def test_run_names_file_and_line_of_a_broken_configfile(tmp_path, capsys, monkeypatch):
    """Snakemake's command line parses --configfile files before any workflow code runs and says only
    "Config file is not valid JSON or YAML": `nufog run` reads them first and names file and line."""
    monkeypatch.setattr(os, "execv", lambda *a: pytest.fail("Snakemake must not start"))
    bad, empty, dup = tmp_path / "bad.yaml", tmp_path / "empty.yaml", tmp_path / "dup.yaml"
    bad.write_text("limits:\n  cl: [0.9\n")
    empty.write_text("")
    dup.write_text("limits:\n  cl: 0.9\n  cl: 0.95\n")
    for path, message in [
        (bad, "bad.yaml, line 3, column 1: YAML syntax error"),
        (empty, "empty.yaml is empty"),
        (dup, "dup.yaml, line 3"),
    ]:
        assert main(["run", "--cores", "1", "--configfile", str(CONFIG), str(path), "-n"]) == 1
        err = capsys.readouterr().err
        assert message in err, err
    assert main(["run", "--configfile", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: no such file" in capsys.readouterr().err


def test_run_hands_valid_configs_to_snakemake(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "execv", lambda *a: calls.append(a))
    args = ["--cores", "2", "--configfile", str(CONFIG), "-n"]
    assert main(["run", *args]) == 0
    assert calls == [(sys.executable, [sys.executable, "-m", "snakemake", *args])]


def test_run_is_snakemake():
    proc = subprocess.run([sys.executable, "-m", "nufog", "run", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == version("snakemake")


def test_upper_limit_says_why_there_is_none(capsys):
    """n = 0 on b = 10 +- 5: the background normalisation ends on its bound 1 + sigma theta = 0, so the
    limit is flagged; the calculator said "the fit did not converge", which it had. With toys it raised a
    traceback (every toy fit on that bound counted as failed); toy fits there are valid outcomes now."""
    args = ["upper-limit", "--observed", "0", "--background", "10", "--sigma-b", "5"]
    for method in ("wilks", "cls", "feldman_cousins"):
        assert main([*args, "--method", method]) == 1
        assert "puts the background normalisation on its bound" in capsys.readouterr().err
    assert main([*args, "--method", "cls", "--toys", "200"]) == 0
    assert "upper limit on the signal" in capsys.readouterr().out
