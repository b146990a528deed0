"""The Snakemake workflow end to end: dry-run of the paper DAG, a real run of the tiny config,
rerun is a no-op, and bad configs stop before any job."""

import os
import subprocess
import sys

import pytest

from nufog import io

from ..conftest import CONFIG, MIRROR, ROOT

pytestmark = pytest.mark.workflow
CI_CONFIG = ROOT / "tests" / "configs" / "ci.yaml"
PROCESSES = ("cevns", "migdal", "electron")


def snakemake(workdir, *args, configfiles=(CONFIG, CI_CONFIG), check=True):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
           "--directory", str(workdir), "--cores", "2", "--configfile", *map(str, configfiles), *args]
    env = {**os.environ, "NUFOG_DATA_MIRROR": str(MIRROR)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not MIRROR.is_dir():
        pytest.skip("input mirror not found; set NUFOG_DATA_MIRROR")
    workdir = tmp_path_factory.mktemp("build")
    snakemake(workdir)
    return workdir


def test_dry_run_of_paper_config(tmp_path):
    proc = snakemake(tmp_path, "-n", configfiles=(CONFIG,))
    out = proc.stdout + proc.stderr
    for rule in ("download_input", "tabulate_rates", "plot_fig1"):
        assert rule in out


def test_small_run_produces_tables_with_units_and_provenance(built):
    for process in PROCESSES:
        df, meta = io.read_table(built / f"results/rates/xenon_{process}.parquet")
        energy = "e_nr_keV" if process == "cevns" else "e_ee_keV"
        assert df.columns[0] == energy and "rate_total" in df.columns and "rate_8B" in df.columns
        assert len(df) == 80 and (df[energy].diff().dropna() > 0).all()
        assert meta["units"][energy] == "keV"
        assert meta["units"]["rate_total"] == "1/(t yr keV)"
        prov = meta["provenance"]
        assert len(prov["config_hash"]) == 64 and prov["nufog_version"]
        assert all(len(h) == 64 for h in prov["inputs_sha256"].values())
        assert "fluxes_b16" in prov["inputs_sha256"]
        assert df.notna().all().all() and (df.drop(columns=energy) >= 0).all().all()
    assert (built / "results/figures/fig1_sm_rates.pdf").stat().st_size > 5000


def test_second_run_is_a_no_op(built):
    proc = snakemake(built, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_deleting_an_intermediate_rebuilds_only_its_dependants(built):
    (built / "results/rates/xenon_migdal.parquet").unlink()
    proc = snakemake(built, "-n")
    out = proc.stdout + proc.stderr
    assert "tabulate_rates" in out and "plot_fig1" in out and "download_input" not in out
    snakemake(built)  # restore for the other tests


@pytest.mark.parametrize(
    "override, message",
    [
        ("solar:\n  b8_shap: winter2006\n", "'solar.b8_shap' is not a known key"),
        ("grids:\n  e_nr_keV: {min: -1.0, max: 10.0, n: 10}\n", "'grids.e_nr_keV.min'"),
        ("grids:\n  e_nr_keV: {min: 1.0, max: 10.0, n: 0}\n", "'grids.e_nr_keV.n'"),
    ],
)
def test_bad_config_is_rejected_before_any_job(tmp_path, override, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(override)
    proc = snakemake(tmp_path, "-n", configfiles=(CONFIG, bad), check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()
