"""Fault injection (issue 11, section 4): every case is an error naming the key or file, never a silent result."""

import copy
import logging
import os
import stat

import numpy as np
import pandas as pd
import pytest

from nufog import cevns, electron, io
from nufog.config import ConfigError, _size_checks, check_config_files, read_config_file, validate_config
from nufog.experiments import Efficiency, Experiment, fold, read_efficiency_table

from ..conftest import CONFIG, with_value


def rejected(config) -> str:
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    return str(err.value)


# --- config: non-finite numbers, sizes, grids ------------------------------------------------------


@pytest.mark.parametrize(
    "path, value",
    [
        (("experiments", "xenonnt", "exposure_t_yr"), float("nan")),
        (("experiments", "xenonnt", "exposure_t_yr"), float("inf")),
        (("limits", "cl"), float("nan")),
        (("limits", "m_med_MeV", "min"), float("nan")),
        (("limits", "m_med_MeV", "max"), float("nan")),
        (("experiments", "xenonnt", "efficiency", "roi_keV"), [0.1, float("inf")]),
        (("experiments", "pandax4t_s2only", "efficiency", "center_keV"), float("nan")),
    ],
)
def test_non_finite_numbers_name_the_key(paper_config, path, value):
    message = rejected(with_value(paper_config, path, value))
    key = ".".join(path)
    assert f"config key '{key}" in message and "numbers must be finite" in message


def test_mass_grid_too_big_for_memory_names_the_key(paper_config):
    c = copy.deepcopy(paper_config)
    c["limits"]["m_med_MeV"]["n"] = 1_000_000
    message = rejected(c)
    assert "'limits.m_med_MeV.n' (1000000)" in message and "GiB" in message
    assert _size_checks(paper_config, memory=2**30) == []  # the paper grid fits in 1 GiB


@pytest.mark.parametrize(
    "grid, values, needs",
    [
        ("e_nr_keV", {"max": 9.2}, "'experiments.xenonnt.efficiency.roi_keV'"),  # stops inside the ROI
        ("e_nr_keV", {"min": 20.0, "max": 50.0}, "'experiments.xenonnt.efficiency.roi_keV'"),  # entirely above
        ("e_ee_keV", {"max": 0.5}, "'experiments.pandax4t_s2only.efficiency.roi_keV'"),  # keV_ee of the ROI
    ],
)
def test_folding_grid_must_cover_every_roi(paper_config, grid, values, needs):
    c = copy.deepcopy(paper_config)
    c["limits"][grid].update(values)
    message = rejected(c)
    assert f"config key 'limits.{grid}'" in message and needs in message


def test_erf_turn_on_counts_as_threshold(paper_config):
    c = copy.deepcopy(paper_config)  # PandaX S2-only erf at 0.33 keV, width 0.1: the grid may start above
    c["experiments"]["pandax4t_s2only"]["efficiency"]["roi_keV"] = [0.001, 5.0]  # the ROI's lower edge...
    c["limits"]["e_ee_keV"]["min"] = 0.002
    c["limits"]["e_nr_keV"]["min"] = 0.03
    validate_config(c)
    c["limits"]["e_nr_keV"]["min"] = 0.2  # ...but not inside the turn-on
    assert "needs 0.03-5 keV_nr" in rejected(c)


def test_threshold_beyond_roi_names_experiment_and_key(paper_config):
    c = with_value(paper_config, ("experiments", "xlzd", "efficiency", "threshold_keV"), 12.0)
    message = rejected(c)
    assert "'experiments.xlzd.efficiency.threshold_keV'" in message and "roi_keV" in message


@pytest.mark.parametrize(
    "name, eff",
    [
        ("xlzd", {"kind": "step", "threshold_keV": 1.0, "roi_keV": [0.1, 10.0], "scale": 5.0}),
        ("pandax4t_s2only", {"kind": "erf", "center_keV": 0.33, "width_keV": 0.1, "plateau": 0.5, "scale": 3.0}),
    ],
)
def test_scale_above_one_is_rejected(paper_config, name, eff):
    c = copy.deepcopy(paper_config)
    c["experiments"][name]["efficiency"].update(eff)
    assert f"'experiments.{name}.efficiency.scale'" in rejected(c)


# --- config files: strict YAML ---------------------------------------------------------------------


def test_duplicate_key_names_file_and_line(tmp_path):
    f = tmp_path / "dup.yaml"
    f.write_text("limits:\n  cl: 0.9\n  n_couplings: 8\n  cl: 0.95\n")
    with pytest.raises(ConfigError, match=r"dup.yaml, line 4: duplicate key 'cl' \(first given on line 2\)"):
        read_config_file(f)


@pytest.mark.parametrize(
    "text, message",
    [
        ("limits:\n  cl: [0.9\n", r"syntax.yaml, line 3, column 1: YAML syntax error.*line 2"),
        ("limits:\n\tcl: 0.9\n", r"syntax.yaml, line 2, column 1: .*not tabs"),
        ("", r"syntax.yaml is empty"),
        ("# only a comment\n", r"syntax.yaml is empty"),
        ("- 1\n- 2\n", r"syntax.yaml: the top level must be a mapping"),
    ],
)
def test_yaml_errors_name_file_and_line(tmp_path, text, message):
    f = tmp_path / "syntax.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_config_file(f)


def test_empty_mapping_that_would_be_ignored_is_rejected(tmp_path):
    f = tmp_path / "user.yaml"
    f.write_text("limits:\n  cl: 0.95\n  m_med_MeV: {}\n")
    with pytest.raises(ConfigError, match=r"user.yaml, line 3: 'limits.m_med_MeV' is an empty mapping"):
        check_config_files([CONFIG, f])
    assert check_config_files([CONFIG])["limits"]["m_med_MeV"]["n"] == 200


def test_layered_files_merge_like_snakemake(tmp_path):
    f = tmp_path / "user.yaml"
    f.write_text("limits:\n  m_med_MeV: {min: 1.0, max: 10.0, n: 3}\n")
    merged = check_config_files([CONFIG, f])
    assert merged["limits"]["m_med_MeV"] == {"min": 1.0, "max": 10.0, "n": 3}
    assert merged["limits"]["cl"] == 0.9


# --- library: efficiencies, grids, cross sections ----------------------------------------------------


def test_nan_row_in_efficiency_table_names_file_and_line(tmp_path):
    f = tmp_path / "eff.csv"
    f.write_text("# E, eff\n1.0, 0.1\nnan, 0.2\n3.0, 0.3\n")
    with pytest.raises(ValueError, match=r"eff.csv, line 3: expected two finite numbers"):
        read_efficiency_table(f)
    f.write_text("1.0, 0.1\n2.0, nan\n")
    with pytest.raises(ValueError, match=r"eff.csv, line 2"):
        read_efficiency_table(f)
    f.write_text("1.0, 0.1\n2.0, 1.5\n")
    with pytest.raises(ValueError, match=r"eff.csv, line 2: .*efficiency in \[0, 1\]"):
        read_efficiency_table(f)
    f.write_text("2.0, 0.2\n1.0, 0.1\n2.0, 0.3\n")
    with pytest.raises(ValueError, match=r"eff.csv, lines 1 and 3: energy 2.0 keV is given twice"):
        read_efficiency_table(f)


def test_shuffled_efficiency_table_is_sorted(tmp_path):
    f = tmp_path / "eff.csv"
    f.write_text("3.0, 0.3\n1.0, 0.1\n2.0, 0.2\n")
    e, eff = read_efficiency_table(f)
    assert e.tolist() == [1.0, 2.0, 3.0] and eff.tolist() == [0.1, 0.2, 0.3]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "erf", "center_keV": float("nan"), "width_keV": 0.1}, "center_keV must be finite"),
        ({"kind": "step", "threshold_keV": 1.0, "scale": 5.0}, "peak efficiency of 5 > 1"),
        ({"kind": "erf", "center_keV": 1.0, "width_keV": 0.1, "plateau": 0.5, "scale": 5.0}, "peak efficiency"),
        ({"kind": "table", "energies_keV": np.array([2.0, 1.0]), "values": np.array([0.1, 0.2])}, "increase"),
        ({"kind": "table", "energies_keV": np.array([1.0, 2.0]), "values": np.array([0.5, 0.6]), "scale": 2.0}, ">"),
        ({"kind": "step", "threshold_keV": 20.0}, "zero everywhere in the ROI"),
    ],
)
def test_bad_efficiencies_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Efficiency(roi_keV=(0.1, 10.0), **kwargs)


def test_sm_events_normalisation_above_one_names_the_key():
    e = np.geomspace(0.05, 20.0, 200)
    rate = 10.0 / e  # events / (t yr keV)
    eff = Efficiency("erf", roi_keV=(0.1, 5.0), center_keV=0.33, width_keV=0.1, plateau=1.0)
    exp = Experiment("s2", "S2", 1.0, 1.0, 2.0, eff, sm_events_target=5.0)
    reachable = float(exp.events(e, rate))
    ok = exp.normalised(e, rate)
    assert float(ok.events(e, rate)) == pytest.approx(5.0)
    too_many = Experiment("s2", "S2", 1.0, 1.0, 2.0, eff, sm_events_target=94.0 * reachable)
    with pytest.raises(ValueError, match=r"'experiments.s2.efficiency.sm_events': .* peak efficiency of 94"):
        too_many.normalised(e, rate)


def test_fold_rejects_unsorted_grid_and_bad_exposure():
    e = np.geomspace(0.1, 10.0, 50)
    rate, eff = np.ones_like(e), np.ones_like(e)
    assert fold(e, rate, eff, 1.0) == pytest.approx(9.9)
    shuffled = np.random.default_rng(1).permutation(e)
    with pytest.raises(ValueError, match="must increase strictly"):
        fold(shuffled, rate, eff, 1.0)
    for bad in (float("inf"), float("nan"), 0.0):
        with pytest.raises(ValueError, match="exposure_t_yr"):
            fold(e, rate, eff, bad)
    with pytest.raises(ValueError, match="exposure"):
        Experiment("x", "X", float("inf"), 1.0, 2.0, Efficiency("step", roi_keV=(0.1, 10.0)))


def test_recoil_kernel_rejects_unsorted_grid(xenon, fluxes):
    with pytest.raises(ValueError, match="e_r_keV must increase"):
        cevns.RecoilKernel.build(np.array([1.0, 0.5, 2.0]), xenon, fluxes.components)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: cevns.dsigma_dER(-1e-3, 10.0, 54, 77, 1.2e5), "e_r_MeV"),
        (lambda: cevns.dsigma_dER(1e-3, float("nan"), 54, 77, 1.2e5), "e_nu_MeV"),
        (lambda: cevns.dsigma_dER(1e-3, 10.0, 54, 77, float("nan")), "mass_MeV"),
        (lambda: cevns.e_nu_min(-1.0, 1.2e5), "e_r_MeV"),
        (lambda: cevns.e_r_max(float("nan"), 1.2e5), "e_nu_MeV"),
        (lambda: electron.t_max(float("nan")), "E_nu_MeV"),
        (lambda: electron.t_max(-1.0), "E_nu_MeV"),
        (lambda: electron.dsigma_dT_free(0.01, float("inf"), "e"), "E_nu_MeV"),
        (lambda: electron.dsigma_dT_free(-0.01, 1.0, "e"), "T_MeV"),
    ],
)
def test_cross_sections_reject_bad_energies(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- outputs, logs -----------------------------------------------------------------------------------


def test_outputs_respect_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "t.parquet"
        io.write_table(pd.DataFrame({"x": [1.0]}), path, {"x": "1"}, io.provenance({}, {}))
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o027)
        with io.atomic_path(tmp_path / "u.txt") as tmp:
            tmp.write_text("x")
        assert stat.S_IMODE((tmp_path / "u.txt").stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_fetched_inputs_respect_the_umask(tmp_path):
    from nufog.inputs import InputEntry, fetch, sha256_of

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "a.txt").write_text("data")
    entry = InputEntry("a", "a.txt", "http://invalid/a.txt", sha256_of(mirror / "a.txt"), "ref", "CC0")
    old = os.umask(0o022)
    try:
        fetch(entry, tmp_path / "cache" / "a.txt", mirror=mirror, retries=1)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "cache" / "a.txt").stat().st_mode) == 0o644


def test_run_quiets_third_party_loggers(tmp_path):
    from types import SimpleNamespace

    from nufog.scripting import run

    class Named(list):
        def items(self):
            return []

    log = tmp_path / "job.log"
    smk = SimpleNamespace(
        log=[str(log)], rule="r", wildcards=Named(), params=Named(), input=Named(), output=Named([str(tmp_path / "o")])
    )

    def main(inputs, outputs, params):
        logging.getLogger("fontTools.subset").info("subsetting glyphs")
        logging.getLogger("matplotlib.font_manager").info("findfont")
        logging.getLogger("PIL.PngImagePlugin").info("STREAM b'IHDR'")
        logging.getLogger("fontTools").warning("a real warning")

    run(smk, main)
    text = log.read_text()
    assert "subsetting glyphs" not in text and "findfont" not in text and "IHDR" not in text
    assert "a real warning" in text


# --- command line: one line, no traceback ------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["info", "{tmp}/t.json"], 1, "t.json: not a Parquet file"),
        (["info", "{tmp}/missing.parquet"], 2, "missing.parquet: no such file"),
        (["check-config", "{tmp}/missing.yaml"], 2, "config file {tmp}/missing.yaml: no such file"),
        (["check-config", str(CONFIG), "{tmp}/dup.yaml"], 1, "dup.yaml, line 3: duplicate key 'cl'"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, capsys, argv, code, message):
    from nufog.__main__ import main

    (tmp_path / "t.json").write_text('{"a": 1}\n')
    (tmp_path / "dup.yaml").write_text("limits:\n  cl: 0.9\n  cl: 0.95\n")
    assert main([a.format(tmp=tmp_path) for a in argv]) == code
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err and "Traceback" not in err
