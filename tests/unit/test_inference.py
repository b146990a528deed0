"""Tests for nufog.inference against independent numbers: the paper's closed-form Poisson limits
(nufog.stats), Feldman & Cousins (1998) Table IV, closed forms of the exact CL_s limit (n = 0: -ln alpha;
n = 1: Lambert W), the Cowan et al. (2011) one-bin Asimov formula, and the frozen limit curves of the
paper configuration (tests/regression/paper_v0/limits.csv).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.optimize import brentq
from scipy.special import lambertw
from scipy.stats import norm

from nufog.inference import (
    LimitSettings,
    coupling_limits,
    discovery_significance,
    exact_cls_upper,
    feldman_cousins_interval,
    signal_dataset,
)
from nufog.likelihood import Dataset, Modifier, Sample, Signal
from nufog.stats import signal_upper_limit

ROOT = Path(__file__).resolve().parents[2]
FIXED = LimitSettings(method="wilks", profile=False)


def limit(data, **kw):
    out = coupling_limits(data, LimitSettings(**kw), expected=False)
    assert out["fit_ok"].all()
    return out["coupling_limit"]


def quadratic_signal(data: Dataset) -> Dataset:
    """The same counting data set with N_BSM = G^2 (no term linear in G: a scalar mediator)."""
    return replace(data, signals=(Signal("signal", np.array([[[0.0]], [[1.0]]]), data.signals[0].modifiers),))


# --- Wilks with the nuisances fixed = the paper's Eqs. 20-22 --------------------------------------------
@pytest.mark.parametrize(("n", "b"), [(1, 2.16), (158, 144), (37, 38.3)])
@pytest.mark.parametrize("reference", ["background_only", "best_fit"])
def test_wilks_fixed_reproduces_paper_limit(n, b, reference):
    """q(s) = 2 [s - n ln(1 + s/b)] (background_only) or relative to s_hat = max(n - b, 0) = 2.706."""
    expected = signal_upper_limit(n, b, 0.9, reference)
    data = signal_dataset(n, b)
    assert limit(data, method="wilks", reference=reference, profile=False)[0] == pytest.approx(expected, rel=1e-7)
    # N_BSM = G^2 (scalar mediators): the same events, G = sqrt(N)
    got = limit(quadratic_signal(data), method="wilks", reference=reference, profile=False)[0]
    assert got**2 == pytest.approx(expected, rel=1e-7)


def test_best_fit_reference_number():
    """physics.md section 7: 35.59 events for PandaX-4T S2-only (158 observed, 144 expected)."""
    assert limit(signal_dataset(158, 144), reference="best_fit", profile=False)[0] == pytest.approx(35.59, abs=5e-3)
    assert limit(signal_dataset(158, 144), reference="background_only", profile=False)[0] == pytest.approx(
        40.58, abs=5e-3
    )


@pytest.mark.parametrize("sigma_b", [5.0, 20.0])
def test_best_fit_reference_for_a_purely_quadratic_signal_profiled(sigma_b):
    """With a profiled background: G = 0 is a stationary point of a signal without linear term; the best
    fit must still find G_hat^2 = n - b (the closed form of nufog.stats with sigma_b)."""
    data = quadratic_signal(signal_dataset(158, 144, sigma_b=sigma_b))
    expected = signal_upper_limit(158, 144, 0.9, "best_fit", sigma_b)
    assert limit(data, reference="best_fit", profile=True)[0] ** 2 == pytest.approx(expected, rel=1e-6)


# --- PandaX-4T S1+S2 (1 observed, 2.16 expected) per method ---------------------------------------------
def test_pandax_s1s2_per_method():
    data = signal_dataset(1, 2.16)
    # Wilks: 2 [s - ln(1 + s / 2.16)] = chi2.ppf(0.9, 1)
    wilks = brentq(lambda s: 2 * (s - np.log(1 + s / 2.16)) - norm.ppf(0.95) ** 2, 0.1, 20)
    assert wilks == pytest.approx(2.011, abs=5e-4)
    assert limit(data, method="wilks", profile=False)[0] == pytest.approx(wilks, rel=1e-7)
    # exact CL_s: P(N <= 1 | 2.16 + s) / P(N <= 1 | 2.16) = 0.1
    cls = brentq(lambda s: np.exp(-s) * (3.16 + s) / 3.16 - 0.1, 0.1, 20)
    assert cls == pytest.approx(2.96, abs=5e-3)
    assert limit(data, method="cls", profile=False)[0] == pytest.approx(cls, rel=1e-7)
    # Feldman-Cousins: the unified interval's upper end (between Table IV's b = 2.0: 2.53 and b = 2.5: 2.33)
    assert limit(data, method="feldman_cousins", profile=False)[0] == pytest.approx(2.42, abs=6e-3)


# --- Feldman & Cousins (1998) Table IV, 90 % CL ------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "b", "lo", "hi"),
    [
        (0, 0.0, 0.00, 2.44),
        (1, 0.0, 0.11, 4.36),
        (2, 0.0, 0.53, 5.91),
        (3, 0.0, 1.10, 7.42),
        (4, 0.0, 1.47, 8.60),
        (5, 0.0, 1.84, 9.99),
        (10, 0.0, 5.50, 16.50),
        (0, 1.0, 0.00, 1.61),
        (1, 2.0, 0.00, 2.53),
        (3, 3.0, 0.00, 4.42),
    ],
)
def test_feldman_cousins_table_iv(n, b, lo, hi):
    got = feldman_cousins_interval(n, b, 0.9)
    assert got[0] == pytest.approx(lo, abs=0.0051)
    assert got[1] == pytest.approx(hi, abs=0.0051)


# --- exact CL_s -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("b", [0.0, 0.5, 2.16, 10.0, 100.0])
def test_exact_cls_n0_is_independent_of_b(b):
    """n = 0: CL_s = e^-(s + b) / e^-b = e^-s, so s_up = -ln(alpha) for every b."""
    assert exact_cls_upper(0, b, 0.9) == pytest.approx(-np.log(0.1), rel=1e-9)
    assert exact_cls_upper(0, b, 0.95) == pytest.approx(-np.log(0.05), rel=1e-9)


@pytest.mark.parametrize("b", [0.0, 1.0, 2.16, 7.5])
def test_exact_cls_n1_closed_form(b):
    """n = 1: e^-s (1 + b + s) / (1 + b) = alpha; u = 1 + b + s solves u e^-u = alpha (1 + b) e^-(1 + b)."""
    c = 1 + b
    u = -lambertw(-0.1 * c * np.exp(-c), k=-1).real
    assert exact_cls_upper(1, b, 0.9) == pytest.approx(u - c, rel=1e-8)


# --- asymptotic CL_s: Cowan et al. one-bin Asimov ---------------------------------------------------------
@pytest.mark.parametrize("b", [1e4, 1e6])
def test_asymptotic_cls_asimov_one_bin(b):
    """Observed = expected: q = q_A, CL_s = 2 (1 - Phi(sqrt q)) = alpha, sqrt q = Phi^-1(1 - alpha / 2), with
    the Asimov q_A(s) = 2 [s - b ln(1 + s / b)] (Cowan et al. Eq. 97 with n = b); large b: s = sqrt(b) 1.645."""
    z = norm.ppf(1 - 0.1 / 2)
    s_exact = brentq(lambda s: 2 * (s - b * np.log1p(s / b)) - z * z, 1e-3 * np.sqrt(b), 10 * np.sqrt(b))
    data = signal_dataset(b, b)
    out = coupling_limits(data, LimitSettings(method="cls", cls_mode="asymptotic", profile=False))
    assert out["fit_ok"].all()
    assert out["coupling_limit"][0] == pytest.approx(s_exact, rel=1e-6)
    assert out["coupling_limit"][0] == pytest.approx(np.sqrt(b) * z, rel=2e-2)
    assert out["expected_median"][0] == pytest.approx(s_exact, rel=1e-6)  # observed = Asimov
    # the median of the band recipe for cls: sqrt(q_A) = Phi^-1(1 - alpha Phi(0)), the same equation


# --- expected bands ----------------------------------------------------------------------------------------
def _three_bins(observed=None, sigma=0.1):
    bkg = np.array([4e5, 3e5, 3e5])
    return Dataset(
        "three",
        bkg if observed is None else observed,
        (Sample("bkg", bkg, (Modifier("bnorm", "normal", sigma),) if sigma else ()),),
        (Signal("sig", np.stack([np.zeros((1, 3)), bkg[None, :] / bkg.sum()])),),  # N_BSM = G^2, shaped as b
        np.array([1.0]),
    )


def test_bands_asimov_observed_equals_median_and_ordering():
    data = _three_bins(sigma=0.01)
    out = coupling_limits(data, LimitSettings(method="wilks", profile=True))
    assert out["fit_ok"].all()
    assert out["coupling_limit"][0] == pytest.approx(out["expected_median"][0], rel=1e-6)
    bands = [out[c][0] for c in ("expected_minus2", "expected_minus1", "expected_median", "expected_plus1")]
    assert np.all(np.diff(bands + [out["expected_plus2"][0]]) > 0)


@pytest.mark.parametrize("n_sigma", [-2, -1, 0, 1, 2])
def test_band_edges_match_gaussian_fluctuations(n_sigma):
    """Large counts: the band edge N is the observed Wilks limit for n = b + N sqrt(b) (signal_upper_limit)."""
    data = _three_bins(sigma=0.0)
    col = {-2: "expected_minus2", -1: "expected_minus1", 0: "expected_median", 1: "expected_plus1", 2: "expected_plus2"}
    out = coupling_limits(data, LimitSettings(method="wilks", profile=True))
    b = 1e6
    events = signal_upper_limit(b + n_sigma * np.sqrt(b), b)
    assert out[col[n_sigma]][0] ** 2 == pytest.approx(events, rel=3e-3)


# --- profiled versus fixed ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "b", "sigma_b"), [(1, 2.16, 0.5), (158, 144, 12.0), (37, 38.3, 6.0), (3, 2.8, 0.5)])
def test_profiled_limit_is_never_stronger(n, b, sigma_b):
    data = signal_dataset(n, b, sigma_b=sigma_b)
    fixed = limit(data, method="wilks", profile=False)[0]
    prof = limit(data, method="wilks", profile=True)[0]
    assert prof > fixed
    assert prof == pytest.approx(signal_upper_limit(n, b, 0.9, "background_only", sigma_b), rel=1e-6)


def _binned_signal_unlike_background(observed, sigma):
    bkg = np.array([40.0, 30.0, 30.0])
    mods = (Modifier("bnorm", "normal", sigma),) if sigma else ()
    sig = np.array([[[0.0, 0.0, 0.0]], [[0.6, 0.3, 0.1]]])
    return Dataset("three", observed, (Sample("bkg", bkg, mods),), (Signal("sig", sig),), np.array([1.0]))


@pytest.mark.parametrize("observed", [[40.0, 30.0, 30.0], [35.0, 31.0, 27.0], [44.0, 28.0, 33.0]])
def test_profiled_limit_weaker_in_a_binned_data_set(observed):
    """Data near the background expectation (a deficit, or an excess of under one sigma)."""
    data = _binned_signal_unlike_background(np.array(observed), 0.1)
    prof = limit(data, method="wilks", profile=True)[0]
    fixed = limit(data, method="wilks", profile=False)[0]
    assert prof > fixed * (1 + 1e-3)


def test_profiling_can_strengthen_a_background_only_limit_after_a_large_excess():
    """Not a bug, a property of the background_only reference: with nuisances fixed a large excess in a
    bin where the signal is small pushes the limit up (q(0) is far from the best fit); profiling the
    normalisation absorbs the excess. So "profiled is never stronger" holds only for data near the
    expectation (the test above)."""
    data = _binned_signal_unlike_background(np.array([40.0, 30.0, 60.0]), 0.3)
    assert limit(data, profile=True)[0] < limit(data, profile=False)[0]


# --- discovery significance -------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "b", "c"), [(20.0, 10.0, 8.0), (158.0, 120.0, 24.0), (5.0, 1.0, 3.0)])
def test_discovery_significance_one_bin(n, b, c):
    """Z = sqrt(2 (n ln(n / b) - (n - b))) for the CEvNS strength free against 0 (n > b)."""
    data = Dataset(
        "one", np.array([n]), (Sample("bkg", np.array([b])), Sample("sm_cevns_8B", np.array([c]))), (), np.array([1.0])
    )
    z = np.sqrt(2 * (n * np.log(n / b) - (n - b)))
    assert discovery_significance(data, ["sm_cevns_8B"]) == pytest.approx(z, rel=1e-7)
    za = np.sqrt(2 * ((b + c) * np.log((b + c) / b) - c))
    assert discovery_significance(data, ["sm_cevns_8B"], asimov=True) == pytest.approx(za, rel=1e-7)
    deficit = data.with_observed(np.array([0.5 * b]))
    assert discovery_significance(deficit, ["sm_cevns_8B"]) == pytest.approx(0.0, abs=1e-6)


# --- regression: the paper configuration before the core -----------------------------------------------------
XENON = ("pandax4t_s1s2", "pandax4t_s2only", "xenonnt", "xlzd")


@pytest.fixture(scope="module")
def paper_folds():
    from nufog.analysis import fold_experiment
    from nufog.config import load_config
    from tests.conftest import DATA_OR_MISSING, mirror_file

    manifest = yaml.safe_load((ROOT / "resources" / "inputs.yaml").read_text())["inputs"]
    mirror_file("fluxes_b16")  # skips without the mirror
    files = {k: DATA_OR_MISSING / v["file"] for k, v in manifest.items() if "file" in v}
    config = load_config(ROOT / "config.yaml")
    return {name: fold_experiment(files, config, name) for name in XENON}


def test_regression_paper_limits(paper_folds):
    from nufog.fold import dataset_from_fold

    ref = pd.read_csv(ROOT / "tests" / "regression" / "paper_v0" / "limits.csv")
    ref = ref[ref["experiment"].isin(XENON)]
    curves = 0
    for (model, exp), rows in ref.groupby(["model", "experiment"]):
        table, meta = paper_folds[exp]
        out = coupling_limits(dataset_from_fold(table, meta, model), FIXED, expected=False)
        assert out["fit_ok"].all(), (model, exp)
        np.testing.assert_allclose(out["m_med_MeV"], rows["m_med_MeV"], rtol=1e-6)
        np.testing.assert_allclose(out["coupling_limit"], rows["coupling_limit"], rtol=1e-3, err_msg=f"{model} {exp}")
        curves += 1
    assert curves == 14


def test_illinois_freezes_a_row_whose_criterion_fails_and_never_evaluates_nan():
    """A NaN criterion inside a bracket (a failed fit) ends that row with NaN ends; the other rows converge,
    and h is never called at G = NaN (which would run a fit on NaN expectations)."""
    from nufog.roots import illinois_log

    calls = []

    def h(g, i):
        calls.append(np.asarray(g).copy())
        return np.where(i == 1, np.nan, g - 2.0)

    lo, hi = illinois_log(
        h,
        np.log([1.0, 1.0]),
        np.log([5.0, 5.0]),
        np.array([-1.0, -1.0]),
        np.array([3.0, 3.0]),
        np.array([True, True]),
        np.array([0, 1]),
        1e-12,
        100,
        0.01,
    )
    assert np.exp(0.5 * (lo[0] + hi[0])) == pytest.approx(2.0, rel=1e-10)
    assert np.isnan(lo[1]) and np.isnan(hi[1])
    assert all(np.isfinite(c).all() for c in calls)
