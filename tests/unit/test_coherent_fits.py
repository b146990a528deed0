"""COHERENT CsI SM fit and NSI scan on the shared likelihood core (nufog.coherent_fits, nufog.coherent_nsi)
pinned against the exact CsIModel fits that produced the published numbers before issue 9's move
(commit 7b4fa11, ``results/coherent/sm_fit.json``, ``nsi_scan.parquet``, ``nsi_intervals.csv``).

The core interpolates the efficiency and time-offset templates (quadratic inside one step, additive), so
its numbers differ slightly; every tolerance below is far tighter than a factor-2 error in any piece
(the measured differences are in the comments).
"""

from __future__ import annotations

import numpy as np
import pytest

from nufog.coherent import (
    CsICore,
    CsIModel,
    fit,
    load_release,
    nsi_fit,
    nsi_profile,
    nsi_scan,
    nsi_strength,
    nsi_valley,
    profile_intervals,
    sm_fit,
    sm_pulls_fit,
)
from nufog.coherent_fits import FAR_DELTA_CHI2

from ..conftest import DATA_OR_MISSING

RELEASE_DIR = DATA_OR_MISSING / "coherent_csi2021"
pytestmark = pytest.mark.skipif(not RELEASE_DIR.is_dir(), reason="COHERENT release not in the data mirror")
T90 = 2.705543454095404  # chi2.ppf(0.9, 1)

#: exact CsIModel numbers before the move (sm_fit.json of commit 7b4fa11)
EXACT_SM = {
    "n_fit": 307.56705516985727,
    "n_fit_err_low": 29.535949767574493,
    "n_fit_err_high": 29.703423331357783,
    "chi2": 177.94471700890062,
    "n_sm": 322.5913500543086,
    "n_background": 1294.1428888737746,
}


@pytest.fixture(scope="module")
def model():
    return CsIModel.build(load_release(RELEASE_DIR))


@pytest.fixture(scope="module")
def core(model):
    return CsICore.build(model)


def test_sm_fit_on_the_core(model, core):
    """Measured: n_fit 307.753 (+6e-4), errors -29.480 / +29.744 (-1.9e-3 / +1.4e-3), chi2 177.9468 (+2e-3)."""
    res = sm_fit(core)
    assert res["fit_ok"] and res["fit_message"] == "converged"
    assert res["n_fit"] == pytest.approx(EXACT_SM["n_fit"], rel=2e-3)
    assert res["n_fit_err_low"] == pytest.approx(EXACT_SM["n_fit_err_low"], rel=5e-3)
    assert res["n_fit_err_high"] == pytest.approx(EXACT_SM["n_fit_err_high"], rel=5e-3)
    assert res["n_fit_err"] == pytest.approx(0.5 * (res["n_fit_err_low"] + res["n_fit_err_high"]), rel=1e-12)
    assert res["chi2"] == pytest.approx(EXACT_SM["chi2"], abs=0.02)
    assert res["ndf"] == 176 and res["chi2_ndf"] == pytest.approx(res["chi2"] / 176)
    assert res["n_sm"] == pytest.approx(EXACT_SM["n_sm"], rel=1e-6)  # the exact model's prediction
    assert res["n_background"] == pytest.approx(EXACT_SM["n_background"], rel=1e-3)
    assert res["n_observed"] == 1578
    # the fitted strength is the count ratio; the pulls-on SM fit matches the exact one
    assert res["signal_strength"] - 1.0 == pytest.approx(res["nuisances"]["alpha_nu"], abs=1e-12)
    exact = fit(model)
    res = sm_pulls_fit(core)
    assert res["fit_ok_sm_fit"]
    assert res["chi2_sm_fit"] == pytest.approx(exact.chi2, abs=0.01)  # measured -0.0022
    for k, name in enumerate(("alpha_nu", "alpha_ss", "alpha_brn", "alpha_nin")):
        assert res["nuisances_sm_fit"][name] == pytest.approx(exact.x[k], abs=2e-3), name


def test_sm_interval_ends_are_roots(core):
    """The interval ends from an independent root finder (brentq on the profiled chi^2 in the strength s,
    the other nuisances re-profiled): the counts there are the reported n_fit -+ errors."""
    from scipy.optimize import brentq

    from nufog.coherent_fits import profile_points
    from nufog.likelihood import Model

    res = sm_fit(core)
    m = Model(core.strength)
    best = profile_points(m, np.ones(1), np.zeros(1, int), free_g=True)

    def prof(s: float):
        return profile_points(m, np.array([s]), np.zeros(1, int))

    def count(s: float) -> float:
        th = prof(s).theta
        return float(
            s * m.evaluate(th, 1.0, 0, jacobian=False)[0].sum() - s * m.evaluate(th, 0.0, 0, jacobian=False)[0].sum()
        )

    s_hat = res["signal_strength"]
    f = lambda s: prof(s).nll2[0] - best.nll2[0] - 1.0  # noqa: E731
    lo, hi = brentq(f, s_hat - 0.5, s_hat, xtol=1e-10), brentq(f, s_hat, s_hat + 0.5, xtol=1e-10)
    assert res["n_fit"] - count(lo) == pytest.approx(res["n_fit_err_low"], rel=2e-5)
    assert count(hi) - res["n_fit"] == pytest.approx(res["n_fit_err_high"], rel=2e-5)


def test_nsi_point_fits_against_the_exact_model(model, core):
    """chi^2 of the core at NSI points against the exact profiled fits: measured differences 2e-3 at the
    SM point and its degenerate partners, up to 0.03 along the valley far from the SM (eps_u = -1, 1)."""
    pts = np.array([(0.0, 0.0), (0.4, 0.0), (0.0, 0.357), (0.05, 0.0), (1.0, -0.8723), (-1.0, 1.0)])
    exact = np.array([fit(model, model.nsi_spectra(*p)).chi2 for p in pts])
    r = nsi_fit(core, pts[:, 0], pts[:, 1])
    assert r.ok.all()
    np.testing.assert_allclose(r.chi2[:3], exact[:3], atol=5e-3)
    np.testing.assert_allclose(r.chi2, exact, atol=0.04)
    assert np.all(np.abs(r.t_offset_us - r.centres_us) <= 1e-3 * core.parts.offset_delta_us + 1e-12)


def test_nsi_map_sm_point_and_valley(core):
    """A coarse map over -1..1: Delta chi^2 >= 0, the SM point inside the 90 % CL region (2 dof) with the
    exact model's Delta chi^2 (0.275 on the 100 x 100 grid; 0.27 here, the minimum of the flat valley
    sits on the frame), the valley through the SM point and its degenerate partner at eps_d = 0.357."""
    eu = np.linspace(-1.0, 1.0, 21)
    ed = np.linspace(-1.0, 1.0, 41)
    r = nsi_scan(eu, ed, core)
    d = r["delta_chi2"]
    assert d.shape == (21, 41) and d[r["fit_ok"]].min() >= -1e-9
    assert r["delta_chi2_sm"] == pytest.approx(0.275, abs=0.03)
    # flagged points are far outside every contour (pulls beyond the core's 5 sigma bounds)
    assert r["fit_ok"][d < 25.0].all() and r["fit_ok"].sum() > 0.3 * d.size
    bands = nsi_valley(r["eps_u"], r["eps_d"], d)
    mid = [b[np.argmin(np.abs(b[:, 0]))] for b in bands]
    assert mid[0][1] == pytest.approx(0.0, abs=0.03) and mid[0][2] < 0.5
    assert mid[1][1] == pytest.approx(0.357, abs=0.03)
    with pytest.raises(ValueError, match="eps grids"):
        nsi_scan([], ed, core)


def test_nsi_map_far_points_are_far(core):
    """The map does not fit the points beyond its seed line's far thresholds (flagged fit_ok = False with
    the chi^2 at the seeds' nuisances). The flagged points nearest to the contours (smallest NSI
    strength), fitted from scratch without giving up, must still press a 5 sigma bound more than
    FAR_DELTA_CHI2 above the SM point (Fisher scoring against a bound converges slowly: the chi^2 is not
    the minimum); every converged point of the map must agree with a fit from scratch."""
    # across the far threshold (strength ~5.4, Delta chi^2 ~35) in steps of ~0.05 in sqrt(strength)
    eu, ed = np.linspace(-0.4, 0.0, 41), np.array([-0.02, 0.0, 0.02])
    r = nsi_scan(eu, ed, core)
    u, d = np.meshgrid(eu, ed, indexing="ij")
    bad = np.flatnonzero(~r["fit_ok"].ravel())
    assert 20 < bad.size < 60
    nearest = bad[np.argsort(nsi_strength(core, u.ravel()[bad], d.ravel()[bad]))[:6]]
    full = nsi_fit(core, u.ravel()[nearest], d.ravel()[nearest], max_iter=300)
    sm = nsi_fit(core, 0.0, 0.0)
    assert not full.ok.any()
    assert np.all(full.chi2 - sm.chi2[0] > FAR_DELTA_CHI2)
    assert np.all(r["chi2"].ravel()[bad] - sm.chi2[0] > FAR_DELTA_CHI2)
    good = np.flatnonzero(r["fit_ok"].ravel())[::7]
    scratch = nsi_fit(core, u.ravel()[good], d.ravel()[good])
    assert scratch.ok.all()
    np.testing.assert_allclose(r["chi2"].ravel()[good], scratch.chi2, atol=5e-4)


@pytest.mark.parametrize(
    ("parameter", "exact"),
    # nsi_intervals.csv of commit 7b4fa11 (exact model)
    [
        ("eps_u", [(-0.0480404, 0.115633), (0.284003, 0.447575)]),
        ("eps_d", [(-0.0429157, 0.103282), (0.253672, 0.399826)]),
    ],
)
def test_nsi_profile_intervals(core, parameter, exact):
    """Two disjoint 90 % CL intervals per axis (1 dof), ends within 3e-3 of the exact model's (measured
    in the README); the ends are roots of the profiled Delta chi^2."""
    prof = nsi_profile(core, parameter, np.linspace(-1.0, 1.0, 201))
    assert prof["fit_ok"][prof["chi2"] - prof["chi2_min"] < 25.0].all()
    ivals = profile_intervals(prof, core, 0.9)
    assert len(ivals) == 2
    for (lo, hi, lo_edge, hi_edge), (lo_x, hi_x) in zip(ivals, exact):
        assert lo == pytest.approx(lo_x, abs=3e-3) and hi == pytest.approx(hi_x, abs=3e-3)
        assert not (lo_edge or hi_edge)
    level = prof["chi2_min"] + T90
    v = ivals[0][1]
    point = (v, 0.0) if parameter == "eps_u" else (0.0, v)
    assert nsi_fit(core, *point).chi2[0] == pytest.approx(level, abs=1e-4)
    with pytest.raises(ValueError, match="parameter"):
        nsi_profile(core, "eps_x", [0.0])
