"""The nufog command line."""

import pandas as pd

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
