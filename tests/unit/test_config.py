"""Config schema: defaults filled, bad values rejected with the key named."""

import copy

import pytest

from nufog.config import ConfigError, validate_config

from ..conftest import with_value


def test_paper_config_valid_with_defaults(paper_config):
    assert paper_config["solar"]["oscillation"]["sin2_theta12"] == 0.307
    assert paper_config["data"]["retries"] == 3
    assert paper_config["run"] == "paper"


def test_run_defaults_to_paper(paper_config):
    c = copy.deepcopy(paper_config)
    del c["run"]
    assert validate_config(c)["run"] == "paper"


@pytest.mark.parametrize("name", ["paper", "ci", "bigscan", "xlzd_low", "2026-v1.2"])
def test_run_names_that_are_folder_names_pass(paper_config, name):
    assert validate_config(with_value(paper_config, ("run",), name))["run"] == name


@pytest.mark.parametrize("name", ["a/b", "..", "../paper", "/abs", ".hidden", "", "has space", "a\\b", "{run}"])
def test_run_name_outside_results_is_refused(paper_config, name):
    """The run name is a folder under results/: no path separator, no `..`, no wildcard braces."""
    with pytest.raises(ConfigError) as err:
        validate_config(with_value(paper_config, ("run",), name))
    (line,) = [m for m in str(err.value).splitlines() if "'run'" in m]
    assert line.strip().startswith("config key 'run':") and "a folder name under results/" in line


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("solar", "ssm"), "B23", "'solar.ssm'"),
        (("grids", "e_nr_keV", "min"), 0.0, "must be > 0"),
        (("grids", "e_nr_keV", "n"), 1, "'grids.e_nr_keV.n'"),
        (("xenon", "quenching", "q_nr"), 1.5, "'xenon.quenching.q_nr'"),
        (("solar", "components"), [], "'solar.components'"),
        (("data", "retries"), "three", "must be of type"),
        (("grids", "e_ee_keV", "max"), 0.001, "min (0.01) must be below max"),
        (("benchmarks", "scalar", "m_med_MeV"), 2.0e4, "'benchmarks.scalar.m_med_MeV': 20000.0 MeV lies outside"),
    ],
)
def test_bad_values_name_the_key(paper_config, path, value, message):
    with pytest.raises(ConfigError) as err:
        validate_config(with_value(paper_config, path, value))
    assert message in str(err.value)


def test_misspelled_key_is_rejected(paper_config):
    c = copy.deepcopy(paper_config)
    c["xenon"]["form_factr"] = "helm"
    with pytest.raises(ConfigError, match="'xenon.form_factr' is not a known key"):
        validate_config(c)


def test_abundances_must_sum_to_one(paper_config):
    c = copy.deepcopy(paper_config)
    c["xenon"]["isotopes"][0]["abundance"] = 0.5
    with pytest.raises(ConfigError, match="abundances sum to"):
        validate_config(c)


def test_null_entry_removes_a_data_set_or_combination(paper_config):
    """A layered config removes `experiments.X` / `combinations.Y` with null (Snakemake's merge puts None
    there); references to a removed entry are errors that say where it went."""
    cfg = copy.deepcopy(paper_config)
    cfg["experiments"]["xenonnt_2026"] = None
    cfg["combinations"]["xenon_2026"] = None
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(cfg))
    msg = str(err.value)
    assert "models.universal_scalar.experiments': 'xenonnt_2026' is not defined under 'experiments'" in msg
    assert "removed it with `experiments.xenonnt_2026: null`" in msg
    for model in ("universal_scalar", "higgs_scalar", "universal_vector"):
        cfg["models"][model]["experiments"].remove("xenonnt_2026")
    out = validate_config(cfg)
    assert "xenonnt_2026" not in out["experiments"] and "xenon_2026" not in out["combinations"]
    assert "xenonnt_s2only_2026" in out["experiments"] and "xenon_2024" in out["combinations"]
    other = copy.deepcopy(paper_config)
    other["limits"] = None  # null elsewhere is no removal: the schema's type error
    with pytest.raises(ConfigError, match="'limits': None is not allowed"):
        validate_config(other)
