"""Feldman-Cousins for binned and profiled data sets (nufog.feldman_cousins): the asymptotic distribution of
Cowan et al.'s t~ (closed forms), the asymptotic construction against the exact one-bin construction, and
against a toy-MC Neyman construction on a small binned data set with a profiled nuisance.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from nufog.feldman_cousins import asymptotic_limits, band_factor, feldman_cousins_interval, log_pvalue, toy_pvalue
from nufog.inference import LimitSettings, coupling_limits, signal_dataset
from nufog.likelihood import Dataset, Modifier, Sample, Signal
from nufog.statistic import Statistic

FC = LimitSettings(method="feldman_cousins", profile=False)


def asym(n, b, **kw):
    out = asymptotic_limits(signal_dataset(n, b, **kw), replace(FC, profile=bool(kw)), expected=False)
    assert out["fit_ok"].all()
    return out["coupling_lower"][0], out["coupling_limit"][0]


# --- Cowan et al. Eq. 43 ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("t", "q_a"), [(0.3, 2.0), (2.705543, 9.0), (4.0, 1.0), (9.0, 0.25), (1.0, 0.0)])
def test_pvalue_closed_forms(t, q_a):
    """t <= q_A: the two-sided 2 Phi(-sqrt t); t > q_A: Phi(-sqrt t) + Phi(-(t + q_A) / (2 sqrt q_A));
    q_A = 0: one-sided."""
    if t <= q_a:
        p = 2 * norm.sf(np.sqrt(t))
    elif q_a > 0:
        p = norm.sf(np.sqrt(t)) + norm.sf((t + q_a) / (2 * np.sqrt(q_a)))
    else:
        p = norm.sf(np.sqrt(t))
    assert np.exp(log_pvalue(t, q_a)) == pytest.approx(p, rel=1e-12)


def test_pvalue_matches_a_monte_carlo_of_the_gaussian_model():
    """The distribution the formula assumes: x ~ N(mu, 1), mu >= 0, t~ = (x - mu)^2 (x >= 0) or
    mu^2 - 2 x mu (x < 0), q_A = mu^2. 10^6 draws: P(t~ >= t) to 3 sigma."""
    rng = np.random.default_rng(7)
    for mu in (0.4, 1.5):
        x = rng.normal(mu, 1.0, 1_000_000)
        tt = np.where(x >= 0, (x - mu) ** 2, mu * mu - 2 * x * mu)
        for t in (0.5, 2.0, 4.0):
            p_mc = np.mean(tt >= t)
            sigma = np.sqrt(p_mc * (1 - p_mc) / x.size)
            assert np.exp(log_pvalue(t, mu * mu)) == pytest.approx(p_mc, abs=3 * sigma + 1e-6)


@pytest.mark.parametrize("n_sigma", [-2.0, -1.0, 0.0, 1.0, 2.0])
def test_band_factor(n_sigma):
    """x_up(N): N >= 0: N + Phi^-1(0.95); N < 0: Phi(-sqrt(x^2 - 2 x N)) + Phi(-(x - N)) = 0.1."""
    if n_sigma >= 0:
        expected = n_sigma + norm.ppf(0.95)
    else:
        expected = brentq(lambda x: norm.sf(np.sqrt(x * x - 2 * x * n_sigma)) + norm.sf(x - n_sigma) - 0.1, 1e-6, 5)
    assert band_factor(0.9, n_sigma) == pytest.approx(expected, rel=1e-8)


# --- asymptotic against the exact one-bin construction (b = 3, n = 0..10) --------------------------------
EXACT_B3 = {  # feldman_cousins_interval(n, 3.0): (lower, upper); FC's Table IV for n >= 1, n = 0: see below
    0: (0.00, 0.95),
    1: (0.00, 1.88),
    2: (0.00, 3.04),
    3: (0.00, 4.42),
    4: (0.00, 5.60),
    5: (0.00, 6.99),
    6: (0.15, 8.47),
    7: (0.89, 9.53),
    8: (1.51, 10.99),
    9: (1.88, 12.30),
    10: (2.63, 13.50),
}


def test_fixed_b_construction_against_fc_table_for_a_deficit():
    """For a deficit the construction's upper end is a sawtooth in b (it falls with b and jumps up where the
    discrete acceptance regions change): n = 0 at b = 3 gives 0.953, where FC's Table IV has 1.08. FC's
    tables are non-increasing in b; their value is the construction's peak just above the next jump,
    at b' = 3.46 (1.0755), and 0.5 further the sawtooth is back below."""
    assert feldman_cousins_interval(0, 3.0)[1] == pytest.approx(0.953, abs=0.001)
    assert round(feldman_cousins_interval(0, 3.46)[1], 2) == 1.08  # FC Table IV, n = 0, b = 3.0
    assert feldman_cousins_interval(0, 3.45)[1] < 0.77 < feldman_cousins_interval(0, 3.50)[1] - 0.25


@pytest.mark.parametrize("n", sorted(EXACT_B3))
def test_asymptotic_against_exact_one_bin(n):
    """Large counts agree to a few %; small counts: the asymptotic upper end is lower by up to 19 % (n = 1:
    1.53 vs 1.88). The exact construction accepts whole integers and over-covers (discreteness), and the
    Poisson distribution of n at mean ~3 is skewed where Eq. 43 assumes a Gaussian estimator."""
    lo, up = feldman_cousins_interval(n, 3.0)
    assert (lo, up) == pytest.approx(EXACT_B3[n], abs=0.006)
    a_lo, a_up = asym(n, 3.0)
    if n >= 7:
        assert a_up == pytest.approx(up, rel=0.05)
        assert a_lo == pytest.approx(lo, abs=0.25)
    else:
        assert 0.80 * up < a_up <= 1.0 * up
        assert a_lo == pytest.approx(lo, abs=0.25)


@pytest.mark.parametrize(
    ("n", "b", "rel"), [(30, 25.0, 0.015), (100, 100.0, 0.015), (150, 100.0, 0.01), (1000, 1000.0, 0.004)]
)
def test_asymptotic_converges_to_exact_at_large_counts(n, b, rel):
    lo, up = feldman_cousins_interval(n, b)
    a_lo, a_up = asym(n, b)
    assert a_up == pytest.approx(up, rel=rel)
    assert a_lo == pytest.approx(lo, rel=rel, abs=0.3)


@pytest.mark.parametrize(("excess", "has_lower"), [(1.25, False), (1.32, True), (3.0, True)])
def test_lower_end_appears_above_1_28_sigma(excess, has_lower):
    """Gaussian limit (b = 10^6): the interval leaves 0 when the excess exceeds Phi^-1(0.9) = 1.2816 sigma
    (Feldman & Cousins' Gaussian construction)."""
    b = 1e6
    lo, up = asym(b + excess * np.sqrt(b), b)
    assert (lo > 0) == has_lower
    # upper end: excess + 1.645 sigma (two-sided) once the interval is away from the boundary
    assert up / np.sqrt(b) == pytest.approx(excess + norm.ppf(0.95), rel=0.01)


# --- through coupling_limits ------------------------------------------------------------------------------
def _three_bins(observed, sigma=0.1):
    """Three bins of 30-40 background events (normalisation nuisance), a signal G^2 shaped unlike it."""
    bkg = np.array([40.0, 30.0, 30.0])
    return Dataset(
        "three",
        np.array(observed, dtype=float),
        (Sample("bkg", bkg, (Modifier("bnorm", "normal", sigma),) if sigma else ()),),
        (Signal("sig", np.array([[[0.0, 0.0, 0.0]], [[0.6, 0.3, 0.1]]])),),
        np.array([1.0]),
    )


def test_binned_profiled_data_set_runs_and_bands_are_ordered():
    out = coupling_limits(_three_bins([44, 28, 33]), LimitSettings(method="feldman_cousins", profile=True))
    assert out["fit_ok"].all()
    bands = [out[c][0] for c in ("expected_minus2", "expected_minus1", "expected_median", "expected_plus1")]
    assert np.all(np.diff(bands + [out["expected_plus2"][0]]) > 0)
    # median band: sqrt(q_A(G)) = Phi^-1(0.95), the Asimov statistic at the band edge
    asimov = Statistic(_three_bins([40, 30, 30]), "background_only")
    q_a = asimov(np.array([out["expected_median"][0]]), np.array([0]))[0]
    assert np.sqrt(q_a) == pytest.approx(norm.ppf(0.95), rel=1e-6)


def test_one_bin_fixed_stays_exact():
    """One bin, nuisances fixed: the exact construction (PandaX-4T S1+S2: 2.415 events), not the asymptotic."""
    out = coupling_limits(signal_dataset(1, 2.16), FC)
    assert out["coupling_limit"][0] == pytest.approx(2.415, abs=2e-3)
    assert np.all(out["coupling_lower"] == 0.0)
    # an excess: n = 10 on b = 3 gives [2.63, 13.50] events; N_BSM = G^2 (scalar): G = sqrt(N)
    scalar = signal_dataset(10, 3.0)
    scalar = replace(scalar, signals=(Signal("signal", np.array([[[0.0]], [[1.0]]])),))
    out = coupling_limits(scalar, FC)
    assert out["coupling_lower"][0] ** 2 == pytest.approx(2.63, abs=0.006)
    assert out["coupling_limit"][0] ** 2 == pytest.approx(13.50, abs=0.006)


def test_profiled_one_bin_uses_the_asymptotic_construction():
    """With a profiled background (sigma_b -> 0) the asymptotic construction: 1.53 events for n = 1, b = 3."""
    lo, up = asym(1, 3.0, sigma_b=1e-4)
    assert up == pytest.approx(asym(1, 3.0)[1], rel=1e-4)
    assert up == pytest.approx(1.53, abs=0.01)


# --- toy-MC Neyman construction --------------------------------------------------------------------------
@pytest.mark.parametrize("observed", [[44, 28, 33], [30, 24, 26], [60, 30, 28]])
def test_asymptotic_pvalues_match_toy_neyman_construction(observed):
    """Toys at (G, theta_hat_hat(G)) with the auxiliary measurement randomised, likelihood-ratio ordering
    (two-sided t~): p_toy agrees with the asymptotic p-value at G = 0.9, 1.0, 1.1 x the asymptotic upper end
    within 3 binomial sigma (+ 0.004 for the asymptotic approximation). The excess [60, 30, 28] also checks
    the lower end; the deficit [30, 24, 26] the branch t~ > q_A of Eq. 43. A factor 2 in p, or the one-sided
    formula (p = 0.05 at the limit), fails."""
    data = _three_bins(observed)
    out = asymptotic_limits(data, LimitSettings(method="feldman_cousins"), expected=False)
    assert out["fit_ok"].all()
    asimov = Statistic(data.with_observed(data.expected_sm()), "background_only")
    ends = [out["coupling_limit"][0]] + ([out["coupling_lower"][0]] if out["coupling_lower"][0] > 0 else [])
    for end in ends:
        for f in (0.9, 1.0, 1.1):
            g = end * f
            t_obs, p_toy, _ = toy_pvalue(data, g, n_toys=4000, seed=3)
            q_a = asimov(np.array([g]), np.array([0]))[0]
            p = float(np.exp(log_pvalue(t_obs, q_a)))
            if f == 1.0:
                assert p == pytest.approx(0.1, abs=1e-6)
            sigma = np.sqrt(p * (1 - p) / 4000)
            assert p_toy == pytest.approx(p, abs=3 * sigma + 0.004), (observed, end, f)


def test_a_fractional_count_is_refused_by_the_library_and_the_calculator():
    """The construction ranks whole Poisson outcomes: the calculator took --observed 2.5 as 2 and said so
    only in its "n = 2"; it and the library now refuse it. The exact limit path takes a projection's Asimov
    count n = b (XLZD: 19367.5) to the nearest whole count, halves up, as before."""
    from nufog.__main__ import main
    from nufog.inference import LimitSettings, coupling_limits, signal_dataset

    with pytest.raises(ValueError, match="whole count"):
        feldman_cousins_interval(2.5, 1.0)
    assert feldman_cousins_interval(2.0, 1.0) == feldman_cousins_interval(2, 1.0)
    assert main(["upper-limit", "--observed", "2.5", "--background", "1", "--method", "feldman_cousins"]) == 2
    fc = LimitSettings(method="feldman_cousins")
    asimov = coupling_limits(signal_dataset(2.5, 1.0), fc, expected=False)["coupling_limit"][0]
    assert asimov == coupling_limits(signal_dataset(3.0, 1.0), fc, expected=False)["coupling_limit"][0]
    assert asimov == pytest.approx(feldman_cousins_interval(3, 1.0)[1])
