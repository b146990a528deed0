"""XENONnT 2026 releases: readers, BinnedData construction and closure against the releases."""

import io
import os
import pickle

import numpy as np
import pandas as pd
import pytest

from nufog.xenonnt import (
    bin_width_weights,
    binned_data_from_config,
    load_real_data,
    require_energy,
)
from nufog.xenonnt_closure import (
    s2only_cevns_closure,
    s2only_wimp_closure,
    s2only_wimp_limit_inputs,
    xenonnt_2026_b8_closure,
)

from ..conftest import DATA_OR_MISSING, mirror_file

# SOURCES.md 4d: observed events per cS2 bin (derived from real_data.pkl)
S2ONLY_COUNTS = {
    "sr0": [220, 171, 85, 48, 28, 21, 10],
    "sr1": [239, 243, 160, 90, 69, 43, 20],
    "sr2": [239, 391, 222, 107, 83, 37, 28],
}


@pytest.fixture(scope="module")
def s2root():
    return mirror_file("xenonnt_s2only")


@pytest.fixture(scope="module")
def s2(s2root):
    return binned_data_from_config("xenonnt_s2only_2026", {"kind": "xenonnt_s2only"}, {"xenonnt_s2only": s2root})


@pytest.fixture(scope="module")
def fourd_files():
    return {
        "xenonnt_2026": mirror_file("xenonnt_2026"),
        "xenonnt_lightwimp_2024": mirror_file("xenonnt_lightwimp_2024"),
    }


@pytest.fixture(scope="module")
def fourd(fourd_files):
    return binned_data_from_config("xenonnt_2026", {"kind": "xenonnt_2026"}, fourd_files)


@pytest.fixture(scope="module")
def sno_fluxes(solar_files, paper_config):
    """B16 fluxes with 8B at SNO's 5.25e6 cm^-2 s^-1 (the collaboration's convention)."""
    from nufog.rates import solar_model

    return solar_model(solar_files, {**paper_config["solar"], "b8_flux_cm2_s": 5.25e6})


class _Evil:
    def __reduce__(self):
        return (os.getcwd, ())


def test_restricted_unpickler_rejects_other_globals(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"SR0": _Evil()}))
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        load_real_data(path)
    # a numpy structured array round-trips through the allowed globals
    arr = np.array([(100.0, 1)], dtype=[("cs2_wo_elifecorr", "<f8"), ("source", "<i8")])
    buf = io.BytesIO()
    pickle.dump({"SR0": arr}, buf, protocol=5)
    (tmp_path / "ok.pkl").write_bytes(buf.getvalue())
    assert load_real_data(tmp_path / "ok.pkl")["SR0"]["cs2_wo_elifecorr"][0] == 100.0


def test_real_data_histogram_matches_derived_counts(s2root, s2):
    data = load_real_data(s2root / "data" / "real_data.pkl")
    assert [len(data[k]) for k in ("SR0", "SR1", "SR2")] == [583, 864, 1107]
    np.testing.assert_array_equal(s2.observed, np.concatenate(list(S2ONLY_COUNTS.values())))
    derived = DATA_OR_MISSING / "xenonnt_s2only" / "data" / "observed_events_derived.csv"
    if derived.is_file():
        df = pd.read_csv(derived, comment="#")
        for sr, counts in S2ONLY_COUNTS.items():
            hist = np.histogram(df.loc[df["sr"].str.lower() == sr, "cs2_wo_elifecorr"], np.linspace(80, 500, 8))[0]
            np.testing.assert_array_equal(hist, counts)


def test_s2only_binned_data(s2):
    assert s2.response.n_bins == 21 and s2.bin_labels[7] == "sr1/cs2_0"
    assert s2.exposure_t_yr == pytest.approx(7.83)
    assert s2.response.energy == "nr" and s2.response.e_keV.size == 50
    totals = {b.name: b.nominal.sum() for b in s2.backgrounds}
    expected = {"cathode_sr0": 477, "cathode_sr1": 660, "cathode_sr2": 1207, "ae_sr0": 97, "ae_sr1": 109}
    for k, v in expected.items():
        assert totals[k] == pytest.approx(v, rel=0.01), k
    assert "ae_sr2" not in totals and totals["de_sr2"] == pytest.approx(17.2, rel=0.01)
    cathode = next(b for b in s2.backgrounds if b.name == "cathode_sr0")
    assert [(m.nuisance, m.kind) for m in cathode.modifiers] == [("cathode_sr0", "normal"), ("t_sys_sr0", "shape")]
    assert cathode.modifiers[0].sigma == pytest.approx(0.146)
    assert set(s2.response.variations) == {
        "t_qy",
        "signal_efficiency_sr0",
        "signal_efficiency_sr1",
        "signal_efficiency_sr2",
    }
    lo, hi = s2.response.variations["signal_efficiency_sr1"]
    m = s2.response.matrix
    np.testing.assert_allclose(hi[7:14], 1.112 * m[7:14])
    np.testing.assert_allclose(lo[:7], m[:7])
    with pytest.raises(ValueError, match="'nr' recoils only"):
        require_energy(s2, "ee")
    require_energy(s2, "nr")


def test_config_overrides_and_errors(s2root):
    cfg = {
        "kind": "xenonnt_s2only",
        "science_runs": ["sr0"],
        "exposure_t_yr": {"sr0": 3.0},
        "nuisances": {"de_sr0": 0.5},
    }
    one = binned_data_from_config("one", cfg, {"xenonnt_s2only": s2root / ".registry_complete"})
    assert one.response.n_bins == 7 and one.exposure_t_yr == 3.0
    # one science run: its efficiency covers every bin, so it is a plain normal modifier
    assert [m.nuisance for m in one.signal_modifiers] == ["signal_efficiency_sr0"]
    assert next(b for b in one.backgrounds if b.name == "de_sr0").modifiers[0].sigma == 0.5
    with pytest.raises(ValueError, match="kind must be one of"):
        binned_data_from_config("x", {"kind": "lux"}, {})


def test_collaboration_quadrature():
    np.testing.assert_allclose(bin_width_weights(np.array([0.5, 0.6, 0.8])), [0.1, 0.15, 0.2])


def test_sm_cevns_closure_s2only(s2, xenon, sno_fluxes):
    """8B only at SNO flux against the release's CEvNS row: SR totals within 1 %, bins within 6 %."""
    t = s2only_cevns_closure(s2, xenon, sno_fluxes, components=("8B",))
    per_bin = t[t["bin"] >= 0]
    assert len(per_bin) == 21 and per_bin["ratio"].between(0.975, 1.06).all()
    totals = t[(t["bin"] < 0)].set_index("sr")
    assert totals.loc["all", "release"] == pytest.approx(82.3, abs=0.1)
    assert totals["ratio"].between(0.99, 1.01).all()
    # with hep (nufog's SM sample): +0.6 % in total
    with_hep = s2only_cevns_closure(s2, xenon, sno_fluxes).set_index("sr").loc["all"]
    assert with_hep["nufog"] == pytest.approx(82.8, abs=0.2)


def test_wimp_closure_and_limit_inputs(s2root, s2):
    t = s2only_wimp_closure(s2root, s2, 6.0)
    assert t["ratio"].between(0.984, 0.988).all()  # shape exact; 1.4 % normalisation offset
    signal, sens = s2only_wimp_limit_inputs(s2root, s2)
    assert sorted(signal["mass_GeV"].unique()) == [3.0, 4.0, 5.0, 5.5, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
    assert len(signal) == 11 * 21 and (signal["events"] >= 0).all()
    assert list(sens.columns) == ["mass_GeV", "median", "ul", "2ul", "dl", "2dl"]
    assert sens.set_index("mass_GeV").loc[6.0, "median"] == pytest.approx(6.59e-45, rel=0.01)


def test_xenonnt_2026_binned_data(fourd):
    assert fourd.response.n_bins == 243 and fourd.response.e_keV.size == 46
    np.testing.assert_array_equal(fourd.observed.reshape(3, 81).sum(axis=1), [9, 28, 25])
    assert fourd.exposure_t_yr == pytest.approx(6.77, abs=0.005)
    assert set(fourd.response.variations) == {"t_ly", "t_qy"}
    names = {b.name: [m.nuisance for m in b.modifiers] for b in fourd.backgrounds}
    assert names == {
        "ac_sr0": ["ac_sr0"],
        "er": ["er"],
        "ac_sr1": ["ac_sr1"],
        "ac_sr2": ["ac_sr2"],
        "rg": ["nr", "t_ly", "t_qy"],
    }
    assert [(m.nuisance, m.sigma) for m in fourd.signal_modifiers] == [("signal_efficiency", 0.25)]


def test_b8_closure_2026(fourd, xenon, sno_fluxes, fourd_files):
    """The 2026 mono templates give about 0.77 of the 2024 b8 templates' 8B rate (SOURCES.md 4a)."""
    t = xenonnt_2026_b8_closure(fourd, xenon, sno_fluxes, fourd_files["xenonnt_lightwimp_2024"]).set_index("sr")
    assert t.loc["sr0", "release_2024"] == pytest.approx(4.246, abs=0.01)
    assert t.loc[["sr0", "sr1"], "ratio"].between(0.74, 0.80).all()
    assert np.isnan(t.loc["sr2", "ratio"]) and t.loc["sr2", "nufog"] > 0
