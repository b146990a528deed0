"""CI checks of the intermediate artifacts of the tiny config: columns, units, monotone grids,
no NaN, and values inside documented physical ranges."""

import json

import numpy as np
import pandas as pd
import pytest

from nufog import io

pytestmark = pytest.mark.workflow


def rate_at(df, column, energy):
    return float(np.interp(energy, df.iloc[:, 0], df[column]))


def test_rate_tables(built):
    cevns, meta = io.read_table(built / "results/ci/rates/xenon_cevns.parquet")
    electron, _ = io.read_table(built / "results/ci/rates/xenon_electron.parquet")
    migdal, _ = io.read_table(built / "results/ci/rates/xenon_migdal.parquet")
    for df in (cevns, electron, migdal):
        assert df.iloc[:, 0].is_monotonic_increasing and not df.isna().any().any()
        assert (df.filter(like="rate_") >= 0).all().all()
        components = df.filter(like="rate_").drop(columns="rate_total").sum(axis=1)
        assert np.allclose(components, df["rate_total"], rtol=1e-12)
    # physics.md / README: 8B dominates CEvNS at 1 keV_nr (~1e2 /t/yr/keV); nu-e ~2.5-3 at 1-10 keV_ee
    assert 30 < rate_at(cevns, "rate_total", 1.0) < 300
    assert 2.0 < rate_at(electron, "rate_total", 5.0) < 4.0
    assert 0.85 < rate_at(electron, "rate_pp", 5.0) / rate_at(electron, "rate_total", 5.0) < 0.95
    assert migdal["rate_total"].max() < 5.0  # Migdal stays below ~1 /t/yr/keV_ee (Fig. 1)
    assert meta["units"]["e_nr_keV"] == "keV"


def test_tables(built):
    limits = pd.read_csv(built / "results/ci/tables/signal_limits.csv")
    assert set(limits.columns) >= {"experiment", "observed", "background", "sm_cevns_events", "n_lim"}
    one_bin = limits["n_bins"] == 1  # N_lim is a one-bin (counting) quantity; binned data sets have NaN
    assert (limits.loc[one_bin, "n_lim"] > 0).all() and limits.loc[~one_bin, "n_lim"].isna().all()
    assert (limits["sm_cevns_events"] > 0).all()
    # paper: in the S2-only data nu-e scattering and the Migdal effect give of order one event or less
    s2 = limits.set_index("experiment").loc["pandax4t_s2only"]
    assert s2["sm_cevns_events"] == pytest.approx(43.0) and 0 < s2["sm_electron_events"] < 2
    assert 0 < s2["sm_migdal_events"] < 1
    summary = pd.read_csv(built / "results/ci/tables/limits_summary.csv")
    assert {"cl", "method", "limit_at_1MeV", "limit_at_10MeV", "limit_at_100MeV", "flat_below_MeV"} <= set(
        summary.columns
    )
    assert not summary.isna().any().any()
    # m^2 scaling above the plateau: 100 MeV limit well above the 1 MeV one
    assert (summary["limit_at_100MeV"] > summary["limit_at_1MeV"]).all()
    # one row per limit curve in results/{run}/limits (data sets, combinations, COHERENT)
    assert len(summary) == len(list((built / "results/ci/limits").glob("*.parquet")))


def test_limit_curves_physical_range(built):
    for path in sorted((built / "results/ci/limits").glob("*.parquet")):
        df, meta = io.read_table(path)
        prov = meta["provenance"]
        assert len(prov["config_hash"]) == 64 and prov["inputs_sha256"] and prov["nufog_version"]
        g = df["coupling_limit"].to_numpy()
        assert np.all(np.isfinite(g)) and np.all(g > 0), path.name
        assert df["m_med_MeV"].is_monotonic_increasing
        # non-decreasing in mass (heavier mediators are harder to see), to solver precision
        assert np.all(np.diff(g) >= -1e-3 * g[:-1]), path.name


def test_coherent_fit_json(built):
    fit = json.loads((built / "results/ci/coherent/sm_fit.json").read_text())
    assert fit["provenance"]["inputs_sha256"] and 280 < fit["n_sm"] < 380


def test_limit_job_reading_one_model_at_a_time_writes_the_same_files(built, tmp_path, monkeypatch):
    """A limit job whose fold files are big (a big scan's XENONnT 2026: 0.77 GB, 15 GB in memory read whole)
    reads them one model at a time: the same limit files, byte for byte (here forced on the CI folds)."""
    import importlib.util

    from ..conftest import ROOT

    spec = importlib.util.spec_from_file_location("set_limits", ROOT / "scripts" / "set_limits.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    folds = {d: str(built / f"results/ci/fold/{d}.parquet") for d in ("pandax4t_s2only", "xenonnt")}
    models = ["universal_scalar", "universal_vector"]
    params = {
        "limits": {"cl": 0.9, "method": "wilks", "reference": "background_only", "profile": True},
        "name": "two",
        "label": "two",
        "models": models,
    }
    files = {}
    for size in (float("inf"), 0.0):  # whole, then one model at a time
        monkeypatch.setattr(script, "READ_PER_MODEL_BYTES", size)
        out = {m: str(tmp_path / f"{size}_{m}.parquet") for m in models}
        script.main(folds, out, params)
        files[size] = [(tmp_path / f"{size}_{m}.parquet").read_bytes() for m in models]
    assert files[float("inf")] == files[0.0]
