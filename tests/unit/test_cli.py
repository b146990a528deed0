"""The nufog command line."""

import pandas as pd
import pytest

from nufog import io
from nufog.__main__ import main

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
