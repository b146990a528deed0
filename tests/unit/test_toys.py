"""Toy-MC CL_s in the limit jobs (``limits.cls_mode: toys``, nufog.toys.toy_cls_limits): against the exact
one-bin CL_s, against the asymptotic CL_s on a high-count binned data set, reproducibility, and the config."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import poisson

from nufog.config import ConfigError, validate_config
from nufog.inference import LimitSettings, coupling_limits, exact_cls_upper, signal_dataset
from nufog.likelihood import Dataset, Modifier, Sample, Signal
from nufog.toys import _failed_fraction, poisson_quantile


def toys(n=2000, seed=1, **kw):
    return LimitSettings(method="cls", cls_mode="toys", toys={"n": n, "seed": seed}, **kw)


def several_masses(data: Dataset, n: int) -> Dataset:
    """The same signal at n masses (toys for every mass share the random numbers: equal limits)."""
    sig = data.signals[0]
    return replace(
        data, signals=(replace(sig, terms=np.repeat(sig.terms, n, axis=1)),), masses_MeV=np.arange(1.0, n + 1.0)
    )


def test_poisson_quantile_equals_scipy():
    rng = np.random.default_rng(2)
    u = rng.random((500, 40))
    mu = rng.uniform(0.0, 49.0, 40)
    assert np.array_equal(poisson_quantile(u, mu), poisson.ppf(u, mu))
    assert np.array_equal(poisson_quantile(u, mu + 100.0), poisson.ppf(u, mu + 100.0))


def test_pandax_like_one_bin_matches_exact_cls():
    """1 observed on 2.16: exact CL_s 2.964 events at 90 %. 20 000 toys: within 3 MC standard errors, and
    the error is small enough (< 0.06 events, 2 %) that a factor-2 bug in either p-value fails."""
    exact = exact_cls_upper(1, 2.16, 0.9)
    assert exact == pytest.approx(2.964, abs=1e-3)
    data = several_masses(signal_dataset(1, 2.16), 3)
    out = coupling_limits(data, toys(n=20_000, profile=False))
    assert out["fit_ok"].all()
    limit, err = out["coupling_limit"], out["coupling_limit_mc_error"]
    assert np.all(limit == limit[0])  # common random numbers: every mass sees the same toys
    assert 0.02 < err[0] < 0.06
    assert limit[0] == pytest.approx(exact, abs=3 * err[0])
    # the expected bands are the Asimov ones of the asymptotic CL_s
    asym = coupling_limits(data, LimitSettings(method="cls", cls_mode="asymptotic", profile=False))
    np.testing.assert_array_equal(out["expected_median"], asym["expected_median"])


def test_same_inputs_same_bytes_and_the_seed_matters():
    data = signal_dataset(3, 2.8, sigma_b=0.5)
    a = coupling_limits(data, toys(n=500, seed=4))
    b = coupling_limits(data, toys(n=500, seed=4))
    c = coupling_limits(data, toys(n=500, seed=5))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert c["coupling_limit"][0] != a["coupling_limit"][0]
    err = np.hypot(a["coupling_limit_mc_error"][0], c["coupling_limit_mc_error"][0])
    assert c["coupling_limit"][0] == pytest.approx(a["coupling_limit"][0], abs=3 * err)


def _high_count(observed):
    """Three bins of 3000-4000 events with a 2 % normalisation nuisance; signal G^2, shaped unlike it."""
    bkg = np.array([4000.0, 3000.0, 3000.0])
    return Dataset(
        "high",
        np.array(observed, dtype=float),
        (Sample("bkg", bkg, (Modifier("bnorm", "normal", 0.02),)),),
        (Signal("sig", np.array([[[0.0, 0.0, 0.0]], [[0.6, 0.3, 0.1]]])),),
        np.array([1.0]),
    )


@pytest.mark.parametrize("observed", [[4000, 3000, 3000], [3950, 3040, 2980], [4090, 2990, 3010]])
def test_high_count_binned_matches_asymptotic_cls(observed):
    """Asymptotic regime: toys (2000, nuisance profiled and its auxiliary measurement randomised) agree with
    the asymptotic CL_s within 3 MC standard errors + 1 %."""
    data = _high_count(observed)
    asym = coupling_limits(data, LimitSettings(method="cls", cls_mode="asymptotic"), expected=False)
    out = coupling_limits(data, toys(n=2000), expected=False)
    assert out["fit_ok"].all()
    err = out["coupling_limit_mc_error"][0]
    assert 0 < err < 0.03 * out["coupling_limit"][0]
    assert out["coupling_limit"][0] == pytest.approx(
        asym["coupling_limit"][0], abs=3 * err + 0.01 * asym["coupling_limit"][0]
    )


def test_settings_validate_toys():
    s = LimitSettings(method="cls", cls_mode="toys")
    assert s.toys == {"n": 2000, "seed": 1}
    with pytest.raises(ValueError, match="limits.toys"):
        LimitSettings(method="cls", cls_mode="toys", toys={"n": 10, "seed": 1})
    with pytest.raises(ValueError, match="cls_mode"):
        LimitSettings(cls_mode="toy")


def test_config_accepts_toys(paper_config):
    cfg = copy.deepcopy(paper_config)
    cfg["limits"].update(method="cls", cls_mode="toys", toys={"n": 500, "seed": 3})
    validate_config(cfg)
    cfg["limits"]["toys"] = {"n": 50, "seed": 3}
    with pytest.raises(ConfigError, match="toys"):
        validate_config(cfg)


def test_one_failed_toy_fit_in_a_hundred_is_within_the_one_percent_allowed():
    """The toy limit is flagged when more than 1 % of the toy fits failed. Computed as 1 - 0.99 the fraction
    for 1 failure in 100 was 0.010000000000000009 and flagged every mass of a 100-toy run (bench_toys_fc.py
    on xenonnt_2026: fit_ok 0 of 2 masses)."""
    ok = np.ones((3, 100), dtype=bool)
    ok_b = ok.copy()
    ok[0, 7] = False  # 1 failure: allowed
    ok[1, :2] = False  # 2 failures: not
    ok_b[2, [3, 50]] = False  # background-only toys count too
    np.testing.assert_array_equal(_failed_fraction(ok, ok_b) <= 0.01, [True, False, False])
    assert _failed_fraction(np.ones((1, 2000), bool), np.r_[np.zeros(20, bool), np.ones(1980, bool)][None])[0] == 0.01


def test_a_toy_fit_on_a_physical_bound_counts_one_on_the_search_box_does_not():
    """n = 0 on b = 10 with a 50 % background uncertainty: the background-only fit wants the normalisation
    1 + 0.5 theta below 0, so it ends on the physical bound theta = -2 (the constrained MLE): converged, not
    ``ok`` for the data's fit, but a valid toy outcome. COHERENT's toys did this in ~3 % of fits (the
    neutrino-induced neutrons at 0) and had every mass flagged. A fit on the +-5 sigma box still fails."""
    from nufog.likelihood import Model
    from nufog.toys import _toy_fit_ok

    model = Model(signal_dataset(0.0, 10.0, 5.0))
    fit = model.profile(np.zeros(1), np.zeros(1, dtype=int))
    assert fit.theta[0, 0] == pytest.approx(-2.0, abs=1e-6)
    assert fit.converged[0] and not fit.ok[0] and not model.on_box(fit.theta)[0]
    assert _toy_fit_ok(model, fit)[0]
    boxed = model.profile(np.zeros(1), np.zeros(1, dtype=int), observed=np.array([[200.0]]))  # wants theta > 5
    assert boxed.theta[0, 0] == pytest.approx(5.0) and model.on_box(boxed.theta)[0]
    assert not _toy_fit_ok(model, boxed)[0]
