"""Fast unit tests of the XENONnT closure likelihood helpers (synthetic data; no release files)."""

import numpy as np
import pytest

from nufog.datasets import BinnedData, Response
from nufog.inference import LimitSettings, coupling_limits
from nufog.likelihood import Dataset, Model, Modifier, Sample
from nufog.xenonnt_closure import _crossing, b8_flux_fit, wimp_dataset


def _toy(n_bins=4):
    e = np.array([1.0, 2.0, 3.0])
    matrix = np.full((n_bins, e.size), 0.5)
    resp = Response("nr", e, matrix, {"t_qy": (0.9 * matrix, 1.1 * matrix)})
    bkg = Sample("bkg", np.full(n_bins, 10.0), (Modifier("bkg", "normal", 0.1),))
    data = BinnedData("toy", "toy", tuple(f"b{i}" for i in range(n_bins)), np.full(n_bins, 10.0), resp, (bkg,))
    base = Dataset("toy", np.full(n_bins, 10.0), (bkg,))
    return data, base


def test_wimp_dataset_signal_is_the_folded_template():
    data, base = _toy()
    rates = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])  # two "WIMP masses"
    ds = wimp_dataset(base, data, rates, np.array([5.0, 6.0]))
    (sig,) = ds.signals
    np.testing.assert_allclose(sig.terms[0], rates @ data.response.matrix.T)
    assert np.all(sig.terms[1] == 0)
    assert [m.nuisance for m in sig.modifiers] == ["t_qy"]
    np.testing.assert_allclose(sig.modifiers[0].up[0], 1.1 * sig.terms[0])
    assert set(ds.nuisances) == {"bkg", "t_qy"}


def test_wimp_median_limit_scales_inversely_with_the_template():
    data, base = _toy()
    rates = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])
    out = coupling_limits(wimp_dataset(base, data, rates, np.array([5.0, 6.0])), LimitSettings(method="cls"))
    assert out["fit_ok"].all()
    np.testing.assert_allclose(out["expected_median"][0], 2 * out["expected_median"][1], rtol=1e-5)


def test_b8_flux_fit_recovers_the_injected_strength():
    sm = np.array([5.0, 10.0, 20.0])
    bkg = np.array([20.0, 20.0, 20.0])
    observed = bkg + 1.5 * sm  # Asimov data with mu = 1.5
    data = Dataset(
        "toy",
        observed,
        (
            Sample("bkg", bkg, (Modifier("bkg", "normal", 0.05),)),
            Sample("sm_cevns_8B", sm, (Modifier("flux_8B", "normal", 0.038),)),
        ),
    )
    fit = b8_flux_fit(data, 5.0e6)
    assert fit["mu_hat"] == pytest.approx(1.5, rel=1e-4)
    assert fit["flux_hat_cm2_s"] == pytest.approx(7.5e6, rel=1e-4)
    lo, hi = fit["mu_68"]
    assert lo < 1.5 < hi
    # the interval is where the profile -2 ln L rises by 1 (the 8B prior is dropped, not used)
    probe = Model(Dataset("p", observed, (Sample("bkg", bkg, (Modifier("bkg", "normal", 0.05),)), Sample("s", sm))))
    assert probe.n_nuisances == 1
    assert fit["fit_ok"] and fit["significance"] > 3


def test_crossing_interpolates_on_both_sides():
    x = np.linspace(0, 4, 41)
    y = (x - 2.0) ** 2
    assert _crossing(x, y, 1.0, below=True, at=2.0) == pytest.approx(1.0, abs=1e-9)
    assert _crossing(x, y, 1.0, below=False, at=2.0) == pytest.approx(3.0, abs=1e-9)
    assert _crossing(x, y, 10.0, below=False, at=2.0) == 4.0  # no crossing: the scan end


def test_config_accepts_the_releases_and_rejects_them_for_electron_recoils():
    import copy

    import yaml

    from nufog.config import ConfigError, validate_config

    from ..conftest import CONFIG

    config = yaml.safe_load(CONFIG.read_text())
    validate_config(copy.deepcopy(config))  # the releases pass the schema and the cross-checks
    assert config["experiments"]["xenonnt_2026"]["kind"] == "xenonnt_2026"
    assert set(config["combinations"]["xenon_2026"]["datasets"]) == {"xenonnt_2026", "pandax4t_s1s2", "pandax4t_s2only"}
    config["models"]["leptophilic_scalar"]["experiments"].append("xenonnt_s2only_2026")
    with pytest.raises(ConfigError, match="nuclear-recoil response only"):
        validate_config(config)
