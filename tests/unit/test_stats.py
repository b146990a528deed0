"""Tests for nufog.stats: every expected value comes from an independent reference
(physics.md numbers, scipy.stats.poisson, closed forms, Lambert W, numerical minimisation,
high-precision decimal arithmetic)."""

from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import lambertw
from scipy.stats import norm, poisson

from nufog.stats import (
    coupling_limit,
    delta_chi2,
    delta_chi2_map,
    delta_chi2_profiled,
    delta_chi2_threshold,
    signal_upper_limit,
)

T90 = 2.705543454095404  # chi2.ppf(0.9, 1), tabulated


def neg2_dlogl_poisson(s, n, b, s_ref):
    """-2 ln [Pois(n | b+s) / Pois(n | b+s_ref)] from scipy.stats.poisson (integer n)."""
    return -2.0 * (poisson.logpmf(n, b + s) - poisson.logpmf(n, b + s_ref))


# --- thresholds -------------------------------------------------------------------------------------
def test_threshold_values():
    assert delta_chi2_threshold(0.9) == pytest.approx(2.70554, abs=5e-5)
    assert delta_chi2_threshold(0.95) == pytest.approx(3.8415, abs=5e-5)
    # independent: chi2 with 1 dof is a squared standard normal
    assert delta_chi2_threshold(0.9) == pytest.approx(norm.ppf(0.95) ** 2, rel=1e-12)


@pytest.mark.parametrize("cl", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_threshold_rejects_bad_cl(cl):
    with pytest.raises(ValueError, match="cl"):
        delta_chi2_threshold(cl)


# --- delta_chi2 --------------------------------------------------------------------------------------
def test_delta_chi2_matches_scipy_poisson():
    s = np.linspace(-50.0, 120.0, 341).reshape(11, 31)
    for n, b in [(158, 144), (1, 2.16), (37, 38.3), (0, 5.0)]:
        for ref in ("background_only", "best_fit"):
            s_ref = 0.0 if ref == "background_only" else max(n - b, 0.0)
            got = delta_chi2(s, n, b, reference=ref)
            assert got.shape == s.shape
            ok = b + s > 0
            np.testing.assert_allclose(got[ok], neg2_dlogl_poisson(s[ok], n, b, s_ref), rtol=1e-9, atol=1e-9)


def test_delta_chi2_noninteger_n_and_formula():
    n = b = 37.3  # Asimov projection: n = b non-integer
    s = np.array([0.0, 1.0, 10.0, -5.0])
    expected = 2.0 * (s - n * np.log((b + s) / b))
    np.testing.assert_allclose(delta_chi2(s, n, b), expected, rtol=1e-12, atol=1e-14)
    assert np.all(delta_chi2(s, n, b) >= 0)


def test_delta_chi2_unphysical_mean_is_inf():
    out = delta_chi2(np.array([-10.0, -5.0, -4.999]), 3, 5.0)
    assert np.isinf(out[0]) and np.isinf(out[1]) and np.isfinite(out[2])
    assert np.isinf(delta_chi2(-10.0, 0, 5.0))  # negative mean invalid even for n = 0
    assert delta_chi2(np.inf, 3, 5.0) == np.inf


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(s=1.0, n_obs=3, background=0.0), "background"),
        (dict(s=1.0, n_obs=3, background=-1.0), "background"),
        (dict(s=1.0, n_obs=-1, background=2.0), "n_obs"),
        (dict(s=np.nan, n_obs=3, background=2.0), "s"),
        (dict(s=1.0, n_obs=np.nan, background=2.0), "n_obs"),
        (dict(s=1.0, n_obs=3, background=np.nan), "background"),
        (dict(s=1.0, n_obs=3, background=2.0, reference="bestfit"), "reference"),
    ],
)
def test_delta_chi2_errors_name_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        delta_chi2(**kwargs)


def test_errors_name_argument_elsewhere():
    with pytest.raises(ValueError, match=r"^sigma_b\b"):
        delta_chi2_profiled(1.0, 3, 2.0, -0.5)
    with pytest.raises(ValueError, match=r"^cl\b"):
        signal_upper_limit(3, 2.0, cl=1.2)
    with pytest.raises(ValueError, match=r"^background\b"):
        signal_upper_limit(3, 0.0)
    with pytest.raises(ValueError, match=r"^reference\b"):
        signal_upper_limit(3, 2.0, reference="nope")
    with pytest.raises(ValueError, match=r"^b2\b"):
        coupling_limit(1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"^b2\b"):
        coupling_limit(1.0, [1.0, -1.0], 1.0)
    with pytest.raises(ValueError, match=r"^n_lim\b"):
        coupling_limit(1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"^a\b"):
        coupling_limit(np.nan, 1.0, 1.0)


# --- signal upper limit ---------------------------------------------------------------------------------
def test_pandax_s2_only_reference_numbers():
    # physics.md sections 4 and 7: 40.6 (background-only, paper default) and 35.6 (best fit)
    assert signal_upper_limit(158, 144, 0.9) == pytest.approx(40.6, abs=0.05)
    assert signal_upper_limit(158, 144, 0.9, reference="best_fit") == pytest.approx(35.6, abs=0.05)


@pytest.mark.parametrize("reference", ["background_only", "best_fit"])
def test_limit_hits_threshold_and_brute_force_scan(reference):
    n, b = 158, 144
    nlim = signal_upper_limit(n, b, 0.9, reference=reference)
    assert float(delta_chi2(nlim, n, b, reference)) == pytest.approx(T90, abs=1e-6)
    # brute force: scipy's Poisson pmf on a fine grid above the best fit
    s_ref = 0.0 if reference == "background_only" else float(n - b)
    grid = np.linspace(float(n - b), 100.0, 1_000_001)
    q = neg2_dlogl_poisson(grid, n, b, s_ref)
    first = np.argmax(q >= T90)
    assert q[first] >= T90 > q[first - 1]
    assert grid[first - 1] <= nlim <= grid[first]


@pytest.mark.parametrize("n, b", [(158.0, 144.0), (1.0, 2.16), (37.0, 38.3), (55.7, 55.7)])
def test_limit_matches_lambert_w(n, b):
    # mu - n ln mu = C has the upper solution mu = -n W_{-1}(-exp(-C/n) / n)
    for reference, mu_ref in [("background_only", b), ("best_fit", max(n, b))]:
        c = mu_ref - n * np.log(mu_ref) + T90 / 2
        mu = -n * lambertw(-np.exp(-c / n) / n, k=-1).real
        assert signal_upper_limit(n, b, reference=reference) == pytest.approx(mu - b, rel=1e-9)


@pytest.mark.parametrize("b", [0.5, 2.16, 144.0])
@pytest.mark.parametrize("reference", ["background_only", "best_fit"])
def test_zero_observed_closed_form(b, reference):
    assert signal_upper_limit(0, b, reference=reference) == pytest.approx(T90 / 2, rel=1e-13)
    assert signal_upper_limit(0, b, cl=0.95, reference=reference) == pytest.approx(3.841458820694124 / 2, rel=1e-12)


def test_limit_vectorised_and_deficit():
    n = np.array([[1, 37], [158, 0]])
    b = np.array([[2.16, 38.3], [144, 3.0]])
    lims = signal_upper_limit(n, b)
    assert lims.shape == (2, 2)
    for idx in np.ndindex(n.shape):
        assert lims[idx] == signal_upper_limit(int(n[idx]), float(b[idx]))
    # a deficit (n < b) gives a stronger limit than n = b
    assert signal_upper_limit(30, 40.0) < signal_upper_limit(40, 40.0) < signal_upper_limit(50, 40.0)


# --- profiled background uncertainty ----------------------------------------------------------------------
def profiled_numeric(s, n, b, sigma):
    """min over b' >= 0 (and b' + s > 0) of -2 ln [Pois(n | b'+s) Gauss(b' | b, sigma)], numerically."""

    def obj(bp):
        mu = bp + s
        return 2.0 * (mu - n * np.log(mu)) + ((bp - b) / sigma) ** 2

    lo = max(0.0, -s) + 1e-12
    res = minimize_scalar(
        obj, bounds=(lo, b + s + 20 * sigma + 10 * np.sqrt(n + 1)), method="bounded", options={"xatol": 1e-12}
    )
    # the bounded minimiser never evaluates the end points: the boundary b' = 0 needs a look
    return min(res.fun, obj(lo)) if s > 0 else res.fun


@pytest.mark.parametrize(
    "n, b, sigma, s",
    [
        (158, 144, 12.0, 30.0),
        (158, 144, 12.0, -20.0),
        (3, 2.8, 0.5, 4.0),
        (332, 251, 32.0, 50.0),
        (5, 2.0, 3.0, 10.0),  # sigma^2 > b and s > n sigma^2/(sigma^2 - b): profiled b' hits 0
        (5, 2.0, 3.0, 3.0),
    ],
)
def test_profiled_matches_numerical_minimisation(n, b, sigma, s):
    for reference, s_ref in [("background_only", 0.0), ("best_fit", max(n - b, 0.0))]:
        expected = profiled_numeric(s, n, b, sigma) - profiled_numeric(s_ref, n, b, sigma)
        got = float(delta_chi2_profiled(s, n, b, sigma, reference))
        assert got == pytest.approx(expected, abs=1e-6)


def test_profiled_reduces_to_unprofiled():
    s = np.linspace(-100.0, 100.0, 201)
    for ref in ("background_only", "best_fit"):
        plain = delta_chi2(s, 158, 144, ref)
        np.testing.assert_array_equal(delta_chi2_profiled(s, 158, 144, 0.0, ref), plain)
        ok = np.isfinite(plain)
        np.testing.assert_allclose(delta_chi2_profiled(s, 158, 144, 1e-7, ref)[ok], plain[ok], atol=1e-8)
        assert signal_upper_limit(158, 144, reference=ref, sigma_b=0.0) == signal_upper_limit(158, 144, reference=ref)
        assert signal_upper_limit(158, 144, reference=ref, sigma_b=1e-6) == pytest.approx(
            signal_upper_limit(158, 144, reference=ref), abs=1e-6
        )


@pytest.mark.parametrize("reference", ["background_only", "best_fit"])
def test_profiled_limit_weakens_with_sigma(reference):
    sigmas = [0.0, 0.5, 2.0, 5.0, 12.0, 30.0, 100.0]
    lims = [signal_upper_limit(158, 144, reference=reference, sigma_b=s) for s in sigmas]
    assert np.all(np.diff(lims) > 0)
    for sig, lim in zip(sigmas, lims, strict=True):
        assert float(delta_chi2_profiled(lim, 158, 144, sig, reference)) == pytest.approx(T90, abs=1e-6)


def test_profiled_large_sigma_gaussian_limit():
    # n = b large: Poisson ~ Gauss(sigma^2 = b), so Delta chi^2 ~ s^2 / (b + sigma_b^2)
    b = 1e6
    sig = 1e3
    nlim = signal_upper_limit(b, b, sigma_b=sig)
    assert nlim == pytest.approx(np.sqrt(T90 * (b + sig**2)), rel=2e-3)


# --- coupling limits ------------------------------------------------------------------------------------
def test_coupling_limit_scalar_case():
    b2 = np.array([1e-3, 1.0, 7.5, 1e12])
    n = np.array([2.0, 40.6, 1.35, 3.0])
    np.testing.assert_allclose(coupling_limit(0.0, b2, n), np.sqrt(n / b2), rtol=1e-15)


def test_coupling_limit_stability():
    a, b2, n = 1e8, 1.0, 1.0
    series = n / a - b2 * n**2 / a**3 + 2 * b2**2 * n**3 / a**5
    g = coupling_limit(a, b2, n)
    assert abs(g / series - 1) < 1e-12
    naive = (-a + np.sqrt(a**2 + 4 * b2 * n)) / (2 * b2)
    assert abs(naive / series - 1) > 0.1  # the test would catch the naive formula
    # destructive side: the positive root is ~ -a/b2 + n/|a|
    g_neg = coupling_limit(-a, b2, n)
    assert g_neg == pytest.approx(a / b2 + n / a, rel=1e-15)


def _decimal_root(a: float, b2: float, n: float) -> float:
    getcontext().prec = 60
    A, B, N = Decimal(a), Decimal(b2), Decimal(n)
    return float((-A + (A * A + 4 * B * N).sqrt()) / (2 * B))  # 60 digits: cancellation harmless


def test_coupling_limit_random_against_high_precision():
    rng = np.random.default_rng(20241121)
    m = 400
    a = rng.choice([-1.0, 1.0], m) * 10 ** rng.uniform(-8, 8, m)
    a[:20] = 0.0
    b2 = 10 ** rng.uniform(-8, 8, m)
    n = 10 ** rng.uniform(-2, 3, m)
    g = coupling_limit(a, b2, n)
    assert g.shape == (m,) and np.all(g > 0)
    ref = np.array([_decimal_root(*x) for x in zip(a, b2, n, strict=True)])
    np.testing.assert_allclose(g, ref, rtol=1e-14)
    # residual: exact for a >= 0 (no cancellation in a G + b2 G^2), backward error otherwise
    pos = a >= 0
    np.testing.assert_allclose(a[pos] * g[pos] + b2[pos] * g[pos] ** 2, n[pos], rtol=1e-12)
    resid = np.abs(a * g + b2 * g**2 - n) / (np.abs(a * g) + b2 * g**2 + n)
    assert np.all(resid < 1e-12)


def test_coupling_limit_broadcast_and_scalar_return():
    assert isinstance(coupling_limit(1.0, 1.0, 2.0), float)
    assert coupling_limit(1.0, 1.0, 2.0) == pytest.approx(1.0)  # G + G^2 = 2
    out = coupling_limit(np.zeros((3, 1)), np.ones((1, 4)), 4.0)
    assert out.shape == (3, 4) and np.all(out == 2.0)


# --- maps ---------------------------------------------------------------------------------------------
def test_delta_chi2_map_shape_negative_and_consistency():
    n_obs, b = 37, 38.3
    a = np.array([-20.0, 0.0, 2.0])[:, None]  # one row per mass
    b2 = np.array([1.0, 2.0, 0.5])[:, None]
    G = np.linspace(0.0, 30.0, 61)[None, :]
    n_bsm = a * G + b2 * G**2
    dmap = delta_chi2_map(n_bsm, n_obs, b)
    assert dmap.shape == (3, 61)
    ok = b + n_bsm > 0
    np.testing.assert_allclose(dmap[ok], neg2_dlogl_poisson(n_bsm[ok], n_obs, b, 0.0), rtol=1e-9, atol=1e-9)
    assert np.all(np.isinf(dmap[~ok])) and (~ok).any()  # destructive row dips below -b
    # at the coupling limit (for a < 0: the upper edge of the N_BSM <= n_lim band) the map is on threshold
    nlim = signal_upper_limit(n_obs, b)
    glim = coupling_limit(a[:, 0], b2[:, 0], nlim)
    on_edge = delta_chi2_map(a[:, 0] * glim + b2[:, 0] * glim**2, n_obs, b)
    np.testing.assert_allclose(on_edge, T90, atol=1e-6)
    assert np.all(dmap[G[0][None, :] > glim[:, None]] > T90)  # everything above the limit is excluded
    prof = delta_chi2_map(n_bsm, n_obs, b, sigma_b=2.0)
    assert np.all(np.isfinite(prof))  # with sigma_b > 0 the background can absorb b + N_BSM <= 0


def test_brentq_is_scipys_to_the_last_bit():
    """nufog.stats.brentq (which spares the jobs the scipy.optimize import) against scipy.optimize.brentq:
    the same root, bit for bit, on the one-bin Delta chi^2 of 300 random (n, b, sigma_b, reference) and on
    functions that exercise the secant, inverse-quadratic and bisection steps; a bracket without a sign
    change raises, as scipy's does."""
    from scipy.optimize import brentq as scipy_brentq

    from nufog.stats import brentq, delta_chi2_profiled

    rng = np.random.default_rng(3)
    cases = []
    for _ in range(300):
        n, b = float(rng.integers(0, 400)), float(rng.uniform(0.1, 300.0))
        sb = float(rng.choice([0.0, rng.uniform(0.01, 0.3) * b]))
        ref = str(rng.choice(["background_only", "best_fit"]))
        f = lambda s, n=n, b=b, sb=sb, ref=ref: float(delta_chi2_profiled(s, n, b, sb, ref)) - 2.706  # noqa: E731
        lo, hi = max(n - b, 0.0), max(n - b, 0.0) + 10.0
        while f(hi) <= 0:  # as signal_upper_limit brackets it
            hi *= 2.0
        cases.append((f, lo, hi))
    cases += [
        (lambda x: x**3 - 2 * x - 5, 2.0, 3.0),
        (lambda x: np.exp(x) - 1e4, 0.0, 20.0),
        (lambda x: np.tanh(50 * (x - 0.3)), -1.0, 2.0),  # steep: bisection steps
        (lambda x: (x - 1.0) ** 5, 0.0, 3.0),  # flat root
    ]

    def outcome(solver, f, lo, hi, xtol):
        try:
            return solver(f, lo, hi, xtol=xtol)
        except RuntimeError:  # no convergence in 100 steps (the flat root at xtol 2e-12, in both)
            return "no convergence"

    for f, lo, hi in cases:
        for xtol in (1e-10, 2e-12):
            assert outcome(brentq, f, lo, hi, xtol) == outcome(scipy_brentq, f, lo, hi, xtol)
    with pytest.raises(ValueError, match="same sign"):
        brentq(lambda x: x * x + 1, -1.0, 1.0)
