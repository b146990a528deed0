"""The Snakemake workflow end to end: dry-run of the paper DAG, a real run of the tiny config, and bad
configs stop before any job. (That a rerun of the build is a no-op: test_runs.py, which checks it
after planning another run over the same folder.)"""

import re

import pytest

from nufog import io
from nufog.__main__ import main

from ..conftest import CONFIG
from .conftest import CI_CONFIG, snakemake

pytestmark = pytest.mark.workflow
PROCESSES = ("cevns", "migdal", "electron")


def test_dry_run_of_paper_config(tmp_path):
    proc = snakemake(tmp_path, "-n", configfiles=(CONFIG,))
    out = proc.stdout + proc.stderr
    for rule in (
        "download_input",
        "tabulate_rates",
        "plot_fig1",
        "fold",
        "limits_xenonnt",
        "limits_xenon_2024",
        "experiment_tables",
        "plot_fig2",
        "plot_fig3",
        "coherent_sm_fit",
        "coherent_nsi",
        "coherent_nsi_intervals",
        "coherent_limits",
        "plot_fig4",
    ):
        assert rule in out
    assert "sets no `run`" not in out  # the paper config alone writes into results/paper/ quietly


def test_dry_run_of_paper_only_config(tmp_path):
    """config/paper_only.yaml removes the 2026 releases (null entries): no job reads them, no closure, no
    Fig. 5; everything of the paper is planned, into results/paper_only/; no warning about local rules."""
    proc = snakemake(tmp_path, "-n", configfiles=(CONFIG, CONFIG.parent / "config" / "paper_only.yaml"))
    out = proc.stdout + proc.stderr
    jobs = job_counts(out)
    assert jobs["fold"] == 4 and jobs["fold_coherent"] == 1 and jobs["coherent_limits"] == 1
    paper_limits = {"pandax4t_s1s2", "pandax4t_s2only", "xenonnt", "xlzd", "coherent_csi", "xenon_2024"}
    assert {k for k in jobs if k.startswith("limits_")} == {f"limits_{n}" for n in paper_limits} | {
        "limits_xenon_2024_coherent",
        "limits_summary",
    }
    assert "nufog: Fig. 5 is not drawn: its combination 'xenon_2026' (figures.fig5.combination)" in out
    out = out.replace("its combination 'xenon_2026' (figures.fig5.combination)", "")
    for absent in ("_2026", "xenonnt_s2only", "cevns_data_release", "closure", "fig5"):
        assert absent not in out, absent
    assert "results/paper_only/figures/fig3_limits.pdf" in out and "results/paper/" not in out
    assert "localrules directive specifies rules that are not present" not in out


def test_small_run_produces_tables_with_units_and_provenance(built):
    for process in PROCESSES:
        df, meta = io.read_table(built / f"results/ci/rates/xenon_{process}.parquet")
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
    for fig in ("fig1_sm_rates", "fig2_spectra", "fig3_limits"):
        assert (built / f"results/ci/figures/{fig}.pdf").stat().st_size > 5000


def test_small_run_fold_and_limits(built):
    import numpy as np
    import pandas as pd
    import yaml

    cfg = yaml.safe_load(CONFIG.read_text())
    for experiment in cfg["experiments"]:
        fold, fmeta = io.read_table(built / f"results/ci/fold/{experiment}.parquet")
        assert set(fold["kind"]) >= {"sm", "lin", "quad"} and fmeta["dataset"] == experiment
        assert fmeta["units"]["events"].startswith("events") and len(fmeta["provenance"]["config_hash"]) == 64
    names = {e: [e] for e in cfg["experiments"]} | {c: v["datasets"] for c, v in cfg["combinations"].items()}
    for model, mcfg in cfg["models"].items():
        for name, members in names.items():
            if not set(members) <= set(mcfg["experiments"]):
                continue
            curve, meta = io.read_table(built / f"results/ci/limits/{model}_{name}.parquet")
            assert list(curve.columns[:3]) == ["m_med_MeV", "coupling_limit", "fit_ok"] and len(curve) == 12
            assert curve["fit_ok"].all() and curve["m_med_MeV"].is_monotonic_increasing
            bands = curve[["expected_minus2", "expected_minus1", "expected_median", "expected_plus1", "expected_plus2"]]
            assert (np.diff(bands.to_numpy(), axis=1) > 0).all()  # ordered bands
            assert meta["units"]["m_med_MeV"] == "MeV" and meta["cl"] == 0.9 and meta["method"] == "wilks"
            assert meta["model"] == model and meta["experiment"] == name
    # a projection's observed limit is its expected median (Asimov data)
    xlzd, _ = io.read_table(built / "results/ci/limits/universal_scalar_xlzd.parquet")
    assert np.allclose(xlzd["coupling_limit"], xlzd["expected_median"], rtol=2e-3)
    table = pd.read_csv(built / "results/ci/tables/signal_limits.csv").set_index("experiment")
    assert table.loc["pandax4t_s2only", "n_lim"] == pytest.approx(40.58, abs=0.01)
    assert table.loc["pandax4t_s1s2", "n_lim_cls"] == pytest.approx(2.964, abs=0.002)
    assert table.loc["pandax4t_s1s2", "n_lim_feldman_cousins"] == pytest.approx(2.415, abs=0.002)
    assert table.loc["pandax4t_s2only", "cevns_significance_obs"] > 3
    assert "PandaX-4T S2-only" in (built / "results/ci/tables/table1.md").read_text()


def test_small_run_coherent_branch(built):
    import json

    fit = json.loads((built / "results/ci/coherent/sm_fit.json").read_text())
    assert fit["n_observed"] == 1578  # beam-on coincident events in the ROI (release audit)
    assert 250 < fit["n_fit"] < 380 and 15 < fit["n_fit_err"] < 45 and 0.7 < fit["chi2_ndf"] < 1.4
    assert set(fit["nuisances"]) == {"alpha_nu", "alpha_ss", "alpha_brn", "alpha_nin", "alpha_eff", "t_offset_us"}
    scan, meta = io.read_table(built / "results/ci/coherent/nsi_scan.parquet")
    # Delta chi^2 is measured from the refined minimum, so it is >= 0 and small at the best grid point
    assert len(scan) == 30 and 0.0 <= scan["delta_chi2"].min() < 0.5
    assert meta["delta_chi2_sm"] < 4.61  # the SM point is allowed at 90 % CL (2 dof)
    for model in ("universal_scalar", "universal_vector"):
        curve, cmeta = io.read_table(built / f"results/ci/limits/{model}_coherent_csi.parquet")
        assert len(curve) == 12 and (curve["coupling_limit"] > 0).all() and cmeta["experiment"] == "coherent_csi"
    for fig in ("fig4_coherent_nsi", "coherent_projections"):
        assert (built / f"results/ci/figures/{fig}.pdf").stat().st_size > 5000


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Jobs of a dry run by rule name (its "Job stats" table)."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", dry_run_output, flags=re.M)}


def rerun_jobs(workdir, *configfiles):
    """Jobs a dry run would execute, by rule name."""
    proc = snakemake(workdir, "-n", configfiles=(CONFIG, CI_CONFIG, *configfiles))
    return job_counts(proc.stdout + proc.stderr)


def test_experiment_added_in_config_reruns_only_what_depends_on_it(built, tmp_path):
    import yaml

    scalar_datasets = yaml.safe_load(CONFIG.read_text())["models"]["universal_scalar"]["experiments"]
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "experiments:\n"
        "  xlzd_low:\n"
        "    label: XLZD 0.5 keV (projection)\n"
        "    exposure_t_yr: 200.0\n"
        "    counts: projection\n"
        "    count_sets: {projection: {observed: null, background: null}}\n"
        "    efficiency: {kind: step, threshold_keV: 0.5, roi_keV: [0.1, 10.0]}\n"
        "    electron_recoils: true\n"
        "models:\n"
        "  universal_scalar:\n"
        f"    experiments: [{', '.join(scalar_datasets)}, xlzd_low]\n"
    )
    jobs = rerun_jobs(built, extra)
    assert jobs.get("fold") == 1 and jobs.get("limits_xlzd_low") == 1  # the new data set only
    assert not {k for k in jobs if k.startswith("limits_") and k not in ("limits_xlzd_low", "limits_summary")}
    assert "tabulate_rates" not in jobs and "coherent_limits" not in jobs


def test_editing_benchmarks_reruns_no_limit_job(built, tmp_path):
    extra = tmp_path / "bench.yaml"
    extra.write_text("benchmarks:\n  scalar: {model: universal_scalar, m_med_MeV: 5.0, coupling: 4.0e-11}\n")
    jobs = rerun_jobs(built, extra)
    assert {"experiment_tables", "benchmark_spectra", "plot_fig2"} <= set(jobs)
    assert not {k for k in jobs if k.startswith(("limits_", "fold", "coherent", "tabulate_rates"))}


def test_another_mirror_or_none_reruns_nothing(built, tmp_path):
    """Where inputs come from is not an input: with every file cached and verified, moving the mirror
    (or dropping it) plans no job."""
    for mirror in (str(tmp_path), ""):
        proc = snakemake(built, "-n", env={"NUFOG_DATA_MIRROR": mirror})
        assert "Nothing to be done" in proc.stdout + proc.stderr, (mirror, proc.stdout[-2000:])


def test_deleting_an_intermediate_rebuilds_only_its_dependants(built_copy):
    (built_copy / "results/ci/rates/xenon_migdal.parquet").unlink()
    proc = snakemake(built_copy, "-n")
    out = proc.stdout + proc.stderr
    assert "tabulate_rates" in out and "plot_fig1" in out and "download_input" not in out
    assert "scan_limits_chunk" not in out and "coherent_sm_fit" not in out


BAD_CONFIGS = [
    ("solar:\n  b8_shap: winter2006\n", "'solar.b8_shap' is not a known key"),
    ("grids:\n  e_nr_keV: {min: -1.0, max: 10.0, n: 10}\n", "'grids.e_nr_keV.min'"),
    ("grids:\n  e_nr_keV: {min: 1.0, max: 10.0, n: 0}\n", "'grids.e_nr_keV.n'"),
    ("experiments:\n  xenonnt: {exposure_t_yr: -3.51}\n", "'experiments.xenonnt.exposure_t_yr'"),
    ("limits:\n  cl: 1.5\n", "'limits.cl'"),
    ("limits:\n  m_med_MeV: {min: 0.0, max: 10.0, n: 10}\n", "'limits.m_med_MeV.min'"),
    ("limits:\n  cl: 0.0\n", "must be > 0"),
    ("models:\n  universal_scalar: {experiments: []}\n", "'models.universal_scalar.experiments'"),
    ('experiments:\n  xenonnt: {exposure_t_yr: "3.51 t yr"}\n', "must be of type"),
    ("coherent:\n  nsi: {eps_u: {min: 1.0, max: -1.0, n: 3}}\n", "'coherent.nsi.eps_u'"),
]


@pytest.mark.parametrize("override, message", BAD_CONFIGS)
def test_bad_config_message_names_the_key(tmp_path, capsys, override, message):
    """The message the workflow stops with (common.smk validates the merged configs the same way)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(override)
    assert main(["check-config", str(CONFIG), str(bad)]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("override, message", [BAD_CONFIGS[0], BAD_CONFIGS[-1]])  # schema error; cross-key check
def test_bad_config_is_rejected_before_any_job(tmp_path, override, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(override)
    proc = snakemake(tmp_path, "-n", configfiles=(CONFIG, bad), check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()
